export { type CopiedImage, type CopyImageOptions, copyImage } from './copy-image';
export { type Credential, type CredentialSource, environmentCredentials } from './credentials';
export { type ImagePolicyOptions, type ImageVerdict, verifyImageForPolicy } from './image-policy';
export { type ImageValidatingPolicyOptions, kyvernoImageValidatingPolicy } from './image-validating-policy';
export {
  COSIGN_SIGN_PREDICATE,
  type Descriptor,
  digestTag,
  EMPTY_CONFIG,
  type ImageIndex,
  type ImageManifest,
  MANIFEST_TYPES,
  OCI_INDEX,
  OCI_MANIFEST,
  SIGSTORE_BUNDLE_ARTIFACT,
  SIMPLE_SIGNING,
} from './media-types';
export { kyvernoPolicy, type PolicyExport, type PolicyExportOptions, policyControllerPolicy, toYaml } from './policy-export';
export { byDigest, formatImageReference, type ImageReference, imageName, parseImageReference } from './reference';
export { listReferrers, type Referrers, type ReferrersSource } from './referrers';
export { type FetchedManifest, RegistryClient, type RegistryClientOptions, type Repository } from './registry-client';
export {
  type AttestImageOptions,
  attestImage,
  type ImageSignatureWritten,
  type SignatureFormat,
  type SignedImage,
  type SignImageOptions,
  signImage,
  simpleSigningPayload,
} from './sign-image';
export { assertSignable } from './subject';
export {
  type ImageSignature,
  type RejectedSignature,
  type VerifiedAttestation,
  type VerifiedImage,
  type VerifyImageOptions,
  verifyImage,
  verifyImageAttestation,
} from './verify-image';
