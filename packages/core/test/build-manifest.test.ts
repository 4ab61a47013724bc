import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  buildSubjects,
  createStatement,
  DEFAULT_MANIFEST_PATH,
  DirectoryMismatchError,
  isVerified,
  LocalSigner,
  MANIFEST_PREDICATE_TYPE,
  type Policy,
  publicKeyPem,
  SHA256SUMS_NAME,
  type Subject,
  serializeBundle,
  signBuild,
  signDirectory,
  signStatement,
  verifyDirectory,
} from '../src';
import { useTmpDir } from './helpers/tmp';

const tmp = useTmpDir();
const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
const signer = new LocalSigner('test', privateKey);
const policy: Policy = { keys: [{ publicKey: publicKeyPem(publicKey), name: 'test.pub' }] };

function writeTree(root: string, files: Record<string, string>): void {
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    fs.writeFileSync(path.join(root, name), content);
  }
}

const APP = {
  'index.html': '<script src="assets/app.js"></script>',
  'assets/app.js': 'console.log("app")\n//# sourceMappingURL=app.js.map',
  'assets/app.js.map': '{"version":3}',
  'assets/style.css': 'body{}',
};

describe('buildSubjects', () => {
  it('names files by posix path, sorted, with sha256 of the final bytes', () => {
    const subjects = buildSubjects([
      { name: 'b.js', data: 'b' },
      { name: 'assets\\a.css', data: Buffer.from('a') },
    ]);
    expect(subjects).toEqual([
      { name: 'assets/a.css', digest: { sha256: crypto.createHash('sha256').update('a').digest('hex') } },
      { name: 'b.js', digest: { sha256: crypto.createHash('sha256').update('b').digest('hex') } },
    ]);
  });

  it.each(['../x.js', '/etc/passwd', 'a/../../x', './a.js', 'a//b', 'C:/x', 'a\u0000b'])('refuses the unsafe name %j', (name) => {
    expect(() => buildSubjects([{ name, data: 'x' }])).toThrow(expect.objectContaining({ code: 'E_POLICY' }));
  });

  it('refuses the same file twice', () => {
    expect(() =>
      buildSubjects([
        { name: 'a', data: '1' },
        { name: 'a', data: '2' },
      ]),
    ).toThrow(expect.objectContaining({ code: 'E_INPUT' }));
  });
});

describe('signBuild', () => {
  it('signs every file once, with a manifest predicate, and SHA256SUMS that sha256sum -c accepts', async () => {
    const dir = tmp();
    writeTree(dir, APP);
    const files = Object.entries(APP).map(([name, data]) => ({ name, data }));
    const signed = await signBuild(files, { bundler: { name: 'test', version: '1.0.0' }, outputDir: dir, root: path.dirname(dir) }, signer);
    expect(signed.statement.predicateType).toBe(MANIFEST_PREDICATE_TYPE);
    expect(signed.statement.predicate).toMatchObject({
      tool: { name: 'signet' },
      bundler: { name: 'test', version: '1.0.0' },
      outputDir: path.basename(dir),
      fileCount: 4,
      environment: { node: process.version },
    });
    fs.writeFileSync(path.join(dir, SHA256SUMS_NAME), signed.sha256sums);
    expect(execFileSync('sha256sum', ['-c', SHA256SUMS_NAME], { cwd: dir, encoding: 'utf8' })).toContain('assets/app.js: OK');
    // The same files give the same subjects, whatever order they come in.
    const again = await signBuild([...files].reverse(), { bundler: { name: 'test', version: '1.0.0' }, outputDir: dir }, signer);
    expect(again.statement.subject).toEqual(signed.statement.subject);
  });

  it('signs SLSA provenance v1 with the lockfile among the resolved dependencies when asked', async () => {
    const root = tmp();
    writeTree(root, { 'package-lock.json': '{"lockfileVersion":3}', 'dist/app.js': 'x' });
    const signed = await signBuild(
      [{ name: 'app.js', data: 'x' }],
      { bundler: { name: 'vite', version: '8' }, outputDir: 'dist', root, provenance: true },
      signer,
    );
    expect(signed.statement.predicateType).toBe('https://slsa.dev/provenance/v1');
    const predicate = signed.statement.predicate as { buildDefinition: { resolvedDependencies: unknown[]; externalParameters: unknown } };
    expect(predicate.buildDefinition.resolvedDependencies).toEqual([
      { uri: 'file:package-lock.json', digest: { sha256: crypto.createHash('sha256').update('{"lockfileVersion":3}').digest('hex') } },
    ]);
    expect(predicate.buildDefinition.externalParameters).toEqual({ bundler: { name: 'vite', version: '8' }, outputDir: 'dist' });
  });

  it('is one signing operation however many files', async () => {
    let calls = 0;
    const counting = new LocalSigner('counting', privateKey);
    const sign = counting.sign.bind(counting);
    counting.sign = async (data) => {
      calls++;
      return sign(data);
    };
    const files = Array.from({ length: 500 }, (_, i) => ({ name: `chunk-${i}.js`, data: `chunk ${i}` }));
    await signBuild(files, { bundler: { name: 'test', version: '1' }, outputDir: '.' }, counting);
    expect(calls).toBe(1);
  });
});

describe('verifyDirectory', () => {
  async function signedApp(): Promise<string> {
    const dir = tmp();
    writeTree(dir, APP);
    await signDirectory(dir, signer, { sha256sums: true });
    expect(fs.existsSync(path.join(dir, DEFAULT_MANIFEST_PATH))).toBe(true);
    return dir;
  }

  /** The DirectoryMismatchError a folder that differs from its manifest throws. */
  async function mismatch(dir: string, options: Parameters<typeof verifyDirectory>[2] = {}): Promise<DirectoryMismatchError> {
    const error = await verifyDirectory(dir, policy, options).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DirectoryMismatchError);
    expect(error).toMatchObject({ code: 'E_SIGNATURE' });
    return error as DirectoryMismatchError;
  }

  it('passes on the folder as signed; SHA256SUMS is a signed subject, the manifest the one file outside it', async () => {
    const dir = await signedApp();
    const folder = await verifyDirectory(dir, policy);
    expect(folder).toMatchObject({ files: 5, allowedExtra: [], verified: { signer: { kind: 'key', name: 'test.pub' } } });
    expect(isVerified(folder.verified)).toBe(true);
    expect(folder.verified.statement.subject.map((s) => s.name)).toContain('.well-known/signet/SHA256SUMS');
    // SHA256SUMS lists the build's files for sha256sum -c, not itself.
    const sums = fs.readFileSync(path.join(dir, '.well-known/signet/SHA256SUMS'), 'utf8');
    expect(sums.split('\n').filter(Boolean)).toHaveLength(4);
  });

  it('names each modified, extra and missing file', async () => {
    const dir = await signedApp();
    fs.appendFileSync(path.join(dir, 'assets/app.js'), ';');
    fs.writeFileSync(path.join(dir, 'assets/evil.js'), 'steal()');
    fs.rmSync(path.join(dir, 'index.html'));
    expect(await mismatch(dir)).toMatchObject({ modified: ['assets/app.js'], extra: ['assets/evil.js'], missing: ['index.html'] });
  });

  it('checks SHA256SUMS like any file: changed, or present where the manifest never listed it', async () => {
    const dir = await signedApp();
    fs.appendFileSync(path.join(dir, '.well-known/signet/SHA256SUMS'), `${'0'.repeat(64)}  evil.js\n`);
    expect(await mismatch(dir)).toMatchObject({ modified: ['.well-known/signet/SHA256SUMS'] });

    const plain = tmp();
    writeTree(plain, APP);
    await signDirectory(plain, signer);
    writeTree(plain, { '.well-known/signet/SHA256SUMS': 'served, never signed' });
    expect(await mismatch(plain)).toMatchObject({ extra: ['.well-known/signet/SHA256SUMS'] });
  });

  it('lets through only the extra files --allow-extra names', async () => {
    const dir = await signedApp();
    writeTree(dir, { 'uploads/photo.jpg': 'x', 'assets/evil.js': 'y' });
    expect(await mismatch(dir, { allowExtra: ['uploads/**'] })).toMatchObject({ extra: ['assets/evil.js'] });
    fs.rmSync(path.join(dir, 'assets/evil.js'));
    expect(await verifyDirectory(dir, policy, { allowExtra: ['uploads/**'] })).toMatchObject({ allowedExtra: ['uploads/photo.jpg'] });
  });

  it('refuses what is neither a regular file nor a folder, directly or behind a link, without hanging on a FIFO', async () => {
    const dir = await signedApp();
    const fifo = path.join(dir, '.f');
    execFileSync('mkfifo', [fifo]);
    await expect(verifyDirectory(dir, policy)).rejects.toMatchObject({
      code: 'E_POLICY',
      message: expect.stringContaining('.f is neither'),
    });
    fs.rmSync(path.join(dir, 'index.html'));
    fs.renameSync(fifo, path.join(dir, 'assets/.f'));
    fs.symlinkSync('assets/.f', path.join(dir, 'index.html'));
    // The FIFO is refused wherever the walk meets it first: behind index.html, or as itself.
    await expect(verifyDirectory(dir, policy)).rejects.toMatchObject({
      code: 'E_POLICY',
      message: expect.stringMatching(/^(index\.html is neither .* \(behind a symbolic link\)|assets\/\.f is neither)/),
    });
  });

  it('refuses a manifest with fields Signet does not write, a file named twice, or a file count that disagrees', async () => {
    const dir = tmp();
    writeTree(dir, { 'app.js': 'x' });
    const digest = crypto.createHash('sha256').update('x').digest('hex');
    const predicate = { tool: { name: 'signet', version: '1' }, bundler: { name: 't', version: '1' }, environment: {}, outputDir: '.' };
    type Case = { subject: Subject[]; fileCount?: number; serve?: string; top?: object };
    const cases: [string, Case][] = [
      [
        'an unknown field "uri"',
        { subject: [{ name: 'app.js', uri: 'https://evil.example/app.js', digest: { sha256: digest } } as Subject] },
      ],
      ['an unknown field "sha512"', { subject: [{ name: 'app.js', digest: { sha256: digest, sha512: 'ab'.repeat(64) } }] }],
      [
        'names app.js twice',
        {
          subject: [
            { name: 'app.js', digest: { sha256: digest } },
            { name: 'app.js', digest: { sha256: digest } },
          ],
        },
      ],
      ['counts 7 files', { subject: [{ name: 'app.js', digest: { sha256: digest } }], fileCount: 7 }],
      ['predicate has an unknown field "serve"', { subject: [{ name: 'app.js', digest: { sha256: digest } }], serve: '/etc' }],
      ['has an unknown field "extra"', { subject: [{ name: 'app.js', digest: { sha256: digest } }], top: { extra: 1 } }],
    ];
    for (const [why, { subject, fileCount, serve, top }] of cases) {
      const statement = {
        ...createStatement(subject, MANIFEST_PREDICATE_TYPE, { ...predicate, fileCount: fileCount ?? 1, ...(serve ? { serve } : {}) }),
        ...(top ?? {}),
      };
      fs.mkdirSync(path.join(dir, '.well-known/signet'), { recursive: true });
      fs.writeFileSync(path.join(dir, DEFAULT_MANIFEST_PATH), JSON.stringify(serializeBundle(await signStatement(statement, signer))));
      await expect(verifyDirectory(dir, policy)).rejects.toMatchObject({ code: 'E_BUNDLE', message: expect.stringContaining(why) });
    }
  });

  it('records createdAt when the build gives it, and refuses a manifest whose createdAt is not a time it writes', async () => {
    const dir = tmp();
    writeTree(dir, { 'app.js': 'x' });
    const digest = crypto.createHash('sha256').update('x').digest('hex');
    const signed = await signBuild(
      [{ name: 'app.js', data: 'x' }],
      { bundler: { name: 't', version: '1' }, outputDir: dir, createdAt: new Date(Date.UTC(2026, 0, 2, 3, 4, 5)) },
      signer,
    );
    expect((signed.statement.predicate as { createdAt?: string }).createdAt).toBe('2026-01-02T03:04:05.000Z');
    fs.mkdirSync(path.join(dir, '.well-known/signet'), { recursive: true });
    fs.writeFileSync(path.join(dir, DEFAULT_MANIFEST_PATH), signed.bundleJson);
    await expect(verifyDirectory(dir, policy)).resolves.toMatchObject({ files: 1 });
    const predicate = {
      tool: { name: 'signet', version: '1' },
      bundler: { name: 't', version: '1' },
      environment: {},
      outputDir: '.',
      fileCount: 1,
    };
    for (const createdAt of ['2026-01-02', 'yesterday', 1767322000, '2026-13-02T03:04:05.000Z']) {
      const statement = createStatement([{ name: 'app.js', digest: { sha256: digest } }], MANIFEST_PREDICATE_TYPE, {
        ...predicate,
        createdAt,
      });
      fs.writeFileSync(path.join(dir, DEFAULT_MANIFEST_PATH), JSON.stringify(serializeBundle(await signStatement(statement, signer))));
      await expect(verifyDirectory(dir, policy)).rejects.toMatchObject({ code: 'E_BUNDLE', message: expect.stringContaining('createdAt') });
    }
  });

  it('takes SLSA provenance as a manifest only when a Signet build wrote it', async () => {
    const dir = tmp();
    writeTree(dir, { 'app.js': 'x' });
    const subjects = [{ name: 'app.js', digest: { sha256: crypto.createHash('sha256').update('x').digest('hex') } }];
    const provenance = (buildType: string) => ({
      buildDefinition: { buildType, externalParameters: {} },
      runDetails: { builder: { id: 'b' } },
    });
    const write = async (buildType: string) => {
      const statement = createStatement(subjects, 'https://slsa.dev/provenance/v1', provenance(buildType));
      fs.mkdirSync(path.join(dir, '.well-known/signet'), { recursive: true });
      fs.writeFileSync(path.join(dir, DEFAULT_MANIFEST_PATH), JSON.stringify(serializeBundle(await signStatement(statement, signer))));
    };
    // GitHub's attest-build-provenance: a statement about these files, but not a release of them.
    await write('https://actions.github.io/buildtypes/workflow/v1');
    await expect(verifyDirectory(dir, policy)).rejects.toMatchObject({
      code: 'E_POLICY',
      message: expect.stringContaining('another build type'),
    });
    await write('https://signet.dev/build/signet-sign-dir/v1');
    await expect(verifyDirectory(dir, policy)).resolves.toMatchObject({ files: 1 });
  });

  it('refuses, quickly, links that multiply the ways into a folder (an exponential walk)', async () => {
    const dir = await signedApp();
    // Each level holds n/ and two links to it: 3^depth paths to the deepest folder.
    let level = path.join(dir, 'x');
    for (let i = 0; i < 25; i++) {
      fs.mkdirSync(path.join(level, 'n'), { recursive: true });
      fs.symlinkSync('n', path.join(level, 'a'));
      fs.symlinkSync('n', path.join(level, 'b'));
      level = path.join(level, 'n');
    }
    const started = Date.now();
    await expect(verifyDirectory(dir, policy)).rejects.toMatchObject({
      code: 'E_POLICY',
      message: expect.stringContaining('way through symbolic links into one folder'),
    });
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('keeps the manifest types, whatever the caller policy says', async () => {
    const dir = await signedApp();
    await expect(verifyDirectory(dir, { ...policy, predicateTypes: undefined })).resolves.toBeDefined();
    await expect(verifyDirectory(dir, { ...policy, predicateTypes: 'any' })).resolves.toBeDefined();
    const statement = createStatement([{ name: 'index.html', digest: { sha256: 'ab'.repeat(32) } }], 'https://cyclonedx.org/bom', {
      bomFormat: 'CycloneDX',
    });
    fs.writeFileSync(path.join(dir, DEFAULT_MANIFEST_PATH), JSON.stringify(serializeBundle(await signStatement(statement, signer))));
    for (const predicateTypes of [undefined, 'any' as const, ['https://cyclonedx.org/bom']]) {
      await expect(verifyDirectory(dir, { ...policy, predicateTypes })).rejects.toMatchObject({ code: 'E_POLICY' });
    }
  });

  it('refuses a signed manifest that names a path outside the folder', async () => {
    const dir = tmp();
    writeTree(dir, { 'app.js': 'x' });
    const digest = crypto.createHash('sha256').update('x').digest('hex');
    for (const name of ['../app.js', '/etc/passwd', 'a/../../app.js']) {
      const statement = createStatement([{ name, digest: { sha256: digest } }], MANIFEST_PREDICATE_TYPE, {});
      const bundle = await signStatement(statement, signer);
      fs.mkdirSync(path.join(dir, '.well-known/signet'), { recursive: true });
      fs.writeFileSync(path.join(dir, DEFAULT_MANIFEST_PATH), JSON.stringify(serializeBundle(bundle)));
      await expect(verifyDirectory(dir, policy)).rejects.toMatchObject({
        code: 'E_POLICY',
        message: expect.stringContaining(JSON.stringify(name)),
      });
    }
  });

  it('refuses a symbolic link leading outside the folder, and follows one inside it', async () => {
    const dir = await signedApp();
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-outside-'));
    const outside = path.join(elsewhere, 'outside.js');
    fs.writeFileSync(outside, 'outside');
    fs.symlinkSync(outside, path.join(dir, 'assets/link.js'));
    await expect(verifyDirectory(dir, policy)).rejects.toMatchObject({
      code: 'E_POLICY',
      message: expect.stringContaining('assets/link.js'),
    });
    fs.rmSync(path.join(dir, 'assets/link.js'));
    fs.rmSync(elsewhere, { recursive: true });
    fs.symlinkSync('app.js', path.join(dir, 'assets/alias.js'));
    expect(await mismatch(dir)).toMatchObject({ extra: ['assets/alias.js'] });
  });

  it('refuses a manifest signed by another key, and one that is not a build manifest', async () => {
    const dir = await signedApp();
    const other = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    await expect(verifyDirectory(dir, { keys: [{ publicKey: publicKeyPem(other) }] })).rejects.toMatchObject({ code: 'E_SIGNATURE' });
    const statement = createStatement([{ name: 'index.html', digest: { sha256: 'ab'.repeat(32) } }], 'https://cyclonedx.org/bom', {
      bomFormat: 'CycloneDX',
    });
    fs.writeFileSync(path.join(dir, DEFAULT_MANIFEST_PATH), JSON.stringify(serializeBundle(await signStatement(statement, signer))));
    await expect(verifyDirectory(dir, policy)).rejects.toMatchObject({ code: 'E_POLICY' });
  });

  it('reads the manifest from elsewhere with bundlePath, and refuses a folder that is not one', async () => {
    const dir = await signedApp();
    const bundlePath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'signet-bundle-')), 'manifest.json');
    fs.renameSync(path.join(dir, DEFAULT_MANIFEST_PATH), bundlePath);
    expect(await verifyDirectory(dir, policy, { bundlePath })).toMatchObject({ files: 5 });
    await expect(verifyDirectory(path.join(dir, 'index.html'), policy)).rejects.toMatchObject({ code: 'E_INPUT' });
  });
});
