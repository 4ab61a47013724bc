// What every published package.json says and every tarball holds, as npm packs them.
import fs from 'node:fs';
import path from 'node:path';
import { type Manifest, packedFiles, publishedPackages, ROOT } from './support/published';

const root = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as Manifest & {
  repository: { url: string };
  bugs: { url: string };
};
const license = fs.readFileSync(path.join(ROOT, 'LICENSE'), 'utf8');
const packages = publishedPackages();

test('the repository has the Apache-2.0 license text at its root', () => {
  expect(root.license).toBe('Apache-2.0');
  expect(license).toMatch(/^\s*Apache License\s+Version 2\.0, January 2004\s+http:\/\/www\.apache\.org\/licenses\/\s/);
  expect(license).toContain('END OF TERMS AND CONDITIONS');
  expect(root.repository.url).toMatch(/^git\+https:\/\/github\.com\/[^/]+\/[^/]+\.git$/);
});

test('there are packages to check', () => {
  expect(packages.map((pkg) => pkg.name)).toEqual(expect.arrayContaining(['@signet/cli', '@signet/core', '@signet/lambda']));
});

describe.each(packages.map((pkg) => [pkg.name, pkg] as const))('%s', (_name, pkg) => {
  test('ships the license: LICENSE in its tarball, the root text', () => {
    expect(packedFiles(pkg.dir).map((file) => file.path)).toContain('LICENSE');
    expect(fs.readFileSync(path.join(pkg.dir, 'LICENSE'), 'utf8')).toBe(license);
    expect(pkg.manifest.license).toBe('Apache-2.0');
  });

  test('names its repository folder, homepage and issue tracker', () => {
    const directory = path.relative(ROOT, pkg.dir).split(path.sep).join('/');
    const web = root.repository.url.replace(/^git\+/, '').replace(/\.git$/, '');
    expect(pkg.manifest.repository).toEqual({ type: 'git', url: root.repository.url, directory });
    expect(pkg.manifest.homepage).toBe(`${web}/tree/main/${directory}#readme`);
    expect(pkg.manifest.bugs).toEqual({ url: root.bugs.url });
  });

  test('publishes publicly, with npm provenance', () => {
    expect(pkg.manifest.publishConfig).toEqual({ access: 'public', provenance: true });
  });

  test('builds itself when packed, so a publish never ships a stale dist/', () => {
    const scripts = pkg.manifest.scripts as Record<string, string>;
    expect(scripts.prepack).toBe('npm run build');
    expect(scripts.build).toEqual(expect.any(String));
  });
});
