/** The codes a refusal carries: the same as @signet/core's for the same fact. */
export type ManifestErrorCode =
  | 'E_BUNDLE'
  | 'E_SIGNATURE'
  | 'E_POLICY'
  | 'E_KEY'
  | 'E_TLOG'
  | 'E_TIMESTAMP'
  | 'E_TRUST_ROOT'
  | 'E_CERTIFICATE'
  | 'E_USAGE';

/** Every refusal of the browser verifier: a stable code and a message that says what was wrong. */
export class ManifestError extends Error {
  override readonly name = 'ManifestError';
  constructor(
    readonly code: ManifestErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function fail(code: ManifestErrorCode, message: string, cause?: unknown): never {
  throw new ManifestError(code, message, cause === undefined ? undefined : { cause });
}
