// PKCS#11 (HSM) key provider for Signet (pkcs11:).
export {};
