// What goes wrong with Key Vault, through the library API and the real SDK: each failure
// its own SignetError code, transient ones retried (and seen retried in the emulator's log),
// and no credential in any message.
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ChainedTokenCredential, ClientSecretCredential, EnvironmentCredential } from '@azure/identity';
import { isSignetError, type KeyProvider, openSigner, registerProvider, type SignetError } from '@signet/core';
import { AzureKeyVaultEmulator, DEFAULT_CLIENT_ID } from '@signet/emulators/azure-keyvault';
import { type AzureKeyVaultProviderOptions, createAzureKeyVaultProvider } from '../src';
import { emulatorCredential, emulatorProvider, ref } from './support';

const emulator = new AzureKeyVaultEmulator();
beforeAll(() => emulator.start());
afterAll(() => emulator.stop());
beforeEach(() => {
  emulator.reset();
  emulator.createKey('release');
});

const azure = () => emulatorProvider(emulator);

async function failure(promise: Promise<unknown>): Promise<SignetError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isSignetError(error)) throw new Error(`expected a SignetError, got ${String(error)}`);
  return error;
}

/** Opens `release` and signs once; resolves to the SignetError it fails with. */
async function signFailure(provider = azure(), name = 'release'): Promise<SignetError> {
  return failure(provider.open(ref(emulator, name)).then((signer) => signer.sign(Buffer.from('artifact'))));
}

const statuses = (operation: string) => emulator.calls(operation).map((call) => call.status);

/** A 127.0.0.1 port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('refusals: one code each, not retried', () => {
  test('a key that does not exist: E_KEY_NOT_FOUND naming the key', async () => {
    const error = await failure(azure().open(ref(emulator, 'missing')));
    expect(error.code).toBe('E_KEY_NOT_FOUND');
    expect(error.message).toContain(`Azure Key Vault refused to read the key with ${emulator.keyUri('missing')} (KeyNotFound:`);
    expect(statuses('GetKey')).toEqual([404]);
  });

  test('a disabled key version: E_KEY_DISABLED, although Key Vault says "Forbidden"', async () => {
    const signer = await azure().open(ref(emulator, 'release'));
    emulator.setEnabled('release', false);
    const error = await failure(signer.sign(Buffer.from('artifact')));
    expect(error.code).toBe('E_KEY_DISABLED');
    expect(error.message).toContain('Operation sign is not allowed on a disabled key');
    expect(error.message).toContain('enable the key version');
    expect(statuses('Sign')).toEqual([403]);
  });

  test.each([
    ['access-policy', 'does not have keys sign permission'],
    ['rbac', 'Caller is not authorized to perform action on resource'],
    // the word "disabled" in a firewall refusal does not make the key disabled
    ['firewall', 'Public network access is disabled'],
  ] as const)('permission denied (%s): E_PERMISSION', async (mode, words) => {
    emulator.deny(DEFAULT_CLIENT_ID, mode, ['Sign']);
    const error = await signFailure();
    expect(error.code).toBe('E_PERMISSION');
    expect(error.message).toContain(words);
    expect(error.message).toContain('"Key Vault Crypto User"');
    expect(statuses('Sign')).toEqual([403]);
  });

  test("a 403 without an inner error is told apart by the service's wording for a disabled key", async () => {
    emulator.faults.add({
      fault: { kind: 'status', status: 403, message: 'Operation sign is not allowed on a disabled key.' },
      operation: 'Sign',
    });
    expect((await signFailure()).code).toBe('E_KEY_DISABLED');
    emulator.faults.add({
      fault: { kind: 'status', status: 403, message: 'Access denied; the key is disabled for this caller.' },
      operation: 'Sign',
    });
    expect((await signFailure()).code).toBe('E_PERMISSION');
  });

  test('reading the key is refused: E_PERMISSION before any signing', async () => {
    emulator.deny(DEFAULT_CLIENT_ID, 'access-policy', ['GetKey']);
    const error = await failure(azure().open(ref(emulator, 'release')));
    expect(error.code).toBe('E_PERMISSION');
    expect(error.message).toContain('does not have keys get permission');
  });

  test('a key whose permitted operations exclude sign: E_KEY, and the SDK does not even ask', async () => {
    emulator.createKey('verify-only', { kty: 'EC', curve: 'P-256' }, { keyOps: ['verify'] });
    const error = await signFailure(azure(), 'verify-only');
    expect(error.code).toBe('E_KEY');
    expect(error.message).toContain('Operation sign is not supported on key');
    expect(emulator.calls('Sign')).toEqual([]);
  });
});

describe('credentials', () => {
  const SECRET = `recognisable-${crypto.randomBytes(6).toString('hex')}-secret`;

  test('a wrong client secret: E_PERMISSION, and the secret appears nowhere', async () => {
    emulator.addClient('app-with-secret', `${SECRET}-the-right-one`);
    const provider = createAzureKeyVaultProvider({
      credential: emulatorCredential(emulator, 'app-with-secret', SECRET),
      clientOptions: { tlsOptions: { ca: emulator.caPem } },
      disableChallengeResourceVerification: true,
    });
    const error = await signFailure(provider);
    expect(error.code).toBe('E_PERMISSION');
    expect(error.message).toContain('invalid_client');
    expect(error.message).toContain('AZURE_CLIENT_SECRET');
    expect(error.message).not.toContain(SECRET);
    expect(JSON.stringify(emulator.requests)).not.toContain(SECRET);
    // the credential failed before any Key Vault call was authorised
    expect(emulator.calls('GetKey')).toEqual([]);
  });

  test('an unknown application: E_PERMISSION', async () => {
    const provider = emulatorProvider(emulator, { credential: emulatorCredential(emulator, 'no-such-app', SECRET) });
    const error = await signFailure(provider);
    expect(error.code).toBe('E_PERMISSION');
    expect(error.message).toContain('AADSTS700016');
  });

  test('no credential at all: E_PERMISSION saying none was found', async () => {
    // EnvironmentCredential reads the environment when it is built: build it without AZURE_*
    const saved = { ...process.env };
    for (const name of Object.keys(process.env)) if (name.startsWith('AZURE_')) delete process.env[name];
    const nothing = new ChainedTokenCredential(new EnvironmentCredential());
    Object.assign(process.env, saved);
    const error = await signFailure(emulatorProvider(emulator, { credential: nothing }));
    expect(error.code).toBe('E_PERMISSION');
    expect(error.message).toContain('no Azure credential was found');
    expect(error.message).toContain('AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET');
  });

  describe('through the real DefaultAzureCredential chain, on a machine outside Azure', () => {
    /** What DefaultAzureCredential reads: Azure's variables, the managed identity endpoints, HOME (CLI caches), PATH (az, azd, pwsh). */
    const CHAIN_INPUTS = /^(AZURE_|IDENTITY_|MSI_|IMDS_|DEFAULT_IDENTITY_CLIENT_ID$|HOME$|PATH$)/;

    /** Runs `body` with the chain's inputs cleared, then `set`, and restores the environment after. */
    async function inEnvironment<T>(set: Record<string, string>, body: () => Promise<T>): Promise<T> {
      const saved = { ...process.env };
      const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-azure-nothing-'));
      for (const name of Object.keys(process.env)) if (CHAIN_INPUTS.test(name)) delete process.env[name];
      Object.assign(process.env, { HOME: empty, PATH: empty }, set);
      try {
        return await body();
      } finally {
        for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
        Object.assign(process.env, saved);
        fs.rmSync(empty, { recursive: true, force: true });
      }
    }

    /**
     * The provider as `signet` builds it (no credential given, so DefaultAzureCredential), loaded
     * afresh with its own @azure/identity: MSAL keeps the managed identity source it first found
     * in a static, as a process would, and each test here is another machine.
     */
    function defaultProvider(options: AzureKeyVaultProviderOptions = {}): KeyProvider {
      let fresh: typeof import('../src') | undefined;
      jest.isolateModules(() => {
        fresh = require('../src');
      });
      return (fresh as typeof import('../src')).createAzureKeyVaultProvider({
        clientOptions: { tlsOptions: { ca: emulator.caPem } },
        disableChallengeResourceVerification: true,
        attempts: 3,
        baseDelayMs: 1,
        ...options,
      });
    }

    let closed: string;
    beforeAll(async () => {
      closed = `127.0.0.1:${await closedPort()}`;
    });

    // The managed identity endpoints MSAL reads, each pointed at a port nothing listens on: AKS pod
    // identity's IMDS (no probe then), Cloud Shell's and App Service's.
    test.each([
      ['AZURE_POD_IDENTITY_AUTHORITY_HOST', () => ({ AZURE_POD_IDENTITY_AUTHORITY_HOST: `http://${closed}` })],
      ['MSI_ENDPOINT', () => ({ MSI_ENDPOINT: `http://${closed}/msi/token` })],
      ['IDENTITY_ENDPOINT', () => ({ IDENTITY_ENDPOINT: `http://${closed}/msi/token`, IDENTITY_HEADER: 'header' })],
    ])(
      'no credential, the managed identity endpoint (%s) unreachable: E_PERMISSION "no Azure credential was found", not retried',
      async (_name, set) => {
        const provider = defaultProvider();
        const error = await inEnvironment(set(), () => failure(provider.open(ref(emulator, 'release'))));
        expect(error.code).toBe('E_PERMISSION');
        expect(error.message).toContain('no Azure credential was found');
        expect(error.message).not.toContain('could not be reached');
        // one challenge, one failed search for a credential, no retry
        expect(statuses('Challenge')).toEqual([401]);
        expect(emulator.calls('Token')).toEqual([]);
      },
    );

    test('credentials in the environment, Entra ID unreachable: still E_PROVIDER after retries (an outage, not a missing credential)', async () => {
      const set = {
        AZURE_TENANT_ID: emulator.tenantId,
        AZURE_CLIENT_ID: DEFAULT_CLIENT_ID,
        AZURE_CLIENT_SECRET: emulator.clientSecret,
        AZURE_AUTHORITY_HOST: `https://${closed}`,
        AZURE_POD_IDENTITY_AUTHORITY_HOST: `http://${closed}`,
      };
      const error = await inEnvironment(set, () =>
        failure(defaultProvider({ disableInstanceDiscovery: true }).open(ref(emulator, 'release'))),
      );
      expect(error.code).toBe('E_PROVIDER');
      expect(error.message).toContain('Microsoft Entra ID could not be reached');
      expect(error.message).not.toContain(emulator.clientSecret);
      expect(statuses('Challenge')).toEqual([401, 401, 401]);
    });
  });

  test('an authority host that cannot be reached: E_PROVIDER after retries', async () => {
    const credential = new ClientSecretCredential(emulator.tenantId, DEFAULT_CLIENT_ID, emulator.clientSecret, {
      authorityHost: 'https://127.0.0.1:1',
      disableInstanceDiscovery: true,
      // as the provider's default credential is set up: Signet retries, not the credential too
      retryOptions: { maxRetries: 0 },
    });
    const error = await signFailure(emulatorProvider(emulator, { credential }));
    expect(error.code).toBe('E_PROVIDER');
    expect(error.message).toContain('Microsoft Entra ID could not be reached');
    expect(error.message).toContain('SIGNET_AZURE_DISABLE_INSTANCE_DISCOVERY=1');
    // each attempt met the vault's challenge, then failed to get a token
    expect(statuses('Challenge')).toEqual([401, 401, 401]);
  });

  test('a token the vault no longer accepts: E_PERMISSION', async () => {
    const signer = await azure().open(ref(emulator, 'release'));
    emulator.expireTokens();
    const error = await failure(signer.sign(Buffer.from('artifact')));
    expect(error.code).toBe('E_PERMISSION');
    expect(error.message).toContain('AKV10032');
    for (const token of emulator.issuedTokens) expect(error.message).not.toContain(token);
  });

  test('a challenge naming another domain than the vault is refused unless opted out', async () => {
    const strict = emulatorProvider(emulator, { disableChallengeResourceVerification: false });
    const error = await failure(strict.open(ref(emulator, 'release')));
    expect(error.code).toBe('E_PERMISSION');
    expect(error.message).toContain('SIGNET_AZURE_DISABLE_CHALLENGE_RESOURCE_VERIFICATION=1');
    // only the unauthenticated challenge went out: no token was sent to a vault that asked for another domain's
    expect(emulator.requests.map((r) => r.operation)).toEqual(['Challenge']);

    // the opt-out, through the environment the library reads
    const optedOut = createAzureKeyVaultProvider({
      credential: emulatorCredential(emulator),
      clientOptions: { tlsOptions: { ca: emulator.caPem } },
    });
    const signer = await optedOut.open(ref(emulator, 'release'), { env: { SIGNET_AZURE_DISABLE_CHALLENGE_RESOURCE_VERIFICATION: '1' } });
    expect(signer.algorithm).toBe('ecdsa-p256-sha256');
  });

  test('a vault whose certificate is not trusted: E_PROVIDER naming NODE_EXTRA_CA_CERTS', async () => {
    const untrusting = emulatorProvider(emulator, { clientOptions: {}, attempts: 1 });
    const error = await failure(untrusting.open(ref(emulator, 'release')));
    expect(error.code).toBe('E_PROVIDER');
    expect(error.message).toContain('NODE_EXTRA_CA_CERTS');
  });
});

describe('transient failures are retried, then reported', () => {
  test.each([
    ['throttling (429 with Retry-After)', { kind: 'throttle', retryAfterSeconds: 0 }, 429],
    ['a 503', { kind: 'status', status: 503 }, 503],
    ['a 500', { kind: 'status', status: 500 }, 500],
    ['a dropped connection', { kind: 'drop' }, 0],
  ] as const)('%s twice, then success', async (_name, fault, status) => {
    const signer = await azure().open(ref(emulator, 'release'));
    emulator.faults.add({ fault, operation: 'Sign', times: 2 });
    const signature = await signer.sign(Buffer.from('artifact'));
    expect(crypto.verify('sha256', Buffer.from('artifact'), await signer.publicKey(), signature)).toBe(true);
    expect(statuses('Sign')).toEqual([status, status, 200]);
  });

  test('a corrupted signature is never returned: retried until one verifies', async () => {
    const signer = await azure().open(ref(emulator, 'release'));
    emulator.faults.add({ fault: { kind: 'corrupt' }, operation: 'Sign' });
    const signature = await signer.sign(Buffer.from('artifact'));
    expect(crypto.verify('sha256', Buffer.from('artifact'), await signer.publicKey(), signature)).toBe(true);
    expect(statuses('Sign')).toEqual([200, 200]);
  });

  test('corrupted every time: E_PROVIDER after the attempts', async () => {
    const signer = await azure().open(ref(emulator, 'release'));
    emulator.faults.add({ fault: { kind: 'corrupt' }, operation: 'Sign', times: Infinity });
    const error = await failure(signer.sign(Buffer.from('artifact')));
    expect(error.code).toBe('E_PROVIDER');
    expect(error.message).toContain('does not verify with the key');
    expect(statuses('Sign')).toEqual([200, 200, 200]);
  });

  test('throttled every time: E_PROVIDER after exactly the attempts allowed', async () => {
    const signer = await azure().open(ref(emulator, 'release'));
    emulator.faults.add({ fault: { kind: 'throttle', retryAfterSeconds: 0 }, operation: 'Sign', times: Infinity });
    const error = await failure(signer.sign(Buffer.from('artifact')));
    expect(error.code).toBe('E_PROVIDER');
    expect(error.message).toContain(`Azure Key Vault failed to sign with ${emulator.keyUri('release')} (Throttled:`);
    expect(statuses('Sign')).toEqual([429, 429, 429]);
  });

  test("options given per call override the provider's (one attempt)", async () => {
    registerProvider(azure());
    const signer = await openSigner(emulator.keyUri('release'), { attempts: 1 });
    emulator.faults.add({ fault: { kind: 'status', status: 503 }, operation: 'Sign', times: Infinity });
    expect((await failure(signer.sign(Buffer.from('artifact')))).code).toBe('E_PROVIDER');
    expect(statuses('Sign')).toEqual([503]);
  });

  test('a service slower than the deadline: E_PROVIDER', async () => {
    // The deadline also covers reading the key when the signer opens: long enough for that on a
    // loaded machine, and far shorter than the Sign the emulator holds back.
    const signer = await emulatorProvider(emulator, { deadlineMs: 3_000 }).open(ref(emulator, 'release'));
    emulator.faults.add({ fault: { kind: 'latency', ms: 10_000 }, operation: 'Sign' });
    const error = await failure(signer.sign(Buffer.from('artifact')));
    expect(error.code).toBe('E_PROVIDER');
    expect(error.message).toContain('the deadline passed');
  });

  test('a dead service: E_PROVIDER after bounded retries', async () => {
    const dead = new AzureKeyVaultEmulator();
    await dead.start();
    const keyRef = ref(dead, 'release');
    const provider = emulatorProvider(dead);
    await dead.stop();
    const error = await failure(provider.open(keyRef));
    expect(error.code).toBe('E_PROVIDER');
    expect(error.message).toContain(`Azure Key Vault failed to read the key with ${keyRef.display}`);
    expect(error.message).toContain('ECONNREFUSED');
  });
});
