import { type Failure, type FailureKind, failureFromStatus, isConnectionError, redactSecrets } from '@signet/core';

export const SERVICE = 'Azure Key Vault';

/** What to check, per kind of failure, in Azure's terms. */
export const ADVICE: Partial<Record<FailureKind, string>> = {
  'not-found': 'check the vault host, the key name and its version (azurekms://VAULT.vault.azure.net/KEY[/VERSION])',
  permission:
    'check that this identity may use the key: the "get" and "sign" key permissions in the vault\'s access policy, or a role such as "Key Vault Crypto User" with Azure RBAC, and that the vault\'s firewall admits this network',
  unauthenticated:
    'check the Azure credentials: AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (or a workload identity, a managed identity, or `az login`), and AZURE_AUTHORITY_HOST outside the public cloud',
  disabled: 'enable the key version (az keyvault key set-attributes --enabled true) or name an enabled version',
  throttled: 'Key Vault kept throttling this vault; lower the signing concurrency or spread the keys over several vaults',
  unavailable: 'check the vault host, the network (proxy, firewall, private endpoint) and that Key Vault is up',
  invalid: 'check that the key is an EC (P-256, P-384, P-521) or RSA (2048, 3072, 4096) key whose permitted operations include sign',
};

/** A signature the service returned that does not verify with the key: damaged on the way, so retried. */
export class CorruptSignatureError extends Error {
  override readonly name = 'CorruptSignatureError';
}

interface VaultErrorBody {
  code?: string;
  message?: string;
  innerError?: { code?: string };
  innererror?: { code?: string };
}

/** Maps what the SDK or the credential threw to a kind of failure, with the service's words as detail. */
export function classifyAzureError(error: unknown): Failure {
  const e = error as {
    name?: string;
    message?: string;
    code?: string;
    statusCode?: number;
    details?: { error?: VaultErrorBody };
    response?: { headers?: { get(name: string): string | undefined } };
    errorResponse?: { error?: string; errorDescription?: string };
  };
  if (error instanceof CorruptSignatureError) return { kind: 'corrupt', detail: error.message };
  if (e?.name === 'RestError' && typeof e.statusCode === 'number') {
    const body = e.details?.error ?? {};
    const code = body.code ?? e.code ?? String(e.statusCode);
    const detail = scrub(`${code}: ${body.message ?? e.message ?? ''}`);
    if (e.statusCode === 403) return { kind: isKeyDisabled(body) ? 'disabled' : 'permission', detail };
    if (e.statusCode === 401) return { kind: 'unauthenticated', detail };
    return failureFromStatus(e.statusCode, detail, e.response?.headers?.get('retry-after'));
  }
  if (e?.name === 'AggregateAuthenticationError') {
    // DefaultAzureCredential tried each credential in turn: one that was refused (or could not
    // reach Entra ID) after trying speaks for the chain.
    const errors = ((error as { errors?: unknown[] }).errors ?? []) as { name?: string; message?: string }[];
    const refused = errors.find((inner) => inner?.name !== 'CredentialUnavailableError');
    if (refused) return classifyAzureError(refused);
    // Every credential said it does not apply here, which is what "no credential" means.
    const authority = errors.find((inner) => AUTHORITY_METADATA_UNREACHABLE.test(inner?.message ?? ''));
    if (authority) return entraUnreachable(authority.message ?? '');
    const probe = errors.some((inner) => MANAGED_IDENTITY_UNREACHABLE.test(inner?.message ?? ''));
    return { kind: 'unauthenticated', detail: probe ? `${NO_CREDENTIAL}; no managed identity endpoint answered` : NO_CREDENTIAL };
  }
  if (CREDENTIAL_ERRORS.has(e?.name ?? '')) {
    const message = e.message ?? '';
    if (e.name === 'CredentialUnavailableError') {
      // The SDK's "not available here". A managed identity's endpoint (IMDS) that cannot be
      // reached is the usual case off Azure, not an outage; only Entra ID's own metadata
      // failing to resolve is one.
      if (AUTHORITY_METADATA_UNREACHABLE.test(message)) return entraUnreachable(message);
      return { kind: 'unauthenticated', detail: `${NO_CREDENTIAL}: ${scrub(message)}` };
    }
    if (AUTHORITY_UNREACHABLE.test(message)) return entraUnreachable(message);
    return { kind: 'unauthenticated', detail: `Microsoft Entra ID refused the credential (${entraRefusal(e)})` };
  }
  if (isConnectionError(error) || e?.code === 'REQUEST_SEND_ERROR') {
    return { kind: 'unavailable', detail: scrub(e.message ?? e.code ?? 'connection failed') };
  }
  if (typeof e?.code === 'string' && TLS_CODES.test(e.code)) {
    return {
      kind: 'unavailable',
      detail: `the vault's TLS certificate is not trusted (${e.code}); for a private CA, name it in NODE_EXTRA_CA_CERTS`,
    };
  }
  const message = e?.message ?? String(error);
  if (/does not match the requested domain/.test(message)) {
    return {
      kind: 'unauthenticated',
      detail:
        'the vault asked for a token for another domain than its host; for a private or sovereign endpoint set SIGNET_AZURE_DISABLE_CHALLENGE_RESOURCE_VERIFICATION=1',
    };
  }
  if (/Operation \w+ is not supported on key/.test(message)) return { kind: 'invalid', detail: scrub(message) };
  if (/can't be used before|expired at/.test(message)) return { kind: 'disabled', detail: scrub(message) };
  return { kind: 'unavailable', detail: scrub(message) };
}

const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ERR_TLS/;

const CREDENTIAL_ERRORS = new Set(['CredentialUnavailableError', 'AuthenticationError', 'AuthenticationRequiredError']);

const NO_CREDENTIAL = 'no Azure credential was found (environment, workload identity, managed identity, Azure CLI)';

/** MSAL's words when a request it sent got no answer: the authority's, or a managed identity endpoint's. */
const AUTHORITY_UNREACHABLE = /(endpoints_resolution_error|network_error)[^.\n]*/;
/** MSAL's words when the authority's metadata (its OpenID configuration) cannot be fetched: always Entra ID's. */
const AUTHORITY_METADATA_UNREACHABLE = /endpoints_resolution_error[^.\n]*/;
/** ManagedIdentityCredential's words when its endpoint (IMDS, App Service, Cloud Shell, Arc) gives no answer. */
const MANAGED_IDENTITY_UNREACHABLE = /^ManagedIdentityCredential: Network unreachable|IMDS endpoint, but it is not available/;

function entraUnreachable(message: string): Failure {
  const words = message.match(AUTHORITY_UNREACHABLE)?.[0] ?? message;
  return {
    kind: 'unavailable',
    detail: `Microsoft Entra ID could not be reached (${scrub(words)}); check AZURE_AUTHORITY_HOST and the network, and for an authority host MSAL does not know set SIGNET_AZURE_DISABLE_INSTANCE_DISCOVERY=1`,
  };
}

/** Entra ID's reason, e.g. `invalid_client, AADSTS7000215: Invalid client secret provided.` (never the secret). */
function entraRefusal(error: { message?: string; errorResponse?: { error?: string; errorDescription?: string } }): string {
  const text = `${error.errorResponse?.error ?? ''} ${error.errorResponse?.errorDescription ?? ''} ${error.message ?? ''}`;
  // an OAuth error code (invalid_client…); wrapping credentials put their own sentence in errorResponse.error
  const declared = error.errorResponse?.error;
  const code = declared && /^[a-z_]+$/.test(declared) ? declared : /\b([a-z_]+): Error\(s\)/.exec(text)?.[1];
  const reason = /AADSTS\d+: [^.]*\./.exec(text)?.[0];
  return scrub([code, reason].filter(Boolean).join(', ') || (error.message ?? 'unknown reason'));
}

/*
 * A 403 from Key Vault is "Forbidden" both when the key version is disabled and when the
 * caller may not use it (access policy, RBAC, firewall), so the code alone cannot tell them
 * apart. The inner error can: KeyDisabled for the former, AccessDenied / ForbiddenByRbac /
 * ForbiddenByConnection / … for the latter. Without an inner error, the service's fixed
 * wording for a disabled key decides; a message merely mentioning "disabled" (such as
 * "Public network access is disabled") does not.
 */
function isKeyDisabled(body: VaultErrorBody): boolean {
  const inner = body.innerError?.code ?? body.innererror?.code;
  if (inner) return inner === 'KeyDisabled';
  return /^Operation \w+ is not allowed on a disabled key\b/.test(body.message ?? '');
}

/** The first line of a message, without anything that could be a credential (core's redaction, shared by every provider). */
function scrub(text: string): string {
  const line = redactSecrets(text.split(/\r?\n/)[0] ?? '').replace(/Bearer\s+(?!\[redacted\])\S+/gi, 'Bearer [redacted]');
  return line.length > 400 ? `${line.slice(0, 400)}…` : line;
}
