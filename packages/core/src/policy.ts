import type { KeyObject } from 'node:crypto';
import { SignetError } from './errors';
import { parsePublicKey, publicKeyFingerprint } from './public-key';

/**
 * A public key the verifier trusts, optionally only within a window: that is how key
 * rotation works. The old and the new key are both trusted for a transition period;
 * a signature from a key outside its window is refused. The time compared is the
 * signature's trusted timestamp (transparency log or TSA) when the bundle has one,
 * and the time of verification when it has none.
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
 * A keyless identity: the OIDC issuer and the subject (the certificate's SAN). Each is
 * matched exactly, or by a regular expression that must match the whole value, never
 * a substring: `https://github.com/org/` must not admit `https://github.com/org/../evil`.
 */
export interface IdentityRule {
  issuer?: string;
  issuerRegExp?: string;
  subject?: string;
  subjectRegExp?: string;
}

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
  /** For attestations: the accepted predicate types (URIs). */
  predicateTypes?: string[];
}

/** A TrustedKey parsed once for the verifier. */
export interface ResolvedKey {
  key: KeyObject;
  fingerprint: string;
  name: string;
  validFrom?: Date;
  validUntil?: Date;
}

export function resolveKeys(keys: readonly TrustedKey[]): ResolvedKey[] {
  return keys.map((trusted, i) => {
    const { key, fingerprint } = parsedKey(trusted.publicKey, trusted.name ?? `key ${i + 1}`);
    return {
      key,
      fingerprint,
      name: trusted.name ?? `sha256:${Buffer.from(fingerprint, 'base64').toString('hex')}`,
      validFrom: trusted.validFrom,
      validUntil: trusted.validUntil,
    };
  });
}

// A deploy gate or webhook verifies many bundles against the same few keys; parsing a PEM
// and exporting its DER for the fingerprint cost more than the signature check itself.
const byPem = new Map<string, { key: KeyObject; fingerprint: string }>();
const byObject = new WeakMap<KeyObject, { key: KeyObject; fingerprint: string }>();
const PEM_CACHE_SIZE = 256;

function parsedKey(material: string | KeyObject, name: string): { key: KeyObject; fingerprint: string } {
  if (typeof material !== 'string') {
    let entry = byObject.get(material);
    if (!entry) {
      entry = { key: material, fingerprint: publicKeyFingerprint(material) };
      byObject.set(material, entry);
    }
    return entry;
  }
  let entry = byPem.get(material);
  if (!entry) {
    entry = { key: parsePublicKey(material, name), fingerprint: publicKeyFingerprint(material) };
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

export function identityMatches(rule: IdentityRule, subject: string | undefined, issuer: string | undefined): boolean {
  if (subject === undefined || issuer === undefined) return false;
  const subjectOk =
    rule.subject !== undefined && rule.subject !== ''
      ? rule.subject === subject
      : anchoredRegExp(rule.subjectRegExp ?? '', '--certificate-identity-regexp').test(subject);
  const issuerOk =
    rule.issuer !== undefined && rule.issuer !== ''
      ? rule.issuer === issuer
      : anchoredRegExp(rule.issuerRegExp ?? '', '--certificate-oidc-issuer-regexp').test(issuer);
  return subjectOk && issuerOk;
}

export const GITHUB_ACTIONS_ISSUER = 'https://token.actions.githubusercontent.com';

/**
 * The identity of a GitHub Actions workflow in OWNER/REPO, as Fulcio writes it into the
 * certificate (`https://github.com/OWNER/REPO/.github/workflows/FILE@REF`): any workflow
 * file, at `ref` when given (e.g. refs/tags/v1.2.0), else at any ref.
 */
export function githubWorkflowIdentity(repository: string, ref?: string): IdentityRule {
  if (!/^[\w.-]+\/[\w.-]+$/.test(repository)) {
    throw new SignetError({ code: 'E_USAGE', message: `--github-repository takes OWNER/REPO, not "${repository}"` });
  }
  const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return {
    issuer: GITHUB_ACTIONS_ISSUER,
    subjectRegExp: `https://github\\.com/${escapeRegExp(repository)}/\\.github/workflows/[^@]+@${ref ? escapeRegExp(ref) : '.+'}`,
  };
}
