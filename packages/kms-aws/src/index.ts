// AWS KMS key provider for Signet (awskms://).
export { type AwsKmsProviderOptions, createAwsKmsProvider, provider } from './provider';
