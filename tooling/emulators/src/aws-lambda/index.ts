export { AwsLambdaEmulator, envFor } from './aws-lambda-emulator';
export type {
  CodeSignature,
  CodeSigningWarning,
  DeployedCode,
  EmulatedCodeSigningConfig,
  EmulatedFunction,
  EmulatedLayerVersion,
} from './lambda';
export type { StoredObject } from './s3';
export { type EmulatedSigningJob, type EmulatedSigningProfile, LAMBDA_SIGNING_PLATFORM, SIGNING_JOB_IN_PROGRESS } from './signer';
