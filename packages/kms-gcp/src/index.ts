// GCP Cloud KMS key provider for Signet (gcpkms://).
export {};
