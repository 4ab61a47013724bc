// PKCS#11 (HSM) key provider for Signet (pkcs11:).
export { createPkcs11Provider, type Pkcs11Provider, type Pkcs11ProviderOptions, provider } from './provider';
export { type Pkcs11Uri, parsePkcs11Uri } from './uri';
