import { crc32c } from '@aws-crypto/crc32c';
import type { KeyManagementServiceClient } from '@google-cloud/kms';
import {
  algorithmInfo,
  type CreateKeyOptions,
  callRemote,
  digestSigner,
  displayKeyRef,
  type FailureKind,
  type KeyProvider,
  type KeyRef,
  type ProviderOptions,
  type RemoteCallOptions,
  remoteError,
  type Signer,
  SignetError,
} from '@signet/core';
import { CREATED_ALGORITHMS, type GcpAlgorithm, SIGNING_ALGORITHMS, unsupportedReason } from './algorithms';
import { createClient, ENDPOINT_OVERRIDE, endpointOf, type GcpKmsConnectionOptions } from './client';
import { ALREADY_EXISTS, CloudKmsFailure, classify, cloudKmsFailure, credentialFailure } from './errors';
import { type GcpKeyName, parseGcpKeyName, versionNumber } from './key-name';

const SERVICE = 'GCP Cloud KMS';

/** Cloud KMS signs at most this much data with an Ed25519 key, which signs the message itself. */
const MAX_ED25519_DATA = 64 * 1024;

export interface GcpKmsProviderOptions extends GcpKmsConnectionOptions {
  /** Attempts per call, including the first (default 5). */
  attempts?: number;
  /** Overall deadline per call, retries included (default 30 s). */
  deadlineMs?: number;
  /** First backoff step (default 200 ms). */
  baseDelayMs?: number;
}

const CONNECTION_FIELDS = [
  'client',
  'apiEndpoint',
  'port',
  'credentials',
  'keyFilename',
  'authClient',
  'sslCreds',
  'fallback',
  'protocol',
] as const satisfies readonly (keyof GcpKmsProviderOptions)[];

const OPTION_FIELDS = [...CONNECTION_FIELDS, 'attempts', 'deadlineMs', 'baseDelayMs'] as const;

const ADVICE: Partial<Record<FailureKind, string>> = {
  'not-found': 'check the project, location, key ring, key and version in the URI (a version is cryptoKeyVersions/N)',
  disabled:
    'enable the key version (gcloud kms keys versions enable N --key K --keyring R --location L) or name an enabled one; without a version Signet uses the newest enabled version',
  unauthenticated:
    'set GOOGLE_APPLICATION_CREDENTIALS to a service-account key file, run gcloud auth application-default login, or run where the metadata server provides credentials',
  throttled:
    "Cloud KMS kept answering RESOURCE_EXHAUSTED: the project's cryptographic request quota is used up; lower the concurrency or raise the quota",
  corrupt: 'answers kept failing their CRC32C check; check proxies and the network between you and Cloud KMS',
  invalid:
    "check that the key's purpose is ASYMMETRIC_SIGN and that its algorithm is one Signet signs with (EC_SIGN_P256_SHA256, EC_SIGN_P384_SHA384, EC_SIGN_ED25519, RSA_SIGN_PKCS1_*, RSA_SIGN_PSS_*)",
};

/** The IAM role (and permission) each action needs, for PERMISSION_DENIED. */
const ROLES: Record<string, string> = {
  sign: 'roles/cloudkms.signerVerifier (cloudkms.cryptoKeyVersions.useToSign)',
  'read the public key': 'roles/cloudkms.publicKeyViewer (cloudkms.cryptoKeyVersions.viewPublicKey)',
  'list the key versions': 'roles/cloudkms.viewer (cloudkms.cryptoKeyVersions.list), or name a version in the URI',
  'read the key ring': 'roles/cloudkms.viewer (cloudkms.keyRings.get)',
  'create the key ring': 'roles/cloudkms.admin (cloudkms.keyRings.create)',
  'create the key': 'roles/cloudkms.admin (cloudkms.cryptoKeys.create, and cloudkms.cryptoKeys.get)',
};

/**
 * A provider for `gcpkms://` keys. Credentials come from Google's application default
 * credentials unless the options name others; the endpoint is cloudkms.googleapis.com,
 * gcloud's CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDKMS, or `apiEndpoint` and `port`. The same
 * options may also be given per call, in the options of `open` and `create`.
 */
export function createGcpKmsProvider(options: GcpKmsProviderOptions = {}): KeyProvider {
  // One client (one channel) per endpoint override, for the keys opened with the provider's own options.
  const clients = new Map<string, KeyManagementServiceClient>();
  const session = (ref: KeyRef, callOptions: ProviderOptions) => {
    const key = parseGcpKeyName(ref);
    const own = ownOptions(callOptions);
    const settings = { ...options, ...own };
    const env = callOptions.env ?? process.env;
    const connectionGiven = CONNECTION_FIELDS.some((field) => own[field] !== undefined);
    let client = connectionGiven ? createClient(settings, env) : clients.get(env[ENDPOINT_OVERRIDE] ?? '');
    if (!client) {
      client = createClient(settings, env);
      clients.set(env[ENDPOINT_OVERRIDE] ?? '', client);
    }
    return new Session(ref, key, settings, client, Boolean(env[ENDPOINT_OVERRIDE]) && !settings.apiEndpoint && !settings.client);
  };
  return {
    scheme: 'gcpkms',
    open: async (ref, callOptions = {}) => session(ref, callOptions).open(),
    create: async (ref, callOptions = {}) => session(ref, callOptions).create(callOptions),
  };
}

/** The provider core loads for `gcpkms://`: application default credentials, endpoint from the environment. */
export const provider: KeyProvider = createGcpKmsProvider();

function ownOptions(options: ProviderOptions): GcpKmsProviderOptions {
  const own: Record<string, unknown> = {};
  for (const field of OPTION_FIELDS) if (options[field] !== undefined) own[field] = options[field];
  return own as GcpKmsProviderOptions;
}

interface PublicKeyAnswer {
  pem: string;
  algorithm: string;
}

/** One key reference and the client that serves it. */
class Session {
  constructor(
    private readonly ref: KeyRef,
    private readonly key: GcpKeyName,
    private readonly options: GcpKmsProviderOptions,
    private readonly client: KeyManagementServiceClient,
    /** Whether the endpoint came from gcloud's override, which "is it reachable" advice then names. */
    private readonly endpointFromEnv: boolean,
  ) {}

  async open(): Promise<Signer> {
    await this.authenticate();
    const version = this.key.version ?? (await this.newestEnabledVersion());
    const publicKey = await this.publicKey(version);
    const algorithm = SIGNING_ALGORITHMS[publicKey.algorithm];
    if (!algorithm) throw unsupported(this.ref, publicKey.algorithm);
    const hash = algorithmInfo(algorithm).hash;
    return digestSigner({
      keyId: displayKeyRef(`gcpkms://${version}`),
      algorithm,
      publicKey: publicKey.pem,
      signDigest: (digest) => this.sign(version, { digest: { [hash]: digest }, digestCrc32c: { value: crc32c(digest) } }, 'digest'),
      signMessage: async (message) => {
        if (message.length > MAX_ED25519_DATA) {
          throw new SignetError({
            code: 'E_INPUT',
            message: `${this.ref.display} is an Ed25519 key, which signs the whole artifact, and Cloud KMS signs at most 64 KiB that way; sign larger artifacts with an ECDSA or RSA key`,
          });
        }
        return this.sign(version, { data: message, dataCrc32c: { value: crc32c(message) } }, 'data');
      },
    });
  }

  async create(options: CreateKeyOptions): Promise<string> {
    if (this.key.version) {
      throw new SignetError({
        code: 'E_INPUT',
        message: `${this.ref.display} names a key version; to create a key, name the key (gcpkms://…/cryptoKeys/K): Cloud KMS numbers its versions`,
      });
    }
    const requested = options.algorithm ?? 'ecdsa-p256';
    const algorithm = CREATED_ALGORITHMS[requested];
    if (!algorithm) {
      throw new SignetError({
        code: 'E_INPUT',
        message: `GCP Cloud KMS does not offer "${requested}" signing keys; choose one of ${Object.keys(CREATED_ALGORITHMS).join(', ')}`,
      });
    }
    await this.authenticate();
    await this.ensureKeyRing();
    await this.createCryptoKey(algorithm);
    // A new key's first version; an HSM key's can still be generating, which the call retries.
    return (await this.publicKey(`${this.key.cryptoKey}/cryptoKeyVersions/1`)).pem;
  }

  /** Resolves the credentials once up front, so a credential problem is reported as one, not as a failed call. */
  private async authenticate(): Promise<void> {
    // gRPC channel credentials given by the caller replace the SDK's: they carry their own authentication.
    if (usesCallersChannelCredentials(this.client)) return;
    await this.call(async () => {
      const auth = this.client.auth as { getRequestHeaders(url?: string): Promise<unknown> };
      try {
        await auth.getRequestHeaders('https://cloudkms.googleapis.com/');
      } catch (error) {
        throw credentialFailure(error);
      }
    }, 'authenticate');
  }

  private async newestEnabledVersion(): Promise<string> {
    const versions = await this.call(async (timeout) => {
      const [list] = await this.client.listCryptoKeyVersions(
        { parent: this.key.cryptoKey, filter: 'state=ENABLED' },
        { retry: null, timeout },
      );
      return list;
    }, 'list the key versions');
    const newest = versions
      .map((version) => ({ name: version.name ?? '', algorithm: String(version.algorithm ?? '') }))
      .filter((version) => version.name)
      .sort((a, b) => versionNumber(b.name) - versionNumber(a.name))[0];
    if (!newest) {
      throw remoteError({ kind: 'disabled', detail: 'the key has no enabled version' }, this.remoteOptions('sign'));
    }
    // A key of another purpose (symmetric, decryption) is named as such before any further call.
    if (!SIGNING_ALGORITHMS[newest.algorithm]) throw unsupported(this.ref, newest.algorithm);
    return newest.name;
  }

  private async publicKey(version: string): Promise<PublicKeyAnswer> {
    return this.call(async (timeout) => {
      const [answer] = await this.client.getPublicKey({ name: version }, { retry: null, timeout });
      const pem = answer.pem ?? '';
      if (!sameCrc(answer.pemCrc32c?.value, crc32c(Buffer.from(pem)))) throw corrupted('the public key did not match its CRC32C checksum');
      if (answer.name && answer.name !== version) throw corrupted(`the answer names ${answer.name}, not the version asked for`);
      return { pem, algorithm: String(answer.algorithm ?? '') };
    }, 'read the public key');
  }

  private async sign(version: string, content: object, checked: 'digest' | 'data'): Promise<Buffer> {
    return this.call(async (timeout) => {
      const [answer] = await this.client.asymmetricSign({ name: version, ...content }, { retry: null, timeout });
      const signature = Buffer.from(answer.signature ?? []);
      const verified = checked === 'digest' ? answer.verifiedDigestCrc32c : answer.verifiedDataCrc32c;
      if (!verified) throw corrupted(`Cloud KMS did not confirm the CRC32C of the ${checked} it received`);
      if (!sameCrc(answer.signatureCrc32c?.value, crc32c(signature))) throw corrupted('the signature did not match its CRC32C checksum');
      if (answer.name && answer.name !== version) throw corrupted(`the answer names ${answer.name}, not the version asked for`);
      return signature;
    }, 'sign');
  }

  private async ensureKeyRing(): Promise<void> {
    try {
      await this.call((timeout) => this.client.getKeyRing({ name: this.key.keyRing }, { retry: null, timeout }), 'read the key ring');
      return;
    } catch (error) {
      if (!(error instanceof SignetError) || error.code !== 'E_KEY_NOT_FOUND') throw error;
    }
    await this.call(async (timeout) => {
      try {
        await this.client.createKeyRing(
          { parent: this.key.location, keyRingId: this.key.keyRingId, keyRing: {} },
          { retry: null, timeout },
        );
      } catch (error) {
        // Someone else (or an earlier attempt whose answer was lost) created it: that is what we wanted.
        if (cloudKmsFailure(error).code !== ALREADY_EXISTS) throw error;
      }
    }, 'create the key ring');
  }

  private async createCryptoKey(algorithm: GcpAlgorithm): Promise<void> {
    let attempt = 0;
    const created = await this.call(async (timeout) => {
      attempt += 1;
      try {
        await this.client.createCryptoKey(
          {
            parent: this.key.keyRing,
            cryptoKeyId: this.key.cryptoKeyId,
            cryptoKey: { purpose: 'ASYMMETRIC_SIGN', versionTemplate: { algorithm, protectionLevel: 'SOFTWARE' } },
          },
          { retry: null, timeout },
        );
        return true;
      } catch (error) {
        if (cloudKmsFailure(error).code !== ALREADY_EXISTS) throw error;
        // After a lost answer, the key that exists may be the one an earlier attempt made.
        return attempt > 1 && (await this.isOurs(algorithm, timeout));
      }
    }, 'create the key');
    if (!created) {
      throw new SignetError({
        code: 'E_EXISTS',
        message: `${this.ref.display} already exists; Signet never replaces a KMS key: add a version to rotate it (gcloud kms keys versions create), or choose another name`,
      });
    }
  }

  private async isOurs(algorithm: string, timeout: number): Promise<boolean> {
    const [key] = await this.client.getCryptoKey({ name: this.key.cryptoKey }, { retry: null, timeout });
    return String(key.purpose) === 'ASYMMETRIC_SIGN' && String(key.versionTemplate?.algorithm) === algorithm;
  }

  /**
   * One remote call with core's retries. The SDK's own retries are off (`retry: null`), so
   * the attempts, backoff and deadline are callRemote's alone; `timeout` is what is left of it.
   */
  private async call<T>(run: (timeout: number) => Promise<T>, action: string): Promise<T> {
    const deadline = Date.now() + (this.options.deadlineMs ?? 30_000);
    return callRemote(
      async (signal) => {
        const attempt = run(Math.max(1, deadline - Date.now())).catch((error: unknown) => {
          throw cloudKmsFailure(error);
        });
        return abortable(attempt, signal);
      },
      { ...this.remoteOptions(action), classify },
    );
  }

  private remoteOptions(action: string): Omit<RemoteCallOptions, 'classify'> {
    return {
      service: SERVICE,
      keyRef: this.ref.display,
      action,
      advice: {
        ...ADVICE,
        permission: `grant these credentials ${ROLES[action] ?? 'the Cloud KMS role this needs'} on the key`,
        unavailable: `check the network and that Cloud KMS is reachable at ${endpointOf(this.client)}${this.endpointFromEnv ? ` (${ENDPOINT_OVERRIDE})` : ''}`,
      },
      attempts: this.options.attempts,
      deadlineMs: this.options.deadlineMs,
      baseDelayMs: this.options.baseDelayMs,
    };
  }
}

function usesCallersChannelCredentials(client: KeyManagementServiceClient): boolean {
  const opts = (client as unknown as { _opts?: { sslCreds?: unknown; fallback?: unknown } })._opts;
  return Boolean(opts?.sslCreds) && !opts?.fallback;
}

function sameCrc(received: unknown, computed: number): boolean {
  return received !== undefined && received !== null && String(received) === String(computed);
}

function corrupted(detail: string): CloudKmsFailure {
  return new CloudKmsFailure({ kind: 'corrupt', detail });
}

function unsupported(ref: KeyRef, algorithm: string): SignetError {
  return new SignetError({
    code: 'E_KEY',
    message: `${ref.display} is a ${algorithm || 'non-signing'} key, which Signet cannot sign with: ${unsupportedReason(algorithm)}. Use EC_SIGN_P256_SHA256 (the default of signet key generate), EC_SIGN_P384_SHA384, EC_SIGN_ED25519, RSA_SIGN_PKCS1_* or RSA_SIGN_PSS_*`,
  });
}

/** Rejects when callRemote's deadline passes, even if the SDK has not given up yet. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
