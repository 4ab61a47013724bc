import { setTimeout as sleep } from 'node:timers/promises';
import { SignetError, type SignetErrorCode } from './errors';
import { displayKeyRef } from './keyref';
import { redactSecrets } from './redact';

/*
 * What every remote key service (KMS, HSM, transparency log) shares: bounded retries with
 * backoff and jitter on what is transient, an overall deadline, and one final error that
 * names the service, the key and what to check. Providers classify their SDK's errors;
 * this file decides what to retry and what the user reads.
 */

/** How a provider classifies a failed call. */
export type FailureKind =
  /** 429, ThrottlingException, RESOURCE_EXHAUSTED: retried, honouring Retry-After. */
  | 'throttled'
  /** 5xx, UNAVAILABLE, a reset or refused connection, a timeout: retried. */
  | 'unavailable'
  /** Data corrupted in transit (a CRC32C mismatch): retried, never signed over. */
  | 'corrupt'
  /** The key or key version does not exist. */
  | 'not-found'
  /** The credentials may not use the key. */
  | 'permission'
  /**
   * No usable credentials: none found, or refused as invalid or expired. Not finding any
   * includes the place they would come from giving no answer (an instance metadata or
   * managed identity endpoint, off the cloud that serves one): that is not an outage to retry.
   */
  | 'unauthenticated'
  /** The key exists but is disabled, destroyed or pending deletion. */
  | 'disabled'
  /** The request itself was refused (wrong key usage, unsupported algorithm). */
  | 'invalid';

export interface Failure {
  kind: FailureKind;
  /** The service's own words (redacted again before they are printed, since SDKs quote requests). */
  detail?: string;
  /** Milliseconds the service asked to wait (Retry-After). */
  retryAfterMs?: number;
}

export interface RemoteCallOptions {
  /** The service, as users know it: "AWS KMS", "GCP Cloud KMS", … */
  service: string;
  /** The key reference's display form (KeyRef.display); it is put through displayKeyRef again all the same. */
  keyRef: string;
  /** What the call does, for the message: "sign", "read the public key", … */
  action: string;
  /** Maps an error thrown by the call to its kind. */
  classify: (error: unknown) => Failure;
  /** What to check, per kind, in this service's terms (IAM permission names, regions…). */
  advice?: Partial<Record<FailureKind, string>>;
  /** Attempts in all, including the first (default 5). */
  attempts?: number;
  /** Overall deadline for every attempt and wait together (default 30 s). */
  deadlineMs?: number;
  /** First backoff step (default 200 ms), doubled each retry, capped at 5 s. */
  baseDelayMs?: number;
  onRetry?: (failure: Failure, attempt: number, delayMs: number) => void;
}

const RETRIED: ReadonlySet<FailureKind> = new Set(['throttled', 'unavailable', 'corrupt']);

const CODES: Record<FailureKind, SignetErrorCode> = {
  throttled: 'E_PROVIDER',
  unavailable: 'E_PROVIDER',
  corrupt: 'E_PROVIDER',
  'not-found': 'E_KEY_NOT_FOUND',
  permission: 'E_PERMISSION',
  unauthenticated: 'E_PERMISSION',
  disabled: 'E_KEY_DISABLED',
  invalid: 'E_KEY',
};

const DEFAULT_ADVICE: Record<FailureKind, string> = {
  throttled: 'the service kept throttling; lower the concurrency or raise the quota',
  unavailable: 'check the endpoint, the network and the region, and that the service is up',
  corrupt: 'responses kept arriving corrupted; check proxies between you and the service',
  'not-found': 'check the key name, its version and the region or project',
  permission: 'check that these credentials may use this key (its policy or IAM role)',
  unauthenticated: 'check the credentials: none were found, or they were refused',
  disabled: 'enable the key (or the key version) or use another one',
  invalid: 'check that the key is an asymmetric signing key',
};

/**
 * Runs `call` with bounded retries. Transient failures (throttling, 5xx, dropped
 * connections, corruption) are retried with exponential backoff and full jitter, within
 * the deadline; anything else fails at once. The final error is a SignetError whose code
 * says which kind of failure it was and whose message names service, key and advice.
 */
export async function callRemote<T>(call: (signal: AbortSignal) => Promise<T>, options: RemoteCallOptions): Promise<T> {
  const attempts = options.attempts ?? 5;
  const deadline = Date.now() + (options.deadlineMs ?? 30_000);
  const baseDelay = options.baseDelayMs ?? 200;
  let last: Failure | undefined;
  let lastError: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) break;
    const signal = AbortSignal.timeout(remaining);
    try {
      return await call(signal);
    } catch (error) {
      // A provider's own deliberate SignetError (a bad setting, a refused key) is final.
      if (error instanceof SignetError) throw error;
      lastError = error;
      last = signal.aborted ? { kind: 'unavailable', detail: 'the deadline passed' } : options.classify(error);
      if (!RETRIED.has(last.kind) || attempt === attempts) break;
      const backoff = Math.random() * Math.min(5_000, baseDelay * 2 ** (attempt - 1));
      const delay = Math.max(backoff, last.retryAfterMs ?? 0);
      if (Date.now() + delay >= deadline) break;
      options.onRetry?.(last, attempt, delay);
      await sleep(delay);
    }
  }
  throw remoteError(last ?? { kind: 'unavailable', detail: 'the deadline passed' }, options, lastError);
}

/** The SignetError for a classified failure, for providers that fail outside callRemote. */
export function remoteError(
  failure: Failure,
  options: Pick<RemoteCallOptions, 'service' | 'keyRef' | 'action' | 'advice'>,
  cause?: unknown,
): SignetError {
  const advice = options.advice?.[failure.kind] ?? DEFAULT_ADVICE[failure.kind];
  const what = RETRIED.has(failure.kind)
    ? `${options.service} failed`
    : failure.kind === 'unauthenticated'
      ? `no usable credentials for ${options.service}`
      : `${options.service} refused`;
  const detail = failure.detail ? ` (${redactSecrets(failure.detail)})` : '';
  return new SignetError({
    code: CODES[failure.kind],
    message: `${what} to ${options.action} with ${displayKeyRef(options.keyRef)}${detail}: ${advice}`,
    cause: loggableCause(cause),
  });
}

/**
 * The SDK's error as it may be logged: its name, code, status and redacted text. The
 * error itself stays behind, since SDK errors hold the request (headers, tokens, bodies)
 * and a library user's `console.error(error)` prints causes in full.
 */
function loggableCause(cause: unknown, depth = 0): unknown {
  if (cause === undefined || cause instanceof SignetError) return cause;
  const original = cause as { name?: unknown; message?: unknown; stack?: unknown; code?: unknown; statusCode?: unknown; cause?: unknown };
  const inner = depth < 3 && original?.cause !== undefined ? { cause: loggableCause(original.cause, depth + 1) } : undefined;
  const safe = new Error(redactSecrets(String(original?.message ?? cause)), inner) as Error & { code?: unknown; statusCode?: unknown };
  if (typeof original?.name === 'string') safe.name = original.name;
  if (typeof original?.stack === 'string') safe.stack = redactSecrets(original.stack);
  if (typeof original?.code === 'string' || typeof original?.code === 'number') safe.code = original.code;
  if (typeof original?.statusCode === 'number') safe.statusCode = original.statusCode;
  return safe;
}

/** HTTP status → failure kind, for providers speaking REST. */
export function failureFromStatus(status: number, detail?: string, retryAfter?: string | null): Failure {
  const retryAfterMs = parseRetryAfter(retryAfter);
  if (status === 429) return { kind: 'throttled', detail, retryAfterMs };
  if (status === 401) return { kind: 'unauthenticated', detail };
  if (status === 403) return { kind: 'permission', detail };
  if (status === 404) return { kind: 'not-found', detail };
  if (status >= 500 || status === 408) return { kind: 'unavailable', detail, retryAfterMs };
  return { kind: 'invalid', detail };
}

/** Connection-level errors (refused, reset, timed out) are transient. */
export function isConnectionError(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException)?.code ?? (error as { cause?: NodeJS.ErrnoException })?.cause?.code;
  return (
    typeof code === 'string' &&
    ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT'].includes(
      code,
    )
  );
}

function parseRetryAfter(value: string | null | undefined): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : undefined;
}
