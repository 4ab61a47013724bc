import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { readRegularFile, type Signer, SignetError, type SignOptions, serializeBundle, signStatement, writeFileAtomic } from '@signet/core';
import { NpmFailure, runNpm } from './npm-cli';
import { npmPurl, releaseStatement, sha512Integrity } from './release';
import { secretFiles } from './secrets';
import { tarballFiles } from './tarball';

export interface PublishOptions {
  /** Flags passed on to `npm publish` (`--tag next`, `--access public`, `--otp …`, `--provenance`, `--registry …`). */
  npmArgs?: string[];
  /** Pack and show what would be signed and published; sign nothing, publish nothing (`npm publish --dry-run`). */
  dryRun?: boolean;
  /** Where the signature is witnessed (transparency log, TSA). */
  signOptions?: SignOptions;
  /** Where the tarball and its bundle are written (default: the package folder). */
  packDestination?: string;
  /**
   * Paths inside the package (as `npm pack` lists them) to publish although they look like a
   * private key or a credential (a test fixture's throwaway key). Any other such file stops
   * the publish (see secretFiles).
   */
  allowSecrets?: string[];
  env?: NodeJS.ProcessEnv;
}

export interface Release {
  name: string;
  version: string;
  /** `pkg:npm/NAME@VERSION`, the signed statement's subject. */
  purl: string;
  /** The packed tarball, exactly the bytes signed and published. */
  tarball: string;
  /** `sha512-…`, as the registry records it in `dist.integrity`. */
  integrity: string;
  /** `TARBALL.sigstore.json`, beside the tarball; none in a dry run. */
  bundlePath?: string;
  /** The files in the tarball. */
  files: string[];
  published: boolean;
  /** npm publish --dry-run's report, in a dry run. */
  dryRunOutput?: string;
}

interface PackResult {
  name: string;
  version: string;
  filename: string;
  integrity: string;
  files: { path: string }[];
}

/** `npm pack` of a package folder (prepack and prepare scripts run, as they do for a publish). */
export async function packPackage(dir: string, destination: string, env?: NodeJS.ProcessEnv): Promise<PackResult & { tarball: string }> {
  await fs.mkdir(destination, { recursive: true });
  const { stdout } = await runNpm(['pack', '--json', '--pack-destination', destination], { cwd: dir, env });
  // Lifecycle scripts print to the same stdout before npm's JSON: the JSON is the last array.
  const start = stdout.lastIndexOf('\n[') + 1;
  let packed: PackResult | undefined;
  try {
    packed = (JSON.parse(stdout.slice(start)) as PackResult[])[0];
  } catch (cause) {
    throw new SignetError({ code: 'E_INTERNAL', message: `npm pack printed no JSON result in ${dir}`, cause });
  }
  if (!packed) throw new SignetError({ code: 'E_INTERNAL', message: `npm pack packed nothing in ${dir}` });
  return { ...packed, tarball: path.resolve(destination, packed.filename) };
}

function isDryRun(options: PublishOptions): boolean {
  return Boolean(options.dryRun) || (options.npmArgs ?? []).includes('--dry-run');
}

/** A package packed and checked, its tarball held in memory: nothing is written before it is released. */
interface Staged {
  packed: PackResult;
  bytes: Buffer;
  integrity: string;
}

/**
 * `npm pack` into a scratch folder, then checks what was packed: the tarball is the one npm
 * reported, and it holds no private key or credential the caller did not allow.
 */
async function stage(dir: string, options: PublishOptions): Promise<Staged> {
  const scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'signet-pack-'));
  let packed: PackResult & { tarball: string };
  let bytes: Buffer;
  try {
    packed = await packPackage(dir, scratch, options.env);
    bytes = await readRegularFile(packed.tarball);
  } finally {
    await fs.rm(scratch, { recursive: true, force: true });
  }
  const integrity = sha512Integrity(bytes);
  if (integrity !== packed.integrity) {
    throw new SignetError({
      code: 'E_INTERNAL',
      message: `${packed.filename} changed after npm packed it (integrity ${integrity}, npm said ${packed.integrity})`,
    });
  }
  refuseSecrets(packed, bytes, options.allowSecrets ?? []);
  return { packed, bytes, integrity };
}

function refuseSecrets(packed: PackResult, bytes: Buffer, allowed: readonly string[]): void {
  const found = secretFiles(tarballFiles(bytes)).filter((file) => !allowed.includes(file.path));
  if (found.length === 0) return;
  const them = found.length === 1 ? 'it' : 'them';
  throw new SignetError({
    code: 'E_INPUT',
    message: `${packed.name}@${packed.version}'s tarball holds private key material or credentials: ${found.map((file) => `${file.path} (${file.what})`).join(', ')}; leave ${them} out (package.json "files" or .npmignore), or publish ${them} anyway with --allow-secret PATH; nothing was published`,
  });
}

/**
 * `signet npm publish`: packs the package, checks the tarball for private keys and credentials,
 * signs the exact tarball bytes (a DSSE bundle of an in-toto statement whose subject is
 * `pkg:npm/NAME@VERSION` with the tarball's sha512, as npm provenance has it), writes
 * `NAME-VERSION.tgz.sigstore.json` beside the tarball, then publishes that same tarball with
 * `npm publish <tarball>`. A refused tarball, a signature that fails, or a bundle that cannot be
 * written stops it before anything is published.
 */
export async function publishSigned(dir: string, signer: Signer | undefined, options: PublishOptions = {}): Promise<Release> {
  if (!isDryRun(options) && !signer) throw new SignetError({ code: 'E_USAGE', message: 'publishing needs a signing key' });
  return publishStaged(dir, await stage(dir, options), signer, options);
}

/** Writes the staged tarball, then signs and publishes it (or, in a dry run, asks npm what it would publish). */
async function publishStaged(dir: string, staged: Staged, signer: Signer | undefined, options: PublishOptions): Promise<Release> {
  const npmArgs = options.npmArgs ?? [];
  const { packed, bytes, integrity } = staged;
  const destination = options.packDestination ?? dir;
  await fs.mkdir(destination, { recursive: true });
  const tarball = path.resolve(destination, packed.filename);
  await writeFileAtomic(tarball, bytes, { overwrite: true });
  const release: Release = {
    name: packed.name,
    version: packed.version,
    purl: npmPurl(packed.name, packed.version),
    tarball,
    integrity,
    files: packed.files.map((file) => file.path),
    published: false,
  };
  if (isDryRun(options)) {
    const { stdout, stderr } = await runNpm(['publish', tarball, ...npmArgs.filter((a) => a !== '--dry-run'), '--dry-run'], {
      cwd: dir,
      env: options.env,
    });
    return { ...release, dryRunOutput: `${stdout}${stderr}` };
  }
  const bundle = await signStatement(releaseStatement(packed.name, packed.version, bytes), signer as Signer, options.signOptions);
  const bundlePath = `${tarball}.sigstore.json`;
  await writeFileAtomic(bundlePath, `${JSON.stringify(serializeBundle(bundle), null, 2)}\n`, { overwrite: true });
  await runNpm(['publish', tarball, ...npmArgs, ...(await provenanceOff(npmArgs, dir, options.env))], { cwd: dir, env: options.env });
  return { ...release, bundlePath, published: true };
}

/**
 * `--provenance=false` when the publish goes to a registry other than the public one: npm's
 * provenance is a public-registry feature (a statement in public Rekor, attached where only
 * registry.npmjs.org serves attestations), which Signet's packages ask for in publishConfig.
 * An explicit --provenance in the arguments is left to decide.
 */
async function provenanceOff(npmArgs: readonly string[], cwd: string, env?: NodeJS.ProcessEnv): Promise<string[]> {
  if (npmArgs.some((arg) => arg === '--provenance' || arg.startsWith('--provenance='))) return [];
  const given =
    npmArgs.find((arg) => arg.startsWith('--registry='))?.slice('--registry='.length) ?? npmArgs[npmArgs.indexOf('--registry') + 1];
  const registry =
    npmArgs.includes('--registry') || given
      ? given
      : // Inside a workspace npm sets `workspace` itself, which `npm config` refuses.
        (await runNpm(['config', 'get', 'registry', '--workspaces=false'], { cwd, env })).stdout.trim();
  let host = '';
  try {
    host = new URL(registry ?? '').hostname;
  } catch {
    // npm reports a registry that is not a URL when it publishes.
  }
  return host === 'registry.npmjs.org' ? [] : ['--provenance=false'];
}

export interface WorkspacePackage {
  name: string;
  version: string;
  path: string;
  private?: boolean;
}

/**
 * The workspace's packages, found as npm finds them (its own @npmcli/map-workspaces over the
 * root package.json's `workspaces` globs), with no install needed.
 */
export async function workspacePackages(root: string): Promise<WorkspacePackage[]> {
  const readJson = async (file: string) => JSON.parse(await fs.readFile(file, 'utf8')) as Record<string, unknown>;
  const pkg = await readJson(path.join(root, 'package.json')).catch((cause: unknown) => {
    throw new SignetError({ code: 'E_INPUT', message: `${root} has no readable package.json`, cause });
  });
  if (!pkg.workspaces) throw new SignetError({ code: 'E_INPUT', message: `${root}/package.json declares no workspaces` });
  const mapWorkspaces = require('@npmcli/map-workspaces') as (options: { cwd: string; pkg: unknown }) => Promise<Map<string, string>>;
  const found = await mapWorkspaces({ cwd: root, pkg });
  return Promise.all(
    [...found].map(async ([name, dir]) => {
      const manifest = await readJson(path.join(dir, 'package.json'));
      return { name, version: String(manifest.version), path: dir, private: manifest.private === true };
    }),
  );
}

/** Whether NAME@VERSION is on the registry npm is configured with. */
export async function isPublished(name: string, version: string, cwd: string, env?: NodeJS.ProcessEnv): Promise<boolean> {
  try {
    const { stdout } = await runNpm(['view', `${name}@${version}`, 'version', '--json'], { cwd, env });
    return stdout.trim() !== '';
  } catch (error) {
    if (error instanceof SignetError && error.cause instanceof NpmFailure && error.cause.npmCode === 'E404') return false;
    throw error;
  }
}

export interface WorkspaceRelease {
  name: string;
  version: string;
  /** Published (or, in a dry run, would be); skipped: private, or this version is already on the registry. */
  outcome: 'published' | 'dry-run' | 'skipped-private' | 'skipped-published';
  release?: Release;
}

/**
 * Signs and publishes every public workspace package whose version is not on the registry
 * yet: the step `changeset publish` takes after `changeset version`, with a signature. Every
 * package is packed and checked before any is published, so a refused tarball publishes
 * nothing; after that, one package's failure stops the rest (what was published stays listed
 * in the error).
 */
export async function publishWorkspaces(
  root: string,
  signer: Signer | undefined,
  options: PublishOptions = {},
): Promise<WorkspaceRelease[]> {
  if (!isDryRun(options) && !signer) throw new SignetError({ code: 'E_USAGE', message: 'publishing needs a signing key' });
  const plan: (WorkspaceRelease | { pkg: WorkspacePackage; staged: Staged })[] = [];
  for (const pkg of await workspacePackages(root)) {
    if (pkg.private) plan.push({ name: pkg.name, version: pkg.version, outcome: 'skipped-private' });
    else if (await isPublished(pkg.name, pkg.version, pkg.path, options.env))
      plan.push({ name: pkg.name, version: pkg.version, outcome: 'skipped-published' });
    else plan.push({ pkg, staged: await stage(pkg.path, options).catch((error: unknown) => Promise.reject(forPackage(pkg, error, []))) });
  }
  const results: WorkspaceRelease[] = [];
  for (const step of plan) {
    if (!('staged' in step)) {
      results.push(step);
      continue;
    }
    const { pkg, staged } = step;
    try {
      const release = await publishStaged(pkg.path, staged, signer, options);
      results.push({ name: pkg.name, version: pkg.version, outcome: release.published ? 'published' : 'dry-run', release });
    } catch (error) {
      throw forPackage(
        pkg,
        error,
        results.filter((r) => r.outcome === 'published').map((r) => `${r.name}@${r.version}`),
      );
    }
  }
  return results;
}

/** A workspace package's failure, naming the package and what was already published. */
function forPackage(pkg: WorkspacePackage, error: unknown, published: string[]): SignetError {
  return new SignetError({
    code: error instanceof SignetError ? error.code : 'E_INTERNAL',
    message: `${pkg.name}@${pkg.version}: ${error instanceof Error ? error.message : String(error)}${published.length ? ` (already published: ${published.join(', ')})` : ''}`,
    cause: error,
  });
}
