import type { KeyObject } from 'node:crypto';
import type { CertificateExtensions } from './certificate-identity';
import { SignetError } from './errors';
import { assertAcceptableKey, fingerprintOfHint, parsePublicKey, publicKeyHint } from './public-key';
import { COSIGN_SIGN_PREDICATE_TYPE, NPM_RELEASE_PREDICATE_TYPE, PREDICATE_TYPES } from './statement';

/**
 * A public key the verifier trusts, optionally only within a window: that is how key
 * rotation works. The old and the new key are both trusted for a transition period;
 * a signature from a key outside its window is refused. The time compared is a trusted
 * time of the signature (a log entry's signed timestamp, or an RFC 3161 timestamp from a
 * trusted TSA) when the bundle has one, and the time of verification when it has none.
 */
export interface TrustedKey {
  /** PEM text or a parsed key. */
  publicKey: string | KeyObject;
  /** How results and errors name the key: a path or a URI. Defaults to its fingerprint. */
  name?: string;
  validFrom?: Date;
  validUntil?: Date;
}

/**
 * A keyless identity: the OIDC issuer and the subject (the certificate's SAN), each matched
 * exactly or by a regular expression that must match the whole value, never a substring:
 * `https://github.com/org/` must not admit `https://github.com/org/../evil`. A CI identity
 * can also require the repository that ran the build and its ref, which Fulcio records in
 * extensions: the SAN of a reusable workflow names where the workflow is defined, not who ran it.
 */
export interface IdentityRule {
  issuer?: string;
  issuerRegExp?: string;
  subject?: string;
  subjectRegExp?: string;
  /** The source repository that ran the build, exactly (Fulcio 1.3.6.1.4.1.57264.1.12, or 1.5): https://github.com/OWNER/REPO. */
  sourceRepository?: string;
  /** The ref it ran at, exactly (Fulcio …1.14, or 1.6): refs/tags/v1.2.0. */
  sourceRepositoryRef?: string;
}

/**
 * What a signature must say about the artifact. A release signature (the default) is a
 * message signature over the artifact, or a statement of a release predicate type: Signet's
 * build manifest, Signet's npm release, cosign's image signature. Any other statement
 * (an SBOM, provenance, a VEX) proves only what its type says, and counts only where the
 * caller names its type: a list accepts statements of those types and nothing else. `any`
 * accepts every signature and statement; it is for generic bundle verification (the
 * sigstore-conformance protocol), where the caller does not care what was signed.
 */
export type AcceptedContent = readonly string[] | 'any';

/** Statements that say "this artifact was released by this signer". */
export const RELEASE_PREDICATE_TYPES: readonly string[] = [
  PREDICATE_TYPES.signet as string,
  NPM_RELEASE_PREDICATE_TYPE,
  COSIGN_SIGN_PREDICATE_TYPE,
];

/** What a verifier accepts. */
export interface Policy {
  /** Any of these keys (rotation: several keys, each with its window). */
  keys?: TrustedKey[];
  /** Any of these identities, for certificate (keyless) bundles. */
  identities?: IdentityRule[];
  /** Transparency-log entries required (default: 0 for keys, 1 for certificates). */
  tlogThreshold?: number;
  /** Trusted timestamps (log or TSA) required (default: 0 for keys, 1 for certificates). */
  timestampThreshold?: number;
  /** Certificate-transparency SCTs required for certificates (default 1). */
  ctlogThreshold?: number;
  /** What the signature must say (default: a release; see AcceptedContent). */
  predicateTypes?: AcceptedContent;
}

/** A TrustedKey parsed once for the verifier. */
export interface ResolvedKey {
  key: KeyObject;
  /** The hint a bundle signed with this key carries (base64 of the SPKI's SHA-256). */
  hint: string;
  /** `sha256:HEX`, as Signet prints keys. */
  fingerprint: string;
  name: string;
  validFrom?: Date;
  validUntil?: Date;
}

/** Parses the trusted keys, refusing keys too weak to trust (RSA under 2048 bits, DSA, unlisted curves) with E_KEY. */
export function resolveKeys(keys: readonly TrustedKey[]): ResolvedKey[] {
  return keys.map((trusted, i) => {
    const label = trusted.name ?? `key ${i + 1}`;
    const { key, hint } = parsedKey(trusted.publicKey, label);
    const fingerprint = fingerprintOfHint(hint);
    assertAcceptableKey(key, label);
    return {
      key,
      hint,
      fingerprint,
      name: trusted.name ?? fingerprint,
      validFrom: trusted.validFrom,
      validUntil: trusted.validUntil,
    };
  });
}

// A deploy gate or webhook verifies many bundles against the same few keys; parsing a PEM
// and exporting its DER for the fingerprint cost more than the signature check itself.
const byPem = new Map<string, { key: KeyObject; hint: string }>();
const byObject = new WeakMap<KeyObject, { key: KeyObject; hint: string }>();
const PEM_CACHE_SIZE = 256;

function parsedKey(material: string | KeyObject, name: string): { key: KeyObject; hint: string } {
  if (typeof material !== 'string') {
    let entry = byObject.get(material);
    if (!entry) {
      entry = { key: material, hint: publicKeyHint(material) };
      byObject.set(material, entry);
    }
    return entry;
  }
  let entry = byPem.get(material);
  if (!entry) {
    entry = { key: parsePublicKey(material, name), hint: publicKeyHint(material) };
    if (byPem.size >= PEM_CACHE_SIZE) byPem.delete(byPem.keys().next().value as string);
    byPem.set(material, entry);
  }
  return entry;
}

export function keyValidAt(key: ResolvedKey, time: Date): boolean {
  return (!key.validFrom || key.validFrom <= time) && (!key.validUntil || time <= key.validUntil);
}

/** Compiles a user's pattern so it must match the whole value. */
export function anchoredRegExp(pattern: string, flag: string): RegExp {
  try {
    return new RegExp(`^(?:${pattern})$`);
  } catch (cause) {
    throw new SignetError({ code: 'E_INPUT', message: `${flag} is not a valid regular expression: ${pattern}`, cause });
  }
}

/** Checks an identity rule is usable: one issuer form and one subject form. */
export function checkIdentityRule(rule: IdentityRule): void {
  const subjects = [rule.subject, rule.subjectRegExp].filter((v) => v !== undefined && v !== '');
  const issuers = [rule.issuer, rule.issuerRegExp].filter((v) => v !== undefined && v !== '');
  if (subjects.length !== 1 || issuers.length !== 1) {
    throw new SignetError({
      code: 'E_USAGE',
      message:
        'a keyless identity needs exactly one of --certificate-identity / --certificate-identity-regexp and one of --certificate-oidc-issuer / --certificate-oidc-issuer-regexp; verifying "any identity" is refused',
    });
  }
  if (rule.subjectRegExp) anchoredRegExp(rule.subjectRegExp, '--certificate-identity-regexp');
  if (rule.issuerRegExp) anchoredRegExp(rule.issuerRegExp, '--certificate-oidc-issuer-regexp');
}

/** What a certificate says about its signer: its SAN, its issuer and Fulcio's other extensions. */
export interface CertificateIdentity {
  subject?: string;
  issuer?: string;
  extensions: CertificateExtensions;
}

export function identityMatches(rule: IdentityRule, identity: CertificateIdentity): boolean {
  const { subject, issuer, extensions } = identity;
  if (subject === undefined || issuer === undefined) return false;
  const subjectOk =
    rule.subject !== undefined && rule.subject !== ''
      ? rule.subject === subject
      : anchoredRegExp(rule.subjectRegExp ?? '', '--certificate-identity-regexp').test(subject);
  const issuerOk =
    rule.issuer !== undefined && rule.issuer !== ''
      ? rule.issuer === issuer
      : anchoredRegExp(rule.issuerRegExp ?? '', '--certificate-oidc-issuer-regexp').test(issuer);
  const sourceOk =
    (rule.sourceRepository === undefined || rule.sourceRepository === extensions.sourceRepository) &&
    (rule.sourceRepositoryRef === undefined || rule.sourceRepositoryRef === extensions.sourceRepositoryRef);
  return subjectOk && issuerOk && sourceOk;
}

/** One line per rule, for "which the policy does not trust (…)". */
export function describeIdentityRule(rule: IdentityRule): string {
  const parts = [`${rule.subject ?? `/${rule.subjectRegExp}/`} from ${rule.issuer ?? `/${rule.issuerRegExp}/`}`];
  if (rule.sourceRepository) parts.push(`run by ${rule.sourceRepository}`);
  if (rule.sourceRepositoryRef) parts.push(`at ${rule.sourceRepositoryRef}`);
  return parts.join(' ');
}

export const GITHUB_ACTIONS_ISSUER = 'https://token.actions.githubusercontent.com';

export interface GitHubIdentityOptions {
  /** The ref the workflow ran at (the source ref, e.g. refs/tags/v1.2.0); default any. */
  ref?: string;
  /** The repository the workflow file is defined in (a reusable workflow's); default the repository that ran it. */
  workflowRepository?: string;
}

/**
 * A GitHub Actions identity, as cosign's GitHub flags check it: a workflow run by OWNER/REPO
 * (the certificate's source-repository extension), at `ref` when given (its source ref), from
 * a workflow file defined in `workflowRepository` (the SAN,
 * `https://github.com/OWNER/REPO/.github/workflows/FILE@REF`), by default the same repository.
 * A reusable workflow from elsewhere is trusted only when its repository is named.
 */
export function githubWorkflowIdentity(repository: string, options: GitHubIdentityOptions = {}): IdentityRule {
  const definedIn = options.workflowRepository ?? repository;
  for (const [flag, value] of [
    ['--github-repository', repository],
    ['--github-workflow-repository', definedIn],
  ] as const) {
    if (!/^[\w.-]+\/[\w.-]+$/.test(value)) {
      throw new SignetError({ code: 'E_USAGE', message: `${flag} takes OWNER/REPO, not "${value}"` });
    }
  }
  const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const rule: IdentityRule = {
    issuer: GITHUB_ACTIONS_ISSUER,
    subjectRegExp: `https://github\\.com/${escapeRegExp(definedIn)}/\\.github/workflows/[^@]+@.+`,
    sourceRepository: `https://github.com/${repository}`,
  };
  if (options.ref) rule.sourceRepositoryRef = options.ref;
  return rule;
}
