import crypto, { type KeyObject } from 'node:crypto';
import {
  algorithmForKey,
  algorithmInfo,
  type CreateKeyOptions,
  callRemote,
  digestSigner,
  type Failure,
  type FailureKind,
  isSignetError,
  type KeyProvider,
  type KeyRef,
  type ProviderOptions,
  publicKeyPem,
  remoteError,
  type SignatureAlgorithm,
  type Signer,
  SignetError,
  verifyDigest,
} from '@signet/core';
import { parseTransitKeyRef, type TransitKeyRef, versionedRef } from './key-ref';
import { mergeOptions, resolveSettings, type VaultProviderOptions, type VaultSettings } from './settings';
import { classify, TransitClient, type TransitKey, VaultCallError } from './transit';

const SERVICE = 'Vault Transit';

/** Transit's signing key types, which are also Signet's names for them; `key generate` creates these. */
export const TRANSIT_KEY_TYPES = ['ecdsa-p256', 'ecdsa-p384', 'ecdsa-p521', 'ed25519', 'rsa-2048', 'rsa-3072', 'rsa-4096'] as const;

const ECDSA: Record<string, SignatureAlgorithm> = {
  'ecdsa-p256': 'ecdsa-p256-sha256',
  'ecdsa-p384': 'ecdsa-p384-sha384',
  'ecdsa-p521': 'ecdsa-p521-sha512',
};
const RSA_BITS: Record<string, number> = { 'rsa-2048': 2048, 'rsa-3072': 3072, 'rsa-4096': 4096 };
const VAULT_HASH = { sha256: 'sha2-256', sha384: 'sha2-384', sha512: 'sha2-512' } as const;

/** A Transit signer; `keyId` names the exact version it signs with (`hashivault://KEY/versions/N`). */
export interface VaultSigner extends Signer {
  /** The key version every signature of this signer is made with (Vault's `vault:vN:`). */
  readonly keyVersion: number;
}

/**
 * A provider for `hashivault://` keys with explicit settings (address, token, namespace,
 * mount, a ready node-vault client, retry tuning). Anything not given comes from cosign's
 * environment variables, as with the default `provider`.
 */
export function createVaultProvider(options: VaultProviderOptions = {}): KeyProvider {
  return {
    scheme: 'hashivault',
    open: (ref, callOptions = {}) => openKey(ref, options, callOptions),
    create: (ref, callOptions = {}) => createTransitKey(ref, options, callOptions),
  };
}

/** `hashivault://` with VAULT_ADDR, VAULT_TOKEN (or ~/.vault-token), VAULT_NAMESPACE and TRANSIT_SECRET_ENGINE_PATH. */
export const provider: KeyProvider = createVaultProvider();

/** One key reference with the settings and client that serve it. */
interface Session {
  ref: TransitKeyRef;
  settings: VaultSettings;
  transit: TransitClient;
}

function session(keyRef: KeyRef, defaults: VaultProviderOptions, options: ProviderOptions): Session {
  const ref = parseTransitKeyRef(keyRef);
  const settings = resolveSettings(mergeOptions(defaults, options), options.env ?? process.env, ref.display);
  return { ref, settings, transit: new TransitClient(settings.client, settings.mountPath, settings.secrets) };
}

/** One Transit call with callRemote's retries; each attempt gets what is left of the deadline as its timeout. */
function remote<T>(s: Session, action: string, call: (timeoutMs: number) => Promise<T>): Promise<T> {
  const deadline = Date.now() + s.settings.deadlineMs;
  return callRemote(() => call(Math.max(1, deadline - Date.now())), {
    service: SERVICE,
    keyRef: s.ref.display,
    action,
    classify,
    advice: advice(s, action),
    attempts: s.settings.attempts,
    deadlineMs: s.settings.deadlineMs,
    baseDelayMs: s.settings.baseDelayMs,
  });
}

function advice(s: Session, action: string): Partial<Record<FailureKind, string>> {
  const { mountPath, address } = s.settings;
  const name = s.ref.shownName;
  const creating = action.startsWith('create');
  const policy = creating
    ? `its policy grants "create" or "update" on ${mountPath}/keys/${name} (and "read" on it)`
    : `its policy grants "read" on ${mountPath}/keys/${name} and "update" on ${mountPath}/sign/${name} and ${mountPath}/sign/${name}/*`;
  return {
    permission: `check that the Vault token (VAULT_TOKEN or ~/.vault-token) is valid and unexpired, and that ${policy}`,
    unauthenticated: `check that the Vault token (VAULT_TOKEN or ~/.vault-token) is valid and unexpired, and that ${policy}`,
    'not-found': creating
      ? `check the Transit mount (TRANSIT_SECRET_ENGINE_PATH, now "${mountPath}") and the namespace (VAULT_NAMESPACE): Vault has no Transit engine there`
      : `check the key name and version, the Transit mount (TRANSIT_SECRET_ENGINE_PATH, now "${mountPath}") and the namespace (VAULT_NAMESPACE), or create the key: signet key generate --key hashivault://${name}`,
    disabled: `the version is below the key's min_encryption_version, so Vault no longer signs with it; sign with hashivault://${name} (its latest version) or lower min_encryption_version`,
    unavailable: `check VAULT_ADDR (now ${address}), the network, and that Vault is up and unsealed`,
    throttled: `Vault's rate limit quota kept refusing; try again later or raise the quota`,
    corrupt: `Vault's answers kept arriving damaged; check what stands between you and ${address}`,
    invalid: `check that ${name} is an asymmetric signing key (${TRANSIT_KEY_TYPES.join(', ')})`,
  };
}

function fail(s: Session, action: string, failure: Failure): SignetError {
  return remoteError(failure, { service: SERVICE, keyRef: s.ref.display, action, advice: advice(s, action) });
}

async function openKey(keyRef: KeyRef, defaults: VaultProviderOptions, options: ProviderOptions): Promise<VaultSigner> {
  const s = session(keyRef, defaults, options);
  const key = await remote(s, 'read the key', (timeout) => s.transit.readKey(s.ref.name, timeout));
  const algorithm = signingAlgorithm(s, key);
  const info = algorithmInfo(algorithm);
  const version = s.ref.version ?? key.latestVersion;
  const encoded = key.publicKeys.get(version);
  if (encoded === undefined) {
    throw fail(s, 'read the key', { kind: 'not-found', detail: `it has no version ${version}; the latest is ${key.latestVersion}` });
  }
  const publicKey = decodePublicKey(s, key.type, encoded);
  const signatureAlgorithm = info.family.startsWith('rsa') ? s.settings.rsaSignatureAlgorithm : undefined;

  // One remote call per signature. Vault answers `vault:vN:`; a signature from another version
  // than the one whose public key the bundle carries, or one that does not verify, is damaged
  // and is asked for again rather than written into a bundle.
  const signOnce = (input: Buffer, prehashed: boolean) =>
    remote(s, 'sign', async (timeout) => {
      const hash = prehashed ? VAULT_HASH[info.hash] : undefined;
      const result = await s.transit.sign(s.ref.name, { hash, input, prehashed, keyVersion: version, signatureAlgorithm }, timeout);
      if (result.version !== version) {
        throw new VaultCallError(`Vault signed with version ${result.version}, not ${version}`, { malformed: true });
      }
      if (!verifies(publicKey, info.family, info.hash, input, prehashed, result.signature)) {
        throw new VaultCallError(`the signature Vault returned does not verify with version ${version}'s public key`, { malformed: true });
      }
      return result.signature;
    });

  const signer = digestSigner({
    keyId: versionedRef(s.ref.name, version),
    algorithm,
    publicKey: publicKeyPem(publicKey),
    signDigest: (digest) => signOnce(digest, true),
    // Transit signs Ed25519 over the message itself (it has no prehashed Ed25519 signing).
    signMessage: info.family === 'ed25519' ? (message) => signOnce(message, false) : undefined,
  });
  return Object.assign(signer, { keyVersion: version });
}

async function createTransitKey(keyRef: KeyRef, defaults: VaultProviderOptions, options: CreateKeyOptions): Promise<string> {
  const requested = options.algorithm ?? 'ecdsa-p256';
  if (!(TRANSIT_KEY_TYPES as readonly string[]).includes(requested)) {
    throw new SignetError({
      code: 'E_INPUT',
      message: `Vault Transit cannot create "${requested}" keys; choose one of ${TRANSIT_KEY_TYPES.join(', ')} (an RSA key signs PKCS#1 v1.5; PSS is a per-signature choice, rsaSignatureAlgorithm in the library API)`,
    });
  }
  const ref = parseTransitKeyRef(keyRef);
  if (ref.version !== undefined) {
    throw new SignetError({
      code: 'E_INPUT',
      message: `${ref.display} names a version; a new key starts at version 1: use hashivault://${ref.shownName}`,
    });
  }
  const s = session(keyRef, defaults, options);
  const exists = await remote(s, 'look up the key', (timeout) => s.transit.readKey(ref.name, timeout)).then(
    () => true,
    (error: unknown) => {
      if (isSignetError(error, 'E_KEY_NOT_FOUND')) return false;
      throw error;
    },
  );
  const refuse = () =>
    new SignetError({
      code: 'E_EXISTS',
      message: `${ref.display} already exists in Vault; Signet never replaces a Vault key: rotate it (vault write -f ${s.settings.mountPath}/keys/${ref.shownName}/rotate) or choose another name`,
    });
  if (exists) throw refuse();

  // Transit's create is an upsert that only warns when the key exists. On the first attempt
  // that warning means someone else created it meanwhile; after a retry, it is our own
  // earlier attempt whose answer was lost.
  let attempt = 0;
  const warnings = await remote(s, 'create the key', (timeout) => {
    attempt += 1;
    return s.transit.createKey(ref.name, requested, timeout);
  });
  if (attempt === 1 && warnings.some((warning) => /already existed/.test(warning))) throw refuse();

  const key = await remote(s, 'read the new key', (timeout) => s.transit.readKey(ref.name, timeout));
  const encoded = key.publicKeys.get(key.latestVersion);
  if (encoded === undefined) throw fail(s, 'read the new key', { kind: 'corrupt', detail: 'it has no public key' });
  return publicKeyPem(decodePublicKey(s, key.type, encoded));
}

/** The algorithm a Transit key signs with, from its type (and, for RSA, the configured padding). */
function signingAlgorithm(s: Session, key: TransitKey): SignatureAlgorithm {
  if (key.type === 'ed25519') return 'ed25519';
  const ecdsa = ECDSA[key.type];
  if (ecdsa) return ecdsa;
  if (RSA_BITS[key.type]) return s.settings.rsaSignatureAlgorithm === 'pss' ? 'rsa-pss-sha256' : 'rsa-pkcs1v15-sha256';
  throw fail(s, 'read the key', { kind: 'invalid', detail: `it is a ${key.type} key, which does not sign` });
}

/** Transit's public key (a PEM; for ed25519, base64 of the raw key), checked against the key's type. */
function decodePublicKey(s: Session, type: string, encoded: string): KeyObject {
  let key: KeyObject;
  try {
    key =
      type === 'ed25519'
        ? crypto.createPublicKey({
            key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(encoded, 'base64').toString('base64url') },
            format: 'jwk',
          })
        : crypto.createPublicKey(encoded);
  } catch {
    throw fail(s, 'read the key', { kind: 'corrupt', detail: 'its public key is unreadable' });
  }
  const expected = type === 'ed25519' ? 'ed25519' : ECDSA[type];
  const matches = expected
    ? algorithmForKey(key) === expected
    : key.asymmetricKeyType === 'rsa' && key.asymmetricKeyDetails?.modulusLength === RSA_BITS[type];
  if (!matches) throw fail(s, 'read the key', { kind: 'corrupt', detail: `its public key is not a ${type} key` });
  return key;
}

function verifies(
  publicKey: KeyObject,
  family: ReturnType<typeof algorithmInfo>['family'],
  hash: ReturnType<typeof algorithmInfo>['hash'],
  input: Buffer,
  prehashed: boolean,
  signature: Buffer,
): boolean {
  if (!prehashed) {
    try {
      return crypto.verify(null, input, publicKey, signature);
    } catch {
      return false;
    }
  }
  return verifyDigest(publicKey, family, hash, input, signature);
}
