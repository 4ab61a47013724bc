import { type Failure, type FailureKind, failureFromStatus, isConnectionError } from '@signet/core';

/*
 * What a failed Cloud KMS call was. gRPC errors carry a google.rpc code and the service's
 * message; over REST, gaxios throws before google-gax reads the body, so the JSON error
 * (with the code's name in `error.status`) is in the message. Neither is kept as the cause
 * of what Signet throws: a gaxios error holds the request's headers, bearer token included.
 */

/** A classified failure, safe to keep and print: no request, no headers, no token. */
export class CloudKmsFailure extends Error {
  constructor(
    readonly failure: Failure,
    /** The google.rpc code, when the service answered with one. */
    readonly code?: number,
  ) {
    super(failure.detail ?? failure.kind);
    this.name = 'CloudKmsFailure';
  }
}

export const ALREADY_EXISTS = 6;

const CODE_NAMES = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
];

const KIND_BY_CODE: Record<number, FailureKind> = {
  1: 'unavailable',
  2: 'unavailable',
  3: 'invalid',
  4: 'unavailable',
  5: 'not-found',
  6: 'invalid',
  7: 'permission',
  8: 'throttled',
  10: 'unavailable',
  11: 'invalid',
  12: 'invalid',
  13: 'unavailable',
  14: 'unavailable',
  15: 'corrupt',
  16: 'unauthenticated',
};

/** Classifies what the SDK threw for an RPC, and strips it to what is safe to keep. */
export function cloudKmsFailure(error: unknown): CloudKmsFailure {
  if (error instanceof CloudKmsFailure) return error;
  const e = (error ?? {}) as { code?: unknown; details?: unknown; statusDetails?: unknown; response?: unknown; message?: unknown };
  const response = e.response as { status?: unknown; headers?: { get?: (name: string) => string | null } } | undefined;
  if (response && typeof response.status === 'number') {
    const body = restErrorBody(String(e.message ?? ''));
    const retryAfter = response.headers?.get?.('retry-after') ?? undefined;
    const code = body?.status === undefined ? -1 : CODE_NAMES.indexOf(body.status);
    if (code > 0) {
      const retryAfterMs = retryAfter && Number.isFinite(Number(retryAfter)) ? Number(retryAfter) * 1000 : retryDelayMs(body?.details);
      return new CloudKmsFailure(byCode(code, body?.message, retryAfterMs), code);
    }
    return new CloudKmsFailure(failureFromStatus(response.status, body?.message ?? `HTTP ${response.status}`, retryAfter));
  }
  if (typeof e.code === 'number' && e.code > 0 && e.code <= 16 && typeof e.details === 'string') {
    return new CloudKmsFailure(byCode(e.code, e.details, retryDelayMs(e.statusDetails)), e.code);
  }
  if (isConnectionError(error)) {
    return new CloudKmsFailure({ kind: 'unavailable', detail: `connection failed: ${String(e.code ?? (error as Error).cause)}` });
  }
  const name = error instanceof Error ? (error.name === 'Error' ? error.constructor.name : error.name) : typeof error;
  const code = typeof e.code === 'string' ? ` ${e.code}` : '';
  return new CloudKmsFailure({ kind: 'unavailable', detail: `the call failed (${name}${code})` });
}

/**
 * What a failure to obtain credentials was. The metadata server giving no answer means there
 * are no application default credentials here (off Google Cloud, or with
 * METADATA_SERVER_DETECTION=assume-present where none runs), not an outage to retry; only
 * Google's token services being unreachable is one.
 */
export function credentialFailure(error: unknown): CloudKmsFailure {
  if (isConnectionError(error)) {
    if (!isMetadataServerRequest(error)) return cloudKmsFailure(error);
    const code = String((error as { code?: unknown }).code ?? 'no answer');
    return new CloudKmsFailure({
      kind: 'unauthenticated',
      detail: `no application default credentials were found: the metadata server did not answer (${code})`,
    });
  }
  const message = error instanceof Error ? error.message : '';
  const fileError = (error as { code?: unknown; syscall?: unknown }).syscall !== undefined ? (error as { code?: unknown }).code : undefined;
  let detail = 'the credentials could not produce an access token';
  if (message.startsWith('Could not load the default credentials')) detail = 'no application default credentials were found';
  else if (message.includes('GOOGLE_APPLICATION_CREDENTIALS') || typeof fileError === 'string')
    detail = `the credentials file (GOOGLE_APPLICATION_CREDENTIALS, or the key file given) cannot be read as credentials${typeof fileError === 'string' ? ` (${fileError})` : ''}`;
  // The library's own words can quote the credentials (a JSON parse error shows the text it choked on): only ours travel.
  return new CloudKmsFailure({ kind: 'unauthenticated', detail });
}

/** Whether a failed request went to the GCE metadata server (wherever GCE_METADATA_HOST puts it). */
function isMetadataServerRequest(error: unknown): boolean {
  const url = (error as { config?: { url?: unknown } }).config?.url;
  try {
    return new URL(String(url)).pathname.startsWith('/computeMetadata/');
  } catch {
    return false;
  }
}

export function classify(error: unknown): Failure {
  return cloudKmsFailure(error).failure;
}

function byCode(code: number, message: string | undefined, retryAfterMs?: number): Failure {
  const detail = `${CODE_NAMES[code] ?? code}${message ? `: ${message.replace(/\s+/g, ' ').trim()}` : ''}`;
  if (code === 9) {
    // FAILED_PRECONDITION: a version that is disabled or destroyed, one still being generated, or a key of the wrong kind.
    if (/PENDING_GENERATION/.test(message ?? '')) return { kind: 'unavailable', detail };
    if (/not enabled|current state|DISABLED|DESTROY/i.test(message ?? '')) return { kind: 'disabled', detail };
    return { kind: 'invalid', detail };
  }
  // A checksum the service could not match is the request damaged on its way there.
  if (code === 3 && /checksum|crc32c/i.test(message ?? '')) return { kind: 'corrupt', detail };
  if (code === 2 && /metadata from plugin/i.test(message ?? '')) {
    return { kind: 'unauthenticated', detail: 'the credentials could not produce an access token' };
  }
  return { kind: KIND_BY_CODE[code] ?? 'unavailable', detail, retryAfterMs };
}

function restErrorBody(message: string): { status?: string; message?: string; details?: unknown } | undefined {
  try {
    const parsed = JSON.parse(message) as { error?: { status?: string; message?: string; details?: unknown } };
    return parsed.error;
  } catch {
    return undefined;
  }
}

/** google.rpc.RetryInfo among the error's details: gRPC (decoded by google-gax) or REST JSON ("1.5s"). */
function retryDelayMs(details: unknown): number | undefined {
  if (!Array.isArray(details)) return undefined;
  for (const detail of details as { retryDelay?: unknown }[]) {
    const delay = detail?.retryDelay;
    if (typeof delay === 'string' && /^\d+(\.\d+)?s$/.test(delay)) return Number(delay.slice(0, -1)) * 1000;
    if (delay && typeof delay === 'object') {
      const { seconds = 0, nanos = 0 } = delay as { seconds?: unknown; nanos?: unknown };
      return Number(seconds) * 1000 + Number(nanos) / 1e6;
    }
  }
  return undefined;
}
