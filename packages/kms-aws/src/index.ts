// AWS KMS key provider for Signet (awskms://).
export {};
