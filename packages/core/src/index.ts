export {
  type AlgorithmInfo,
  algorithmForKey,
  algorithmInfo,
  type HashAlgorithm,
  isSignatureAlgorithm,
  SIGNATURE_ALGORITHMS,
  type SignatureAlgorithm,
} from './algorithms';
export { createAttestation, type SubjectFile, subjectsForFiles } from './attest';
export {
  type BuildFile,
  type BuildInfo,
  buildStatement,
  buildSubjects,
  DEFAULT_MANIFEST_PATH,
  DirectoryMismatchError,
  fileFilter,
  MANIFEST_PREDICATE_TYPE,
  type ManifestPredicate,
  manifestOutputPaths,
  SHA256SUMS_NAME,
  type SignDirectoryOptions,
  type SignedBuild,
  sha256sums,
  signBuild,
  signDirectory,
  type VerifiedDirectory,
  type VerifyDirectoryOptions,
  verifyDirectory,
} from './build-manifest';
export {
  type BundleDescription,
  type CertificateDescription,
  type DsseEnvelopeDescription,
  describeBundle,
  type InclusionProofDescription,
  type MessageSignatureDescription,
  type PublicKeyDescription,
  type StatementDescription,
  type TimestampDescription,
  type TlogEntryDescription,
} from './bundle-description';
export { BUNDLE_MEDIA_TYPE, type Bundle, parseBundle, readBundle, type SerializedBundle, serializeBundle, writeBundle } from './bundle-io';
export { type CertificateExtensions, certificateExtensions } from './certificate-identity';
export {
  assertArtifactFile,
  type Digests,
  digestBytes,
  digestFile,
  digestStream,
  IN_MEMORY_LIMIT,
  type ProgressListener,
  readRegularFile,
} from './digest';
export { type DigestSignerOptions, digestSigner, ecdsaRawToDer } from './digest-signer';
export { isSignetError, SignetError, type SignetErrorCode, VERIFICATION_CODES } from './errors';
export { writeFileAtomic } from './fs-atomic';
export { gate } from './gate';
export {
  ARTIFACT_KINDS,
  type ArtifactKind,
  type AttestationRequirement,
  type GateOptions,
  type GatePolicy,
  type GateRule,
  type GateVerdict,
  loadGatePolicy,
} from './gate-policy';
export { imageRuleFor, signerName, signersKeys, signersPolicy } from './gate-rules';
export { type HttpRequestOptions, httpRequest, isLoopbackUrl, readJson } from './http';
export { canonicalImagePattern, DOCKER_HUB, type ImageName, parseImageName } from './image-name';
export { IDENTITY_TOKEN_SOURCES, type KeylessOptions, KeylessSigner } from './keyless';
export { displayKeyRef, type KeyRef, parseKeyRef } from './keyref';
export { createKey, openSigner, trustedKeyFromRef } from './keys';
export { GENERATED_ALGORITHMS, type GeneratedAlgorithm, LocalSigner, publicKeyPathFor } from './local-keys';
export {
  type AcceptedContent,
  checkIdentityRule,
  GITHUB_ACTIONS_ISSUER,
  type GitHubIdentityOptions,
  githubWorkflowIdentity,
  type IdentityRule,
  type Policy,
  RELEASE_PREDICATE_TYPES,
  type TrustedKey,
} from './policy';
export { exportJwk, rsaDigestInfo, signDigest, verifyDigest } from './prehash';
export {
  type CreateKeyOptions,
  type KeyProvider,
  PROVIDER_PACKAGES,
  type ProviderOptions,
  providerFor,
  registerProvider,
} from './provider';
export { assertAcceptableKey, parsePublicKey, publicKeyFingerprint, publicKeyHint, publicKeyPem } from './public-key';
export { redactSecrets } from './redact';
export {
  callRemote,
  type Failure,
  type FailureKind,
  failureFromStatus,
  isConnectionError,
  type RemoteCallOptions,
  remoteError,
} from './remote';
export { type SignInput, type SignOptions, signArtifact, signArtifacts, signStatement } from './sign';
export type { Signer } from './signer';
export { hashedRekordContent, REKOR_V2_MIN_TIMEOUT_MS, RekorV2Witness, rekorKeyDetails } from './rekor-v2';
export {
  CLIENT_TRUST_CONFIG_MEDIA_TYPE,
  type LoadSigningConfigOptions,
  loadSigningConfig,
  parseSigningConfigDocument,
  readSigningConfigFile,
  type SelectServicesOptions,
  type ServiceEntry,
  type ServiceSelector,
  SIGNING_CONFIG_MEDIA_TYPE,
  SIGNING_CONFIG_TARGET,
  type SigningConfig,
  selectServices,
  serviceValidAt,
} from './signing-config';
export {
  PUBLIC_GOOD_REKOR_URL,
  parseSigningConfig,
  type RekorLog,
  readSigningConfig,
  rekorLogsOf,
  SUPPORTED_REKOR_VERSIONS,
  type SigstoreServices,
  tsaURLsOf,
} from './sigstore-services';
export {
  COSIGN_SIGN_PREDICATE_TYPE,
  checkPredicate,
  createStatement,
  INTOTO_PAYLOAD_TYPE,
  NPM_RELEASE_PREDICATE_TYPE,
  PREDICATE_TYPES,
  parseStatement,
  predicateTypeName,
  resolvePredicateType,
  STATEMENT_TYPE,
  type Statement,
  type Subject,
} from './statement';
export {
  embeddedTrustedRoot,
  emptyTrustedRoot,
  type LoadTrustedRootOptions,
  loadTrustedRoot,
  PUBLIC_GOOD_TUF_MIRROR,
  parseTrustedRoot,
  readTrustedRoot,
  serializeTrustedRoot,
  type TrustedRoot,
} from './trusted-root';
export {
  type Artifact,
  artifactFromArgument,
  createVerifier,
  isVerified,
  type SignerIdentity,
  type TimestampInfo,
  type Verified,
  type VerifiedStatement,
  type Verifier,
  type VerifierOptions,
} from './verify';
export type { Witness } from './witness';
