import fs from 'node:fs/promises';
import { SignetError } from '@signet/core';
import { RegistryClient } from './registry';
import { type NpmVerifyOptions, type PackageReport, verifyNpmPackage } from './verify';

export interface LockedPackage {
  name: string;
  version: string;
  integrity?: string;
}

interface LockfileEntry {
  name?: string;
  version?: string;
  resolved?: string;
  integrity?: string;
  link?: boolean;
  inBundle?: boolean;
}

/**
 * The registry packages a package-lock.json (v2 or v3) installs, each name@version once.
 * Workspace links, bundled dependencies and git, file or URL dependencies have no registry
 * signature to check and are left out.
 */
export async function lockedPackages(lockfile: string): Promise<LockedPackage[]> {
  let doc: { lockfileVersion?: number; packages?: Record<string, LockfileEntry> };
  try {
    doc = JSON.parse(await fs.readFile(lockfile, 'utf8'));
  } catch (cause) {
    throw new SignetError({ code: 'E_INPUT', message: `${lockfile} is not a readable package-lock.json`, cause });
  }
  if (!doc.packages || (doc.lockfileVersion ?? 1) < 2) {
    throw new SignetError({
      code: 'E_INPUT',
      message: `${lockfile} is a lockfileVersion 1 file; run npm install with npm 7 or later to update it`,
    });
  }
  const seen = new Map<string, LockedPackage>();
  for (const [location, entry] of Object.entries(doc.packages)) {
    if (!location.includes('node_modules/') || entry.link || entry.inBundle || !entry.version) continue;
    if (!entry.resolved || !/^https?:\/\//.test(entry.resolved)) continue;
    const name = entry.name ?? location.slice(location.lastIndexOf('node_modules/') + 'node_modules/'.length);
    seen.set(`${name}@${entry.version}`, { name, version: entry.version, integrity: entry.integrity });
  }
  return [...seen.values()].sort((a, b) => (a.name === b.name ? a.version.localeCompare(b.version) : a.name < b.name ? -1 : 1));
}

export interface VerifyLockfileOptions extends NpmVerifyOptions {
  /** Packages verified at once (default 8). */
  concurrency?: number;
  /** Called as each package is done. */
  onPackage?: (report: PackageReport, done: number, total: number) => void;
}

/**
 * Verifies every registry package of a lockfile, `concurrency` at a time, each against the
 * integrity the lockfile pins. A package that cannot be checked at all (not on the registry,
 * the registry down) is reported as failed, and the rest go on.
 */
export async function verifyLockfile(lockfile: string, options: VerifyLockfileOptions): Promise<PackageReport[]> {
  const packages = await lockedPackages(lockfile);
  const client = options.client ?? new RegistryClient(options);
  const reports: PackageReport[] = new Array(packages.length);
  let next = 0;
  let done = 0;
  const worker = async () => {
    for (let i = next++; i < packages.length; i = next++) {
      const pkg = packages[i] as LockedPackage;
      reports[i] = await verifyNpmPackage(`${pkg.name}@${pkg.version}`, { ...options, client, expectedIntegrity: pkg.integrity }).catch(
        (error: unknown) => unverifiable(pkg, error),
      );
      options.onPackage?.(reports[i] as PackageReport, ++done, packages.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency ?? 8, packages.length)) }, worker));
  return reports;
}

function unverifiable(pkg: LockedPackage, error: unknown): PackageReport {
  const code = error instanceof SignetError ? error.code : 'E_INTERNAL';
  const message = error instanceof Error ? error.message : String(error);
  const failed = { status: 'failed' as const, code, message };
  return {
    name: pkg.name,
    version: pkg.version,
    integrity: pkg.integrity,
    ok: false,
    signature: failed,
    registrySignature: failed,
    provenance: failed,
    publishAttestation: failed,
    problems: [message],
  };
}
