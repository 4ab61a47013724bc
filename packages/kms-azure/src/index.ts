// Azure Key Vault key provider for Signet (azurekms://).
import { createAzureKeyVaultProvider } from './provider';

export { type AzureSignatureAlgorithm, CREATABLE, type CreatableAlgorithm } from './key-algorithm';
export { type AzureKeyUri, parseAzureKeyUri } from './key-uri';
export { type AzureKeyVaultProviderOptions, createAzureKeyVaultProvider } from './provider';

/** The provider core loads for `azurekms://` references: DefaultAzureCredential and the SDK's defaults. */
export const provider = createAzureKeyVaultProvider();
