// Real builds in the other modes: development, a failing key (both ways), real content
// hashes on and off, and watch mode with a source edit.
import fs from 'node:fs';
import path from 'node:path';
import { PASSWORD } from '@signet/test-support';
import {
  type BuildResult,
  build,
  FIXTURE_APP,
  filesIn,
  MANIFEST,
  makeKey,
  statementOf,
  useFileTempDir,
  verifyDir,
  watch,
} from './support/builds';

const tmp = useFileTempDir();
let pub: string;
let key: string;
type Name = 'development' | 'developmentEnabled' | 'disabled' | 'badKey' | 'badKeyWarns' | 'noKey' | 'realHashOn' | 'realHashOff';
const builds: Record<Name, Promise<BuildResult>> = {} as never;
const out = (name: Name) => path.join(tmp(), name);
const WRONG_PASSWORD = 'not the passphrase';

beforeAll(() => {
  ({ key, pub } = makeKey(tmp()));
  const counting = `counting:${key}`;
  const fixture = FIXTURE_APP;
  builds.development = build({ fixture, outDir: out('development'), mode: 'development', signet: { key: counting } });
  builds.developmentEnabled = build({ fixture, outDir: out('developmentEnabled'), mode: 'development', signet: { key, enabled: true } });
  builds.disabled = build({ fixture, outDir: out('disabled'), signet: { key: counting, enabled: false } });
  builds.badKey = build({ fixture, outDir: out('badKey'), signet: { key } }, { SIGNET_PASSWORD: WRONG_PASSWORD });
  builds.badKeyWarns = build(
    { fixture, outDir: out('badKeyWarns'), signet: { key, failOnError: false } },
    { SIGNET_PASSWORD: WRONG_PASSWORD },
  );
  builds.noKey = build({ fixture, outDir: out('noKey'), signet: {} as never });
  builds.realHashOn = build({ fixture, outDir: out('realHashOn'), signet: { key }, realContentHash: true });
  builds.realHashOff = build({ fixture, outDir: out('realHashOff'), signet: { key }, realContentHash: false });
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

describe('development mode', () => {
  it('signs nothing and opens no key', async () => {
    const { report } = await succeeded('development');
    expect(filesIn(out('development'))).toContain('index.html');
    expect(filesIn(out('development'))).not.toContain(MANIFEST);
    expect({ opened: report.opened, signatures: report.signatures }).toEqual({ opened: 0, signatures: 0 });
  });

  it('signs when enabled: true', async () => {
    await succeeded('developmentEnabled');
    expect(filesIn(out('developmentEnabled'))).toContain(MANIFEST);
    expect((await verifyDir(out('developmentEnabled'), pub)).status).toBe(0);
  });

  it('enabled: false turns it off in production too', async () => {
    const { report } = await succeeded('disabled');
    expect(filesIn(out('disabled'))).toContain('index.html');
    expect(filesIn(out('disabled'))).not.toContain(MANIFEST);
    expect({ opened: report.opened, signatures: report.signatures }).toEqual({ opened: 0, signatures: 0 });
  });
});

describe('a key that cannot sign', () => {
  it("fails the build with the plugin's name and the error code, and nothing is written", async () => {
    const { status, report, stderr } = await builds.badKey;
    expect(status).toBe(1);
    expect(report.errors).toEqual([{ webpackError: true, message: expect.stringMatching(/^SignetWebpackPlugin: E_KEY: /) }]);
    expect(filesIn(out('badKey'))).toEqual([]);
    expect(JSON.stringify(report) + stderr).not.toContain(WRONG_PASSWORD);
    expect(JSON.stringify(report) + stderr).not.toContain(PASSWORD);
  });

  it('with failOnError: false, warns the same way and the build goes on, unsigned', async () => {
    const { status, report } = await builds.badKeyWarns;
    expect(status).toBe(0);
    expect(report.errors).toEqual([]);
    expect(report.warnings).toEqual([{ webpackError: true, message: expect.stringMatching(/^SignetWebpackPlugin: E_KEY: .*unsigned/) }]);
    expect(filesIn(out('badKeyWarns'))).toContain('index.html');
    expect(filesIn(out('badKeyWarns'))).not.toContain(MANIFEST);
  });

  it('fails the build when no key is given', async () => {
    const { status, report } = await builds.noKey;
    expect(status).toBe(1);
    expect(report.errors).toEqual([{ webpackError: true, message: expect.stringMatching(/^SignetWebpackPlugin: E_USAGE: no key/) }]);
    expect(filesIn(out('noKey'))).toEqual([]);
  });
});

describe('real content hashes', () => {
  it('signs the files as realContentHash renamed and rewrote them; off, the names differ and it verifies too', async () => {
    await succeeded('realHashOn');
    await succeeded('realHashOff');
    const scripts = (name: Name) => filesIn(out(name)).filter((file) => file.endsWith('.js'));
    expect(scripts('realHashOn')).toHaveLength(3);
    expect(scripts('realHashOff')).toHaveLength(3);
    // The option matters in this app: with it, every script's name changed after the chunks were rendered.
    expect(scripts('realHashOn').filter((file) => scripts('realHashOff').includes(file))).toEqual([]);
    for (const name of ['realHashOn', 'realHashOff'] as const) {
      expect(statementOf(path.join(out(name), MANIFEST)).subject.map((s) => s.name)).toEqual(
        filesIn(out(name)).filter((file) => file !== MANIFEST),
      );
      expect((await verifyDir(out(name), pub)).status).toBe(0);
    }
  });
});

describe('watch mode', () => {
  it('re-signs each rebuild: the new manifest verifies the new output, the first one no longer does', async () => {
    // A copy of the app, whose source the test edits; file times kept, so the watcher sees only the edit.
    const app = path.join(tmp(), 'watched-app');
    fs.cpSync(path.join(FIXTURE_APP, 'src'), path.join(app, 'src'), { recursive: true, preserveTimestamps: true });
    const outDir = path.join(tmp(), 'watched');
    const watcher = watch({ fixture: FIXTURE_APP, context: app, outDir, signet: { key: `counting:${key}` } });
    try {
      const first = await watcher.next();
      expect(first.errors).toEqual([]);
      const firstBuild = path.join(tmp(), 'watched-first');
      fs.cpSync(outDir, firstBuild, { recursive: true });
      const firstHome = filesIn(firstBuild).find((file) => /^home\..*\.js$/.test(file)) as string;

      fs.appendFileSync(path.join(app, 'src', 'home.js'), "console.info('rebuilt');\n");
      const rebuilt = await watcher.next((report) => report.hash !== first.hash);
      expect(rebuilt.errors).toEqual([]);
      // Each build opened the key once and signed once: nothing carried over from one to the next.
      expect({ opened: rebuilt.opened, signatures: rebuilt.signatures }).toEqual({ opened: rebuilt.build, signatures: rebuilt.build });

      const home = filesIn(outDir).find((file) => /^home\..*\.js$/.test(file)) as string;
      expect(home).not.toBe(firstHome);
      expect(fs.readFileSync(path.join(outDir, home), 'utf8')).toContain('rebuilt');
      expect((await verifyDir(outDir, pub)).status).toBe(0);

      const stale = await verifyDir(outDir, pub, ['--bundle', path.join(firstBuild, MANIFEST), '--json']);
      expect(stale.status).toBe(1);
      const report = JSON.parse(stale.stdout) as { missing: string[]; extra: string[]; modified: string[] };
      expect(report.missing).toContain(firstHome);
      expect(report.extra).toContain(home);
      expect(report.modified).toContain('index.html');
      // The first manifest still verifies the first build's own copy.
      expect((await verifyDir(firstBuild, pub)).status).toBe(0);
    } finally {
      expect(await watcher.close()).toBe(0);
    }
  });
});
