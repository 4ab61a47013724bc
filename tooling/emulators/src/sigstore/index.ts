export { CertificateAuthority, type Identity } from './ca';
export { FulcioEmulator, type FulcioEmulatorOptions } from './fulcio';
export { canonicalJson, type InclusionProof, type LogEntry, TransparencyLog } from './log';
export { auditPath, consistencyPath, hashLeaf, MerkleTree, treeHash } from './merkle';
export { DEFAULT_EMAIL, OidcIssuerEmulator, type TokenOptions } from './oidc';
export { RekorEmulator } from './rekor';
export { RekorV2Emulator, type ServerLogEntry } from './rekor-v2';
export { SigstoreService } from './service';
export { SigstoreStack } from './stack';
export { TILE_WIDTH, TiledLog, tilePath } from './tiled-log';
export { hashedRekordV2Body, type SyntheticVerifier, writeTilesDirectory } from './tiles-directory';
export {
  type CertificateAuthorityJson,
  type ServiceJson,
  SIGNING_CONFIG_MEDIA_TYPE,
  type SigningConfigJson,
  signingConfigOf,
  signingConfigRekorV2Of,
  TRUSTED_ROOT_MEDIA_TYPE,
  type TransparencyLogInstanceJson,
  type TrustedRootJson,
  trustedRootOf,
} from './trust';
export { TimestampAuthorityEmulator } from './tsa';
export { TufRepositoryEmulator, type TufTarget } from './tuf';
