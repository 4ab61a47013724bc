// HashiCorp Vault / OpenBao Transit key provider for Signet (hashivault://).
export { parseTransitKeyRef, type TransitKeyRef } from './key-ref';
export { createVaultProvider, provider, TRANSIT_KEY_TYPES, type VaultSigner } from './provider';
export type { VaultProviderOptions } from './settings';
export { VaultCallError } from './transit';
