import crypto from 'node:crypto';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import type { EmulatorRequest } from './http-emulator';

/** Credentials the emulator knows, as AWS IAM would: an access key, its secret, maybe a session token. */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/**
 * Why a signature was refused. S3 and the JSON services word the same failure differently
 * (SignatureDoesNotMatch vs InvalidSignatureException), so the verifier only says what failed.
 */
export type AuthFailure =
  | { kind: 'missing' }
  | { kind: 'malformed' }
  | { kind: 'unknown-key' }
  | { kind: 'invalid-token' }
  | { kind: 'wrong-service'; service: string }
  | { kind: 'wrong-region'; region: string }
  | { kind: 'bad-date' }
  | { kind: 'expired'; amzDate: string }
  | { kind: 'payload-hash' }
  | { kind: 'unsupported-payload'; payload: string }
  | { kind: 'signature' };

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/\s]+)\/(\d{8})\/([a-z0-9-]+)\/([a-z0-9-]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})$/;

/** How far the request's clock may be from ours, as AWS allows. */
const MAX_SKEW_MS = 15 * 60 * 1000;

/** Payload hashes S3 accepts in place of the body's SHA-256; the SDK sends the second for aws-chunked uploads. */
const S3_UNSIGNED_PAYLOADS = new Set(['UNSIGNED-PAYLOAD', 'STREAMING-UNSIGNED-PAYLOAD-TRAILER']);

/** The service a request's credential scope names ('kms', 's3', 'signer', 'lambda'), or undefined when unsigned. */
export function scopeService(request: EmulatorRequest): string | undefined {
  return AUTHORIZATION.exec(headerValue(request, 'authorization') ?? '')?.[4];
}

/**
 * Checks a request's SigV4 signature the way AWS does: the signature is recomputed with
 * the secret of the access key it names (by @smithy/signature-v4, over the headers it
 * says it signed and the exact body bytes) and must match. S3's rules apply when the
 * expected service is 's3': its paths are signed as sent (no second URI encoding) and
 * its payload may be declared unsigned. Resolves to the access key ID of the caller, or
 * to what failed, for the emulator to word as its service does.
 */
export async function verifySigV4(
  request: EmulatorRequest,
  principals: ReadonlyMap<string, AwsCredentials>,
  expected: { region: string; service: string },
): Promise<{ accessKeyId: string } | AuthFailure> {
  const header = headerValue(request, 'authorization');
  if (header === undefined) return { kind: 'missing' };
  const match = AUTHORIZATION.exec(header);
  if (!match) return { kind: 'malformed' };
  const [, accessKeyId = '', shortDate = '', region = '', service = '', signedHeaderList = '', signature = ''] = match;

  const principal = principals.get(accessKeyId);
  if (!principal) return { kind: 'unknown-key' };
  if (principal.sessionToken !== headerValue(request, 'x-amz-security-token')) return { kind: 'invalid-token' };
  if (service !== expected.service) return { kind: 'wrong-service', service };
  if (region !== expected.region) return { kind: 'wrong-region', region };
  const amzDate = headerValue(request, 'x-amz-date') ?? '';
  const signingDate = parseAmzDate(amzDate);
  if (!signingDate || !amzDate.startsWith(shortDate)) return { kind: 'bad-date' };
  if (Math.abs(Date.now() - signingDate.getTime()) > MAX_SKEW_MS) return { kind: 'expired', amzDate };

  const signedHeaders = signedHeaderList.split(';');
  const headers: Record<string, string> = {};
  for (const name of signedHeaders) {
    const value = headerValue(request, name);
    if (value === undefined) return { kind: 'signature' };
    headers[name] = value;
  }
  // The payload hash header, when signed, must be the hash of the bytes that arrived (unless S3 was told it is unsigned).
  const payload = headers['x-amz-content-sha256'];
  if (payload !== undefined && !(expected.service === 's3' && S3_UNSIGNED_PAYLOADS.has(payload))) {
    if (!/^[0-9a-f]{64}$/.test(payload)) return { kind: 'unsupported-payload', payload };
    if (payload !== crypto.createHash('sha256').update(request.rawBody).digest('hex')) return { kind: 'payload-hash' };
  }

  const signer = new SignatureV4({
    credentials: principal,
    region,
    service,
    sha256: Sha256,
    uriEscapePath: service !== 's3',
    applyChecksum: payload !== undefined,
  });
  const signed = await signer.sign(
    {
      method: request.method,
      protocol: 'http:',
      hostname: headers.host ?? '',
      path: request.path,
      query: Object.fromEntries(request.query),
      headers,
      body: request.rawBody,
    },
    { signingDate },
  );
  const recomputed = /Signature=([0-9a-f]{64})$/.exec(String(signed.headers.authorization ?? ''))?.[1] ?? '';
  const same = recomputed.length === signature.length && crypto.timingSafeEqual(Buffer.from(recomputed), Buffer.from(signature));
  return same ? { accessKeyId } : { kind: 'signature' };
}

const WRONG_SIGNATURE =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

/**
 * A refused signature in the words of AWS's JSON services (KMS, Signer, Lambda): the error
 * type and message. The HTTP status is the caller's, as the emulators answer differently.
 */
export function jsonAuthError(failure: AuthFailure, service: string): { type: string; message: string } {
  switch (failure.kind) {
    case 'missing':
      return { type: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' };
    case 'malformed':
      return { type: 'IncompleteSignatureException', message: 'Authorization header requires Credential, SignedHeaders and Signature.' };
    case 'unknown-key':
    case 'invalid-token':
      return { type: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' };
    case 'wrong-service':
      return { type: 'InvalidSignatureException', message: `Credential should be scoped to correct service: '${service}'.` };
    case 'wrong-region':
      return { type: 'InvalidSignatureException', message: `Credential should be scoped to a valid region, not '${failure.region}'.` };
    case 'bad-date':
      return { type: 'IncompleteSignatureException', message: 'Date must be in ISO-8601 basic format and match the credential scope.' };
    case 'expired':
      return {
        type: 'InvalidSignatureException',
        message: `Signature expired: ${failure.amzDate} is now earlier or later than allowed (15 minutes).`,
      };
    default:
      return { type: 'InvalidSignatureException', message: WRONG_SIGNATURE };
  }
}

export function headerValue(request: EmulatorRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

/** `20261124T220439Z` → a Date, or undefined when malformed. */
function parseAmzDate(value: string): Date | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s] = match.map(Number) as number[];
  return new Date(Date.UTC(y as number, (mo as number) - 1, d, h, mi, s));
}
