// The `signet` command with awskms:// keys, against the AWS KMS emulator: the real CLI in a
// child process, the real @aws-sdk/client-kms inside it, its default credential chain
// pointed at the emulator by environment variables.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { ALIAS_NOT_FOUND_YET, AwsKmsEmulator, envFor } from '@signet/emulators/aws-kms';
import {
  opensslCertificate,
  opensslVerify,
  type RunResult,
  readJson,
  signedBytes,
  signet,
  signetAsync,
  sigstoreVerify,
  singleErrorLine,
  snapshotDir,
  useTempDir,
  writeFile,
} from '@signet/test-support';

const kms = new AwsKmsEmulator();
beforeAll(() => kms.start());
afterAll(() => kms.stop());
afterEach(() => {
  kms.faults.clear();
  kms.allowAll();
});

const tmp = useTempDir();

/** Runs signet asynchronously (the emulator answers from this process) with the emulator's environment. */
function run(dir: string, args: string[], env: Record<string, string | undefined> = {}, nodeArgs?: string[]): Promise<RunResult> {
  return signetAsync(args, {
    cwd: dir,
    // Without the SDK's own switch, so the provider is what keeps its Node-version notice off stderr.
    env: { ...envFor(kms), AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: undefined, ...env },
    nodeArgs,
  });
}

async function ok(dir: string, args: string[], env: Record<string, string | undefined> = {}): Promise<RunResult> {
  const result = await run(dir, args, env);
  if (result.status !== 0) throw new Error(`signet ${args.join(' ')} exited ${result.status}\n${result.stdout}\n${result.stderr}`);
  return result;
}

/** Runs a command that must fail: returns its status and error code, and checks it wrote nothing. */
async function fails(dir: string, args: string[], env: Record<string, string | undefined> = {}) {
  const before = snapshotDir(dir);
  const result = await run(dir, args, env);
  expect(snapshotDir(dir)).toEqual(before);
  expect(result.stdout).toBe('');
  const { code, message } = singleErrorLine(result.stderr);
  return { status: result.status, code, message, output: result.stdout + result.stderr };
}

let aliases = 0;
function uniqueAlias(label: string): string {
  aliases += 1;
  return `alias/cli-${label}-${aliases}`;
}

function artifact(dir: string, name = 'app.tgz'): Buffer {
  const bytes = crypto.randomBytes(2048);
  writeFile(dir, name, bytes);
  return bytes;
}

const CYCLONEDX = { bomFormat: 'CycloneDX', specVersion: '1.5', version: 1 };

interface SignBody {
  KeyId: string;
  Message: string;
  MessageType: string;
  SigningAlgorithm: string;
}

const signBodies = (from: number) =>
  kms
    .calls('Sign')
    .slice(from)
    .map((entry) => entry.body as SignBody);

describe('each algorithm AWS KMS offers: generate, export, sign, attest, verify', () => {
  const CASES = [
    { algorithm: undefined, keySpec: 'ECC_NIST_P256', signing: 'ECDSA_SHA_256', hash: 'sha256', sigstoreDsse: true },
    { algorithm: 'ecdsa-p384', keySpec: 'ECC_NIST_P384', signing: 'ECDSA_SHA_384', hash: 'sha384', sigstoreDsse: false },
    { algorithm: 'ecdsa-p521', keySpec: 'ECC_NIST_P521', signing: 'ECDSA_SHA_512', hash: 'sha512', sigstoreDsse: false },
    { algorithm: 'rsa-2048', keySpec: 'RSA_2048', signing: 'RSASSA_PKCS1_V1_5_SHA_256', hash: 'sha256', sigstoreDsse: true },
    { algorithm: 'rsa-3072', keySpec: 'RSA_3072', signing: 'RSASSA_PKCS1_V1_5_SHA_256', hash: 'sha256', sigstoreDsse: true },
    { algorithm: 'rsa-4096', keySpec: 'RSA_4096', signing: 'RSASSA_PKCS1_V1_5_SHA_256', hash: 'sha256', sigstoreDsse: true },
  ] as const;

  // The pinned @sigstore/verify cannot verify P-384/P-521 DSSE signatures made with the curve's
  // own hash, as AWS KMS makes them; signet and openssl do (README, "Compatibility and versions").
  test.each(CASES)(
    '$keySpec (--algorithm $algorithm; none means the default)',
    async ({ algorithm, keySpec, signing, hash, sigstoreDsse }) => {
      const dir = tmp();
      const alias = uniqueAlias(keySpec.toLowerCase());
      const key = `awskms:///${alias}`;

      const generated = await ok(dir, ['key', 'generate', '--key', key, ...(algorithm ? ['--algorithm', algorithm] : [])]);
      expect(generated.stderr).toBe(`created ${key}\n`);
      const created = kms.key(alias);
      expect([created.keySpec, created.keyUsage]).toEqual([keySpec, 'SIGN_VERIFY']);
      expect(generated.stdout).toBe(kms.publicKeyPem(alias));

      await ok(dir, ['key', 'public', '--key', key, '--output', 'pub.pem']);
      const pem = fs.readFileSync(path.join(dir, 'pub.pem'), 'utf8');
      expect(pem).toBe(generated.stdout);

      const bytes = artifact(dir);
      writeFile(dir, 'sbom.json', JSON.stringify(CYCLONEDX));
      const signsBefore = kms.calls('Sign').length;
      await ok(dir, ['sign', 'app.tgz', '--key', key]);
      await ok(dir, ['attest', 'app.tgz', '--predicate', 'sbom.json', '--type', 'cyclonedx', '--key', key]);
      const message = readJson(dir, 'app.tgz.sigstore.json');
      const dsse = readJson(dir, 'app.tgz.cyclonedx.sigstore.json');

      // One Sign per signature, each carrying the digest (not the artifact), signed by the key's ARN.
      const [messageSign, dsseSign, ...more] = signBodies(signsBefore);
      expect(more).toEqual([]);
      for (const [body, signed] of [
        [messageSign, bytes],
        [dsseSign, signedBytes(dsse, bytes).signed],
      ] as const) {
        expect(body).toMatchObject({ KeyId: created.arn, MessageType: 'DIGEST', SigningAlgorithm: signing });
        const sent = Buffer.from(body?.Message ?? '', 'base64');
        expect(sent).toEqual(crypto.createHash(hash).update(signed).digest());
      }

      expect(signet(['verify', 'app.tgz', '--key', 'pub.pem'], { cwd: dir }).stderr).toContain('Verified OK: app.tgz');
      const attestation = signet(
        ['verify-attestation', 'app.tgz', '--bundle', 'app.tgz.cyclonedx.sigstore.json', '--type', 'cyclonedx', '--key', 'pub.pem'],
        { cwd: dir },
      );
      expect(attestation.status).toBe(0);
      expect(opensslVerify(message, bytes, pem)).toBe(true);
      expect(opensslVerify(dsse, bytes, pem)).toBe(true);
      expect(() => sigstoreVerify(message, bytes, pem)).not.toThrow();
      if (sigstoreDsse) expect(() => sigstoreVerify(dsse, bytes, pem)).not.toThrow();
      else expect(() => sigstoreVerify(dsse, bytes, pem)).toThrow('signature verification failed');
    },
  );

  test('an RSA key that offers only PSS signs RSASSA_PSS_SHA_256, and the bundle verifies with signet and openssl', async () => {
    const dir = tmp();
    const alias = uniqueAlias('pss');
    await kms.createKey({ keySpec: 'RSA_3072', alias, signingAlgorithms: ['RSASSA_PSS_SHA_256', 'RSASSA_PSS_SHA_384'] });
    const key = `awskms:///${alias}`;
    await ok(dir, ['key', 'public', '--key', key, '--output', 'pub.pem']);
    const bytes = artifact(dir);
    writeFile(dir, 'sbom.json', JSON.stringify(CYCLONEDX));
    const signsBefore = kms.calls('Sign').length;
    await ok(dir, ['sign', 'app.tgz', '--key', key]);
    await ok(dir, ['attest', 'app.tgz', '--predicate', 'sbom.json', '--type', 'cyclonedx', '--key', key]);
    expect(signBodies(signsBefore).map((body) => body.SigningAlgorithm)).toEqual(['RSASSA_PSS_SHA_256', 'RSASSA_PSS_SHA_256']);
    const pem = fs.readFileSync(path.join(dir, 'pub.pem'), 'utf8');
    expect(signet(['verify', 'app.tgz', '--key', 'pub.pem'], { cwd: dir }).status).toBe(0);
    expect(
      signet(['verify-attestation', 'app.tgz', '--bundle', 'app.tgz.cyclonedx.sigstore.json', '--type', 'cyclonedx', '--key', 'pub.pem'], {
        cwd: dir,
      }).status,
    ).toBe(0);
    expect(opensslVerify(readJson(dir, 'app.tgz.sigstore.json'), bytes, pem)).toBe(true);
    expect(opensslVerify(readJson(dir, 'app.tgz.cyclonedx.sigstore.json'), bytes, pem)).toBe(true);
  });

  test('several artifacts: one Sign call per artifact, each with that artifact’s digest', async () => {
    const dir = tmp();
    const alias = uniqueAlias('many');
    await kms.createKey({ alias });
    const files = ['a.js', 'b.js', 'c.js'].map((name) => ({ name, bytes: artifact(dir, name) }));
    const signsBefore = kms.calls('Sign').length;
    await ok(dir, ['sign', ...files.map((f) => f.name), '--key', `awskms:///${alias}`]);
    const sent = signBodies(signsBefore).map((body) => Buffer.from(body.Message, 'base64').toString('hex'));
    expect(sent.sort()).toEqual(files.map((f) => crypto.createHash('sha256').update(f.bytes).digest('hex')).sort());
    fs.writeFileSync(path.join(dir, 'pub.pem'), kms.publicKeyPem(alias));
    for (const { name } of files) expect(signet(['verify', name, '--key', 'pub.pem'], { cwd: dir }).status).toBe(0);
  });
});

describe('key references', () => {
  test('key ID, key ARN and alias ARN; an ARN brings its own region', async () => {
    const dir = tmp();
    const alias = uniqueAlias('forms');
    const key = await kms.createKey({ alias });
    fs.writeFileSync(path.join(dir, 'pub.pem'), kms.publicKeyPem(key.keyId));
    const forms = [key.keyId, key.arn, `arn:aws:kms:${kms.region}:${kms.accountId}:${alias}`];
    for (const [i, form] of forms.entries()) {
      artifact(dir, `f${i}.bin`);
      // No AWS_REGION for the ARNs: the region comes from the ARN.
      await ok(dir, ['sign', `f${i}.bin`, '--key', `awskms:///${form}`], form.startsWith('arn:') ? { AWS_REGION: undefined } : {});
      expect(signet(['verify', `f${i}.bin`, '--key', 'pub.pem'], { cwd: dir }).status).toBe(0);
    }
  });

  test('awskms://HOST:PORT/… reaches that endpoint over HTTPS, ahead of AWS_ENDPOINT_URL_KMS', async () => {
    const dir = tmp();
    const alias = uniqueAlias('endpoint');
    await kms.createKey({ alias });
    // A TLS front for the emulator, with a certificate for 127.0.0.1 that the child trusts.
    const tls = opensslCertificate('IP:127.0.0.1');
    fs.writeFileSync(path.join(dir, 'tls.crt'), tls.cert);
    const proxy = https.createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
      const upstream = http.request(`${kms.url}${req.url ?? '/'}`, { method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    try {
      artifact(dir);
      const before = kms.calls('Sign').length;
      const port = (proxy.address() as AddressInfo).port;
      await ok(dir, ['sign', 'app.tgz', '--key', `awskms://127.0.0.1:${port}/${alias}`], {
        AWS_ENDPOINT_URL_KMS: deadUrl,
        NODE_EXTRA_CA_CERTS: path.join(dir, 'tls.crt'),
      });
      expect(kms.calls('Sign').length).toBe(before + 1);
    } finally {
      proxy.closeAllConnections();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    }
  });

  test('temporary credentials (AWS_SESSION_TOKEN) are used', async () => {
    const dir = tmp();
    const alias = uniqueAlias('session');
    await kms.createKey({ alias });
    const role = kms.addPrincipal('ci-role', { sessionToken: true });
    artifact(dir);
    await ok(dir, ['sign', 'app.tgz', '--key', `awskms:///${alias}`], envFor(kms, role));
    const missingToken = await fails(dir, ['sign', 'app.tgz', '--key', `awskms:///${alias}`, '--bundle', 'x.json'], {
      ...envFor(kms, role),
      AWS_SESSION_TOKEN: undefined,
    });
    expect([missingToken.status, missingToken.code]).toEqual([3, 'E_PERMISSION']);
  });

  test('signet sign --key awskms:// loads @signet/kms-aws and the AWS SDK, and no other provider', async () => {
    const dir = tmp();
    const alias = uniqueAlias('lazy');
    await kms.createKey({ alias });
    artifact(dir);
    const file = path.join(dir, 'modules.json');
    const recorder = path.resolve(__dirname, '../../cli/test/fixtures/record-modules.js');
    const result = await run(dir, ['sign', 'app.tgz', '--key', `awskms:///${alias}`], { SIGNET_TEST_MODULES_FILE: file }, ['-r', recorder]);
    expect(result.status).toBe(0);
    const modules = JSON.parse(fs.readFileSync(path.join(dir, 'modules.json'), 'utf8')) as string[];
    const sep = path.sep;
    expect(modules.some((m) => m.includes(`kms-aws${sep}dist${sep}`))).toBe(true);
    expect(modules.some((m) => m.includes(`@aws-sdk${sep}client-kms${sep}`))).toBe(true);
    const others = ['kms-gcp', 'kms-azure', 'kms-vault', 'pkcs11', '@google-cloud', '@azure', 'node-vault', 'pkcs11js'];
    expect(modules.filter((m) => others.some((name) => m.includes(name)))).toEqual([]);
  });
});

describe('key generate refuses what it cannot or must not do', () => {
  test('an existing alias is never repointed: E_EXISTS, no key created', async () => {
    const dir = tmp();
    const alias = uniqueAlias('taken');
    const existing = await kms.createKey({ alias });
    const before = kms.calls('CreateKey').length;
    const result = await fails(dir, ['key', 'generate', '--key', `awskms:///${alias}`, '--force']);
    expect([result.status, result.code]).toEqual([2, 'E_EXISTS']);
    expect(result.message).toContain(existing.arn);
    expect(kms.calls('CreateKey').length).toBe(before);
    expect(kms.key(alias).keyId).toBe(existing.keyId);
  });

  test.each([
    ['ed25519', /Ed25519/],
    ['rsa-pss-2048', /PKCS#1 v1\.5 and PSS alike/],
  ])('--algorithm %s: E_INPUT naming what AWS KMS keys can be made', async (algorithm, why) => {
    const dir = tmp();
    const before = kms.calls('CreateKey').length;
    const result = await fails(dir, ['key', 'generate', '--key', `awskms:///${uniqueAlias('refused')}`, '--algorithm', algorithm]);
    expect([result.status, result.code]).toEqual([2, 'E_INPUT']);
    expect(result.message).toMatch(why);
    expect(result.message).toContain('ecdsa-p256, ecdsa-p384, ecdsa-p521, rsa-2048, rsa-3072, rsa-4096');
    expect(kms.calls('CreateKey').length).toBe(before);
  });

  test('a key ID cannot be chosen: E_INPUT asking for an alias', async () => {
    const result = await fails(tmp(), ['key', 'generate', '--key', `awskms:///${crypto.randomUUID()}`]);
    expect([result.status, result.code]).toEqual([2, 'E_INPUT']);
    expect(result.message).toContain('awskms:///alias/NAME');
  });
});

describe('failures: each its own code and exit status, nothing written', () => {
  let alias: string;
  let other: string;
  beforeAll(async () => {
    alias = uniqueAlias('failures');
    other = uniqueAlias('other');
    await kms.createKey({ alias });
    await kms.createKey({ alias: other });
  });

  function signArgs(key = `awskms:///${alias}`): string[] {
    return ['sign', 'app.tgz', '--key', key];
  }

  test('verifying with another key’s public key: exit 1, E_SIGNATURE', async () => {
    const dir = tmp();
    artifact(dir);
    await ok(dir, signArgs());
    fs.writeFileSync(path.join(dir, 'other.pem'), kms.publicKeyPem(other));
    const before = snapshotDir(dir);
    const result = signet(['verify', 'app.tgz', '--key', 'other.pem'], { cwd: dir });
    expect(result.status).toBe(1);
    expect(singleErrorLine(result.stderr).code).toBe('E_SIGNATURE');
    expect(snapshotDir(dir)).toEqual(before);
  });

  test.each([
    ['a key ID', () => `awskms:///${crypto.randomUUID()}`],
    ['an alias', () => 'awskms:///alias/cli-never-created'],
  ])('a key that does not exist (%s): exit 2, E_KEY_NOT_FOUND', async (_label, key) => {
    const dir = tmp();
    artifact(dir);
    const result = await fails(dir, signArgs(key()));
    expect([result.status, result.code]).toEqual([2, 'E_KEY_NOT_FOUND']);
    expect(result.message).toContain('NotFoundException');
  });

  test.each([
    ['disabled', 'Disabled', 'DisabledException'],
    ['pending deletion', 'PendingDeletion', 'KMSInvalidStateException'],
  ] as const)('a %s key: exit 3, E_KEY_DISABLED', async (_label, state, exception) => {
    const dir = tmp();
    artifact(dir);
    const name = uniqueAlias('state');
    await kms.createKey({ alias: name });
    kms.setKeyState(name, state);
    const result = await fails(dir, signArgs(`awskms:///${name}`));
    expect([result.status, result.code]).toEqual([3, 'E_KEY_DISABLED']);
    expect(result.message).toContain(exception);
    expect(result.message).toContain('enable-key');
  });

  test('permission denied (kms:Sign refused to this principal): exit 3, E_PERMISSION, and its secret is not printed', async () => {
    const dir = tmp();
    artifact(dir);
    const reader = kms.addPrincipal('reader');
    kms.deny({ accessKeyId: reader.accessKeyId, operation: 'Sign' });
    const result = await fails(dir, signArgs(), envFor(kms, reader));
    expect([result.status, result.code]).toEqual([3, 'E_PERMISSION']);
    expect(result.message).toContain('not authorized to perform: kms:Sign');
    expect(result.message).toContain('kms:Sign');
    expect(result.output).not.toContain(reader.secretAccessKey);
  });

  test('credentials AWS refuses, or none at all: exit 3, E_PERMISSION, no secret or token in the output', async () => {
    const dir = tmp();
    artifact(dir);
    const secret = 'SIGNET-TEST-SECRET-q7Zr9PXkV2';
    const token = 'SIGNET-TEST-TOKEN-Lm3Wc8TnB5';
    const wrongSecret = await fails(dir, signArgs(), { AWS_SECRET_ACCESS_KEY: secret });
    expect([wrongSecret.status, wrongSecret.code]).toEqual([3, 'E_PERMISSION']);
    expect(wrongSecret.message).toContain('InvalidSignatureException');
    const unknownKey = await fails(dir, signArgs(), {
      AWS_ACCESS_KEY_ID: 'AKIAUNKNOWN000000000',
      AWS_SECRET_ACCESS_KEY: secret,
      AWS_SESSION_TOKEN: token,
    });
    expect([unknownKey.status, unknownKey.code]).toEqual([3, 'E_PERMISSION']);
    expect(unknownKey.message).toContain('UnrecognizedClientException');
    const none = await fails(dir, signArgs(), { AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined });
    expect([none.status, none.code]).toEqual([3, 'E_PERMISSION']);
    expect(none.message).toContain('credentials');
    for (const output of [wrongSecret.output, unknownKey.output, none.output]) {
      expect(output).not.toContain(secret);
      expect(output).not.toContain(token);
      expect(output).not.toContain(kms.credentials.secretAccessKey);
    }
    expect(JSON.stringify(kms.requests)).not.toContain(token);
  });

  describe('no credentials, however the chain finds out: exit 3, E_PERMISSION at once, never a retried E_PROVIDER', () => {
    let closed: string;
    beforeAll(async () => {
      const server = http.createServer();
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      closed = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });
    const noKeys = { AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined, AWS_SESSION_TOKEN: undefined };
    const containerToken = 'SIGNET-TEST-CONTAINER-TOKEN-h4Xp2';

    test.each([
      // off EC2: the instance metadata service gives no answer
      ['instance metadata unreachable', () => ({ AWS_EC2_METADATA_DISABLED: undefined, AWS_EC2_METADATA_SERVICE_ENDPOINT: closed })],
      // off ECS: the container credentials endpoint gives no answer
      [
        'container endpoint unreachable',
        () => ({ AWS_CONTAINER_CREDENTIALS_FULL_URI: `${closed}/creds`, AWS_CONTAINER_AUTHORIZATION_TOKEN: containerToken }),
      ],
      // a CI job's web identity token that was never written
      [
        'web identity token file missing',
        () => ({ AWS_WEB_IDENTITY_TOKEN_FILE: path.join(tmp(), 'no-such-token'), AWS_ROLE_ARN: 'arn:aws:iam::111122223333:role/ci' }),
      ],
    ])('%s', async (_case, extra) => {
      const dir = tmp();
      artifact(dir);
      const before = kms.requests.length;
      const result = await fails(dir, signArgs(), { ...noKeys, ...extra() });
      expect([result.status, result.code]).toEqual([3, 'E_PERMISSION']);
      expect(result.message).toMatch(/^no usable credentials for AWS KMS to read the public key with awskms:\/\/\//);
      expect(result.message).toMatch(/no AWS credentials were found|the AWS credentials could not be loaded/);
      expect(result.output).not.toContain(containerToken);
      // nothing reached KMS
      expect(kms.requests.length).toBe(before);
    });
  });

  test('no region anywhere: exit 2, E_INPUT saying how to set one', async () => {
    const dir = tmp();
    artifact(dir);
    const result = await fails(dir, signArgs(), { AWS_REGION: undefined, AWS_DEFAULT_REGION: undefined });
    expect([result.status, result.code]).toEqual([2, 'E_INPUT']);
    expect(result.message).toContain('AWS_REGION');
  });

  test('throttled, then recovered through the default retries: exit 0, and the log shows the retries', async () => {
    const dir = tmp();
    const bytes = artifact(dir);
    kms.faults.add({ fault: { kind: 'throttle', retryAfterSeconds: 1 }, operation: 'Sign', times: 2 });
    const before = kms.calls('Sign').length;
    await ok(dir, signArgs());
    const calls = kms.calls('Sign').slice(before);
    expect(calls.map((entry) => [entry.status, entry.fault])).toEqual([
      [400, 'throttle'],
      [400, 'throttle'],
      [200, undefined],
    ]);
    // The retries resent the same digest.
    const digest = crypto.createHash('sha256').update(bytes).digest('base64');
    expect(calls.map((entry) => (entry.body as SignBody).Message)).toEqual([digest, digest, digest]);
    fs.writeFileSync(path.join(dir, 'pub.pem'), kms.publicKeyPem(alias));
    expect(signet(['verify', 'app.tgz', '--key', 'pub.pem'], { cwd: dir }).status).toBe(0);
  });

  test('a 5xx and a dropped connection, then recovered: exit 0', async () => {
    const dir = tmp();
    artifact(dir);
    kms.faults
      .add({ fault: { kind: 'status', status: 500 }, operation: 'GetPublicKey' })
      .add({ fault: { kind: 'drop' }, operation: 'Sign' })
      .add({ fault: { kind: 'corrupt' }, operation: 'Sign' });
    const before = kms.calls('Sign').length;
    await ok(dir, signArgs());
    expect(
      kms
        .calls('Sign')
        .slice(before)
        .map((entry) => entry.fault),
    ).toEqual(['drop', 'corrupt', undefined]);
  });

  test('a service that keeps failing: exit 3, E_PROVIDER after 5 attempts, naming the service, the key and what to check', async () => {
    const dir = tmp();
    artifact(dir);
    kms.faults.add({ fault: { kind: 'status', status: 503 }, operation: 'Sign', times: Number.POSITIVE_INFINITY });
    const before = kms.calls('Sign').length;
    const result = await fails(dir, signArgs());
    expect([result.status, result.code]).toEqual([3, 'E_PROVIDER']);
    expect(result.message).toContain(`AWS KMS failed to sign with awskms:///${alias}`);
    expect(result.message).toContain('AWS_ENDPOINT_URL_KMS');
    expect(kms.calls('Sign').length - before).toBe(5);
  });

  test('a dead service (the emulator stopped): exit 3, E_PROVIDER', async () => {
    const dir = tmp();
    artifact(dir);
    const dead = new AwsKmsEmulator();
    await dead.start();
    const env = envFor(dead);
    await dead.stop();
    const result = await fails(dir, signArgs(), env);
    expect([result.status, result.code]).toEqual([3, 'E_PROVIDER']);
    expect(result.message).toContain(`AWS KMS failed to read the public key with awskms:///${alias}`);
    expect(result.message).toMatch(/ECONNREFUSED/);
  });

  test(`a just-created alias not visible yet ("${ALIAS_NOT_FOUND_YET}"): looked up again until it appears`, async () => {
    const dir = tmp();
    artifact(dir);
    const fresh = uniqueAlias('fresh');
    await ok(dir, ['key', 'generate', '--key', `awskms:///${fresh}`]);
    kms.faults.add({ fault: { kind: 'custom', name: ALIAS_NOT_FOUND_YET }, operation: 'GetPublicKey', times: 2 });
    const before = kms.calls('GetPublicKey').length;
    await ok(dir, signArgs(`awskms:///${fresh}`));
    expect(
      kms
        .calls('GetPublicKey')
        .slice(before)
        .map((entry) => entry.status),
    ).toEqual([400, 400, 200]);
  });

  test.each([
    ['an encryption key', { keySpec: 'RSA_2048', keyUsage: 'ENCRYPT_DECRYPT' }, /not for signing/],
    ['an Ed25519 key', { keySpec: 'ECC_NIST_EDWARDS25519' }, /Ed25519/],
  ] as const)('%s: exit 2, E_KEY saying why', async (_label, spec, why) => {
    const dir = tmp();
    artifact(dir);
    const name = uniqueAlias('unusable');
    await kms.createKey({ ...spec, alias: name });
    const before = kms.calls('Sign').length;
    const result = await fails(dir, signArgs(`awskms:///${name}`));
    expect([result.status, result.code]).toEqual([2, 'E_KEY']);
    expect(result.message).toMatch(why);
    expect(kms.calls('Sign').length).toBe(before);
  });

  test('a malformed reference: exit 2, E_INPUT before any request', async () => {
    const dir = tmp();
    artifact(dir);
    const before = kms.requests.length;
    const result = await fails(dir, signArgs('awskms://alias/release'));
    expect([result.status, result.code]).toEqual([2, 'E_INPUT']);
    expect(result.message).toContain('awskms:///alias/release');
    expect(kms.requests.length).toBe(before);
  });
});
