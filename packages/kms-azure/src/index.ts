// Azure Key Vault key provider for Signet (azurekms://).
export {};
