import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { lockedPackages } from '../src';

const INTEGRITY = `sha512-${Buffer.alloc(64, 1).toString('base64')}`;

function lockfile(packages: Record<string, unknown>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-lockfile-'));
  const file = path.join(dir, 'package-lock.json');
  fs.writeFileSync(file, JSON.stringify({ name: 'app', lockfileVersion: 3, packages: { '': { name: 'app' }, ...packages } }));
  return file;
}

describe('lockedPackages', () => {
  it('leaves nothing npm ci installs out: registry packages to verify, everything else with its reason', async () => {
    const file = lockfile({
      'node_modules/a': { version: '1.0.0', resolved: 'https://registry.npmjs.org/a/-/a-1.0.0.tgz', integrity: INTEGRITY },
      // npm's omit-lockfile-registry-resolved: fetched by name and version from the registry.
      'node_modules/no-resolved': { version: '2.0.0', integrity: INTEGRITY },
      'node_modules/alias': {
        name: 'real-name',
        version: '3.0.0',
        resolved: 'https://registry.npmjs.org/real-name/-/real-name-3.0.0.tgz',
        integrity: INTEGRITY,
      },
      'node_modules/from-git': { version: '1.0.0', resolved: 'git+ssh://git@github.com/o/r.git#abc', integrity: INTEGRITY },
      'node_modules/from-file': { version: '1.0.0', resolved: 'file:../vendor/x.tgz', integrity: INTEGRITY },
      'node_modules/workspace': { resolved: 'packages/workspace', link: true },
      'node_modules/a/node_modules/bundled': { version: '1.0.0', inBundle: true },
      'node_modules/no-integrity': { version: '1.0.0', resolved: 'https://registry.npmjs.org/no-integrity/-/no-integrity-1.0.0.tgz' },
      'node_modules/no-version': { resolved: 'https://registry.npmjs.org/x.tgz', integrity: INTEGRITY },
      'packages/workspace': { name: 'workspace', version: '0.0.0' },
    });
    const { registry, unverifiable } = await lockedPackages(file);
    expect(registry.map((p) => `${p.name}@${p.version}`)).toEqual(['a@1.0.0', 'no-resolved@2.0.0', 'real-name@3.0.0']);
    expect(Object.fromEntries(unverifiable.map((p) => [p.location, p.reason]))).toEqual({
      'node_modules/a/node_modules/bundled': expect.stringContaining('bundled dependency'),
      'node_modules/from-file': expect.stringContaining('a local file or folder'),
      'node_modules/from-git': expect.stringContaining('git'),
      'node_modules/no-integrity': expect.stringContaining('no integrity'),
      'node_modules/no-version': expect.stringContaining('no version'),
      'node_modules/workspace': expect.stringContaining('workspace package'),
    });
  });

  it('keeps every pinned integrity of one version: a duplicate entry cannot hide the one npm ci installs', async () => {
    const evil = `sha512-${Buffer.alloc(64, 2).toString('base64')}`;
    const file = lockfile({
      'node_modules/pkg-a': { version: '1.0.0', resolved: 'https://evil.example/evil.tgz', integrity: evil },
      'node_modules/other/node_modules/pkg-a': {
        version: '1.0.0',
        resolved: 'https://registry.npmjs.org/pkg-a/-/pkg-a-1.0.0.tgz',
        integrity: INTEGRITY,
      },
      'node_modules/third/node_modules/pkg-a': {
        version: '1.0.0',
        resolved: 'https://registry.npmjs.org/pkg-a/-/pkg-a-1.0.0.tgz',
        integrity: INTEGRITY,
      },
    });
    const { registry } = await lockedPackages(file);
    expect(registry.map((p) => p.integrity).sort()).toEqual([evil, INTEGRITY].sort());
  });

  it('refuses what is not a v2 or v3 package-lock.json, and a FIFO, without hanging', async () => {
    const v1 = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'signet-lockfile-')), 'package-lock.json');
    fs.writeFileSync(v1, JSON.stringify({ lockfileVersion: 1, dependencies: {} }));
    await expect(lockedPackages(v1)).rejects.toMatchObject({ code: 'E_INPUT', message: expect.stringContaining('lockfileVersion 2 or 3') });
    fs.writeFileSync(v1, 'null');
    await expect(lockedPackages(v1)).rejects.toMatchObject({ code: 'E_INPUT' });
    const fifo = path.join(path.dirname(v1), 'fifo.json');
    require('node:child_process').execFileSync('mkfifo', [fifo]);
    await expect(lockedPackages(fifo)).rejects.toMatchObject({ code: 'E_INPUT', message: expect.stringContaining('FIFO') });
  });
});
