import crypto from 'node:crypto';
import { type CertificateExtensions, certificateExtensions, describeIdentityRule, type IdentityRule, identityMatches } from '@signet/core';
import { X509Certificate } from '@sigstore/core';
import type { EntryVerifier } from './entries';

/*
 * What a monitor watches for, compiled once: certificate identities (SAN and issuer, exact or
 * by a pattern that must match the whole value), Fulcio extensions (source repository, workflow,
 * ref, or any OID), and key or certificate fingerprints. Any one matching makes an entry one of
 * "yours"; the ledger then says whether you expected it.
 *
 * Scanning is bounded by fetching and hashing, so a certificate is parsed only when it could
 * match: every exact value a matcher requires (an issuer, a SAN, an extension value, the
 * literal start of a pattern) is in the certificate's DER as those very bytes (Fulcio writes
 * them as UTF8String or IA5String), so a certificate holding none of a matcher's is skipped
 * for that matcher without being parsed.
 */

/** One watched value, as the config names it (for alerts). */
export interface Matched {
  /** Which matcher: `certIdentities[0]`, `identities[1]`, `fingerprints`, `oidMatchers 1.3.6.1.4.1.57264.1.12`. */
  matcher: string;
  /** What matched, for people. */
  detail: string;
}

/** Who signed an entry, as much as its verifier says. */
export interface EntrySigner {
  kind: 'certificate' | 'publicKey';
  /** sha256:HEX of the verifier's DER (certificate or key), as rekor-monitor fingerprints. */
  fingerprint: string;
  subject?: string;
  issuer?: string;
  extensions?: CertificateExtensions;
}

interface CertificateFacts {
  subject?: string;
  issuer?: string;
  extensions: CertificateExtensions;
  extension(oid: string): string | undefined;
}

interface CertificateMatcher {
  name: string;
  /** Any one of these must be in the DER for the matcher to be able to match; empty: always try. */
  needles: Buffer[];
  test(facts: CertificateFacts): string | undefined;
}

/** A compiled set of matchers. */
export interface Watch {
  /** Every matcher that matches these verifiers, and who signed (undefined when none matches). */
  match(verifiers: readonly EntryVerifier[]): { matched: Matched[]; signer: EntrySigner } | undefined;
}

/** rekor-monitor's `certIdentities` item: certSubject and issuers are patterns (here matching the whole value). */
export interface CertIdentity {
  certSubject: string;
  issuers?: string[];
}

/** An OID and the values it may have, any one of which matches (exactly). */
export interface OidMatcher {
  oid: string;
  /** Read instead when the certificate lacks `oid`: the issuer's older extension (1.1) behind 1.8. */
  fallbackOid?: string;
  values: string[];
  /** The name the config used (a Fulcio extension name or the OID). */
  label: string;
}

export interface WatchSpec {
  certIdentities: CertIdentity[];
  identities: IdentityRule[];
  fingerprints: string[];
  oidMatchers: OidMatcher[];
}

export function compileWatch(spec: WatchSpec): Watch {
  const matchers: CertificateMatcher[] = [];
  spec.certIdentities.forEach((identity, i) => {
    const subject = anchored(identity.certSubject);
    const issuers = (identity.issuers ?? []).map(anchored);
    const issuerNeedles = issuers.length > 0 && issuers.every((_, j) => literalPrefix((identity.issuers ?? [])[j] as string) !== '');
    matchers.push({
      name: `certIdentities[${i}]`,
      needles: mostSelective([[literalPrefix(identity.certSubject)]], [issuerNeedles ? (identity.issuers ?? []).map(literalPrefix) : []]),
      test: (facts) => {
        if (facts.subject === undefined || !subject.test(facts.subject)) return undefined;
        if (issuers.length > 0 && (facts.issuer === undefined || !issuers.some((issuer) => issuer.test(facts.issuer as string))))
          return undefined;
        return `certificate identity ${facts.subject} (issuer ${facts.issuer ?? 'unknown'})`;
      },
    });
  });
  spec.identities.forEach((rule, i) => {
    matchers.push({
      name: `identities[${i}]`,
      needles: mostSelective(
        [
          [rule.subject ?? (rule.subjectRegExp ? literalPrefix(rule.subjectRegExp) : '')],
          [rule.sourceRepository ?? ''],
          [rule.sourceRepositoryRef ?? ''],
        ],
        [[rule.issuer ?? (rule.issuerRegExp ? literalPrefix(rule.issuerRegExp) : '')]],
      ),
      test: (facts) =>
        identityMatches(rule, facts)
          ? `certificate identity ${facts.subject} (issuer ${facts.issuer}), watched as ${describeIdentityRule(rule)}`
          : undefined,
    });
  });
  for (const matcher of spec.oidMatchers) {
    const values = new Set(matcher.values);
    matchers.push({
      name: `oidMatchers ${matcher.label}`,
      needles: matcher.values.map((value) => Buffer.from(value)),
      test: (facts) => {
        const value = facts.extension(matcher.oid) ?? (matcher.fallbackOid ? facts.extension(matcher.fallbackOid) : undefined);
        return value !== undefined && values.has(value) ? `${matcher.label} ${value}` : undefined;
      },
    });
  }
  const fingerprints = new Set(spec.fingerprints.map((f) => f.toLowerCase().replace(/^sha256:/, '')));
  const alwaysParse = matchers.some((m) => m.needles.length === 0);
  // What each DER matched (null: nothing), by object: the entry reader hands out the same
  // verifier for a signer's repeated entries (entries.ts), and a buffer's bytes never change once
  // read. What is kept is never changed: each result is a new object around it.
  const seen = new WeakMap<Buffer, { matched: readonly Matched[]; signer: EntrySigner } | null>();

  const matchOne = (verifier: EntryVerifier): { matched: readonly Matched[]; signer: EntrySigner } | null => {
    let fingerprint: string | undefined;
    const matched: Matched[] = [];
    if (fingerprints.size > 0) {
      fingerprint = crypto.hash('sha256', verifier.der, 'hex');
      if (fingerprints.has(fingerprint))
        matched.push({
          matcher: 'fingerprints',
          detail: `${verifier.kind === 'certificate' ? 'certificate' : 'key'} sha256:${fingerprint}`,
        });
    }
    let facts: CertificateFacts | undefined;
    if (
      verifier.kind === 'certificate' &&
      matchers.length > 0 &&
      (alwaysParse || matchers.some((m) => m.needles.some((n) => verifier.der.includes(n))))
    ) {
      facts = certificateFacts(verifier.der);
      if (facts) {
        for (const matcher of matchers) {
          const detail = matcher.test(facts);
          if (detail !== undefined) matched.push({ matcher: matcher.name, detail });
        }
      }
    }
    if (matched.length === 0) return null;
    fingerprint ??= crypto.hash('sha256', verifier.der, 'hex');
    facts ??= verifier.kind === 'certificate' ? certificateFacts(verifier.der) : undefined;
    const signer: EntrySigner = { kind: verifier.kind, fingerprint: `sha256:${fingerprint}` };
    if (facts) Object.assign(signer, { subject: facts.subject, issuer: facts.issuer, extensions: facts.extensions });
    return { matched, signer };
  };

  return {
    match(verifiers) {
      let result: { matched: Matched[]; signer: EntrySigner } | undefined;
      for (const verifier of verifiers) {
        let found = seen.get(verifier.der);
        if (found === undefined) {
          found = matchOne(verifier);
          seen.set(verifier.der, found);
        }
        if (found === null) continue;
        result = result
          ? { matched: [...result.matched, ...found.matched], signer: result.signer }
          : { matched: [...found.matched], signer: { ...found.signer } };
      }
      return result;
    },
  };
}

/** A certificate's identity and extensions; undefined for one that does not parse (it then matches nothing but a fingerprint). */
function certificateFacts(der: Buffer): CertificateFacts | undefined {
  let certificate: X509Certificate;
  let extensions: CertificateExtensions;
  try {
    certificate = X509Certificate.parse(Buffer.from(der));
    extensions = certificateExtensions(certificate);
  } catch {
    return undefined;
  }
  return {
    subject: certificate.subjectAltName,
    issuer: extensions.issuer,
    extensions,
    extension(oid) {
      const extension = certificate.extension(oid);
      if (!extension) return undefined;
      // Fulcio's current extensions hold a DER string (UTF8String, PrintableString, IA5String);
      // the deprecated ones (…1.1 to 1.6) the raw text.
      if ([0x0c, 0x13, 0x16].includes(extension.value[0] as number)) {
        try {
          const value = extension.valueObj.subs[0]?.value;
          if (value) return value.toString('utf8');
        } catch {
          // not DER after all: the raw text below
        }
      }
      return extension.value.toString('utf8');
    },
  };
}

/** A user's pattern, matching the whole value, never a substring. */
function anchored(pattern: string): RegExp {
  return new RegExp(`^(?:${pattern})$`);
}

/**
 * What every value a pattern matches (in full) starts with, as plain text: the pattern's
 * literal characters up to its first operator. Empty when there is no such start (an
 * alternation anywhere, or an operator first).
 */
export function literalPrefix(pattern: string): string {
  if (pattern.includes('|')) return '';
  let prefix = '';
  let i = pattern.startsWith('^') ? 1 : 0;
  while (i < pattern.length) {
    const c = pattern[i] as string;
    let literal: string;
    let next: number;
    if (c === '\\') {
      const escaped = pattern[i + 1];
      if (escaped === undefined || /[A-Za-z0-9]/.test(escaped)) break;
      literal = escaped;
      next = i + 2;
    } else if ('.^$*+?()[]{}'.includes(c)) {
      break;
    } else {
      literal = c;
      next = i + 1;
    }
    const quantifier = pattern[next];
    if (quantifier === '?' || quantifier === '*' || quantifier === '{') break;
    prefix += literal;
    if (quantifier === '+') break;
    i = next;
  }
  return prefix;
}

/**
 * Of several any-of needle sets, each of which must be satisfied, the most selective: from the
 * `preferred` sets (what names one signer: a subject, a repository, a ref) the one whose shortest
 * needle is longest; the `fallback` sets (issuers) only when no preferred set has a needle. An
 * issuer is in every certificate its provider has a signer get (every GitHub Actions certificate
 * holds https://token.actions.githubusercontent.com), so as a needle it would let nearly every
 * certificate through to be parsed, however long it is.
 */
function mostSelective(preferred: string[][], fallback: string[][]): Buffer[] {
  const best = longest(preferred);
  return best.length > 0 ? best : longest(fallback);
}

function longest(sets: string[][]): Buffer[] {
  let best: string[] = [];
  let bestLength = 0;
  for (const set of sets) {
    if (set.length === 0 || set.some((needle) => needle === '')) continue;
    const shortest = Math.min(...set.map((needle) => needle.length));
    if (shortest > bestLength) {
      best = set;
      bestLength = shortest;
    }
  }
  return best.map((needle) => Buffer.from(needle));
}
