// The provider through the library API, with the real node-vault client against the Transit
// emulator: every key type, key versions, settings, and what each failure becomes.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import {
  type Bundle,
  createStatement,
  isSignetError,
  type KeyProvider,
  loadTrustedRoot,
  parseKeyRef,
  type Signer,
  serializeBundle,
  signArtifact,
  signArtifacts,
  signStatement,
} from '@signet/core';
import { SigstoreStack } from '@signet/emulators/sigstore';
import { VaultTransitEmulator } from '@signet/emulators/vault-transit';
import { opensslVerify, sigstoreVerify, verifyBundle } from '@signet/test-support';
import NodeVault from 'node-vault';
import { createVaultProvider, TRANSIT_KEY_TYPES, type VaultProviderOptions, type VaultSigner } from '../src';

const vault = new VaultTransitEmulator({ mounts: ['transit', 'ci/transit'] });
beforeAll(() => vault.start());
afterAll(() => vault.stop());
afterEach(() => vault.faults.clear());

const ARTIFACT = Buffer.from('a release tarball, or near enough\n');
const HASH_LENGTH: Record<string, number> = { sha256: 32, sha384: 48, sha512: 64 };

/** A provider for the emulator with fast retries; explicit settings, so no environment is read. */
function vaultProvider(options: VaultProviderOptions = {}): KeyProvider {
  return createVaultProvider({ endpoint: vault.url, token: vault.rootToken, baseDelayMs: 2, ...options });
}

async function open(ref: string, options: VaultProviderOptions = {}): Promise<VaultSigner> {
  return (await vaultProvider(options).open(parseKeyRef(ref))) as VaultSigner;
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught as Error,
  );
  if (!error) throw new Error(`expected ${code}, but it succeeded`);
  expect(isSignetError(error) ? error.code : error).toBe(code);
  return error;
}

function statementAbout(artifact: Buffer) {
  const digest = crypto.createHash('sha256').update(artifact).digest('hex');
  return createStatement([{ name: 'app.tgz', digest: { sha256: digest } }], 'https://example.com/test-result/v1', { passed: true });
}

/** Signet (whatever the bundle signs), openssl and (unless told otherwise) sigstore-js all accept the bundle with the PEM. */
async function expectVerified(bundle: Bundle, pem: string, options: { sigstore: boolean }): Promise<void> {
  await expect(verifyBundle(bundle, { bytes: ARTIFACT }, { keys: [{ publicKey: pem }], predicateTypes: 'any' })).resolves.toMatchObject({
    signer: { kind: 'key' },
  });
  const json = serializeBundle(bundle);
  expect(opensslVerify(json, ARTIFACT, pem)).toBe(true);
  if (options.sigstore) sigstoreVerify(json, ARTIFACT, pem);
}

describe('logged in Rekor v2 (rekor-tiles), a timestamp beside each entry', () => {
  const stack = new SigstoreStack();
  beforeAll(() => stack.start(), 60_000);
  afterAll(() => stack.stop());

  it.each([
    ['ecdsa-p256', 'PKIX_ECDSA_P256_SHA_256'],
    ['ecdsa-p521', 'PKIX_ECDSA_P521_SHA_512'],
    ['rsa-2048', 'PKIX_RSA_PKCS1V15_2048_SHA256'],
  ] as const)('%s: message and DSSE, logged with keyDetails %s, verified with the trusted root', async (type, keyDetails) => {
    vault.createKey(`v2-${type}`, type);
    const signer = await open(`hashivault://v2-${type}`);
    const pem = await signer.publicKey();
    const services = { rekorLogs: [{ url: stack.rekorV2.url, version: 2 as const }], tsaURLs: [stack.tsa.url] };
    const message = await signArtifact({ bytes: ARTIFACT }, signer, { services, tlogUpload: true });
    const attestation = await signStatement(statementAbout(ARTIFACT), signer, { services, tlogUpload: true });
    for (const bundle of [message, attestation]) {
      const entry = bundle.verificationMaterial.tlogEntries[0];
      expect(entry?.kindVersion).toEqual({ kind: 'hashedrekord', version: '0.0.2' });
      expect(JSON.parse(entry?.canonicalizedBody.toString('utf8') ?? '{}').spec.hashedRekordV002.signature.verifier.keyDetails).toBe(keyDetails);
    }
    const trustedRoot = await loadTrustedRoot({ trustedRootPath: stack.trustedRootPath });
    const policy = { keys: [{ publicKey: pem }], tlogThreshold: 1, timestampThreshold: 1, predicateTypes: 'any' as const };
    await expect(verifyBundle(message, { bytes: ARTIFACT }, policy, { trustedRoot })).resolves.toMatchObject({ tlogEntries: 1 });
    await expect(verifyBundle(attestation, { bytes: ARTIFACT }, policy, { trustedRoot })).resolves.toMatchObject({ tlogEntries: 1 });
  }, 60_000);

  it('a Transit RSA key signing PSS is refused before Rekor v2 is asked (rekor-tiles logs PKCS#1 v1.5 only)', async () => {
    vault.createKey('v2-pss', 'rsa-2048');
    const signer = await open('hashivault://v2-pss', { rsaSignatureAlgorithm: 'pss' });
    const before = stack.rekorV2.requests.length;
    const services = { rekorLogs: [{ url: stack.rekorV2.url, version: 2 as const }], tsaURLs: [stack.tsa.url] };
    await expectCode(signArtifact({ bytes: ARTIFACT }, signer, { services, tlogUpload: true }), 'E_USAGE');
    expect(stack.rekorV2.requests.length).toBe(before);
  });
});

describe('every Transit key type signs blobs and attestations that verify offline', () => {
  const cases = [
    ...TRANSIT_KEY_TYPES.map((type) => ({ type, rsa: undefined as 'pss' | undefined })),
    ...(['rsa-2048', 'rsa-3072', 'rsa-4096'] as const).map((type) => ({ type, rsa: 'pss' as const })),
  ];
  it.each(cases)('$type $rsa', async ({ type, rsa }) => {
    const name = `matrix-${type}${rsa ? '-pss' : ''}`;
    const provider = vaultProvider(rsa ? { rsaSignatureAlgorithm: rsa } : {});
    const pem = await provider.create?.(parseKeyRef(`hashivault://${name}`), { algorithm: type });
    expect(pem).toBe(vault.key(name)?.publicKeyPem());
    const signer = (await provider.open(parseKeyRef(`hashivault://${name}`))) as VaultSigner;
    expect(signer.keyId).toBe(`hashivault://${name}/versions/1`);
    expect(await signer.publicKey()).toBe(pem);

    const blob = await signArtifact({ bytes: ARTIFACT }, signer);
    const signRequest = vault.calls('Sign').at(-1)?.body as Record<string, unknown>;
    if (type === 'ed25519') {
      // Transit has no prehashed Ed25519: the message itself travels.
      expect(signer.algorithm).toBe('ed25519');
      expect(signRequest).toMatchObject({ input: ARTIFACT.toString('base64') });
      expect(signRequest.prehashed).toBeUndefined();
    } else {
      const hash = signer.algorithm.split('-').at(-1) as string;
      expect(Buffer.from(String(signRequest.input), 'base64')).toEqual(crypto.createHash(hash).update(ARTIFACT).digest());
      expect(Buffer.from(String(signRequest.input), 'base64')).toHaveLength(HASH_LENGTH[hash] as number);
      expect(signRequest).toMatchObject({ prehashed: true, key_version: 1, marshaling_algorithm: 'asn1' });
      expect(vault.calls('Sign').at(-1)?.path).toBe(`/v1/transit/sign/${name}/sha2-${hash.slice(3)}`);
    }
    if (type.startsWith('rsa')) {
      expect(signer.algorithm).toBe(rsa ? 'rsa-pss-sha256' : 'rsa-pkcs1v15-sha256');
      expect(signRequest.signature_algorithm).toBe(rsa ?? 'pkcs1v15');
    }
    // The pinned sigstore-js cannot check PSS by a plain RSA key, Ed25519 message signatures,
    // or P-384/P-521 DSSE signatures with their own hashes (see the root README); Signet and
    // openssl check all of them.
    await expectVerified(blob, pem as string, { sigstore: rsa === undefined && type !== 'ed25519' });

    const attestation = await signStatement(statementAbout(ARTIFACT), signer);
    await expectVerified(attestation, pem as string, { sigstore: rsa === undefined && type !== 'ecdsa-p384' && type !== 'ecdsa-p521' });
  });

  it('sends one sign request per signature, and reads the key once per open', async () => {
    vault.createKey('counted', 'ecdsa-p256');
    const reads = vault.calls('ReadKey').length;
    const signs = vault.calls('Sign').length;
    const signer = await open('hashivault://counted');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-vault-'));
    try {
      const files = ['a', 'b', 'c'].map((name) => {
        fs.writeFileSync(path.join(dir, name), `file ${name}\n`);
        return { path: path.join(dir, name) };
      });
      const bundles = await signArtifacts(files, signer);
      expect(bundles).toHaveLength(3);
      await signStatement(statementAbout(ARTIFACT), signer);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    expect(vault.calls('ReadKey').length - reads).toBe(1);
    expect(vault.calls('Sign').length - signs).toBe(4);
  });

  it('signs a digest handed in directly (signDigest), sending it as is', async () => {
    vault.createKey('direct', 'ecdsa-p384');
    const signer = await open('hashivault://direct');
    const digest = crypto.createHash('sha384').update(ARTIFACT).digest();
    const signature = await (signer as Required<Signer>).signDigest(digest);
    expect(crypto.verify('sha384', ARTIFACT, vault.key('direct')?.publicKeyPem() ?? '', signature)).toBe(true);
    expect(vault.calls('Sign').at(-1)?.body).toMatchObject({ input: digest.toString('base64') });
  });
});

describe('key versions', () => {
  it('signs with the latest version, pins one with /versions/N, and old bundles verify with their own version', async () => {
    const key = vault.createKey('rotating', 'ecdsa-p256');
    const v1Bundle = await signArtifact({ bytes: ARTIFACT }, await open('hashivault://rotating'));
    const v1Pem = await (await open('hashivault://rotating/versions/1')).publicKey();
    key.rotate();

    const latest = await open('hashivault://rotating');
    expect([latest.keyVersion, latest.keyId]).toEqual([2, 'hashivault://rotating/versions/2']);
    const v2Pem = await latest.publicKey();
    expect(v2Pem).not.toBe(v1Pem);
    const v2Bundle = await signArtifact({ bytes: ARTIFACT }, latest);
    expect(vault.calls('Sign').at(-1)?.body).toMatchObject({ key_version: 2 });

    await expectVerified(v1Bundle, v1Pem, { sigstore: true });
    await expectVerified(v2Bundle, v2Pem, { sigstore: true });
    await expectCode(verifyBundle(v1Bundle, { bytes: ARTIFACT }, { keys: [{ publicKey: v2Pem }] }), 'E_SIGNATURE');
    // Rotation with a transition window: either key is trusted.
    await expect(
      verifyBundle(v1Bundle, { bytes: ARTIFACT }, { keys: [{ publicKey: v2Pem }, { publicKey: v1Pem }] }),
    ).resolves.toBeDefined();

    const pinned = await open('hashivault://rotating/versions/1');
    expect(pinned.keyVersion).toBe(1);
    await expectVerified(await signArtifact({ bytes: ARTIFACT }, pinned), v1Pem, { sigstore: true });
    expect(vault.calls('Sign').at(-1)?.body).toMatchObject({ key_version: 1 });
  });

  it('a version below min_encryption_version still exports its public key but no longer signs (E_KEY_DISABLED)', async () => {
    const key = vault.createKey('retired', 'ecdsa-p256');
    key.rotate();
    key.minEncryptionVersion = 2;
    const old = await open('hashivault://retired/versions/1');
    expect(await old.publicKey()).toBe(key.publicKeyPem(1));
    const error = await expectCode(signArtifact({ bytes: ARTIFACT }, old), 'E_KEY_DISABLED');
    expect(error.message).toContain('hashivault://retired/versions/1');
    expect(error.message).toContain('min_encryption_version');
    await expect(signArtifact({ bytes: ARTIFACT }, await open('hashivault://retired'))).resolves.toBeDefined();
  });

  it('a version that does not exist is E_KEY_NOT_FOUND, naming the latest', async () => {
    vault.createKey('short', 'ecdsa-p256');
    const error = await expectCode(open('hashivault://short/versions/7'), 'E_KEY_NOT_FOUND');
    expect(error.message).toContain('the latest is 1');
  });

  it('refuses a signature from another version than asked, retrying until Vault answers right', async () => {
    vault.createKey('relabelled', 'ecdsa-p256');
    const signer = await open('hashivault://relabelled');
    vault.faults.add({ fault: { kind: 'custom', name: 'wrong-version' }, operation: 'Sign' });
    const before = vault.calls('Sign').length;
    await expectVerified(await signArtifact({ bytes: ARTIFACT }, signer), await signer.publicKey(), { sigstore: true });
    expect(vault.calls('Sign').length - before).toBe(2);
    vault.faults.add({ fault: { kind: 'custom', name: 'wrong-version' }, operation: 'Sign', times: Infinity });
    const error = await expectCode(signArtifact({ bytes: ARTIFACT }, await open('hashivault://relabelled', { attempts: 2 })), 'E_PROVIDER');
    expect(error.message).toContain('Vault signed with version 2, not 1');
  });
});

describe('key generate', () => {
  it('refuses a key that exists, without touching it', async () => {
    vault.createKey('taken', 'ed25519');
    const creates = vault.calls('CreateKey').length;
    const error = await expectCode(
      vaultProvider().create?.(parseKeyRef('hashivault://taken'), { algorithm: 'ecdsa-p256' }) as Promise<string>,
      'E_EXISTS',
    );
    expect(error.message).toContain('rotate it');
    expect(vault.calls('CreateKey')).toHaveLength(creates);
    expect(vault.key('taken')?.type).toBe('ed25519');
  });

  it('refuses when Vault says the key appeared meanwhile (its create is an upsert that only warns)', async () => {
    vault.createKey('raced', 'ecdsa-p256');
    vault.faults.add({ fault: { kind: 'status', status: 404, message: '' }, operation: 'ReadKey' });
    await expectCode(vaultProvider().create?.(parseKeyRef('hashivault://raced'), {}) as Promise<string>, 'E_EXISTS');
    expect(vault.calls('CreateKey').at(-1)?.status).toBe(200);
  });

  it('accepts only the types Transit offers, and no versioned reference', async () => {
    const error = await expectCode(
      vaultProvider().create?.(parseKeyRef('hashivault://pss'), { algorithm: 'rsa-pss-2048' }) as Promise<string>,
      'E_INPUT',
    );
    expect(error.message).toContain('ecdsa-p256, ecdsa-p384, ecdsa-p521, ed25519, rsa-2048, rsa-3072, rsa-4096');
    await expectCode(vaultProvider().create?.(parseKeyRef('hashivault://new/versions/1'), {}) as Promise<string>, 'E_INPUT');
    expect(vault.key('pss')).toBeUndefined();
  });

  it('defaults to ecdsa-p256', async () => {
    await vaultProvider().create?.(parseKeyRef('hashivault://defaulted'), {});
    expect(vault.key('defaulted')?.type).toBe('ecdsa-p256');
    expect(vault.calls('CreateKey').at(-1)?.body).toEqual({ type: 'ecdsa-p256' });
  });
});

describe('settings', () => {
  it('reads VAULT_ADDR, VAULT_TOKEN, VAULT_NAMESPACE and TRANSIT_SECRET_ENGINE_PATH from the env it is given', async () => {
    vault.createKey('namespaced', 'ecdsa-p256', { namespace: 'team-a', mount: 'ci/transit' });
    const env = {
      VAULT_ADDR: vault.url,
      VAULT_TOKEN: vault.rootToken,
      VAULT_NAMESPACE: 'team-a',
      TRANSIT_SECRET_ENGINE_PATH: 'ci/transit',
    };
    const signer = await createVaultProvider().open(parseKeyRef('hashivault://namespaced'), { env });
    await signArtifact({ bytes: ARTIFACT }, signer);
    const sign = vault.calls('Sign').at(-1);
    expect(sign?.path).toBe('/v1/ci/transit/sign/namespaced/sha2-256');
    expect(sign?.headers['x-vault-namespace']).toBe('team-a');
    await expectCode(
      createVaultProvider().open(parseKeyRef('hashivault://namespaced'), { env: { ...env, VAULT_NAMESPACE: 'team-b' } }),
      'E_KEY_NOT_FOUND',
    );
  });

  it('takes explicit options over the environment, per provider and per call', async () => {
    vault.createKey('explicit', 'ecdsa-p256', { namespace: 'team-x', mount: 'ci/transit' });
    const env = { VAULT_ADDR: 'http://127.0.0.1:1', VAULT_TOKEN: 'wrong', TRANSIT_SECRET_ENGINE_PATH: 'nowhere' };
    const configured = createVaultProvider({ endpoint: vault.url, token: vault.rootToken, namespace: 'team-x', mountPath: 'ci/transit' });
    await expect(configured.open(parseKeyRef('hashivault://explicit'), { env })).resolves.toBeDefined();
    const perCall = createVaultProvider();
    await expect(
      perCall.open(parseKeyRef('hashivault://explicit'), {
        env,
        endpoint: vault.url,
        token: vault.rootToken,
        namespace: 'team-x',
        mountPath: '/ci/transit/',
      }),
    ).resolves.toBeDefined();
  });

  it('uses a node-vault client handed in', async () => {
    vault.createKey('own-client', 'ed25519');
    const client = NodeVault({ endpoint: vault.url, token: vault.rootToken });
    const signer = await createVaultProvider({ client }).open(parseKeyRef('hashivault://own-client'), { env: {} });
    await expectVerified(await signArtifact({ bytes: ARTIFACT }, signer), await signer.publicKey(), { sigstore: false });
  });

  it('falls back to ~/.vault-token under HOME, as the Vault CLI and cosign do', async () => {
    vault.createKey('from-file', 'ecdsa-p256');
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-vault-home-'));
    try {
      const env = { VAULT_ADDR: vault.url, HOME: home };
      await expectCode(createVaultProvider().open(parseKeyRef('hashivault://from-file'), { env }), 'E_PERMISSION');
      fs.writeFileSync(path.join(home, '.vault-token'), `${vault.rootToken}\n`);
      await expect(createVaultProvider().open(parseKeyRef('hashivault://from-file'), { env })).resolves.toBeDefined();
      expect(vault.calls('ReadKey').at(-1)?.status).toBe(200);
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  });

  it('without VAULT_ADDR says so (E_INPUT), before any request', async () => {
    const before = vault.requests.length;
    const error = await expectCode(createVaultProvider().open(parseKeyRef('hashivault://any'), { env: { VAULT_TOKEN: 'x' } }), 'E_INPUT');
    expect(error.message).toContain('VAULT_ADDR');
    expect(vault.requests).toHaveLength(before);
  });

  it('refuses malformed references', async () => {
    for (const ref of ['hashivault://a/b', 'hashivault://key/versions/0', 'hashivault://key/versions/x', 'hashivault://-key']) {
      await expectCode(open(ref), 'E_INPUT');
    }
  });

  it('refuses a key that cannot sign (E_KEY)', async () => {
    vault.createKey('symmetric', 'aes256-gcm96');
    const error = await expectCode(open('hashivault://symmetric'), 'E_KEY');
    expect(error.message).toContain('aes256-gcm96');
  });
});

describe('failures', () => {
  it('retries throttling, a sealed or stale node, 5xx, damage and dropped connections, then signs', async () => {
    vault.createKey('flaky', 'ecdsa-p256');
    const signer = await open('hashivault://flaky', { attempts: 8 });
    vault.faults
      .add({ fault: { kind: 'throttle', retryAfterSeconds: 0 }, operation: 'Sign' })
      .add({ fault: { kind: 'custom', name: 'sealed' }, operation: 'Sign' })
      .add({ fault: { kind: 'custom', name: 'stale-index' }, operation: 'Sign' })
      .add({ fault: { kind: 'status', status: 502 }, operation: 'Sign' })
      .add({ fault: { kind: 'corrupt' }, operation: 'Sign' })
      .add({ fault: { kind: 'drop' }, operation: 'Sign' });
    const before = vault.calls('Sign').length;
    const bundle = await signArtifact({ bytes: ARTIFACT }, signer);
    await expectVerified(bundle, await signer.publicKey(), { sigstore: true });
    expect(
      vault
        .calls('Sign')
        .slice(before)
        .map((r) => r.fault ?? r.status),
    ).toEqual(['throttle', 'custom', 'custom', 'status', 'corrupt', 'drop', 200]);
  });

  it('retries a damaged key description', async () => {
    vault.createKey('damaged-read', 'ecdsa-p256');
    vault.faults.add({ fault: { kind: 'corrupt' }, operation: 'ReadKey' });
    await expect(open('hashivault://damaged-read')).resolves.toBeDefined();
    expect(
      vault
        .calls('ReadKey')
        .slice(-2)
        .map((r) => r.fault ?? 'none'),
    ).toEqual(['corrupt', 'none']);
  });

  it('gives up after the attempts allowed: E_PROVIDER naming the service, the key and what to check', async () => {
    vault.createKey('down', 'ecdsa-p256');
    const signer = await open('hashivault://down', { attempts: 3 });
    vault.faults.add({ fault: { kind: 'status', status: 500 }, operation: 'Sign', times: Infinity });
    const before = vault.calls('Sign').length;
    const error = await expectCode(signArtifact({ bytes: ARTIFACT }, signer), 'E_PROVIDER');
    expect(error.message).toMatch(/^Vault Transit failed to sign with hashivault:\/\/down \(internal error\): check VAULT_ADDR/);
    expect(vault.calls('Sign').length - before).toBe(3);
  });

  it('a sealed Vault is unavailable (E_PROVIDER, retried)', async () => {
    vault.createKey('sealed', 'ecdsa-p256');
    vault.seal();
    try {
      const error = await expectCode(open('hashivault://sealed', { attempts: 2 }), 'E_PROVIDER');
      expect(error.message).toContain('(Vault is sealed)');
    } finally {
      vault.unseal();
    }
  });

  it('stops at the deadline', async () => {
    vault.createKey('slow', 'ecdsa-p256');
    vault.faults.add({ fault: { kind: 'latency', ms: 1_000 }, operation: 'ReadKey' });
    const error = await expectCode(open('hashivault://slow', { deadlineMs: 200 }), 'E_PROVIDER');
    expect(error.message).toContain('Vault Transit failed to read the key with hashivault://slow');
  });

  it('permission denied is E_PERMISSION at once, naming the policy paths to grant', async () => {
    vault.createKey('guarded', 'ecdsa-p256');
    vault.addToken('hvs.reader', [{ path: 'transit/keys/guarded', capabilities: ['read'] }]);
    const signer = await open('hashivault://guarded', { token: 'hvs.reader' });
    const before = vault.calls('Sign').length;
    const error = await expectCode(signArtifact({ bytes: ARTIFACT }, signer), 'E_PERMISSION');
    expect(error.message).toContain('"update" on transit/sign/guarded');
    expect(vault.calls('Sign').length - before).toBe(1);
  });

  it('a missing key is E_KEY_NOT_FOUND, and a missing mount says which mount it looked in', async () => {
    const missing = await expectCode(open('hashivault://no-such-key'), 'E_KEY_NOT_FOUND');
    expect(missing.message).toContain('signet key generate --key hashivault://no-such-key');
    const mount = await expectCode(open('hashivault://no-such-key', { mountPath: 'not-mounted' }), 'E_KEY_NOT_FOUND');
    expect(mount.message).toContain('TRANSIT_SECRET_ENGINE_PATH, now "not-mounted"');
  });
});

describe('the token never leaves', () => {
  const SECRET = 'hvs.SIGNET-TEST-SECRET-7f3a9c';

  it.each([
    ['refused', async () => open('hashivault://anything', { token: SECRET })],
    ['server error', async () => open('hashivault://anything', { token: SECRET, attempts: 1 })],
    ['dead service', async () => open('hashivault://anything', { token: SECRET, attempts: 2, endpoint: deadUrl })],
    ['dropped', async () => open('hashivault://anything', { token: SECRET, attempts: 1 })],
  ])('%s: not in the message, the cause, or anything inspect() shows', async (name, run) => {
    if (name === 'server error') vault.faults.add({ fault: { kind: 'status', status: 500 }, operation: 'ReadKey' });
    if (name === 'dropped') vault.faults.add({ fault: { kind: 'drop' }, operation: 'ReadKey' });
    const error = await run().then(
      () => undefined,
      (caught: unknown) => caught as Error,
    );
    expect(isSignetError(error)).toBe(true);
    expect(error?.cause).toBeDefined();
    const everything = `${error?.message}\n${inspect(error, { depth: Infinity, showHidden: true })}\n${JSON.stringify(error)}`;
    expect(everything).not.toContain(SECRET);
    expect(everything).not.toContain(SECRET.slice(4));
  });
});

let deadUrl = '';
beforeAll(async () => {
  const dead = new VaultTransitEmulator();
  deadUrl = await dead.start();
  await dead.stop();
});
