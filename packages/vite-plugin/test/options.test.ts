// The plugin's options, on real builds of the fixture app: failOnError, include/exclude,
// output and sha256sums, provenance; and what happens when a later plugin changes the output.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_MANIFEST_PATH, isSignetError } from '@signet/core';
import { sha256Hex, toolStatus } from '@signet/test-support';
import { resolveOptions } from '../src/options';
import { build, copyFixture, listFiles, MANIFEST, readStatement, runBuild, spyLines, useWorkspace, VITES, verifyDir } from './helpers';

const workspace = useWorkspace();

describe.each(VITES)('Vite %s', (vite) => {
  describe('failOnError', () => {
    test('a bad key fails the build (the plugin name and the error code in the message) and writes nothing', async () => {
      const root = copyFixture(workspace.dir(), 'app');
      const missing = path.join(workspace.dir(), 'no-such.key');
      const result = await runBuild({ vite, root, signet: { key: `file:${missing}` } });

      expect(result.status).toBe(1);
      const failure = /@@failed ([\s\S]*)/.exec(result.stderr)?.[1] ?? '';
      expect(failure).toMatch(/\[plugin signet\]/);
      expect(failure).toContain(`E_KEY_NOT_FOUND: key file ${missing} does not exist`);
      // The key is opened before Vite empties or writes the output folder.
      expect(fs.existsSync(path.join(root, 'dist'))).toBe(false);
    });

    test('a bad key with failOnError: false warns, and the build goes on unsigned', async () => {
      const root = copyFixture(workspace.dir(), 'app');
      const result = await build({ vite, root, signet: { key: `file:${path.join(workspace.dir(), 'no-such.key')}`, failOnError: false } });

      expect(result.stdout + result.stderr).toMatch(
        /\[plugin signet\] E_KEY_NOT_FOUND: .*failOnError is false: the build goes on unsigned/,
      );
      const written = listFiles(path.join(root, 'dist'));
      expect(written).toEqual(expect.arrayContaining(['index.html', 'about.html']));
      expect(written.filter((name) => name.startsWith('.well-known/'))).toEqual([]);
    });

    test('a signature that fails (a KMS outage) fails the build before the bundle is written', async () => {
      const root = copyFixture(workspace.dir(), 'app');
      const spy = path.join(root, 'spy.log');
      const key = `spy:${path.join(workspace.dir(), 'signing.key')}`;
      const result = await runBuild({ vite, root, signet: { key }, spy, spyFails: true });

      expect(result.status).toBe(1);
      expect(result.stderr).toContain('E_PROVIDER: the key service is unavailable');
      expect(spyLines(spy)).toEqual(['open', 'sign']);
      // Vite had copied public/ when rendering started; no chunk, page or manifest was written.
      expect(listFiles(path.join(root, 'dist'))).toEqual(['favicon.svg', 'robots.txt']);
    });

    test('no key at all is reported as such', async () => {
      const root = copyFixture(workspace.dir(), 'app');
      const result = await runBuild({ vite, root, signet: {} });
      expect(result.status).toBe(1);
      expect(result.stderr).toContain('E_USAGE: no key: give the plugin a key reference');
    });
  });

  test('a plugin listed after signet() still rewrites chunks before they are signed (signet is enforce: post)', async () => {
    const root = copyFixture(workspace.dir(), 'app');
    await build({ vite, root, signet: { key: workspace.key() }, rewrite: 'normal' });
    const dist = path.join(root, 'dist');

    const main = listFiles(dist).find((name) => /^assets\/main-.*\.js$/.test(name)) as string;
    expect(fs.readFileSync(path.join(dist, main), 'utf8')).toMatch(/\/\* rewritten \*\/\s*$/);
    expect((await verifyDir(dist, workspace.pub())).status).toBe(0);
  });

  test("a post plugin after signet() with a generateBundle of order 'post' is refused before anything is written", async () => {
    const root = copyFixture(workspace.dir(), 'app');
    const spy = path.join(root, 'spy.log');
    const key = `spy:${path.join(workspace.dir(), 'signing.key')}`;
    const result = await runBuild({ vite, root, signet: { key }, spy, rewrite: 'post' });

    expect(result.status).toBe(1);
    expect(result.stderr).toContain(
      "E_USAGE: rewrite-chunks runs after signet in generateBundle (order 'post') and could change files after they are signed; put signet() after it in plugins",
    );
    expect(fs.existsSync(path.join(root, 'dist'))).toBe(false);
    expect(spyLines(spy)).toEqual([]);
  });

  test('exclude leaves files out of the manifest; verify-dir then needs --allow-extra for them', async () => {
    const root = copyFixture(workspace.dir(), 'app');
    await build({ vite, root, signet: { key: workspace.key(), exclude: ['**/*.map'] } });
    const dist = path.join(root, 'dist');

    const names = readStatement(path.join(dist, MANIFEST)).subject.map((s) => s.name);
    const maps = listFiles(dist).filter((name) => name.endsWith('.map'));
    expect(maps.length).toBeGreaterThanOrEqual(4);
    expect(names.filter((name) => name.endsWith('.map'))).toEqual([]);
    expect(names).toContain('index.html');

    const strict = await verifyDir(dist, workspace.pub(), '--json');
    expect(strict.status).toBe(1);
    expect((JSON.parse(strict.stdout) as { extra: string[] }).extra).toEqual(maps);
    expect((await verifyDir(dist, workspace.pub(), '--allow-extra', '**/*.map')).status).toBe(0);
  });

  test('include picks the files to sign', async () => {
    const root = copyFixture(workspace.dir(), 'app');
    await build({ vite, root, signet: { key: workspace.key(), include: ['*.html', 'robots.txt'] } });
    const names = readStatement(path.join(root, 'dist', MANIFEST)).subject.map((s) => s.name);
    expect(names).toEqual(['about.html', 'index.html', 'robots.txt']);
  });

  test('output and sha256sums put the manifest and SHA256SUMS where asked', async () => {
    const root = copyFixture(workspace.dir(), 'app');
    await build({ vite, root, signet: { key: workspace.key(), output: 'signatures/build.sigstore.json', sha256sums: true } });
    const dist = path.join(root, 'dist');

    const written = listFiles(dist);
    expect(written).toEqual(expect.arrayContaining(['signatures/build.sigstore.json', 'signatures/SHA256SUMS']));
    expect(written.filter((name) => name.startsWith('.well-known/'))).toEqual([]);
    expect((await verifyDir(dist, workspace.pub(), '--bundle', path.join(dist, 'signatures/build.sigstore.json'))).status).toBe(0);
    expect(toolStatus('sha256sum', ['-c', '--strict', 'signatures/SHA256SUMS'], dist).status).toBe(0);
    const sums = fs.readFileSync(path.join(dist, 'signatures/SHA256SUMS'), 'utf8');
    expect(sums).toContain(`${sha256Hex(fs.readFileSync(path.join(dist, 'index.html')))}  index.html\n`);
  });

  test('provenance signs SLSA provenance v1 with the lockfile digest', async () => {
    const root = copyFixture(workspace.dir(), 'app');
    const lockfile = JSON.stringify({ name: 'fixture', lockfileVersion: 3, nonce: crypto.randomUUID() });
    fs.writeFileSync(path.join(root, 'package-lock.json'), lockfile);
    await build({ vite, root, signet: { key: workspace.key(), provenance: true } });
    const dist = path.join(root, 'dist');

    const statement = readStatement(path.join(dist, MANIFEST));
    expect(statement.predicateType).toBe('https://slsa.dev/provenance/v1');
    expect(statement.predicate).toMatchObject({
      buildDefinition: {
        externalParameters: { bundler: { name: 'vite' }, outputDir: 'dist' },
        resolvedDependencies: [{ uri: 'file:package-lock.json', digest: { sha256: sha256Hex(Buffer.from(lockfile)) } }],
      },
    });
    expect(statement.subject.map((s) => s.name)).toContain('index.html');
    expect((await verifyDir(dist, workspace.pub())).status).toBe(0);
  });
});

describe('options', () => {
  test('defaults', () => {
    expect(resolveOptions({ key: 'file:k' })).toEqual({
      key: 'file:k',
      output: DEFAULT_MANIFEST_PATH,
      include: [],
      exclude: [],
      sha256sums: false,
      failOnError: true,
      provenance: false,
      environments: ['client'],
      sha256sumsPath: '.well-known/signet/SHA256SUMS',
    });
    expect(resolveOptions({ key: 'k', output: 'manifest.json' }).sha256sumsPath).toBe('SHA256SUMS');
  });

  test.each(['../manifest.json', '/abs/manifest.json', 'a//b.json', 'a\\b.json', './m.json'])(
    'an output outside the output folder (%s) is refused when the config is read',
    (output) => {
      let thrown: unknown;
      try {
        resolveOptions({ key: 'k', output });
      } catch (error) {
        thrown = error;
      }
      expect(isSignetError(thrown, 'E_USAGE')).toBe(true);
      expect((thrown as Error).message).toContain(JSON.stringify(output));
    },
  );
});
