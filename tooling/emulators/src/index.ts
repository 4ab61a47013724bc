export { AwsKmsEmulator, envFor as awsKmsEnv } from './aws-kms';
export { AwsLambdaEmulator, envFor as awsLambdaEnv } from './aws-lambda';
export { AzureKeyVaultEmulator, envFor as azureKeyVaultEnv } from './azure-keyvault';
export { type Fault, FaultPlan, type FaultRule, type LoggedRequest, redactHeaders } from './faults';
export { envFor as gcpKmsEnv, GcpKmsEmulator } from './gcp-kms';
export { type EmulatorRequest, type EmulatorResponse, HttpEmulator } from './http-emulator';
export {
  DEFAULT_EMAIL,
  FulcioEmulator,
  OidcIssuerEmulator,
  RekorEmulator,
  RekorV2Emulator,
  type SigningConfigJson,
  SigstoreStack,
  TimestampAuthorityEmulator,
  type TokenOptions,
  type TrustedRootJson,
  TufRepositoryEmulator,
} from './sigstore';
export { envFor as vaultTransitEnv, VaultTransitEmulator } from './vault-transit';
