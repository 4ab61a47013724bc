import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  buildSubjects,
  createStatement,
  DEFAULT_MANIFEST_PATH,
  LocalSigner,
  MANIFEST_PREDICATE_TYPE,
  type Policy,
  publicKeyPem,
  SHA256SUMS_NAME,
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

  it('passes on the folder as signed, ignoring the manifest and SHA256SUMS themselves', async () => {
    const report = await verifyDirectory(await signedApp(), policy);
    expect(report).toMatchObject({
      ok: true,
      verified: 4,
      missing: [],
      extra: [],
      modified: [],
      signer: { kind: 'key', name: 'test.pub' },
    });
  });

  it('names each modified, extra and missing file', async () => {
    const dir = await signedApp();
    fs.appendFileSync(path.join(dir, 'assets/app.js'), ';');
    fs.writeFileSync(path.join(dir, 'assets/evil.js'), 'steal()');
    fs.rmSync(path.join(dir, 'index.html'));
    const report = await verifyDirectory(dir, policy);
    expect(report).toMatchObject({
      ok: false,
      modified: ['assets/app.js'],
      extra: ['assets/evil.js'],
      missing: ['index.html'],
      verified: 2,
    });
  });

  it('lets through only the extra files --allow-extra names', async () => {
    const dir = await signedApp();
    writeTree(dir, { 'uploads/photo.jpg': 'x', 'assets/evil.js': 'y' });
    const report = await verifyDirectory(dir, policy, { allowExtra: ['uploads/**'] });
    expect(report).toMatchObject({ ok: false, extra: ['assets/evil.js'], allowedExtra: ['uploads/photo.jpg'] });
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
    expect(await verifyDirectory(dir, policy)).toMatchObject({ ok: false, extra: ['assets/alias.js'] });
  });

  it('refuses a manifest signed by another key, and one that is not a build manifest', async () => {
    const dir = await signedApp();
    const other = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    await expect(verifyDirectory(dir, { keys: [{ publicKey: publicKeyPem(other) }] })).rejects.toMatchObject({ code: 'E_SIGNATURE' });
    const statement = createStatement([{ name: 'index.html', digest: { sha256: 'ab' } }], 'https://cyclonedx.org/bom', {
      bomFormat: 'CycloneDX',
    });
    fs.writeFileSync(path.join(dir, DEFAULT_MANIFEST_PATH), JSON.stringify(serializeBundle(await signStatement(statement, signer))));
    await expect(verifyDirectory(dir, policy)).rejects.toMatchObject({ code: 'E_POLICY' });
  });

  it('reads the manifest from elsewhere with bundlePath, and refuses a folder that is not one', async () => {
    const dir = await signedApp();
    const bundlePath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'signet-bundle-')), 'manifest.json');
    fs.renameSync(path.join(dir, DEFAULT_MANIFEST_PATH), bundlePath);
    fs.rmSync(path.join(dir, '.well-known'), { recursive: true });
    expect(await verifyDirectory(dir, policy, { bundlePath })).toMatchObject({ ok: true });
    await expect(verifyDirectory(path.join(dir, 'index.html'), policy)).rejects.toMatchObject({ code: 'E_INPUT' });
  });
});
