// The GCP Cloud KMS emulator on its own: the wire formats of both transports, authentication,
// state changes and faults, driven with plain HTTP and a plain grpc-js client (the SDK-level
// tests live with the provider, packages/kms-gcp).
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { envFor, GcpKmsEmulator, grpcStatusFault } from '../src/gcp-kms';
import { crc } from '../src/gcp-kms/state';

const emulator = new GcpKmsEmulator();
const KEY = 'projects/p/locations/global/keyRings/r/cryptoKeys/k';
const VERSION = `${KEY}/cryptoKeyVersions/1`;
let token: string;

beforeAll(async () => {
  await emulator.start();
  await emulator.seedKey(KEY, 'EC_SIGN_P256_SHA256', { versions: 3 });
  token = emulator.principals.mintAccessToken(emulator.defaultPrincipal);
});
afterAll(() => emulator.stop());
afterEach(() => emulator.faults.clear());

/** A decoded answer: tests read what they expect from it, and a wrong guess fails the assertion. */
// biome-ignore lint/suspicious/noExplicitAny: JSON of many shapes, read field by field
type Json = any;

async function rest(method: string, path: string, body?: unknown, auth = true) {
  const response = await fetch(`${emulator.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(auth ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, json: (await response.json()) as Json };
}

function signBody(digest: Buffer, digestCrc32c = crc(digest)) {
  return { digest: { sha256: digest.toString('base64') }, digestCrc32c: String(digestCrc32c) };
}

describe('REST (HTTP/JSON, as the SDK’s fallback transport speaks it)', () => {
  test('numeric enums when asked, names otherwise; int64 as strings; RFC 3339 timestamps', async () => {
    const numeric = await rest('GET', `/v1/${VERSION}/publicKey?$alt=json%3Benum-encoding=int`);
    expect(numeric.json).toMatchObject({ algorithm: 12, name: VERSION, protectionLevel: 1 });
    expect(numeric.json.pemCrc32c).toBe(String(crc(numeric.json.pem)));
    const named = await rest('GET', `/v1/${VERSION}`);
    expect(named.json).toMatchObject({ state: 'ENABLED', algorithm: 'EC_SIGN_P256_SHA256' });
    expect(named.json.createTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  test('signs a digest with a real key, checking and returning CRC32C', async () => {
    const digest = crypto.createHash('sha256').update('data').digest();
    const signed = await rest('POST', `/v1/${VERSION}:asymmetricSign`, signBody(digest));
    expect(signed.status).toBe(200);
    const signature = Buffer.from(signed.json.signature, 'base64');
    expect(signed.json).toMatchObject({ verifiedDigestCrc32c: true, name: VERSION, signatureCrc32c: String(crc(signature)) });
    expect(crypto.verify('sha256', Buffer.from('data'), emulator.publicKeyPem(VERSION), signature)).toBe(true);

    const damaged = await rest('POST', `/v1/${VERSION}:asymmetricSign`, signBody(digest, crc(digest) + 1n));
    expect([damaged.status, damaged.json.error.status, damaged.json.error.message]).toEqual([
      400,
      'INVALID_ARGUMENT',
      expect.stringContaining('checksum'),
    ]);
    const short = await rest('POST', `/v1/${VERSION}:asymmetricSign`, signBody(digest.subarray(1)));
    expect(short.json.error).toMatchObject({ code: 400, status: 'INVALID_ARGUMENT' });
    const wrongHash = await rest('POST', `/v1/${VERSION}:asymmetricSign`, {
      digest: { sha384: crypto.randomBytes(48).toString('base64') },
    });
    expect(wrongHash.json.error.message).toContain('SHA384');
  });

  test('a missing key is 404 NOT_FOUND; no token is 401 with a challenge; the log never holds the token', async () => {
    const missing = await rest('GET', `/v1/${KEY}/cryptoKeyVersions/99/publicKey`);
    expect([missing.status, missing.json.error.status]).toEqual([404, 'NOT_FOUND']);
    const anonymous = await rest('GET', `/v1/${VERSION}/publicKey`, undefined, false);
    expect([anonymous.status, anonymous.json.error.status, anonymous.headers.get('www-authenticate')]).toEqual([
      401,
      'UNAUTHENTICATED',
      expect.stringContaining('Bearer'),
    ]);
    expect(JSON.stringify(emulator.requests)).not.toContain(token);
    expect(emulator.calls('GetPublicKey').at(-2)?.headers.authorization).toBe('[redacted]');
  });

  test('version state: disable, enable, schedule destruction, restore; signing needs ENABLED', async () => {
    const version = `${KEY}/cryptoKeyVersions/3`;
    const digest = crypto.createHash('sha256').update('x').digest();
    expect((await rest('PATCH', `/v1/${version}?updateMask=state`, { state: 2 })).json.state).toBe('DISABLED');
    const refused = await rest('POST', `/v1/${version}:asymmetricSign`, signBody(digest));
    expect([refused.status, refused.json.error.status, refused.json.error.message]).toEqual([
      400,
      'FAILED_PRECONDITION',
      `${version} is not enabled, current state is: DISABLED.`,
    ]);
    expect((await rest('PATCH', `/v1/${version}?updateMask=state`, { state: 'ENABLED' })).json.state).toBe('ENABLED');
    const scheduled = await rest('POST', `/v1/${version}:destroy`, {});
    expect(scheduled.json).toMatchObject({ state: 'DESTROY_SCHEDULED', destroyTime: expect.any(String) });
    expect((await rest('POST', `/v1/${version}:restore`, {})).json.state).toBe('DISABLED');
    expect((await rest('PATCH', `/v1/${version}?updateMask=state`, { state: 'ENABLED' })).json.state).toBe('ENABLED');
  });

  test('lists versions a page at a time, filtered by state', async () => {
    const first = await rest('GET', `/v1/${KEY}/cryptoKeyVersions?pageSize=2&filter=state%3DENABLED`);
    expect(first.json.cryptoKeyVersions.map((v: { name: string }) => v.name.split('/').pop())).toEqual(['1', '2']);
    expect(first.json.totalSize).toBe(3);
    const second = await rest('GET', `/v1/${KEY}/cryptoKeyVersions?pageSize=2&pageToken=${first.json.nextPageToken}`);
    expect(second.json.cryptoKeyVersions.map((v: { name: string }) => v.name.split('/').pop())).toEqual(['3']);
    expect(second.json.nextPageToken).toBeUndefined();
  });

  test('creates key rings and keys; a key that exists is ALREADY_EXISTS (409)', async () => {
    const parent = 'projects/p/locations/us-east1';
    expect((await rest('POST', `/v1/${parent}/keyRings?keyRingId=made`, {})).json.name).toBe(`${parent}/keyRings/made`);
    const body = { purpose: 5, versionTemplate: { algorithm: 13 } };
    const created = await rest('POST', `/v1/${parent}/keyRings/made/cryptoKeys?cryptoKeyId=k`, body);
    expect(created.json).toMatchObject({ purpose: 'ASYMMETRIC_SIGN', versionTemplate: { algorithm: 'EC_SIGN_P384_SHA384' } });
    expect(
      crypto.createPublicKey(emulator.publicKeyPem(`${parent}/keyRings/made/cryptoKeys/k/cryptoKeyVersions/1`)).asymmetricKeyDetails,
    ).toEqual({
      namedCurve: 'secp384r1',
    });
    const again = await rest('POST', `/v1/${parent}/keyRings/made/cryptoKeys?cryptoKeyId=k`, body);
    expect([again.status, again.json.error.status]).toEqual([409, 'ALREADY_EXISTS']);
  });

  test('throttling is 429 RESOURCE_EXHAUSTED with Retry-After and RetryInfo; gRPC codes map to HTTP', async () => {
    emulator.faults.add({ fault: { kind: 'throttle', retryAfterSeconds: 3 }, operation: 'GetPublicKey' });
    const throttled = await rest('GET', `/v1/${VERSION}/publicKey`);
    expect([throttled.status, throttled.headers.get('retry-after'), throttled.json.error.status]).toEqual([429, '3', 'RESOURCE_EXHAUSTED']);
    expect(throttled.json.error.details).toEqual([{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '3s' }]);
    emulator.faults.add({ fault: grpcStatusFault(9), operation: 'GetPublicKey' });
    expect((await rest('GET', `/v1/${VERSION}/publicKey`)).json.error).toMatchObject({ code: 400, status: 'FAILED_PRECONDITION' });
  });

  test('IAM denials are PERMISSION_DENIED naming the permission', async () => {
    emulator.deny({ permission: 'cloudkms.cryptoKeyVersions.viewPublicKey', resource: KEY });
    try {
      const denied = await rest('GET', `/v1/${VERSION}/publicKey`);
      expect([denied.status, denied.json.error.message]).toEqual([
        403,
        expect.stringContaining("'cloudkms.cryptoKeyVersions.viewPublicKey'"),
      ]);
      expect((await rest('GET', `/v1/${VERSION}`)).status).toBe(200);
    } finally {
      emulator.allowAll();
    }
  });
});

describe('gRPC (google.cloud.kms.v1.KeyManagementService) over the HTTPS front', () => {
  type Unary = (request: object, metadata: grpc.Metadata, callback: (error: grpc.ServiceError | null, response?: Json) => void) => void;
  let client: grpc.Client & Record<string, Unary>;
  let anonymous: grpc.Client & Record<string, Unary>;

  beforeAll(() => {
    const definition = protoLoader.fromJSON(require('@google-cloud/kms/build/protos/protos.json'), {
      longs: String,
      enums: String,
      oneofs: true,
    });
    const Service = (grpc.loadPackageDefinition(definition) as Json).google.cloud.kms.v1
      .KeyManagementService as grpc.ServiceClientConstructor;
    const tls = grpc.credentials.createSsl(Buffer.from(emulator.caPem));
    const bearer = grpc.credentials.createFromMetadataGenerator((_params, callback) => {
      const metadata = new grpc.Metadata();
      metadata.set('authorization', `Bearer ${token}`);
      callback(null, metadata);
    });
    client = new Service(`127.0.0.1:${emulator.tlsPort}`, grpc.credentials.combineChannelCredentials(tls, bearer)) as never;
    anonymous = new Service(`127.0.0.1:${emulator.tlsPort}`, tls) as never;
  });
  afterAll(() => {
    client.close();
    anonymous.close();
  });

  function call(target: typeof client, method: string, request: object): Promise<{ error?: grpc.ServiceError; response?: Json }> {
    return new Promise((resolve) =>
      target[method]?.(request, new grpc.Metadata(), (error, response) => resolve({ error: error ?? undefined, response })),
    );
  }

  test('serves the same keys as REST: enum names, Int64Value wrappers, bytes', async () => {
    const { response } = await call(client, 'GetPublicKey', { name: VERSION });
    expect(response).toMatchObject({
      algorithm: 'EC_SIGN_P256_SHA256',
      pem: emulator.publicKeyPem(VERSION),
      pemCrc32c: { value: String(crc(response.pem)) },
    });
    const digest = crypto.createHash('sha256').update('data').digest();
    const signed = await call(client, 'AsymmetricSign', {
      name: VERSION,
      digest: { sha256: digest },
      digestCrc32c: { value: String(crc(digest)) },
    });
    expect(signed.response.verifiedDigestCrc32c).toBe(true);
    expect(crypto.verify('sha256', Buffer.from('data'), response.pem, signed.response.signature)).toBe(true);
    const logged = emulator.calls('AsymmetricSign').at(-1);
    expect(logged).toMatchObject({ path: '/google.cloud.kms.v1.KeyManagementService/AsymmetricSign', status: 200 });
    expect((logged?.body as Json)?.digest?.sha256).toBe(digest.toString('base64'));
  });

  test('no call credentials is UNAUTHENTICATED; a missing key NOT_FOUND (5)', async () => {
    expect((await call(anonymous, 'GetPublicKey', { name: VERSION })).error?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect((await call(client, 'GetPublicKey', { name: `${KEY}/cryptoKeyVersions/42` })).error?.code).toBe(grpc.status.NOT_FOUND);
  });

  test('throttling carries RetryInfo in grpc-status-details-bin', async () => {
    emulator.faults.add({ fault: { kind: 'throttle', retryAfterSeconds: 2 }, operation: 'GetPublicKey' });
    const { error } = await call(client, 'GetPublicKey', { name: VERSION });
    expect(error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    const details = error?.metadata.get('grpc-status-details-bin')[0] as Buffer;
    expect(details.toString('latin1')).toContain('type.googleapis.com/google.rpc.RetryInfo');
  });

  test('a dropped connection cuts the client’s TLS connection; the next call reconnects', async () => {
    emulator.faults.add({ fault: { kind: 'drop' }, operation: 'GetPublicKey' });
    const dropped = await call(client, 'GetPublicKey', { name: VERSION });
    expect(dropped.error?.code).toBe(grpc.status.UNAVAILABLE);
    expect(dropped.error?.details).not.toContain('The emulator dropped the connection');
    expect((await call(client, 'GetPublicKey', { name: VERSION })).response?.name).toBe(VERSION);
  });
});

test('the HTTPS front serves REST (HTTP/1.1) too, with the test CA', async () => {
  const body = await new Promise<string>((resolve, reject) => {
    https
      .get(
        `${emulator.endpoint}v1/${VERSION}/publicKey`,
        { ca: emulator.caPem, headers: { authorization: `Bearer ${token}` } },
        (response) => {
          let text = '';
          response.on('data', (chunk) => {
            text += chunk;
          });
          response.on('end', () => resolve(text));
        },
      )
      .on('error', reject);
  });
  expect(JSON.parse(body)).toMatchObject({ name: VERSION, pem: emulator.publicKeyPem(VERSION) });
});

test('envFor points a child process at the emulator, with the files it names in place', () => {
  const env = envFor(emulator);
  expect(env).toMatchObject({
    CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDKMS: emulator.endpoint,
    METADATA_SERVER_DETECTION: 'none',
    GOOGLE_APPLICATION_CREDENTIALS: emulator.credentialsFile,
  });
  expect(fs.readFileSync(env.GRPC_DEFAULT_SSL_ROOTS_FILE_PATH as string, 'utf8')).toBe(emulator.caPem);
  expect(JSON.parse(fs.readFileSync(emulator.credentialsFile, 'utf8'))).toMatchObject({
    type: 'service_account',
    client_email: emulator.defaultPrincipal,
    token_uri: `${emulator.url}/token`,
  });
  expect(envFor(emulator, { transport: 'rest' }).CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDKMS).toBe(`${emulator.url}/`);
});
