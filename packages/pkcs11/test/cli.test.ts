// The signet command with keys on a real SoftHSM2 token: what users run. The module's own
// call log (test/fixtures/instrument-pkcs11.js, preloaded) stands in for an emulator's
// request log, and its injected CKR_* failures for an emulator's faults.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  opensslVerify,
  type RunResult,
  readJson,
  signedBytes,
  signet,
  sigstoreVerify,
  singleErrorLine,
  snapshotDir,
  useTempDir,
  writeFile,
} from '@signet/test-support';
import { describeWithSoftHsm, directSession } from './softhsm';

const tmp = useTempDir();
const INSTRUMENT = path.resolve(__dirname, 'fixtures/instrument-pkcs11.js');
const RECORDER = path.resolve(__dirname, '../../cli/test/fixtures/record-modules.js');
const CYCLONEDX = JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.5', version: 1 });

interface Call {
  method: string;
  inputLength?: number;
  failed?: string;
}

interface Case {
  algorithm: string;
  /** What C_Sign must receive for a message of `length` bytes. */
  signed: (length: number) => number;
  /** Whether the pinned @sigstore/verify can check the blob and the DSSE bundle (see the README's compatibility notes). */
  sigstore: { blob: boolean; dsse: boolean };
}

const CASES: Case[] = [
  { algorithm: 'ecdsa-p256', signed: () => 32, sigstore: { blob: true, dsse: true } },
  { algorithm: 'ecdsa-p384', signed: () => 48, sigstore: { blob: true, dsse: false } },
  { algorithm: 'ecdsa-p521', signed: () => 64, sigstore: { blob: true, dsse: false } },
  { algorithm: 'ed25519', signed: (length) => length, sigstore: { blob: false, dsse: true } },
  { algorithm: 'rsa-2048', signed: () => 19 + 32, sigstore: { blob: true, dsse: true } },
  { algorithm: 'rsa-3072', signed: () => 19 + 32, sigstore: { blob: true, dsse: true } },
  { algorithm: 'rsa-4096', signed: () => 19 + 32, sigstore: { blob: true, dsse: true } },
  { algorithm: 'rsa-pss-2048', signed: () => 32, sigstore: { blob: false, dsse: false } },
  { algorithm: 'rsa-pss-3072', signed: () => 32, sigstore: { blob: false, dsse: false } },
  { algorithm: 'rsa-pss-4096', signed: () => 32, sigstore: { blob: false, dsse: false } },
];

let logs: string;
beforeAll(() => {
  logs = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-pkcs11-log-'));
});
afterAll(() => fs.rmSync(logs, { recursive: true, force: true }));

describeWithSoftHsm('signet with pkcs11: keys (CLI, SoftHSM2)', ({ token }) => {
  const uri = (object: string, query = '') => `pkcs11:token=${token().label};object=${object}${query}`;

  /** signet, with the environment pointing at the token (overridable); whatever happens, it never prints the PIN. */
  const run = (dir: string, args: string[], env: Record<string, string | undefined> = {}): RunResult => {
    const result = signet(args, { cwd: dir, env: { ...token().env, ...env } });
    expect(result.stdout + result.stderr).not.toContain(token().pin);
    return result;
  };

  /** signet with the module instrumented: the result, and every C_* call the module received. */
  function runLogged(
    dir: string,
    args: string[],
    options: { faults?: Record<string, string[]>; env?: Record<string, string | undefined> } = {},
  ): RunResult & { calls: Call[] } {
    const log = path.join(fs.mkdtempSync(path.join(logs, 'run-')), 'calls.jsonl');
    const result = signet(args, {
      cwd: dir,
      nodeArgs: ['-r', INSTRUMENT],
      env: {
        ...token().env,
        ...options.env,
        SIGNET_TEST_PKCS11_LOG: log,
        SIGNET_TEST_PKCS11_FAULTS: JSON.stringify(options.faults ?? {}),
      },
    });
    expect(result.stdout + result.stderr).not.toContain(token().pin);
    const calls = fs.existsSync(log)
      ? fs
          .readFileSync(log, 'utf8')
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line) as Call)
      : [];
    return { ...result, calls };
  }

  const signs = (calls: Call[]) => calls.filter((call) => call.method === 'C_Sign' || call.method === 'C_SignAsync');

  /** A fresh key on the token, made with `signet key generate`, and its PEM written to dir/NAME.pub. */
  function generate(dir: string, object: string, algorithm?: string): string {
    const result = run(dir, ['key', 'generate', '--key', uri(object), ...(algorithm ? ['--algorithm', algorithm] : [])]);
    expect(result.stderr).toBe(`created ${uri(object)}\n`);
    expect(result.status).toBe(0);
    fs.writeFileSync(path.join(dir, `${object}.pub`), result.stdout);
    return result.stdout;
  }

  /** Runs a failing command and checks it wrote nothing and printed one `signet: E_…` line. */
  function fails(dir: string, args: string[], env: Record<string, string | undefined> = {}, status = 3) {
    const before = snapshotDir(dir);
    const result = run(dir, args, env);
    expect(result.status).toBe(status);
    expect(snapshotDir(dir)).toEqual(before);
    return { ...result, ...singleErrorLine(result.stderr) };
  }

  describe.each(CASES)('$algorithm', ({ algorithm, signed, sigstore }) => {
    test('key generate, key public, sign a blob and an attestation; signet, openssl and @sigstore/verify verify', () => {
      const dir = tmp();
      const object = `cli-${algorithm}`;
      const pem = generate(dir, object, algorithm);
      expect(pem).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
      expect(run(dir, ['key', 'public', '--key', uri(object)]).stdout).toBe(pem);

      const artifact = crypto.randomBytes(64 * 1024);
      writeFile(dir, 'artifact.bin', artifact);
      writeFile(dir, 'bom.json', CYCLONEDX);

      const blob = runLogged(dir, ['sign', 'artifact.bin', '--key', uri(object)]);
      expect(blob.stderr).toBe('wrote artifact.bin.sigstore.json\n');
      expect(blob.status).toBe(0);
      // one C_Sign, over the digest (for Ed25519, which has no digest form, the message)
      expect(signs(blob.calls)).toEqual([{ method: 'C_SignAsync', inputLength: signed(artifact.length) }]);

      const attestation = runLogged(dir, [
        'attest',
        'artifact.bin',
        '--predicate',
        'bom.json',
        '--type',
        'cyclonedx',
        '--key',
        uri(object),
      ]);
      expect(attestation.status).toBe(0);
      const dsseBundle = readJson(dir, 'artifact.bin.cyclonedx.sigstore.json');
      expect(signs(attestation.calls)).toEqual([
        { method: 'C_SignAsync', inputLength: signed(signedBytes(dsseBundle, artifact).signed.length) },
      ]);

      const verified = run(dir, ['verify', 'artifact.bin', '--key', `${object}.pub`]);
      expect(verified.stderr).toContain('Verified OK');
      expect(verified.status).toBe(0);
      const verifiedAttestation = run(dir, [
        'verify-attestation',
        'artifact.bin',
        '--bundle',
        'artifact.bin.cyclonedx.sigstore.json',
        '--type',
        'cyclonedx',
        '--key',
        `${object}.pub`,
      ]);
      expect(verifiedAttestation.stderr).toContain('Verified OK');
      expect(verifiedAttestation.status).toBe(0);

      const blobBundle = readJson(dir, 'artifact.bin.sigstore.json');
      expect(opensslVerify(blobBundle, artifact, pem)).toBe(true);
      expect(opensslVerify(dsseBundle, artifact, pem)).toBe(true);
      // the control: openssl refuses the signature over other bytes
      expect(opensslVerify(blobBundle, crypto.randomBytes(64), pem)).toBe(false);
      if (sigstore.blob) expect(() => sigstoreVerify(blobBundle, artifact, pem)).not.toThrow();
      if (sigstore.dsse) expect(() => sigstoreVerify(dsseBundle, artifact, pem)).not.toThrow();
    });
  });

  test('verify --key pkcs11:URI reads the public half from the token, without a PIN', () => {
    const dir = tmp();
    generate(dir, 'verify-by-uri');
    writeFile(dir, 'app.js', 'console.log("signed on an HSM")\n');
    expect(run(dir, ['sign', 'app.js', '--key', uri('verify-by-uri')]).status).toBe(0);
    const verified = run(dir, ['verify', 'app.js', '--key', uri('verify-by-uri')], { SIGNET_PKCS11_PIN: undefined });
    expect(verified.stderr).toContain('Verified OK');
    expect(verified.status).toBe(0);
    // and without a PIN, signing is refused: exit 3 E_PERMISSION, nothing written
    const refused = fails(dir, ['sign', 'app.js', '--key', uri('verify-by-uri'), '--bundle', 'again.json'], {
      SIGNET_PKCS11_PIN: undefined,
    });
    expect(refused.code).toBe('E_PERMISSION');
    expect(refused.message).toContain('SIGNET_PKCS11_PIN');
  });

  test('several artifacts in one command: one C_Sign each, over its digest', () => {
    const dir = tmp();
    generate(dir, 'batch');
    const names = ['a.js', 'b.js', 'c.js'].map((name) => writeFile(dir, name, `// ${name}\n`));
    const result = runLogged(dir, ['sign', ...names, '--key', uri('batch')]);
    expect(result.status).toBe(0);
    expect(signs(result.calls)).toEqual(names.map(() => ({ method: 'C_SignAsync', inputLength: 32 })));
    for (const name of names) expect(run(dir, ['verify', name, '--key', 'batch.pub']).status).toBe(0);
  });

  test("wrong key: another key's PEM does not verify (exit 1 E_SIGNATURE)", () => {
    const dir = tmp();
    generate(dir, 'signer-a');
    generate(dir, 'signer-b');
    writeFile(dir, 'app.js', 'console.log("a")\n');
    expect(run(dir, ['sign', 'app.js', '--key', uri('signer-a')]).status).toBe(0);
    const wrong = run(dir, ['verify', 'app.js', '--key', 'signer-b.pub']);
    expect(wrong.status).toBe(1);
    expect(singleErrorLine(wrong.stderr).code).toBe('E_SIGNATURE');
  });

  test('a key that does not exist: exit 2 E_KEY_NOT_FOUND, nothing written', () => {
    const dir = tmp();
    writeFile(dir, 'app.js', 'x\n');
    const error = fails(dir, ['sign', 'app.js', '--key', uri('no-such-key')], {}, 2);
    expect(error.code).toBe('E_KEY_NOT_FOUND');
    expect(error.message).toContain('object "no-such-key"');
  });

  test('a token that does not exist: exit 2 E_KEY_NOT_FOUND naming the tokens present, nothing written', () => {
    const dir = tmp();
    writeFile(dir, 'app.js', 'x\n');
    const error = fails(dir, ['sign', 'app.js', '--key', 'pkcs11:token=no-such-token;object=release'], {}, 2);
    expect(error.code).toBe('E_KEY_NOT_FOUND');
    expect(error.message).toContain(`tokens present: "${token().label}"`);
  });

  test('a key without CKA_SIGN: exit 3 E_KEY_DISABLED, nothing written', () => {
    const dir = tmp();
    directSession(token(), (module, session, p11) =>
      module.C_GenerateKeyPair(
        session,
        { mechanism: p11.CKM_EC_KEY_PAIR_GEN },
        [
          { type: p11.CKA_TOKEN, value: true },
          { type: p11.CKA_LABEL, value: 'verify-only' },
          { type: p11.CKA_EC_PARAMS, value: Buffer.from('06082a8648ce3d030107', 'hex') },
        ],
        [
          { type: p11.CKA_TOKEN, value: true },
          { type: p11.CKA_LABEL, value: 'verify-only' },
          { type: p11.CKA_PRIVATE, value: true },
          { type: p11.CKA_SIGN, value: false },
        ],
      ),
    );
    writeFile(dir, 'app.js', 'x\n');
    const error = fails(dir, ['sign', 'app.js', '--key', uri('verify-only')]);
    expect(error.code).toBe('E_KEY_DISABLED');
    expect(error.message).toContain('CKA_SIGN');
  });

  test('a wrong PIN: exit 3 E_PERMISSION, nothing written, and the PIN is nowhere in the output', () => {
    const dir = tmp();
    generate(dir, 'pin-guarded');
    writeFile(dir, 'app.js', 'x\n');
    writeFile(dir, 'bom.json', CYCLONEDX);
    const pin = 'Wr0ng-PIN-4471';
    for (const [args, env] of [
      [['sign', 'app.js', '--key', uri('pin-guarded')], { SIGNET_PKCS11_PIN: pin }],
      [['sign', 'app.js', '--key', uri('pin-guarded'), '--json'], { SIGNET_PKCS11_PIN: pin }],
      [['attest', 'app.js', '--predicate', 'bom.json', '--type', 'cyclonedx', '--key', uri('pin-guarded')], { SIGNET_PKCS11_PIN: pin }],
      [['sign', 'app.js', '--key', uri('pin-guarded', `?pin-value=${pin}`)], { SIGNET_PKCS11_PIN: undefined }],
    ] as const) {
      const before = snapshotDir(dir);
      const result = run(dir, [...args], env);
      expect(result.status).toBe(3);
      expect(snapshotDir(dir)).toEqual(before);
      expect(result.stderr).toContain('signet: E_PERMISSION: ');
      expect(result.stderr).toContain('CKR_PIN_INCORRECT');
      expect(result.stdout + result.stderr).not.toContain(pin);
    }
  });

  test('pin-source=FILE signs; pin-value= signs with a warning that does not repeat the PIN', () => {
    const dir = tmp();
    generate(dir, 'pin-sources');
    writeFile(dir, 'app.js', 'x\n');
    const pinDir = fs.mkdtempSync(path.join(logs, 'pin-'));
    fs.writeFileSync(path.join(pinDir, 'pin'), `${token().pin}\n`, { mode: 0o600 });
    const fromFile = run(dir, ['sign', 'app.js', '--key', uri('pin-sources', `?pin-source=${path.join(pinDir, 'pin')}`)], {
      SIGNET_PKCS11_PIN: undefined,
    });
    expect(fromFile.stderr).toBe('wrote app.js.sigstore.json\n');
    expect(fromFile.status).toBe(0);

    const fromUri = run(dir, ['sign', 'app.js', '--key', uri('pin-sources', `?pin-value=${token().pin}`), '--bundle', 'b.json', '--json'], {
      SIGNET_PKCS11_PIN: undefined,
    });
    expect(fromUri.status).toBe(0);
    expect(fromUri.stderr).toMatch(/^warning: .*written in the URI as pin-value.*SIGNET_PKCS11_PIN/m);
    expect((JSON.parse(fromUri.stdout) as { key: string }).key).toBe(uri('pin-sources'));
  });

  test('a module path that does not exist, or a file that is not a PKCS#11 module: exit 3 E_PROVIDER naming the path', () => {
    const dir = tmp();
    writeFile(dir, 'app.js', 'x\n');
    const notAModule = path.join(logs, 'libnot-pkcs11.so');
    fs.writeFileSync(notAModule, 'this is text, not a shared object\n');
    for (const modulePath of [path.join(logs, 'missing', 'libvendor-pkcs11.so'), notAModule]) {
      const error = fails(dir, ['sign', 'app.js', '--key', uri('any')], { SIGNET_PKCS11_MODULE: modulePath });
      expect(error.code).toBe('E_PROVIDER');
      expect(error.message).toContain(`cannot load the PKCS#11 module ${modulePath}`);
    }
    // module-path= in the URI wins over the environment
    const fromUri = fails(dir, ['sign', 'app.js', '--key', uri('any', `?module-path=${notAModule}`)]);
    expect(fromUri.message).toContain(notAModule);
  });

  test('device errors recover with the default retries: exit 0, and the module saw the retried C_Sign', () => {
    const dir = tmp();
    generate(dir, 'flaky');
    writeFile(dir, 'app.js', 'x\n');
    const result = runLogged(dir, ['sign', 'app.js', '--key', uri('flaky')], {
      faults: { C_SignAsync: ['CKR_DEVICE_ERROR', 'CKR_DEVICE_REMOVED'] },
    });
    expect(result.stderr).toBe('wrote app.js.sigstore.json\n');
    expect(result.status).toBe(0);
    expect(signs(result.calls)).toEqual([
      { method: 'C_SignAsync', inputLength: 32, failed: 'CKR_DEVICE_ERROR' },
      { method: 'C_SignAsync', inputLength: 32, failed: 'CKR_DEVICE_REMOVED' },
      { method: 'C_SignAsync', inputLength: 32 },
    ]);
    expect(run(dir, ['verify', 'app.js', '--key', 'flaky.pub']).status).toBe(0);
  });

  test('a device that keeps failing: exit 3 E_PROVIDER after 5 attempts, naming the module, the key and what to check', () => {
    const dir = tmp();
    generate(dir, 'dead');
    writeFile(dir, 'app.js', 'x\n');
    const before = snapshotDir(dir);
    const result = runLogged(dir, ['sign', 'app.js', '--key', uri('dead')], {
      faults: { C_SignAsync: Array(20).fill('CKR_DEVICE_ERROR') },
    });
    expect(result.status).toBe(3);
    expect(snapshotDir(dir)).toEqual(before);
    const { code, message } = singleErrorLine(result.stderr);
    expect(code).toBe('E_PROVIDER');
    expect(message).toContain(`PKCS#11 module ${token().modulePath} failed to sign with ${uri('dead')} (CKR_DEVICE_ERROR)`);
    expect(message).toContain('check that the HSM is connected');
    expect(signs(result.calls)).toHaveLength(5);
    // each attempt was a whole conversation, released before the next
    const count = (method: string) => result.calls.filter((call) => call.method === method).length;
    expect(count('C_Initialize')).toBe(count('C_Finalize'));
    expect(count('C_Login')).toBe(count('C_Logout'));
  });

  test('key generate never replaces a key: exit 2 E_EXISTS', () => {
    const dir = tmp();
    const pem = generate(dir, 'only-once');
    const error = fails(dir, ['key', 'generate', '--key', uri('only-once'), '--algorithm', 'rsa-2048'], {}, 2);
    expect(error.code).toBe('E_EXISTS');
    expect(run(dir, ['key', 'public', '--key', uri('only-once')]).stdout).toBe(pem);
  });

  test('signet sign --key pkcs11: loads @signet/pkcs11 and pkcs11js, and no other provider package', () => {
    const dir = tmp();
    generate(dir, 'lazy');
    writeFile(dir, 'app.js', 'x\n');
    const modulesFile = path.join(logs, 'modules.json');
    const result = signet(['sign', 'app.js', '--key', uri('lazy')], {
      cwd: dir,
      nodeArgs: ['-r', RECORDER],
      env: { ...token().env, SIGNET_TEST_MODULES_FILE: modulesFile },
    });
    expect(result.status).toBe(0);
    const modules = JSON.parse(fs.readFileSync(modulesFile, 'utf8')) as string[];
    expect(modules.some((file) => file.endsWith(path.join('packages', 'pkcs11', 'dist', 'index.js')))).toBe(true);
    expect(modules.some((file) => file.includes(`${path.sep}pkcs11js${path.sep}`))).toBe(true);
    const others = ['kms-aws', 'kms-gcp', 'kms-azure', 'kms-vault', '@aws-sdk', '@google-cloud', '@azure', 'node-vault'];
    expect(modules.filter((file) => others.some((name) => file.includes(name)))).toEqual([]);
  });

  test('key generate does not print a pin-value PIN back', () => {
    const dir = tmp();
    const result = run(dir, ['key', 'generate', '--key', uri('echoed', `?pin-value=${token().pin}`)], { SIGNET_PKCS11_PIN: undefined });
    expect(result.status).toBe(0);
    expect(result.stdout + result.stderr).not.toContain(`pin-value=${token().pin}`);
  });

  test('verify --key with a pin-value URI does not print the PIN', () => {
    const dir = tmp();
    generate(dir, 'named');
    writeFile(dir, 'app.js', 'x\n');
    expect(run(dir, ['sign', 'app.js', '--key', uri('named')]).status).toBe(0);
    const result = run(dir, ['verify', 'app.js', '--key', uri('named', `?pin-value=${token().pin}`)], { SIGNET_PKCS11_PIN: undefined });
    expect(result.status).toBe(0);
    expect(result.stdout + result.stderr).not.toContain(`pin-value=${token().pin}`);
  });
});
