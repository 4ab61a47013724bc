import os from 'node:os';
import { readRegularFile, SignetError } from '@signet/core';
import picomatch from 'picomatch';
import { RegistryClient } from './registry';
import { verifyOnThreads } from './tree-workers';
import {
  checkProvenanceIdentity,
  failedReport,
  type NpmVerifyOptions,
  type PackageReport,
  trustedRootOnce,
  verifyNpmPackage,
} from './verify';

/** A package npm installs from the registry, as the lockfile pins it. */
export interface LockedPackage {
  name: string;
  version: string;
  integrity?: string;
}

/** A package npm installs that has no registry release to verify, and why. */
export interface UnverifiablePackage {
  /** Its place in the tree: node_modules/a/node_modules/b. */
  location: string;
  name: string;
  version?: string;
  /** What it is: a workspace link, a bundled dependency, a git, file or URL dependency… */
  reason: string;
}

interface LockfileEntry {
  name?: string;
  version?: string;
  resolved?: string;
  integrity?: string;
  link?: boolean;
  inBundle?: boolean;
}

/** Lockfiles are megabytes at most; this bounds what is parsed. */
const MAX_LOCKFILE_BYTES = 64 * 1024 * 1024;

/**
 * Everything a package-lock.json (v2 or v3) makes `npm ci` install, in two lists: the registry
 * packages (each name@version once), which can be verified, and every other installed entry
 * (workspace links, bundled dependencies, git, file and URL dependencies, entries without a
 * version or an integrity), which cannot, each with its reason. Nothing installed is left out
 * of both. The project's own folders (the root, workspace sources) are not installed, and are.
 */
export async function lockedPackages(lockfile: string): Promise<{ registry: LockedPackage[]; unverifiable: UnverifiablePackage[] }> {
  let doc: { lockfileVersion?: number; packages?: Record<string, LockfileEntry> };
  try {
    const bytes = await readRegularFile(lockfile, {
      bytes: MAX_LOCKFILE_BYTES,
      error: (size) => new SignetError({ code: 'E_INPUT', message: `${lockfile} is ${size} bytes, too large for a package-lock.json` }),
    });
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (cause) {
    if (cause instanceof SignetError) throw cause;
    throw new SignetError({ code: 'E_INPUT', message: `${lockfile} is not a readable package-lock.json`, cause });
  }
  if (
    typeof doc !== 'object' ||
    doc === null ||
    typeof doc.packages !== 'object' ||
    doc.packages === null ||
    (doc.lockfileVersion ?? 1) < 2
  ) {
    throw new SignetError({
      code: 'E_INPUT',
      message: `${lockfile} is not a lockfileVersion 2 or 3 package-lock.json; run npm install with npm 7 or later to update it`,
    });
  }
  const registry = new Map<string, LockedPackage>();
  const unverifiable: UnverifiablePackage[] = [];
  for (const [location, raw] of Object.entries(doc.packages)) {
    if (!location.includes('node_modules/')) continue;
    const entry = (typeof raw === 'object' && raw !== null ? raw : {}) as LockfileEntry;
    const name =
      typeof entry.name === 'string' ? entry.name : location.slice(location.lastIndexOf('node_modules/') + 'node_modules/'.length);
    const version = typeof entry.version === 'string' ? entry.version : undefined;
    const skip = (reason: string) => unverifiable.push({ location, name, ...(version ? { version } : {}), reason });
    const resolved = typeof entry.resolved === 'string' ? entry.resolved : undefined;
    if (entry.link) skip(`a link to ${resolved ?? 'a local folder'} (a workspace package), not a registry release`);
    else if (entry.inBundle) skip('a bundled dependency: npm installs it from inside its parent tarball');
    else if (!version) skip('no version in the lockfile');
    else if (resolved !== undefined && !/^https?:\/\//i.test(resolved))
      skip(`installed from ${describeSource(resolved)}, not from a registry`);
    else if (typeof entry.integrity !== 'string' || entry.integrity === '')
      skip('no integrity in the lockfile: npm would install whatever bytes it is served');
    // Without `resolved` (npm's omit-lockfile-registry-resolved), npm fetches NAME@VERSION from its registry.
    // Keyed by integrity too: two entries of one version pinning different bytes are both checked
    // (a duplicate must not hide the entry npm ci installs from other bytes).
    else registry.set(`${name}@${version} ${entry.integrity}`, { name, version, integrity: entry.integrity });
  }
  const byName = <T extends { name: string }>(a: T, b: T) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  return {
    registry: [...registry.values()].sort((a, b) => byName(a, b) || a.version.localeCompare(b.version)),
    unverifiable: unverifiable.sort((a, b) => (a.location < b.location ? -1 : 1)),
  };
}

function describeSource(resolved: string): string {
  if (/^git(\+[a-z]+)?:|^github:|\.git(#|$)/i.test(resolved)) return 'git';
  if (/^file:/i.test(resolved)) return 'a local file or folder';
  return JSON.stringify(resolved.slice(0, 80));
}

export interface VerifyLockfileOptions extends NpmVerifyOptions {
  /** Packages in flight on each thread (default 8). */
  concurrency?: number;
  /** Worker threads the packages are spread over (default: one per core; 1 verifies on this thread). */
  threads?: number;
  /**
   * Names (globs, as `@my-org/*`) of installed packages that have no registry release to verify
   * and are accepted anyway: workspace links, bundled dependencies. Each is reported as allowed.
   */
  allowUnverified?: string[];
  /** Called as each package is done. */
  onPackage?: (report: PackageReport, done: number, total: number) => void;
}

/**
 * Verifies every package a lockfile installs, each registry package against the integrity the
 * lockfile pins, spread over worker threads (signature checks are CPU work: one thread per core),
 * `concurrency` at a time on each. One that cannot be checked at all (not on the registry, the
 * registry down) is reported as failed, and the rest go on; one that has no registry release
 * fails too, unless allowUnverified names it. The trusted root is loaded once for the tree, and
 * trust on first use is checked in the lockfile's order, so the verdicts are the same however
 * the work was spread.
 */
export async function verifyLockfile(lockfile: string, options: VerifyLockfileOptions): Promise<PackageReport[]> {
  const { registry: packages, unverifiable } = await lockedPackages(lockfile);
  const allowed = options.allowUnverified?.length ? picomatch(options.allowUnverified, { dot: true }) : () => false;
  const client = options.client ?? new RegistryClient(options);
  const trustedRoot = trustedRootOnce(options);
  const total = packages.length + unverifiable.length;
  const reports: PackageReport[] = new Array(packages.length);
  let done = 0;
  const onReport = (i: number, report: PackageReport) => {
    reports[i] = report;
    options.onPackage?.(report, ++done, total);
  };
  const concurrency = wholeNumberOr(options.concurrency, 8);
  const threads = Math.min(wholeNumberOr(options.threads, os.availableParallelism()), packages.length);
  if (threads > 1) {
    await verifyOnThreads({ packages, threads, concurrency, options, client, trustedRoot, onReport });
  } else {
    const shared = { ...options, client, trustedRoot, identityLedger: undefined };
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < packages.length; i = next++) {
        const pkg = packages[i] as LockedPackage;
        onReport(
          i,
          await verifyNpmPackage(`${pkg.name}@${pkg.version}`, { ...shared, expectedIntegrity: pkg.integrity }).catch((error: unknown) =>
            failedReport(pkg, error),
          ),
        );
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, packages.length)) }, worker));
  }
  if (options.identityLedger) for (const report of reports) checkProvenanceIdentity(report, options.identityLedger);
  for (const pkg of unverifiable) {
    const report = notVerifiable(pkg, allowed(pkg.name));
    reports.push(report);
    options.onPackage?.(report, ++done, total);
  }
  return reports;
}

function wholeNumberOr(value: number | undefined, fallback: number): number {
  return Number.isInteger(value) && (value as number) >= 1 ? (value as number) : fallback;
}

function notVerifiable(pkg: UnverifiablePackage, allowed: boolean): PackageReport {
  const reason = `not verified: ${pkg.location} is ${pkg.reason}`;
  const absent = { status: 'missing' as const, reason };
  return {
    name: pkg.name,
    version: pkg.version ?? '',
    ok: allowed,
    ...(allowed ? { allowed: `${reason} (allowed by --allow-unverified)` } : {}),
    signature: absent,
    registrySignature: absent,
    provenance: absent,
    publishAttestation: absent,
    problems: allowed ? [] : [`${reason}; name it with --allow-unverified to accept it`],
  };
}
