// Signing through the library API with the real Azure SDK against the emulator: every
// algorithm Key Vault offers, raw r‖s to DER, one call per signature carrying only the
// digest, and which key version is used.
import crypto from 'node:crypto';
import { type Bundle, type HashAlgorithm, isSignetError, serializeBundle, signArtifact, signStatement } from '@signet/core';
import { AzureKeyVaultEmulator, derToRaw, envFor } from '@signet/emulators/azure-keyvault';
import { opensslVerify, sigstoreVerify, verifyBundle } from '@signet/test-support';
import { createAzureKeyVaultProvider } from '../src';
import { emulatorProvider, ref, statementFor } from './support';

const emulator = new AzureKeyVaultEmulator();
beforeAll(() => emulator.start());
afterAll(() => emulator.stop());
beforeEach(() => emulator.reset());

const azure = () => emulatorProvider(emulator);

/** The SPKI PEM of the key the emulator holds, computed independently of the provider. */
function emulatorPem(name: string, version?: string): string {
  const key = emulator.keys.get(name, version);
  if (!key) throw new Error(`the emulator has no key ${name}`);
  return crypto.createPublicKey(key.privateKey).export({ type: 'spki', format: 'pem' }).toString();
}

/** The Sign requests the emulator answered, with the digest each carried. */
function signRequests(name: string): { status: number | undefined; alg: string; digest: Buffer; path: string }[] {
  return emulator
    .calls('Sign')
    .filter((call) => call.path.startsWith(`/keys/${name}/`))
    .map((call) => {
      const body = call.body as { alg: string; value: string };
      return { status: call.status, alg: body.alg, digest: Buffer.from(body.value, 'base64url'), path: call.path };
    });
}

const MATRIX = [
  { algorithm: 'ecdsa-p256', signs: 'ecdsa-p256-sha256', azure: 'ES256', hash: 'sha256', sigstoreDsse: true },
  { algorithm: 'ecdsa-p384', signs: 'ecdsa-p384-sha384', azure: 'ES384', hash: 'sha384', sigstoreDsse: false },
  { algorithm: 'ecdsa-p521', signs: 'ecdsa-p521-sha512', azure: 'ES512', hash: 'sha512', sigstoreDsse: false },
  { algorithm: 'rsa-2048', signs: 'rsa-pkcs1v15-sha256', azure: 'RS256', hash: 'sha256', sigstoreDsse: true },
  { algorithm: 'rsa-3072', signs: 'rsa-pkcs1v15-sha384', azure: 'RS384', hash: 'sha384', sigstoreDsse: false },
  { algorithm: 'rsa-4096', signs: 'rsa-pkcs1v15-sha512', azure: 'RS512', hash: 'sha512', sigstoreDsse: false },
] as const;

describe('every algorithm Key Vault offers', () => {
  test.each(MATRIX)('$algorithm: create, sign a blob and a statement, verify with signet, openssl and sigstore-js', async (row) => {
    const name = `key-${row.algorithm}`;
    const pem = await azure().create?.(ref(emulator, name), { algorithm: row.algorithm });
    expect(pem).toBe(emulatorPem(name));

    const signer = await azure().open(ref(emulator, name));
    // the algorithm comes from the key in the vault (its curve or RSA size), not from a flag
    expect(signer.algorithm).toBe(row.signs);
    expect(await signer.publicKey()).toBe(pem);

    const artifact = crypto.randomBytes(2048);
    const message = await signArtifact({ bytes: artifact }, signer);
    const attestation = await signStatement(statementFor(artifact), signer);

    // exactly one Sign call per signature, each carrying a digest of the hash's length, never the artifact
    const requests = signRequests(name);
    expect(requests.map((r) => [r.status, r.alg, r.digest.length])).toEqual([
      [200, row.azure, crypto.createHash(row.hash).digest().length],
      [200, row.azure, crypto.createHash(row.hash).digest().length],
    ]);
    expect(requests[0]?.digest).toEqual(crypto.createHash(row.hash).update(artifact).digest());

    await expect(verifyBundle(message, { bytes: artifact }, { keys: [{ publicKey: emulatorPem(name) }] })).resolves.toBeDefined();
    expect(opensslVerify(serializeBundle(message), artifact, emulatorPem(name))).toBe(true);
    expect(opensslVerify(serializeBundle(attestation), artifact, emulatorPem(name))).toBe(true);
    expect(() => sigstoreVerify(serializeBundle(message), artifact, emulatorPem(name))).not.toThrow();
    // the pinned @sigstore/verify checks DSSE with SHA-256 only (see the root README)
    if (row.sigstoreDsse) expect(() => sigstoreVerify(serializeBundle(attestation), artifact, emulatorPem(name))).not.toThrow();
    if (row.hash === 'sha256' || row.algorithm.startsWith('ecdsa')) {
      await expect(
        verifyBundle(attestation, { bytes: artifact }, { keys: [{ publicKey: pem as string }], predicateTypes: 'any' }),
      ).resolves.toBeDefined();
    }

    // the controls: another artifact, and another key, do not verify
    const other = crypto.randomBytes(2048);
    expect(opensslVerify(serializeBundle(message), other, emulatorPem(name))).toBe(false);
    const stranger = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    await expect(verifyBundle(message, { bytes: artifact }, { keys: [{ publicKey: stranger }] })).rejects.toMatchObject({
      code: 'E_SIGNATURE',
    });
  });

  // RSA-3072/4096 Key Vault keys sign RS384/RS512 (cosign's hash-by-key-size rule); an
  // attestation's SPKI names no hash, so core tries each for a plain RSA key.
  test.each(['rsa-3072', 'rsa-4096'])('%s: signet verifies its attestation', async (algorithm) => {
    const name = `dsse-${algorithm}`;
    const pem = (await azure().create?.(ref(emulator, name), { algorithm })) as string;
    const signer = await azure().open(ref(emulator, name));
    const artifact = crypto.randomBytes(64);
    const attestation = await signStatement(statementFor(artifact), signer);
    expect(opensslVerify(serializeBundle(attestation), artifact, pem)).toBe(true);
    await verifyBundle(attestation, { bytes: artifact }, { keys: [{ publicKey: pem }], predicateTypes: 'any' });
  });

  test('a large artifact is hashed here and only its digest is signed (signDigest)', async () => {
    emulator.createKey('digest-only', { kty: 'EC', curve: 'P-384' });
    const signer = await azure().open(ref(emulator, 'digest-only'));
    const digest = crypto.createHash('sha384').update('a large artifact, hashed by streaming').digest();
    const signature = (await signer.signDigest?.(digest)) as Buffer;
    const [request] = signRequests('digest-only');
    expect(request?.digest).toEqual(digest);
    expect(crypto.verify('sha384', Buffer.from('a large artifact, hashed by streaming'), emulatorPem('digest-only'), signature)).toBe(true);
  });
});

describe('ECDSA: raw r‖s from Key Vault becomes DER with fixed-width halves', () => {
  const curves = [
    { curve: 'P-256', width: 32, hash: 'sha256' },
    { curve: 'P-384', width: 48, hash: 'sha384' },
    { curve: 'P-521', width: 66, hash: 'sha512' },
  ] as const;

  test.each(curves.flatMap((c) => (['r', 's'] as const).map((half) => ({ ...c, half }))))(
    '$curve with a leading zero byte in $half',
    async ({ curve, width, hash, half }) => {
      const name = `zero-${half}-${curve}`;
      emulator.createKey(name, { kty: 'EC', curve });
      const signer = await azure().open(ref(emulator, name));
      emulator.faults.add({ fault: { kind: 'custom', name: `leading-zero-${half}` }, operation: 'Sign' });
      const artifact = crypto.randomBytes(100);
      const bundle: Bundle = await signArtifact({ bytes: artifact }, signer);
      const der = Buffer.from(bundle.content.$case === 'messageSignature' ? bundle.content.messageSignature.signature : []);
      // the emulator's own DER reader shows this signature's r (or s) really starts with a zero byte
      const raw = derToRaw(der, width);
      expect(raw[half === 'r' ? 0 : width]).toBe(0);
      expect(crypto.verify(hash as HashAlgorithm, artifact, emulatorPem(name), der)).toBe(true);
      expect(opensslVerify(serializeBundle(bundle), artifact, emulatorPem(name))).toBe(true);
      await expect(verifyBundle(bundle, { bytes: artifact }, { keys: [{ publicKey: emulatorPem(name) }] })).resolves.toBeDefined();
    },
  );
});

describe('key versions', () => {
  test('without a version, the newest enabled one; with one, exactly that one', async () => {
    const v1 = emulator.createKey('rotated');
    const v2 = emulator.createKey('rotated');
    const v3 = emulator.createKey('rotated');
    emulator.setEnabled('rotated', false, v3.version);

    const newest = await azure().open(ref(emulator, 'rotated'));
    expect(await newest.publicKey()).toBe(emulatorPem('rotated', v2.version));
    await newest.sign(Buffer.from('data'));
    expect(signRequests('rotated').map((r) => r.path)).toEqual([`/keys/rotated/${v2.version}/sign`]);

    const pinned = await azure().open(ref(emulator, 'rotated', v1.version));
    expect(await pinned.publicKey()).toBe(emulatorPem('rotated', v1.version));
    await pinned.sign(Buffer.from('data'));
    expect(signRequests('rotated').map((r) => r.path)).toEqual([`/keys/rotated/${v2.version}/sign`, `/keys/rotated/${v1.version}/sign`]);
  });

  test('when the current version is enabled, no version listing is needed', async () => {
    emulator.createKey('current');
    await azure().open(ref(emulator, 'current'));
    expect(emulator.calls('GetKeyVersions')).toEqual([]);
    expect(emulator.calls('GetKey').map((c) => c.status)).toEqual([200]);
  });

  test('the versions list is followed across pages', async () => {
    const versions = Array.from({ length: 30 }, () => emulator.createKey('many'));
    const last = versions[29]?.version as string;
    emulator.setEnabled('many', false, last);
    const signer = await azure().open(ref(emulator, 'many'));
    expect(await signer.publicKey()).toBe(emulatorPem('many', versions[28]?.version));
    expect(emulator.calls('GetKeyVersions').length).toBe(2);
  });

  test('a pinned disabled version still shows its public key, but refuses to sign', async () => {
    const v1 = emulator.createKey('retired');
    emulator.setEnabled('retired', false, v1.version);
    const signer = await azure().open(ref(emulator, 'retired', v1.version));
    expect(await signer.publicKey()).toBe(emulatorPem('retired'));
    const error = await signer.sign(Buffer.from('data')).catch((e: unknown) => e);
    expect(isSignetError(error, 'E_KEY_DISABLED')).toBe(true);
    expect((error as Error).message).toContain('Operation sign is not allowed on a disabled key');
  });

  test('every version disabled: E_KEY_DISABLED', async () => {
    emulator.createKey('all-off');
    emulator.createKey('all-off');
    for (const v of emulator.keys.versions('all-off')) emulator.setEnabled('all-off', false, v.version);
    await expect(azure().open(ref(emulator, 'all-off'))).rejects.toMatchObject({
      code: 'E_KEY_DISABLED',
      message: expect.stringContaining('no version of the key is enabled'),
    });
  });
});

describe('key generate', () => {
  test('creates a signing key (sign and verify only) and never replaces one', async () => {
    await azure().create?.(ref(emulator, 'fresh'), { algorithm: 'ecdsa-p384' });
    const created = emulator.keys.get('fresh');
    expect([created?.spec, created?.keyOps]).toEqual([{ kty: 'EC', curve: 'P-384' }, ['sign', 'verify']]);

    await expect(azure().create?.(ref(emulator, 'fresh'), {})).rejects.toMatchObject({ code: 'E_EXISTS' });
    expect(emulator.keys.versions('fresh')).toHaveLength(1);
    expect(emulator.calls('CreateKey')).toHaveLength(1);
  });

  test('ECDSA P-256 by default', async () => {
    await azure().create?.(ref(emulator, 'default-alg'), {});
    expect(emulator.keys.get('default-alg')?.spec).toEqual({ kty: 'EC', curve: 'P-256' });
  });

  test.each(['ed25519', 'rsa-pss-2048', 'rsa-pss-4096'])('%s is refused, naming what Key Vault offers', async (algorithm) => {
    const error = await azure()
      .create?.(ref(emulator, 'refused'), { algorithm })
      .catch((e: unknown) => e);
    expect(isSignetError(error, 'E_INPUT')).toBe(true);
    expect((error as Error).message).toContain('use one of ecdsa-p256, ecdsa-p384, ecdsa-p521, rsa-2048, rsa-3072, rsa-4096');
    expect(emulator.calls('CreateKey')).toEqual([]);
  });

  test('a reference with a version is refused: the vault assigns versions', async () => {
    await expect(azure().create?.(ref(emulator, 'versioned', 'abc123'), {})).rejects.toMatchObject({ code: 'E_INPUT' });
    expect(emulator.requests).toEqual([]);
  });
});

describe('the default credential', () => {
  test("DefaultAzureCredential from the environment, with the clients' TLS settings and the opt-ins from `env`", async () => {
    emulator.createKey('from-env');
    const env = envFor(emulator);
    const saved = { ...process.env };
    const provider = createAzureKeyVaultProvider({ clientOptions: { tlsOptions: { ca: emulator.caPem } } });
    try {
      Object.assign(process.env, {
        AZURE_TENANT_ID: env.AZURE_TENANT_ID,
        AZURE_CLIENT_ID: env.AZURE_CLIENT_ID,
        AZURE_CLIENT_SECRET: env.AZURE_CLIENT_SECRET,
        AZURE_AUTHORITY_HOST: env.AZURE_AUTHORITY_HOST,
      });
      const signer = await provider.open(ref(emulator, 'from-env'), { env });
      await signer.sign(Buffer.from('data'));
      // a second key through the same provider reuses the credential's token
      emulator.createKey('from-env-2');
      await provider.open(ref(emulator, 'from-env-2'), { env });
    } finally {
      for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
      Object.assign(process.env, saved);
    }
    expect(emulator.calls('Token')).toHaveLength(1);
    expect(signRequests('from-env').map((r) => r.status)).toEqual([200]);
  });
});
