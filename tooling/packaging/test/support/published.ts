// The packages Signet publishes, and npm's view of them: what `npm pack` puts in a tarball.
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '../../../..');

export interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  [field: string]: unknown;
}

export interface PublishedPackage {
  name: string;
  dir: string;
  manifest: Manifest;
}

/** Every package under packages/ that is not private: what `changeset publish` publishes. */
export function publishedPackages(): PublishedPackage[] {
  const base = path.join(ROOT, 'packages');
  return fs
    .readdirSync(base)
    .map((name) => path.join(base, name))
    .filter((dir) => fs.existsSync(path.join(dir, 'package.json')))
    .map((dir) => ({ dir, manifest: JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as Manifest }))
    .filter(({ manifest }) => !manifest.private)
    .map(({ dir, manifest }) => ({ name: manifest.name, dir, manifest }));
}

export function publishedPackage(name: string): PublishedPackage {
  const found = publishedPackages().find((pkg) => pkg.name === name);
  if (!found) throw new Error(`${name} is not a published package`);
  return found;
}

/** The environment for a child npm: ours without the npm_* settings `npm test` exports, plus `extra`. */
export function npmEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!/^npm_/i.test(name)) env[name] = value;
  return { ...env, npm_config_update_notifier: 'false', npm_config_audit: 'false', npm_config_fund: 'false', NO_COLOR: '1', ...extra };
}

/** Runs npm and returns its stdout; a failure throws with npm's own words. */
export function npm(args: string[], cwd: string, env: NodeJS.ProcessEnv = npmEnv()): string {
  const result = spawnSync('npm', args, { cwd, env, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`npm ${args.join(' ')} failed (${result.status}) in ${cwd}:\n${result.stderr}${result.stdout}`);
  return result.stdout;
}

/** npm, without blocking: for a child that talks to a server in this process. */
export function npmAsync(args: string[], cwd: string, env: NodeJS.ProcessEnv = npmEnv()): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('npm', args, { cwd, env, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`npm ${args.join(' ')} failed (${error.code}) in ${cwd}:\n${stderr}${stdout}`));
      else resolve(stdout);
    });
  });
}

export interface PackedFile {
  path: string;
  size: number;
}

interface PackResult {
  filename: string;
  files: PackedFile[];
}

/**
 * `npm pack --json` of a package. Its prepack script (the package's build) is skipped: every
 * package was built before the tests ran (turbo's test task depends on the builds), and a second
 * build would rewrite dist/ under the other suites that are running the CLI from it.
 */
export function pack(dir: string, destination: string): { tarball: string; files: PackedFile[] } {
  const stdout = npm(['pack', '--json', '--ignore-scripts', '--pack-destination', destination], dir);
  const result = (JSON.parse(stdout) as PackResult[])[0] as PackResult;
  return { tarball: path.join(destination, result.filename), files: result.files };
}

/** The files `npm pack` would put in the tarball, without writing one. */
export function packedFiles(dir: string): PackedFile[] {
  const stdout = npm(['pack', '--dry-run', '--json', '--ignore-scripts'], dir);
  return ((JSON.parse(stdout) as PackResult[])[0] as PackResult).files;
}
