import crypto from 'node:crypto';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import type { EmulatorRequest } from '../http-emulator';

/** Credentials the emulator knows, as AWS IAM would: an access key, its secret, maybe a session token. */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** Why a request's SigV4 signature was refused, as the AWS error type and message it answers with. */
export interface AuthFailure {
  type:
    | 'MissingAuthenticationTokenException'
    | 'IncompleteSignatureException'
    | 'UnrecognizedClientException'
    | 'InvalidSignatureException';
  message: string;
}

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/\s]+)\/(\d{8})\/([a-z0-9-]+)\/([a-z0-9-]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})$/;

/** How far the request's clock may be from ours, as AWS allows. */
const MAX_SKEW_MS = 15 * 60 * 1000;

const WRONG_SIGNATURE =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

/**
 * Checks a request's SigV4 signature the way AWS does: the signature is recomputed with
 * the secret of the access key it names (by @smithy/signature-v4, over the headers it
 * says it signed and the exact body bytes) and must match. Resolves to the access key
 * ID of the caller, or to the failure AWS would answer.
 */
export async function verifySigV4(
  request: EmulatorRequest,
  principals: ReadonlyMap<string, AwsCredentials>,
  expected: { region: string; service: string },
): Promise<{ accessKeyId: string } | AuthFailure> {
  const header = headerValue(request, 'authorization');
  if (header === undefined) return { type: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' };
  const match = AUTHORIZATION.exec(header);
  if (!match)
    return { type: 'IncompleteSignatureException', message: 'Authorization header requires Credential, SignedHeaders and Signature.' };
  const [, accessKeyId = '', shortDate = '', region = '', service = '', signedHeaderList = '', signature = ''] = match;

  const principal = principals.get(accessKeyId);
  const token = headerValue(request, 'x-amz-security-token');
  if (!principal || principal.sessionToken !== token) {
    return { type: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' };
  }
  if (service !== expected.service) {
    return { type: 'InvalidSignatureException', message: `Credential should be scoped to correct service: '${expected.service}'.` };
  }
  if (region !== expected.region) {
    return { type: 'InvalidSignatureException', message: `Credential should be scoped to a valid region, not '${region}'.` };
  }
  const amzDate = headerValue(request, 'x-amz-date') ?? '';
  const signingDate = parseAmzDate(amzDate);
  if (!signingDate || !amzDate.startsWith(shortDate)) {
    return { type: 'IncompleteSignatureException', message: 'Date must be in ISO-8601 basic format and match the credential scope.' };
  }
  if (Math.abs(Date.now() - signingDate.getTime()) > MAX_SKEW_MS) {
    return {
      type: 'InvalidSignatureException',
      message: `Signature expired: ${amzDate} is now earlier or later than allowed (15 minutes).`,
    };
  }

  const signedHeaders = signedHeaderList.split(';');
  const headers: Record<string, string> = {};
  for (const name of signedHeaders) {
    const value = headerValue(request, name);
    if (value === undefined) return { type: 'InvalidSignatureException', message: WRONG_SIGNATURE };
    headers[name] = value;
  }
  // The payload hash header, when signed, must be the hash of the bytes that arrived.
  const bodyHash = crypto.createHash('sha256').update(request.rawBody).digest('hex');
  if (headers['x-amz-content-sha256'] !== undefined && headers['x-amz-content-sha256'] !== bodyHash) {
    return { type: 'InvalidSignatureException', message: WRONG_SIGNATURE };
  }

  const signer = new SignatureV4({
    credentials: principal,
    region,
    service,
    sha256: Sha256,
    applyChecksum: signedHeaders.includes('x-amz-content-sha256'),
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
  return same ? { accessKeyId } : { type: 'InvalidSignatureException', message: WRONG_SIGNATURE };
}

function headerValue(request: EmulatorRequest, name: string): string | undefined {
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
