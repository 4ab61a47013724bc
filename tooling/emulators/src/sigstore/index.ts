export { CertificateAuthority, type Identity } from './ca';
export { FulcioEmulator, type FulcioEmulatorOptions } from './fulcio';
export { type InclusionProof, type LogEntry, TransparencyLog } from './log';
export { DEFAULT_EMAIL, OidcIssuerEmulator, type TokenOptions } from './oidc';
export { RekorEmulator } from './rekor';
export { SigstoreService } from './service';
export { SigstoreStack } from './stack';
export {
  type CertificateAuthorityJson,
  type ServiceJson,
  SIGNING_CONFIG_MEDIA_TYPE,
  type SigningConfigJson,
  signingConfigOf,
  TRUSTED_ROOT_MEDIA_TYPE,
  type TransparencyLogInstanceJson,
  type TrustedRootJson,
  trustedRootOf,
} from './trust';
export { TimestampAuthorityEmulator } from './tsa';
export { TufRepositoryEmulator, type TufTarget } from './tuf';
