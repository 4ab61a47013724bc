// Proves the Verdaccio harness the npm tests stand on: the real npm CLI publishes to it and
// reads from it, and what it serves matches the bytes it keeps on disk.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type LocalRegistry, makePackage, npm, publishPackage, startRegistry } from './support/verdaccio';

const PACKAGES = [
  { name: '@signet-test/hello', version: '1.0.0' },
  { name: 'signet-test-plain', version: '2.3.4' },
] as const;

interface Packument {
  versions: Record<string, { dist: { integrity: string; tarball: string } }>;
}

let registry: LocalRegistry;
let work: string;

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-verdaccio-test-'));
  registry = await startRegistry();
}, 60_000);

afterAll(async () => {
  await registry?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

describe('local Verdaccio registry', () => {
  it('serves on 127.0.0.1 with a publish token and no uplink', async () => {
    expect(registry.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    // With an uplink this would be a proxied packument (or a network-guard failure).
    expect((await fetch(new URL('lodash', registry.url))).status).toBe(404);
    expect(registry.token).not.toBe('');
    expect(fs.readFileSync(registry.npmrc(work), 'utf8')).toContain(`//${new URL(registry.url).host}/:_authToken=${registry.token}`);
  });

  it.each(PACKAGES)(
    'publishes $name with the real npm CLI and serves it back intact',
    async ({ name, version }) => {
      const published = await publishPackage(registry, makePackage(work, { name, version }));
      expect(published).toMatchObject({ status: 0 });

      const packument = (await (await fetch(new URL(name.replace('/', '%2f'), registry.url))).json()) as Packument;
      const dist = packument.versions[version]?.dist;
      if (!dist) throw new Error(`the packument lacks ${version}: ${JSON.stringify(packument)}`);
      const { integrity, tarball } = dist;
      expect(new URL(tarball).hostname).toBe('127.0.0.1');
      const bytes = Buffer.from(await (await fetch(tarball)).arrayBuffer());
      expect(integrity).toBe(`sha512-${createHash('sha512').update(bytes).digest('base64')}`);
      expect(fs.readFileSync(registry.tarballPath(name, version)).equals(bytes)).toBe(true);

      const env = registry.npmEnv(work);
      const view = await npm(['view', `${name}@${version}`, 'dist.integrity'], { cwd: work, env });
      expect(view).toMatchObject({ status: 0 });
      expect(view.stdout.trim()).toBe(integrity);

      const pack = await npm(['pack', `${name}@${version}`, '--json', '--pack-destination', work], { cwd: work, env });
      expect(pack).toMatchObject({ status: 0 });
      const [packed] = JSON.parse(pack.stdout) as [{ filename: string; integrity: string }];
      expect(packed.integrity).toBe(integrity);
      expect(fs.readFileSync(path.join(work, packed.filename)).equals(bytes)).toBe(true);
    },
    120_000,
  );

  it('refuses a second publish of the same version', async () => {
    const { name, version } = PACKAGES[0];
    const again = await publishPackage(registry, makePackage(work, { name, version, files: { 'extra.js': '// changed\n' } }));
    expect(again.status).not.toBe(0);
    expect(again.stderr).toMatch(/E409|cannot publish over|already present/i);
  }, 120_000);

  it('stop() removes the storage', async () => {
    const { storage, home } = registry;
    expect(fs.existsSync(storage)).toBe(true);
    await registry.stop();
    expect(fs.existsSync(storage)).toBe(false);
    expect(fs.existsSync(home)).toBe(false);
    // A second start gets a fresh, empty registry; afterAll stops it.
    registry = await startRegistry();
    expect(fs.readdirSync(registry.storage).filter((entry) => !entry.startsWith('.'))).toEqual([]);
  }, 60_000);
});
