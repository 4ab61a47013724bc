import crypto from 'node:crypto';
import path from 'node:path';
import {
  type Bundle,
  createVerifier,
  GITHUB_ACTIONS_ISSUER,
  type IdentityRule,
  isSignetError,
  type LoadTrustedRootOptions,
  loadTrustedRoot,
  NPM_RELEASE_PREDICATE_TYPE,
  type Policy,
  parseBundle,
  readRegularFile,
  type SignerIdentity,
  SignetError,
  type TrustedRoot,
  type Verified,
} from '@signet/core';
import npa from 'npm-package-arg';
import picomatch from 'picomatch';
import semver from 'semver';
import ssri from 'ssri';
import {
  describeSource,
  formatDuration,
  type IdentityLedger,
  identityRulesFor,
  isExcepted,
  type PackageRule,
  type ProvenanceIdentity,
  provenanceSources,
  ruleFor,
  sourceMatches,
  workflowFile,
} from './package-policy';
import { type PackageVersion, type Packument, RegistryClient, type RegistryKey, type RegistryOptions, versionEntryOf } from './registry';
import { npmPurl, tarballFileName } from './release';

/** npm's publish attestation: the registry's statement that it received this tarball from this publisher. */
export const NPM_PUBLISH_PREDICATE_TYPE = 'https://github.com/npm/attestation/tree/main/specs/publish/v0.1';

/** The CI systems npm accepts provenance from, by default any of their workflows. */
export const DEFAULT_PROVENANCE_IDENTITIES: IdentityRule[] = [
  { issuer: GITHUB_ACTIONS_ISSUER, subjectRegExp: 'https://github\\.com/.+' },
  { issuer: 'https://gitlab.com', subjectRegExp: 'https://gitlab\\.com/.+' },
];

export interface NpmVerifyOptions extends RegistryOptions {
  /** Who may sign the maintainer's Signet bundle: keys or identities. */
  policy: Policy;
  /**
   * Trust material for keyless bundles, npm provenance and npm's publish attestations; or how to
   * get it on first need, once for many packages (a tree's verification loads it once).
   */
  trustedRoot?: TrustedRoot | (() => Promise<TrustedRoot>);
  /** Without trustedRoot: how to load it, on first need (default: public-good through TUF). */
  trustedRootOptions?: LoadTrustedRootOptions;
  /** The Signet bundle for the package: a file. */
  bundle?: string;
  /** A folder of `NAME-VERSION.tgz.sigstore.json` bundles (as `signet npm publish` writes them). */
  bundleDir?: string;
  /**
   * Which packages fail without a valid Signet signature: all (true, the default), none (false),
   * or those whose names match these globs (`@my-org/*`), the rest checked for integrity and
   * npm's own signatures only. A signature that is there is checked either way.
   */
  requireSignature?: boolean | string[];
  /** A package without valid npm provenance fails (default false). */
  requireProvenance?: boolean;
  /** Whose npm provenance is accepted (default: any GitHub Actions or GitLab CI workflow). */
  provenanceIdentities?: IdentityRule[];
  /** The integrity a lockfile pins: the registry's must equal it. */
  expectedIntegrity?: string;
  /** Shared between packages (keys and trust material are fetched once). */
  client?: RegistryClient;
  /**
   * Rules by package name, the first whose pattern matches applying: where its provenance must
   * come from, which of npm's signatures it must have, whose keys must sign it.
   */
  packages?: PackageRule[];
  /** A version the registry says was published less than this many milliseconds ago fails (a cooldown). */
  minReleaseAge?: number;
  /** Exempt from minReleaseAge: package names (globs) or NAME@VERSION. */
  minReleaseAgeExceptions?: string[];
  /** Trust on first use: each package's provenance identity must be the one first recorded. */
  identityLedger?: IdentityLedger;
  /** What "now" is for the release age (default: the clock). */
  now?: Date;
}

export type Check<T> =
  | ({ status: 'verified' } & T)
  | { status: 'missing'; reason: string }
  | { status: 'failed'; code: string; message: string };

export interface PackageReport {
  name: string;
  version: string;
  integrity?: string;
  /** Every required check verified, and none failed. */
  ok: boolean;
  /** The maintainer's Signet bundle. */
  signature: Check<{ signer: SignerIdentity; source: string }>;
  /** The registry's ECDSA signature over `NAME@VERSION:INTEGRITY` (`dist.signatures`). */
  registrySignature: Check<{ keyid: string }>;
  /** npm provenance (SLSA): where and how the release was built. */
  provenance: Check<{
    repository?: string;
    workflow?: string;
    identity: string;
    issuer: string;
    /** The ref the workflow ran at (Fulcio 1.14). */
    ref?: string;
    /** The workflow file run, without its ref: what trust on first use records. */
    workflowFile?: string;
  }>;
  /** npm's publish attestation, signed with the registry's key. */
  publishAttestation: Check<{ keyid: string }>;
  /** One line for each failed or missing required check. */
  problems: string[];
  /** Set when the package has no registry release to verify and was accepted by name (--allow-unverified). */
  allowed?: string;
  /** When the registry says this version was published (its package document's `time`). */
  published?: string;
  /** With a minimum release age: whether the version is old enough (or named as an exception). */
  releaseAge?: { status: 'ok' | 'too-new' | 'excepted' | 'unknown'; minimum: string };
  /** The package rule that applied (its name patterns). */
  rule?: string[];
}

/**
 * Verifies one package version before it is used: the tarball against the registry's
 * `dist.integrity`, the maintainer's Signet bundle under `policy`, and npm's own registry
 * signature, provenance and publish attestation when the registry serves them. Each bundle
 * is checked against these tarball bytes: a valid bundle for another version or tarball
 * (its subject's sha512 differs) fails.
 */
export async function verifyNpmPackage(spec: string, options: NpmVerifyOptions): Promise<PackageReport> {
  const client = options.client ?? new RegistryClient(options);
  const parsed = parseSpec(spec);
  const packument = await client.packument(parsed.name);
  const { name, version, manifest } = resolveVersion(packument, parsed, spec);
  const purl = npmPurl(name, version);
  const integrity = manifest.dist.integrity;
  const problems: string[] = [];

  // The attestations are fetched while the tarball is (each needs only the package document);
  // awaited below, after the tarball, so a failing tarball is still the error reported.
  const attestationsUrl = manifest.dist.attestations?.url;
  const attestations = attestationsUrl ? client.json<unknown>(attestationsUrl) : Promise.resolve(undefined);
  attestations.catch(() => {});
  const tarball = await client.tarball(manifest.dist.tarball);
  if (!integrity) problems.push(`${name}@${version} has no dist.integrity on the registry`);
  else if (!ssri.checkData(tarball, integrity)) problems.push(`the tarball of ${name}@${version} does not match its dist.integrity`);
  if (options.expectedIntegrity && integrity !== options.expectedIntegrity) {
    problems.push(`the registry's integrity of ${name}@${version} is not the lockfile's (${options.expectedIntegrity})`);
  }

  const rule = ruleFor(options.packages, name);
  const sources = provenanceSources(rule);
  const published = packument.time?.[version];
  const releaseAge = options.minReleaseAge === undefined ? undefined : checkReleaseAge(name, version, published, options, problems);

  // Every bundle must name this release (its purl) with these tarball bytes.
  const release = { bytes: tarball, name: purl };
  const root = typeof options.trustedRoot === 'function' ? options.trustedRoot : trustedRootOnce(options);
  const verifier = (policy: Policy) => createVerifier({ policy, trustedRoot: root });

  const signature = await checked(async () => {
    const found = await findSignetBundle(manifest, name, version, options, client);
    if (!found) return missing(`no Signet signature: ${signetBundleHint(manifest, name, version, options)}`);
    const bundle = parseBundle(found.json, found.source);
    // A rule naming keys: those keys and no other signer.
    const policy: Policy = rule?.keys ? { keys: rule.keys } : options.policy;
    const verified = await verifier({ ...policy, predicateTypes: [NPM_RELEASE_PREDICATE_TYPE] }).verify(bundle, release);
    return { status: 'verified' as const, signer: verified.signer, source: found.source };
  });

  const registrySignature = await checked(async () => {
    const signatures = manifest.dist.signatures ?? [];
    if (signatures.length === 0) return missing('the registry serves no signature (dist.signatures)');
    const keys = await client.registryKeys();
    const published = packument.time?.[version] ? new Date(packument.time[version] as string) : new Date();
    for (const { keyid, sig } of signatures) {
      const key = keys.find((k) => k.keyid === keyid);
      if (!key) continue;
      if (key.expires && new Date(key.expires) < published) {
        throw new SignetError({ code: 'E_POLICY', message: `the registry key ${keyid} had expired when ${name}@${version} was published` });
      }
      const publicKey = registryPublicKey(key);
      const message = Buffer.from(`${name}@${version}:${integrity}`);
      if (!crypto.verify('sha256', message, publicKey, Buffer.from(sig, 'base64'))) {
        throw new SignetError({
          code: 'E_SIGNATURE',
          message: `the registry signature of ${name}@${version} (key ${keyid}) does not verify`,
        });
      }
      return { status: 'verified' as const, keyid };
    }
    return missing(`the registry publishes none of the keys its signatures name (${signatures.map((s) => s.keyid).join(', ')})`);
  });

  const document = await attestations;

  const provenance = await checked(async () => {
    const identities = sources.length > 0 ? identityRulesFor(sources) : (options.provenanceIdentities ?? DEFAULT_PROVENANCE_IDENTITIES);
    const verified = await firstVerified(document, SLSA_PROVENANCE_TYPES, async (bundle) => {
      const result = await verifier({ identities, predicateTypes: SLSA_PROVENANCE_TYPES }).verify(bundle, release);
      if (result.signer.kind !== 'certificate') {
        throw new SignetError({ code: 'E_POLICY', message: 'npm provenance signed by a key, not a CI identity' });
      }
      const { sourceRepository, sourceRepositoryRef, buildConfigURI } = result.signer.extensions;
      const facts = {
        issuer: result.signer.issuer,
        subject: result.signer.subject,
        repository: sourceRepository,
        ref: sourceRepositoryRef,
        buildConfig: buildConfigURI,
      };
      if (sources.length > 0 && !sources.some((source) => sourceMatches(source, facts))) {
        throw new SignetError({
          code: 'E_POLICY',
          message: `${name}@${version}'s provenance was built by ${sourceRepository ?? '(no repository)'} running ${workflowFile(facts)} at ${sourceRepositoryRef ?? '(no ref)'} (issuer ${result.signer.issuer}), not by ${sources.map(describeSource).join(' or ')} as the policy requires`,
        });
      }
      return result;
    });
    if (!verified) return missing('no npm provenance');
    if (verified.signer.kind !== 'certificate')
      throw new SignetError({ code: 'E_INTERNAL', message: 'provenance signer is not a certificate' });
    const { sourceRepository, sourceRepositoryRef, buildSignerURI, buildConfigURI } = verified.signer.extensions;
    return {
      status: 'verified' as const,
      repository: sourceRepository,
      workflow: buildSignerURI ?? verified.signer.subject,
      identity: verified.signer.subject,
      issuer: verified.signer.issuer,
      ...(sourceRepositoryRef ? { ref: sourceRepositoryRef } : {}),
      workflowFile: workflowFile({ subject: verified.signer.subject, buildConfig: buildConfigURI }),
    };
  });

  const publishAttestation = await checked(async () => {
    const keys = await client.registryKeys();
    const verified = await firstVerified(document, [NPM_PUBLISH_PREDICATE_TYPE], (bundle) => {
      const hint = bundle.verificationMaterial.content.$case === 'publicKey' ? bundle.verificationMaterial.content.publicKey.hint : '';
      const key = keys.find((k) => k.keyid === hint);
      if (!key) {
        throw new SignetError({
          code: 'E_POLICY',
          message: `the publish attestation is signed by ${hint || 'a key'} the registry does not publish`,
        });
      }
      return verifier({
        keys: [{ publicKey: registryPublicKey(key), name: key.keyid }],
        predicateTypes: [NPM_PUBLISH_PREDICATE_TYPE],
      }).verify(bundle, release);
    });
    if (!verified) return missing('no npm publish attestation');
    return { status: 'verified' as const, keyid: verified.signer.kind === 'key' ? verified.signer.name : '' };
  });

  const requireSignature =
    rule?.keys !== undefined ||
    (Array.isArray(options.requireSignature)
      ? picomatch(options.requireSignature, { dot: true })(name)
      : (options.requireSignature ?? true));
  for (const [label, check, required] of [
    ['Signet signature', signature, requireSignature],
    ['registry signature', registrySignature, rule?.registrySignature ?? false],
    ['npm provenance', provenance, rule?.provenance ? true : (options.requireProvenance ?? false)],
    ['npm publish attestation', publishAttestation, rule?.publishAttestation ?? false],
  ] as const) {
    if (check.status === 'failed') problems.push(`${label}: ${check.message}`);
    else if (check.status === 'missing' && required)
      problems.push(
        `${check.reason}${rule && label !== 'Signet signature' ? ` (the policy requires it of ${[rule.name].flat().join(', ')})` : ''}`,
      );
  }
  const report: PackageReport = {
    name,
    version,
    integrity,
    ok: problems.length === 0,
    signature,
    registrySignature,
    provenance,
    publishAttestation,
    problems,
    ...(published ? { published } : {}),
    ...(releaseAge ? { releaseAge } : {}),
    ...(rule ? { rule: [rule.name].flat() } : {}),
  };
  if (options.identityLedger) checkProvenanceIdentity(report, options.identityLedger);
  return report;
}

/** The report of a package that could not be checked at all (not on the registry, the registry down). */
export function failedReport(pkg: { name: string; version: string; integrity?: string }, error: unknown): PackageReport {
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

/**
 * The trusted root as the options give it, loaded (from a file, or through TUF) at most once
 * by the function returned.
 */
export function trustedRootOnce(options: Pick<NpmVerifyOptions, 'trustedRoot' | 'trustedRootOptions'>): () => Promise<TrustedRoot> {
  const given = options.trustedRoot;
  if (typeof given === 'function') return given;
  let loaded: Promise<TrustedRoot> | undefined;
  return () => {
    loaded ??= given ? Promise.resolve(given) : loadTrustedRoot(options.trustedRootOptions);
    return loaded;
  };
}

/**
 * Trust on first use: the identity of the report's verified provenance (or none, when it has
 * none; a failed one has failed already) against the ledger, a change failing the report.
 */
export function checkProvenanceIdentity(report: PackageReport, ledger: IdentityLedger): void {
  const { provenance } = report;
  if (provenance.status === 'failed') return;
  const identity: ProvenanceIdentity | undefined =
    provenance.status === 'verified'
      ? {
          issuer: provenance.issuer,
          ...(provenance.repository ? { repository: provenance.repository } : {}),
          ...(provenance.workflowFile ? { workflow: provenance.workflowFile } : {}),
        }
      : undefined;
  const problem = ledger.check(report.name, report.version, identity);
  if (problem) {
    report.problems.push(`trust on first use: ${problem}`);
    report.ok = false;
  }
}

/**
 * The cooldown: a version published (by the registry's `time`) less than minReleaseAge ago fails,
 * unless named as an exception; so does one whose publication time the registry does not give.
 */
function checkReleaseAge(
  name: string,
  version: string,
  published: string | undefined,
  options: NpmVerifyOptions,
  problems: string[],
): NonNullable<PackageReport['releaseAge']> {
  const minimum = options.minReleaseAge as number;
  const label = formatDuration(minimum);
  if (isExcepted(options.minReleaseAgeExceptions, name, version)) return { status: 'excepted', minimum: label };
  const time = published === undefined ? Number.NaN : Date.parse(published);
  if (Number.isNaN(time)) {
    problems.push(`the registry gives no publication time for ${name}@${version}, so its release age cannot be checked (minimum ${label})`);
    return { status: 'unknown', minimum: label };
  }
  const age = (options.now ?? new Date()).getTime() - time;
  if (age < minimum) {
    problems.push(
      `${name}@${version} was published ${formatDuration(age)} ago (${published}), less than the minimum release age of ${label}; name it with --min-release-age-exclude to install it now`,
    );
    return { status: 'too-new', minimum: label };
  }
  return { status: 'ok', minimum: label };
}

/** Registry keys parsed, by their base64 SPKI: every package of a tree is signed with the same few. */
const registryPublicKeys = new Map<string, crypto.KeyObject>();

/** A registry key's public key (base64 SPKI DER), or E_PROVIDER naming it when it is not one. */
function registryPublicKey(key: RegistryKey): crypto.KeyObject {
  try {
    let parsed = registryPublicKeys.get(key.key);
    if (!parsed) {
      parsed = crypto.createPublicKey({ key: Buffer.from(key.key, 'base64'), format: 'der', type: 'spki' });
      registryPublicKeys.set(key.key, parsed);
    }
    return parsed;
  } catch (cause) {
    throw new SignetError({ code: 'E_PROVIDER', message: `the registry's key ${key.keyid} is not a readable public key`, cause });
  }
}

/** SLSA provenance as npm publishes it (v1 since npm 9.x; v0.2 before). */
const SLSA_PROVENANCE_TYPES = ['https://slsa.dev/provenance/v1', 'https://slsa.dev/provenance/v0.2'];

/**
 * Verifies the first attestation of the registry's document (`{ attestations: [{ predicateType,
 * bundle }] }`) that is of one of `types` and verifies; undefined when none is of those types;
 * the first failure when some are and none verifies. An attestation's type is the one its own
 * statement claims (the listed predicateType is the registry's unsigned label, used only when
 * the statement cannot be read), and the verifier then holds the statement to it.
 */
async function firstVerified(
  document: unknown,
  types: readonly string[],
  verify: (bundle: Bundle) => Promise<Verified>,
): Promise<Verified | undefined> {
  if (document === undefined) return undefined;
  const list = (document as { attestations?: unknown } | null)?.attestations;
  if (!Array.isArray(list)) throw new SignetError({ code: 'E_BUNDLE', message: "the registry's attestations document is malformed" });
  let firstError: unknown;
  for (const [i, entry] of list.entries()) {
    const { predicateType, bundle } = (typeof entry === 'object' && entry !== null ? entry : {}) as {
      predicateType?: unknown;
      bundle?: unknown;
    };
    if (!types.includes(claimedPredicateType(bundle) ?? (typeof predicateType === 'string' ? predicateType : ''))) continue;
    try {
      return await verify(parseBundle(bundle, `the registry's attestation ${i + 1}`));
    } catch (error) {
      firstError ??= error;
    }
  }
  if (firstError !== undefined) throw firstError;
  return undefined;
}

/** The predicate type a DSSE bundle's statement claims, before its signature is checked. */
function claimedPredicateType(bundle: unknown): string | undefined {
  const payload = (bundle as { dsseEnvelope?: { payload?: unknown } } | null)?.dsseEnvelope?.payload;
  if (typeof payload !== 'string') return undefined;
  try {
    const type = (JSON.parse(Buffer.from(payload, 'base64').toString('utf8')) as { predicateType?: unknown }).predicateType;
    return typeof type === 'string' ? type : undefined;
  } catch {
    return undefined;
  }
}

function parseSpec(spec: string): ParsedSpec {
  let parsed: ReturnType<typeof npa>;
  try {
    parsed = npa(spec);
  } catch (cause) {
    throw new SignetError({
      code: 'E_INPUT',
      message: `${spec} is not a package spec (NAME, NAME@VERSION, NAME@RANGE or NAME@TAG)`,
      cause,
    });
  }
  if (!parsed.registry || !parsed.name) {
    throw new SignetError({
      code: 'E_INPUT',
      message: `${spec} is not a registry package spec (NAME@VERSION); git, file and URL specs have no registry signatures`,
    });
  }
  const type = parsed.type === 'version' || parsed.type === 'range' ? parsed.type : 'tag';
  return { name: parsed.name, fetchSpec: parsed.fetchSpec ?? 'latest', type };
}

interface ParsedSpec {
  name: string;
  fetchSpec: string;
  /** What npm reads the spec as: an exact version, a range, or a dist-tag. */
  type: 'version' | 'range' | 'tag';
}

/**
 * The version a spec names and its entry in the packument. The entry is registry metadata: it
 * must say the package and version it is filed under, or a registry could serve the signed
 * 1.0.0 as 2.0.0.
 */
function resolveVersion(
  packument: Packument,
  parsed: ParsedSpec,
  spec: string,
): { name: string; version: string; manifest: PackageVersion } {
  const versions = packument.versions;
  const has = (version: string) => Object.hasOwn(versions, version);
  // As npm reads the spec: an exact version is that version and nothing else (a dist-tag of the
  // same name must not redirect it), a range the highest match, a tag what the tag names.
  const tags = packument['dist-tags'] ?? {};
  const version =
    parsed.type === 'version'
      ? parsed.fetchSpec
      : parsed.type === 'tag'
        ? Object.hasOwn(tags, parsed.fetchSpec)
          ? tags[parsed.fetchSpec]
          : undefined
        : semver.maxSatisfying(Object.keys(versions), parsed.fetchSpec);
  if (!version || !has(version)) throw new SignetError({ code: 'E_INPUT', message: `no version of ${parsed.name} matches ${spec}` });
  const manifest = versionEntryOf(versions[version], `the registry's entry for ${parsed.name}@${version}`);
  if (packument.name !== parsed.name || manifest.name !== parsed.name || manifest.version !== version) {
    throw new SignetError({
      code: 'E_SIGNATURE',
      message: `the registry files ${manifest.name}@${manifest.version} (packument ${packument.name}) as ${parsed.name}@${version}: it is not the package asked for`,
    });
  }
  return { name: parsed.name, version, manifest };
}

/** The bundle of a release: given, in a folder, or where its package.json's `signet.bundle` says it is published. */
async function findSignetBundle(
  manifest: PackageVersion,
  name: string,
  version: string,
  options: NpmVerifyOptions,
  client: RegistryClient,
): Promise<{ json: string; source: string } | undefined> {
  if (options.bundle) return { json: (await readRegularFile(options.bundle)).toString('utf8'), source: options.bundle };
  const fileName = `${tarballFileName(name, version)}.sigstore.json`;
  if (options.bundleDir) {
    const file = path.join(options.bundleDir, fileName);
    const json = await readRegularFile(file).then(
      (bytes) => bytes.toString('utf8'),
      (error: SignetError) => {
        if ((error.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return undefined;
        throw error;
      },
    );
    if (json !== undefined) return { json, source: file };
  }
  const template = manifest.signet?.bundle;
  if (!template) return undefined;
  const url = bundleUrl(template, name, version);
  const json = await client.signetBundle(url);
  return json === undefined ? undefined : { json, source: url };
}

/** `signet.bundle` with `{name}`, `{version}` and `{filename}` (the tarball's file name) filled in. */
export function bundleUrl(template: string, name: string, version: string): string {
  const url = template.replaceAll('{name}', name).replaceAll('{version}', version).replaceAll('{filename}', tarballFileName(name, version));
  if (!/^https?:\/\//.test(url))
    throw new SignetError({ code: 'E_INPUT', message: `${name}@${version}'s signet.bundle is not an http(s) URL: ${url}` });
  return url;
}

function signetBundleHint(manifest: PackageVersion, name: string, version: string, options: NpmVerifyOptions): string {
  const fileName = `${tarballFileName(name, version)}.sigstore.json`;
  if (manifest.signet?.bundle) return `${bundleUrl(manifest.signet.bundle, name, version)} does not exist`;
  if (options.bundleDir) return `${path.join(options.bundleDir, fileName)} does not exist and its package.json names no signet.bundle URL`;
  return `its package.json names no signet.bundle URL (give the bundle with --bundle or --bundle-dir)`;
}

function missing(reason: string): { status: 'missing'; reason: string } {
  return { status: 'missing', reason };
}

/** A check's outcome: a SignetError becomes `failed` with its code; anything else is a bug and propagates. */
async function checked<T>(run: () => Promise<Check<T>>): Promise<Check<T>> {
  try {
    return await run();
  } catch (error) {
    if (isSignetError(error) && error.code !== 'E_PROVIDER' && error.code !== 'E_PERMISSION') {
      return { status: 'failed', code: error.code, message: error.message };
    }
    throw error;
  }
}
