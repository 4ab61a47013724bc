import { KeyManagementServiceClient } from '@google-cloud/kms';
import { SignetError } from '@signet/core';

type ClientOptions = NonNullable<ConstructorParameters<typeof KeyManagementServiceClient>[0]>;

/** How to reach Cloud KMS and as whom; every field is optional. */
export interface GcpKmsConnectionOptions {
  /** A client built by the caller (any transport, any credentials); the options below are then unused. */
  client?: KeyManagementServiceClient;
  /** Host of a private or test endpoint; default cloudkms.googleapis.com, or CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDKMS. */
  apiEndpoint?: string;
  /** Its port (default 443); needed with apiEndpoint, or the SDK connects to 443. */
  port?: number;
  /** A service-account key (`client_email`, `private_key`) instead of application default credentials. */
  credentials?: ClientOptions['credentials'];
  /** A service-account key file instead of application default credentials. */
  keyFilename?: string;
  /** An auth client from google-auth-library (workload identity federation, impersonation, …). */
  authClient?: ClientOptions['authClient'];
  /** gRPC channel credentials, as the SDK takes them: they replace its own, so include call credentials. */
  sslCreds?: ClientOptions['sslCreds'];
  /** REST (HTTP/1.1 and JSON) instead of gRPC. */
  fallback?: boolean;
  /** With `fallback`: `http` for a plaintext endpoint. */
  protocol?: 'http' | 'https';
}

const CONNECTION_FIELDS = [
  'apiEndpoint',
  'port',
  'credentials',
  'keyFilename',
  'authClient',
  'sslCreds',
  'fallback',
  'protocol',
] as const satisfies readonly (keyof GcpKmsConnectionOptions)[];

/** gcloud's endpoint override for Cloud KMS, honoured so `gcloud` and Signet reach the same place. */
export const ENDPOINT_OVERRIDE = 'CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDKMS';

/** The SDK settings for these options: explicit ones first, else gcloud's override, else Google's endpoint. */
export function clientSettings(options: GcpKmsConnectionOptions, env: NodeJS.ProcessEnv): ClientOptions {
  const settings: ClientOptions = options.apiEndpoint ? {} : endpointOverride(env);
  for (const field of CONNECTION_FIELDS) {
    if (options[field] !== undefined) Object.assign(settings, { [field]: options[field] });
  }
  return settings;
}

export function createClient(options: GcpKmsConnectionOptions, env: NodeJS.ProcessEnv): KeyManagementServiceClient {
  return options.client ?? new KeyManagementServiceClient(clientSettings(options, env));
}

/** Where the calls go, for messages: `host:port`. */
export function endpointOf(client: KeyManagementServiceClient): string {
  const opts = (client as unknown as { _opts?: { servicePath?: string; port?: number } })._opts;
  return `${opts?.servicePath ?? client.apiEndpoint}:${opts?.port ?? 443}`;
}

/**
 * `https://HOST[:PORT]/` → gRPC over TLS to HOST:PORT (the SDK's default transport).
 * `http://HOST[:PORT]/` → REST over plain HTTP: gRPC sends no credentials over a plaintext
 * channel, so REST is the only way a token reaches a plaintext endpoint (a local proxy, an emulator).
 */
function endpointOverride(env: NodeJS.ProcessEnv): ClientOptions {
  const value = env[ENDPOINT_OVERRIDE]?.trim();
  if (!value) return {};
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalidOverride('is not a URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw invalidOverride('must start with https:// (or http://)');
  if (url.pathname !== '/' || url.search || url.username || url.password) {
    throw invalidOverride('may name only a scheme, host and port, such as https://cloudkms.example.com/');
  }
  const https = url.protocol === 'https:';
  return {
    apiEndpoint: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: Number(url.port) || (https ? 443 : 80),
    ...(https ? {} : { fallback: true, protocol: 'http' }),
  };
}

function invalidOverride(problem: string): SignetError {
  // The value is not repeated: it may carry credentials in its user-info part.
  return new SignetError({ code: 'E_INPUT', message: `${ENDPOINT_OVERRIDE} ${problem}` });
}
