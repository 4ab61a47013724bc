// The Vault Transit emulator over raw HTTP: what Vault answers, checked with Node's own crypto.
import crypto from 'node:crypto';
import { envFor, VaultTransitEmulator } from '../src/vault-transit';

const vault = new VaultTransitEmulator({ mounts: ['transit', 'team/transit'] });
beforeAll(() => vault.start());
afterAll(() => vault.stop());
afterEach(() => {
  vault.faults.clear();
  vault.unseal();
});

const MESSAGE = Buffer.from('what Transit signs');

async function call(
  method: string,
  path: string,
  options: { body?: unknown; token?: string | null; namespace?: string } = {},
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const headers: Record<string, string> = {};
  if (options.token !== null) headers['x-vault-token'] = options.token ?? vault.rootToken;
  if (options.namespace) headers['x-vault-namespace'] = options.namespace;
  const response = await fetch(`${vault.url}/v1/${path}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, headers: response.headers };
}

function data(body: Record<string, unknown>): Record<string, unknown> {
  return body.data as Record<string, unknown>;
}

function signatureOf(body: Record<string, unknown>): { version: number; bytes: Buffer } {
  const match = /^vault:v(\d+):(.+)$/.exec(String(data(body).signature));
  if (!match) throw new Error(`not a Vault signature: ${JSON.stringify(body)}`);
  return { version: Number(match[1]), bytes: Buffer.from(match[2] as string, 'base64') };
}

describe('keys', () => {
  it('creates, reads (PEM public keys, raw base64 for ed25519) and warns instead of replacing', async () => {
    expect((await call('POST', 'transit/keys/created', { body: { type: 'ecdsa-p384' } })).status).toBe(200);
    const read = await call('GET', 'transit/keys/created');
    expect(data(read.body)).toMatchObject({ type: 'ecdsa-p384', latest_version: 1, supports_signing: true, min_encryption_version: 0 });
    const entry = (data(read.body).keys as Record<string, { public_key: string; name: string }>)['1'];
    expect(entry?.name).toBe('P-384');
    expect(crypto.createPublicKey(entry?.public_key ?? '').asymmetricKeyDetails?.namedCurve).toBe('secp384r1');

    const again = await call('POST', 'transit/keys/created', { body: { type: 'rsa-2048' } });
    expect(again.body.warnings).toEqual(['key created already existed']);
    expect(vault.key('created')?.type).toBe('ecdsa-p384');

    await call('POST', 'transit/keys/edwards', { body: { type: 'ed25519' } });
    const edwards = (data((await call('GET', 'transit/keys/edwards')).body).keys as Record<string, { public_key: string }>)['1'];
    expect(Buffer.from(edwards?.public_key ?? '', 'base64')).toHaveLength(32);
  });

  it('answers 404 with no errors for a missing key, and 400 for an unknown type', async () => {
    expect(await call('GET', 'transit/keys/nothing-here')).toMatchObject({ status: 404, body: { errors: [] } });
    expect(await call('POST', 'transit/keys/odd', { body: { type: 'rsa-1024' } })).toMatchObject({
      status: 400,
      body: { errors: ['unknown key type rsa-1024'] },
    });
  });

  it('rotates, applies min versions, and deletes only when allowed', async () => {
    vault.createKey('ring', 'ecdsa-p256');
    expect(data((await call('POST', 'transit/keys/ring/rotate')).body).latest_version).toBe(2);
    expect((await call('POST', 'transit/keys/ring/config', { body: { min_encryption_version: 3 } })).status).toBe(400);
    expect((await call('POST', 'transit/keys/ring/config', { body: { min_encryption_version: 2 } })).status).toBe(200);
    const digest = crypto.createHash('sha256').update(MESSAGE).digest().toString('base64');
    const old = await call('POST', 'transit/sign/ring/sha2-256', { body: { input: digest, prehashed: true, key_version: 1 } });
    expect(old).toMatchObject({
      status: 400,
      body: { errors: ['requested version for signing is less than the minimum encryption key version'] },
    });
    const future = await call('POST', 'transit/sign/ring/sha2-256', { body: { input: digest, prehashed: true, key_version: 9 } });
    expect(future.body.errors).toEqual(['requested version for signing is higher than the latest key version']);

    expect((await call('DELETE', 'transit/keys/ring')).body.errors).toEqual(['deletion is not allowed for this key']);
    await call('POST', 'transit/keys/ring/config', { body: { deletion_allowed: true } });
    expect((await call('DELETE', 'transit/keys/ring')).status).toBe(204);
    expect((await call('GET', 'transit/keys/ring')).status).toBe(404);
  });

  it('keeps keys apart per namespace and per mount', async () => {
    vault.createKey('shared-name', 'ecdsa-p256', { namespace: 'team-a' });
    expect((await call('GET', 'transit/keys/shared-name', { namespace: 'team-a' })).status).toBe(200);
    expect((await call('GET', 'transit/keys/shared-name', { namespace: 'team-b' })).status).toBe(404);
    expect((await call('GET', 'transit/keys/shared-name')).status).toBe(404);
    vault.createKey('mounted', 'ed25519', { mount: 'team/transit' });
    expect((await call('GET', 'team/transit/keys/mounted')).status).toBe(200);
    expect((await call('GET', 'transit/keys/mounted')).status).toBe(404);
    expect(await call('GET', 'elsewhere/keys/mounted')).toMatchObject({
      status: 404,
      body: { errors: [expect.stringContaining('no handler for route')] },
    });
  });
});

describe('signing, verified by Node crypto', () => {
  const digestOf = (hash: string) => crypto.createHash(hash).update(MESSAGE).digest().toString('base64');

  it.each([
    ['ecdsa-p256', 'sha2-256', 'sha256'],
    ['ecdsa-p384', 'sha2-384', 'sha384'],
    ['ecdsa-p521', 'sha2-512', 'sha512'],
  ] as const)('%s signs the digest it is given (DER)', async (type, vaultHash, hash) => {
    const key = vault.createKey(`sign-${type}`, type);
    const response = await call('POST', `transit/sign/sign-${type}/${vaultHash}`, { body: { input: digestOf(hash), prehashed: true } });
    const { version, bytes } = signatureOf(response.body);
    expect(version).toBe(1);
    expect(bytes[0]).toBe(0x30);
    expect(crypto.verify(hash, MESSAGE, key.publicKeyPem(), bytes)).toBe(true);
  });

  it('RSA PKCS#1 v1.5 over a digest', async () => {
    const key = vault.createKey('rsa-pkcs1', 'rsa-2048');
    const response = await call('POST', 'transit/sign/rsa-pkcs1/sha2-256', {
      body: { input: digestOf('sha256'), prehashed: true, signature_algorithm: 'pkcs1v15' },
    });
    expect(crypto.verify('sha256', MESSAGE, key.publicKeyPem(), signatureOf(response.body).bytes)).toBe(true);
  });

  it('RSA PSS (Vault’s default) uses the maximum salt length', async () => {
    const key = vault.createKey('rsa-pss', 'rsa-3072');
    const response = await call('POST', 'transit/sign/rsa-pss/sha2-256', { body: { input: digestOf('sha256'), prehashed: true } });
    const { bytes } = signatureOf(response.body);
    const pss = (saltLength: number) =>
      crypto.verify('sha256', MESSAGE, { key: key.publicKeyPem(), padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength }, bytes);
    const maxSalt = 3072 / 8 - 32 - 2;
    expect(pss(maxSalt)).toBe(true);
    expect(pss(crypto.constants.RSA_PSS_SALTLEN_AUTO)).toBe(true);
    expect(pss(32)).toBe(false);
  });

  it('hashes the input itself when it is not prehashed', async () => {
    const key = vault.createKey('hashing', 'ecdsa-p256');
    const response = await call('POST', 'transit/sign/hashing', { body: { input: MESSAGE.toString('base64') } });
    expect(crypto.verify('sha256', MESSAGE, key.publicKeyPem(), signatureOf(response.body).bytes)).toBe(true);
  });

  it('Ed25519 signs the message, and refuses a prehashed input', async () => {
    const key = vault.createKey('edwards-sign', 'ed25519');
    const response = await call('POST', 'transit/sign/edwards-sign', { body: { input: MESSAGE.toString('base64') } });
    expect(crypto.verify(null, MESSAGE, key.publicKeyPem(), signatureOf(response.body).bytes)).toBe(true);
    expect((await call('POST', 'transit/sign/edwards-sign', { body: { input: digestOf('sha256'), prehashed: true } })).status).toBe(400);
  });

  it('signs with a pinned older version after a rotation', async () => {
    const key = vault.createKey('versions', 'ecdsa-p256');
    const v1 = key.publicKeyPem(1);
    key.rotate();
    const response = await call('POST', 'transit/sign/versions/sha2-256', {
      body: { input: digestOf('sha256'), prehashed: true, key_version: 1 },
    });
    const { version, bytes } = signatureOf(response.body);
    expect(version).toBe(1);
    expect(crypto.verify('sha256', MESSAGE, v1, bytes)).toBe(true);
    expect(crypto.verify('sha256', MESSAGE, key.publicKeyPem(2), bytes)).toBe(false);
  });

  it('refuses to sign with a key that cannot sign, and with a missing one', async () => {
    vault.createKey('symmetric', 'aes256-gcm96');
    expect((await call('POST', 'transit/sign/symmetric', { body: { input: 'AA==' } })).body.errors).toEqual([
      'key type aes256-gcm96 does not support signing',
    ]);
    expect((await call('POST', 'transit/sign/absent', { body: { input: 'AA==' } })).body.errors).toEqual(['encryption key not found']);
  });
});

describe('tokens and policies', () => {
  it('refuses a missing or unknown token with 403 permission denied', async () => {
    expect(await call('GET', 'transit/keys/created', { token: null })).toMatchObject({
      status: 403,
      body: { errors: ['permission denied'] },
    });
    expect((await call('GET', 'transit/keys/created', { token: 'hvs.unknown' })).status).toBe(403);
  });

  it('grants by path and capability, the most specific rule deciding, deny beating all', async () => {
    vault.createKey('release', 'ecdsa-p256');
    vault.createKey('other', 'ecdsa-p256');
    vault.addToken('hvs.signer', [
      { path: 'transit/keys/release', capabilities: ['read'] },
      { path: 'transit/sign/release/*', capabilities: ['update'] },
      { path: 'transit/keys/+', capabilities: ['deny'] },
    ]);
    const digest = crypto.createHash('sha256').update(MESSAGE).digest().toString('base64');
    expect((await call('GET', 'transit/keys/release', { token: 'hvs.signer' })).status).toBe(200);
    expect(
      (await call('POST', 'transit/sign/release/sha2-256', { token: 'hvs.signer', body: { input: digest, prehashed: true } })).status,
    ).toBe(200);
    expect((await call('GET', 'transit/keys/other', { token: 'hvs.signer' })).status).toBe(403);
    expect((await call('POST', 'transit/sign/other/sha2-256', { token: 'hvs.signer', body: { input: digest } })).status).toBe(403);
    expect((await call('POST', 'transit/keys/release/rotate', { token: 'hvs.signer' })).status).toBe(403);
    vault.revokeToken('hvs.signer');
    expect((await call('GET', 'transit/keys/release', { token: 'hvs.signer' })).status).toBe(403);
  });

  it('matches a namespaced request against the namespace-qualified path', async () => {
    vault.createKey('ns-key', 'ecdsa-p256', { namespace: 'team-a' });
    vault.addToken('hvs.team-a', [{ path: 'team-a/transit/*', capabilities: ['read'] }]);
    expect((await call('GET', 'transit/keys/ns-key', { token: 'hvs.team-a', namespace: 'team-a' })).status).toBe(200);
    expect((await call('GET', 'transit/keys/ns-key', { token: 'hvs.team-a', namespace: 'team-b' })).status).toBe(403);
  });

  it('logs requests with the token redacted', async () => {
    await call('GET', 'transit/keys/created', { token: 'hvs.not-for-the-log' });
    const last = vault.requests.at(-1);
    expect(last).toMatchObject({ operation: 'ReadKey', status: 403 });
    expect(last?.headers['x-vault-token']).toBe('[redacted]');
    expect(JSON.stringify(vault.requests)).not.toContain('hvs.not-for-the-log');
  });
});

describe('faults', () => {
  it('seals: 503 "Vault is sealed" for everything, and sys/health says so', async () => {
    vault.seal();
    expect(await call('GET', 'transit/keys/created')).toMatchObject({ status: 503, body: { errors: ['Vault is sealed'] } });
    expect(await call('GET', 'sys/health', { token: null })).toMatchObject({ status: 503, body: { sealed: true } });
    vault.unseal();
    expect(await call('GET', 'sys/health', { token: null })).toMatchObject({ status: 200, body: { sealed: false } });
  });

  it('throttles with Retry-After, and injects sealed, stale-index and any status once', async () => {
    vault.faults
      .add({ fault: { kind: 'throttle', retryAfterSeconds: 3 }, operation: 'ReadKey' })
      .add({ fault: { kind: 'custom', name: 'sealed' }, operation: 'ReadKey' })
      .add({ fault: { kind: 'custom', name: 'stale-index' }, operation: 'ReadKey' })
      .add({ fault: { kind: 'status', status: 502 }, operation: 'ReadKey' });
    const throttled = await call('GET', 'transit/keys/created');
    expect([throttled.status, throttled.headers.get('retry-after')]).toEqual([429, '3']);
    expect(await call('GET', 'transit/keys/created')).toMatchObject({ status: 503, body: { errors: ['Vault is sealed'] } });
    expect((await call('GET', 'transit/keys/created')).status).toBe(412);
    expect((await call('GET', 'transit/keys/created')).status).toBe(502);
    expect((await call('GET', 'transit/keys/created')).status).toBe(200);
    expect(
      vault
        .calls('ReadKey')
        .slice(-5)
        .map((r) => r.fault ?? 'none'),
    ).toEqual(['throttle', 'custom', 'custom', 'status', 'none']);
  });

  it('corrupts a signature, or labels it with the wrong version', async () => {
    const key = vault.createKey('damaged', 'ecdsa-p256');
    const digest = crypto.createHash('sha256').update(MESSAGE).digest().toString('base64');
    vault.faults
      .add({ fault: { kind: 'corrupt' }, operation: 'Sign' })
      .add({ fault: { kind: 'custom', name: 'wrong-version' }, operation: 'Sign' });
    const corrupt = signatureOf((await call('POST', 'transit/sign/damaged/sha2-256', { body: { input: digest, prehashed: true } })).body);
    expect(crypto.verify('sha256', MESSAGE, key.publicKeyPem(), corrupt.bytes)).toBe(false);
    const relabelled = signatureOf(
      (await call('POST', 'transit/sign/damaged/sha2-256', { body: { input: digest, prehashed: true } })).body,
    );
    expect(relabelled.version).toBe(2);
    expect(crypto.verify('sha256', MESSAGE, key.publicKeyPem(1), relabelled.bytes)).toBe(true);
  });

  it('envFor gives the variables cosign and Signet read', () => {
    expect(envFor(vault)).toEqual({ VAULT_ADDR: vault.url, VAULT_TOKEN: vault.rootToken });
    expect(envFor(vault, { token: 't', namespace: 'ns', mountPath: 'team/transit' })).toEqual({
      VAULT_ADDR: vault.url,
      VAULT_TOKEN: 't',
      VAULT_NAMESPACE: 'ns',
      TRANSIT_SECRET_ENGINE_PATH: 'team/transit',
    });
  });
});
