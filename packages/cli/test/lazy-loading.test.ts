// `signet verify` loads only what verifying needs: no provider package, no KMS SDK,
// no @sigstore/sign (and its HTTP stack). And every command explains itself with --help.
import fs from 'node:fs';
import path from 'node:path';
import { generateKey, type RunResult, signet, signetOk, useTempDir, writeFile } from '@signet/test-support';

const tmp = useTempDir();

const RECORDER = path.resolve(__dirname, 'fixtures/record-modules.js');

/** Module paths that `signet verify` must never load. */
const FORBIDDEN = ['@sigstore/sign', 'kms-', 'pkcs11', 'node-forge', '@aws-sdk', '@google-cloud', '@azure', 'node-vault'];

/** Runs signet with the recorder preloaded; returns the result and every module path it loaded. */
function signetRecorded(dir: string, args: string[]): RunResult & { modules: string[] } {
  const file = path.join(dir, 'modules.json');
  const result = signet(args, { cwd: dir, nodeArgs: ['-r', RECORDER], env: { SIGNET_TEST_MODULES_FILE: file } });
  const modules = JSON.parse(fs.readFileSync(file, 'utf8')) as string[];
  fs.rmSync(file);
  return { ...result, modules };
}

function setup(): { dir: string; key: string; pub: string } {
  const dir = tmp();
  const { key, pub } = generateKey(dir, 'signing');
  writeFile(dir, 'app.js', 'console.log("lazy")\n');
  signetOk(['sign', 'app.js', '--key', key], { cwd: dir });
  return { dir, key, pub };
}

describe('signet verify --key loads no provider and not @sigstore/sign', () => {
  test('verify a file', () => {
    const { dir, pub } = setup();
    const result = signetRecorded(dir, ['verify', 'app.js', '--key', pub]);
    expect(result.stderr).toContain('Verified OK');
    expect(result.status).toBe(0);
    // the recorder saw the CLI (one bundled file, core inside it) load, so an empty list cannot pass by accident
    expect(result.modules.some((file) => file.endsWith(`dist${path.sep}signet.cjs`))).toBe(true);
    expect(result.modules.filter((file) => FORBIDDEN.some((name) => file.includes(name)))).toEqual([]);
  });

  test('verify a digest with --json', () => {
    const { dir, pub } = setup();
    const bundle = JSON.parse(fs.readFileSync(path.join(dir, 'app.js.sigstore.json'), 'utf8')) as {
      messageSignature: { messageDigest: { digest: string } };
    };
    const hex = Buffer.from(bundle.messageSignature.messageDigest.digest, 'base64').toString('hex');
    const result = signetRecorded(dir, ['verify', `sha256:${hex}`, '--bundle', 'app.js.sigstore.json', '--key', pub, '--json']);
    expect(result.status).toBe(0);
    expect((JSON.parse(result.stdout) as { ok: boolean }).ok).toBe(true);
    expect(result.modules.filter((file) => FORBIDDEN.some((name) => file.includes(name)))).toEqual([]);
  });

  test('a failed verification loads none of them either', () => {
    const { dir, pub } = setup();
    fs.appendFileSync(path.join(dir, 'app.js'), 'tampered\n');
    const result = signetRecorded(dir, ['verify', 'app.js', '--key', pub]);
    expect(result.status).toBe(1);
    expect(result.modules.filter((file) => FORBIDDEN.some((name) => file.includes(name)))).toEqual([]);
  });

  test('the control: signet sign does load @sigstore/sign, so the recorder sees lazy loads', () => {
    const { dir, key } = setup();
    const result = signetRecorded(dir, ['sign', 'app.js', '--key', key, '--bundle', 'again.json']);
    expect(result.status).toBe(0);
    expect(result.modules.some((file) => file.includes(`@sigstore${path.sep}sign`))).toBe(true);
  });
});

describe('signet monitor: @signet/monitor and what only it needs load when it runs, never before', () => {
  /** A module file of @signet/monitor (its dist, wherever it is installed or linked from). */
  const isMonitor = (file: string) => file.includes(`${path.sep}monitor${path.sep}dist${path.sep}`);
  /** The monitor's parsers, which the bundled CLI keeps outside and no verification needs. */
  const isMonitorDependency = (file: string) =>
    [`${path.sep}yaml${path.sep}`, `${path.sep}ajv${path.sep}`].some((name) => file.includes(name));

  test('signet verify, signet sign and signet --help load none of it', () => {
    const { dir, key, pub } = setup();
    for (const args of [['verify', 'app.js', '--key', pub], ['sign', 'app.js', '--key', key, '--bundle', 'again.json'], ['--help']]) {
      const result = signetRecorded(dir, args);
      expect(result.status).toBe(0);
      expect(result.modules.some((file) => file.endsWith(`dist${path.sep}signet.cjs`))).toBe(true);
      expect(result.modules.filter((file) => isMonitor(file) || isMonitorDependency(file))).toEqual([]);
    }
  });

  test('the control: signet monitor loads @signet/monitor, so the recorder sees it', () => {
    const dir = tmp();
    writeFile(dir, 'monitor.yaml', 'logs: []\nstate: state.json\n');
    const result = signetRecorded(dir, ['monitor', '--config', 'monitor.yaml']);
    expect(result.stderr).toContain('nothing unexpected in 0 log(s)');
    expect(result.status).toBe(0);
    expect(result.modules.some(isMonitor)).toBe(true);
  });
});

describe('--help', () => {
  test('signet --help exits 0 and shows an example', () => {
    const result = signet(['--help'], { cwd: tmp() });
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('Usage: signet');
    expect(result.stdout).toMatch(/^Examples?:/m);
  });

  test.each(['verify', 'verify-attestation', 'sign', 'attest', 'key', 'key generate', 'key public', 'monitor'])(
    'signet %s --help exits 0 and shows an example',
    (name) => {
      const command = name.split(' ');
      const result = signet([...command, '--help'], { cwd: tmp() });
      expect(result.status).toBe(0);
      expect(result.stdout).toContain(`Usage: signet ${command.join(' ')}`);
      expect(result.stdout).toMatch(/^Examples?:/m);
      expect(result.stdout).toMatch(new RegExp(`^\\s+\\$ .*\\bsignet ${command.join(' ')}\\b`, 'm'));
    },
  );

  test('--version prints the package version', () => {
    const result = signet(['--version'], { cwd: tmp() });
    expect(result.status).toBe(0);
    expect(result.stdout.trim()).toBe(require('../package.json').version);
  });
});
