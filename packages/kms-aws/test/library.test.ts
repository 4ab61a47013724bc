// The library API: createAwsKmsProvider with explicit client, region, endpoint and
// credentials, the full algorithm matrix, retries, alias visibility and key creation,
// against the AWS KMS emulator with the real @aws-sdk/client-kms in this process.
import crypto from 'node:crypto';
import { KMSClient } from '@aws-sdk/client-kms';
import {
  createStatement,
  type KeyProvider,
  loadTrustedRoot,
  type ProviderOptions,
  parseKeyRef,
  type Signer,
  SignetError,
  serializeBundle,
  signArtifact,
  signBuild,
  signStatement,
  verifyDigest,
} from '@signet/core';
import { ALIAS_NOT_FOUND_YET, AwsKmsEmulator, type KeySpec } from '@signet/emulators/aws-kms';
import { SigstoreStack } from '@signet/emulators/sigstore';
import { opensslVerify, verifyBundle } from '@signet/test-support';
import { type AwsKmsProviderOptions, createAwsKmsProvider, provider } from '../src';

const kms = new AwsKmsEmulator();
beforeAll(() => kms.start());
afterAll(() => kms.stop());
afterEach(() => {
  kms.faults.clear();
  kms.allowAll();
});

/** Explicit settings, as a library user passes them: nothing from the environment. */
function settings(extra: AwsKmsProviderOptions = {}): AwsKmsProviderOptions {
  return { endpoint: kms.url, region: kms.region, credentials: kms.credentials, baseDelayMs: 5, ...extra };
}

function open(key: string, options: AwsKmsProviderOptions = settings(), callOptions: ProviderOptions = {}): Promise<Signer> {
  return createAwsKmsProvider(options).open(parseKeyRef(key), callOptions);
}

async function failure(promise: Promise<unknown>): Promise<SignetError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof SignetError) return error;
    throw error;
  }
  throw new Error('expected a SignetError');
}

let aliases = 0;
function uniqueAlias(label: string): string {
  aliases += 1;
  return `alias/lib-${label}-${aliases}`;
}

const data = Buffer.from('a small artifact, signed through the library');

describe('every key type AWS KMS signs with', () => {
  test.each([
    ['ECC_NIST_P256', undefined, 'ecdsa-p256-sha256', 'ECDSA_SHA_256'],
    ['ECC_NIST_P384', undefined, 'ecdsa-p384-sha384', 'ECDSA_SHA_384'],
    ['ECC_NIST_P521', undefined, 'ecdsa-p521-sha512', 'ECDSA_SHA_512'],
    ['RSA_2048', undefined, 'rsa-pkcs1v15-sha256', 'RSASSA_PKCS1_V1_5_SHA_256'],
    ['RSA_3072', undefined, 'rsa-pkcs1v15-sha256', 'RSASSA_PKCS1_V1_5_SHA_256'],
    ['RSA_4096', undefined, 'rsa-pkcs1v15-sha256', 'RSASSA_PKCS1_V1_5_SHA_256'],
    ['RSA_2048', ['RSASSA_PSS_SHA_256', 'RSASSA_PSS_SHA_512'], 'rsa-pss-sha256', 'RSASSA_PSS_SHA_256'],
    ['RSA_4096', ['RSASSA_PSS_SHA_512', 'RSASSA_PSS_SHA_256'], 'rsa-pss-sha256', 'RSASSA_PSS_SHA_256'],
  ] as const)('%s offering %s: signs as %s (%s), message and DSSE bundles verify', async (keySpec, offered, algorithm, signing) => {
    const alias = uniqueAlias(keySpec.toLowerCase());
    await kms.createKey({ keySpec: keySpec as KeySpec, alias, signingAlgorithms: offered ? [...offered] : undefined });
    const signer = await open(`awskms:///${alias}`);
    expect(signer.algorithm).toBe(algorithm);
    expect(signer.keyId).toBe(`awskms:///${alias}`);
    const pem = await signer.publicKey();
    expect(pem).toBe(kms.publicKeyPem(alias));

    const signsBefore = kms.calls('Sign').length;
    const message = await signArtifact({ bytes: data }, signer);
    const statement = createStatement(
      [{ name: 'artifact', digest: { sha256: crypto.createHash('sha256').update(data).digest('hex') } }],
      'https://example.com/predicate/v1',
      { ok: true },
    );
    const dsse = await signStatement(statement, signer);
    const signs = kms.calls('Sign').slice(signsBefore);
    expect(signs.map((entry) => (entry.body as { SigningAlgorithm: string }).SigningAlgorithm)).toEqual([signing, signing]);

    const policy = { keys: [{ publicKey: pem }] };
    await expect(verifyBundle(message, { bytes: data }, policy)).resolves.toMatchObject({ signer: { kind: 'key' } });
    await expect(
      verifyBundle(dsse, { bytes: data }, { ...policy, predicateTypes: ['https://example.com/predicate/v1'] }),
    ).resolves.toMatchObject({
      statement,
    });
    expect(opensslVerify(serializeBundle(message), data, pem)).toBe(true);
    expect(opensslVerify(serializeBundle(dsse), data, pem)).toBe(true);
  });

  test('signDigest sends exactly the digest, in one call, and returns a DER signature over it', async () => {
    const alias = uniqueAlias('digest');
    await kms.createKey({ alias });
    const signer = await open(`awskms:///${alias}`);
    const digest = crypto.createHash('sha256').update('streamed elsewhere').digest();
    const before = kms.calls('Sign').length;
    const signature = await signer.signDigest?.(digest);
    const calls = kms.calls('Sign').slice(before);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.body).toMatchObject({ Message: digest.toString('base64'), MessageType: 'DIGEST' });
    expect(signature?.[0]).toBe(0x30); // a DER SEQUENCE
    const publicKey = crypto.createPublicKey(await signer.publicKey());
    expect(verifyDigest(publicKey, 'ecdsa', 'sha256', digest, signature as Buffer)).toBe(true);
  });
});

describe('logged in Rekor v2 (rekor-tiles), a timestamp beside each entry', () => {
  const stack = new SigstoreStack();
  beforeAll(() => stack.start(), 60_000);
  afterAll(() => stack.stop());

  test.each([
    ['ECC_NIST_P256', 'PKIX_ECDSA_P256_SHA_256'],
    ['ECC_NIST_P384', 'PKIX_ECDSA_P384_SHA_384'],
    ['RSA_3072', 'PKIX_RSA_PKCS1V15_3072_SHA256'],
  ] as const)('%s: message and DSSE, logged with keyDetails %s, verified with the trusted root', async (keySpec, keyDetails) => {
    const alias = uniqueAlias(`v2-${keySpec.toLowerCase()}`);
    await kms.createKey({ keySpec: keySpec as KeySpec, alias });
    const signer = await open(`awskms:///${alias}`);
    const pem = await signer.publicKey();
    const services = { rekorLogs: [{ url: stack.rekorV2.url, version: 2 as const }], tsaURLs: [stack.tsa.url] };
    const message = await signArtifact({ bytes: data }, signer, { services, tlogUpload: true });
    const statement = createStatement(
      [{ name: 'artifact', digest: { sha256: crypto.createHash('sha256').update(data).digest('hex') } }],
      'https://example.com/predicate/v1',
      { ok: true },
    );
    const dsse = await signStatement(statement, signer, { services, tlogUpload: true });
    for (const bundle of [message, dsse]) {
      const entry = bundle.verificationMaterial.tlogEntries[0];
      expect(entry?.kindVersion).toEqual({ kind: 'hashedrekord', version: '0.0.2' });
      expect(JSON.parse(entry?.canonicalizedBody.toString('utf8') ?? '{}').spec.hashedRekordV002.signature.verifier.keyDetails).toBe(keyDetails);
    }
    const trustedRoot = await loadTrustedRoot({ trustedRootPath: stack.trustedRootPath });
    const policy = { keys: [{ publicKey: pem }], tlogThreshold: 1, timestampThreshold: 1, predicateTypes: 'any' as const };
    await expect(verifyBundle(message, { bytes: data }, policy, { trustedRoot })).resolves.toMatchObject({ tlogEntries: 1 });
    await expect(verifyBundle(dsse, { bytes: data }, policy, { trustedRoot })).resolves.toMatchObject({ statement });
  }, 60_000);
});

describe('settings', () => {
  test('per-call options override the provider’s own', async () => {
    const alias = uniqueAlias('override');
    await kms.createKey({ alias });
    const wrongRegion = settings({ region: 'eu-west-1' });
    const refused = await failure(open(`awskms:///${alias}`, wrongRegion));
    expect(refused.code).toBe('E_PERMISSION');
    expect(refused.message).toContain('InvalidSignatureException');
    const signer = await open(`awskms:///${alias}`, wrongRegion, { region: kms.region });
    expect(signer.algorithm).toBe('ecdsa-p256-sha256');
  });

  test('a caller’s own KMSClient is used as it is', async () => {
    const alias = uniqueAlias('client');
    await kms.createKey({ alias });
    const principal = kms.addPrincipal('own-client');
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true'; // the SDK's notice about Node 22, not under test here
    const client = new KMSClient({ endpoint: kms.url, region: kms.region, credentials: principal, maxAttempts: 1 });
    delete process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED;
    kms.deny({ accessKeyId: kms.credentials.accessKeyId });
    const signer = await open(`awskms:///${alias}`, { client });
    await signArtifact({ bytes: data }, signer);
    expect(kms.calls('Sign').at(-1)?.status).toBe(200);
    client.destroy();
  });

  test('an ARN’s region wins over the configured one', async () => {
    const key = await kms.createKey();
    const signer = await open(`awskms:///${key.arn}`, settings({ region: 'ap-south-1' }));
    expect(await signer.publicKey()).toBe(kms.publicKeyPem(key.keyId));
  });

  test('no region anywhere: E_INPUT before any request', async () => {
    const before = kms.requests.length;
    const saved = {
      AWS_REGION: process.env.AWS_REGION,
      AWS_CONFIG_FILE: process.env.AWS_CONFIG_FILE,
      AWS_EC2_METADATA_DISABLED: process.env.AWS_EC2_METADATA_DISABLED,
    };
    process.env.AWS_CONFIG_FILE = '/nonexistent/signet-aws-config';
    // Else the SDK asks the EC2 instance metadata service for a region.
    process.env.AWS_EC2_METADATA_DISABLED = 'true';
    delete process.env.AWS_REGION;
    try {
      const error = await failure(open('awskms:///alias/anything', settings({ region: undefined })));
      expect(error.code).toBe('E_INPUT');
      expect(error.message).toContain('AWS_REGION');
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
    expect(kms.requests.length).toBe(before);
  });

  test('the default provider is an awskms provider, and opening a key leaves process.env as it was', async () => {
    expect(provider.scheme).toBe('awskms');
    const alias = uniqueAlias('env');
    await kms.createKey({ alias });
    const before = { ...process.env };
    await provider.open(parseKeyRef(`awskms:///${alias}`), settings());
    expect(process.env).toEqual(before);
  });
});

describe('remote failures', () => {
  test('throttling, 5xx, a dropped connection and a corrupted answer are retried; each signature is still one successful Sign', async () => {
    const alias = uniqueAlias('retries');
    await kms.createKey({ alias });
    const signer = await open(`awskms:///${alias}`);
    kms.faults
      .add({ fault: { kind: 'throttle' }, operation: 'Sign' })
      .add({ fault: { kind: 'status', status: 500 }, operation: 'Sign' })
      .add({ fault: { kind: 'drop' }, operation: 'Sign' })
      .add({ fault: { kind: 'corrupt' }, operation: 'Sign' });
    const before = kms.calls('Sign').length;
    const bundle = await signArtifact({ bytes: data }, signer);
    expect(
      kms
        .calls('Sign')
        .slice(before)
        .map((entry) => entry.fault),
    ).toEqual(['throttle', 'status', 'drop', 'corrupt', undefined]);
    await expect(verifyBundle(bundle, { bytes: data }, { keys: [{ publicKey: await signer.publicKey() }] })).resolves.toBeDefined();
  });

  test('retries are bounded by attempts: E_PROVIDER naming the service, the key and what to check', async () => {
    const alias = uniqueAlias('bounded');
    await kms.createKey({ alias });
    const signer = await open(`awskms:///${alias}`, settings({ attempts: 3 }));
    kms.faults.add({ fault: { kind: 'status', status: 500 }, operation: 'Sign', times: Number.POSITIVE_INFINITY });
    const before = kms.calls('Sign').length;
    const error = await failure(signArtifact({ bytes: data }, signer));
    expect(error.code).toBe('E_PROVIDER');
    expect(error.message).toMatch(
      new RegExp(`^AWS KMS failed to sign with awskms:///${alias} \\(KMSInternalException: .*\\): check the endpoint`),
    );
    expect(kms.calls('Sign').length - before).toBe(3);
  });

  test('and by the deadline: a service that does not answer in time fails with E_PROVIDER', async () => {
    const alias = uniqueAlias('deadline');
    await kms.createKey({ alias });
    const signer = await open(`awskms:///${alias}`, settings({ deadlineMs: 300 }));
    kms.faults.add({ fault: { kind: 'latency', ms: 2_000 }, operation: 'Sign', times: Number.POSITIVE_INFINITY });
    const error = await failure(signArtifact({ bytes: data }, signer));
    expect(error.code).toBe('E_PROVIDER');
    expect(error.message).toContain('deadline');
  });

  test('non-transient refusals are not retried', async () => {
    const alias = uniqueAlias('no-retry');
    const key = await kms.createKey({ alias });
    const signer = await open(`awskms:///${alias}`);
    kms.setKeyState(key.keyId, 'Disabled');
    const before = kms.calls('Sign').length;
    expect((await failure(signArtifact({ bytes: data }, signer))).code).toBe('E_KEY_DISABLED');
    expect(kms.calls('Sign').length - before).toBe(1);
  });
});

describe('aliases', () => {
  test('a fresh alias that is not visible yet is looked up again, for a bounded time', async () => {
    const alias = uniqueAlias('fresh');
    await kms.createKey({ alias });
    kms.faults.add({ fault: { kind: 'custom', name: ALIAS_NOT_FOUND_YET }, operation: 'GetPublicKey', times: 3 });
    await expect(open(`awskms:///${alias}`)).resolves.toBeDefined();

    kms.faults.add({ fault: { kind: 'custom', name: ALIAS_NOT_FOUND_YET }, operation: 'GetPublicKey', times: 1_000 });
    const before = kms.calls('GetPublicKey').length;
    const error = await failure(open(`awskms:///${alias}`, settings({ baseDelayMs: 100 })));
    expect(error.code).toBe('E_KEY_NOT_FOUND');
    const lookups = kms.calls('GetPublicKey').length - before;
    expect(lookups).toBeGreaterThan(1);
    expect(lookups).toBeLessThan(10);
  });

  test('a key named by key ID is not looked up again', async () => {
    const before = kms.calls('GetPublicKey').length;
    expect((await failure(open(`awskms:///${crypto.randomUUID()}`))).code).toBe('E_KEY_NOT_FOUND');
    expect(kms.calls('GetPublicKey').length - before).toBe(1);
  });

  test('an alias repointed after the key was opened does not change the key that signs', async () => {
    const alias = uniqueAlias('moving');
    const first = await kms.createKey({ alias });
    const signer = await open(`awskms:///${alias}`);
    const second = await kms.createKey();
    kms.pointAlias(alias, second.keyId);
    const bundle = await signArtifact({ bytes: data }, signer);
    expect(kms.calls('Sign').at(-1)?.body).toMatchObject({ KeyId: first.arn });
    await expect(verifyBundle(bundle, { bytes: data }, { keys: [{ publicKey: kms.publicKeyPem(first.keyId) }] })).resolves.toBeDefined();
  });
});

describe('creating keys', () => {
  let aws: KeyProvider;
  beforeAll(() => {
    aws = createAwsKmsProvider(settings());
  });

  test('creates a SIGN_VERIFY key of the asked spec, names it by the alias, and returns its public key', async () => {
    const alias = uniqueAlias('create');
    const pem = await aws.create?.(parseKeyRef(`awskms:///${alias}`), { algorithm: 'ecdsa-p384' });
    const key = kms.key(alias);
    expect([key.keySpec, key.keyUsage, key.description]).toEqual(['ECC_NIST_P384', 'SIGN_VERIFY', `Signet signing key (${alias})`]);
    expect(pem).toBe(kms.publicKeyPem(alias));
  });

  test('an alias ARN names the alias to create', async () => {
    const alias = uniqueAlias('create-arn');
    await aws.create?.(parseKeyRef(`awskms:///arn:aws:kms:${kms.region}:${kms.accountId}:${alias}`), {});
    expect(kms.key(alias).keySpec).toBe('ECC_NIST_P256');
  });

  test('if the alias cannot be created, the unnamed key is scheduled for deletion and the error says so', async () => {
    const alias = uniqueAlias('denied-alias');
    kms.deny({ operation: 'CreateAlias' });
    const error = await failure(aws.create?.(parseKeyRef(`awskms:///${alias}`), {}) as Promise<string>);
    expect(error.code).toBe('E_PERMISSION');
    expect(error.message).toContain('kms:CreateAlias');
    const orphanId = /unnamed key ([0-9a-f-]{36}) created for it is scheduled for deletion/.exec(error.message)?.[1];
    expect(orphanId).toBeDefined();
    expect(kms.key(orphanId as string).state).toBe('PendingDeletion');
  });

  test('an alias that exists but was not visible to the check is still never repointed: E_EXISTS', async () => {
    const alias = uniqueAlias('race');
    const existing = await kms.createKey({ alias });
    kms.faults.add({ fault: { kind: 'custom', name: ALIAS_NOT_FOUND_YET }, operation: 'DescribeKey' });
    const error = await failure(aws.create?.(parseKeyRef(`awskms:///${alias}`), {}) as Promise<string>);
    expect(error.code).toBe('E_EXISTS');
    expect(kms.key(alias).keyId).toBe(existing.keyId);
    const created = kms.calls('CreateKey').at(-1)?.status;
    expect(created).toBe(200);
    expect(error.message).toMatch(/scheduled for deletion/);
  });
});

describe('key references', () => {
  test.each([
    ['awskms://alias/release', 'awskms:///alias/release'],
    [`awskms://${'1234abcd-12ab-34cd-56ef-1234567890ab'}`, 'third slash'],
    ['awskms:///release', 'the key is not a key ID, key ARN, alias/NAME or alias ARN'],
    ['awskms:///arn:aws:kms:us-east-1:111122223333:key/not-a-uuid', 'the ARN names no valid key ID'],
    ['awskms://bad host/alias/x', 'the endpoint is not HOST[:PORT]'],
    ['awskms:///', 'names no key'],
  ])('%s: E_INPUT (%s)', async (reference, why) => {
    const before = kms.requests.length;
    const error = await failure(open(reference));
    expect(error.code).toBe('E_INPUT');
    expect(error.message).toContain(why);
    expect(kms.requests.length).toBe(before);
  });

  test('multi-Region key IDs (mrk-…) are accepted as key IDs', async () => {
    const error = await failure(open(`awskms:///mrk-${'0'.repeat(32)}`));
    // Well-formed, so it reached the service, which has no such key.
    expect(error.code).toBe('E_KEY_NOT_FOUND');
  });
});

describe("a build's manifest", () => {
  it('costs one KMS call however many files it covers', async () => {
    await kms.createKey({ keySpec: 'ECC_NIST_P256', alias: 'alias/build-manifest' });
    const signer = await open('awskms:///alias/build-manifest');
    const files = Array.from({ length: 2_000 }, (_, i) => ({ name: `assets/chunk-${i}.js`, data: `export default ${i};` }));
    const before = kms.calls('Sign').length;
    const signed = await signBuild(files, { bundler: { name: 'test', version: '1' }, outputDir: 'dist' }, signer);
    expect(signed.statement.subject).toHaveLength(2_000);
    expect(kms.calls('Sign').length - before).toBe(1);
  });
});
