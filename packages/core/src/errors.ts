/**
 * Every failure Signet reports is a SignetError with a stable `code`, so callers
 * (and the CLI's exit status) can tell a bad input from a bad signature from a
 * provider outage without parsing messages.
 */
export type SignetErrorCode =
  /** The artifact, bundle or key does not verify: bad signature, tampered artifact. */
  | 'E_SIGNATURE'
  /** No signature was found for the artifact (nothing claims to sign it). */
  | 'E_UNSIGNED'
  /** The signature is valid but the policy does not accept it (untrusted key, identity, predicate). */
  | 'E_POLICY'
  /** A certificate in the bundle does not chain to the trusted root or is outside its validity. */
  | 'E_CERTIFICATE'
  /** A transparency-log entry is missing, malformed or does not prove inclusion. */
  | 'E_TLOG'
  /** A timestamp is missing, untrusted or does not cover the signature. */
  | 'E_TIMESTAMP'
  /** The bundle is not a well-formed Sigstore bundle of a version Signet reads. */
  | 'E_BUNDLE'
  /** The trusted root is malformed or incomplete. */
  | 'E_TRUST_ROOT'
  /** A key reference names a key that does not exist. */
  | 'E_KEY_NOT_FOUND'
  /** A key exists but cannot be used: wrong passphrase, unsupported algorithm, malformed PEM. */
  | 'E_KEY'
  /** A KMS or HSM key (or key version) exists but is disabled, destroyed or pending deletion. */
  | 'E_KEY_DISABLED'
  /** The credentials may not use the key, or none were found. */
  | 'E_PERMISSION'
  /** A path, flag value or other input is unusable. */
  | 'E_INPUT'
  /** The command line is wrong (unknown flag, missing argument). */
  | 'E_USAGE'
  /** A file that would be written already exists and --force was not given. */
  | 'E_EXISTS'
  /** A key provider or remote service failed after retries (KMS, HSM, Fulcio, Rekor, network). */
  | 'E_PROVIDER'
  /** The provider package for a key scheme is not installed. */
  | 'E_PROVIDER_MISSING'
  /** A bug: an invariant Signet relies on did not hold. */
  | 'E_INTERNAL';

export interface SignetErrorOptions {
  code: SignetErrorCode;
  message: string;
  cause?: unknown;
}

const BRAND = Symbol.for('signet.SignetError');

export class SignetError extends Error {
  readonly code: SignetErrorCode;

  constructor({ code, message, cause }: SignetErrorOptions) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'SignetError';
    this.code = code;
    Object.defineProperty(this, BRAND, { value: true });
  }

  /**
   * `instanceof` holds across copies of @signet/core: the CLI ships a bundled copy, and a
   * provider package throws errors from its own, installed one.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }
}

export function isSignetError(value: unknown, code?: SignetErrorCode): value is SignetError {
  return value instanceof SignetError && (code === undefined || value.code === code);
}

/** Verification failures (exit 1) as opposed to bad input (2) or provider failures (3). */
export const VERIFICATION_CODES: ReadonlySet<SignetErrorCode> = new Set([
  'E_SIGNATURE',
  'E_UNSIGNED',
  'E_POLICY',
  'E_CERTIFICATE',
  'E_TLOG',
  'E_TIMESTAMP',
]);
