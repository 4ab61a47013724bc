// Signs npm releases at publish and verifies packages before they are used.
export { type LockedPackage, lockedPackages, type UnverifiablePackage, type VerifyLockfileOptions, verifyLockfile } from './lockfile';
export { NpmFailure, type NpmResult, type NpmRunOptions, runNpm, scrubTokens } from './npm-cli';
export {
  IdentityLedger,
  type PackageRule,
  type ProvenanceIdentity,
  type ProvenanceSource,
  parseDuration,
} from './package-policy';
export {
  isPublished,
  type PublishOptions,
  packPackage,
  publishSigned,
  publishWorkspaces,
  type Release,
  type WorkspacePackage,
  type WorkspaceRelease,
  workspacePackages,
} from './publish';
export {
  type PackageVersion,
  type Packument,
  PUBLIC_NPM_REGISTRY,
  RegistryClient,
  type RegistryKey,
  type RegistryOptions,
} from './registry';
export { npmPurl, RELEASE_PREDICATE_TYPE, type ReleasePredicate, releaseStatement, sha512Integrity, tarballFileName } from './release';
export {
  bundleUrl,
  type Check,
  DEFAULT_PROVENANCE_IDENTITIES,
  NPM_PUBLISH_PREDICATE_TYPE,
  type NpmVerifyOptions,
  type PackageReport,
  verifyNpmPackage,
} from './verify';
