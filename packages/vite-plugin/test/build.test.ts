// The fixture app (two pages, dynamic imports, CSS, images, a public folder, source maps,
// Vite's own manifest) built by real Vite 7 and Vite 8 with the plugin as its
// vite.config.mjs configures it, then checked with the real `signet verify-dir`.
import fs from 'node:fs';
import path from 'node:path';
import { MANIFEST_PREDICATE_TYPE } from '@signet/core';
import { sha256Hex, singleErrorLine, toolStatus } from '@signet/test-support';
import { build, copyFixture, listFiles, MANIFEST, readStatement, type Statement, useWorkspace, VITES, verifyDir } from './helpers';

const workspace = useWorkspace();

describe.each(VITES)('Vite %s', (vite) => {
  // Two copies of the app, each built by Vite loading its vite.config.mjs (which imports
  // { signet } from '@signet/vite-plugin'), side by side; and the library, for a folder
  // the app's manifest does not describe.
  const roots: string[] = [];
  let lib = '';
  beforeAll(async () => {
    roots.push(copyFixture(workspace.dir(), 'app'), copyFixture(workspace.dir(), 'app'));
    lib = copyFixture(workspace.dir(), 'lib');
    await Promise.all([
      ...roots.map((root) => build({ vite, root, configFile: true }, { SIGNET_KEY: workspace.key() })),
      build({ vite, root: lib, configFile: true }, { SIGNET_KEY: workspace.key() }),
    ]);
  });
  const dist = (i = 0) => path.join(roots[i] as string, 'dist');

  /** A copy of the first build's output, to change. */
  const copyOfOutput = (name: string) => {
    const copy = path.join(workspace.dir(), `${name}-${vite}`);
    fs.cpSync(dist(), copy, { recursive: true });
    return copy;
  };

  test('the manifest covers every file the build wrote, HTML, source maps, assets and public files included', () => {
    const statement = readStatement(path.join(dist(), MANIFEST));
    const written = listFiles(dist()).filter((name) => name !== MANIFEST);
    expect(statement.subject.map((s) => s.name)).toEqual(written);
    for (const subject of statement.subject) {
      expect(subject.digest.sha256).toBe(sha256Hex(fs.readFileSync(path.join(dist(), subject.name))));
    }
    expect(written).toEqual(expect.arrayContaining(['index.html', 'about.html', '.vite/manifest.json', 'robots.txt', 'favicon.svg']));
    const kinds = (pattern: RegExp) => written.filter((name) => pattern.test(name));
    expect(kinds(/^assets\/chart-.*\.js$/)).toHaveLength(1);
    expect(kinds(/^assets\/greeting-.*\.js$/)).toHaveLength(1);
    expect(kinds(/^assets\/.*\.js\.map$/).length).toBeGreaterThanOrEqual(4);
    expect(kinds(/^assets\/.*\.css$/)).toHaveLength(1);
    expect(kinds(/^assets\/pattern-.*\.png$/)).toHaveLength(1);
    expect(kinds(/^assets\/logo-.*\.svg$/)).toHaveLength(1);
    // Signed after Vite's rewriting: the chunks end with their source map comment.
    const main = kinds(/^assets\/main-.*\.js$/)[0] as string;
    expect(fs.readFileSync(path.join(dist(), main), 'utf8')).toMatch(/\/\/# sourceMappingURL=main-.*\.js\.map\s*$/);
  });

  test('the predicate names Vite and its version, the output folder and the file count', () => {
    const statement = readStatement(path.join(dist(), MANIFEST));
    const viteVersion = require(vite === '7' ? 'vite7/package.json' : 'vite/package.json').version as string;
    expect(viteVersion.startsWith(`${vite}.`)).toBe(true);
    expect(statement.predicateType).toBe(MANIFEST_PREDICATE_TYPE);
    expect(statement.predicate).toMatchObject({
      tool: { name: 'signet' },
      bundler: { name: 'vite', version: viteVersion },
      outputDir: 'dist',
      fileCount: statement.subject.length,
    });
  });

  test('signet verify-dir passes on the output, and sha256sum -c on its SHA256SUMS', async () => {
    const result = await verifyDir(dist(), workspace.pub());
    expect(result.status).toBe(0);
    expect(result.stderr).toContain(`Verified OK: ${dist()} (${readStatement(path.join(dist(), MANIFEST)).subject.length} files)`);
    const sums = toolStatus('sha256sum', ['-c', '--strict', '.well-known/signet/SHA256SUMS'], dist());
    expect(sums.status).toBe(0);
  });

  test.each([
    [
      'one changed byte',
      'modified',
      (dir: string): string => {
        const name = listFiles(dir).find((n) => /^assets\/main-.*\.js$/.test(n)) as string;
        const bytes = fs.readFileSync(path.join(dir, name));
        bytes[10] = (bytes[10] as number) ^ 1;
        fs.writeFileSync(path.join(dir, name), bytes);
        return name;
      },
    ],
    [
      'an added file',
      'extra',
      (dir: string): string => {
        fs.writeFileSync(path.join(dir, 'assets', 'evil.js'), 'alert(1)\n');
        return 'assets/evil.js';
      },
    ],
    [
      'a deleted file',
      'missing',
      (dir: string): string => {
        fs.rmSync(path.join(dir, 'about.html'));
        return 'about.html';
      },
    ],
  ] as const)('%s is caught by name', async (label, kind, tamper) => {
    const copy = copyOfOutput(label.replaceAll(' ', '-'));
    expect((await verifyDir(copy, workspace.pub())).status).toBe(0);
    const name = tamper(copy);

    const result = await verifyDir(copy, workspace.pub());
    expect(result.status).toBe(1);
    const error = singleErrorLine(result.stderr);
    expect(error.code).toBe('E_SIGNATURE');
    expect(error.message).toContain(`${kind} ${name}`);

    const json = await verifyDir(copy, workspace.pub(), '--json');
    expect(json.status).toBe(1);
    const report = JSON.parse(json.stdout) as Record<string, unknown>;
    expect(report).toMatchObject({ ok: false, modified: [], extra: [], missing: [], [kind]: [name] });
  });

  test('the same app built twice gives the same subjects', () => {
    const subjects = (i: number) => readStatement(path.join(dist(i), MANIFEST)).subject;
    expect(subjects(1)).toEqual(subjects(0));
    expect(subjects(0).length).toBeGreaterThan(10);
  });

  test("a manifest verifies only the folder it was made for: the app's manifest refuses the library's output", async () => {
    const libDist = path.join(lib, 'dist');
    expect((await verifyDir(libDist, workspace.pub())).status).toBe(0);
    const result = await verifyDir(libDist, workspace.pub(), '--bundle', path.join(dist(), MANIFEST), '--json');
    expect(result.status).toBe(1);
    const report = JSON.parse(result.stdout) as { missing: string[]; extra: string[] };
    expect(report.missing).toEqual(expect.arrayContaining(['index.html', 'about.html']));
    expect(report.extra).toEqual(expect.arrayContaining(['fixture-lib.mjs', 'fixture-lib.umd.js']));
  });

  test('the manifest is not a subject of itself; SHA256SUMS, served like any file, is one, and does not list itself', () => {
    const statement: Statement = readStatement(path.join(dist(), MANIFEST));
    const names = statement.subject.map((s) => s.name);
    expect(names).not.toContain(MANIFEST);
    expect(names).toContain('.well-known/signet/SHA256SUMS');
    const sums = fs.readFileSync(path.join(dist(), '.well-known/signet/SHA256SUMS'), 'utf8');
    expect(sums).not.toContain('SHA256SUMS');
    expect(sums.trim().split('\n')).toHaveLength(names.length - 1);
  });
});
