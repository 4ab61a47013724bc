// The `signet` command with hashivault:// keys, run for real against the Vault Transit emulator,
// pointed at it the way users point cosign at Vault: VAULT_ADDR, VAULT_TOKEN and friends.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { envFor, VaultTransitEmulator } from '@signet/emulators/vault-transit';
import {
  opensslVerify,
  type RunResult,
  readJson,
  signetAsync,
  sigstoreVerify,
  singleErrorLine,
  snapshotDir,
  useTempDir,
  writeFile,
} from '@signet/test-support';

const vault = new VaultTransitEmulator();
let deadUrl = '';
beforeAll(async () => {
  await vault.start();
  const dead = new VaultTransitEmulator();
  deadUrl = await dead.start();
  await dead.stop();
});
afterAll(() => vault.stop());
afterEach(() => {
  vault.faults.clear();
  vault.unseal();
});

const tmp = useTempDir();
const ARTIFACT = 'the release tarball\n';
const SBOM = { bomFormat: 'CycloneDX', specVersion: '1.5', version: 1 };
const SECRET = 'hvs.SIGNET-CLI-SECRET-51d0e2';
vault.addToken(SECRET, 'root');

/** A directory with an artifact and a predicate in it. */
function setup(): string {
  const dir = tmp();
  writeFile(dir, 'app.tgz', ARTIFACT);
  writeFile(dir, 'sbom.cdx.json', JSON.stringify(SBOM));
  return dir;
}

/**
 * `signet ARGS` in `dir`, with the environment pointing at the emulator. Async, because the
 * emulator answers from this process. HOME is the test directory, so no real ~/.vault-token
 * is ever read.
 */
function signet(dir: string, args: string[], env: Record<string, string | undefined> = {}, nodeArgs?: string[]): Promise<RunResult> {
  return signetAsync(args, {
    cwd: dir,
    nodeArgs,
    env: { VAULT_NAMESPACE: undefined, TRANSIT_SECRET_ENGINE_PATH: undefined, HOME: dir, ...envFor(vault), ...env },
  });
}

async function signetOk(dir: string, args: string[], env: Record<string, string | undefined> = {}): Promise<RunResult> {
  const result = await signet(dir, args, env);
  if (result.status !== 0) throw new Error(`signet ${args.join(' ')} exited ${result.status}\n${result.stderr}`);
  return result;
}

/** Runs a command that must fail: checks its status and error code, that it wrote nothing, and that no token shows. */
async function expectFailure(
  dir: string,
  args: string[],
  expected: { status: number; code: string },
  env: Record<string, string | undefined> = {},
): Promise<string> {
  const before = snapshotDir(dir);
  const result = await signet(dir, args, env);
  // With its output, so that an unexpected status says why.
  expect({ status: result.status, output: result.stdout + result.stderr }).toEqual({ status: expected.status, output: expect.any(String) });
  const { code, message } = singleErrorLine(result.stderr);
  expect(code).toBe(expected.code);
  expect(snapshotDir(dir)).toEqual(before);
  expect(`${result.stdout}${result.stderr}`).not.toContain(SECRET);
  expect(`${result.stdout}${result.stderr}`).not.toContain(vault.rootToken);
  return message;
}

function signCalls(): number {
  return vault.calls('Sign').length;
}

describe('generate, export, sign, attest and verify with each Transit key type', () => {
  const HASH_LENGTH: Record<string, number> = {
    'ecdsa-p256': 32,
    'ecdsa-p384': 48,
    'ecdsa-p521': 64,
    'rsa-2048': 32,
    'rsa-3072': 32,
    'rsa-4096': 32,
  };

  it.each(['ecdsa-p256', 'ecdsa-p384', 'ecdsa-p521', 'ed25519', 'rsa-2048', 'rsa-3072', 'rsa-4096'])('%s', async (algorithm) => {
    const dir = setup();
    const key = `hashivault://cli-${algorithm}`;
    const generated = await signetOk(dir, ['key', 'generate', '--key', key, '--algorithm', algorithm]);
    expect(generated.stderr).toContain(`created ${key}`);
    expect(vault.key(`cli-${algorithm}`)?.type).toBe(algorithm);
    const pem = vault.key(`cli-${algorithm}`)?.publicKeyPem() as string;
    expect(generated.stdout).toBe(pem);

    await signetOk(dir, ['key', 'public', '--key', key, '--output', 'vault.pub']);
    expect(fs.readFileSync(path.join(dir, 'vault.pub'), 'utf8')).toBe(pem);

    let before = signCalls();
    await signetOk(dir, ['sign', 'app.tgz', '--key', key]);
    expect(signCalls() - before).toBe(1);
    const blobRequest = vault.calls('Sign').at(-1)?.body as { input: string; prehashed?: boolean; key_version: number };
    const sent = Buffer.from(blobRequest.input, 'base64');
    if (algorithm === 'ed25519') {
      expect(sent.toString()).toBe(ARTIFACT);
    } else {
      // Only the digest travels: as long as the hash, and equal to the artifact's digest.
      expect(sent).toHaveLength(HASH_LENGTH[algorithm] as number);
      expect(sent).toEqual(
        crypto
          .createHash(`sha${sent.length * 8}`)
          .update(ARTIFACT)
          .digest(),
      );
      expect(blobRequest.prehashed).toBe(true);
    }
    expect(blobRequest.key_version).toBe(1);

    before = signCalls();
    await signetOk(dir, ['attest', 'app.tgz', '--predicate', 'sbom.cdx.json', '--type', 'cyclonedx', '--key', key]);
    expect(signCalls() - before).toBe(1);
    if (algorithm !== 'ed25519') {
      const attestRequest = vault.calls('Sign').at(-1)?.body as { input: string };
      expect(Buffer.from(attestRequest.input, 'base64')).toHaveLength(HASH_LENGTH[algorithm] as number);
    }

    const verified = await signetOk(dir, ['verify', 'app.tgz', '--key', 'vault.pub']);
    expect(verified.stderr).toContain('Verified OK');
    await signetOk(dir, [
      'verify-attestation',
      'app.tgz',
      '--bundle',
      'app.tgz.cyclonedx.sigstore.json',
      '--type',
      'cyclonedx',
      '--key',
      'vault.pub',
    ]);
    // The key reference itself works as trust too: the provider yields its public key.
    await signetOk(dir, ['verify', 'app.tgz', '--key', key]);

    const artifact = Buffer.from(ARTIFACT);
    const blob = readJson(dir, 'app.tgz.sigstore.json');
    const attestation = readJson(dir, 'app.tgz.cyclonedx.sigstore.json');
    expect(opensslVerify(blob, artifact, pem)).toBe(true);
    expect(opensslVerify(attestation, artifact, pem)).toBe(true);
    // The pinned sigstore-js cannot check Ed25519 message signatures, nor P-384/P-521 DSSE
    // signatures made with their own hashes (see the root README); everything else it must accept.
    if (algorithm !== 'ed25519') sigstoreVerify(blob, artifact, pem);
    if (algorithm !== 'ecdsa-p384' && algorithm !== 'ecdsa-p521') sigstoreVerify(attestation, artifact, pem);
  });
});

describe('key versions', () => {
  it('a bundle signed before a rotation verifies with the old version’s key, exported by /versions/N', async () => {
    const dir = setup();
    await signetOk(dir, ['key', 'generate', '--key', 'hashivault://rotated']);
    const first = await signetOk(dir, ['sign', 'app.tgz', '--key', 'hashivault://rotated', '--bundle', 'v1.sigstore.json', '--json']);
    expect(JSON.parse(first.stdout)).toMatchObject({ ok: true, key: 'hashivault://rotated/versions/1' });

    // What `vault write -f transit/keys/rotated/rotate` sends.
    const rotated = await fetch(`${vault.url}/v1/transit/keys/rotated/rotate`, {
      method: 'POST',
      headers: { 'x-vault-token': vault.rootToken },
    });
    expect(rotated.status).toBe(200);

    const second = await signetOk(dir, ['sign', 'app.tgz', '--key', 'hashivault://rotated', '--bundle', 'v2.sigstore.json', '--json']);
    expect(JSON.parse(second.stdout)).toMatchObject({ key: 'hashivault://rotated/versions/2' });
    expect(vault.calls('Sign').at(-1)?.body).toMatchObject({ key_version: 2 });

    await signetOk(dir, ['key', 'public', '--key', 'hashivault://rotated/versions/1', '--output', 'v1.pub']);
    await signetOk(dir, ['key', 'public', '--key', 'hashivault://rotated', '--output', 'v2.pub']);
    expect(fs.readFileSync(path.join(dir, 'v1.pub'), 'utf8')).toBe(vault.key('rotated')?.publicKeyPem(1));
    expect(fs.readFileSync(path.join(dir, 'v2.pub'), 'utf8')).toBe(vault.key('rotated')?.publicKeyPem(2));

    await signetOk(dir, ['verify', 'app.tgz', '--bundle', 'v1.sigstore.json', '--key', 'v1.pub']);
    await signetOk(dir, ['verify', 'app.tgz', '--bundle', 'v2.sigstore.json', '--key', 'v2.pub']);
    await signetOk(dir, ['verify', 'app.tgz', '--bundle', 'v1.sigstore.json', '--key', 'v2.pub', '--key', 'v1.pub']);
    await expectFailure(dir, ['verify', 'app.tgz', '--bundle', 'v1.sigstore.json', '--key', 'v2.pub'], { status: 1, code: 'E_SIGNATURE' });

    // Signing with a pinned older version still works while Vault allows it.
    await signetOk(dir, ['sign', 'app.tgz', '--key', 'hashivault://rotated/versions/1', '--bundle', 'pinned.sigstore.json']);
    expect(vault.calls('Sign').at(-1)?.body).toMatchObject({ key_version: 1 });
    await signetOk(dir, ['verify', 'app.tgz', '--bundle', 'pinned.sigstore.json', '--key', 'v1.pub']);
  });
});

describe('failures: each its own code and exit status, and the directory left as it was', () => {
  it('verifying with another key’s PEM: exit 1, E_SIGNATURE', async () => {
    const dir = setup();
    vault.createKey('signer-a', 'ecdsa-p256');
    vault.createKey('signer-b', 'ecdsa-p256');
    await signetOk(dir, ['sign', 'app.tgz', '--key', 'hashivault://signer-a']);
    await signetOk(dir, ['key', 'public', '--key', 'hashivault://signer-b', '--output', 'b.pub']);
    await expectFailure(dir, ['verify', 'app.tgz', '--key', 'b.pub'], { status: 1, code: 'E_SIGNATURE' });
  });

  it('a key that does not exist: exit 2, E_KEY_NOT_FOUND', async () => {
    const dir = setup();
    const message = await expectFailure(
      dir,
      ['sign', 'app.tgz', '--key', 'hashivault://never-created'],
      { status: 2, code: 'E_KEY_NOT_FOUND' },
      { VAULT_TOKEN: SECRET },
    );
    expect(message).toContain('Vault Transit refused to read the key with hashivault://never-created');
    expect(message).toContain('signet key generate --key hashivault://never-created');
  });

  it('a version Vault no longer signs with (below min_encryption_version): exit 3, E_KEY_DISABLED', async () => {
    const dir = setup();
    const key = vault.createKey('retired', 'ecdsa-p256');
    key.rotate();
    const configured = await fetch(`${vault.url}/v1/transit/keys/retired/config`, {
      method: 'POST',
      headers: { 'x-vault-token': vault.rootToken },
      body: JSON.stringify({ min_encryption_version: 2 }),
    });
    expect(configured.status).toBe(200);
    const before = signCalls();
    const message = await expectFailure(dir, ['sign', 'app.tgz', '--key', 'hashivault://retired/versions/1'], {
      status: 3,
      code: 'E_KEY_DISABLED',
    });
    expect(message).toContain('min_encryption_version');
    expect(signCalls() - before).toBe(1);
  });

  it('a token whose policy does not allow signing: exit 3, E_PERMISSION, and the token nowhere in the output', async () => {
    const dir = setup();
    const readOnly = 'hvs.SIGNET-CLI-SECRET-readonly-93be';
    vault.createKey('guarded', 'ecdsa-p256');
    vault.addToken(readOnly, [{ path: 'transit/keys/guarded', capabilities: ['read'] }]);
    const before = snapshotDir(dir);
    const result = await signet(dir, ['sign', 'app.tgz', '--key', 'hashivault://guarded'], { VAULT_TOKEN: readOnly });
    expect(result.status).toBe(3);
    const { code, message } = singleErrorLine(result.stderr);
    expect(code).toBe('E_PERMISSION');
    expect(message).toContain('"update" on transit/sign/guarded');
    expect(`${result.stdout}${result.stderr}`).not.toContain(readOnly);
    expect(snapshotDir(dir)).toEqual(before);
    expect(vault.calls('Sign').at(-1)?.status).toBe(403);
  });

  it('throttled, then recovered: exit 0 after the default retries, which the emulator log shows', async () => {
    const dir = setup();
    vault.createKey('busy', 'ecdsa-p256');
    vault.faults.add({ fault: { kind: 'throttle', retryAfterSeconds: 1 }, operation: 'Sign', times: 2 });
    const before = vault.calls('Sign').length;
    await signetOk(dir, ['sign', 'app.tgz', '--key', 'hashivault://busy']);
    expect(
      vault
        .calls('Sign')
        .slice(before)
        .map((r) => r.fault ?? r.status),
    ).toEqual(['throttle', 'throttle', 200]);
    await signetOk(dir, ['verify', 'app.tgz', '--key', 'hashivault://busy']);
  });

  it('a dead service: exit 3, E_PROVIDER after bounded retries, naming the service, the key and what to check', async () => {
    const dir = setup();
    const message = await expectFailure(
      dir,
      ['sign', 'app.tgz', '--key', 'hashivault://anything'],
      { status: 3, code: 'E_PROVIDER' },
      { VAULT_ADDR: deadUrl, VAULT_TOKEN: SECRET },
    );
    expect(message).toContain('Vault Transit failed to read the key with hashivault://anything');
    // Refused, or reset when a parallel test has already taken the freed port: either way no answer.
    expect(message).toMatch(/ECONNREFUSED|ECONNRESET|socket hang up/);
    expect(message).toContain(`check VAULT_ADDR (now ${deadUrl})`);
  });

  it('a sealed Vault: exit 3, E_PROVIDER, saying it is sealed', async () => {
    const dir = setup();
    vault.createKey('sealed-away', 'ecdsa-p256');
    vault.seal();
    const before = vault.calls('ReadKey').length;
    const message = await expectFailure(dir, ['sign', 'app.tgz', '--key', 'hashivault://sealed-away'], { status: 3, code: 'E_PROVIDER' });
    expect(message).toContain('(Vault is sealed)');
    expect(vault.calls('ReadKey').length - before).toBe(5);
  });

  it('a failure mid-attestation writes no bundle either', async () => {
    const dir = setup();
    vault.createKey('attest-fails', 'ecdsa-p256');
    vault.faults.add({ fault: { kind: 'status', status: 500 }, operation: 'Sign', times: Infinity });
    await expectFailure(
      dir,
      ['attest', 'app.tgz', '--predicate', 'sbom.cdx.json', '--type', 'cyclonedx', '--key', 'hashivault://attest-fails'],
      {
        status: 3,
        code: 'E_PROVIDER',
      },
    );
  });
});

describe('configuration from the environment', () => {
  it('without VAULT_ADDR: exit 2, E_INPUT', async () => {
    const message = await expectFailure(
      setup(),
      ['sign', 'app.tgz', '--key', 'hashivault://x'],
      { status: 2, code: 'E_INPUT' },
      { VAULT_ADDR: undefined },
    );
    expect(message).toContain('VAULT_ADDR is not set');
  });

  it('without a token: exit 3, E_PERMISSION; with ~/.vault-token (as `vault login` leaves it), signs', async () => {
    const dir = setup();
    vault.createKey('logged-in', 'ed25519');
    const message = await expectFailure(
      dir,
      ['sign', 'app.tgz', '--key', 'hashivault://logged-in'],
      { status: 3, code: 'E_PERMISSION' },
      { VAULT_TOKEN: undefined },
    );
    expect(message).toContain('vault login');
    const home = path.join(dir, 'home');
    writeFile(home, '.vault-token', `${SECRET}\n`);
    await signetOk(dir, ['sign', 'app.tgz', '--key', 'hashivault://logged-in'], { VAULT_TOKEN: undefined, HOME: home });
    await signetOk(dir, ['verify', 'app.tgz', '--key', 'hashivault://logged-in'], { VAULT_TOKEN: undefined, HOME: home });
  });

  it('VAULT_NAMESPACE and TRANSIT_SECRET_ENGINE_PATH choose where the key lives', async () => {
    const custom = new VaultTransitEmulator({ mounts: ['transit', 'signing'] });
    await custom.start();
    try {
      const dir = setup();
      const env = { ...envFor(custom, { namespace: 'releases', mountPath: 'signing' }) };
      await signetOk(dir, ['key', 'generate', '--key', 'hashivault://team-key'], env);
      expect(custom.key('team-key', { namespace: 'releases', mount: 'signing' })).toBeDefined();
      await signetOk(dir, ['sign', 'app.tgz', '--key', 'hashivault://team-key'], env);
      const sign = custom.calls('Sign').at(-1);
      expect(sign?.path).toBe('/v1/signing/sign/team-key/sha2-256');
      expect(sign?.headers['x-vault-namespace']).toBe('releases');
      await expectFailure(
        dir,
        ['key', 'public', '--key', 'hashivault://team-key'],
        { status: 2, code: 'E_KEY_NOT_FOUND' },
        { ...env, VAULT_NAMESPACE: undefined },
      );
    } finally {
      await custom.stop();
    }
  });
});

describe('key generate', () => {
  it('refuses an existing key (E_EXISTS) and a type Transit does not offer (E_INPUT)', async () => {
    const dir = setup();
    vault.createKey('existing', 'ecdsa-p384');
    await expectFailure(dir, ['key', 'generate', '--key', 'hashivault://existing'], { status: 2, code: 'E_EXISTS' });
    expect(vault.key('existing')?.latestVersion).toBe(1);
    const message = await expectFailure(dir, ['key', 'generate', '--key', 'hashivault://pss-key', '--algorithm', 'rsa-pss-2048'], {
      status: 2,
      code: 'E_INPUT',
    });
    expect(message).toContain('ecdsa-p256, ecdsa-p384, ecdsa-p521, ed25519, rsa-2048, rsa-3072, rsa-4096');
    expect(vault.key('pss-key')).toBeUndefined();
  });
});

describe('loading', () => {
  const RECORDER = path.resolve(__dirname, '../../cli/test/fixtures/record-modules.js');
  const OTHER_PROVIDERS = [
    'kms-aws',
    'kms-gcp',
    'kms-azure',
    `packages${path.sep}pkcs11`,
    'pkcs11js',
    '@aws-sdk',
    '@google-cloud',
    '@azure',
    '@grpc',
  ];

  it('signet sign --key hashivault://… loads @signet/kms-vault and node-vault, and no other provider', async () => {
    const dir = setup();
    vault.createKey('lazy', 'ecdsa-p256');
    const file = path.join(dir, 'modules.json');
    const result = await signet(
      dir,
      ['sign', 'app.tgz', '--key', 'hashivault://lazy', '--bundle', 'lazy.json'],
      { SIGNET_TEST_MODULES_FILE: file },
      ['-r', RECORDER],
    );
    expect(result.status).toBe(0);
    const modules = JSON.parse(fs.readFileSync(file, 'utf8')) as string[];
    expect(modules.some((m) => m.includes(`kms-vault${path.sep}dist`))).toBe(true);
    expect(modules.some((m) => m.includes(`node-vault${path.sep}`))).toBe(true);
    expect(modules.filter((m) => OTHER_PROVIDERS.some((name) => m.includes(name)))).toEqual([]);
  });
});
