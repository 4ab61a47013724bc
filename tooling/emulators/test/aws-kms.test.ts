// The AWS KMS emulator against the real @aws-sdk/client-kms: SigV4 checked, real keys,
// AWS's error shapes, denials and faults.
import crypto from 'node:crypto';
import http from 'node:http';
import { Sha256 } from '@aws-crypto/sha256-js';
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  GetPublicKeyCommand,
  KMSClient,
  ListAliasesCommand,
  ScheduleKeyDeletionCommand,
  SignCommand,
  UpdateAliasCommand,
  VerifyCommand,
} from '@aws-sdk/client-kms';
import { SignatureV4 } from '@smithy/signature-v4';
import { ALIAS_NOT_FOUND_YET, type AwsCredentials, AwsKmsEmulator, envFor } from '../src/aws-kms';

const kms = new AwsKmsEmulator();
beforeAll(() => kms.start());
afterAll(() => kms.stop());
afterEach(() => {
  kms.faults.clear();
  kms.allowAll();
});

// The SDK's notice that its 2027 releases need Node 22 is not what these tests are about.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

function client(credentials: AwsCredentials = kms.credentials, region = kms.region): KMSClient {
  return new KMSClient({ endpoint: kms.url, region, credentials, maxAttempts: 1 });
}

async function failure(promise: Promise<unknown>): Promise<{ name: string; message: string; status?: number }> {
  try {
    await promise;
  } catch (error) {
    const e = error as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, message: e.message, status: e.$metadata?.httpStatusCode };
  }
  throw new Error('expected the call to fail');
}

const sha256 = (data: string) => crypto.createHash('sha256').update(data).digest();

describe('SigV4', () => {
  test('a correctly signed request is served and logged with its credentials redacted', async () => {
    const key = await kms.createKey();
    const out = await client().send(new DescribeKeyCommand({ KeyId: key.keyId }));
    expect(out.KeyMetadata?.Arn).toBe(key.arn);
    const [entry] = kms.calls('DescribeKey').slice(-1);
    expect(entry?.status).toBe(200);
    expect(entry?.headers.authorization).toBe('[redacted]');
    expect(JSON.stringify(kms.requests)).not.toContain(kms.credentials.secretAccessKey);
  });

  test('the wrong secret for a known access key: InvalidSignatureException', async () => {
    const wrong = { accessKeyId: kms.credentials.accessKeyId, secretAccessKey: 'not-the-secret' };
    expect(await failure(client(wrong).send(new ListAliasesCommand({})))).toMatchObject({
      name: 'InvalidSignatureException',
      status: 400,
    });
  });

  test('an unknown access key: UnrecognizedClientException', async () => {
    const unknown = { accessKeyId: 'AKIAUNKNOWN000000000', secretAccessKey: 'whatever' };
    expect(await failure(client(unknown).send(new ListAliasesCommand({})))).toMatchObject({ name: 'UnrecognizedClientException' });
  });

  test('temporary credentials need their session token', async () => {
    const temporary = kms.addPrincipal('ci-role', { sessionToken: true });
    await expect(client(temporary).send(new ListAliasesCommand({}))).resolves.toBeDefined();
    const { sessionToken: _, ...withoutToken } = temporary;
    expect(await failure(client(withoutToken).send(new ListAliasesCommand({})))).toMatchObject({ name: 'UnrecognizedClientException' });
    expect(JSON.stringify(kms.requests)).not.toContain(temporary.sessionToken);
  });

  test('a request signed for another region: InvalidSignatureException', async () => {
    expect(await failure(client(kms.credentials, 'eu-west-1').send(new ListAliasesCommand({})))).toMatchObject({
      name: 'InvalidSignatureException',
      message: expect.stringContaining('region'),
    });
  });

  test('a body changed after signing, and a request without a signature, are refused', async () => {
    const body = '{}';
    const signed = await signedRequest(body);
    expect((await post(signed.headers, body)).status).toBe(200);
    const tampered = await post(signed.headers, '{ }');
    expect([tampered.status, tampered.type]).toEqual([400, 'InvalidSignatureException']);
    const { authorization: _, ...unsigned } = signed.headers;
    expect((await post(unsigned, body)).type).toBe('MissingAuthenticationTokenException');
  });
});

/** A ListAliases request signed by @smithy/signature-v4 as the SDK would sign it. */
async function signedRequest(body: string) {
  const url = new URL(kms.url);
  const signer = new SignatureV4({ credentials: kms.credentials, region: kms.region, service: 'kms', sha256: Sha256 });
  return signer.sign({
    method: 'POST',
    protocol: 'http:',
    hostname: url.hostname,
    port: Number(url.port),
    path: '/',
    query: {},
    headers: { host: url.host, 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.ListAliases' },
    body,
  });
}

/** POSTs exactly these headers and this body. */
function post(headers: Record<string, string>, body: string): Promise<{ status: number; type?: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(kms.url, { method: 'POST', headers }, (response) => {
      response.resume();
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, type: response.headers['x-amzn-errortype'] as string | undefined }),
      );
    });
    request.on('error', reject);
    request.end(body);
  });
}

describe('keys and aliases', () => {
  test('CreateKey, CreateAlias, ListAliases, DescribeKey, GetPublicKey', async () => {
    const aws = client();
    const created = await aws.send(new CreateKeyCommand({ KeyUsage: 'SIGN_VERIFY', KeySpec: 'ECC_NIST_P384' }));
    const keyId = created.KeyMetadata?.KeyId as string;
    expect(created.KeyMetadata).toMatchObject({ KeySpec: 'ECC_NIST_P384', KeyState: 'Enabled', SigningAlgorithms: ['ECDSA_SHA_384'] });
    await aws.send(new CreateAliasCommand({ AliasName: 'alias/emulator-p384', TargetKeyId: keyId }));
    expect(await failure(aws.send(new CreateAliasCommand({ AliasName: 'alias/emulator-p384', TargetKeyId: keyId })))).toMatchObject({
      name: 'AlreadyExistsException',
    });
    const aliases = await aws.send(new ListAliasesCommand({ KeyId: keyId }));
    expect(aliases.Aliases?.map((a) => a.AliasName)).toEqual(['alias/emulator-p384']);
    const described = await aws.send(new DescribeKeyCommand({ KeyId: 'alias/emulator-p384' }));
    expect(described.KeyMetadata?.KeyId).toBe(keyId);
    const publicKey = await aws.send(new GetPublicKeyCommand({ KeyId: `arn:aws:kms:${kms.region}:${kms.accountId}:alias/emulator-p384` }));
    const spki = crypto.createPublicKey({ key: Buffer.from(publicKey.PublicKey as Uint8Array), format: 'der', type: 'spki' });
    expect(spki.asymmetricKeyDetails?.namedCurve).toBe('secp384r1');
    expect(publicKey).toMatchObject({ KeySpec: 'ECC_NIST_P384', KeyUsage: 'SIGN_VERIFY', SigningAlgorithms: ['ECDSA_SHA_384'] });
  });

  test('missing keys and aliases answer NotFoundException, as AWS words it', async () => {
    const aws = client();
    expect(await failure(aws.send(new GetPublicKeyCommand({ KeyId: 'alias/none' })))).toEqual({
      name: 'NotFoundException',
      message: `Alias arn:aws:kms:${kms.region}:${kms.accountId}:alias/none is not found.`,
      status: 400,
    });
    const id = crypto.randomUUID();
    expect(await failure(aws.send(new GetPublicKeyCommand({ KeyId: id })))).toMatchObject({
      name: 'NotFoundException',
      message: `Key 'arn:aws:kms:${kms.region}:${kms.accountId}:key/${id}' does not exist`,
    });
  });

  test('UpdateAlias repoints an alias', async () => {
    const [first, second] = [await kms.createKey({ alias: 'alias/emulator-moving' }), await kms.createKey()];
    await client().send(new UpdateAliasCommand({ AliasName: 'alias/emulator-moving', TargetKeyId: second.keyId }));
    expect(kms.key('alias/emulator-moving').keyId).toBe(second.keyId);
    expect(first.keyId).not.toBe(second.keyId);
  });

  test('key states: disabled, enabled again, pending deletion', async () => {
    const aws = client();
    const key = await kms.createKey();
    const digest = sha256('state');
    const sign = () =>
      aws.send(new SignCommand({ KeyId: key.keyId, Message: digest, MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' }));
    await aws.send(new DisableKeyCommand({ KeyId: key.keyId }));
    expect(await failure(sign())).toMatchObject({ name: 'DisabledException', message: `${key.arn} is disabled.` });
    await aws.send(new EnableKeyCommand({ KeyId: key.keyId }));
    await expect(sign()).resolves.toMatchObject({ KeyId: key.arn });
    await aws.send(new ScheduleKeyDeletionCommand({ KeyId: key.keyId, PendingWindowInDays: 7 }));
    expect(await failure(sign())).toMatchObject({ name: 'KMSInvalidStateException' });
    expect(await failure(aws.send(new GetPublicKeyCommand({ KeyId: key.keyId })))).toMatchObject({ name: 'KMSInvalidStateException' });
  });
});

describe('signing', () => {
  test.each([
    ['ECC_NIST_P256', 'ECDSA_SHA_256', 'sha256'],
    ['ECC_NIST_P384', 'ECDSA_SHA_384', 'sha384'],
    ['ECC_NIST_P521', 'ECDSA_SHA_512', 'sha512'],
    ['RSA_2048', 'RSASSA_PKCS1_V1_5_SHA_256', 'sha256'],
    ['RSA_2048', 'RSASSA_PSS_SHA_384', 'sha384'],
  ] as const)('%s signs a digest with %s, verified by OpenSSL and by Verify', async (keySpec, algorithm, hash) => {
    const aws = client();
    const key = await kms.createKey({ keySpec });
    const message = Buffer.from(`artifact for ${algorithm}`);
    const digest = crypto.createHash(hash).update(message).digest();
    const { Signature } = await aws.send(
      new SignCommand({ KeyId: key.keyId, Message: digest, MessageType: 'DIGEST', SigningAlgorithm: algorithm }),
    );
    const signature = Buffer.from(Signature as Uint8Array);
    const pss = algorithm.startsWith('RSASSA_PSS')
      ? { padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: crypto.constants.RSA_PSS_SALTLEN_DIGEST }
      : {};
    expect(crypto.verify(hash, message, { key: kms.publicKeyPem(key.keyId), ...pss }, signature)).toBe(true);
    const verified = await aws.send(
      new VerifyCommand({ KeyId: key.keyId, Message: digest, MessageType: 'DIGEST', Signature: signature, SigningAlgorithm: algorithm }),
    );
    expect(verified.SignatureValid).toBe(true);
    signature.writeUInt8(signature.readUInt8(signature.length - 1) ^ 1, signature.length - 1);
    expect(
      await failure(
        aws.send(
          new VerifyCommand({
            KeyId: key.keyId,
            Message: digest,
            MessageType: 'DIGEST',
            Signature: signature,
            SigningAlgorithm: algorithm,
          }),
        ),
      ),
    ).toMatchObject({ name: 'KMSInvalidSignatureException' });
  });

  test('RAW messages are hashed by the service; digests of the wrong length and foreign algorithms are refused', async () => {
    const aws = client();
    const key = await kms.createKey();
    const message = Buffer.from('raw message');
    const raw = await aws.send(
      new SignCommand({ KeyId: key.keyId, Message: message, MessageType: 'RAW', SigningAlgorithm: 'ECDSA_SHA_256' }),
    );
    expect(crypto.verify('sha256', message, kms.publicKeyPem(key.keyId), Buffer.from(raw.Signature as Uint8Array))).toBe(true);
    expect(
      await failure(
        aws.send(
          new SignCommand({ KeyId: key.keyId, Message: Buffer.alloc(20), MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' }),
        ),
      ),
    ).toMatchObject({ name: 'ValidationException', message: 'Digest is invalid length for algorithm ECDSA_SHA_256.' });
    expect(
      await failure(
        aws.send(
          new SignCommand({ KeyId: key.keyId, Message: sha256('x'), MessageType: 'DIGEST', SigningAlgorithm: 'RSASSA_PSS_SHA_256' }),
        ),
      ),
    ).toMatchObject({ name: 'InvalidKeyUsageException' });
  });

  test('an encryption key cannot sign and a symmetric key has no public key', async () => {
    const aws = client();
    const encryption = await kms.createKey({ keySpec: 'RSA_2048', keyUsage: 'ENCRYPT_DECRYPT' });
    expect(
      await failure(
        aws.send(
          new SignCommand({ KeyId: encryption.keyId, Message: sha256('x'), MessageType: 'DIGEST', SigningAlgorithm: 'RSASSA_PSS_SHA_256' }),
        ),
      ),
    ).toMatchObject({ name: 'InvalidKeyUsageException' });
    const symmetric = await aws.send(new CreateKeyCommand({}));
    expect(await failure(aws.send(new GetPublicKeyCommand({ KeyId: symmetric.KeyMetadata?.KeyId })))).toMatchObject({
      name: 'UnsupportedOperationException',
    });
  });
});

describe('denials and faults', () => {
  test('a denied principal gets AccessDeniedException naming the action; others are served', async () => {
    const key = await kms.createKey();
    const reader = kms.addPrincipal('reader');
    kms.deny({ accessKeyId: reader.accessKeyId, operation: 'Sign' });
    const sign = (credentials: AwsCredentials) =>
      client(credentials).send(
        new SignCommand({ KeyId: key.keyId, Message: sha256('x'), MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' }),
      );
    expect(await failure(sign(reader))).toMatchObject({
      name: 'AccessDeniedException',
      message: expect.stringContaining(`user/reader is not authorized to perform: kms:Sign on resource: ${key.arn}`),
    });
    await expect(client(reader).send(new GetPublicKeyCommand({ KeyId: key.keyId }))).resolves.toBeDefined();
    await expect(sign(kms.credentials)).resolves.toBeDefined();
  });

  test('status, throttling with Retry-After, corruption and dropped connections, in AWS shapes', async () => {
    const key = await kms.createKey();
    kms.faults
      .add({ fault: { kind: 'status', status: 500 }, operation: 'GetPublicKey' })
      .add({ fault: { kind: 'status', status: 503 }, operation: 'GetPublicKey' })
      .add({ fault: { kind: 'throttle', retryAfterSeconds: 3 }, operation: 'GetPublicKey' })
      .add({ fault: { kind: 'corrupt' }, operation: 'GetPublicKey' })
      .add({ fault: { kind: 'drop' }, operation: 'GetPublicKey' });
    const get = () => client().send(new GetPublicKeyCommand({ KeyId: key.keyId }));
    expect(await failure(get())).toMatchObject({ name: 'KMSInternalException', status: 500 });
    expect(await failure(get())).toMatchObject({ name: 'DependencyTimeoutException', status: 503 });
    expect(await failure(get())).toMatchObject({ name: 'ThrottlingException', status: 400 });
    expect(await failure(get())).toMatchObject({ name: 'SyntaxError', status: 200 });
    expect((await failure(get())).message).toMatch(/socket hang up|ECONNRESET/);
    await expect(get()).resolves.toMatchObject({ KeyId: key.arn });
    const log = kms.calls('GetPublicKey').slice(-6);
    expect(log.map((entry) => entry.fault)).toEqual(['status', 'status', 'throttle', 'corrupt', 'drop', undefined]);
    kms.faults.add({ fault: { kind: 'throttle', retryAfterSeconds: 3 } });
    const throttled = await fetch(kms.url, { method: 'POST', headers: { 'x-amz-target': 'TrentService.Sign' } });
    expect([throttled.headers.get('retry-after'), throttled.headers.get('x-amzn-errortype')]).toEqual(['3', 'ThrottlingException']);
  });

  test(`custom "${ALIAS_NOT_FOUND_YET}": the next lookups by alias find nothing, then the alias appears`, async () => {
    const key = await kms.createKey({ alias: 'alias/emulator-fresh' });
    kms.faults.add({ fault: { kind: 'custom', name: ALIAS_NOT_FOUND_YET }, operation: 'GetPublicKey', times: 2 });
    const get = () => client().send(new GetPublicKeyCommand({ KeyId: 'alias/emulator-fresh' }));
    expect(await failure(get())).toMatchObject({ name: 'NotFoundException' });
    expect(await failure(get())).toMatchObject({ name: 'NotFoundException' });
    await expect(get()).resolves.toMatchObject({ KeyId: key.arn });
  });
});

test('envFor points the SDK default chain at the emulator and shuts out the machine’s own AWS configuration', () => {
  const env = envFor(kms);
  expect(env).toMatchObject({
    AWS_ENDPOINT_URL_KMS: kms.url,
    AWS_REGION: kms.region,
    AWS_ACCESS_KEY_ID: kms.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: kms.credentials.secretAccessKey,
    AWS_EC2_METADATA_DISABLED: 'true',
  });
  expect(Object.hasOwn(env, 'AWS_PROFILE') && env.AWS_PROFILE === undefined).toBe(true);
  expect(env.AWS_CONFIG_FILE).toBeDefined();
  expect(env.AWS_SHARED_CREDENTIALS_FILE).toBeDefined();
});
