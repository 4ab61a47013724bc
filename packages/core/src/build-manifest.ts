import crypto from 'node:crypto';
import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import picomatch from 'picomatch';
import type { Bundle } from './bundle-io';
import { readBundle, serializeBundle } from './bundle-io';
import { digestFile, openRegularFileSync, readRegularFile, readRegularFileSync } from './digest';
import { SignetError } from './errors';
import { writeFileAtomic } from './fs-atomic';
import type { Policy } from './policy';
import { type SignOptions, signStatement } from './sign';
import type { Signer } from './signer';
import { createStatement, PREDICATE_TYPES, type Statement, type Subject } from './statement';
import { createVerifier, type VerifiedStatement, type VerifierOptions } from './verify';

/*
 * A signed build: one in-toto statement whose subjects are every file a build emits
 * (name relative to the output folder, posix separators, sha256), signed once as a DSSE
 * bundle (one signing operation, one KMS call, one log entry, however many files), and
 * verified by recomputing every digest of the folder. The bundler plugins hand these
 * functions the final bytes of each file; `signet sign-dir`/`verify-dir` read a folder.
 */

/** Signet's own predicate: what built the files, for a manifest of a build's output. */
export const MANIFEST_PREDICATE_TYPE = PREDICATE_TYPES.signet as string;
const SLSA_PROVENANCE_V1 = PREDICATE_TYPES.slsaprovenance as string;
/** The build types of the SLSA provenance Signet's builds sign: https://signet.dev/build/<bundler>/v1. */
const SIGNET_BUILD_TYPE_PREFIX = 'https://signet.dev/build/';

/** Where a build's signed manifest goes, relative to the output folder. */
export const DEFAULT_MANIFEST_PATH = '.well-known/signet/manifest.sigstore.json';
/** The optional plain checksum list, written beside the manifest. */
export const SHA256SUMS_NAME = 'SHA256SUMS';

const VERSION: string = require('../package.json').version;

export interface BuildFile {
  /** Path relative to the output folder; either separator is accepted, posix is recorded. */
  name: string;
  /** The file's final bytes, exactly as written to disk. */
  data: Uint8Array | string;
}

export interface ManifestPredicate {
  tool: { name: 'signet'; version: string };
  bundler: { name: string; version: string };
  environment: { node: string; platform: string; arch: string; ci: string | null };
  /** The output folder, relative to the project root. */
  outputDir: string;
  fileCount: number;
  /**
   * When the build was signed (ISO 8601, UTC), written when BuildInfo.createdAt is given: a
   * browser holding a verified manifest refuses one older than it (a rollback).
   */
  createdAt?: string;
}

export interface BuildInfo {
  bundler: { name: string; version: string };
  /** The project root (for outputDir and the lockfile); default: the current directory. */
  root?: string;
  /** The output folder, absolute or relative to the root. */
  outputDir: string;
  /** Sign SLSA provenance v1 (with the lockfile's digest) instead of Signet's manifest predicate. */
  provenance?: boolean;
  /**
   * Where the build writes SHA256SUMS (posix, inside the output folder), when it does: the
   * file is signed as one more subject, so it is verified like every other file it could serve.
   */
  sha256sums?: string;
  /**
   * Record when the build was signed in Signet's manifest predicate (`createdAt`), so that a
   * browser can refuse an older manifest than the one it holds. The plugins set it for
   * `browser` builds, from SOURCE_DATE_EPOCH when that is set.
   */
  createdAt?: Date;
  onWarning?: (message: string) => void;
}

export interface SignedBuild {
  bundle: Bundle;
  /** The bundle as the JSON text to write. */
  bundleJson: string;
  statement: Statement;
  /** `sha256sum -c` input for the build's files (when BuildInfo.sha256sums names it, it is a subject too). */
  sha256sums: string;
}

/**
 * The subjects for a build's files: names checked and normalised, sha256 of the final
 * bytes, sorted by name so that the same output always gives the same statement.
 */
export function buildSubjects(files: readonly BuildFile[]): Subject[] {
  const seen = new Set<string>();
  const subjects = files.map((file) => {
    const name = safeRelativePath(file.name.replaceAll('\\', '/'));
    if (seen.has(name)) throw new SignetError({ code: 'E_INPUT', message: `the build emits ${name} twice` });
    seen.add(name);
    return { name, digest: { sha256: crypto.createHash('sha256').update(file.data).digest('hex') } };
  });
  return subjects.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The statement for a build: its files as subjects, and what built them. */
export async function buildStatement(subjects: Subject[], info: BuildInfo): Promise<Statement> {
  if (subjects.length === 0) {
    throw new SignetError({ code: 'E_INPUT', message: 'the build emitted no files to sign' });
  }
  const root = path.resolve(info.root ?? process.cwd());
  const outputDir = path.relative(root, path.resolve(root, info.outputDir)).split(path.sep).join('/') || '.';
  if (!info.provenance) {
    const predicate: ManifestPredicate = {
      tool: { name: 'signet', version: VERSION },
      bundler: info.bundler,
      environment: { node: process.version, platform: os.platform(), arch: os.arch(), ci: ciName() },
      outputDir,
      fileCount: subjects.length,
      ...(info.createdAt && { createdAt: info.createdAt.toISOString() }),
    };
    return createStatement(subjects, MANIFEST_PREDICATE_TYPE, predicate);
  }
  return createStatement(subjects, SLSA_PROVENANCE_V1, await provenancePredicate(root, outputDir, info));
}

/** Signs a build's files: one DSSE bundle, and the SHA256SUMS text of the same digests. */
export async function signBuild(
  files: readonly BuildFile[],
  info: BuildInfo,
  signer: Signer,
  options: SignOptions = {},
): Promise<SignedBuild> {
  const subjects = buildSubjects(files);
  const sums = sha256sums(subjects);
  if (info.sha256sums !== undefined) {
    const name = safeRelativePath(info.sha256sums);
    if (subjects.some((subject) => subject.name === name))
      throw new SignetError({ code: 'E_INPUT', message: `the build emits ${name} itself` });
    subjects.push({ name, digest: { sha256: crypto.createHash('sha256').update(sums).digest('hex') } });
    subjects.sort((a, b) => ((a.name ?? '') < (b.name ?? '') ? -1 : 1));
  }
  const statement = await buildStatement(subjects, info);
  const bundle = await signStatement(statement, signer, options);
  return { bundle, bundleJson: `${JSON.stringify(serializeBundle(bundle), null, 2)}\n`, statement, sha256sums: sums };
}

/** `sha256sum` text: "<hex>  <name>" per file, in the subjects' order. */
export function sha256sums(subjects: readonly Subject[]): string {
  return subjects.map((s) => `${s.digest.sha256}  ${s.name}\n`).join('');
}

export interface SignDirectoryOptions extends SignOptions {
  /** Where to write the bundle, relative to the folder (default DEFAULT_MANIFEST_PATH). */
  manifestPath?: string;
  /** Also write SHA256SUMS beside the bundle. */
  sha256sums?: boolean;
  include?: string[];
  exclude?: string[];
  provenance?: boolean;
  onWarning?: (message: string) => void;
}

/**
 * Signs every file of a folder as one build, for output no plugin saw (any bundler, a
 * copied folder): writes the manifest bundle (and SHA256SUMS) into the folder.
 */
export async function signDirectory(
  dir: string,
  signer: Signer,
  options: SignDirectoryOptions = {},
): Promise<SignedBuild & { manifestPath: string }> {
  const root = await directoryRoot(dir);
  const manifestPath = safeRelativePath(options.manifestPath ?? DEFAULT_MANIFEST_PATH);
  const sumsPath = sha256sumsPathFor(manifestPath);
  const own = new Set([manifestPath, sumsPath]);
  const selected = fileFilter(options.include, options.exclude);
  const names = (await walk(root)).filter((name) => !own.has(name) && selected(name));
  const files = await eachInBatches(names, (name) => ({ name, data: readRegularFileSync(path.join(root, name)) }));
  const signed = await signBuild(
    files,
    {
      bundler: { name: 'signet sign-dir', version: VERSION },
      outputDir: dir,
      provenance: options.provenance,
      sha256sums: options.sha256sums ? sumsPath : undefined,
      onWarning: options.onWarning,
    },
    signer,
    options,
  );
  await fs.mkdir(path.dirname(path.join(root, manifestPath)), { recursive: true });
  if (options.sha256sums) await writeFileAtomic(path.join(root, sumsPath), signed.sha256sums);
  await writeFileAtomic(path.join(root, manifestPath), signed.bundleJson);
  return { ...signed, manifestPath };
}

/** Builds `include`/`exclude` glob options into one predicate over posix names. */
export function fileFilter(include?: readonly string[], exclude?: readonly string[]): (name: string) => boolean {
  const included = include?.length ? picomatch([...include], { dot: true }) : () => true;
  const excluded = exclude?.length ? picomatch([...exclude], { dot: true }) : () => false;
  return (name) => included(name) && !excluded(name);
}

/** A folder that matches its signed manifest. */
export interface VerifiedDirectory {
  /** The manifest's verified signature and statement. */
  verified: VerifiedStatement;
  /** Files the manifest names, all present and unchanged. */
  files: number;
  /** Files in the folder that no subject names, let through by allowExtra. */
  allowedExtra: string[];
}

/** A folder that does not match its signed manifest: each difference, by kind. */
export class DirectoryMismatchError extends SignetError {
  constructor(
    readonly dir: string,
    readonly verified: VerifiedStatement,
    /** Named by the manifest, absent from the folder. */
    readonly missing: string[],
    /** In the folder, named by no subject (and not allowed). */
    readonly extra: string[],
    /** In both, with other bytes (or no longer a regular file). */
    readonly modified: string[],
    /** Extra files let through by allowExtra. */
    readonly allowedExtra: string[],
  ) {
    const list = (kind: string, names: string[]) =>
      names.length === 0 ? [] : [`${kind} ${names.slice(0, 20).join(', ')}${names.length > 20 ? ` and ${names.length - 20} more` : ''}`];
    const parts = [...list('modified', modified), ...list('extra', extra), ...list('missing', missing)];
    super({ code: 'E_SIGNATURE', message: `${dir} does not match its signed manifest: ${parts.join('; ')}` });
  }
}

export interface VerifyDirectoryOptions extends Omit<VerifierOptions, 'policy'> {
  /** The bundle file (default: the folder's DEFAULT_MANIFEST_PATH). */
  bundlePath?: string;
  /** Globs of extra files that are not a failure. */
  allowExtra?: string[];
  /** Files over 1 MiB hashed at once (default 16); smaller ones are read one after another. */
  concurrency?: number;
}

/** The statement types a build's manifest is signed as; no caller widens them. */
const MANIFEST_TYPES: readonly string[] = [MANIFEST_PREDICATE_TYPE, SLSA_PROVENANCE_V1];

/**
 * Verifies a folder against its signed manifest: the signature and signer under the policy,
 * the manifest's form, then every file. Everything a web server could serve from the folder
 * must be a signed subject with its digest, the manifest bundle itself, or an extra allowed
 * by `allowExtra`; anything else throws DirectoryMismatchError (E_SIGNATURE) naming each
 * missing, extra and modified file. A manifest naming a path outside the folder, a symbolic
 * link leading out of it, and anything but regular files and folders are refused outright.
 */
export async function verifyDirectory(dir: string, policy: Policy, options: VerifyDirectoryOptions = {}): Promise<VerifiedDirectory> {
  const root = await directoryRoot(dir);
  const bundlePath = options.bundlePath ?? path.join(root, DEFAULT_MANIFEST_PATH);
  const { verified, files: expected } = await verifyManifestBundle(await readBundle(bundlePath), policy, options);

  // The manifest bundle is the one file in the folder that cannot be its own subject.
  const bundleInside = path.relative(root, path.resolve(bundlePath));
  const own = bundleInside.startsWith('..') || path.isAbsolute(bundleInside) ? undefined : bundleInside.split(path.sep).join('/');
  const present = (await walk(root)).filter((name) => name !== own);
  const allowed = options.allowExtra?.length ? picomatch(options.allowExtra, { dot: true }) : () => false;

  const presentSet = new Set(present);
  const missing = [...expected.keys()].filter((name) => !presentSet.has(name));
  const extra: string[] = [];
  const allowedExtra: string[] = [];
  for (const name of present) if (!expected.has(name)) (allowed(name) ? allowedExtra : extra).push(name);
  const toHash = [...expected.keys()].filter((name) => presentSet.has(name));
  const actual = await sha256All(
    toHash.map((name) => path.join(root, name)),
    options.concurrency ?? 16,
  );
  const modified = toHash.filter((name, i) => actual[i] !== expected.get(name));
  if (missing.length > 0 || extra.length > 0 || modified.length > 0) {
    throw new DirectoryMismatchError(dir, verified, missing, extra, modified, allowedExtra);
  }
  return { verified, files: toHash.length, allowedExtra };
}

/** A build's signed manifest, verified: its signature and signer, and each file's sha256. */
export interface VerifiedManifest {
  verified: VerifiedStatement;
  /** Every file the manifest names (posix, relative to the output folder) and its lower-case hex sha256. */
  files: Map<string, string>;
}

/**
 * Verifies a build's manifest bundle without a folder: the signature and signer under the
 * policy, a manifest predicate type, and the manifest's form (see manifestEntries). What
 * verifyDirectory checks before it reads the files, and what @signet/verify-browser checks in
 * a browser: the two are tested against each other on the same bundles.
 */
export async function verifyManifestBundle(
  bundle: Bundle,
  policy: Policy,
  options: Omit<VerifierOptions, 'policy'> = {},
): Promise<VerifiedManifest> {
  const accepted = Array.isArray(policy.predicateTypes)
    ? MANIFEST_TYPES.filter((type) => policy.predicateTypes?.includes(type))
    : MANIFEST_TYPES;
  const verifier = createVerifier({ ...options, policy: { ...policy, predicateTypes: accepted } });
  const verified = await verifier.verifyStatement(bundle);
  return { verified, files: manifestEntries(verified.statement) };
}

/**
 * The manifest's files and their sha256, checked as strictly as the manifest is written: a
 * statement and subjects with only the fields Signet writes, plain relative names, each once,
 * each with one sha256; for Signet's own predicate, its fields and a file count that agrees.
 * A manifest with anything else was not written by a Signet build and is not trusted to
 * describe one (E_BUNDLE).
 */
function manifestEntries(statement: Statement): Map<string, string> {
  const fail = (why: string): never => {
    throw new SignetError({ code: 'E_BUNDLE', message: `the manifest ${why}` });
  };
  const unknown = (value: object, allowed: string[]) => Object.keys(value).find((key) => !allowed.includes(key));
  const extraField = unknown(statement, ['_type', 'subject', 'predicateType', 'predicate']);
  if (extraField !== undefined) fail(`has an unknown field ${JSON.stringify(extraField.slice(0, 40))}`);
  const expected = new Map<string, string>();
  for (const subject of statement.subject) {
    const name = safeRelativePath(subject.name ?? '', 'the manifest');
    const field = unknown(subject, ['name', 'digest']) ?? unknown(subject.digest, ['sha256']);
    if (field !== undefined) fail(`gives ${name} an unknown field ${JSON.stringify(field.slice(0, 40))}`);
    const digest = subject.digest.sha256;
    if (!digest) fail(`gives ${name} no sha256 digest`);
    if (expected.has(name)) fail(`names ${name} twice`);
    expected.set(name, (digest as string).toLowerCase());
  }
  if (statement.predicateType === SLSA_PROVENANCE_V1 && !isSignetBuild(statement.predicate)) {
    // SLSA provenance is a build manifest only when a Signet build wrote it (sign-dir
    // --provenance, the plugins' provenance option): any other provenance about the same
    // files, from GitHub's attest-build-provenance say, proves what its build did, not a release.
    throw new SignetError({
      code: 'E_POLICY',
      message: `the manifest is SLSA provenance of another build type (${JSON.stringify(String((statement.predicate as { buildDefinition?: { buildType?: unknown } })?.buildDefinition?.buildType).slice(0, 80))}), not a Signet build's manifest`,
    });
  }
  if (statement.predicateType === MANIFEST_PREDICATE_TYPE) {
    const predicate = statement.predicate as Partial<ManifestPredicate> | null;
    if (typeof predicate !== 'object' || predicate === null || Array.isArray(predicate)) fail('has no predicate');
    const field = unknown(predicate as object, ['tool', 'bundler', 'environment', 'outputDir', 'fileCount', 'createdAt']);
    if (field !== undefined) fail(`predicate has an unknown field ${JSON.stringify(field.slice(0, 40))}`);
    const createdAt = predicate?.createdAt;
    if (createdAt !== undefined && (typeof createdAt !== 'string' || !ISO_TIME.test(createdAt) || Number.isNaN(Date.parse(createdAt)))) {
      fail(`predicate's createdAt ${JSON.stringify(String(createdAt).slice(0, 40))} is not an ISO 8601 UTC time`);
    }
    if (predicate?.fileCount !== expected.size) {
      fail(`predicate counts ${JSON.stringify(predicate?.fileCount)} files, and its subjects are ${expected.size}`);
    }
  }
  return expected;
}

/** The form Date.toISOString writes, which is the only one a Signet build writes. */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function sha256sumsPathFor(manifestPath: string): string {
  const dir = path.posix.dirname(manifestPath);
  return dir === '.' ? SHA256SUMS_NAME : `${dir}/${SHA256SUMS_NAME}`;
}

/**
 * Where a bundler plugin writes a build's own files, checked when its config is read: the
 * manifest bundle (a plain posix path inside the output folder, or E_USAGE naming `label`)
 * and SHA256SUMS beside it.
 */
export function manifestOutputPaths(label: string, manifestPath = DEFAULT_MANIFEST_PATH): { manifest: string; sha256sums: string } {
  const segments = manifestPath.split('/');
  if (manifestPath.includes('\\') || manifestPath.startsWith('/') || segments.some((s) => s === '' || s === '.' || s === '..')) {
    throw new SignetError({
      code: 'E_USAGE',
      message: `${label}: output ${JSON.stringify(manifestPath)} must be a plain posix path inside the output folder, such as ${DEFAULT_MANIFEST_PATH}`,
    });
  }
  return { manifest: manifestPath, sha256sums: sha256sumsPathFor(manifestPath) };
}

/**
 * A manifest entry as a safe path inside the folder: relative, posix, without `..`,
 * empty or `.` segments, NUL bytes or a drive letter. Anything else is refused: a signed
 * manifest must not be able to point verification (or a deploy) outside its folder.
 */
function safeRelativePath(name: string, where = 'a build file'): string {
  const segments = name.split('/');
  const unsafe =
    name === '' ||
    name.includes('\0') ||
    name.includes('\\') ||
    path.posix.isAbsolute(name) ||
    /^[a-zA-Z]:/.test(name) ||
    segments.some((segment) => segment === '' || segment === '.' || segment === '..');
  if (unsafe) {
    throw new SignetError({
      code: 'E_POLICY',
      message: `${where} names ${JSON.stringify(name)}, which is not a plain path inside the folder; refusing it`,
    });
  }
  return name;
}

/** Whether SLSA provenance was written by a Signet build: its build type is one of Signet's. */
function isSignetBuild(predicate: unknown): boolean {
  const buildType = (predicate as { buildDefinition?: { buildType?: unknown } } | null)?.buildDefinition?.buildType;
  return typeof buildType === 'string' && buildType.startsWith(SIGNET_BUILD_TYPE_PREFIX);
}

async function directoryRoot(dir: string): Promise<string> {
  const stat = await fs.stat(dir).catch(() => undefined);
  if (!stat?.isDirectory()) throw new SignetError({ code: 'E_INPUT', message: `${dir} is not a folder` });
  return fs.realpath(dir);
}

/**
 * Every file under `root`, as posix paths relative to it. A symbolic link is followed only
 * when it stays inside the folder; one that leads out is refused (it would let a deploy
 * serve a file no manifest covers), and so is anything that is neither a regular file nor a
 * folder, directly or behind a link: a FIFO or a device would hang or feed whoever reads it.
 */
async function walk(root: string): Promise<string[]> {
  const names: string[] = [];
  let entries = 0;
  const linkedFolders = new Map<string, number>();
  const visit = async (relative: string) => {
    for (const entry of await fs.readdir(path.join(root, relative), { withFileTypes: true })) {
      const name = relative ? `${relative}/${entry.name}` : entry.name;
      // Links to folders inside may repeat a folder many times over (a chain of links doubling at
      // each level is exponential): a folder no manifest could describe is refused, not walked.
      if (++entries > MAX_WALKED_ENTRIES) {
        throw new SignetError({
          code: 'E_POLICY',
          message: `${root} holds more than ${MAX_WALKED_ENTRIES} files and folders (counting each path through a symbolic link); refusing to walk it`,
        });
      }
      const full = path.join(root, name);
      let isDirectory = entry.isDirectory();
      let isFile = entry.isFile();
      if (entry.isSymbolicLink()) {
        const target = await fs.realpath(full).catch(() => undefined);
        if (!target || (target !== root && !target.startsWith(`${root}${path.sep}`))) {
          throw new SignetError({ code: 'E_POLICY', message: `${name} is a symbolic link leading outside the folder; refusing it` });
        }
        const stat = await fs.stat(full);
        isDirectory = stat.isDirectory();
        isFile = stat.isFile();
        if (isDirectory) {
          // A folder linked to from elsewhere in the tree is walked again for each link; links
          // that multiply at each level would walk it exponentially often.
          const seen = (linkedFolders.get(target) ?? 0) + 1;
          linkedFolders.set(target, seen);
          if (seen > MAX_LINKS_TO_A_FOLDER) {
            throw new SignetError({
              code: 'E_POLICY',
              message: `${name} is the ${seen}th way through symbolic links into one folder (${path.relative(root, target) || '.'}); refusing to walk it again`,
            });
          }
        }
      }
      if (isDirectory) await visit(name);
      else if (isFile) names.push(name);
      else {
        throw new SignetError({
          code: 'E_POLICY',
          message: `${name} is neither a regular file nor a folder${entry.isSymbolicLink() ? ' (behind a symbolic link)' : ''}; a signed folder holds only those, refusing it`,
        });
      }
    }
  };
  await visit('');
  return names.sort();
}

/** More entries than a signed manifest can name (a bundle is at most 16 MiB, ~100,000 subjects), with room to spare. */
const MAX_WALKED_ENTRIES = 200_000;
/** Paths through symbolic links into any one folder: `latest -> v2` is one; a loop or a doubling chain is thousands. */
const MAX_LINKS_TO_A_FOLDER = 8;

/** Files up to this size are read whole and synchronously; larger ones are streamed. */
const SMALL_FILE = 1024 * 1024;

/**
 * The sha256 of each file, in order. A build's output is thousands of small files, for which
 * a promise-based read (a thread-pool round trip each for open, stat, read and close) costs
 * several times the hashing: 2,000 such files took 115 ms that way and 19 ms read
 * synchronously. So small files are read synchronously, in batches between turns of the
 * event loop, and only large ones are streamed, `concurrency` at a time.
 */
async function sha256All(files: readonly string[], concurrency: number): Promise<string[]> {
  const large: number[] = [];
  // One buffer for every small file: thousands of allocations would cost more in garbage
  // collection than the hashing.
  const buffer = Buffer.allocUnsafe(SMALL_FILE);
  const digests = await eachInBatches(files, (file, i) => {
    const fd = openRegularFileSync(file);
    try {
      if (fsSync.fstatSync(fd).size > SMALL_FILE) {
        large.push(i);
        return '';
      }
      const hash = crypto.createHash('sha256');
      for (let n = fsSync.readSync(fd, buffer); n > 0; n = fsSync.readSync(fd, buffer)) hash.update(buffer.subarray(0, n));
      return hash.digest('hex');
    } finally {
      fsSync.closeSync(fd);
    }
  });
  const streamed = await mapLimited(large, concurrency, async (i) =>
    ((await digestFile(files[i] as string, ['sha256'])).digests.sha256 as Buffer).toString('hex'),
  );
  large.forEach((index, k) => {
    digests[index] = streamed[k] as string;
  });
  return digests;
}

/** Maps `items` with a synchronous `fn`, giving the event loop a turn every 256 items. */
async function eachInBatches<T, R>(items: readonly T[], fn: (item: T, index: number) => R): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i++) {
    if (i > 0 && i % 256 === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    results.push(fn(items[i] as T, i));
  }
  return results;
}

async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) results[i] = await fn(items[i] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

function ciName(): string | null {
  const env = process.env;
  if (env.GITHUB_ACTIONS === 'true') return 'github-actions';
  if (env.GITLAB_CI === 'true') return 'gitlab-ci';
  if (env.CIRCLECI === 'true') return 'circleci';
  if (env.BUILDKITE === 'true') return 'buildkite';
  if (env.CI) return 'ci';
  return null;
}

const LOCKFILES = ['package-lock.json', 'npm-shrinkwrap.json', 'pnpm-lock.yaml', 'yarn.lock', 'bun.lock', 'bun.lockb'];

/** SLSA provenance v1 for the build, with the lockfile among the resolved dependencies. */
async function provenancePredicate(root: string, outputDir: string, info: BuildInfo): Promise<unknown> {
  const resolvedDependencies: { uri: string; digest: { sha256: string } }[] = [];
  const lockfile = await findLockfile(root);
  if (lockfile) {
    const digest = crypto
      .createHash('sha256')
      .update(await readRegularFile(lockfile))
      .digest('hex');
    resolvedDependencies.push({ uri: `file:${path.relative(root, lockfile).split(path.sep).join('/')}`, digest: { sha256: digest } });
  } else {
    info.onWarning?.(`no lockfile (${LOCKFILES.join(', ')}) found from ${root} upwards; the provenance records no dependencies`);
  }
  const env = process.env;
  const builderId =
    env.GITHUB_ACTIONS === 'true' && env.GITHUB_WORKFLOW_REF
      ? `https://github.com/${env.GITHUB_WORKFLOW_REF}`
      : env.GITLAB_CI === 'true' && env.CI_SERVER_URL
        ? `${env.CI_SERVER_URL}/${env.CI_PROJECT_PATH}`
        : `https://signet.dev/builders/local/${os.hostname()}`;
  return {
    buildDefinition: {
      buildType: `${SIGNET_BUILD_TYPE_PREFIX}${info.bundler.name.replace(/\W+/g, '-')}/v1`,
      externalParameters: { bundler: info.bundler, outputDir },
      internalParameters: { node: process.version, platform: os.platform(), arch: os.arch() },
      resolvedDependencies,
    },
    runDetails: {
      builder: { id: builderId, version: { signet: VERSION } },
      metadata: { finishedOn: new Date().toISOString() },
    },
  };
}

async function findLockfile(from: string): Promise<string | undefined> {
  for (let dir = from; ; dir = path.dirname(dir)) {
    for (const name of LOCKFILES) {
      const candidate = path.join(dir, name);
      if (
        await fs.stat(candidate).then(
          (s) => s.isFile(),
          () => false,
        )
      )
        return candidate;
    }
    if (path.dirname(dir) === dir) return undefined;
  }
}
