import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import { CryptographyClient, KeyClient, type KeyClientOptions, type KeyProperties, type KeyVaultKey } from '@azure/keyvault-keys';
import {
  algorithmInfo,
  type CreateKeyOptions,
  callRemote,
  digestSigner,
  ecdsaRawToDer,
  isSignetError,
  type KeyProvider,
  type KeyRef,
  type ProviderOptions,
  remoteError,
  type Signer,
  SignetError,
  verifyDigest,
} from '@signet/core';
import { ADVICE, CorruptSignatureError, classifyAzureError, SERVICE } from './failures';
import { creatable, keySigning } from './key-algorithm';
import { type AzureKeyUri, parseAzureKeyUri } from './key-uri';

/** Settings for the library API; each may also be given per call, in openSigner's options. */
export interface AzureKeyVaultProviderOptions {
  /**
   * Any TokenCredential (ClientSecretCredential, ManagedIdentityCredential, …). Default:
   * DefaultAzureCredential — environment (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET
   * or a certificate), workload identity, managed identity, then the Azure CLI.
   */
  credential?: TokenCredential;
  /** The Microsoft Entra ID host for the default credential (else AZURE_AUTHORITY_HOST, else the public cloud). */
  authorityHost?: string;
  /**
   * Options for the Key Vault clients (and the default credential): proxyOptions, tlsOptions,
   * userAgentOptions, serviceVersion… Retries are Signet's own, so the SDK's are turned off.
   */
  clientOptions?: KeyClientOptions;
  /**
   * Accept a token challenge naming another domain than the vault's host: for a private
   * or sovereign endpoint. Also SIGNET_AZURE_DISABLE_CHALLENGE_RESOURCE_VERIFICATION=1.
   */
  disableChallengeResourceVerification?: boolean;
  /**
   * Skip MSAL's check of the authority host against login.microsoftonline.com (for an
   * authority host it does not know, such as Azure Stack). Also SIGNET_AZURE_DISABLE_INSTANCE_DISCOVERY=1.
   */
  disableInstanceDiscovery?: boolean;
  /** Attempts per remote call, including the first (default 5). */
  attempts?: number;
  /** Overall deadline per remote call, retries included (default 30 s). */
  deadlineMs?: number;
  /** First backoff step (default 200 ms). */
  baseDelayMs?: number;
}

const SETTINGS = [
  'credential',
  'authorityHost',
  'clientOptions',
  'disableChallengeResourceVerification',
  'disableInstanceDiscovery',
  'attempts',
  'deadlineMs',
  'baseDelayMs',
] as const;

/** A KeyProvider for `azurekms://` with explicit settings; `provider` is the one with defaults. */
export function createAzureKeyVaultProvider(options: AzureKeyVaultProviderOptions = {}): KeyProvider {
  // Default credentials, per client options and authority, so their token caches are shared.
  const defaultCredentials = new WeakMap<object, Map<string, TokenCredential>>();
  const noClientOptions = {};

  /** The settings for one call: the factory's, overridden by those passed to openSigner/createKey. */
  function session(ref: KeyRef, callOptions: ProviderOptions = {}) {
    const settings: AzureKeyVaultProviderOptions = { ...options };
    for (const name of SETTINGS) {
      if (callOptions[name] !== undefined) (settings as Record<string, unknown>)[name] = callOptions[name];
    }
    const env = callOptions.env ?? process.env;
    const uri = parseAzureKeyUri(ref);
    const disableChallengeResourceVerification =
      settings.disableChallengeResourceVerification ?? isSet(env.SIGNET_AZURE_DISABLE_CHALLENGE_RESOURCE_VERIFICATION);
    const disableInstanceDiscovery = settings.disableInstanceDiscovery ?? isSet(env.SIGNET_AZURE_DISABLE_INSTANCE_DISCOVERY);
    const clientOptions: KeyClientOptions = {
      ...settings.clientOptions,
      disableChallengeResourceVerification,
      // callRemote retries (with backoff, jitter, Retry-After and a deadline); the SDK must not retry inside it.
      retryOptions: { maxRetries: 0 },
    };
    const credential = settings.credential ?? defaultCredential(settings, clientOptions, disableInstanceDiscovery);
    const remote = <T>(action: string, call: (signal: AbortSignal) => Promise<T>): Promise<T> =>
      callRemote(call, {
        service: SERVICE,
        keyRef: ref.display,
        action,
        classify: classifyAzureError,
        advice: ADVICE,
        attempts: settings.attempts,
        deadlineMs: settings.deadlineMs,
        baseDelayMs: settings.baseDelayMs,
      });
    return { uri, credential, clientOptions, remote, keys: new KeyClient(uri.vaultUrl, credential, clientOptions) };
  }

  function defaultCredential(
    settings: AzureKeyVaultProviderOptions,
    clientOptions: KeyClientOptions,
    disableInstanceDiscovery: boolean,
  ): TokenCredential {
    const owner = settings.clientOptions ?? noClientOptions;
    const byAuthority = defaultCredentials.get(owner) ?? new Map<string, TokenCredential>();
    defaultCredentials.set(owner, byAuthority);
    const id = JSON.stringify([settings.authorityHost, disableInstanceDiscovery]);
    let credential = byAuthority.get(id);
    if (!credential) {
      // It shares the clients' proxy and TLS settings, and it does not retry either: callRemote does.
      credential = new DefaultAzureCredential({
        ...clientOptions,
        authorityHost: settings.authorityHost,
        disableInstanceDiscovery,
      } as ConstructorParameters<typeof DefaultAzureCredential>[0]);
      byAuthority.set(id, credential);
    }
    return credential;
  }

  return {
    scheme: 'azurekms',

    async open(ref, callOptions) {
      const { uri, credential, clientOptions, remote, keys } = session(ref, callOptions);
      const key = await resolveKey(uri, keys, remote, ref.display);
      const signing = keySigning(key.key, ref.display);
      const info = algorithmInfo(signing.algorithm);
      // Built from the key already read, so signing makes no further read: one call per signature.
      const cryptography = new CryptographyClient(key, credential, clientOptions);
      return digestSigner({
        keyId: ref.display,
        algorithm: signing.algorithm,
        publicKey: signing.publicKeyPem,
        signDigest: (digest) =>
          remote('sign', async (abortSignal) => {
            const { result } = await cryptography.sign(signing.azure, digest, { abortSignal });
            // Key Vault answers ECDSA as raw r‖s (JWS form); bundles carry DER.
            let signature: Buffer;
            try {
              signature = info.family === 'ecdsa' ? ecdsaRawToDer(result) : Buffer.from(result);
            } catch (error) {
              throw new CorruptSignatureError(`the signature could not be read: ${(error as Error).message}`);
            }
            if (!verifyDigest(signing.publicKey, info.family, info.hash, digest, signature)) {
              throw new CorruptSignatureError('the signature returned does not verify with the key');
            }
            return signature;
          }),
      }) satisfies Signer;
    },

    async create(ref, callOptions: CreateKeyOptions = {}) {
      const { uri, remote, keys } = session(ref, callOptions);
      if (uri.version) {
        throw new SignetError({
          code: 'E_INPUT',
          message: `${ref.display} names a version; Key Vault assigns versions, so name only the vault and the key (azurekms://VAULT/KEY)`,
        });
      }
      const spec = creatable(callOptions.algorithm ?? 'ecdsa-p256');
      const existing = await remote('check whether the key exists', (abortSignal) => keys.getKey(uri.name, { abortSignal })).then(
        () => true,
        (error: unknown) => {
          if (isSignetError(error, 'E_KEY_NOT_FOUND')) return false;
          throw error;
        },
      );
      if (existing) {
        throw new SignetError({
          code: 'E_EXISTS',
          message: `${ref.display} already exists; Signet never replaces a KMS key: sign with it, add a version in the vault (az keyvault key rotate), or choose another name`,
        });
      }
      const keyOps = ['sign' as const, 'verify' as const];
      const created = await remote('create the key', (abortSignal) =>
        spec.kty === 'EC'
          ? keys.createEcKey(uri.name, { curve: spec.curve, keyOps, abortSignal })
          : keys.createRsaKey(uri.name, { keySize: spec.size, keyOps, abortSignal }),
      );
      return keySigning(created.key, ref.display).publicKeyPem;
    },
  };
}

/**
 * The key version to use: the one named, or else the newest enabled one. The current
 * version is the newest; only when it is disabled (or outside its validity dates) are the
 * versions listed to find the newest usable one.
 */
async function resolveKey(
  uri: AzureKeyUri,
  keys: KeyClient,
  remote: <T>(action: string, call: (signal: AbortSignal) => Promise<T>) => Promise<T>,
  keyRef: string,
): Promise<KeyVaultKey> {
  if (uri.version) {
    const version = uri.version;
    return remote('read the key', (abortSignal) => keys.getKey(uri.name, { version, abortSignal }));
  }
  const current = await remote('read the key', (abortSignal) => keys.getKey(uri.name, { abortSignal }));
  if (usable(current.properties)) return current;
  const versions = await remote("list the key's versions", async (abortSignal) => {
    const all: KeyProperties[] = [];
    for await (const properties of keys.listPropertiesOfKeyVersions(uri.name, { abortSignal })) all.push(properties);
    return all;
  });
  const newest = versions
    .filter(usable)
    .sort((a, b) => (b.createdOn?.getTime() ?? 0) - (a.createdOn?.getTime() ?? 0))
    .at(0);
  if (!newest?.version) {
    throw remoteError(
      { kind: 'disabled', detail: 'no version of the key is enabled' },
      { service: SERVICE, keyRef, action: 'read the key', advice: ADVICE },
    );
  }
  const version = newest.version;
  return remote('read the key', (abortSignal) => keys.getKey(uri.name, { version, abortSignal }));
}

function usable(properties: KeyProperties): boolean {
  const now = Date.now();
  return (
    properties.enabled !== false &&
    (!properties.notBefore || properties.notBefore.getTime() <= now) &&
    (!properties.expiresOn || properties.expiresOn.getTime() > now)
  );
}

function isSet(value: string | undefined): boolean {
  return value !== undefined && /^(1|true|yes)$/i.test(value.trim());
}
