// The Azure Key Vault emulator on the wire, with plain HTTPS requests: the challenge, the
// token endpoint, raw r‖s signatures, disabled keys, denials, paging and faults.
import crypto from 'node:crypto';
import https from 'node:https';
import { AzureKeyVaultEmulator, DEFAULT_CLIENT_ID, derToRaw, envFor } from '../src/azure-keyvault';

const emulator = new AzureKeyVaultEmulator();
beforeAll(() => emulator.start());
afterAll(() => emulator.stop());
beforeEach(() => emulator.reset());

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json: Record<string, unknown>;
}

function call(
  method: string,
  path: string,
  options: { token?: string; body?: unknown; form?: Record<string, string> } = {},
): Promise<Reply> {
  const payload = options.form ? new URLSearchParams(options.form).toString() : options.body ? JSON.stringify(options.body) : undefined;
  return new Promise((resolve, reject) => {
    const request = https.request(
      {
        host: '127.0.0.1',
        port: emulator.port,
        method,
        path,
        ca: emulator.caPem,
        headers: {
          ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
          ...(options.form ? { 'content-type': 'application/x-www-form-urlencoded' } : { 'content-type': 'application/json' }),
        },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: response.statusCode ?? 0, headers: response.headers, json: text ? JSON.parse(text) : {} });
        });
      },
    );
    request.on('error', reject);
    request.end(payload);
  });
}

async function token(
  clientId = DEFAULT_CLIENT_ID,
  secret = emulator.clientSecret,
  scope = 'https://vault.azure.net/.default',
): Promise<string> {
  const reply = await call('POST', `/${emulator.tenantId}/oauth2/v2.0/token`, {
    form: { grant_type: 'client_credentials', client_id: clientId, client_secret: secret, scope },
  });
  expect(reply.status).toBe(200);
  return reply.json.access_token as string;
}

const API = 'api-version=2025-07-01';

describe('authentication', () => {
  test('a Key Vault call without a token meets the bearer challenge', async () => {
    emulator.createKey('k');
    const reply = await call('GET', `/keys/k?${API}`);
    expect(reply.status).toBe(401);
    expect(reply.headers['www-authenticate']).toBe(
      `Bearer authorization="${emulator.url}/${emulator.tenantId}", resource="https://vault.azure.net"`,
    );
    expect(reply.json).toEqual({ error: { code: 'Unauthorized', message: expect.stringContaining('AKV10000') } });
    expect(emulator.requests.map((r) => r.operation)).toEqual(['Challenge']);
  });

  test('the token endpoint issues bearer tokens the vault accepts, and refuses wrong secrets without echoing them', async () => {
    emulator.createKey('k');
    const accepted = await call('GET', `/keys/k?${API}`, { token: await token() });
    expect(accepted.status).toBe(200);

    const secret = 'not-the-secret-1234';
    const refused = await call('POST', `/${emulator.tenantId}/oauth2/v2.0/token`, {
      form: {
        grant_type: 'client_credentials',
        client_id: DEFAULT_CLIENT_ID,
        client_secret: secret,
        scope: 'https://vault.azure.net/.default',
      },
    });
    expect([refused.status, refused.json.error]).toEqual([401, 'invalid_client']);
    expect(JSON.stringify(refused.json)).not.toContain(secret);
    // the form body (with the secret) is not JSON, so the log holds no body for it; tokens are redacted
    expect(JSON.stringify(emulator.requests)).not.toContain(emulator.clientSecret);
    expect(emulator.calls('GetKey')[0]?.headers.authorization).toBe('[redacted]');

    const otherTenant = await call('POST', '/another-tenant/oauth2/v2.0/token', { form: { grant_type: 'client_credentials' } });
    expect([otherTenant.status, otherTenant.json.error]).toEqual([400, 'invalid_tenant']);
  });

  test('a token for another resource, or an expired one, is challenged again', async () => {
    emulator.createKey('k');
    const storage = await token(DEFAULT_CLIENT_ID, emulator.clientSecret, 'https://storage.azure.com/.default');
    expect((await call('GET', `/keys/k?${API}`, { token: storage })).status).toBe(401);
    const vault = await token();
    emulator.expireTokens();
    const expired = await call('GET', `/keys/k?${API}`, { token: vault });
    expect([expired.status, expired.headers['www-authenticate'] !== undefined]).toEqual([401, true]);
  });

  test('the OpenID metadata MSAL reads names the token endpoint under the authority', async () => {
    const reply = await call('GET', `/${emulator.tenantId}/v2.0/.well-known/openid-configuration`);
    expect(reply.json.token_endpoint).toBe(`${emulator.url}/${emulator.tenantId}/oauth2/v2.0/token`);
    expect(reply.json.issuer).toBe(`${emulator.url}/${emulator.tenantId}/v2.0`);
  });

  test('envFor points a child process at the emulator, its CA and its application', () => {
    expect(envFor(emulator)).toEqual({
      AZURE_TENANT_ID: emulator.tenantId,
      AZURE_CLIENT_ID: DEFAULT_CLIENT_ID,
      AZURE_CLIENT_SECRET: emulator.clientSecret,
      AZURE_AUTHORITY_HOST: emulator.url,
      NODE_EXTRA_CA_CERTS: emulator.caFile,
      SIGNET_AZURE_DISABLE_CHALLENGE_RESOURCE_VERIFICATION: '1',
      SIGNET_AZURE_DISABLE_INSTANCE_DISCOVERY: '1',
    });
  });
});

describe('keys', () => {
  test('create, read (JWK) and sign: ECDSA answers raw r‖s', async () => {
    const bearer = await token();
    const created = await call('POST', `/keys/ec/create?${API}`, {
      token: bearer,
      body: { kty: 'EC', crv: 'P-384', key_ops: ['sign', 'verify'] },
    });
    expect(created.status).toBe(200);
    const jwk = created.json.key as Record<string, string>;
    expect(jwk).toMatchObject({ kty: 'EC', crv: 'P-384', key_ops: ['sign', 'verify'] });
    const version = jwk.kid?.split('/').pop() as string;
    expect(jwk.kid).toBe(`${emulator.url}/keys/ec/${version}`);

    const message = Buffer.from('signed by the emulator');
    const digest = crypto.createHash('sha384').update(message).digest();
    const signed = await call('POST', `/keys/ec/${version}/sign?${API}`, {
      token: bearer,
      body: { alg: 'ES384', value: digest.toString('base64url') },
    });
    const raw = Buffer.from(signed.json.value as string, 'base64url');
    expect(raw).toHaveLength(96);
    const publicKey = crypto.createPublicKey({ key: { kty: 'EC', crv: 'P-384', x: jwk.x, y: jwk.y }, format: 'jwk' });
    expect(crypto.verify('sha384', message, { key: publicKey, dsaEncoding: 'ieee-p1363' }, raw)).toBe(true);
  });

  test('RSA keys sign RS and PS algorithms with any hash; a wrong algorithm or digest length is refused', async () => {
    const bearer = await token();
    const key = emulator.createKey('rsa', { kty: 'RSA', size: 2048 });
    const publicKey = crypto.createPublicKey(key.privateKey);
    const message = Buffer.from('rsa');
    const sign = (alg: string, digest: Buffer) =>
      call('POST', `/keys/rsa/${key.version}/sign?${API}`, { token: bearer, body: { alg, value: digest.toString('base64url') } });

    const ps = await sign('PS256', crypto.createHash('sha256').update(message).digest());
    const pss = { key: publicKey, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 };
    expect(crypto.verify('sha256', message, pss, Buffer.from(ps.json.value as string, 'base64url'))).toBe(true);
    const rs = await sign('RS384', crypto.createHash('sha384').update(message).digest());
    expect(crypto.verify('sha384', message, publicKey, Buffer.from(rs.json.value as string, 'base64url'))).toBe(true);

    expect((await sign('ES256', crypto.createHash('sha256').update(message).digest())).json).toMatchObject({
      error: { code: 'BadParameter' },
    });
    expect((await sign('RS512', crypto.createHash('sha256').update(message).digest())).status).toBe(400);
  });

  test('a disabled version can be read but not used to sign', async () => {
    const bearer = await token();
    const key = emulator.createKey('off');
    emulator.setEnabled('off', false);
    const read = await call('GET', `/keys/off/${key.version}?${API}`, { token: bearer });
    expect(read.json.attributes).toMatchObject({ enabled: false });
    const signed = await call('POST', `/keys/off/${key.version}/sign?${API}`, {
      token: bearer,
      body: { alg: 'ES256', value: Buffer.alloc(32).toString('base64url') },
    });
    expect([signed.status, signed.json]).toEqual([
      403,
      { error: { code: 'Forbidden', message: 'Operation sign is not allowed on a disabled key.', innererror: { code: 'KeyDisabled' } } },
    ]);
  });

  test('denials: Forbidden with the inner error of an access policy, RBAC or the firewall', async () => {
    const bearer = await token();
    emulator.createKey('k');
    const inner = async (mode: 'access-policy' | 'rbac' | 'firewall') => {
      emulator.deny(DEFAULT_CLIENT_ID, mode);
      const reply = await call('GET', `/keys/k?${API}`, { token: bearer });
      return [reply.status, (reply.json.error as { code: string; innererror: { code: string } }).innererror.code];
    };
    expect(await inner('access-policy')).toEqual([403, 'AccessDenied']);
    expect(await inner('rbac')).toEqual([403, 'ForbiddenByRbac']);
    expect(await inner('firewall')).toEqual([403, 'ForbiddenByConnection']);
    emulator.allow(DEFAULT_CLIENT_ID);
    expect((await call('GET', `/keys/k?${API}`, { token: bearer })).status).toBe(200);
  });

  test('a missing key, a missing api-version, and versions listed in pages in creation order', async () => {
    const bearer = await token();
    expect((await call('GET', `/keys/none?${API}`, { token: bearer })).json).toMatchObject({ error: { code: 'KeyNotFound' } });
    expect((await call('GET', '/keys/none', { token: bearer })).status).toBe(400);

    const made = Array.from({ length: 27 }, () => emulator.createKey('many').version);
    const first = await call('GET', `/keys/many/versions?${API}`, { token: bearer });
    const next = new URL(first.json.nextLink as string);
    const second = await call('GET', `${next.pathname}${next.search}`, { token: bearer });
    expect(second.json.nextLink).toBeNull();
    const listed = [...(first.json.value as { kid: string }[]), ...(second.json.value as { kid: string }[])].map((v) =>
      v.kid.split('/').pop(),
    );
    expect(listed).toEqual(made);
    const created = (first.json.value as { attributes: { created: number } }[]).map((v) => v.attributes.created);
    expect([...created].sort((a, b) => a - b)).toEqual(created);
    expect(new Set(created).size).toBe(created.length);
  });
});

describe('faults', () => {
  test("throttling in Key Vault's format, with Retry-After", async () => {
    emulator.createKey('k');
    emulator.faults.add({ fault: { kind: 'throttle', retryAfterSeconds: 3 }, operation: 'GetKey' });
    const reply = await call('GET', `/keys/k?${API}`, { token: await token() });
    expect([reply.status, reply.headers['retry-after'], (reply.json.error as { code: string }).code]).toEqual([429, '3', 'Throttled']);
  });

  test('a dropped connection drops the TLS connection too', async () => {
    emulator.faults.add({ fault: { kind: 'drop' }, operation: 'Challenge' });
    await expect(call('GET', `/keys/k?${API}`)).rejects.toThrow(/socket hang up|ECONNRESET/);
    expect((await call('GET', `/keys/k?${API}`)).status).toBe(401);
  });
});

describe('derToRaw', () => {
  test("fixed-width halves, whatever the DER integers' lengths", () => {
    // SEQUENCE { INTEGER 0x01, INTEGER 0x00 0x80 } → r = 1, s = 0x80, each in 4 bytes
    expect(derToRaw(Buffer.from('3007020101020200' + '80', 'hex'), 4).toString('hex')).toBe('0000000100000080');
  });
});
