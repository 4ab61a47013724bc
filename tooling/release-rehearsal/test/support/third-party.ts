// The third-party packages a consumer's `npm install @signet/cli` needs, served by the local
// registry without the internet: the exact tarballs the repository's own `npm ci` put in npm's
// cache (found by the lockfile's integrity, and checked against it), published to Verdaccio
// through its real publish API, as `npm publish` sends them.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import semver from 'semver';

export interface LockedRelease {
  name: string;
  version: string;
  integrity: string;
  /** Where the lockfile installs it (node_modules/a/node_modules/b). */
  location: string;
  optional: boolean;
}

interface LockEntry {
  name?: string;
  version?: string;
  integrity?: string;
  link?: boolean;
  resolved?: string;
  optional?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

/**
 * The registry packages installed with the workspace packages at LOCATIONS (`packages/cli`):
 * their dependencies (production, optional and required peers), transitively, where the lockfile
 * resolves each one (node_modules lookup upward from the dependent). Workspace links are followed
 * into their own dependencies and not listed: they are the packages being released.
 */
export function dependencyClosure(lockfilePath: string, locations: string[]): LockedRelease[] {
  const entries = (JSON.parse(fs.readFileSync(lockfilePath, 'utf8')) as { packages: Record<string, LockEntry> }).packages;
  const resolve = (from: string, dependency: string): string | undefined => {
    for (let base = from; ; ) {
      const candidate = `${base ? `${base}/` : ''}node_modules/${dependency}`;
      if (entries[candidate]) return candidate;
      if (!base) return undefined;
      const nested = base.lastIndexOf('/node_modules/');
      base = nested >= 0 ? base.slice(0, nested) : '';
    }
  };
  const releases = new Map<string, LockedRelease>();
  const seen = new Set<string>();
  const queue = [...locations];
  for (let location = queue.pop(); location !== undefined; location = queue.pop()) {
    if (seen.has(location)) continue;
    seen.add(location);
    const entry = entries[location];
    if (!entry) throw new Error(`the lockfile has no entry ${location}`);
    const names = new Set([...Object.keys(entry.dependencies ?? {}), ...Object.keys(entry.optionalDependencies ?? {})]);
    for (const peer of Object.keys(entry.peerDependencies ?? {})) if (!entry.peerDependenciesMeta?.[peer]?.optional) names.add(peer);
    for (const name of names) {
      const found = resolve(location, name);
      if (!found) {
        if (entry.optionalDependencies?.[name]) continue;
        throw new Error(`the lockfile does not install ${name}, a dependency of ${location}`);
      }
      const dependency = entries[found] as LockEntry;
      if (dependency.link) {
        if (!dependency.resolved) throw new Error(`the lockfile's link ${found} names no target`);
        queue.push(dependency.resolved);
        continue;
      }
      if (!dependency.version || !dependency.integrity) throw new Error(`the lockfile's ${found} has no version or integrity`);
      releases.set(found, {
        name: dependency.name ?? found.slice(found.lastIndexOf('node_modules/') + 'node_modules/'.length),
        version: dependency.version,
        integrity: dependency.integrity,
        location: found,
        optional: dependency.optional === true,
      });
      queue.push(found);
    }
  }
  return [...releases.values()];
}

/** The tarball with this integrity in npm's cache (cacache stores content under its hash), or undefined. */
export function cachedTarball(cacheDir: string, integrity: string): Buffer | undefined {
  const [algorithm, base64] = integrity.split(' ')[0]?.split(/-(.*)/s) ?? [];
  if (!algorithm || !base64) throw new Error(`not an integrity: ${integrity}`);
  const hex = Buffer.from(base64, 'base64').toString('hex');
  const file = path.join(cacheDir, '_cacache', 'content-v2', algorithm, hex.slice(0, 2), hex.slice(2, 4), hex.slice(4));
  if (!fs.existsSync(file)) return undefined;
  const bytes = fs.readFileSync(file);
  if (crypto.createHash(algorithm).update(bytes).digest('base64') !== base64) throw new Error(`${file} does not match ${integrity}`);
  return bytes;
}

/** package.json of a package tarball (its one top-level folder is usually `package/`). */
export function tarballManifest(tarball: Buffer): Record<string, unknown> {
  const tar = zlib.gunzipSync(tarball);
  let longName: string | undefined;
  for (let offset = 0; offset + 512 <= tar.length; ) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((byte) => byte === 0)) break;
    const field = (start: number, length: number) =>
      header
        .subarray(start, start + length)
        .toString('utf8')
        .replace(/\0.*$/s, '');
    const size = Number.parseInt(field(124, 12).trim() || '0', 8);
    const type = field(156, 1);
    const body = tar.subarray(offset + 512, offset + 512 + size);
    offset += 512 + Math.ceil(size / 512) * 512;
    if (type === 'x') {
      // A pax header: its `path` record names the next entry.
      longName = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(body.toString('utf8'))?.[1];
      continue;
    }
    const prefix = field(345, 155);
    const name = longName ?? (prefix ? `${prefix}/${field(0, 100)}` : field(0, 100));
    longName = undefined;
    if ((type === '0' || type === '') && /^[^/]+\/package\.json$/.test(name)) return JSON.parse(body.toString('utf8'));
  }
  throw new Error('the tarball has no package.json at its top level');
}

/**
 * Publishes a tarball to REGISTRY as `npm publish` does (one PUT of the packument with the
 * tarball attached), leaving the bytes untouched: the registry's dist.integrity is theirs.
 */
export async function publishTarball(registry: { url: string; token: string }, tarball: Buffer, tag = 'latest'): Promise<void> {
  const manifest = tarballManifest(tarball);
  const name = String(manifest.name);
  const version = String(manifest.version);
  const filename = `${name.split('/').pop()}-${version}.tgz`;
  const body = {
    _id: name,
    name,
    'dist-tags': { [tag]: version },
    versions: {
      [version]: {
        ...manifest,
        _id: `${name}@${version}`,
        dist: {
          integrity: `sha512-${crypto.createHash('sha512').update(tarball).digest('base64')}`,
          shasum: crypto.createHash('sha1').update(tarball).digest('hex'),
          tarball: new URL(`${name}/-/${filename}`, registry.url).href,
        },
      },
    },
    _attachments: { [filename]: { content_type: 'application/octet-stream', data: tarball.toString('base64'), length: tarball.length } },
  };
  const response = await fetch(new URL(name.replace('/', '%2f'), registry.url), {
    method: 'PUT',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${registry.token}` },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`the registry refused ${name}@${version}: ${response.status} ${await response.text()}`);
}

/**
 * Publishes RELEASES from npm's cache to the registry: the versions of one name in ascending
 * order (the last one `latest`), names in parallel. A release missing from the cache fails,
 * unless it is an optional dependency (a platform's binary npm never fetched here).
 */
export async function mirrorFromCache(
  registry: { url: string; token: string },
  releases: LockedRelease[],
  cacheDir: string,
): Promise<LockedRelease[]> {
  const byName = new Map<string, LockedRelease[]>();
  for (const release of releases) {
    const versions = byName.get(release.name) ?? [];
    if (!versions.some((known) => known.version === release.version)) versions.push(release);
    byName.set(release.name, versions);
  }
  const published: LockedRelease[] = [];
  const names = [...byName.keys()];
  const worker = async () => {
    for (let name = names.pop(); name !== undefined; name = names.pop()) {
      const versions = (byName.get(name) ?? []).sort((a, b) => semver.compare(a.version, b.version));
      for (const [i, release] of versions.entries()) {
        const tarball = cachedTarball(cacheDir, release.integrity);
        if (!tarball) {
          if (release.optional) continue;
          throw new Error(`${release.name}@${release.version} is not in npm's cache (${cacheDir}): run npm ci first`);
        }
        await publishTarball(registry, tarball, i === versions.length - 1 ? 'latest' : `v${release.version}`);
        published.push(release);
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return published;
}
