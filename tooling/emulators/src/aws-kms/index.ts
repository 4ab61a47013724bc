export type { AwsCredentials } from '../aws-sigv4';
export {
  ALIAS_NOT_FOUND_YET,
  AwsKmsEmulator,
  type CreateKeyInput,
  type Denial,
  type EmulatedKey,
  envFor,
  type KeyState,
} from './aws-kms-emulator';
export type { KeySpec, KeyUsage } from './key-material';
