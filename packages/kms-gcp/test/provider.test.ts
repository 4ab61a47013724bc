// The provider through the library API and the real SDK, over gRPC and REST: key versions,
// every failure Cloud KMS answers with, retries, corruption, and creating keys.
import crypto from 'node:crypto';
import net from 'node:net';
import { type CreateKeyOptions, type KeyProvider, parseKeyRef, type Signer } from '@signet/core';
import { ANSWER_LOST, grpcStatusFault, PENDING_GENERATION } from '@signet/emulators/gcp-kms';
import { CREATED_ALGORITHMS, createGcpKmsProvider } from '../src';
import { clientOptions, keyName, QUICK, type Transport, uri, useEmulator } from './support';

const emulator = useEmulator();

afterEach(() => {
  emulator.faults.clear();
  emulator.allowAll();
});

const DATA = Buffer.from('the release, version 1.0.0\n');

function versionName(id: string, version: number): string {
  return `${keyName(id)}/cryptoKeyVersions/${version}`;
}

/** Whether `signature` is the P-256 key version's signature over DATA. */
function signedBy(signature: Buffer, id: string, version: number): boolean {
  return crypto.verify('sha256', DATA, emulator.publicKeyPem(versionName(id, version)), signature);
}

describe.each<Transport>(['grpc', 'rest'])('over %s', (transport) => {
  let provider: KeyProvider;
  const ids = new Map<string, string>();
  /** A fresh key per test and transport, so tests do not see each other's versions. */
  async function seed(label: string, algorithm = 'EC_SIGN_P256_SHA256', versions = 1): Promise<string> {
    const id = `${label}-${transport}`;
    ids.set(label, id);
    await emulator.seedKey(keyName(id), algorithm, { versions });
    return id;
  }
  function open(ref: string): Promise<Signer> {
    return provider.open(parseKeyRef(ref));
  }

  beforeAll(() => {
    provider = createGcpKmsProvider({ ...clientOptions(emulator, transport), ...QUICK });
  });

  describe('key versions', () => {
    test('without a version the newest enabled one signs; a pinned one signs itself, also written /versions/N', async () => {
      const id = await seed('versions', 'EC_SIGN_P256_SHA256', 3);
      emulator.setVersionState(versionName(id, 3), 'DISABLED');
      const newest = await open(uri(id));
      expect(newest.keyId).toBe(uri(id, 2));
      expect(await newest.publicKey()).toBe(emulator.publicKeyPem(versionName(id, 2)));
      expect(signedBy(await newest.sign(DATA), id, 2)).toBe(true);

      // REST carries the filter in the query string, which the log leaves out.
      if (transport === 'grpc') expect(emulator.calls('ListCryptoKeyVersions').at(-1)?.body).toMatchObject({ filter: 'state=ENABLED' });

      const pinned = await open(uri(id, 1));
      expect(pinned.keyId).toBe(uri(id, 1));
      expect(signedBy(await pinned.sign(DATA), id, 1)).toBe(true);
      expect((await open(`gcpkms://${keyName(id)}/versions/3`).catch((e: unknown) => e)) as object).toMatchObject({
        code: 'E_KEY_DISABLED',
      });
      expect((await open(`gcpkms://${keyName(id)}/versions/1`)).keyId).toBe(uri(id, 1));
    });

    test('an opened signer keeps its version while the key rotates; the next open takes the new one', async () => {
      const id = await seed('rotation');
      const before = await open(uri(id));
      const rotated = await emulator.addVersion(keyName(id));
      expect(rotated).toBe(versionName(id, 2));
      expect(signedBy(await before.sign(DATA), id, 1)).toBe(true);
      const after = await open(uri(id));
      expect(after.keyId).toBe(uri(id, 2));
      expect(signedBy(await after.sign(DATA), id, 2)).toBe(true);
      expect(signedBy(await after.sign(DATA), id, 1)).toBe(false);
    });

    test.each<['DISABLED' | 'DESTROYED' | 'DESTROY_SCHEDULED']>([['DISABLED'], ['DESTROYED'], ['DESTROY_SCHEDULED']])(
      'a %s version is E_KEY_DISABLED, pinned or as the only one',
      async (state) => {
        const id = await seed(`state-${state.toLowerCase().replace(/_/g, '-')}`);
        emulator.setVersionState(versionName(id, 1), state);
        await expect(open(uri(id, 1))).rejects.toMatchObject({
          code: 'E_KEY_DISABLED',
          message: expect.stringContaining(`current state is: ${state}`),
        });
        await expect(open(uri(id))).rejects.toMatchObject({
          code: 'E_KEY_DISABLED',
          message: expect.stringContaining('the key has no enabled version'),
        });
      },
    );

    test('a version disabled after opening fails the signature with E_KEY_DISABLED, without retries', async () => {
      const id = await seed('disabled-later');
      const signer = await open(uri(id));
      emulator.setVersionState(versionName(id, 1), 'DISABLED');
      const before = emulator.calls('AsymmetricSign').length;
      await expect(signer.sign(DATA)).rejects.toMatchObject({ code: 'E_KEY_DISABLED' });
      expect(emulator.calls('AsymmetricSign').length - before).toBe(1);
    });

    test('a missing key, key ring or version is E_KEY_NOT_FOUND', async () => {
      const id = await seed('present');
      await expect(open(uri('absent'))).rejects.toMatchObject({ code: 'E_KEY_NOT_FOUND', message: expect.stringContaining('NOT_FOUND') });
      await expect(open(uri(id, 9))).rejects.toMatchObject({ code: 'E_KEY_NOT_FOUND' });
      await expect(open('gcpkms://projects/signet-test/locations/global/keyRings/absent/cryptoKeys/k')).rejects.toMatchObject({
        code: 'E_KEY_NOT_FOUND',
      });
    });

    test('keys that cannot sign are refused with E_KEY, naming their algorithm', async () => {
      const symmetric = await seed('symmetric', 'GOOGLE_SYMMETRIC_ENCRYPTION');
      const k1 = await seed('secp256k1', 'EC_SIGN_SECP256K1_SHA256');
      await expect(open(uri(symmetric))).rejects.toMatchObject({
        code: 'E_KEY',
        message: expect.stringContaining('GOOGLE_SYMMETRIC_ENCRYPTION'),
      });
      await expect(open(uri(symmetric, 1))).rejects.toMatchObject({ code: 'E_KEY' });
      await expect(open(uri(k1))).rejects.toMatchObject({ code: 'E_KEY', message: expect.stringContaining('secp256k1') });
    });

    test('Ed25519 signs the message itself, which Cloud KMS limits to 64 KiB: larger is refused before any call', async () => {
      const id = await seed('ed25519', 'EC_SIGN_ED25519');
      const signer = await open(uri(id));
      const before = emulator.calls('AsymmetricSign').length;
      await expect(signer.sign(Buffer.alloc(64 * 1024 + 1, 1))).rejects.toMatchObject({
        code: 'E_INPUT',
        message: expect.stringContaining('64 KiB'),
      });
      expect(emulator.calls('AsymmetricSign')).toHaveLength(before);
      const exactly = Buffer.alloc(64 * 1024, 1);
      expect(crypto.verify(null, exactly, emulator.publicKeyPem(versionName(id, 1)), await signer.sign(exactly))).toBe(true);
    });
  });

  describe('failures', () => {
    let id: string;
    let signer: Signer;
    beforeAll(async () => {
      id = await seed('faults');
      signer = await open(uri(id));
    });

    /** Sign calls made by `run`, with the faults they met. */
    async function signCalls(run: () => Promise<unknown>) {
      const before = emulator.calls('AsymmetricSign').length;
      let value: unknown;
      let error: unknown;
      await run().then(
        (v) => {
          value = v;
        },
        (e: unknown) => {
          error = e;
        },
      );
      return { value, error, calls: emulator.calls('AsymmetricSign').slice(before) };
    }

    test('permission denied is E_PERMISSION naming the role to grant, and is not retried', async () => {
      emulator.deny({ permission: 'cloudkms.cryptoKeyVersions.useToSign', resource: keyName(id) });
      const { error, calls } = await signCalls(() => signer.sign(DATA));
      expect(error).toMatchObject({ code: 'E_PERMISSION', message: expect.stringContaining('roles/cloudkms.signerVerifier') });
      expect(calls.map((c) => c.status)).toEqual([403]);

      emulator.allowAll();
      emulator.deny({ permission: 'cloudkms.cryptoKeyVersions.viewPublicKey' });
      await expect(open(uri(id))).rejects.toMatchObject({
        code: 'E_PERMISSION',
        message: expect.stringContaining('cloudkms.cryptoKeyVersions.viewPublicKey'),
      });
    });

    test.each([
      ['throttling (RESOURCE_EXHAUSTED with RetryInfo)', { kind: 'throttle', retryAfterSeconds: 0 }, 429],
      ['UNAVAILABLE', grpcStatusFault(14), 503],
      ['an HTTP 503', { kind: 'status', status: 503 }, 503],
      ['a dropped connection', { kind: 'drop' }, 0],
    ] as const)('%s is retried until it passes', async (_label, fault, status) => {
      emulator.faults.add({ fault, operation: 'AsymmetricSign', times: 2 });
      const { value, calls } = await signCalls(() => signer.sign(DATA));
      expect(signedBy(value as Buffer, id, 1)).toBe(true);
      expect(calls.map((c) => c.status)).toEqual([status, status, 200]);
    });

    test('persistent throttling fails with E_PROVIDER after the bounded attempts', async () => {
      emulator.faults.add({ fault: { kind: 'throttle', retryAfterSeconds: 0 }, operation: 'AsymmetricSign', times: Infinity });
      const { error, calls } = await signCalls(() => signer.sign(DATA));
      expect(error).toMatchObject({ code: 'E_PROVIDER', message: expect.stringContaining('RESOURCE_EXHAUSTED') });
      expect(calls).toHaveLength(QUICK.attempts);
    });

    test('a corrupted signature (wrong CRC32C) is retried and never returned', async () => {
      emulator.faults.add({ fault: { kind: 'corrupt' }, operation: 'AsymmetricSign' });
      const { value, calls } = await signCalls(() => signer.sign(DATA));
      expect(calls.map((c) => c.fault)).toEqual(['corrupt', undefined]);
      expect(signedBy(value as Buffer, id, 1)).toBe(true);
    });

    test('persistent corruption fails with E_PROVIDER naming the checksum', async () => {
      emulator.faults.add({ fault: { kind: 'corrupt' }, operation: 'AsymmetricSign', times: Infinity });
      const { error, calls } = await signCalls(() => signer.sign(DATA));
      expect(error).toMatchObject({ code: 'E_PROVIDER', message: expect.stringContaining('CRC32C') });
      expect(calls).toHaveLength(QUICK.attempts);
    });

    test('a corrupted public key is retried; a version still generating is waited for', async () => {
      emulator.faults
        .add({ fault: { kind: 'corrupt' }, operation: 'GetPublicKey' })
        .add({ fault: PENDING_GENERATION, operation: 'GetPublicKey' });
      const before = emulator.calls('GetPublicKey').length;
      const reopened = await open(uri(id, 1));
      expect(await reopened.publicKey()).toBe(emulator.publicKeyPem(versionName(id, 1)));
      expect(
        emulator
          .calls('GetPublicKey')
          .slice(before)
          .map((c) => c.status),
      ).toEqual([200, 400, 200]);
    });

    test('the service unreachable is E_PROVIDER naming the endpoint', async () => {
      const nowhere = createGcpKmsProvider({ ...clientOptions(emulator, transport), ...QUICK, port: await closedPort() });
      await expect(nowhere.open(parseKeyRef(uri(id)))).rejects.toMatchObject({
        code: 'E_PROVIDER',
        message: expect.stringMatching(/reachable at 127\.0\.0\.1:\d+/),
      });
    });
  });

  describe('creating keys', () => {
    function create(ref: string, options: CreateKeyOptions = {}): Promise<string> {
      return provider.create?.(parseKeyRef(ref), options) ?? Promise.reject(new Error('no create'));
    }

    test('creates the key ring if missing, then an ECDSA P-256 key, and returns version 1’s public key', async () => {
      const ring = `projects/signet-test/locations/europe-west1/keyRings/new-${transport}`;
      const pem = await create(`gcpkms://${ring}/cryptoKeys/release`);
      expect(pem).toBe(emulator.publicKeyPem(`${ring}/cryptoKeys/release/cryptoKeyVersions/1`));
      expect(emulator.state.getCryptoKey(`${ring}/cryptoKeys/release`)).toMatchObject({
        purpose: 'ASYMMETRIC_SIGN',
        versionTemplate: { algorithm: 'EC_SIGN_P256_SHA256' },
      });
      const createdRings = emulator.calls('CreateKeyRing').length;
      await create(`gcpkms://${ring}/cryptoKeys/second`, { algorithm: 'ecdsa-p384' });
      expect(emulator.calls('CreateKeyRing')).toHaveLength(createdRings);
      expect((await open(`gcpkms://${ring}/cryptoKeys/second`)).algorithm).toBe('ecdsa-p384-sha384');
    });

    test('an existing key is never replaced (E_EXISTS); a URI with a version cannot be created (E_INPUT)', async () => {
      const id = await seed('existing');
      const pem = emulator.publicKeyPem(versionName(id, 1));
      await expect(create(uri(id))).rejects.toMatchObject({ code: 'E_EXISTS' });
      expect(emulator.publicKeyPem(versionName(id, 1))).toBe(pem);
      await expect(create(uri('with-version', 1))).rejects.toMatchObject({ code: 'E_INPUT' });
    });

    test('an answer lost after the key was made is retried, and the key it made is accepted', async () => {
      emulator.faults.add({ fault: ANSWER_LOST, operation: 'CreateCryptoKey' });
      const pem = await create(uri(`lost-answer-${transport}`), { algorithm: 'ecdsa-p384' });
      expect(pem).toBe(emulator.publicKeyPem(versionName(`lost-answer-${transport}`, 1)));
      expect(
        emulator
          .calls('CreateCryptoKey')
          .slice(-2)
          .map((c) => c.status),
      ).toEqual([503, 409]);
    });

    test('algorithms Cloud KMS does not offer are refused before any call, naming those it does', async () => {
      const before = emulator.requests.length;
      await expect(create(uri('p521'), { algorithm: 'ecdsa-p521' })).rejects.toMatchObject({
        code: 'E_INPUT',
        message: expect.stringContaining(Object.keys(CREATED_ALGORITHMS).join(', ')),
      });
      expect(emulator.requests).toHaveLength(before);
    });
  });
});

test('each `signet key generate` algorithm becomes the Cloud KMS algorithm of the key', async () => {
  // One key at a time, with the default deadline: the emulator makes RSA-4096 keys on this
  // process's thread pool, and nine at once on a loaded two-core machine outlast a short deadline.
  const provider = createGcpKmsProvider({ ...clientOptions(emulator, 'rest'), ...QUICK, deadlineMs: 30_000 });
  for (const [name, algorithm] of Object.entries(CREATED_ALGORITHMS)) {
    const id = `generated-${name}`;
    const pem = await provider.create?.(parseKeyRef(uri(id)), { algorithm: name });
    expect(emulator.state.getCryptoKey(keyName(id)).versionTemplate.algorithm).toBe(algorithm);
    expect(pem).toBe(emulator.publicKeyPem(versionName(id, 1)));
  }
});

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
