// The ways Vite builds: library mode (one output per format), several environments
// (client and SSR), watch mode (a rebuild per edit) and the dev server (never signed).
import fs from 'node:fs';
import path from 'node:path';
import {
  build,
  copyFixture,
  listFiles,
  MANIFEST,
  readStatement,
  runBuild,
  spyLines,
  useWorkspace,
  VITES,
  verifyDir,
  watchBuild,
} from './helpers';

interface Report {
  extra: string[];
  missing: string[];
  modified: string[];
}

const workspace = useWorkspace();
const spyKey = () => `spy:${path.join(workspace.dir(), 'signing.key')}`;

describe.each(VITES)('Vite %s', (vite) => {
  test('library mode: the ES and UMD outputs are signed together, with one signature', async () => {
    const root = copyFixture(workspace.dir(), 'lib');
    const spy = path.join(root, 'spy.log');
    await build({ vite, root, signet: { key: spyKey() }, spy });

    const dist = path.join(root, 'dist');
    expect(spyLines(spy)).toEqual(['open', 'sign']);
    expect(readStatement(path.join(dist, MANIFEST)).subject.map((s) => s.name)).toEqual([
      'fixture-lib.css',
      'fixture-lib.mjs',
      'fixture-lib.mjs.map',
      'fixture-lib.umd.js',
      'fixture-lib.umd.js.map',
    ]);
    expect((await verifyDir(dist, workspace.pub())).status).toBe(0);
  });

  describe('an app with a client and an SSR environment (createBuilder + buildApp)', () => {
    const environments = (root: string) => ({
      environments: {
        client: { build: { outDir: 'dist/client' } },
        ssr: { build: { outDir: 'dist/server', rollupOptions: { input: path.join(root, 'src', 'entry-server.js') } } },
      },
    });

    test('by default only the client build is signed', async () => {
      const root = copyFixture(workspace.dir(), 'app');
      const spy = path.join(root, 'spy.log');
      await build({ vite, root, mode: 'app', config: environments(root), signet: { key: spyKey() }, spy });

      expect(spyLines(spy)).toEqual(['open', 'sign']);
      expect((await verifyDir(path.join(root, 'dist', 'client'), workspace.pub())).status).toBe(0);
      expect(listFiles(path.join(root, 'dist', 'server'))).toContain('entry-server.mjs');
      expect(fs.existsSync(path.join(root, 'dist', 'server', MANIFEST))).toBe(false);
    });

    test("environments: ['client', 'ssr'] signs each environment into its own output folder", async () => {
      const root = copyFixture(workspace.dir(), 'app');
      const spy = path.join(root, 'spy.log');
      await build({ vite, root, mode: 'app', config: environments(root), signet: { key: spyKey(), environments: ['client', 'ssr'] }, spy });

      expect(spyLines(spy)).toEqual(['open', 'sign', 'open', 'sign']);
      const client = readStatement(path.join(root, 'dist', 'client', MANIFEST));
      const server = readStatement(path.join(root, 'dist', 'server', MANIFEST));
      expect(client.predicate.outputDir).toBe('dist/client');
      expect(server.predicate.outputDir).toBe('dist/server');
      expect(server.subject.map((s) => s.name)).toEqual(expect.arrayContaining(['entry-server.mjs', 'entry-server.mjs.map']));
      expect(client.subject.map((s) => s.name)).not.toContain('entry-server.mjs');
      expect((await verifyDir(path.join(root, 'dist', 'client'), workspace.pub())).status).toBe(0);
      expect((await verifyDir(path.join(root, 'dist', 'server'), workspace.pub())).status).toBe(0);
    });
  });

  test.each([
    {
      fixture: 'app' as const,
      source: 'src/chart.js',
      edit: (text: string) => text.replace("'#'", "'='"),
      // The chart chunk changed, and with it its hashed name.
      stale: (report: Report) => {
        expect(report.extra.filter((name) => /^assets\/chart-.*\.js$/.test(name))).toHaveLength(1);
        expect(report.missing.filter((name) => /^assets\/chart-.*\.js$/.test(name))).toHaveLength(1);
      },
    },
    {
      fixture: 'lib' as const,
      source: 'src/slugify.js',
      edit: (text: string) => text.replace("'-'", "'_'"),
      // Both formats, rebuilt under the same names.
      stale: (report: Report) => expect(report.modified).toEqual(expect.arrayContaining(['fixture-lib.mjs', 'fixture-lib.umd.js'])),
    },
  ])(
    'watch mode ($fixture) re-signs each rebuild: the new manifest verifies, the first one no longer does',
    async ({ fixture, source, edit, stale }) => {
      const root = copyFixture(workspace.dir(), fixture);
      const dist = path.join(root, 'dist');
      const spy = path.join(root, 'spy.log');
      const watcher = watchBuild({ vite, root, signet: { key: spyKey() }, spy });
      try {
        await watcher.printed('@@end 1');
        // The first build's output, byte for byte, and the proof that its manifest held.
        const first = path.join(workspace.dir(), `watch-first-${fixture}-${vite}`);
        fs.cpSync(dist, first, { recursive: true });
        expect((await verifyDir(first, workspace.pub())).status).toBe(0);

        const file = path.join(root, source);
        const before = fs.readFileSync(file, 'utf8');
        expect(edit(before)).not.toBe(before);
        fs.writeFileSync(file, edit(before));
        await watcher.printed('@@end 2');
        await watcher.settled();
        const builds = watcher.builds();
        expect(await watcher.close()).toBe(0);

        expect(fs.readFileSync(path.join(dist, MANIFEST), 'utf8')).not.toBe(fs.readFileSync(path.join(first, MANIFEST), 'utf8'));
        expect((await verifyDir(dist, workspace.pub())).status).toBe(0);
        const result = await verifyDir(dist, workspace.pub(), '--bundle', path.join(first, MANIFEST), '--json');
        expect(result.status).toBe(1);
        stale(JSON.parse(result.stdout) as Report);
        // One key opening and one signature per build (two, or three when the edit came as two events), however many outputs.
        expect(spyLines(spy)).toEqual(Array.from({ length: builds }, () => ['open', 'sign']).flat());
      } finally {
        watcher.kill();
      }
    },
  );

  test('watch mode (lib): edits landing while a rebuild runs still end in a manifest of the last build', async () => {
    const root = copyFixture(workspace.dir(), 'lib');
    const dist = path.join(root, 'dist');
    const source = path.join(root, 'src', 'slugify.js');
    const watcher = watchBuild({ vite, root, signet: { key: workspace.key() } });
    try {
      await watcher.printed('@@end 1');
      const original = fs.readFileSync(source, 'utf8');
      // Several saves in quick succession: some reach the watcher while a rebuild is under way.
      const separators = ['_', '.', '+', '=', '*', ':', '!', ',', ';', '~'];
      for (const separator of separators) {
        fs.writeFileSync(source, original.replace("'-'", `'${separator}'`));
        await new Promise((resolve) => setTimeout(resolve, 30));
      }
      await watcher.printed('@@end 2');
      await watcher.settled();
      expect(await watcher.close()).toBe(0);
      expect(fs.readFileSync(path.join(dist, 'fixture-lib.mjs'), 'utf8')).toContain('"~"');
      expect((await verifyDir(dist, workspace.pub())).status).toBe(0);
    } finally {
      watcher.kill();
    }
  });

  test('the dev server never signs: no manifest written, no key opened', async () => {
    const root = copyFixture(workspace.dir(), 'app');
    const spy = path.join(root, 'spy.log');
    // The spy key opens (and logs) only if the plugin asks for it; nothing else would notice.
    const result = await runBuild({
      vite,
      root,
      mode: 'serve',
      signet: { key: spyKey() },
      spy,
      config: { optimizeDeps: { noDiscovery: true } },
    });
    expect(result.stdout).toContain('@@status 200 200 true');
    expect(result.status).toBe(0);
    expect(spyLines(spy)).toEqual([]);
    expect(listFiles(root).filter((name) => name.includes('manifest.sigstore.json') || name.startsWith('dist/'))).toEqual([]);
  });
});
