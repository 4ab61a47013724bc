// The signet command with azurekms:// keys, run for real against the emulator: the child
// process finds the vault and Microsoft Entra ID through the environment (DefaultAzureCredential,
// AZURE_AUTHORITY_HOST, NODE_EXTRA_CA_CERTS) exactly as a user's CI job would.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { AzureKeyVaultEmulator, DEFAULT_CLIENT_ID, envFor } from '@signet/emulators/azure-keyvault';
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

const tmp = useTempDir();
const emulator = new AzureKeyVaultEmulator();
beforeAll(() => emulator.start());
afterAll(() => emulator.stop());
beforeEach(() => emulator.reset());

function run(args: string[], env: Record<string, string | undefined> = {}): Promise<RunResult> {
  return signetAsync(args, { cwd: tmp(), env: { ...envFor(emulator), ...env } });
}

async function ok(args: string[]): Promise<RunResult> {
  const result = await run(args);
  if (result.status !== 0) throw new Error(`signet ${args.join(' ')} exited ${result.status}\n${result.stderr}`);
  return result;
}

/** The public key the emulator holds for `name`, computed without Signet. */
function emulatorPem(name: string): string {
  const key = emulator.keys.get(name);
  if (!key) throw new Error(`no key ${name}`);
  return crypto.createPublicKey(key.privateKey).export({ type: 'spki', format: 'pem' }).toString();
}

const SBOM = { bomFormat: 'CycloneDX', specVersion: '1.5', version: 1 };

/** An artifact and an SBOM in the test's directory. */
function workspace(): Buffer {
  const artifact = crypto.randomBytes(4096);
  writeFile(tmp(), 'artifact.tgz', artifact);
  writeFile(tmp(), 'sbom.cdx.json', JSON.stringify(SBOM));
  return artifact;
}

const ALGORITHMS = [
  { algorithm: 'ecdsa-p256', hash: 'sha256', dsseByCore: true, dsseBySigstore: true },
  { algorithm: 'ecdsa-p384', hash: 'sha384', dsseByCore: true, dsseBySigstore: false },
  { algorithm: 'ecdsa-p521', hash: 'sha512', dsseByCore: true, dsseBySigstore: false },
  { algorithm: 'rsa-2048', hash: 'sha256', dsseByCore: true, dsseBySigstore: true },
  // DSSE by RSA-3072/4096 (RS384/RS512): core's verifier checks SHA-256 only; see signing.test.ts
  { algorithm: 'rsa-3072', hash: 'sha384', dsseByCore: false, dsseBySigstore: false },
  { algorithm: 'rsa-4096', hash: 'sha512', dsseByCore: false, dsseBySigstore: false },
] as const;

describe('signet with an Azure Key Vault key, per algorithm', () => {
  test.each(ALGORITHMS)('$algorithm: key generate, key public, sign, attest, verify offline', async (row) => {
    const name = `release-${row.algorithm}`;
    const uri = emulator.keyUri(name);
    const artifact = workspace();

    const generated = await ok(['key', 'generate', '--key', uri, '--algorithm', row.algorithm]);
    expect(generated.stderr).toBe(`created ${uri}\n`);
    expect(generated.stdout).toBe(emulatorPem(name));
    await ok(['key', 'public', '--key', uri, '--output', 'release.pub']);
    expect(fs.readFileSync(path.join(tmp(), 'release.pub'), 'utf8')).toBe(emulatorPem(name));

    await ok(['sign', 'artifact.tgz', '--key', uri]);
    await ok(['attest', 'artifact.tgz', '--predicate', 'sbom.cdx.json', '--type', 'cyclonedx', '--key', uri]);

    // one Sign call per signature, each carrying a digest (the hash's length), not the 4 KiB artifact
    const signs = emulator.calls('Sign').map((call) => Buffer.from((call.body as { value: string }).value, 'base64url'));
    expect(signs.map((digest) => digest.length)).toEqual([
      crypto.createHash(row.hash).digest().length,
      crypto.createHash(row.hash).digest().length,
    ]);
    expect(signs[0]).toEqual(crypto.createHash(row.hash).update(artifact).digest());

    const verified = await ok(['verify', 'artifact.tgz', '--key', 'release.pub']);
    expect(verified.stderr).toContain('Verified OK: artifact.tgz');
    if (row.dsseByCore) {
      const attested = await ok([
        'verify-attestation',
        'artifact.tgz',
        '--bundle',
        'artifact.tgz.cyclonedx.sigstore.json',
        '--type',
        'cyclonedx',
        '--key',
        'release.pub',
      ]);
      expect(attested.stderr).toContain('Verified OK');
    }

    const message = readJson(tmp(), 'artifact.tgz.sigstore.json');
    const attestation = readJson(tmp(), 'artifact.tgz.cyclonedx.sigstore.json');
    const pem = emulatorPem(name);
    expect(opensslVerify(message, artifact, pem)).toBe(true);
    expect(opensslVerify(attestation, artifact, pem)).toBe(true);
    expect(() => sigstoreVerify(message, artifact, pem)).not.toThrow();
    if (row.dsseBySigstore) expect(() => sigstoreVerify(attestation, artifact, pem)).not.toThrow();
    // the control: the signature does not cover other bytes
    expect(opensslVerify(message, crypto.randomBytes(4096), pem)).toBe(false);
  });

  test('verify can take the azurekms:// reference itself as the trusted key', async () => {
    emulator.createKey('by-uri');
    workspace();
    await ok(['sign', 'artifact.tgz', '--key', emulator.keyUri('by-uri')]);
    const verified = await ok(['verify', 'artifact.tgz', '--key', emulator.keyUri('by-uri')]);
    expect(verified.stderr).toContain('Verified OK: artifact.tgz');
  });
});

describe('failures: each its own code and exit status, nothing written', () => {
  async function failedSign(uri: string, env: Record<string, string | undefined> = {}) {
    workspace();
    const before = snapshotDir(tmp());
    const result = await run(['sign', 'artifact.tgz', '--key', uri], env);
    expect(snapshotDir(tmp())).toEqual(before);
    return { ...result, error: singleErrorLine(result.stderr) };
  }

  test('verifying with another key: exit 1, E_SIGNATURE', async () => {
    emulator.createKey('signer');
    emulator.createKey('stranger');
    workspace();
    await ok(['sign', 'artifact.tgz', '--key', emulator.keyUri('signer')]);
    await ok(['key', 'public', '--key', emulator.keyUri('stranger'), '--output', 'stranger.pub']);
    const result = await run(['verify', 'artifact.tgz', '--key', 'stranger.pub']);
    expect(singleErrorLine(result.stderr).code).toBe('E_SIGNATURE');
    expect(result.status).toBe(1);
  });

  test('a key that does not exist: exit 2, E_KEY_NOT_FOUND', async () => {
    const result = await failedSign(emulator.keyUri('no-such-key'));
    expect(result.error.code).toBe('E_KEY_NOT_FOUND');
    expect(result.error.message).toContain(emulator.keyUri('no-such-key'));
    expect(result.status).toBe(2);
  });

  test('a disabled key version: exit 3, E_KEY_DISABLED', async () => {
    const version = emulator.createKey('disabled').version;
    emulator.setEnabled('disabled', false);
    const pinned = await failedSign(emulator.keyUri('disabled', version));
    expect(pinned.error).toEqual({ code: 'E_KEY_DISABLED', message: expect.stringContaining('not allowed on a disabled key') });
    expect(pinned.status).toBe(3);
    expect(emulator.calls('Sign').map((call) => call.status)).toEqual([403]);

    const unversioned = await failedSign(emulator.keyUri('disabled'));
    expect(unversioned.error).toEqual({ code: 'E_KEY_DISABLED', message: expect.stringContaining('no version of the key is enabled') });
    expect(unversioned.status).toBe(3);
  });

  test('permission denied: exit 3, E_PERMISSION', async () => {
    emulator.createKey('guarded');
    emulator.deny(DEFAULT_CLIENT_ID, 'rbac', ['Sign']);
    const result = await failedSign(emulator.keyUri('guarded'));
    expect(result.error.code).toBe('E_PERMISSION');
    expect(result.error.message).toContain(`Azure Key Vault refused to sign with ${emulator.keyUri('guarded')}`);
    expect(result.status).toBe(3);
  });

  test('throttled, then recovered with the default retries: exit 0, and the log shows the retries', async () => {
    emulator.createKey('busy');
    workspace();
    emulator.faults.add({ fault: { kind: 'throttle', retryAfterSeconds: 1 }, operation: 'Sign', times: 2 });
    const result = await run(['sign', 'artifact.tgz', '--key', emulator.keyUri('busy')]);
    expect(result.stderr).toBe('wrote artifact.tgz.sigstore.json\n');
    expect(result.status).toBe(0);
    expect(emulator.calls('Sign').map((call) => [call.status, call.fault])).toEqual([
      [429, 'throttle'],
      [429, 'throttle'],
      [200, undefined],
    ]);
    await ok(['key', 'public', '--key', emulator.keyUri('busy'), '--output', 'busy.pub']);
    await ok(['verify', 'artifact.tgz', '--key', 'busy.pub']);
  });

  test('a dead service: exit 3, E_PROVIDER after bounded retries', async () => {
    const dead = new AzureKeyVaultEmulator();
    await dead.start();
    const uri = dead.keyUri('gone');
    const env = envFor(dead);
    await dead.stop();
    // the emulator's CA file went with it; the same CA, kept outside the directory watched
    const ca = `${tmp()}-ca.pem`;
    fs.writeFileSync(ca, dead.caPem);
    try {
      const result = await failedSign(uri, { ...env, NODE_EXTRA_CA_CERTS: ca });
      expect(result.error.code).toBe('E_PROVIDER');
      expect(result.error.message).toContain(`Azure Key Vault failed to read the key with ${uri} (`);
      expect(result.status).toBe(3);
    } finally {
      fs.rmSync(ca, { force: true });
    }
  });

  test('an existing key is never replaced: exit 2, E_EXISTS', async () => {
    emulator.createKey('taken');
    const result = await run(['key', 'generate', '--key', emulator.keyUri('taken')]);
    expect(singleErrorLine(result.stderr).code).toBe('E_EXISTS');
    expect(result.status).toBe(2);
    expect(emulator.keys.versions('taken')).toHaveLength(1);
  });

  test.each(['ed25519', 'rsa-pss-3072'])('key generate --algorithm %s: exit 2, E_INPUT naming what Key Vault offers', async (algorithm) => {
    const result = await run(['key', 'generate', '--key', emulator.keyUri('nope'), '--algorithm', algorithm]);
    const error = singleErrorLine(result.stderr);
    expect(error.code).toBe('E_INPUT');
    expect(error.message).toContain('ecdsa-p256, ecdsa-p384, ecdsa-p521, rsa-2048, rsa-3072, rsa-4096');
    expect(result.status).toBe(2);
    expect(emulator.requests).toEqual([]);
  });

  test('a malformed reference: exit 2, E_INPUT showing the format', async () => {
    const result = await failedSign(`azurekms://${emulator.vaultHost}`);
    expect(result.error.code).toBe('E_INPUT');
    expect(result.error.message).toContain('azurekms://VAULT.vault.azure.net/KEY[/VERSION]');
    expect(result.status).toBe(2);
  });

  test('a vault that is not *.vault.azure.net needs the opt-in: exit 3, E_PERMISSION naming it', async () => {
    emulator.createKey('private');
    const result = await failedSign(emulator.keyUri('private'), { SIGNET_AZURE_DISABLE_CHALLENGE_RESOURCE_VERIFICATION: undefined });
    expect(result.error.code).toBe('E_PERMISSION');
    expect(result.error.message).toContain('SIGNET_AZURE_DISABLE_CHALLENGE_RESOURCE_VERIFICATION=1');
    expect(result.status).toBe(3);
    expect(emulator.calls('Token')).toEqual([]);
  });
});

describe('no credential, token or secret in any output', () => {
  const SECRET = `Sekr3t-${crypto.randomBytes(8).toString('hex')}-do-not-print`;

  function expectNoSecrets(result: RunResult): void {
    const output = result.stdout + result.stderr;
    expect(output).not.toContain(SECRET);
    for (const token of emulator.issuedTokens) expect(output).not.toContain(token);
    expect(JSON.stringify(emulator.requests)).not.toContain(SECRET);
  }

  test('a wrong client secret: exit 3, E_PERMISSION', async () => {
    emulator.createKey('k');
    emulator.addClient('ci-app', 'the-real-secret');
    workspace();
    const result = await run(['sign', 'artifact.tgz', '--key', emulator.keyUri('k')], {
      AZURE_CLIENT_ID: 'ci-app',
      AZURE_CLIENT_SECRET: SECRET,
    });
    const error = singleErrorLine(result.stderr);
    expect(error.code).toBe('E_PERMISSION');
    expect(error.message).toContain('invalid_client');
    expect(result.status).toBe(3);
    expectNoSecrets(result);
  });

  test('a valid secret whose application is denied, and a disabled key: the secret and its token stay out', async () => {
    emulator.addClient('ci-app-2', SECRET);
    emulator.createKey('k');
    emulator.deny('ci-app-2', 'access-policy', ['Sign']);
    workspace();
    const env = { AZURE_CLIENT_ID: 'ci-app-2', AZURE_CLIENT_SECRET: SECRET };
    const denied = await run(['sign', 'artifact.tgz', '--key', emulator.keyUri('k')], env);
    expect(singleErrorLine(denied.stderr).code).toBe('E_PERMISSION');
    expect(emulator.issuedTokens.length).toBeGreaterThan(0);
    expectNoSecrets(denied);

    emulator.allow('ci-app-2');
    emulator.setEnabled('k', false);
    const disabled = await run(['key', 'public', '--key', emulator.keyUri('k')], env);
    expect(singleErrorLine(disabled.stderr).code).toBe('E_KEY_DISABLED');
    expectNoSecrets(disabled);
  });
});
