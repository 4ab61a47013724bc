// A registry on 127.0.0.1 for installing Signet's packages as users do (`npm install -g
// @signet/cli`) without leaving the machine. It serves the tarballs the test packed and, for
// their dependencies, exactly the package versions the monorepo's package-lock.json pins, read
// from npm's cache by their integrity: the bytes the public registry served to `npm ci`. npm
// resolves against it as it would against registry.npmjs.org; what it asks for and the
// lockfile does not pin is a 404 the install reports.
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { type Manifest, npmEnv, ROOT } from './published';

interface Version {
  manifest: Manifest;
  integrity: string;
  /** Where the tarball's bytes are. */
  file: string;
}

export interface RegistryMirror {
  /** http://127.0.0.1:PORT/ */
  url: string;
  /** Serves a packed tarball as NAME@VERSION (its package.json is the folder's). */
  add(manifest: Manifest, tarball: string): void;
  /** Names npm asked for that the mirror does not have. */
  misses: string[];
  stop(): Promise<void>;
}

export async function startRegistryMirror(): Promise<RegistryMirror> {
  const packages = pinnedVersions();
  const misses: string[] = [];
  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const tarball = /^\/-\/tarball\/(.+)\/([^/]+)\.tgz$/.exec(url.pathname);
    if (tarball) {
      const version = packages.get(decodeURIComponent(tarball[1] as string))?.get(tarball[2] as string);
      if (!version) return notFound(response, url.pathname);
      response.writeHead(200, { 'content-type': 'application/octet-stream' });
      fs.createReadStream(version.file).pipe(response);
      return;
    }
    const name = decodeURIComponent(url.pathname.slice(1));
    const versions = packages.get(name);
    if (!versions) {
      misses.push(name);
      return notFound(response, name);
    }
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify(packument(name, versions, address())));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = () => `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return {
    url: address(),
    misses,
    add(manifest, file) {
      const integrity = `sha512-${crypto.createHash('sha512').update(fs.readFileSync(file)).digest('base64')}`;
      const versions = packages.get(manifest.name) ?? new Map<string, Version>();
      versions.set(manifest.version, { manifest, integrity, file });
      packages.set(manifest.name, versions);
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function notFound(response: http.ServerResponse, what: string): void {
  response.writeHead(404, { 'content-type': 'application/json' });
  response.end(JSON.stringify({ error: `${what} is not pinned by the monorepo's package-lock.json` }));
}

function packument(name: string, versions: Map<string, Version>, url: string) {
  const sorted = [...versions.keys()].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  return {
    name,
    'dist-tags': { latest: sorted[sorted.length - 1] },
    versions: Object.fromEntries(
      [...versions].map(([version, { manifest, integrity }]) => [
        version,
        {
          ...manifest,
          _id: `${name}@${version}`,
          dist: { integrity, tarball: `${url}-/tarball/${encodeURIComponent(name)}/${version}.tgz` },
        },
      ]),
    ),
  };
}

/**
 * Every registry package of the monorepo's lockfile that is installed here (a platform's
 * optional binary for another platform is not), with its installed package.json as the
 * manifest and its tarball in npm's content-addressed cache.
 */
function pinnedVersions(): Map<string, Map<string, Version>> {
  const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { version?: string; integrity?: string; link?: boolean }>;
  };
  const content = path.join(npmCache(), '_cacache', 'content-v2');
  const packages = new Map<string, Map<string, Version>>();
  for (const [location, entry] of Object.entries(lock.packages)) {
    if (!location.includes('node_modules/') || entry.link || !entry.integrity || !entry.version) continue;
    const manifestFile = path.join(ROOT, location, 'package.json');
    if (!fs.existsSync(manifestFile)) continue;
    const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as Manifest;
    const [algorithm, base64] = (entry.integrity.split(/\s+/)[0] as string).split('-', 2) as [string, string];
    const hex = Buffer.from(base64, 'base64').toString('hex');
    const file = path.join(content, algorithm, hex.slice(0, 2), hex.slice(2, 4), hex.slice(4));
    if (!fs.existsSync(file)) continue;
    const versions = packages.get(manifest.name) ?? new Map<string, Version>();
    versions.set(entry.version, { manifest, integrity: entry.integrity, file });
    packages.set(manifest.name, versions);
  }
  return packages;
}

/** Where `npm ci` put the tarballs: npm's configured cache (the npm_* variables of `npm test` left out, as they name a workspace). */
function npmCache(): string {
  const result = spawnSync('npm', ['config', 'get', 'cache'], { cwd: ROOT, env: npmEnv(), encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`npm config get cache failed: ${result.stderr}`);
  return result.stdout.trim();
}
