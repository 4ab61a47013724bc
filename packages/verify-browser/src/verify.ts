import { type ParsedBundle, parseBundle } from './bundle.js';
import { hex, sha } from './encoding.js';
import { fail, ManifestError } from './errors.js';
import { type BrowserTrustedKey, type ImportedKey, importTrustedKeys, keyValidAt } from './keys.js';
import { checkManifestType, INTOTO_PAYLOAD_TYPE, manifestEntries, parseStatement, type Statement } from './manifest.js';
import { preAuthEncoding, verifySignature } from './signature.js';
import {
  type TrustedLog,
  type TrustedRootJson,
  trustedLogs,
  verifyEntryBody,
  verifyInclusionPromise,
  verifyInclusionProof,
} from './tlog.js';

/*
 * The browser's verification of a build's signed manifest: @signet/core's verifyManifestBundle
 * (the checks `signet verify-dir` makes before reading files) with WebCrypto, in the same order
 * and with the same codes:
 *
 *   1. the bundle read as core reads it (media types v0.1 to v0.3, required fields)
 *   2. a DSSE envelope of an in-toto statement with exactly one signature
 *   3. the policy covers the signer: keys for a key, identities for a certificate (keyless,
 *      in ./keyless, loaded only then)
 *   4. log entries: as many as the policy requires; with a trusted root, each one's SET,
 *      inclusion proof and checkpoint, and its body bound to this envelope
 *   5. the signature, by a trusted key inside its window (at the log's signed time, or now)
 *   6. a manifest: its predicate type, subjects and predicate as a Signet build writes them
 */

/** A keyless identity, as @signet/core's: issuer and subject exact or fully anchored, and optionally the source repository and ref. */
export interface IdentityRule {
  issuer?: string;
  issuerRegExp?: string;
  subject?: string;
  subjectRegExp?: string;
  sourceRepository?: string;
  sourceRepositoryRef?: string;
}

export interface ManifestPolicy {
  /** Any of these keys (rotation: several, each with its window). */
  keys?: BrowserTrustedKey[];
  /** Any of these keyless identities; verified by the lazily loaded keyless part, against `trustedRoot`. */
  identities?: IdentityRule[];
  /** Log entries required (default 0 for keys, 1 for certificates). */
  tlogThreshold?: number;
  /** A Sigstore trusted_root.json: its logs verify log entries; keyless also needs its CAs and CT logs. */
  trustedRoot?: TrustedRootJson;
}

export type ManifestSigner = { kind: 'key'; name: string; fingerprint: string } | { kind: 'certificate'; subject: string; issuer: string };

export interface VerifiedManifest {
  signer: ManifestSigner;
  statement: Statement;
  /** Every file the manifest names (posix, relative to the output folder) and its lower-case hex sha256. */
  files: Map<string, string>;
  /** When the build was signed, as its predicate says (Signet writes it for browser builds). */
  createdAt?: string;
  /** Verified times the signature existed at: log entries' signed entry timestamps. */
  timestamps: Date[];
  tlogEntries: number;
}

/** What the keyless part is given: the bundle read, and what the key path already checked. */
export interface KeylessRequest {
  bundle: ParsedBundle;
  policy: ManifestPolicy;
}

/** Verifies a build manifest bundle (its JSON text or parsed JSON) under the policy; throws a ManifestError for every refusal. */
export async function verifyManifest(input: unknown, policy: ManifestPolicy): Promise<VerifiedManifest> {
  for (const rule of policy.identities ?? []) {
    // As @signet/core: a rule with both forms of a field would be judged by one and not the other.
    const subjects = [rule.subject, rule.subjectRegExp].filter((value) => value);
    const issuers = [rule.issuer, rule.issuerRegExp].filter((value) => value);
    if (subjects.length !== 1 || issuers.length !== 1) {
      fail('E_USAGE', 'an identity needs exactly one of subject and subjectRegExp, and one of issuer and issuerRegExp');
    }
  }
  const bundle = parseBundle(input);
  assertDistinctLogEntries(bundle.tlogEntries);
  const content = bundle.content;
  if (content?.kind !== 'dsse') return fail('E_BUNDLE', 'the bundle holds a signature over one artifact, not a signed statement (DSSE)');
  if (content.payloadType !== INTOTO_PAYLOAD_TYPE) {
    fail(
      'E_BUNDLE',
      `the DSSE payload type is ${content.payloadType}; a statement about several artifacts is an in-toto statement (${INTOTO_PAYLOAD_TYPE})`,
    );
  }
  const statement = parseStatement(content.payload);
  if (content.signatures.length !== 1)
    fail('E_BUNDLE', `a bundle's DSSE envelope must carry exactly one signature, this one has ${content.signatures.length}`);
  const keyed = bundle.material?.kind === 'publicKey';
  if (keyed && !policy.keys?.length) {
    fail(
      'E_POLICY',
      policy.identities?.length
        ? 'the bundle is signed by a key, and the policy trusts only keyless identities'
        : 'the bundle is signed by a key; the policy trusts no key',
    );
  }
  if (!keyed && !policy.identities?.length) {
    fail(
      'E_POLICY',
      `the bundle is signed by a certificate (keyless)${policy.keys?.length ? ', and the policy trusts only keys' : ''}; the policy names no identity, and verifying without one is refused`,
    );
  }
  let signed: Pick<VerifiedManifest, 'signer' | 'timestamps' | 'tlogEntries'>;
  if (keyed) signed = await verifyKeySignature(bundle, policy, content.payload, content.signatures[0] as Uint8Array, content.payloadType);
  else {
    // The keyless part (X.509, SCTs, Fulcio identities, RFC 3161) is its own module, loaded only for a certificate.
    const keyless = await import('./keyless.js');
    signed = await keyless.verifyKeyless({ bundle, policy });
  }
  checkManifestType(statement);
  const { files, createdAt } = manifestEntries(statement);
  return { ...signed, statement, files, ...(createdAt !== undefined && { createdAt }) };
}

async function verifyKeySignature(
  bundle: ParsedBundle,
  policy: ManifestPolicy,
  payload: Uint8Array,
  signature: Uint8Array,
  payloadType: string,
): Promise<Pick<VerifiedManifest, 'signer' | 'timestamps' | 'tlogEntries'>> {
  const entries = bundle.tlogEntries;
  const required = policy.tlogThreshold ?? 0;
  if (entries.length < required)
    fail('E_TLOG', `the bundle has ${entries.length} transparency-log entries, and the policy requires ${required}`);
  if (bundle.rfc3161Timestamps === 0) {
    const v2 = entries.find(
      (e) => e.kindVersion?.version === '0.0.2' && (e.kindVersion.kind === 'hashedrekord' || e.kindVersion.kind === 'dsse'),
    );
    if (v2)
      fail(
        'E_TIMESTAMP',
        `the bundle's Rekor v2 entry (log index ${v2.logIndex}) carries no log time, and the bundle has no RFC 3161 timestamp beside it`,
      );
  }
  const keys = await importTrustedKeys(policy.keys ?? []);
  const hint = bundle.material?.kind === 'publicKey' ? bundle.material.hint : '';
  const candidates = [...keys.filter((k) => k.hint === hint), ...keys.filter((k) => k.hint !== hint)];
  const witnessed = entries.length > 0 || bundle.rfc3161Timestamps > 0;
  let logs: TrustedLog[] = [];
  if (witnessed) {
    if (!policy.trustedRoot) {
      fail(
        'E_TRUST_ROOT',
        'the bundle has a transparency-log entry or a timestamp, which needs a trusted root to verify; give the policy a trustedRoot',
      );
    }
    logs = await trustedLogs(policy.trustedRoot);
  }
  const pae = preAuthEncoding(payloadType, payload);
  const digests = await envelopeDigests(payloadType, payload);

  let firstError: ManifestError | undefined;
  for (const candidate of candidates) {
    try {
      const times = checkWitnesses(bundle);
      for (const time of times) {
        if (!keyValidAt(candidate, time)) fail('E_POLICY', `Public key is not valid for timestamp: ${time.toISOString()}`);
      }
      await checkLogEntries(entries, logs, signature, digests);
      if (!(await verifySignature(candidate, pae, signature))) {
        fail('E_SIGNATURE', 'the signature does not verify: the manifest or the bundle was changed, or another key signed it');
      }
      if (times.length === 0 && !keyValidAt(candidate, new Date())) {
        throw outsideWindow(candidate);
      }
      return {
        signer: { kind: 'key', name: candidate.name, fingerprint: candidate.fingerprint },
        timestamps: times,
        tlogEntries: entries.length,
      };
    } catch (error) {
      if (!(error instanceof ManifestError)) throw error;
      firstError ??= error;
    }
  }
  if (candidates.length > 1 && firstError?.code === 'E_SIGNATURE') {
    fail('E_SIGNATURE', `the signature does not verify with any of the ${candidates.length} trusted keys`);
  }
  throw firstError ?? new ManifestError('E_POLICY', 'no key was tried');
}

/** Each entry counts once toward a threshold, as in @signet/core: a copy (its SET removed, say) is not a second log. */
function assertDistinctLogEntries(entries: ParsedBundle['tlogEntries']): void {
  const seen = new Set<string>();
  for (const entry of entries) {
    const key = `${hex(entry.logId?.keyId ?? new Uint8Array(0))}/${entry.logIndex}`;
    if (seen.has(key)) fail('E_TLOG', `the bundle holds the entry at log index ${entry.logIndex} of one log twice`);
    seen.add(key);
  }
}

/** Each log entry: its SET and inclusion proof (at least one), and its body bound to this envelope. */
export async function checkLogEntries(
  entries: ParsedBundle['tlogEntries'],
  logs: TrustedLog[],
  signature: Uint8Array,
  digests: Uint8Array[],
): Promise<void> {
  for (const entry of entries) {
    if (entry.inclusionPromise) await verifyInclusionPromise(entry, logs);
    if (entry.inclusionProof) await verifyInclusionProof(entry, logs);
    if (!entry.inclusionPromise && !entry.inclusionProof) fail('E_TLOG', 'inclusion could not be verified');
    await verifyEntryBody(entry, signature, digests);
  }
}

/** What a log entry's body may record of an envelope: the payload's digest, or (Rekor v2) the PAE's. */
export async function envelopeDigests(payloadType: string, payload: Uint8Array): Promise<Uint8Array[]> {
  const pae = preAuthEncoding(payloadType, payload);
  return [await sha(256, payload), await sha(256, pae), await sha(384, pae), await sha(512, pae)];
}

/** The times the bundle claims under a SET (each verified with its entry before the signature counts). RFC 3161 timestamps are keyless-part work. */
function checkWitnesses(bundle: ParsedBundle): Date[] {
  if (bundle.rfc3161Timestamps > 0) {
    fail(
      'E_TIMESTAMP',
      'the bundle carries an RFC 3161 timestamp, which the browser verifier does not check for a key signature; sign the manifest without --tsa-url',
    );
  }
  const times: Date[] = [];
  const keys: string[] = [];
  for (const entry of bundle.tlogEntries) {
    // Its SET is verified with the entry below, before anything is accepted (sigstore-js's order).
    if (!entry.inclusionPromise) continue;
    times.push(new Date(Number(entry.integratedTime) * 1000));
    keys.push(`${hex(entry.logId?.keyId ?? new Uint8Array(0))}@${entry.integratedTime}`);
  }
  if (new Set(keys).size !== keys.length) fail('E_TIMESTAMP', 'duplicate timestamp');
  return times;
}

function outsideWindow(key: ImportedKey): ManifestError {
  const window = `${key.validFrom?.toISOString() ?? 'any time'} to ${key.validUntil?.toISOString() ?? 'any time'}`;
  return new ManifestError(
    'E_POLICY',
    `${key.name} is trusted only from ${window}, and the signature has no trusted timestamp inside that window; without one, now must be inside it`,
  );
}
