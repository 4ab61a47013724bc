// The `signet` command with gcpkms:// keys, pointed at the emulator the way a user's shell is
// (gcloud's endpoint override, application default credentials): every algorithm end to end,
// then each failure with its own code and exit status, leaving the directory as it was.
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { GcpKmsEmulator, grpcStatusFault } from '@signet/emulators/gcp-kms';
import {
  opensslVerify,
  type RunResult,
  readJson,
  SIGNET,
  sigstoreVerify,
  singleErrorLine,
  snapshotDir,
  useTempDir,
  writeFile,
} from '@signet/test-support';
import { cli, cliOk, keyName, uri, useEmulator, withDir } from './support';

const emulator = useEmulator();
const tmp = useTempDir();

afterEach(() => {
  emulator.faults.clear();
  emulator.allowAll();
});

const SBOM = JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.6', components: [] });

/** `signet key generate --algorithm` → the digest the sign request carries ('data': Ed25519 signs the message). */
const ALGORITHMS = [
  ['ecdsa-p256', 'sha256'],
  ['ecdsa-p384', 'sha384'],
  ['ed25519', 'data'],
  ['rsa-2048', 'sha256'],
  ['rsa-3072', 'sha256'],
  ['rsa-4096', 'sha256'],
  ['rsa-pss-2048', 'sha256'],
  ['rsa-pss-3072', 'sha256'],
  ['rsa-pss-4096', 'sha256'],
] as const;

interface Flow {
  generated: RunResult;
  publicPem: string;
  artifact: Buffer;
  blob: unknown;
  attestation: unknown;
  verify: RunResult;
  verifyAttestation: RunResult;
}

describe('generate → public key → sign and attest → verify offline, for each algorithm', () => {
  const flows = new Map<string, Flow | Error>();

  // The CLI runs take a while each, so the algorithms' runs happen here, three at a time; the tests read
  // the results. Not all at once: the emulator makes RSA-4096 keys on this process's thread pool,
  // and on a loaded two-core CI machine nine key generations at once outlast the CLI's 30 s deadline.
  beforeAll(async () => {
    const queue = ALGORITHMS.map(([algorithm]) => algorithm);
    const worker = async () => {
      for (let algorithm = queue.shift(); algorithm; algorithm = queue.shift()) {
        const current = algorithm;
        try {
          flows.set(current, await withDir((dir) => flow(dir, uri(`cli-${current}`), current)));
        } catch (error) {
          flows.set(current, error as Error);
        }
      }
    };
    await Promise.all([worker(), worker(), worker()]);
  }, 300_000);

  async function flow(dir: string, key: string, algorithm: string): Promise<Flow> {
    const artifact = crypto.randomBytes(2048);
    writeFile(dir, 'release.tgz', artifact);
    writeFile(dir, 'sbom.cdx.json', SBOM);
    const generated = await cliOk(emulator, dir, ['key', 'generate', '--key', key, '--algorithm', algorithm]);
    await cliOk(emulator, dir, ['key', 'public', '--key', key, '--output', 'key.pub']);
    await cliOk(emulator, dir, ['sign', 'release.tgz', '--key', key]);
    await cliOk(emulator, dir, ['attest', 'release.tgz', '--predicate', 'sbom.cdx.json', '--type', 'cyclonedx', '--key', key]);
    const bundle = 'release.tgz.cyclonedx.sigstore.json';
    return {
      generated,
      publicPem: fs.readFileSync(path.join(dir, 'key.pub'), 'utf8'),
      artifact,
      blob: readJson(dir, 'release.tgz.sigstore.json'),
      attestation: readJson(dir, bundle),
      verify: await cli(emulator, dir, ['verify', 'release.tgz', '--key', 'key.pub']),
      verifyAttestation: await cli(emulator, dir, [
        'verify-attestation',
        'release.tgz',
        '--bundle',
        bundle,
        '--type',
        'cyclonedx',
        '--key',
        'key.pub',
      ]),
    };
  }

  test.each(ALGORITHMS)('%s', (algorithm, carried) => {
    const result = flows.get(algorithm);
    if (result instanceof Error || !result) throw result ?? new Error('the flow did not run');
    const id = `cli-${algorithm}`;
    const versionPem = emulator.publicKeyPem(`${keyName(id)}/cryptoKeyVersions/1`);
    expect(result.generated.stderr).toContain(`created ${uri(id)}`);
    expect(result.generated.stdout).toBe(versionPem);
    expect(result.publicPem).toBe(versionPem);

    expect([result.verify.status, result.verify.stderr]).toEqual([0, expect.stringContaining('Verified OK')]);
    expect([result.verifyAttestation.status, result.verifyAttestation.stderr]).toEqual([0, expect.stringContaining('Verified OK')]);
    expect(opensslVerify(result.blob, result.artifact, versionPem)).toBe(true);
    expect(opensslVerify(result.attestation, result.artifact, versionPem)).toBe(true);
    // The pinned @sigstore/verify refuses RSA-PSS by a plain RSA key and Ed25519 message
    // signatures, and DSSE by P-384 (see algorithms.test.ts): for those, Signet and openssl speak.
    if (!algorithm.startsWith('rsa-pss') && algorithm !== 'ed25519') sigstoreVerify(result.blob, result.artifact, versionPem);
    if (!algorithm.startsWith('rsa-pss') && algorithm !== 'ecdsa-p384') sigstoreVerify(result.attestation, result.artifact, versionPem);

    // One AsymmetricSign per signature (the blob, the attestation), each carrying a digest of the hash's length, never the artifact.
    const signs = emulator.calls('AsymmetricSign').filter((call) => JSON.stringify(call.body ?? {}).includes(id) || call.path.includes(id));
    expect(signs).toHaveLength(2);
    for (const call of signs) {
      const body = call.body as { digest?: Record<string, string>; data?: string };
      if (carried === 'data') {
        expect(body.digest).toBeUndefined();
      } else {
        expect(Buffer.from(body.digest?.[carried] ?? '', 'base64')).toHaveLength(crypto.createHash(carried).digest().length);
        expect(body.data).toBeUndefined();
      }
    }
  });
});

describe('failures: each its own code and exit status, and the directory unchanged', () => {
  const SIGNING = 'cli-failures';
  const OTHER = 'cli-other';
  beforeAll(async () => {
    await emulator.seedKey(keyName(SIGNING));
    await emulator.seedKey(keyName(OTHER));
  });

  function setup(): string {
    const dir = tmp();
    writeFile(dir, 'release.tgz', 'the release\n');
    return dir;
  }

  /** Runs a command that must fail; checks the one error line, the exit status and that nothing in `dir` changed. */
  async function fails(dir: string, args: string[], status: number, code: string, options: Parameters<typeof cli>[3] = {}) {
    const before = snapshotDir(dir);
    const result = await cli(emulator, dir, args, options);
    const error = singleErrorLine(result.stderr);
    expect([result.status, error.code]).toEqual([status, code]);
    expect(snapshotDir(dir)).toEqual(before);
    return { ...error, result };
  }

  test('verifying with another key’s public key: exit 1, E_SIGNATURE', async () => {
    const dir = setup();
    await cliOk(emulator, dir, ['sign', 'release.tgz', '--key', uri(SIGNING)]);
    writeFile(dir, 'other.pub', emulator.publicKeyPem(`${keyName(OTHER)}/cryptoKeyVersions/1`));
    await fails(dir, ['verify', 'release.tgz', '--key', 'other.pub'], 1, 'E_SIGNATURE');
    // and the KMS key itself, by URI, is what verifies it
    expect((await cliOk(emulator, dir, ['verify', 'release.tgz', '--key', uri(SIGNING)])).stderr).toContain('Verified OK');
  });

  test('a key that does not exist: exit 2, E_KEY_NOT_FOUND', async () => {
    const { message } = await fails(setup(), ['sign', 'release.tgz', '--key', uri('no-such-key')], 2, 'E_KEY_NOT_FOUND');
    expect(message).toContain(uri('no-such-key'));
  });

  test('a disabled key version: exit 3, E_KEY_DISABLED', async () => {
    await emulator.seedKey(keyName('cli-disabled'), 'EC_SIGN_P256_SHA256', { versions: 2 });
    emulator.setVersionState(`${keyName('cli-disabled')}/cryptoKeyVersions/2`, 'DISABLED');
    const { message } = await fails(setup(), ['sign', 'release.tgz', '--key', uri('cli-disabled', 2)], 3, 'E_KEY_DISABLED');
    expect(message).toContain('gcloud kms keys versions enable');
  });

  test('permission denied: exit 3, E_PERMISSION', async () => {
    emulator.deny({ permission: 'cloudkms.cryptoKeyVersions.useToSign', resource: keyName(SIGNING) });
    const { message } = await fails(setup(), ['sign', 'release.tgz', '--key', uri(SIGNING)], 3, 'E_PERMISSION');
    expect(message).toContain('roles/cloudkms.signerVerifier');
  });

  test('throttled, then recovered with the default retries: exit 0, and the log shows the retries', async () => {
    const dir = setup();
    emulator.faults.add({ fault: { kind: 'throttle', retryAfterSeconds: 1 }, operation: 'AsymmetricSign', times: 2 });
    const before = emulator.calls('AsymmetricSign').length;
    await cliOk(emulator, dir, ['sign', 'release.tgz', '--key', uri(SIGNING)]);
    expect(
      emulator
        .calls('AsymmetricSign')
        .slice(before)
        .map((c) => c.status),
    ).toEqual([429, 429, 200]);
    writeFile(dir, 'key.pub', emulator.publicKeyPem(`${keyName(SIGNING)}/cryptoKeyVersions/1`));
    expect((await cli(emulator, dir, ['verify', 'release.tgz', '--key', 'key.pub'])).status).toBe(0);
  });

  test('a corrupted answer is retried, and the bundle is written from the good one', async () => {
    const dir = setup();
    emulator.faults.add({ fault: { kind: 'corrupt' }, operation: 'AsymmetricSign' });
    const before = emulator.calls('AsymmetricSign').length;
    await cliOk(emulator, dir, ['sign', 'release.tgz', '--key', uri(SIGNING)]);
    expect(
      emulator
        .calls('AsymmetricSign')
        .slice(before)
        .map((c) => c.fault),
    ).toEqual(['corrupt', undefined]);
    writeFile(dir, 'key.pub', emulator.publicKeyPem(`${keyName(SIGNING)}/cryptoKeyVersions/1`));
    expect((await cli(emulator, dir, ['verify', 'release.tgz', '--key', 'key.pub'])).status).toBe(0);
  });

  test('persistent corruption: exit 3, E_PROVIDER, after the bounded attempts', async () => {
    emulator.faults.add({ fault: { kind: 'corrupt' }, operation: 'AsymmetricSign', times: Infinity });
    const before = emulator.calls('AsymmetricSign').length;
    const { message } = await fails(setup(), ['sign', 'release.tgz', '--key', uri(SIGNING)], 3, 'E_PROVIDER');
    expect(message).toContain('CRC32C');
    expect(emulator.calls('AsymmetricSign').length - before).toBe(5);
  });

  test('UNAVAILABLE throughout: exit 3, E_PROVIDER', async () => {
    emulator.faults.add({ fault: grpcStatusFault(14), operation: 'ListCryptoKeyVersions', times: Infinity });
    const { message } = await fails(setup(), ['sign', 'release.tgz', '--key', uri(SIGNING)], 3, 'E_PROVIDER');
    expect(message).toContain('UNAVAILABLE');
  });

  test('a dead service: exit 3, E_PROVIDER naming the service, the key and what to check', async () => {
    const dead = new GcpKmsEmulator();
    await dead.start();
    await dead.stop();
    const { message } = await fails(setup(), ['sign', 'release.tgz', '--key', uri(SIGNING)], 3, 'E_PROVIDER', {
      env: { CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDKMS: dead.endpoint },
    });
    expect(message).toContain('GCP Cloud KMS failed');
    expect(message).toContain(uri(SIGNING));
    expect(message).toContain(`reachable at 127.0.0.1:${dead.tlsPort} (CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDKMS)`);
  });

  test('no credentials anywhere: exit 3, E_PERMISSION saying how to provide them', async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-gcpkms-home-'));
    try {
      const { message } = await fails(setup(), ['sign', 'release.tgz', '--key', uri(SIGNING)], 3, 'E_PERMISSION', {
        env: { GOOGLE_APPLICATION_CREDENTIALS: undefined, HOME: home, CLOUDSDK_CONFIG: undefined },
      });
      expect(message).toContain('no application default credentials were found');
      expect(message).toContain('gcloud auth application-default login');
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  });

  test('no credentials, and a metadata server taken to be there that does not answer: E_PERMISSION at once, not a retried E_PROVIDER', async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-gcpkms-home-'));
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const closed = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    try {
      const before = emulator.requests.length;
      const { message } = await fails(setup(), ['sign', 'release.tgz', '--key', uri(SIGNING)], 3, 'E_PERMISSION', {
        env: {
          GOOGLE_APPLICATION_CREDENTIALS: undefined,
          HOME: home,
          CLOUDSDK_CONFIG: undefined,
          // as on a machine that says it is on Google Cloud (or a container that assumes so), where no metadata server runs
          METADATA_SERVER_DETECTION: 'assume-present',
          GCE_METADATA_HOST: closed,
        },
      });
      expect(message).toContain('no application default credentials were found: the metadata server did not answer');
      expect(message).not.toContain('GCP Cloud KMS failed');
      expect(emulator.requests.length).toBe(before);
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  });
});

describe('credentials and transports', () => {
  beforeAll(() => emulator.seedKey(keyName('cli-credentials')));

  test("gcloud's application default credentials file is found without GOOGLE_APPLICATION_CREDENTIALS", async () => {
    const dir = tmp();
    const home = path.join(dir, 'home');
    fs.mkdirSync(path.join(home, '.config', 'gcloud'), { recursive: true });
    fs.copyFileSync(emulator.credentialsFile, path.join(home, '.config', 'gcloud', 'application_default_credentials.json'));
    writeFile(dir, 'release.tgz', 'x');
    await cliOk(emulator, dir, ['sign', 'release.tgz', '--key', uri('cli-credentials')], {
      env: { GOOGLE_APPLICATION_CREDENTIALS: undefined, HOME: home, CLOUDSDK_CONFIG: undefined },
    });
    expect(fs.existsSync(path.join(dir, 'release.tgz.sigstore.json'))).toBe(true);
  });

  test('REST instead of gRPC: an http:// endpoint override', async () => {
    const dir = tmp();
    writeFile(dir, 'release.tgz', 'x');
    const before = emulator.requests.length;
    await cliOk(emulator, dir, ['sign', 'release.tgz', '--key', uri('cli-credentials')], { transport: 'rest' });
    const seen = emulator.requests.slice(before);
    expect(seen.map((r) => `${r.operation} ${r.path.split('/')[1]}`)).toEqual([
      'ListCryptoKeyVersions v1',
      'GetPublicKey v1',
      'AsymmetricSign v1',
    ]);
  });

  test('secrets from the credentials never reach the output of failing commands', async () => {
    const dir = tmp();
    writeFile(dir, 'release.tgz', 'x');
    const secretId = `SECRETKEYID${crypto.randomBytes(8).toString('hex')}`;
    const account = emulator.createServiceAccount('denied@signet-test.iam.gserviceaccount.com');
    const keyFile = writeFile(dir, 'denied.json', JSON.stringify({ ...account, private_key_id: secretId }));
    const brokenSecret = `SECRETJSON${crypto.randomBytes(8).toString('hex')}`;
    const broken = writeFile(dir, 'broken.json', `{"type":"service_account","private_key":"${brokenSecret}",`);
    emulator.deny({ principal: account.client_email });
    const keyBody = account.private_key.split('\n')[1] as string;

    const runs = [
      await cli(emulator, dir, ['sign', 'release.tgz', '--key', uri('cli-credentials')], {
        env: { GOOGLE_APPLICATION_CREDENTIALS: path.join(dir, keyFile) },
      }),
      await cli(emulator, dir, ['key', 'public', '--key', uri('cli-credentials')], {
        env: { GOOGLE_APPLICATION_CREDENTIALS: path.join(dir, broken) },
      }),
      await cli(emulator, dir, ['sign', 'release.tgz', '--key', uri('cli-credentials')], {
        env: { CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDKMS: 'https://user:SECRETPASSWORD@127.0.0.1:1/v1/' },
      }),
    ];
    expect(runs.map((r) => [r.status, singleErrorLine(r.stderr).code])).toEqual([
      [3, 'E_PERMISSION'],
      [3, 'E_PERMISSION'],
      [2, 'E_INPUT'],
    ]);
    const output = runs.map((r) => r.stdout + r.stderr).join('\n');
    for (const secret of [
      secretId,
      Buffer.from(secretId).toString('base64url').slice(0, 12),
      brokenSecret,
      keyBody,
      'SECRETPASSWORD',
      'Bearer',
      'eyJ',
    ]) {
      expect(output).not.toContain(secret);
    }
  });
});

test('rotation: `key public` follows the newest enabled version; the old key no longer verifies new bundles', async () => {
  const dir = tmp();
  const id = 'cli-rotation';
  await emulator.seedKey(keyName(id));
  writeFile(dir, 'release.tgz', 'v2\n');
  await cliOk(emulator, dir, ['key', 'public', '--key', uri(id), '--output', 'old.pub']);
  await emulator.addVersion(keyName(id));
  await cliOk(emulator, dir, ['key', 'public', '--key', uri(id), '--output', 'new.pub']);
  expect(fs.readFileSync(path.join(dir, 'new.pub'), 'utf8')).toBe(emulator.publicKeyPem(`${keyName(id)}/cryptoKeyVersions/2`));
  await cliOk(emulator, dir, ['sign', 'release.tgz', '--key', uri(id)]);
  expect((await cli(emulator, dir, ['verify', 'release.tgz', '--key', 'old.pub'])).status).toBe(1);
  expect((await cli(emulator, dir, ['verify', 'release.tgz', '--key', 'old.pub', '--key', 'new.pub'])).status).toBe(0);
});

test('signet sign --key gcpkms:// loads this provider and no other', async () => {
  const dir = tmp();
  writeFile(dir, 'release.tgz', 'x');
  const recorder = path.resolve(path.dirname(SIGNET), '../test/fixtures/record-modules.js');
  const modulesFile = path.join(os.tmpdir(), `signet-gcpkms-modules-${process.pid}.json`);
  try {
    await cliOk(emulator, dir, ['sign', 'release.tgz', '--key', uri('cli-credentials')], {
      nodeArgs: ['-r', recorder],
      env: { SIGNET_TEST_MODULES_FILE: modulesFile },
    });
    const modules = JSON.parse(fs.readFileSync(modulesFile, 'utf8')) as string[];
    expect(modules.some((file) => file.includes(`${path.sep}kms-gcp${path.sep}dist${path.sep}`))).toBe(true);
    expect(modules.some((file) => file.includes(`@google-cloud${path.sep}kms`))).toBe(true);
    const others = ['kms-aws', 'kms-azure', 'kms-vault', `packages${path.sep}pkcs11`, '@aws-sdk', '@azure', 'node-vault', 'pkcs11js'];
    expect(modules.filter((file) => others.some((name) => file.includes(name)))).toEqual([]);
  } finally {
    fs.rmSync(modulesFile, { force: true });
  }
});
