// What a newcomer types first, and what Signet says back: each message names the real
// problem and the command that fixes it.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  childEnv,
  generateKey,
  PASSWORD,
  SIGNET,
  signet,
  signetOk,
  singleErrorLine,
  snapshotDir,
  useTempDir,
  writeFile,
} from '@signet/test-support';

const tmp = useTempDir();

function setup() {
  const dir = tmp();
  const { key, pub } = generateKey(dir, 'signing');
  writeFile(dir, 'app.js', 'console.log("hello")\n');
  signetOk(['sign', 'app.js', '--key', key], { cwd: dir });
  return { dir, key, pub };
}

/** Runs signet and expects one error line, the status, and the folder as it was. */
function refused(dir: string, args: string[], env: Record<string, string | undefined> = {}) {
  const before = snapshotDir(dir);
  const result = signet(args, { cwd: dir, env });
  expect(snapshotDir(dir)).toEqual(before);
  return { status: result.status, ...singleErrorLine(result.stderr) };
}

describe('file names', () => {
  const latin1 = Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x2e, 0x74, 0x78, 0x74]); // "café.txt" in Latin-1: not UTF-8

  /** signet with one argument given as raw bytes, as a shell passes a file name. */
  function signetRaw(dir: string, before: string[], raw: Buffer, after: string[]) {
    const quote = (word: string) => `'${word.replaceAll("'", "'\\''")}'`;
    const octal = [...raw].map((byte) => `\\${byte.toString(8).padStart(3, '0')}`).join('');
    const command = `${quote(process.execPath)} ${quote(SIGNET)} ${before.map(quote).join(' ')} "$(printf '${octal}')" ${after.map(quote).join(' ')}`;
    const result = spawnSync('sh', ['-c', command], { cwd: dir, env: childEnv(), encoding: 'utf8' });
    return { status: result.status, ...singleErrorLine(result.stderr) };
  }

  test('a file whose name is not UTF-8 is said to exist, with the reason it cannot be opened', () => {
    const { dir, key } = setup();
    fs.writeFileSync(Buffer.concat([Buffer.from(`${dir}/`), latin1]), 'data\n');
    expect(signetRaw(dir, ['sign'], latin1, ['--key', key])).toEqual({
      status: 2,
      code: 'E_INPUT',
      message: 'caf\uFFFD.txt exists, but its name is not valid UTF-8, and Node.js cannot open a file by such a name: rename it',
    });
  });

  test('a name that is not UTF-8 and names nothing does not exist', () => {
    const { dir, key } = setup();
    expect(signetRaw(dir, ['sign'], latin1, ['--key', key])).toEqual({
      status: 2,
      code: 'E_INPUT',
      message: 'caf\uFFFD.txt does not exist',
    });
  });
});

describe('signet verify', () => {
  test('--key with a file that is not a key says so, not that it lacks a private key', () => {
    const { dir } = setup();
    writeFile(dir, 'sbom.cdx.json', '{"bomFormat":"CycloneDX","specVersion":"1.6"}\n');
    expect(refused(dir, ['verify', 'app.js', '--key', 'sbom.cdx.json'])).toEqual({
      status: 2,
      code: 'E_KEY',
      message: "sbom.cdx.json is not a PEM public key; verify with the signer's public key (the .pub file signet key generate writes)",
    });
  });

  test('--key with a private key is refused, encrypted or not, without asking for its passphrase, pointing to the .pub', () => {
    const { dir } = setup();
    const hint =
      'is a private key, which does not belong where artifacts are verified; verify with its public key, signing.pub (signet key public --key signing.key > signing.pub writes it)';
    expect(refused(dir, ['verify', 'app.js', '--key', 'signing.key'], { SIGNET_PASSWORD: undefined })).toEqual({
      status: 2,
      code: 'E_KEY',
      message: `signing.key ${hint}`,
    });
    expect(refused(dir, ['verify', 'app.js', '--key', 'file:signing.key'])).toEqual({
      status: 2,
      code: 'E_KEY',
      message: `file:signing.key ${hint.replace('--key signing.key', '--key file:signing.key')}`,
    });
  });

  test('a folder points to verify-dir, and sign a folder to sign-dir', () => {
    const { dir, key, pub } = setup();
    fs.mkdirSync(path.join(dir, 'dist'));
    writeFile(dir, 'dist/index.html', '<!doctype html>\n');
    expect(refused(dir, ['verify', 'dist', '--key', pub])).toEqual({
      status: 2,
      code: 'E_INPUT',
      message: 'dist is a folder; verify a folder as one build with: signet verify-dir dist',
    });
    expect(refused(dir, ['sign', 'dist', '--key', key])).toEqual({
      status: 2,
      code: 'E_INPUT',
      message: 'dist is a folder; sign a folder as one build with: signet sign-dir dist',
    });
  });

  test('sha256:zz is not a sha256 digest', () => {
    const { dir, pub } = setup();
    expect(refused(dir, ['verify', 'sha256:zz', '--bundle', 'app.js.sigstore.json', '--key', pub])).toEqual({
      status: 2,
      code: 'E_INPUT',
      message: 'sha256:zz is not a sha256 digest: give 64 hex digits',
    });
  });
});

describe('counting', () => {
  test('one file is "1 file"', () => {
    const { dir, key, pub } = setup();
    writeFile(dir, 'site/index.html', '<!doctype html>\n');
    expect(signetOk(['sign-dir', 'site', '--key', key], { cwd: dir }).stderr).toContain('signed 1 file of site:');
    expect(signetOk(['verify-dir', 'site', '--key', pub], { cwd: dir }).stderr).toContain('Verified OK: site (1 file)\n');
    writeFile(dir, 'fn/index.mjs', 'export const handler = () => 1;\n');
    expect(signetOk(['lambda', 'package', 'fn', '--out', 'fn.zip'], { cwd: dir }).stderr).toMatch(/^packaged 1 file of fn into fn\.zip/);
  });

  test('one argument is "1 argument"', () => {
    const { dir, pub } = setup();
    expect(refused(dir, ['verify', 'app.js', 'extra.js', '--key', pub])).toMatchObject({
      status: 2,
      code: 'E_USAGE',
      message: expect.stringContaining('verify takes 1 argument, got 2: app.js extra.js'),
    });
  });
});

describe('the passphrase prompt', () => {
  test('ends its line once the passphrase is typed', async () => {
    const { dir, key } = setup();
    fs.rmSync(path.join(dir, 'app.js.sigstore.json'));
    // `script` gives signet a terminal, so it prompts; what it prints arrives as the terminal shows it.
    const child = spawn('script', ['-qefc', `'${process.execPath}' '${SIGNET}' sign app.js --key ${key}`, '/dev/null'], {
      cwd: dir,
      env: childEnv({ SIGNET_PASSWORD: undefined }),
    });
    let screen = '';
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    child.stdout.on('data', (chunk: Buffer) => {
      const before = screen;
      screen += chunk.toString();
      if (!before.includes('Passphrase for') && screen.includes('Passphrase for')) child.stdin.write(`${PASSWORD}\r`);
    });
    expect(await exited).toBe(0);
    // The terminal's cursor movements (readline's) are not text.
    const text = screen.replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*[A-Za-z]`, 'g'), '');
    expect(text).toMatch(/Passphrase for file:signing\.key: \r?\n+wrote app\.js\.sigstore\.json/);
    expect(text).not.toContain(PASSWORD);
  });
});
