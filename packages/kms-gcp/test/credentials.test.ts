// Credentials and endpoints as the SDK handles them itself, over its own gRPC channel: a key
// file, a key object, gcloud's endpoint override, the emulator's token endpoint, and keys
// or tokens the service does not accept. Nothing secret ends up in what Signet throws.
import './grpc-default-roots';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseKeyRef } from '@signet/core';
import type { ServiceAccountKey } from '@signet/emulators/gcp-kms';
import { googleAuthLibrary } from 'google-gax';
import { createGcpKmsProvider, ENDPOINT_OVERRIDE, type GcpKmsProviderOptions } from '../src';
import { keyName, QUICK, uri, useEmulator } from './support';

const emulator = useEmulator();
const KEY = 'credentials';
let dir: string;

beforeAll(async () => {
  fs.writeFileSync(process.env.GRPC_DEFAULT_SSL_ROOTS_FILE_PATH as string, emulator.caPem);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-gcpkms-credentials-'));
  await emulator.seedKey(keyName(KEY));
});

afterAll(() => {
  fs.rmSync(process.env.GRPC_DEFAULT_SSL_ROOTS_FILE_PATH as string, { force: true });
  fs.rmSync(dir, { recursive: true, force: true });
});

afterEach(() => {
  emulator.allowAll();
  emulator.faults.clear();
});

/** gRPC to the emulator's HTTPS front, on the SDK's own channel (the CA comes from GRPC_DEFAULT_SSL_ROOTS_FILE_PATH). */
function grpc(options: GcpKmsProviderOptions) {
  return createGcpKmsProvider({ apiEndpoint: '127.0.0.1', port: emulator.tlsPort, ...QUICK, ...options });
}

function writeKey(name: string, key: unknown): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, typeof key === 'string' ? key : JSON.stringify(key));
  return file;
}

async function signs(provider: ReturnType<typeof createGcpKmsProvider>): Promise<boolean> {
  const signer = await provider.open(parseKeyRef(uri(KEY)));
  const data = Buffer.from('data');
  return crypto.verify('sha256', data, await signer.publicKey(), await signer.sign(data));
}

/** Every string in an error, its message and its causes, for looking for secrets. */
function everything(error: unknown): string {
  const seen: string[] = [];
  for (let e = error as { message?: unknown; cause?: unknown; stack?: unknown } | undefined; e; e = e.cause as typeof e) {
    seen.push(String(e.message), String(e.stack), JSON.stringify(e));
  }
  return seen.join('\n');
}

test('a service-account key file, used by the SDK itself, is who the service sees', async () => {
  const other = emulator.createServiceAccount('release-signer@signet-test.iam.gserviceaccount.com');
  const otherFile = writeKey('release-signer.json', other);
  emulator.deny({ principal: emulator.defaultPrincipal });
  expect(await signs(grpc({ keyFilename: otherFile }))).toBe(true);
  await expect(signs(grpc({ keyFilename: emulator.credentialsFile }))).rejects.toMatchObject({ code: 'E_PERMISSION' });
});

test('a service-account key given as an object', async () => {
  const key = emulator.createServiceAccount('object-key@signet-test.iam.gserviceaccount.com');
  expect(await signs(grpc({ credentials: { client_email: key.client_email, private_key: key.private_key } }))).toBe(true);
});

test('a key the service does not know is refused as unauthenticated (E_PERMISSION), once', async () => {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const stranger = {
    client_email: 'stranger@elsewhere.iam.gserviceaccount.com',
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
  const before = emulator.calls('ListCryptoKeyVersions').length;
  await expect(signs(grpc({ credentials: stranger }))).rejects.toMatchObject({
    code: 'E_PERMISSION',
    message: expect.stringContaining('UNAUTHENTICATED'),
  });
  expect(emulator.calls('ListCryptoKeyVersions').length - before).toBe(1);
});

test('a key file that cannot be read is E_PERMISSION, and its contents appear nowhere in the error', async () => {
  const secret = 'SECRET-4f9a1c-private-key-material';
  const broken = writeKey('broken.json', `{"type": "service_account", "private_key": "${secret}", oops`);
  const before = emulator.requests.length;
  const error = await signs(grpc({ keyFilename: broken })).catch((e: unknown) => e);
  expect(error).toMatchObject({ code: 'E_PERMISSION', message: expect.stringContaining('authenticate') });
  expect(everything(error)).not.toContain(secret);
  // Found out before any call was made.
  expect(emulator.requests).toHaveLength(before);
});

describe('the token endpoint (token_uri)', () => {
  /** The OAuth 2.0 JWT bearer grant: an assertion signed with the key, exchanged for an access token. */
  async function exchange(key: ServiceAccountKey): Promise<Response> {
    const now = Math.floor(Date.now() / 1000);
    const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const unsigned = `${encode({ alg: 'RS256', typ: 'JWT', kid: key.private_key_id })}.${encode({
      iss: key.client_email,
      scope: 'https://www.googleapis.com/auth/cloudkms',
      aud: key.token_uri,
      iat: now,
      exp: now + 3600,
    })}`;
    const signature = crypto.sign('sha256', Buffer.from(unsigned), key.private_key).toString('base64url');
    return fetch(key.token_uri, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: `${unsigned}.${signature}` }),
    });
  }

  /** REST with an auth client holding just an access token. */
  function withToken(token: string) {
    const authClient = new googleAuthLibrary.OAuth2Client({ transporterOptions: { fetchImplementation: fetch } });
    authClient.setCredentials({ access_token: token });
    return createGcpKmsProvider({ apiEndpoint: '127.0.0.1', port: emulator.port, fallback: true, protocol: 'http', authClient, ...QUICK });
  }

  test('mints an access token for a signed assertion, which the API accepts', async () => {
    const key = JSON.parse(fs.readFileSync(emulator.credentialsFile, 'utf8')) as ServiceAccountKey;
    expect(key.token_uri).toBe(`${emulator.url}/token`);
    const response = await exchange(key);
    expect(response.status).toBe(200);
    const { access_token, token_type } = (await response.json()) as { access_token: string; token_type: string };
    expect(token_type).toBe('Bearer');
    expect(await signs(withToken(access_token))).toBe(true);
    expect(emulator.calls('Token').at(-1)?.body).toBeUndefined();
  });

  test('refuses an assertion signed by another key, and the API refuses a token it did not mint', async () => {
    const key = JSON.parse(fs.readFileSync(emulator.credentialsFile, 'utf8')) as ServiceAccountKey;
    const forged = crypto
      .generateKeyPairSync('rsa', { modulusLength: 2048 })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    const refused = await exchange({ ...key, private_key: forged });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ error: 'invalid_grant' });
    const token = 'ya29.not-minted-by-anyone';
    const error = await signs(withToken(token)).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'E_PERMISSION', message: expect.stringContaining('UNAUTHENTICATED') });
    expect(everything(error)).not.toContain(token);
  });
});

describe(`gcloud's endpoint override, ${ENDPOINT_OVERRIDE}`, () => {
  const fromEnv = (value: string, options: GcpKmsProviderOptions = {}) =>
    createGcpKmsProvider({ keyFilename: emulator.credentialsFile, ...QUICK, ...options }).open(parseKeyRef(uri(KEY)), {
      env: { [ENDPOINT_OVERRIDE]: value },
    });

  test('https://HOST:PORT/ is gRPC over TLS', async () => {
    const before = emulator.requests.length;
    const signer = await fromEnv(emulator.endpoint);
    await signer.sign(Buffer.from('data'));
    const seen = emulator.requests.slice(before);
    expect(seen.map((r) => r.operation)).toEqual(['ListCryptoKeyVersions', 'GetPublicKey', 'AsymmetricSign']);
    expect(seen.every((r) => r.path.startsWith('/google.cloud.kms.v1.KeyManagementService/'))).toBe(true);
  });

  test('http://HOST:PORT/ is REST, the only way credentials reach a plaintext endpoint', async () => {
    const before = emulator.requests.length;
    const authClient = new googleAuthLibrary.OAuth2Client({ transporterOptions: { fetchImplementation: fetch } });
    authClient.setCredentials({ access_token: emulator.principals.mintAccessToken(emulator.defaultPrincipal) });
    await fromEnv(`${emulator.url}/`, { authClient });
    expect(emulator.requests.slice(before).map((r) => r.path.slice(0, 4))).toEqual(['/v1/', '/v1/']);
  });

  test('explicit options win over the override', async () => {
    const before = emulator.requests.length;
    await fromEnv('https://cloudkms.invalid/', { apiEndpoint: '127.0.0.1', port: emulator.tlsPort });
    expect(emulator.requests.length - before).toBe(2);
  });

  test.each([
    ['not a URL', 'cloudkms.example.com'],
    ['another scheme', 'grpc://127.0.0.1:1/'],
    ['a path', 'https://cloudkms.example.com/v1/'],
    ['user-info, not repeated', 'https://user:SECRET-in-url@cloudkms.example.com/'],
  ])('%s is E_INPUT', async (_label, value) => {
    const error = await fromEnv(value).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'E_INPUT', message: expect.stringContaining(ENDPOINT_OVERRIDE) });
    expect(everything(error)).not.toContain('SECRET-in-url');
  });
});
