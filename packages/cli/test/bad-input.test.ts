import { spawnSync } from 'node:child_process';
// Every way a command can be handed something wrong: one `signet: E_CODE: message` line,
// the documented exit status, and the directory exactly as it was (nothing written,
// nothing half-written, no temporary file left).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  errorLines,
  generateKey,
  type RunResult,
  signet,
  signetOk,
  singleErrorLine,
  snapshotDir,
  tool,
  useTempDir,
  vectorsDir,
  writeFile,
} from '@signet/test-support';

const tmp = useTempDir();

// One key pair, a signed artifact and its bundle, made once; each test gets its own copy.
let fixture: string;
beforeAll(() => {
  fixture = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-cli-fixture-'));
  const { key } = generateKey(fixture, 'signing');
  generateKey(fixture, 'other');
  writeFile(fixture, 'app.js', 'console.log("release")\n');
  signetOk(['sign', 'app.js', '--key', key], { cwd: fixture });
});
afterAll(() => {
  if (fixture) fs.rmSync(fixture, { recursive: true, force: true });
});

/** A fresh directory holding signing.key/.pub, other.key/.pub, app.js and app.js.sigstore.json. */
function signedSetup() {
  const dir = tmp();
  fs.cpSync(fixture, dir, { recursive: true });
  return { dir, key: 'file:signing.key', pub: 'signing.pub', other: 'other.pub' };
}

/** Runs signet, expects the failure, and checks the directory is unchanged. */
function fails(dir: string, args: string[], status: number, code: string, env?: Record<string, string | undefined>) {
  const before = snapshotDir(dir);
  const result = signet(args, { cwd: dir, env });
  const error = singleErrorLine(result.stderr);
  expect(error.code).toBe(code);
  expect(result.status).toBe(status);
  expect(snapshotDir(dir)).toEqual(before);
  return { ...result, error };
}

describe('bad artifacts', () => {
  test('a missing artifact: exit 2, E_INPUT', () => {
    const { dir, key, pub } = signedSetup();
    const { error } = fails(dir, ['sign', 'missing.js', '--key', key], 2, 'E_INPUT');
    expect(error.message).toContain('missing.js');
    fails(dir, ['verify', 'missing.js', '--bundle', 'app.js.sigstore.json', '--key', pub], 2, 'E_INPUT');
  });

  test('a directory as artifact: exit 2, E_INPUT', () => {
    const { dir, key, pub } = signedSetup();
    fs.mkdirSync(path.join(dir, 'dist'));
    const { error } = fails(dir, ['sign', 'dist', '--key', key], 2, 'E_INPUT');
    expect(error.message).toBe('dist is a folder; sign a folder as one build with: signet sign-dir dist');
    fails(dir, ['verify', 'dist', '--bundle', 'app.js.sigstore.json', '--key', pub], 2, 'E_INPUT');
  });

  test('an empty file: exit 2, E_INPUT', () => {
    const { dir, key } = signedSetup();
    writeFile(dir, 'empty.js', '');
    const { error } = fails(dir, ['sign', 'empty.js', '--key', key], 2, 'E_INPUT');
    expect(error.message).toContain('empty');
  });

  test('one bad artifact among several: nothing is signed', () => {
    const { dir, key } = signedSetup();
    writeFile(dir, 'good.js', 'good\n');
    writeFile(dir, 'empty.js', '');
    fails(dir, ['sign', 'good.js', 'empty.js', '--key', key], 2, 'E_INPUT');
    expect(fs.existsSync(path.join(dir, 'good.js.sigstore.json'))).toBe(false);
  });

  test('--bundle with several artifacts: exit 2, E_USAGE', () => {
    const { dir, key } = signedSetup();
    writeFile(dir, 'b.js', 'b\n');
    fails(dir, ['sign', 'app.js', 'b.js', '--key', key, '--bundle', 'out.json'], 2, 'E_USAGE');
  });

  test('a malformed digest argument: exit 2, E_INPUT', () => {
    const { dir, pub } = signedSetup();
    fails(dir, ['verify', 'sha256:abc', '--bundle', 'app.js.sigstore.json', '--key', pub], 2, 'E_INPUT');
  });
});

describe('bad bundles', () => {
  test('malformed bundle JSON: exit 2, E_BUNDLE', () => {
    const { dir, pub } = signedSetup();
    writeFile(dir, 'app.js.sigstore.json', '{ "mediaType": ');
    fails(dir, ['verify', 'app.js', '--key', pub], 2, 'E_BUNDLE');
  });

  test('a truncated bundle (a valid one cut in half): exit 2, E_BUNDLE', () => {
    const { dir, pub } = signedSetup();
    const bundle = fs.readFileSync(path.join(dir, 'app.js.sigstore.json'));
    writeFile(dir, 'app.js.sigstore.json', bundle.subarray(0, Math.floor(bundle.length / 2)));
    fails(dir, ['verify', 'app.js', '--key', pub], 2, 'E_BUNDLE');
  });

  test('an unknown bundle version (v0.9): exit 2, E_BUNDLE', () => {
    const { dir, pub } = signedSetup();
    const file = path.join(dir, 'app.js.sigstore.json');
    const bundle = JSON.parse(fs.readFileSync(file, 'utf8')) as { mediaType: string };
    bundle.mediaType = 'application/vnd.dev.sigstore.bundle.v0.9+json';
    fs.writeFileSync(file, JSON.stringify(bundle));
    const { error } = fails(dir, ['verify', 'app.js', '--key', pub], 2, 'E_BUNDLE');
    expect(error.message).toContain('v0.9');
  });

  test('a missing bundle: exit 2, E_INPUT', () => {
    const { dir, pub } = signedSetup();
    fs.rmSync(path.join(dir, 'app.js.sigstore.json'));
    fails(dir, ['verify', 'app.js', '--key', pub], 2, 'E_INPUT');
  });
});

describe('verification failures', () => {
  test('the wrong key (another key’s .pub): exit 1, E_SIGNATURE', () => {
    const { dir, other } = signedSetup();
    fails(dir, ['verify', 'app.js', '--key', other], 1, 'E_SIGNATURE');
  });

  test('a tampered artifact: exit 1, E_SIGNATURE', () => {
    const { dir, pub } = signedSetup();
    fs.appendFileSync(path.join(dir, 'app.js'), 'console.log("injected")\n');
    fails(dir, ['verify', 'app.js', '--key', pub], 1, 'E_SIGNATURE');
  });

  test('a tampered signature: exit 1, E_SIGNATURE', () => {
    const { dir, pub } = signedSetup();
    const file = path.join(dir, 'app.js.sigstore.json');
    const bundle = JSON.parse(fs.readFileSync(file, 'utf8')) as { messageSignature: { signature: string } };
    const signature = Buffer.from(bundle.messageSignature.signature, 'base64');
    signature[signature.length - 1] = (signature[signature.length - 1] ?? 0) ^ 1;
    bundle.messageSignature.signature = signature.toString('base64');
    fs.writeFileSync(file, JSON.stringify(bundle));
    fails(dir, ['verify', 'app.js', '--key', pub], 1, 'E_SIGNATURE');
  });

  const vectors = vectorsDir();
  if (!vectors)
    console.warn('bad-input: no Sigstore vectors found (../shared/vectors or SIGNET_VECTORS); the certificate-bundle test is skipped');
  (vectors ? test : test.skip)('a bundle signed by a certificate, verified with only --key: exit 1, E_POLICY', () => {
    const dir = tmp();
    const caseDir = path.join(vectors as string, 'sigstore-conformance-assets/bundle-verify/happy-path-v0.3');
    fs.copyFileSync(path.join(caseDir, 'bundle.sigstore.json'), path.join(dir, 'a.txt.sigstore.json'));
    fs.copyFileSync(path.join(caseDir, '../a.txt'), path.join(dir, 'a.txt'));
    fs.copyFileSync(path.join(fixture, 'signing.pub'), path.join(dir, 'signing.pub'));
    const { error } = fails(dir, ['verify', 'a.txt', '--key', 'signing.pub'], 1, 'E_POLICY');
    expect(error.message).toContain('--certificate-identity');
  });
});

describe('bad keys', () => {
  test('a wrong passphrase when signing: exit 2, E_KEY, and the passphrase is not echoed', () => {
    const { dir, key } = signedSetup();
    fs.rmSync(path.join(dir, 'app.js.sigstore.json'));
    const { stderr } = fails(dir, ['sign', 'app.js', '--key', key], 2, 'E_KEY', { SIGNET_PASSWORD: 'not-the-passphrase' });
    expect(stderr).not.toContain('not-the-passphrase');
  });

  test('an encrypted key and no passphrase (no SIGNET_PASSWORD, no terminal): exit 2, E_KEY', () => {
    const { dir, key } = signedSetup();
    fs.rmSync(path.join(dir, 'app.js.sigstore.json'));
    fails(dir, ['sign', 'app.js', '--key', key], 2, 'E_KEY', { SIGNET_PASSWORD: undefined });
  });

  test('a missing key file: exit 2, E_KEY_NOT_FOUND', () => {
    const { dir } = signedSetup();
    fs.rmSync(path.join(dir, 'app.js.sigstore.json'));
    fails(dir, ['sign', 'app.js', '--key', 'file:nope.key'], 2, 'E_KEY_NOT_FOUND');
  });

  test('an unsupported key algorithm (Ed448, encrypted): exit 2, E_KEY', () => {
    const dir = tmp();
    writeFile(dir, 'app.js', 'console.log(1)\n');
    tool('openssl', ['genpkey', '-algorithm', 'ed448', '-aes256', '-pass', 'pass:secret', '-out', 'ed448.key'], dir);
    const { error } = fails(dir, ['sign', 'app.js', '--key', 'file:ed448.key'], 2, 'E_KEY', { SIGNET_PASSWORD: 'secret' });
    expect(error.message).toMatch(/ed448/i);
  });

  test('an unsupported key algorithm (EC secp256k1, unencrypted): exit 2, E_KEY', () => {
    const dir = tmp();
    writeFile(dir, 'app.js', 'console.log(1)\n');
    const sec1 = tool('openssl', ['ecparam', '-name', 'secp256k1', '-genkey'], dir);
    writeFile(dir, 'k1.key', tool('openssl', ['pkcs8', '-topk8', '-nocrypt'], dir, sec1));
    const before = snapshotDir(dir);
    const result = signet(['sign', 'app.js', '--key', 'file:k1.key'], { cwd: dir });
    expect(result.status).toBe(2);
    const errors = errorLines(result.stderr);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.code).toBe('E_KEY');
    expect(errors[0]?.message).toContain('secp256k1');
    expect(snapshotDir(dir)).toEqual(before);
  });

  test('an unusable unencrypted key gets only its error, no warning about protecting a key that cannot sign', () => {
    const dir = tmp();
    writeFile(dir, 'app.js', 'console.log(1)\n');
    tool('openssl', ['genpkey', '-algorithm', 'ed448', '-out', 'ed448.key'], dir);
    fails(dir, ['sign', 'app.js', '--key', 'file:ed448.key'], 2, 'E_KEY');
  });

  test('env:NAME with the variable unset: exit 2, E_KEY_NOT_FOUND', () => {
    const { dir } = signedSetup();
    fs.rmSync(path.join(dir, 'app.js.sigstore.json'));
    const { error } = fails(dir, ['sign', 'app.js', '--key', 'env:SIGNET_TEST_UNSET_KEY'], 2, 'E_KEY_NOT_FOUND', {
      SIGNET_TEST_UNSET_KEY: undefined,
    });
    expect(error.message).toContain('SIGNET_TEST_UNSET_KEY');
  });

  test('env:NAME holding a corrupt PEM: exit 2, E_KEY, and the variable’s content is not echoed', () => {
    const { dir } = signedSetup();
    fs.rmSync(path.join(dir, 'app.js.sigstore.json'));
    const before = snapshotDir(dir);
    const secret = 'TOPSECRETKEYMATERIAL0123456789';
    const result = signet(['sign', 'app.js', '--key', 'env:SIGNET_TEST_KEY', '--json'], {
      cwd: dir,
      env: { SIGNET_TEST_KEY: `-----BEGIN PRIVATE KEY-----\n${secret}\n-----END PRIVATE KEY-----\n` },
    });
    expect(result.status).toBe(2);
    expect(errorLines(result.stderr).map((error) => error.code)).toEqual(['E_KEY']);
    expect(result.stderr + result.stdout).not.toContain(secret);
    expect(snapshotDir(dir)).toEqual(before);
  });

  test('an unknown key scheme (foo://x): exit 2, E_INPUT', () => {
    const { dir, pub } = signedSetup();
    fs.rmSync(path.join(dir, 'app.js.sigstore.json'));
    const { error } = fails(dir, ['sign', 'app.js', '--key', 'foo://x'], 2, 'E_INPUT');
    expect(error.message).toContain('foo');
    signetOk(['sign', 'app.js', '--key', 'file:signing.key'], { cwd: dir });
    fails(dir, ['verify', 'app.js', '--key', 'foo://x'], 2, 'E_INPUT');
    fails(dir, ['verify', 'app.js', '--key', pub, '--key', 'foo://x'], 2, 'E_INPUT');
  });

  test('a KMS scheme whose package is not installed: exit 2, E_PROVIDER_MISSING naming the package', () => {
    // Every provider is installed in this repository, so run the CLI as a user who installed
    // @signet/cli alone: its bundle copied where no node_modules can supply a provider.
    const { dir } = signedSetup();
    fs.rmSync(path.join(dir, 'app.js.sigstore.json'));
    const alone = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-cli-alone-'));
    try {
      fs.copyFileSync(path.resolve(__dirname, '../dist/signet.cjs'), path.join(alone, 'signet.cjs'));
      fs.writeFileSync(path.join(alone, 'signet.js'), "require('./signet.cjs').run();\n");
      const before = snapshotDir(dir);
      for (const [ref, name] of [
        ['awskms:///alias/x', '@signet/kms-aws'],
        ['gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k', '@signet/kms-gcp'],
      ]) {
        const result = spawnSync(process.execPath, [path.join(alone, 'signet.js'), 'sign', 'app.js', '--key', ref as string], {
          cwd: dir,
          encoding: 'utf8',
        });
        const error = singleErrorLine(result.stderr);
        expect([error.code, result.status]).toEqual(['E_PROVIDER_MISSING', 2]);
        expect(error.message).toContain(`npm install ${name}`);
      }
      expect(snapshotDir(dir)).toEqual(before);
    } finally {
      fs.rmSync(alone, { recursive: true, force: true });
    }
  });

  test('a public key given to sign: exit 2, E_KEY', () => {
    const { dir, pub } = signedSetup();
    fs.rmSync(path.join(dir, 'app.js.sigstore.json'));
    fails(dir, ['sign', 'app.js', '--key', pub], 2, 'E_KEY');
  });
});

describe('bad usage', () => {
  test('an unknown flag: exit 2, E_USAGE', () => {
    const { dir, pub } = signedSetup();
    const { error } = fails(dir, ['verify', 'app.js', '--key', pub, '--no-such-flag'], 2, 'E_USAGE');
    expect(error.message).toContain('--no-such-flag');
  });

  test('a missing required option (sign without --key): exit 2, E_USAGE', () => {
    const { dir } = signedSetup();
    fails(dir, ['sign', 'app.js'], 2, 'E_USAGE');
  });

  test('an unknown command: exit 2, E_USAGE', () => {
    const { dir } = signedSetup();
    fails(dir, ['frobnicate', 'app.js'], 2, 'E_USAGE');
  });

  test('verify with neither --key nor an identity: exit 2, E_USAGE', () => {
    const { dir } = signedSetup();
    fails(dir, ['verify', 'app.js'], 2, 'E_USAGE');
  });

  test('--certificate-identity without an issuer: exit 2, E_USAGE', () => {
    const { dir } = signedSetup();
    fails(
      dir,
      ['verify', 'app.js', '--certificate-identity', 'https://github.com/o/r/.github/workflows/r.yml@refs/heads/main'],
      2,
      'E_USAGE',
    );
  });

  test('--certificate-oidc-issuer without an identity: exit 2, E_USAGE', () => {
    const { dir } = signedSetup();
    fails(dir, ['verify', 'app.js', '--certificate-oidc-issuer', 'https://token.actions.githubusercontent.com'], 2, 'E_USAGE');
  });

  test('a digest without --bundle: exit 2, E_USAGE', () => {
    const { dir, pub } = signedSetup();
    fails(dir, ['verify', `sha256:${'0'.repeat(64)}`, '--key', pub], 2, 'E_USAGE');
  });
});

describe('--json failures also print {"ok":false,"error":{…}} on stdout', () => {
  function jsonError(result: RunResult): { code: string; message: string } {
    expect(result.stdout).toMatch(/^\{.*\}\n$/s);
    const printed = JSON.parse(result.stdout) as { ok: boolean; error: { code: string; message: string } };
    expect(printed.ok).toBe(false);
    expect(typeof printed.error.message).toBe('string');
    return printed.error;
  }

  test('a verification failure', () => {
    const { dir, pub } = signedSetup();
    fs.appendFileSync(path.join(dir, 'app.js'), 'tampered\n');
    const result = fails(dir, ['verify', 'app.js', '--key', pub, '--json'], 1, 'E_SIGNATURE');
    expect(jsonError(result).code).toBe('E_SIGNATURE');
  });

  test('bad input', () => {
    const { dir, pub } = signedSetup();
    writeFile(dir, 'app.js.sigstore.json', '{');
    const result = fails(dir, ['verify', 'app.js', '--key', pub, '--json'], 2, 'E_BUNDLE');
    expect(jsonError(result).code).toBe('E_BUNDLE');
  });

  test('neither --key nor an identity', () => {
    const { dir } = signedSetup();
    const result = fails(dir, ['verify', 'app.js', '--json'], 2, 'E_USAGE');
    expect(jsonError(result).code).toBe('E_USAGE');
  });

  test('a signing failure (wrong passphrase)', () => {
    const { dir, key } = signedSetup();
    fs.rmSync(path.join(dir, 'app.js.sigstore.json'));
    const result = fails(dir, ['sign', 'app.js', '--key', key, '--json'], 2, 'E_KEY', { SIGNET_PASSWORD: 'wrong' });
    expect(jsonError(result).code).toBe('E_KEY');
  });

  test('an unknown flag', () => {
    const { dir, pub } = signedSetup();
    const result = fails(dir, ['verify', 'app.js', '--key', pub, '--json', '--no-such-flag'], 2, 'E_USAGE');
    expect(jsonError(result).code).toBe('E_USAGE');
  });
});
