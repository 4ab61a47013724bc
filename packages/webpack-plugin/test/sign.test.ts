// Real production builds of the fixture app, checked with the real `signet verify-dir`.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { singleErrorLine, tool } from '@signet/test-support';
import {
  type BuildResult,
  build,
  copyOf,
  FIXTURE_APP,
  filesIn,
  MANIFEST,
  makeKey,
  statementOf,
  useFileTempDir,
  verifyDir,
} from './support/builds';

const tmp = useFileTempDir();
let pub: string;
let key: string;
type Name = 'main' | 'again' | 'query' | 'child' | 'options' | 'provenance' | 'late' | 'broken';
const builds: Record<Name, Promise<BuildResult>> = {} as never;
const out = (name: Name) => path.join(tmp(), name);

beforeAll(() => {
  ({ key, pub } = makeKey(tmp()));
  const counting = `counting:${key}`;
  // Independent builds, started together; each test awaits the one it checks.
  builds.main = build({ fixture: FIXTURE_APP, outDir: out('main'), signet: { key: counting } });
  builds.again = build({ fixture: FIXTURE_APP, outDir: out('again'), signet: { key } });
  builds.query = build({ fixture: FIXTURE_APP, outDir: out('query'), signet: { key }, filename: '[name].js?v=[contenthash]' });
  builds.child = build({ fixture: FIXTURE_APP, outDir: out('child'), signet: { key: counting }, childCompilerWithPlugin: true });
  builds.options = build({
    fixture: FIXTURE_APP,
    outDir: out('options'),
    signet: { key, output: 'signet/build.sigstore.json', sha256sums: true, exclude: ['**/*.map'] },
  });
  builds.provenance = build({ fixture: FIXTURE_APP, outDir: out('provenance'), signet: { key, provenance: true } });
  builds.late = build({ fixture: FIXTURE_APP, outDir: out('late'), signet: { key }, lateAsset: true });
  builds.broken = build({ fixture: FIXTURE_APP, outDir: out('broken'), signet: { key: counting }, brokenEntry: true });
});

async function succeeded(name: Name): Promise<BuildResult> {
  const result = await builds[name];
  expect({ status: result.status, errors: result.report.errors, warnings: result.report.warnings }).toEqual({
    status: 0,
    errors: [],
    warnings: [],
  });
  return result;
}

describe('a production build', () => {
  it('is signed whole: every emitted file, HTML and source maps included, and verify-dir passes', async () => {
    await succeeded('main');
    const files = filesIn(out('main'));
    const subjects = statementOf(path.join(out('main'), MANIFEST)).subject.map((s) => s.name);
    expect(subjects).toEqual(files.filter((name) => name !== MANIFEST));
    // What the fixture makes: two pages, two entries, a lazily loaded chunk, CSS, images, source maps.
    for (const pattern of [
      /^index\.html$/,
      /^about\.html$/,
      /^home\.[0-9a-f]{20}\.js$/,
      /^home\.[0-9a-f]{20}\.js\.map$/,
      /^about\.[0-9a-f]{20}\.js$/,
      /^home\.[0-9a-f]{20}\.css$/,
      /^chunks\/\d+\.[0-9a-f]{20}\.js$/,
      /^chunks\/\d+\.[0-9a-f]{20}\.css$/,
      /^assets\/pattern\.[0-9a-f]{20}\.png$/,
      /^assets\/logo\.[0-9a-f]{20}\.svg$/,
    ]) {
      expect(subjects.filter((name) => pattern.test(name))).toHaveLength(1);
    }
    for (const subject of statementOf(path.join(out('main'), MANIFEST)).subject) {
      const bytes = fs.readFileSync(path.join(out('main'), subject.name));
      expect(subject.digest.sha256).toBe(crypto.createHash('sha256').update(bytes).digest('hex'));
    }

    const verified = await verifyDir(out('main'), pub, ['--json']);
    expect(verified.status).toBe(0);
    expect(JSON.parse(verified.stdout)).toMatchObject({ ok: true, files: subjects.length, allowedExtra: [] });
  });

  it('makes one signature with one signer, however many files', async () => {
    const { report } = await succeeded('main');
    expect(filesIn(out('main')).length).toBeGreaterThan(10);
    expect({ opened: report.opened, signatures: report.signatures }).toEqual({ opened: 1, signatures: 1 });
  });

  it("names webpack and its version, and the output folder relative to the project root, in the manifest's predicate", async () => {
    await succeeded('main');
    const statement = statementOf(path.join(out('main'), MANIFEST));
    expect(statement.predicateType).toBe('https://signet.dev/manifest/v1');
    expect(statement.predicate).toMatchObject({
      tool: { name: 'signet' },
      bundler: { name: 'webpack', version: (require('webpack/package.json') as { version: string }).version },
      outputDir: path.relative(FIXTURE_APP, out('main')).split(path.sep).join('/'),
      fileCount: statement.subject.length,
    });
  });

  it('gives the same subjects when the same app is built twice', async () => {
    await succeeded('main');
    await succeeded('again');
    const first = statementOf(path.join(out('main'), MANIFEST)).subject;
    expect(statementOf(path.join(out('again'), MANIFEST)).subject).toEqual(first);
    expect(first.length).toBeGreaterThan(10);
  });

  it('names each file as written: without the query string of a cache-busting file name', async () => {
    await succeeded('query');
    const subjects = statementOf(path.join(out('query'), MANIFEST)).subject.map((s) => s.name);
    expect(subjects).toEqual(expect.arrayContaining(['home.js', 'about.js', 'home.js.map']));
    expect(subjects.filter((name) => name.includes('?'))).toEqual([]);
    expect(fs.readFileSync(path.join(out('query'), 'index.html'), 'utf8')).toMatch(/home\.js\?v=[0-9a-f]{20}/);
    expect((await verifyDir(out('query'), pub)).status).toBe(0);
  });
});

describe('a signed output, changed after the build', () => {
  /** A copy of the main build's output, changed, and verify-dir's one-line error and JSON report for it. */
  async function tampered(label: string, change: (dir: string) => void) {
    await succeeded('main');
    const dir = copyOf(out('main'), path.join(tmp(), `tampered-${label}`));
    change(dir);
    const [line, json] = await Promise.all([verifyDir(dir, pub), verifyDir(dir, pub, ['--json'])]);
    expect({ line: line.status, json: json.status }).toEqual({ line: 1, json: 1 });
    return { message: singleErrorLine(line.stderr).message, report: JSON.parse(json.stdout) as Record<string, unknown> };
  }

  it('fails on one changed byte, naming the file', async () => {
    await succeeded('main');
    const name = filesIn(out('main')).find((file) => /^home\.[0-9a-f]{20}\.js$/.test(file)) as string;
    const { message, report } = await tampered('byte', (dir) => {
      const bytes = fs.readFileSync(path.join(dir, name));
      const middle = bytes.length >> 1;
      bytes.writeUInt8(bytes.readUInt8(middle) ^ 0x01, middle);
      fs.writeFileSync(path.join(dir, name), bytes);
    });
    expect(message).toMatch(new RegExp(`: modified ${name.replaceAll('.', '\\.')}$`));
    expect(report).toMatchObject({ ok: false, modified: [name], extra: [], missing: [] });
  });

  it('fails on an added file, naming it', async () => {
    const { message, report } = await tampered('added', (dir) => fs.writeFileSync(path.join(dir, 'chunks', 'evil.js'), 'steal()\n'));
    expect(message).toMatch(/: extra chunks\/evil\.js$/);
    expect(report).toMatchObject({ ok: false, modified: [], extra: ['chunks/evil.js'], missing: [] });
  });

  it('fails on a deleted file, naming it', async () => {
    const { message, report } = await tampered('deleted', (dir) => fs.rmSync(path.join(dir, 'about.html')));
    expect(message).toMatch(/: missing about\.html$/);
    expect(report).toMatchObject({ ok: false, modified: [], extra: [], missing: ['about.html'] });
  });

  it('verifies only the folder it was made for', async () => {
    await succeeded('main');
    const parent = path.join(tmp(), 'parent');
    copyOf(out('main'), path.join(parent, 'site'));
    const result = await verifyDir(parent, pub, ['--bundle', path.join(parent, 'site', MANIFEST), '--json']);
    expect(result.status).toBe(1);
    const report = JSON.parse(result.stdout) as { missing: string[]; extra: string[] };
    expect(report.missing).toContain('index.html');
    expect(report.extra).toContain('site/index.html');
  });
});

describe('child compilations', () => {
  it("are not signed on their own: html-webpack-plugin's leave one manifest, in the main output", async () => {
    await succeeded('main');
    expect(filesIn(out('main')).filter((name) => name.endsWith('.sigstore.json'))).toEqual([MANIFEST]);
  });

  it('are skipped when a child compiler is handed the plugin itself; their files are in the main manifest', async () => {
    const { report } = await succeeded('child');
    expect({ opened: report.opened, signatures: report.signatures }).toEqual({ opened: 1, signatures: 1 });
    expect(filesIn(out('child')).filter((name) => name.endsWith('.sigstore.json'))).toEqual([MANIFEST]);
    expect(statementOf(path.join(out('child'), MANIFEST)).subject.map((s) => s.name)).toContain('child/about.js');
    expect((await verifyDir(out('child'), pub)).status).toBe(0);
  });
});

describe('options', () => {
  it('output, sha256sums and exclude: the bundle where asked, SHA256SUMS beside it, excluded files left out', async () => {
    await succeeded('options');
    const dir = out('options');
    const files = filesIn(dir);
    expect(files).toContain('signet/build.sigstore.json');
    expect(files).toContain('signet/SHA256SUMS');
    expect(files).not.toContain(MANIFEST);
    const maps = files.filter((name) => name.endsWith('.map'));
    expect(maps.length).toBeGreaterThan(0);
    const signed = statementOf(path.join(dir, 'signet/build.sigstore.json')).subject.map((s) => s.name);
    // SHA256SUMS is signed too: it is served like any file.
    expect(signed).toEqual(files.filter((name) => !name.endsWith('.map') && name !== 'signet/build.sigstore.json'));

    // sha256sum itself agrees with the list, which lists the build's files (not itself).
    const checked = tool('sha256sum', ['--check', '--strict', 'signet/SHA256SUMS'], dir);
    expect(checked.trim().split('\n')).toEqual(signed.filter((name) => name !== 'signet/SHA256SUMS').map((name) => `${name}: OK`));

    const bundle = ['--bundle', path.join(dir, 'signet/build.sigstore.json')];
    const strict = await verifyDir(dir, pub, [...bundle, '--json']);
    expect(strict.status).toBe(1);
    expect((JSON.parse(strict.stdout) as { extra: string[] }).extra).toEqual(maps);
    expect((await verifyDir(dir, pub, [...bundle, '--allow-extra', '**/*.map'])).status).toBe(0);
  });

  it('provenance: SLSA provenance v1 with the lockfile among the resolved dependencies, and verify-dir passes', async () => {
    await succeeded('provenance');
    const statement = statementOf(path.join(out('provenance'), MANIFEST));
    expect(statement.predicateType).toBe('https://slsa.dev/provenance/v1');
    const lockfile = path.resolve(__dirname, '../../../package-lock.json');
    const digest = crypto.createHash('sha256').update(fs.readFileSync(lockfile)).digest('hex');
    expect(statement.predicate).toMatchObject({
      buildDefinition: {
        externalParameters: { bundler: { name: 'webpack' } },
        resolvedDependencies: [
          { uri: `file:${path.relative(FIXTURE_APP, lockfile).split(path.sep).join('/')}`, digest: { sha256: digest } },
        ],
      },
    });
    expect((await verifyDir(out('provenance'), pub)).status).toBe(0);
  });
});

describe('a build that does not end as signed', () => {
  it('fails when a plugin changes files after signing, naming them, and writes nothing', async () => {
    const { status, report } = await builds.late;
    expect(status).toBe(1);
    expect(report.errors).toHaveLength(1);
    expect(report.errors[0]?.webpackError).toBe(true);
    expect(report.errors[0]?.message).toMatch(/^SignetWebpackPlugin: E_INPUT: about\.html, late\.txt changed after the build was signed/);
    expect(filesIn(out('late'))).toEqual([]);
  });

  it('is not signed when the build itself failed', async () => {
    const { status, report } = await builds.broken;
    expect(status).toBe(1);
    expect(report.errors.map((error) => error.message)).toEqual([expect.stringMatching(/^Module not found: .*missing\.js/)]);
    expect({ opened: report.opened, signatures: report.signatures }).toEqual({ opened: 0, signatures: 0 });
    expect(filesIn(out('broken'))).toEqual([]);
  });
});
