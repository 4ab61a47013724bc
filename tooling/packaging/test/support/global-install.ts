// `npm install -g` into a folder of its own, from a registry mirror on 127.0.0.1.
import fs from 'node:fs';
import path from 'node:path';
import { npmAsync, npmEnv, pack, publishedPackages } from './published';
import { type RegistryMirror, startRegistryMirror } from './registry-mirror';

export interface GlobalInstall {
  /** npm's --prefix: packages in lib/node_modules, commands in bin. */
  prefix: string;
  mirror: RegistryMirror;
  /** `npm install -g SPECS` into the same prefix. */
  install(...specs: string[]): Promise<void>;
  stop(): Promise<void>;
}

/** Packs every published package, serves them with their pinned dependencies, and installs nothing yet. */
export async function globalInstallFromTarballs(work: string): Promise<GlobalInstall> {
  const mirror = await startRegistryMirror();
  const tarballs = path.join(work, 'tarballs');
  fs.mkdirSync(tarballs);
  for (const pkg of publishedPackages()) mirror.add(pkg.manifest, pack(pkg.dir, tarballs).tarball);
  const prefix = path.join(work, 'global');
  const userconfig = path.join(work, 'npmrc');
  fs.writeFileSync(userconfig, '');
  const env = npmEnv({
    npm_config_registry: mirror.url,
    npm_config_userconfig: userconfig,
    npm_config_cache: path.join(work, 'npm-cache'),
    npm_config_prefix: prefix,
  });
  return {
    prefix,
    mirror,
    async install(...specs) {
      await npmAsync(['install', '--global', ...specs], work, env);
    },
    stop: () => mirror.stop(),
  };
}

/** Every installed package under a node_modules tree, by name (`@scope/name`), and the bytes of all its files. */
export function installedPackages(nodeModules: string): { names: Set<string>; bytes: number } {
  const names = new Set<string>();
  let bytes = 0;
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isFile()) bytes += fs.statSync(full).size;
      if (!entry.isDirectory()) continue;
      const name = packageName(full);
      if (name) names.add(name);
      walk(full);
    }
  };
  walk(nodeModules);
  return { names, bytes };
}

/** `name` for node_modules/name, `@scope/name` for node_modules/@scope/name; undefined for any other folder. */
function packageName(dir: string): string | undefined {
  const parent = path.basename(path.dirname(dir));
  const base = path.basename(dir);
  if (parent === 'node_modules' && !base.startsWith('@')) return base;
  if (parent.startsWith('@') && path.basename(path.dirname(path.dirname(dir))) === 'node_modules') return `${parent}/${base}`;
  return undefined;
}
