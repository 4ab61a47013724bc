// Deterministic, signed AWS Lambda packages: package, verify and deploy function and layer zips.
export {
  type AwsSignerDeployOptions,
  type CodeSigningSetup,
  type DeployedFunction,
  type DeployedLayer,
  type DeployLayerOptions,
  type DeployOptions,
  deployFunction,
  deployLayer,
  deployWithAwsSigner,
  setupCodeSigning,
} from './deploy';
export { type VerifiedLayersOptions, withVerifiedLayers } from './layers';
export { type PackagedZip, type PackageOptions, packageZip } from './package-zip';
export { type VerifiedZip, verifyZip, type ZipVerifyOptions } from './verify-zip';
