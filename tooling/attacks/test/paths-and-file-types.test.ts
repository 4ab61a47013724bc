// Paths outside a folder, symbolic links, FIFOs and other non-regular files, and files a signed
// folder serves that its manifest never named. Each attack runs the real CLI (or the public
// API) and asserts that it ends, refusing, with its code: a FIFO opened plainly blocks forever,
// so a command that hangs is killed after a few seconds and fails the test.
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import {
  createStatement,
  DEFAULT_MANIFEST_PATH,
  LocalSigner,
  MANIFEST_PREDICATE_TYPE,
  publicKeyPem,
  type Subject,
  serializeBundle,
  signStatement,
} from '@signet/core';
import { withVerifiedLayers } from '@signet/lambda';
import { generateKey, type RunResult, signetAsync, singleErrorLine, useTempDir, writeFile } from '@signet/test-support';

const tmp = useTempDir();
const HANG = 8_000;

function run(dir: string, args: string[]): Promise<RunResult> {
  return signetAsync(args, { cwd: dir, timeoutMs: HANG });
}

function mkfifo(file: string): void {
  execFileSync('mkfifo', [file]);
}

/** A folder signed with `signet sign-dir`, and the key that trusts it. */
async function signedFolder(): Promise<{ dir: string; pub: string }> {
  const dir = tmp();
  const { key, pub } = generateKey(dir, 'release');
  writeFile(dir, 'dist/index.html', '<script src="app.js"></script>');
  writeFile(dir, 'dist/app.js', 'console.log(1)');
  const signed = await run(dir, ['sign-dir', 'dist', '--key', key]);
  expect(signed.status).toBe(0);
  return { dir, pub };
}

describe('FIFOs and other files that are not regular files', () => {
  it('verify-dir: index.html a link to a FIFO in the folder is refused, not read (it used to hang)', async () => {
    const { dir, pub } = await signedFolder();
    fs.rmSync(path.join(dir, 'dist/index.html'));
    mkfifo(path.join(dir, 'dist/.f'));
    fs.symlinkSync('.f', path.join(dir, 'dist/index.html'));
    const result = await run(dir, ['verify-dir', 'dist', '--key', pub]);
    expect(result.status).toBe(1);
    expect(singleErrorLine(result.stderr)).toEqual({
      code: 'E_POLICY',
      message: expect.stringMatching(/is neither a regular file nor a folder/),
    });
  });

  it('verify-dir: a socket in the folder is refused, not ignored', async () => {
    const { dir, pub } = await signedFolder();
    const socket = net.createServer().listen(path.join(dir, 'dist/s.sock'));
    await new Promise((resolve) => socket.once('listening', resolve));
    try {
      const result = await run(dir, ['verify-dir', 'dist', '--key', pub]);
      expect(result.status).toBe(1);
      expect(singleErrorLine(result.stderr)).toEqual({ code: 'E_POLICY', message: expect.stringContaining('s.sock is neither') });
    } finally {
      socket.close();
    }
  });

  it('gate: a FIFO named ARTIFACT.sigstore.json is refused, and the gate ends', async () => {
    const dir = tmp();
    const { pub } = generateKey(dir, 'release');
    writeFile(dir, 'art.txt', 'artifact');
    mkfifo(path.join(dir, 'art.txt.sigstore.json'));
    writeFile(dir, 'policy.yaml', `version: 1\nkeys:\n  release: { publicKey: ${pub} }\nrules:\n  - { kind: file, signers: [release] }\n`);
    const result = await run(dir, ['gate', '--policy', 'policy.yaml', 'art.txt', '--json']);
    expect(result.status).toBe(1);
    expect(JSON.parse(result.stdout).verdicts[0]).toMatchObject({ ok: false, code: 'E_INPUT', reason: expect.stringContaining('FIFO') });
  });

  it.each([
    ['the artifact', (fifo: string) => ['verify', fifo, '--key', 'release.pub', '--bundle', 'art.txt.sigstore.json']],
    ['the bundle', (fifo: string) => ['verify', 'art.txt', '--key', 'release.pub', '--bundle', fifo]],
    ['the gate policy', (fifo: string) => ['gate', '--policy', fifo, 'art.txt']],
    ['a key file in the gate policy', () => ['gate', '--policy', 'fifo-key-policy.yaml', 'art.txt']],
    ['the lockfile', (fifo: string) => ['npm', 'verify', '--lockfile', fifo, '--allow-unsigned', '--registry', 'http://127.0.0.1:9']],
    ['a Lambda zip', (fifo: string) => ['lambda', 'verify', fifo, '--key', 'release.pub']],
    [
      'the predicate to attest',
      (fifo: string) => ['attest', 'art.txt', '--predicate', fifo, '--type', 'custom', '--key', 'file:release.key'],
    ],
    ['the file to sign', (fifo: string) => ['sign', fifo, '--key', 'file:release.key']],
  ])('%s as a FIFO: one E_INPUT line, exit 2, no hang, nothing written', async (_what, args) => {
    const dir = tmp();
    generateKey(dir, 'release');
    writeFile(dir, 'art.txt', 'artifact');
    expect((await run(dir, ['sign', 'art.txt', '--key', 'file:release.key'])).status).toBe(0);
    mkfifo(path.join(dir, 'fifo'));
    writeFile(
      dir,
      'fifo-key-policy.yaml',
      'version: 1\nkeys:\n  release: { publicKey: fifo }\nrules:\n  - { kind: file, signers: [release] }\n',
    );
    const before = fs.readdirSync(dir).sort();
    const result = await run(dir, args('fifo'));
    expect(result.status).toBe(2);
    const error = singleErrorLine(result.stderr);
    expect(error.code).toBe('E_INPUT');
    expect(error.message).toContain('FIFO');
    expect(fs.readdirSync(dir).sort()).toEqual(before);
  });

  it('withVerifiedLayers: a FIFO among the layer files fails every invocation; the handler never runs', async () => {
    const { dir, pub } = await signedFolder();
    mkfifo(path.join(dir, 'dist/pipe'));
    const handler = jest.fn(async () => 'ran');
    const wrapped = withVerifiedLayers(handler, {
      dir: path.join(dir, 'dist'),
      policy: { keys: [{ publicKey: fs.readFileSync(path.join(dir, pub), 'utf8') }] },
    });
    await expect(wrapped({}, {})).rejects.toMatchObject({ code: 'E_POLICY', message: expect.stringContaining('pipe is neither') });
    expect(handler).not.toHaveBeenCalled();
  });
});

describe('files a signed folder serves that its manifest never named', () => {
  it('a SHA256SUMS the manifest never listed is an extra file, not exempt', async () => {
    const { dir, pub } = await signedFolder();
    writeFile(dir, `dist/${path.posix.dirname(DEFAULT_MANIFEST_PATH)}/SHA256SUMS`, `${'0'.repeat(64)}  evil.js\n`);
    const result = await run(dir, ['verify-dir', 'dist', '--key', pub]);
    expect(result.status).toBe(1);
    expect(singleErrorLine(result.stderr)).toEqual({
      code: 'E_SIGNATURE',
      message: expect.stringContaining('extra .well-known/signet/SHA256SUMS'),
    });
  });

  it('a SHA256SUMS signed with the manifest is checked like any file', async () => {
    const dir = tmp();
    const { key, pub } = generateKey(dir, 'release');
    writeFile(dir, 'dist/app.js', 'console.log(1)');
    expect((await run(dir, ['sign-dir', 'dist', '--key', key, '--sha256sums'])).status).toBe(0);
    expect((await run(dir, ['verify-dir', 'dist', '--key', pub])).status).toBe(0);
    fs.appendFileSync(path.join(dir, 'dist/.well-known/signet/SHA256SUMS'), `${'0'.repeat(64)}  evil.js\n`);
    const result = await run(dir, ['verify-dir', 'dist', '--key', pub]);
    expect(result.status).toBe(1);
    expect(singleErrorLine(result.stderr).message).toContain('modified .well-known/signet/SHA256SUMS');
  });

  describe('a signed manifest that says more than Signet writes', () => {
    const pair = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const signer = new LocalSigner('release', pair.privateKey);
    const sha256 = (text: string) => crypto.createHash('sha256').update(text).digest('hex');

    async function folderWith(subjects: Subject[], extra: Record<string, unknown> = {}): Promise<string> {
      const dir = tmp();
      writeFile(dir, 'release.pub', publicKeyPem(pair.publicKey));
      writeFile(dir, 'dist/app.js', 'console.log(1)');
      const predicate = {
        tool: { name: 'signet', version: '1' },
        bundler: { name: 'x', version: '1' },
        environment: {},
        outputDir: 'dist',
        fileCount: subjects.length,
      };
      const statement = { ...createStatement(subjects, MANIFEST_PREDICATE_TYPE, { ...predicate, ...extra }) };
      writeFile(dir, `dist/${DEFAULT_MANIFEST_PATH}`, JSON.stringify(serializeBundle(await signStatement(statement, signer))));
      return dir;
    }

    it.each([
      [
        'a subject field a deploy tool might follow',
        [{ name: 'app.js', digest: { sha256: sha256('console.log(1)') }, uri: 'https://evil.example/app.js' } as Subject],
        {},
      ],
      ['a second digest nobody checks', [{ name: 'app.js', digest: { sha256: sha256('console.log(1)'), sha512: 'ab'.repeat(64) } }], {}],
      ['a predicate field', [{ name: 'app.js', digest: { sha256: sha256('console.log(1)') } }], { alsoServe: ['/etc/passwd'] }],
    ])('%s: refused, E_BUNDLE', async (_what, subjects, extra) => {
      const dir = await folderWith(subjects, extra);
      const result = await run(dir, ['verify-dir', 'dist', '--key', 'release.pub']);
      expect(result.status).toBe(2);
      expect(singleErrorLine(result.stderr).code).toBe('E_BUNDLE');
    });

    it.each(['../outside.js', '/etc/passwd', 'a/../../outside.js', 'C:/x.js'])('a subject named %s: refused, E_POLICY', async (name) => {
      const dir = await folderWith([{ name, digest: { sha256: sha256('x') } }]);
      const result = await run(dir, ['verify-dir', 'dist', '--key', 'release.pub']);
      expect(result.status).toBe(1);
      expect(singleErrorLine(result.stderr)).toEqual({ code: 'E_POLICY', message: expect.stringContaining(JSON.stringify(name)) });
    });
  });

  it('links that multiply the paths into one folder (3^25 of them) are refused at once, not walked (it used to hang)', async () => {
    const { dir, pub } = await signedFolder();
    let level = path.join(dir, 'dist/x');
    for (let i = 0; i < 25; i++) {
      fs.mkdirSync(path.join(level, 'n'), { recursive: true });
      fs.symlinkSync('n', path.join(level, 'a'));
      fs.symlinkSync('n', path.join(level, 'b'));
      level = path.join(level, 'n');
    }
    const result = await run(dir, ['verify-dir', 'dist', '--key', pub]);
    expect(result.status).toBe(1);
    expect(singleErrorLine(result.stderr)).toEqual({
      code: 'E_POLICY',
      message: expect.stringContaining('way through symbolic links into one folder'),
    });
  });

  it('SLSA provenance of another build about the folder’s files is not its signed manifest (it used to verify)', async () => {
    const dir = tmp();
    const { key, pub } = generateKey(dir, 'release');
    writeFile(dir, 'site/app.js', 'console.log(1)');
    const provenance = {
      buildDefinition: { buildType: 'https://actions.github.io/buildtypes/workflow/v1', externalParameters: {} },
      runDetails: { builder: { id: 'gh' } },
    };
    writeFile(dir, 'prov.json', JSON.stringify(provenance));
    expect((await run(dir, ['attest', 'site/app.js', '--type', 'slsaprovenance', '--predicate', 'prov.json', '--key', key])).status).toBe(
      0,
    );
    // Its subject is named app.js, relative to the folder: exactly a manifest's shape.
    fs.mkdirSync(path.join(dir, 'site/.well-known/signet'), { recursive: true });
    fs.copyFileSync(path.join(dir, 'site/app.js.slsaprovenance.sigstore.json'), path.join(dir, `site/${DEFAULT_MANIFEST_PATH}`));
    fs.rmSync(path.join(dir, 'site/app.js.slsaprovenance.sigstore.json'));
    const result = await run(dir, ['verify-dir', 'site', '--key', pub]);
    expect(result.status).toBe(1);
    expect(singleErrorLine(result.stderr)).toEqual({
      code: 'E_POLICY',
      message: expect.stringContaining('SLSA provenance of another build type'),
    });
  });

  it('a symbolic link leading out of the folder is refused', async () => {
    const { dir, pub } = await signedFolder();
    writeFile(dir, 'secret.txt', 'outside');
    fs.symlinkSync(path.join(dir, 'secret.txt'), path.join(dir, 'dist/leak.txt'));
    const result = await run(dir, ['verify-dir', 'dist', '--key', pub]);
    expect(result.status).toBe(1);
    expect(singleErrorLine(result.stderr)).toEqual({
      code: 'E_POLICY',
      message: expect.stringContaining('leak.txt is a symbolic link leading outside'),
    });
  });
});
