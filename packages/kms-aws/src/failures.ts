import { type Failure, type FailureKind, isConnectionError } from '@signet/core';

/** How the AWS SDK reports a failure: a modelled service error (name + $metadata) or a client-side one. */
interface SdkError {
  name?: string;
  message?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
  $response?: { headers?: Record<string, string | undefined> };
}

const BY_NAME: Readonly<Record<string, FailureKind>> = {
  NotFoundException: 'not-found',
  AccessDeniedException: 'permission',
  DisabledException: 'disabled',
  KMSInvalidStateException: 'disabled',
  ThrottlingException: 'throttled',
  LimitExceededException: 'throttled',
  TooManyRequestsException: 'throttled',
  RequestLimitExceeded: 'throttled',
  KMSInternalException: 'unavailable',
  DependencyTimeoutException: 'unavailable',
  KeyUnavailableException: 'unavailable',
  ServiceUnavailableException: 'unavailable',
  InternalFailure: 'unavailable',
  TimeoutError: 'unavailable',
  RequestTimeout: 'unavailable',
  UnrecognizedClientException: 'unauthenticated',
  InvalidSignatureException: 'unauthenticated',
  IncompleteSignatureException: 'unauthenticated',
  MissingAuthenticationTokenException: 'unauthenticated',
  InvalidClientTokenId: 'unauthenticated',
  ExpiredTokenException: 'unauthenticated',
  CredentialsProviderError: 'unauthenticated',
  InvalidKeyUsageException: 'invalid',
  UnsupportedOperationException: 'invalid',
  ValidationException: 'invalid',
  InvalidArnException: 'invalid',
};

/** An AWS SDK error as a failure kind, with the service's words (AWS never puts credentials in them). */
export function classifyAwsError(error: unknown): Failure {
  const sdk = (error ?? {}) as SdkError;
  const retryAfterMs = retryAfter(sdk.$response?.headers?.['retry-after']);
  const detail = describe(sdk);
  const named = sdk.name ? BY_NAME[sdk.name] : undefined;
  if (named) return { kind: named, detail, retryAfterMs };
  // A body that did not parse (the SDK reports a SyntaxError with the response's metadata).
  if (sdk.name === 'SyntaxError' && sdk.$metadata) return { kind: 'corrupt', detail: 'the response could not be read' };
  const status = sdk.$metadata?.httpStatusCode;
  if (status !== undefined && status >= 500) return { kind: 'unavailable', detail, retryAfterMs };
  if (isConnectionError(error) || status === undefined) return { kind: 'unavailable', detail };
  return { kind: 'invalid', detail };
}

/**
 * What failed while the SDK's credential chain looked for credentials, before any request
 * to KMS. Not finding any is E_PERMISSION however the chain found out: nothing configured,
 * a web identity token file that cannot be read, or an instance or container endpoint that
 * gave no answer (the chain reports those as CredentialsProviderError). Only a service that
 * hands out credentials (STS, SSO) failing or being unreachable is an outage.
 */
export function classifyCredentialError(error: unknown): Failure {
  const sdk = (error ?? {}) as SdkError;
  if (sdk.name === 'CredentialsProviderError' || sdk.name === 'ProviderError' || sdk.name === 'TokenProviderError') {
    return { kind: 'unauthenticated', detail: `no AWS credentials were found: ${describe(sdk)}` };
  }
  if (sdk.$metadata || isConnectionError(error) || sdk.name === 'TimeoutError') return classifyAwsError(error);
  return { kind: 'unauthenticated', detail: `the AWS credentials could not be loaded: ${describe(sdk)}` };
}

/** What to check for each kind of failure, in AWS terms. */
export function adviceFor(action: 'use' | 'create'): Partial<Record<FailureKind, string>> {
  const permissions =
    action === 'create' ? 'kms:CreateKey, kms:CreateAlias, kms:DescribeKey and kms:GetPublicKey' : 'kms:GetPublicKey and kms:Sign';
  return {
    'not-found':
      'check the key ID, ARN or alias and the region (AWS_REGION, the profile, or the ARN); create it with signet key generate --key awskms:///alias/NAME',
    permission: `check that the key policy or an IAM policy grants these credentials ${permissions} on this key`,
    unauthenticated:
      'check the AWS credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, SSO or the instance role): none were found, or AWS refused them',
    disabled: 'enable the key (aws kms enable-key) or cancel its deletion (aws kms cancel-key-deletion), or use another key',
    unavailable: 'check the endpoint (AWS_ENDPOINT_URL_KMS or the one in the key reference), the network and the region',
    throttled: 'AWS KMS kept throttling; sign fewer artifacts at once or ask for a higher KMS request quota',
    invalid: 'check that the key is an asymmetric SIGN_VERIFY key of a type Signet signs with',
  };
}

function describe(error: SdkError): string | undefined {
  const message = error.message?.split('\n')[0]?.trim();
  if (!message) return error.name;
  return error.name && !['Error', 'TimeoutError'].includes(error.name) ? `${error.name}: ${message}` : message;
}

function retryAfter(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : undefined;
}
