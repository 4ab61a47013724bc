export {
  type AzureCustomFault,
  AzureKeyVaultEmulator,
  type AzureKeyVaultEmulatorOptions,
  DEFAULT_CLIENT_ID,
  type DenialMode,
  envFor,
} from './emulator';
export { type IssuedToken, KEY_VAULT_RESOURCE } from './entra';
export { derToRaw, type KeySpec, type KeyVersion } from './key-store';
