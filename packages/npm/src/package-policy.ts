import fs from 'node:fs/promises';
import { GITHUB_ACTIONS_ISSUER, type IdentityRule, SignetError, type TrustedKey, writeFileAtomic } from '@signet/core';
import picomatch from 'picomatch';

/*
 * What a team requires of the packages it installs, beyond "signed by someone": per package
 * (by name), who may publish it (the provenance's repository, workflow and ref, read from the
 * Fulcio certificate's source-repository extensions), which of npm's own signatures must be
 * there, and whose keys may sign it; how long a version must have been public before it is
 * installed (a cooldown); and, trusting on first use, that a package's provenance identity never
 * changes from one version to the next. CVE-2026-45321 shipped valid provenance from a hijacked
 * workflow: valid provenance alone did not stop it, these would have.
 */

/** Where a package's provenance must come from: the CI run's repository, workflow file and ref. */
export interface ProvenanceSource {
  /** The repository that ran the build (Fulcio 1.12): `https://github.com/OWNER/REPO`, or `OWNER/REPO` for GitHub. */
  repository: string;
  /**
   * The workflow file that was run, in that repository: `.github/workflows/release.yml` (Fulcio's
   * build config, 1.18; the certificate's SAN where it has none). A full URL names a reusable
   * workflow defined elsewhere, compared with the SAN (the workflow that signed).
   */
  workflow?: string;
  /** The ref it ran at (Fulcio 1.14), a glob: `refs/tags/v*`. */
  ref?: string;
  /** The OIDC issuer (default GitHub Actions'). */
  issuer?: string;
}

/** What packages whose names match `name` must have. The first rule whose pattern matches a package is its rule. */
export interface PackageRule {
  /** Package names, globs: `@acme/*`, `left-pad`, `*`. */
  name: string | string[];
  /** npm provenance required; from one of these sources when given. */
  provenance?: boolean | ProvenanceSource | ProvenanceSource[];
  /** The registry's signature (`dist.signatures`) required. */
  registrySignature?: boolean;
  /** npm's publish attestation required. */
  publishAttestation?: boolean;
  /** A Signet signature required, by one of these keys (and only these). */
  keys?: TrustedKey[];
}

/** The identity a package's provenance had, as trust on first use records it (no ref: that changes with every release). */
export interface ProvenanceIdentity {
  issuer: string;
  repository?: string;
  /** The workflow file run (URI, without `@ref`). */
  workflow?: string;
}

/** The rule for a package: the first whose pattern matches its name. */
export function ruleFor(rules: readonly PackageRule[] | undefined, name: string): PackageRule | undefined {
  return rules?.find((rule) => picomatch(rule.name, { dot: true })(name));
}

/** The sources a rule's provenance names (none: any the verifier accepts). */
export function provenanceSources(rule: PackageRule | undefined): ProvenanceSource[] {
  const value = rule?.provenance;
  if (value === undefined || typeof value === 'boolean') return [];
  return Array.isArray(value) ? value : [value];
}

/** `OWNER/REPO` as GitHub's repository URL; a URL as it is. */
export function repositoryUrl(repository: string): string {
  return /^[\w.-]+\/[\w.-]+$/.test(repository) ? `https://github.com/${repository}` : repository.replace(/\/+$/, '');
}

/**
 * The identity rule the provenance bundle is verified under for these sources: their issuers,
 * any subject, the repository exactly (core checks it); the workflow and ref are checked after,
 * with sourceMatches.
 */
export function identityRulesFor(sources: ProvenanceSource[]): IdentityRule[] {
  return sources.map((source) => ({
    issuer: source.issuer ?? GITHUB_ACTIONS_ISSUER,
    subjectRegExp: '.+',
    sourceRepository: repositoryUrl(source.repository),
  }));
}

/** What a verified provenance certificate says, as sourceMatches reads it. */
export interface ProvenanceFacts {
  issuer: string;
  /** The SAN: the workflow that signed, `…/.github/workflows/FILE@REF`. */
  subject: string;
  repository?: string;
  ref?: string;
  /** Fulcio's build config URI (1.18): the top-level workflow run, `…/FILE@REF`. */
  buildConfig?: string;
}

/** The workflow file a certificate says was run, without its `@ref`: the build config, else the SAN. */
export function workflowFile(facts: Pick<ProvenanceFacts, 'subject' | 'buildConfig'>): string {
  return withoutRef(facts.buildConfig ?? facts.subject);
}

function withoutRef(uri: string): string {
  const at = uri.lastIndexOf('@');
  return at > uri.indexOf('://') + 3 ? uri.slice(0, at) : uri;
}

/** Whether provenance with these facts comes from `source`: issuer, repository, workflow file and ref. */
export function sourceMatches(source: ProvenanceSource, facts: ProvenanceFacts): boolean {
  if ((source.issuer ?? GITHUB_ACTIONS_ISSUER) !== facts.issuer) return false;
  const repository = repositoryUrl(source.repository);
  if (facts.repository !== repository) return false;
  if (source.workflow !== undefined) {
    const expected = /^https?:\/\//.test(source.workflow)
      ? withoutRef(source.workflow)
      : `${repository}/${source.workflow.replace(/^\/+/, '')}`;
    const actual = /^https?:\/\//.test(source.workflow) ? withoutRef(facts.subject) : workflowFile(facts);
    if (actual !== expected) return false;
  }
  if (source.ref !== undefined && !(facts.ref !== undefined && picomatch(source.ref, { dot: true })(facts.ref))) return false;
  return true;
}

export function describeSource(source: ProvenanceSource): string {
  const parts = [repositoryUrl(source.repository)];
  if (source.workflow) parts.push(`workflow ${source.workflow}`);
  if (source.ref) parts.push(`ref ${source.ref}`);
  if (source.issuer && source.issuer !== GITHUB_ACTIONS_ISSUER) parts.push(`issuer ${source.issuer}`);
  return parts.join(', ');
}

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** A duration as `--min-release-age` takes it: a whole number and a unit, `3d`, `12h`, `30m`, `2w`. */
export function parseDuration(value: string, flag = '--min-release-age'): number {
  const match = /^(\d+)\s*([smhdw])$/.exec(value.trim());
  if (!match) {
    throw new SignetError({ code: 'E_USAGE', message: `${flag} takes a duration such as 3d, 12h, 30m or 2w, not "${value}"` });
  }
  return Number(match[1]) * (UNITS[match[2] as string] as number);
}

export function formatDuration(ms: number): string {
  for (const [unit, size] of [
    ['d', UNITS.d],
    ['h', UNITS.h],
    ['m', UNITS.m],
  ] as const) {
    if (ms >= (size as number)) return `${Math.floor(ms / (size as number))}${unit}`;
  }
  return `${Math.max(0, Math.floor(ms / 1000))}s`;
}

/** Whether NAME@VERSION is named by an exception: a name glob, or NAME@VERSION exactly. */
export function isExcepted(exceptions: readonly string[] | undefined, name: string, version: string): boolean {
  if (!exceptions?.length) return false;
  return exceptions.some((exception) => {
    const at = exception.lastIndexOf('@');
    if (at > 0) return exception.slice(0, at) === name && exception.slice(at + 1) === version;
    return picomatch(exception, { dot: true })(name);
  });
}

/** The file trust on first use keeps (committed): each package's provenance identity, as first seen. */
interface IdentityFile {
  signetTrustOnFirstUse: 1;
  packages: Record<string, ProvenanceIdentity & { firstSeen: string }>;
}

/**
 * Trust on first use of provenance identities: the first verified provenance of a package is
 * recorded; every later version must have the same issuer, repository and workflow file, or it
 * fails, and so does a version without provenance of a package recorded with it.
 */
export class IdentityLedger {
  private recorded = new Map<string, ProvenanceIdentity & { firstSeen: string }>();
  private added = 0;

  private constructor(readonly file: string) {}

  /** Reads the file (none yet: an empty ledger, written on save). */
  static async open(file: string): Promise<IdentityLedger> {
    const ledger = new IdentityLedger(file);
    const text = await fs.readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw new SignetError({ code: 'E_INPUT', message: `${file} cannot be read: ${error.message}`, cause: error });
    });
    if (text === undefined) return ledger;
    let doc: IdentityFile;
    try {
      doc = JSON.parse(text) as IdentityFile;
    } catch (cause) {
      throw new SignetError({ code: 'E_INPUT', message: `${file} is not a trust-on-first-use file (JSON)`, cause });
    }
    if (doc?.signetTrustOnFirstUse !== 1 || typeof doc.packages !== 'object' || doc.packages === null) {
      throw new SignetError({ code: 'E_INPUT', message: `${file} is not a trust-on-first-use file (signetTrustOnFirstUse: 1, packages)` });
    }
    for (const [name, entry] of Object.entries(doc.packages)) {
      if (typeof entry?.issuer !== 'string') throw new SignetError({ code: 'E_INPUT', message: `${file}: ${name} has no issuer` });
      ledger.recorded.set(name, entry);
    }
    return ledger;
  }

  /**
   * Checks NAME@VERSION's provenance identity (undefined: it has none) against the ledger, and
   * records a package seen with provenance for the first time. Returns the problem, if any.
   */
  check(name: string, version: string, identity: ProvenanceIdentity | undefined): string | undefined {
    const known = this.recorded.get(name);
    if (!known) {
      if (identity) {
        this.recorded.set(name, { ...identity, firstSeen: `${name}@${version}` });
        this.added++;
      }
      return undefined;
    }
    const was = describeIdentity(known);
    if (!identity)
      return `${name} was published with provenance from ${was} (first seen in ${known.firstSeen}); ${name}@${version} has none`;
    if (identity.issuer !== known.issuer || identity.repository !== known.repository || identity.workflow !== known.workflow) {
      return `${name}@${version}'s provenance comes from ${describeIdentity(identity)}, not ${was} as recorded in ${this.file} (first seen in ${known.firstSeen})`;
    }
    return undefined;
  }

  /** How many packages were recorded for the first time in this run. */
  get newlyRecorded(): number {
    return this.added;
  }

  /** Writes the ledger when packages were added (sorted by name, so its diff is reviewable). */
  async save(): Promise<void> {
    if (this.added === 0) return;
    const packages = Object.fromEntries([...this.recorded].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    const doc: IdentityFile = { signetTrustOnFirstUse: 1, packages };
    await writeFileAtomic(this.file, `${JSON.stringify(doc, null, 2)}\n`);
  }
}

function describeIdentity(identity: ProvenanceIdentity): string {
  return [identity.repository ?? '(no repository)', identity.workflow ?? '', `(issuer ${identity.issuer})`].filter(Boolean).join(' ');
}
