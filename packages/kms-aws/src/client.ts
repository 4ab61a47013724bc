import { KMSClient, type KMSClientConfig } from '@aws-sdk/client-kms';
import { SignetError } from '@signet/core';
import type { AwsKeyUri } from './key-uri';

/**
 * Settings for the library API; without them the SDK's default chain decides. (A type
 * literal, not an interface, so it can be passed where core takes ProviderOptions.)
 */
export type AwsKmsSettings = {
  /** A client configured by the caller, used as it is (its region, endpoint, credentials and retries). */
  client?: KMSClient;
  /** Default: the key ARN's region, else AWS_REGION or the profile's region. */
  region?: string;
  /** Default: the reference's endpoint (`awskms://HOST/…`), else AWS_ENDPOINT_URL_KMS, AWS_ENDPOINT_URL or AWS's own. */
  endpoint?: string;
  /** Default: the SDK's chain (environment, AWS_PROFILE and shared files, SSO, web identity, container and instance roles). */
  credentials?: KMSClientConfig['credentials'];
  /** Attempts per remote call, including the first (default 5). */
  attempts?: number;
  /** Overall deadline per remote call, retries included (default 30 s). */
  deadlineMs?: number;
  /** First backoff step between retries (default 200 ms). */
  baseDelayMs?: number;
};

/**
 * The KMS client for one key. The reference's endpoint and an ARN's region win over the
 * settings, because they say where the key is. Retries are left to Signet's callRemote
 * (maxAttempts 1), so each retry is visible and bounded by one deadline, and each
 * signature costs exactly one request.
 */
export function kmsClientFor(uri: AwsKeyUri, settings: AwsKmsSettings): KMSClient {
  if (settings.client) return settings.client;
  return withoutNodeVersionWarning(
    () =>
      new KMSClient({
        region: uri.region ?? settings.region,
        endpoint: uri.endpoint ?? settings.endpoint,
        credentials: settings.credentials,
        maxAttempts: 1,
      }),
  );
}

/** Fails with E_INPUT, before any request, when no region is configured anywhere. */
export async function requireRegion(client: KMSClient, keyRef: string): Promise<void> {
  try {
    await client.config.region();
  } catch (cause) {
    throw new SignetError({
      code: 'E_INPUT',
      message: `no AWS region is configured for ${keyRef}: set AWS_REGION (or a region in your AWS profile), or name the key by its ARN`,
      cause,
    });
  }
}

const NODE_VERSION_WARNING = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';

/**
 * On Node 20 the SDK's client constructor prints a multi-line warning that SDK releases
 * after January 2027 will need Node 22. Signet supports Node 20 with the SDK versions it
 * depends on, and the warning would break the CLI's one-line error output, so it is
 * switched off while the client is built (the SDK checks the variable then, once per
 * process); the environment is left as it was.
 */
function withoutNodeVersionWarning<T>(build: () => T): T {
  const before = process.env[NODE_VERSION_WARNING];
  process.env[NODE_VERSION_WARNING] = 'true';
  try {
    return build();
  } finally {
    if (before === undefined) delete process.env[NODE_VERSION_WARNING];
    else process.env[NODE_VERSION_WARNING] = before;
  }
}
