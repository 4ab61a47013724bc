import crypto from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  GetPublicKeyCommand,
  type GetPublicKeyCommandOutput,
  type KeySpec,
  type KMSClient,
  ScheduleKeyDeletionCommand,
  SignCommand,
  type SigningAlgorithmSpec,
} from '@aws-sdk/client-kms';
import {
  type CreateKeyOptions,
  callRemote,
  digestSigner,
  isSignetError,
  type KeyProvider,
  type KeyRef,
  type ProviderOptions,
  publicKeyPem,
  SignetError,
} from '@signet/core';
import { keySpecFor, signingFor } from './algorithms';
import { type AwsKmsSettings, kmsClientFor, requireRegion } from './client';
import { adviceFor, classifyAwsError, classifyCredentialError } from './failures';
import { type AwsKeyUri, parseAwsKeyUri } from './key-uri';

export type AwsKmsProviderOptions = AwsKmsSettings;

const SERVICE = 'AWS KMS';

/**
 * A just-created alias can answer NotFoundException for a moment (KMS is eventually
 * consistent, cosign#1474), so a key named by alias is looked up again, with backoff,
 * for about this long before it is reported missing.
 */
const ALIAS_VISIBILITY_MS = 2_500;

/**
 * An `awskms://` provider. `options` (a client, or region, endpoint and credentials, and
 * retry bounds) apply to every key it opens; per-call provider options of the same names
 * override them.
 */
export function createAwsKmsProvider(options: AwsKmsProviderOptions = {}): KeyProvider {
  return {
    scheme: 'awskms',

    async open(ref, callOptions = {}) {
      const settings = settingsFrom(options, callOptions);
      const uri = parseAwsKeyUri(ref);
      const client = kmsClientFor(uri, settings);
      await requireRegion(client, ref.display);
      await requireCredentials(client, ref, settings, 'read the public key');
      const key = await publicKeyOf(client, uri, ref, settings);
      const { algorithm, signingAlgorithm } = signingFor(ref.display, {
        keySpec: key.KeySpec,
        keyUsage: key.KeyUsage,
        signingAlgorithms: key.SigningAlgorithms,
      });
      // Sign by the key ARN the lookup found, so an alias repointed meanwhile cannot
      // make a signature that the public key in the bundle does not verify.
      const keyArn = key.KeyId ?? uri.keyId;
      return digestSigner({
        keyId: ref.display,
        algorithm,
        publicKey: pemOf(key, ref),
        signDigest: async (digest) => {
          const signed = await remote(ref, 'sign', settings, (signal) =>
            client.send(
              new SignCommand({
                KeyId: keyArn,
                Message: digest,
                MessageType: 'DIGEST',
                SigningAlgorithm: signingAlgorithm as SigningAlgorithmSpec,
              }),
              { abortSignal: signal },
            ),
          );
          if (!signed.Signature || signed.Signature.length === 0) throw emptyAnswer(ref, 'a signature');
          return Buffer.from(signed.Signature);
        },
      });
    },

    async create(ref, callOptions = {}) {
      const settings = settingsFrom(options, callOptions);
      const uri = parseAwsKeyUri(ref);
      const keySpec = keySpecFor(callOptions.algorithm ?? 'ecdsa-p256');
      const aliasName = uri.aliasName;
      if (!aliasName) {
        throw new SignetError({
          code: 'E_INPUT',
          message: `AWS KMS chooses key IDs itself; name the new key by an alias instead of ${ref.display}: awskms:///alias/NAME`,
        });
      }
      const client = kmsClientFor(uri, settings);
      await requireRegion(client, ref.display);
      await requireCredentials(client, ref, settings, 'create the key', 'create');
      await refuseExistingAlias(client, uri, ref, settings, callOptions);

      const created = await remote(
        ref,
        'create the key',
        settings,
        (signal) =>
          client.send(
            new CreateKeyCommand({
              KeyUsage: 'SIGN_VERIFY',
              KeySpec: keySpec as KeySpec,
              Description: `Signet signing key (${aliasName})`,
            }),
            { abortSignal: signal },
          ),
        'create',
      );
      const keyId = created.KeyMetadata?.KeyId;
      if (!keyId) throw emptyAnswer(ref, 'the new key ID');
      await nameKey(client, uri, aliasName, keyId, ref, settings);
      // Read back by key ID, which is visible at once (the alias may not be yet).
      const key = await remote(
        ref,
        'read the public key',
        settings,
        (signal) => client.send(new GetPublicKeyCommand({ KeyId: keyId }), { abortSignal: signal }),
        'create',
      );
      return pemOf(key, ref);
    },
  };
}

/** The default provider: the SDK's default credential chain, region and endpoint. */
export const provider: KeyProvider = createAwsKmsProvider();

function settingsFrom(defaults: AwsKmsSettings, callOptions: ProviderOptions): AwsKmsSettings {
  const pick = <K extends keyof AwsKmsSettings>(name: K) => (callOptions[name] ?? defaults[name]) as AwsKmsSettings[K];
  return {
    client: pick('client'),
    region: pick('region'),
    endpoint: pick('endpoint'),
    credentials: pick('credentials'),
    attempts: pick('attempts'),
    deadlineMs: pick('deadlineMs'),
    baseDelayMs: pick('baseDelayMs'),
  };
}

/**
 * Resolves the SDK's credentials before the first request, so that a failure to find them
 * is reported as one (E_PERMISSION) rather than as whatever the chain's last step threw
 * (a file error, a probe's network error) on the way to a KMS call.
 */
async function requireCredentials(
  client: KMSClient,
  ref: KeyRef,
  settings: AwsKmsSettings,
  action: string,
  purpose: 'use' | 'create' = 'use',
): Promise<void> {
  await remote(ref, action, settings, () => client.config.credentials(), purpose, classifyCredentialError);
}

function remote<T>(
  ref: KeyRef,
  action: string,
  settings: AwsKmsSettings,
  call: (signal: AbortSignal) => Promise<T>,
  purpose: 'use' | 'create' = 'use',
  classify = classifyAwsError,
): Promise<T> {
  return callRemote(call, {
    service: SERVICE,
    keyRef: ref.display,
    action,
    classify,
    advice: adviceFor(purpose),
    attempts: settings.attempts,
    deadlineMs: settings.deadlineMs,
    baseDelayMs: settings.baseDelayMs,
  });
}

/** GetPublicKey, looking an alias up again for a moment while it may not be visible yet. */
async function publicKeyOf(client: KMSClient, uri: AwsKeyUri, ref: KeyRef, settings: AwsKmsSettings): Promise<GetPublicKeyCommandOutput> {
  const started = Date.now();
  for (let lookup = 1; ; lookup++) {
    try {
      return await remote(ref, 'read the public key', settings, (signal) =>
        client.send(new GetPublicKeyCommand({ KeyId: uri.keyId }), { abortSignal: signal }),
      );
    } catch (error) {
      const delay = (settings.baseDelayMs ?? 200) * 2 ** (lookup - 1);
      const stillWaiting = Date.now() - started + delay <= ALIAS_VISIBILITY_MS;
      if (!uri.aliasName || !isSignetError(error, 'E_KEY_NOT_FOUND') || !stillWaiting) throw error;
      await sleep(delay);
    }
  }
}

/** Never repoints an alias: generating over an existing one is refused before any key is made. */
async function refuseExistingAlias(
  client: KMSClient,
  uri: AwsKeyUri,
  ref: KeyRef,
  settings: AwsKmsSettings,
  options: CreateKeyOptions,
): Promise<void> {
  let existing: string | undefined;
  try {
    const described = await remote(
      ref,
      'look up the alias',
      settings,
      (signal) => client.send(new DescribeKeyCommand({ KeyId: uri.keyId }), { abortSignal: signal }),
      'create',
    );
    existing = described.KeyMetadata?.Arn ?? 'a key';
  } catch (error) {
    if (!isSignetError(error, 'E_KEY_NOT_FOUND')) throw error;
  }
  if (existing) throw aliasTaken(ref, uri.aliasName ?? uri.keyId, existing, options.force === true);
}

/** CreateAlias for the new key; if that fails, the unnamed key is scheduled for deletion. */
async function nameKey(
  client: KMSClient,
  uri: AwsKeyUri,
  aliasName: string,
  keyId: string,
  ref: KeyRef,
  settings: AwsKmsSettings,
): Promise<void> {
  try {
    await remote(
      ref,
      'create the alias',
      settings,
      (signal) => client.send(new CreateAliasCommand({ AliasName: aliasName, TargetKeyId: keyId }), { abortSignal: signal }),
      'create',
    );
    return;
  } catch (error) {
    const alreadyExists = (error as { cause?: { name?: string } }).cause?.name === 'AlreadyExistsException';
    let failure = error as SignetError;
    if (alreadyExists) {
      // A retried CreateAlias whose first attempt succeeded finds its own alias.
      const target = await client.send(new DescribeKeyCommand({ KeyId: uri.keyId })).catch(() => undefined);
      if (target?.KeyMetadata?.KeyId === keyId) return;
      failure = aliasTaken(ref, aliasName, target?.KeyMetadata?.Arn ?? 'another key', false);
    }
    const cleaned = await client
      .send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }))
      .then(() => true)
      .catch(() => false);
    const note = cleaned
      ? `; the unnamed key ${keyId} created for it is scheduled for deletion in 7 days`
      : `; delete the unnamed key created for it: aws kms schedule-key-deletion --key-id ${keyId}`;
    throw new SignetError({ code: failure.code ?? 'E_PROVIDER', message: `${failure.message}${note}`, cause: failure });
  }
}

function aliasTaken(ref: KeyRef, aliasName: string, target: string, force: boolean): SignetError {
  return new SignetError({
    code: 'E_EXISTS',
    message: `${aliasName} already names ${target}; Signet never repoints or replaces an AWS KMS key${force ? ' (--force applies to key files only)' : ''}: choose another alias than ${ref.display}`,
  });
}

/** The SPKI PEM from GetPublicKey, checked to be the kind of key the KeySpec says. */
function pemOf(key: GetPublicKeyCommandOutput, ref: KeyRef): string {
  if (!key.PublicKey || key.PublicKey.length === 0) throw emptyAnswer(ref, 'a public key');
  let publicKey: crypto.KeyObject;
  try {
    publicKey = crypto.createPublicKey({ key: Buffer.from(key.PublicKey), format: 'der', type: 'spki' });
  } catch (cause) {
    throw new SignetError({
      code: 'E_PROVIDER',
      message: `${SERVICE} returned a public key for ${ref.display} that cannot be read`,
      cause,
    });
  }
  const expected = EXPECTED_KEYS[key.KeySpec ?? ''];
  const details = publicKey.asymmetricKeyDetails;
  const matches =
    !expected ||
    (publicKey.asymmetricKeyType === expected.type &&
      (expected.curve === undefined || details?.namedCurve === expected.curve) &&
      (expected.bits === undefined || details?.modulusLength === expected.bits));
  if (!matches) {
    throw new SignetError({
      code: 'E_PROVIDER',
      message: `${SERVICE} returned a public key for ${ref.display} that is not a ${key.KeySpec} key`,
    });
  }
  return publicKeyPem(publicKey);
}

const EXPECTED_KEYS: Readonly<Record<string, { type: string; curve?: string; bits?: number }>> = {
  ECC_NIST_P256: { type: 'ec', curve: 'prime256v1' },
  ECC_NIST_P384: { type: 'ec', curve: 'secp384r1' },
  ECC_NIST_P521: { type: 'ec', curve: 'secp521r1' },
  RSA_2048: { type: 'rsa', bits: 2048 },
  RSA_3072: { type: 'rsa', bits: 3072 },
  RSA_4096: { type: 'rsa', bits: 4096 },
};

function emptyAnswer(ref: KeyRef, what: string): SignetError {
  return new SignetError({ code: 'E_PROVIDER', message: `${SERVICE} answered without ${what} for ${ref.display}; try again` });
}
