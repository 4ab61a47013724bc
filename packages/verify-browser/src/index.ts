// @signet/verify-browser: verifies a Signet build's signed manifest in a browser, with WebCrypto.
export { ManifestError, type ManifestErrorCode } from './errors.js';
export type { BrowserTrustedKey } from './keys.js';
export type { Statement } from './manifest.js';
export type { TrustedRootJson } from './tlog.js';
export { type IdentityRule, type ManifestPolicy, type ManifestSigner, type VerifiedManifest, verifyManifest } from './verify.js';
