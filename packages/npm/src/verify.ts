import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import {
  GITHUB_ACTIONS_ISSUER,
  type IdentityRule,
  isSignetError,
  type LoadTrustedRootOptions,
  loadTrustedRoot,
  type Policy,
  parseBundle,
  type SignerIdentity,
  SignetError,
  type TrustedRoot,
  type VerifiedSignature,
  verifyBundle,
} from '@signet/core';
import npa from 'npm-package-arg';
import semver from 'semver';
import ssri from 'ssri';
import { type PackageVersion, type Packument, RegistryClient, type RegistryOptions } from './registry';
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
  /** Trust material for keyless bundles, npm provenance and npm's publish attestations. */
  trustedRoot?: TrustedRoot;
  /** Without trustedRoot: how to load it, on first need (default: public-good through TUF). */
  trustedRootOptions?: LoadTrustedRootOptions;
  /** The Signet bundle for the package: a file. */
  bundle?: string;
  /** A folder of `NAME-VERSION.tgz.sigstore.json` bundles (as `signet npm publish` writes them). */
  bundleDir?: string;
  /** A package without a valid Signet signature fails (default true). */
  requireSignature?: boolean;
  /** A package without valid npm provenance fails (default false). */
  requireProvenance?: boolean;
  /** Whose npm provenance is accepted (default: any GitHub Actions or GitLab CI workflow). */
  provenanceIdentities?: IdentityRule[];
  /** The integrity a lockfile pins: the registry's must equal it. */
  expectedIntegrity?: string;
  /** Shared between packages (keys and trust material are fetched once). */
  client?: RegistryClient;
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
  provenance: Check<{ repository?: string; workflow?: string; identity: string; issuer: string }>;
  /** npm's publish attestation, signed with the registry's key. */
  publishAttestation: Check<{ keyid: string }>;
  /** One line for each failed or missing required check. */
  problems: string[];
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
  const manifest = resolveVersion(packument, parsed.fetchSpec, spec);
  const { name, version } = manifest;
  const purl = npmPurl(name, version);
  const integrity = manifest.dist.integrity;
  const problems: string[] = [];

  const tarball = await client.tarball(manifest.dist.tarball);
  const tarballSha512 = crypto.createHash('sha512').update(tarball).digest('hex');
  if (!integrity) problems.push(`${name}@${version} has no dist.integrity on the registry`);
  else if (!ssri.checkData(tarball, integrity)) problems.push(`the tarball of ${name}@${version} does not match its dist.integrity`);
  if (options.expectedIntegrity && integrity !== options.expectedIntegrity) {
    problems.push(`the registry's integrity of ${name}@${version} is not the lockfile's (${options.expectedIntegrity})`);
  }

  let trustedRoot = options.trustedRoot;
  const root = async () => {
    trustedRoot ??= await loadTrustedRoot(options.trustedRootOptions);
    return trustedRoot;
  };

  const signature = await checked(async () => {
    const found = await findSignetBundle(manifest, options, client);
    if (!found) return missing(`no Signet signature: ${signetBundleHint(manifest, options)}`);
    const bundle = parseBundle(JSON.parse(found.json));
    const needsRoot = bundle.verificationMaterial.content.$case !== 'publicKey' || bundle.verificationMaterial.tlogEntries.length > 0;
    const verified = await verifyBundle(bundle, { bytes: tarball }, options.policy, { trustedRoot: needsRoot ? await root() : undefined });
    assertNamesRelease(verified, purl, tarballSha512);
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
      const publicKey = crypto.createPublicKey({ key: Buffer.from(key.key, 'base64'), format: 'der', type: 'spki' });
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

  const attestations = manifest.dist.attestations?.url
    ? await client.json<{ attestations: { predicateType: string; bundle: unknown }[] }>(manifest.dist.attestations.url)
    : undefined;
  // A served document without an attestations list is malformed: both checks fail, neither is "missing".
  const listed = attestations === undefined || Array.isArray(attestations.attestations) ? attestations?.attestations : undefined;
  const malformed = attestations !== undefined && listed === undefined;
  const attestation = (predicate: (type: string) => boolean) => {
    if (malformed) throw new SignetError({ code: 'E_BUNDLE', message: "the registry's attestations document is malformed" });
    return listed?.find((a) => predicate(a.predicateType));
  };

  const provenance = await checked(async () => {
    const found = attestation((type) => type.startsWith('https://slsa.dev/provenance/'));
    if (!found) return missing('no npm provenance');
    const policy: Policy = { identities: options.provenanceIdentities ?? DEFAULT_PROVENANCE_IDENTITIES };
    const verified = await verifyBundle(parseBundle(found.bundle), { bytes: tarball }, policy, { trustedRoot: await root() });
    assertNamesRelease(verified, purl, tarballSha512);
    if (verified.signer.kind !== 'certificate')
      throw new SignetError({ code: 'E_POLICY', message: 'npm provenance signed by a key, not a CI identity' });
    return {
      status: 'verified' as const,
      ...sourceOf(verified.signer.subject),
      identity: verified.signer.subject,
      issuer: verified.signer.issuer,
    };
  });

  const publishAttestation = await checked(async () => {
    const found = attestation((type) => type === NPM_PUBLISH_PREDICATE_TYPE);
    if (!found) return missing('no npm publish attestation');
    const bundle = parseBundle(found.bundle);
    const hint = bundle.verificationMaterial.content.$case === 'publicKey' ? bundle.verificationMaterial.content.publicKey.hint : '';
    const key = (await client.registryKeys()).find((k) => k.keyid === hint);
    if (!key)
      throw new SignetError({
        code: 'E_POLICY',
        message: `the publish attestation is signed by ${hint || 'a key'} the registry does not publish`,
      });
    const publicKey = crypto.createPublicKey({ key: Buffer.from(key.key, 'base64'), format: 'der', type: 'spki' });
    const verified = await verifyBundle(
      bundle,
      { bytes: tarball },
      { keys: [{ publicKey, name: key.keyid }] },
      { trustedRoot: await root() },
    );
    assertNamesRelease(verified, purl, tarballSha512);
    return { status: 'verified' as const, keyid: key.keyid };
  });

  const requireSignature = options.requireSignature ?? true;
  for (const [label, check, required] of [
    ['Signet signature', signature, requireSignature],
    ['registry signature', registrySignature, false],
    ['npm provenance', provenance, options.requireProvenance ?? false],
    ['npm publish attestation', publishAttestation, false],
  ] as const) {
    if (check.status === 'failed') problems.push(`${label}: ${check.message}`);
    else if (check.status === 'missing' && required) problems.push(check.reason);
  }
  return { name, version, integrity, ok: problems.length === 0, signature, registrySignature, provenance, publishAttestation, problems };
}

function parseSpec(spec: string): { name: string; fetchSpec: string } {
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
  return { name: parsed.name, fetchSpec: parsed.fetchSpec ?? 'latest' };
}

function resolveVersion(packument: Packument, fetchSpec: string, spec: string): PackageVersion {
  const tagged = packument['dist-tags']?.[fetchSpec];
  const version = tagged ?? (packument.versions[fetchSpec] ? fetchSpec : semver.maxSatisfying(Object.keys(packument.versions), fetchSpec));
  const manifest = version ? packument.versions[version] : undefined;
  if (!manifest) throw new SignetError({ code: 'E_INPUT', message: `no version of ${packument.name} matches ${spec}` });
  return manifest;
}

/** The bundle of a release: given, in a folder, or where its package.json's `signet.bundle` says it is published. */
async function findSignetBundle(
  manifest: PackageVersion,
  options: NpmVerifyOptions,
  client: RegistryClient,
): Promise<{ json: string; source: string } | undefined> {
  if (options.bundle) return { json: await fs.readFile(options.bundle, 'utf8'), source: options.bundle };
  const fileName = `${tarballFileName(manifest.name, manifest.version)}.sigstore.json`;
  if (options.bundleDir) {
    const file = path.join(options.bundleDir, fileName);
    const json = await fs.readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    if (json !== undefined) return { json, source: file };
  }
  const template = manifest.signet?.bundle;
  if (!template) return undefined;
  const url = bundleUrl(template, manifest.name, manifest.version);
  const doc = await client.json<unknown>(url);
  return doc === undefined ? undefined : { json: JSON.stringify(doc), source: url };
}

/** `signet.bundle` with `{name}`, `{version}` and `{filename}` (the tarball's file name) filled in. */
export function bundleUrl(template: string, name: string, version: string): string {
  const url = template.replaceAll('{name}', name).replaceAll('{version}', version).replaceAll('{filename}', tarballFileName(name, version));
  if (!/^https?:\/\//.test(url))
    throw new SignetError({ code: 'E_INPUT', message: `${name}@${version}'s signet.bundle is not an http(s) URL: ${url}` });
  return url;
}

function signetBundleHint(manifest: PackageVersion, options: NpmVerifyOptions): string {
  const fileName = `${tarballFileName(manifest.name, manifest.version)}.sigstore.json`;
  if (manifest.signet?.bundle) return `${bundleUrl(manifest.signet.bundle, manifest.name, manifest.version)} does not exist`;
  if (options.bundleDir) return `${path.join(options.bundleDir, fileName)} does not exist and its package.json names no signet.bundle URL`;
  return `its package.json names no signet.bundle URL (give the bundle with --bundle or --bundle-dir)`;
}

/**
 * A bundle's statement must name this release in one subject: this package URL with this
 * tarball's sha512. verifyBundle accepts the tarball when any subject's digest matches; a
 * statement with several subjects must not let one package's tarball pass as another's.
 */
function assertNamesRelease(verified: VerifiedSignature, purl: string, sha512: string): void {
  const subjects = verified.statement?.subject ?? [];
  const isRelease = (subject: (typeof subjects)[number]) =>
    decoded(subject.name ?? '') === decoded(purl) && subject.digest.sha512?.toLowerCase() === sha512;
  if (!subjects.some(isRelease)) {
    throw new SignetError({
      code: 'E_SIGNATURE',
      message: `the bundle names ${subjects.map((s) => s.name).join(', ') || 'no package'}, not ${purl} with this tarball's sha512`,
    });
  }
}

/** A package URL with its percent-encoding undone (npm writes `%40scope`); a malformed one as it is. */
function decoded(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** Repository and workflow from a CI identity: https://github.com/OWNER/REPO/.github/workflows/FILE@REF. */
function sourceOf(identity: string): { repository?: string; workflow?: string } {
  const github = /^(https:\/\/github\.com\/[^/]+\/[^/]+)\/(\.github\/workflows\/.+)$/.exec(identity);
  if (github) return { repository: github[1], workflow: github[2] };
  const gitlab = /^(https:\/\/gitlab\.com\/.+?)\/\/(.+)$/.exec(identity);
  if (gitlab) return { repository: gitlab[1], workflow: gitlab[2] };
  return {};
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
