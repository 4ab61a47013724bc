import fs from 'node:fs/promises';
import path from 'node:path';
import {
  checkIdentityRule,
  type IdentityRule,
  type Policy,
  readRegularFile,
  redactSecrets,
  SignetError,
  trustedKeyFromRef,
} from '@signet/core';
import type * as SignetNpm from '@signet/npm';
import { count, createOutput, EXIT, type Output, reportError } from '../output';
import { type SigningFlags, signingContext } from './signing';
import { policyFromFlags, type TrustFlags } from './trust';

/** @signet/npm, loaded when an npm command runs (and named when it is not installed). */
function signetNpm(): typeof SignetNpm {
  try {
    return require('@signet/npm') as typeof SignetNpm;
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw cause;
    throw new SignetError({
      code: 'E_PROVIDER_MISSING',
      message: 'signet npm needs @signet/npm: npm install --save-dev @signet/npm',
      cause,
    });
  }
}

interface PublishFlags extends SigningFlags {
  workspaces?: boolean;
  dryRun?: boolean;
  tag?: string;
  access?: string;
  otp?: string;
  provenance?: boolean;
  registry?: string;
  npmArg: string[];
  allowSecret: string[];
  json?: boolean;
}

/** `signet npm publish [DIR]`: pack, sign the tarball, publish that tarball; or every workspace package. */
export async function npmPublish([dir = '.']: string[], flags: PublishFlags): Promise<number> {
  const out = createOutput(Boolean(flags.json));
  const npm = signetNpm();
  const npmArgs = [
    ...(flags.tag ? ['--tag', flags.tag] : []),
    ...(flags.access ? ['--access', flags.access] : []),
    ...(flags.otp ? ['--otp', flags.otp] : []),
    ...(flags.provenance ? ['--provenance'] : []),
    ...(flags.registry ? ['--registry', flags.registry] : []),
    ...flags.npmArg,
  ];
  if (!flags.dryRun && !flags.key) throw new SignetError({ code: 'E_USAGE', message: 'npm publish needs --key (a dry run does not)' });
  // A dry run signs nothing: the key is not even opened.
  const context = flags.dryRun ? undefined : await signingContext(flags, out);
  const options = { npmArgs, dryRun: flags.dryRun, signOptions: context?.options, allowSecrets: flags.allowSecret };
  if (flags.workspaces) {
    const results = await npm.publishWorkspaces(path.resolve(dir), context?.signer, options);
    for (const result of results) {
      if (result.release) reportRelease(out, result.release);
      else
        out.info(
          `${result.name}@${result.version}: skipped (${result.outcome === 'skipped-private' ? 'private' : 'already on the registry'})`,
        );
    }
    if (out.json) out.data({ ok: true, packages: results });
    return EXIT.OK;
  }
  const release = await npm.publishSigned(path.resolve(dir), context?.signer, options);
  reportRelease(out, release);
  if (out.json) out.data({ ok: true, ...release });
  return EXIT.OK;
}

function reportRelease(out: Output, release: SignetNpm.Release): void {
  const where = `${release.name}@${release.version}`;
  if (!release.published) {
    out.info(
      `dry run: would sign ${release.purl} (sha512 ${release.integrity}, ${count(release.files.length, 'file')}) and publish ${release.tarball}`,
    );
    if (release.dryRunOutput && !out.json) process.stderr.write(redactSecrets(release.dryRunOutput));
    return;
  }
  out.info(`signed and published ${where}: ${release.tarball}, signature ${release.bundlePath}`);
}

/** `signet npm guard`, for prepublishOnly: a plain `npm publish` of a folder is refused; `signet npm publish` publishes a tarball, which runs no scripts. */
export async function npmGuard(): Promise<number> {
  const name = process.env.npm_package_name ?? 'this package';
  return reportError(
    new SignetError({
      code: 'E_USAGE',
      message: `${name} is published with \`signet npm publish\`, which signs the tarball it publishes; a plain npm publish would publish it unsigned`,
    }),
    false,
  );
}

interface VerifyFlags extends TrustFlags {
  lockfile?: string;
  policy?: string;
  registry?: string;
  bundle?: string;
  bundleDir?: string;
  requireProvenance?: boolean;
  allowUnsigned?: boolean;
  concurrency?: string;
  threads?: string;
  allowUnverified: string[];
  bundleHost: string[];
  requireSignature: string[];
  minReleaseAge?: string;
  minReleaseAgeExclude: string[];
  trustOnFirstUse?: string;
}

/** A policy file: who may sign, and what each package needs. */
interface PolicyFile {
  keys?: string[];
  identities?: IdentityRule[];
  /** true (every package), false, or the names (globs) of the packages that must be signed. */
  requireSignature?: boolean | string[];
  requireProvenance?: boolean;
  provenanceIdentities?: IdentityRule[];
  /** Rules by package name, the first that matches applying (see @signet/npm's PackageRule; keys are paths). */
  packages?: (Omit<SignetNpm.PackageRule, 'keys'> & { keys?: string[] })[];
  /** A cooldown: `3d`. */
  minReleaseAge?: string;
  /** Exempt from the cooldown: names (globs) or NAME@VERSION. */
  minReleaseAgeExclude?: string[];
  /** The trust-on-first-use file, relative to the policy file. */
  trustOnFirstUse?: string;
}

/** `signet npm verify SPEC… | --lockfile FILE`: each package as its maintainer released it, or exit 1 naming what is wrong. */
export async function npmVerify(specs: string[], flags: VerifyFlags): Promise<number> {
  const out = createOutput(Boolean(flags.json));
  const npm = signetNpm();
  if (specs.length === 0 && !flags.lockfile)
    throw new SignetError({ code: 'E_USAGE', message: 'npm verify needs package specs or --lockfile' });
  const file = flags.policy ? await readPolicyFile(flags.policy) : {};
  // The policy file may be the only place keys and identities are named.
  const named =
    flags.key.length > 0 ||
    [flags.certificateIdentity, flags.certificateIdentityRegexp, flags.certificateOidcIssuer, flags.githubRepository].some(Boolean);
  const policy: Policy = named ? await policyFromFlags(flags) : {};
  if (file.keys)
    policy.keys = [
      ...(policy.keys ?? []),
      ...(await Promise.all(file.keys.map((ref) => trustedKeyFromRef(resolvePath(flags.policy as string, ref))))),
    ];
  if (file.identities) policy.identities = [...(policy.identities ?? []), ...file.identities];
  // A policy file's identity that would trust anyone is refused before anything is fetched.
  for (const rule of [...(policy.identities ?? []), ...(file.provenanceIdentities ?? [])]) checkIdentityRule(rule);
  if (flags.allowUnsigned && flags.requireSignature.length > 0) {
    throw new SignetError({ code: 'E_USAGE', message: '--allow-unsigned and --require-signature contradict each other: give one' });
  }
  const fromFile = file.requireSignature;
  if (
    fromFile !== undefined &&
    typeof fromFile !== 'boolean' &&
    !(Array.isArray(fromFile) && fromFile.every((n) => typeof n === 'string'))
  ) {
    throw new SignetError({
      code: 'E_INPUT',
      message: `${flags.policy}: requireSignature must be true, false or a list of package names (globs)`,
    });
  }
  const requireSignature = flags.allowUnsigned ? false : flags.requireSignature.length > 0 ? flags.requireSignature : (fromFile ?? true);
  const packages = await packageRules(flags.policy, file.packages);
  const minReleaseAge = flags.minReleaseAge ?? file.minReleaseAge;
  if (file.minReleaseAgeExclude !== undefined && !isStrings(file.minReleaseAgeExclude)) {
    throw new SignetError({
      code: 'E_INPUT',
      message: `${flags.policy}: minReleaseAgeExclude must be a list of names (globs) or NAME@VERSION`,
    });
  }
  const ledgerFile =
    flags.trustOnFirstUse ?? (file.trustOnFirstUse ? resolvePath(flags.policy as string, file.trustOnFirstUse) : undefined);
  const identityLedger = ledgerFile ? await npm.IdentityLedger.open(ledgerFile) : undefined;
  if (requireSignature !== false && !policy.keys?.length && !policy.identities?.length) {
    throw new SignetError({
      code: 'E_USAGE',
      message: 'name who may sign: --key, a --certificate-identity, or a --policy file (or --allow-unsigned)',
    });
  }
  const registry = flags.registry ?? (await npmConfig('registry'));
  const token = await registryToken(registry);
  const client = new npm.RegistryClient({ registry, token, bundleHosts: flags.bundleHost });
  const options: SignetNpm.NpmVerifyOptions = {
    policy,
    client,
    registry,
    bundle: flags.bundle,
    bundleDir: flags.bundleDir,
    requireSignature,
    requireProvenance: flags.requireProvenance ?? file.requireProvenance,
    provenanceIdentities: file.provenanceIdentities,
    packages,
    ...(minReleaseAge !== undefined ? { minReleaseAge: npm.parseDuration(String(minReleaseAge)) } : {}),
    minReleaseAgeExceptions: [...(file.minReleaseAgeExclude ?? []), ...flags.minReleaseAgeExclude],
    identityLedger,
    trustedRootOptions: {
      trustedRootPath: flags.trustedRoot,
      tufMirror: flags.tufMirror,
      tufRootPath: flags.tufRoot,
      offline: flags.offline,
    },
  };
  let reports: SignetNpm.PackageReport[];
  const started = process.hrtime.bigint();
  if (flags.lockfile) {
    const progress = lockfileProgress();
    try {
      reports = await npm.verifyLockfile(flags.lockfile, {
        ...options,
        concurrency: wholeNumber(flags.concurrency ?? '8', '--concurrency'),
        ...(flags.threads !== undefined ? { threads: wholeNumber(flags.threads, '--threads') } : {}),
        allowUnverified: flags.allowUnverified,
        onPackage: progress.update,
      });
    } finally {
      progress.stop();
    }
  } else {
    reports = await Promise.all(specs.map((spec) => npm.verifyNpmPackage(spec, options)));
  }
  // A tree is summed up (as npm audit signatures does) and only what fails or is skipped is listed.
  const listed = flags.lockfile ? reports.filter((r) => !r.ok || r.allowed) : reports;
  if (flags.lockfile) summarize(out, reports, Number(process.hrtime.bigint() - started) / 1e9);
  for (const report of listed) reportPackage(out, report);
  const failed = reports.filter((r) => !r.ok);
  await identityLedger?.save();
  if (identityLedger && identityLedger.newlyRecorded > 0) {
    out.info(
      `recorded the provenance identity of ${count(identityLedger.newlyRecorded, 'package')} in ${identityLedger.file} for the first time: commit it`,
    );
  }
  if (out.json) out.data({ ok: failed.length === 0, packages: reports });
  if (failed.length === 0) {
    const allowed = reports.filter((r) => r.allowed);
    const verified = reports.length - allowed.length;
    const skipped =
      allowed.length > 0 ? `; ${allowed.length} not verified, allowed by --allow-unverified: ${allowed.map((r) => r.name).join(', ')}` : '';
    out.info(`Verified OK: ${count(verified, 'package')}${skipped}`);
    return EXIT.OK;
  }
  const first = failed[0] as SignetNpm.PackageReport;
  return reportError(
    new SignetError({
      code: 'E_SIGNATURE',
      message: `${failed.length} of ${reports.length} packages failed verification; ${first.name}@${first.version}: ${first.problems[0]}`,
    }),
    false,
  );
}

/** The verdicts by check, as `npm audit signatures` sums them up. */
function summarize(out: Output, reports: SignetNpm.PackageReport[], seconds: number): void {
  if (out.json) return;
  const releases = reports.filter((r) => !r.allowed);
  const verified = (pick: (r: SignetNpm.PackageReport) => { status: string }) =>
    releases.filter((r) => pick(r).status === 'verified').length;
  const invalid = (pick: (r: SignetNpm.PackageReport) => { status: string }) => releases.filter((r) => pick(r).status === 'failed').length;
  const have = (n: number) => `${n} ${n === 1 ? 'package has' : 'packages have'}`;
  const lines = [`audited ${count(reports.length, 'package')} in ${seconds.toFixed(1)}s`, ''];
  const rows: [string, (r: SignetNpm.PackageReport) => { status: string }][] = [
    ['verified registry signatures', (r) => r.registrySignature],
    ['verified provenance', (r) => r.provenance],
    ["verified publish attestations (npm's key)", (r) => r.publishAttestation],
    ['a verified Signet signature', (r) => r.signature],
  ];
  for (const [what, pick] of rows) {
    const ok = verified(pick);
    const bad = invalid(pick);
    if (ok > 0) lines.push(`${have(ok)} ${what}`);
    if (bad > 0) lines.push(`${have(bad)} ${what.replace(/^(a )?verified /, 'invalid ')}`);
  }
  const young = reports.filter((r) => r.releaseAge?.status === 'too-new' || r.releaseAge?.status === 'unknown').length;
  const cooled = reports.filter((r) => r.releaseAge?.status === 'ok').length;
  if (cooled + young > 0) lines.push(`${have(cooled)} been public longer than the minimum release age${young ? `; ${young} not` : ''}`);
  const failed = reports.filter((r) => !r.ok).length;
  const allowed = reports.filter((r) => r.allowed).length;
  lines.push('');
  lines.push(
    `${count(reports.length - failed - allowed, 'package')} verified, ${failed} failed${allowed ? `, ${allowed} not verified and allowed` : ''}`,
  );
  for (const line of lines) out.info(line);
}

function isStrings(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

/** A policy file's package rules, checked for shape, their key paths read relative to the file. */
async function packageRules(policyFile: string | undefined, rules: PolicyFile['packages']): Promise<SignetNpm.PackageRule[] | undefined> {
  if (rules === undefined) return undefined;
  const bad = (why: string) => new SignetError({ code: 'E_INPUT', message: `${policyFile}: packages ${why}` });
  if (!Array.isArray(rules)) throw bad('must be a list of rules ({ "name": "@acme/*", … })');
  return Promise.all(
    rules.map(async (rule, i) => {
      if (typeof rule !== 'object' || rule === null) throw bad(`[${i}] is not a rule`);
      if (!(typeof rule.name === 'string' || isStrings(rule.name)) || rule.name.length === 0)
        throw bad(`[${i}] needs a name (a glob, or a list)`);
      for (const field of ['registrySignature', 'publishAttestation'] as const) {
        if (rule[field] !== undefined && typeof rule[field] !== 'boolean') throw bad(`[${i}].${field} must be true or false`);
      }
      const provenance = rule.provenance;
      if (provenance !== undefined && typeof provenance !== 'boolean') {
        for (const source of [provenance].flat()) {
          if (typeof source !== 'object' || source === null || typeof source.repository !== 'string') {
            throw bad(`[${i}].provenance must be true, or name a "repository" (with "workflow", "ref", "issuer" if you will)`);
          }
          for (const field of ['workflow', 'ref', 'issuer'] as const) {
            if (source[field] !== undefined && typeof source[field] !== 'string') throw bad(`[${i}].provenance.${field} must be a string`);
          }
        }
      }
      if (rule.keys !== undefined && !isStrings(rule.keys)) throw bad(`[${i}].keys must be a list of key files`);
      const keys = rule.keys
        ? await Promise.all(rule.keys.map((ref) => trustedKeyFromRef(resolvePath(policyFile as string, ref))))
        : undefined;
      return { ...rule, ...(keys ? { keys } : {}) } as SignetNpm.PackageRule;
    }),
  );
}

function reportPackage(out: Output, report: SignetNpm.PackageReport): void {
  if (out.json) return;
  if (report.allowed) {
    out.info(`skip ${report.name}${report.version ? `@${report.version}` : ''}: ${report.allowed}`);
    return;
  }
  const lines = [`${report.ok ? 'ok  ' : 'FAIL'} ${report.name}${report.version ? `@${report.version}` : ''}`];
  const { signature, provenance, registrySignature, publishAttestation } = report;
  if (signature.status === 'verified') {
    const who =
      signature.signer.kind === 'key' ? `key ${signature.signer.name}` : `${signature.signer.subject} (${signature.signer.issuer})`;
    lines.push(`  signed by ${who}`);
  } else lines.push(`  signature: ${signature.status === 'missing' ? signature.reason : `${signature.code}: ${signature.message}`}`);
  if (provenance.status === 'verified')
    lines.push(`  provenance: ${provenance.repository ?? provenance.identity} ${provenance.workflow ?? ''}`.trimEnd());
  else if (provenance.status === 'failed') lines.push(`  provenance: ${provenance.code}: ${provenance.message}`);
  if (registrySignature.status !== 'missing')
    lines.push(
      `  registry signature: ${registrySignature.status === 'verified' ? `ok (${registrySignature.keyid})` : registrySignature.message}`,
    );
  if (publishAttestation.status !== 'missing')
    lines.push(`  publish attestation: ${publishAttestation.status === 'verified' ? 'ok' : publishAttestation.message}`);
  for (const problem of report.problems) lines.push(`  problem: ${problem}`);
  for (const line of lines) out.info(line);
}

/** A progress bar on a terminal, nothing in CI logs. */
function lockfileProgress(): { update?: (report: SignetNpm.PackageReport, done: number, total: number) => void; stop(): void } {
  if (!process.stderr.isTTY) return { stop() {} };
  const { SingleBar, Presets } = require('cli-progress') as typeof import('cli-progress');
  const bar = new SingleBar(
    { format: 'verifying [{bar}] {value}/{total} packages', stream: process.stderr, hideCursor: true },
    Presets.shades_classic,
  );
  let started = false;
  return {
    update(_report, done, total) {
      if (!started) bar.start(total, 0);
      started = true;
      bar.update(done);
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

async function readPolicyFile(file: string): Promise<PolicyFile> {
  const text = (await readRegularFile(file)).toString('utf8');
  try {
    return JSON.parse(text) as PolicyFile;
  } catch (cause) {
    throw new SignetError({ code: 'E_INPUT', message: `${file} is not a JSON policy file`, cause });
  }
}

/** A key file named in a policy file is relative to that file. */
function resolvePath(policyFile: string, ref: string): string {
  return /^[a-z0-9+.-]+:/i.test(ref) || ref.includes('-----BEGIN') ? ref : path.resolve(path.dirname(policyFile), ref);
}

/**
 * The auth token npm would send to `registry` (`//HOST/PATH/:_authToken` in the project's or
 * the user's .npmrc, with npm's `${VAR}` expansion). npm refuses to print tokens, so Signet
 * reads the same files; the token only ever goes to that registry.
 */
async function registryToken(registry: string): Promise<string | undefined> {
  const ini = require('ini') as typeof import('ini');
  const key = `${new URL(registry).href.replace(/^https?:/, '')}:_authToken`;
  for (const file of [path.resolve('.npmrc'), await npmConfig('userconfig')]) {
    const text = await fs.readFile(file, 'utf8').catch(() => undefined);
    const value = text === undefined ? undefined : ini.parse(text)[key];
    if (typeof value === 'string' && value) return value.replace(/\$\{([^}]+)\}/g, (_, name: string) => process.env[name] ?? '');
  }
  return undefined;
}

/** One value of the user's npm configuration (registry, a token), as npm itself resolves it. */
async function npmConfig(key: string): Promise<string> {
  const { runNpm } = signetNpm();
  const { stdout } = await runNpm(['config', 'get', key], { cwd: process.cwd() });
  const value = stdout.trim();
  return value === 'undefined' ? '' : value;
}

/** A flag that takes a whole number of at least 1. */
function wholeNumber(value: string, flag: string): number {
  if (!/^[1-9]\d*$/.test(value))
    throw new SignetError({ code: 'E_USAGE', message: `${flag} takes a whole number of at least 1, not "${value}"` });
  return Number(value);
}
