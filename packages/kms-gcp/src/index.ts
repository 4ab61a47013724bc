// GCP Cloud KMS key provider for Signet (gcpkms://).
export { CREATED_ALGORITHMS, SIGNING_ALGORITHMS } from './algorithms';
export { ENDPOINT_OVERRIDE, type GcpKmsConnectionOptions } from './client';
export { type GcpKeyName, parseGcpKeyName } from './key-name';
export { createGcpKmsProvider, type GcpKmsProviderOptions, provider } from './provider';
