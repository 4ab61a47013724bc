import type { KeyObject } from 'node:crypto';
import type { Bundle } from '@sigstore/bundle';
import type { X509Certificate as SigstoreCertificate } from '@sigstore/core';
import { HashAlgorithm as ProtoHashAlgorithm, TrustedRoot as TrustedRootCodec } from '@sigstore/protobuf-specs';
import { Verifier as SigstoreVerifier, type TrustMaterial, toSignedEntity, toTrustMaterial, VerificationError } from '@sigstore/verify';
import { HASH_LENGTHS, type HashAlgorithm } from './algorithms';
import { type CertificateExtensions, certificateExtensionsOf } from './certificate-identity';
import { type Digests, digestBytes, digestFile, type ProgressListener, readSmallFile } from './digest';
import { SignetError, type SignetErrorCode } from './errors';
import {
  type AcceptedContent,
  checkIdentityRule,
  describeIdentityRule,
  identityMatches,
  keyValidAt,
  type Policy,
  RELEASE_PREDICATE_TYPES,
  type ResolvedKey,
  resolveKeys,
} from './policy';
import { assertAcceptableKey, fingerprintOfHint } from './public-key';
import { DsseSignatureCheck, MessageSignatureCheck, type PreparedArtifact } from './signature-content';
import { type CompiledTrust, compiledTrust, fastVerify, plainTrust } from './sigstore-fast';
import { hexDigests, INTOTO_PAYLOAD_TYPE, parseStatement, predicateTypeName, type Statement, type Subject } from './statement';
import { emptyTrustedRoot, type TrustedRoot } from './trusted-root';

/*
 * Signet's one way in to verification. Every caller (the CLI, the gate, verify-dir, npm, OCI,
 * Lambda, the admission webhook) builds a Verifier from a policy and a trusted root and asks
 * it about a bundle and an artifact; every check runs inside, in a fixed order, and the only
 * success is a Verified that nothing outside this module can make:
 *
 *   1. the bundle's shape: its statement (DSSE) parsed, the signer kind covered by the policy
 *   2. the artifact: its digests, the message digest, a subject of the statement (and its name),
 *      or a DSSE envelope's plain payload itself
 *   3. the log entries the policy requires; the trust root, loaded only when the bundle has a
 *      certificate, a log entry or a timestamp
 *   4. sigstore-js: timestamps, the key or certificate chain, log entries, the signature
 *   5. trusted times decided once: a log entry's time counts only with its signed entry
 *      timestamp, a TSA's only when the TSA is trusted; a key's window must contain them,
 *      or now when there are none
 *   6. the signer: a trusted key, or a certificate identity (SAN, issuer, source repository, ref)
 *   7. what was signed: a release, or a statement of a type the caller named
 */

/** What is being verified: a file (streamed), bytes in memory, or only a digest. */
export type Artifact = ({ path: string } | { bytes: Uint8Array } | { digest: { algorithm: HashAlgorithm; value: Buffer } }) & {
  /**
   * The name the statement must give the subject these bytes are (`pkg:npm/NAME@VERSION`):
   * a statement naming the same bytes under another name is refused, and so is a plain
   * message signature, which names nothing.
   */
  name?: string;
};

export type SignerIdentity =
  | {
      kind: 'key';
      name: string;
      /** `sha256:` and the hex SHA-256 of the key's DER SubjectPublicKeyInfo, as Signet prints every key. */
      fingerprint: string;
    }
  | { kind: 'certificate'; subject: string; issuer: string; extensions: CertificateExtensions };

/** A time the signature provably existed at: a log's signed entry timestamp, or a trusted TSA's token. */
export interface TimestampInfo {
  source: 'transparency-log' | 'timestamp-authority';
  time: Date;
}

declare const verifiedBrand: unique symbol;

/** A signature that passed every check of a Verifier. Only core makes these: see isVerified. */
export interface Verified {
  readonly [verifiedBrand]: true;
  signer: SignerIdentity;
  /** Verified times the signature existed at (empty when the bundle carries none). */
  timestamps: TimestampInfo[];
  tlogEntries: number;
  /** The artifact's digests, lower-case hex (empty for verifyStatement). */
  digests: Record<string, string>;
  /** For a DSSE bundle, the verified in-toto statement. */
  statement?: Statement;
  /** The statement's subject that is this artifact. */
  subject?: Subject;
}

/** A verified statement about several artifacts, whose subjects the caller checks. */
export type VerifiedStatement = Verified & { statement: Statement };

const issued = new WeakSet<object>();

/** Whether a value is a Verified that a Verifier returned (not a look-alike built elsewhere). */
export function isVerified(value: unknown): value is Verified {
  return typeof value === 'object' && value !== null && issued.has(value);
}

export interface VerifierOptions {
  policy: Policy;
  /**
   * Trust material for certificates, log entries and timestamps, or how to get it: a function
   * is called once, and only when a bundle needs it. Without it: keys only, offline.
   */
  trustedRoot?: TrustedRoot | (() => Promise<TrustedRoot>);
  onProgress?: ProgressListener;
}

export interface Verifier {
  /** Verifies a bundle over one artifact. Throws a SignetError for every refusal (see createVerifier). */
  verify(bundle: Bundle, artifact: Artifact): Promise<Verified>;
  /**
   * Verifies a signed statement about several artifacts (a build's manifest) without binding it
   * to one: the caller checks each subject it relies on. A message signature is refused.
   */
  verifyStatement(bundle: Bundle): Promise<VerifiedStatement>;
}

/**
 * A verifier for one policy and trusted root. Each refusal is a SignetError: E_SIGNATURE when
 * the signature or artifact do not match, E_POLICY when a valid signature is not one the
 * policy trusts or accepts, E_CERTIFICATE / E_TLOG / E_TIMESTAMP for the trust checks,
 * E_BUNDLE / E_INPUT for malformed input, E_KEY for a policy key too weak to trust, and
 * E_TRUST_ROOT / E_PROVIDER when the trusted root is needed and cannot be had.
 */
export function createVerifier(options: VerifierOptions): Verifier {
  return new SignetVerifier(options);
}

class SignetVerifier implements Verifier {
  private readonly policy: Policy;
  private keys?: ResolvedKey[];
  private root?: Promise<TrustedRoot | undefined>;
  private rootTrust?: CompiledTrust;

  constructor(private readonly options: VerifierOptions) {
    this.policy = options.policy;
    for (const rule of this.policy.identities ?? []) checkIdentityRule(rule);
  }

  async verify(bundle: Bundle, artifact: Artifact): Promise<Verified> {
    assertDistinctLogEntries(bundle);
    const statement = isStatementBundle(bundle) ? dsseStatement(bundle) : undefined;
    const content = signatureContent(bundle);
    this.assertCovers(bundle);
    const prepared = await prepareArtifact(artifact, algorithmsNeeded(bundle, statement), this.options.onProgress);

    let subject: Subject | undefined;
    if (bundle.content.$case === 'dsseEnvelope' && !statement) {
      // A DSSE envelope of anything but an in-toto statement signs its payload itself, as a
      // message signature signs the artifact: the artifact is the payload, and names nothing.
      const payload = digestBytes(bundle.content.dsseEnvelope.payload, ['sha256']).sha256 as Buffer;
      if (!payload.equals(prepared.digests.sha256 as Buffer)) {
        throw new SignetError({
          code: 'E_SIGNATURE',
          message: `the artifact is not the envelope's ${bundle.content.dsseEnvelope.payloadType} payload (sha256 ${payload.toString('hex')})`,
        });
      }
      if (artifact.name !== undefined) {
        throw new SignetError({
          code: 'E_POLICY',
          message: `the bundle signs a plain payload, which names nothing; ${artifact.name} must be named by a signed statement`,
        });
      }
    } else if (bundle.content.$case === 'messageSignature') {
      const { messageDigest } = bundle.content.messageSignature;
      const hash = protoHash(messageDigest.algorithm);
      const actual = prepared.digests[hash];
      if (!actual) throw digestKindMismatch(hash);
      if (!actual.equals(messageDigest.digest)) {
        throw new SignetError({
          code: 'E_SIGNATURE',
          message: `the artifact does not match the bundle: its ${hash} is ${actual.toString('hex')}, the bundle signs ${messageDigest.digest.toString('hex')}`,
        });
      }
      if (artifact.name !== undefined) {
        throw new SignetError({
          code: 'E_POLICY',
          message: `the bundle is a plain signature, which names nothing; ${artifact.name} must be named by a signed statement`,
        });
      }
      (content as MessageSignatureCheck).prepare(prepared);
    } else {
      subject = matchingSubject(statement as Statement, prepared.digests, artifact.name);
    }

    const signed = await this.checkSignature(bundle, content);
    checkAcceptedContent(statement, this.policy.predicateTypes);
    return issue({ ...signed, digests: hexDigests(prepared.digests), statement, subject });
  }

  async verifyStatement(bundle: Bundle): Promise<VerifiedStatement> {
    assertDistinctLogEntries(bundle);
    if (bundle.content.$case !== 'dsseEnvelope') {
      throw new SignetError({ code: 'E_BUNDLE', message: 'the bundle holds a signature over one artifact, not a signed statement (DSSE)' });
    }
    if (!isStatementBundle(bundle)) {
      throw new SignetError({
        code: 'E_BUNDLE',
        message: `the DSSE payload type is ${bundle.content.dsseEnvelope.payloadType}; a statement about several artifacts is an in-toto statement (${INTOTO_PAYLOAD_TYPE})`,
      });
    }
    const statement = dsseStatement(bundle);
    const content = signatureContent(bundle);
    this.assertCovers(bundle);
    const signed = await this.checkSignature(bundle, content);
    checkAcceptedContent(statement, this.policy.predicateTypes);
    return issue({ ...signed, digests: {}, statement }) as VerifiedStatement;
  }

  /**
   * Refuses at once a policy that cannot accept this kind of bundle: a key signature with no
   * key trusted, a certificate with no identity trusted (never "any identity"). Nothing is
   * hashed or fetched for them.
   */
  private assertCovers(bundle: Bundle): void {
    const material = bundle.verificationMaterial;
    if (material.content.$case === 'publicKey') {
      if (!this.policy.keys?.length) {
        throw new SignetError({
          code: 'E_POLICY',
          message: this.policy.identities?.length
            ? 'the bundle is signed by a key, and the policy trusts only keyless identities'
            : 'the bundle is signed by a key; give the public key to trust with --key',
        });
      }
    } else if (!this.policy.identities?.length) {
      throw new SignetError({
        code: 'E_POLICY',
        message: `the bundle is signed by a certificate (keyless)${this.policy.keys?.length ? ', and the policy trusts only keys' : ''}; give the identity to trust with --certificate-identity (or -regexp) and --certificate-oidc-issuer (or -regexp), or --github-repository. Verifying without one is refused`,
      });
    }
  }

  /** Refuses a bundle with fewer log entries than the policy requires, before the trusted root is loaded. */
  private assertLogged(bundle: Bundle): void {
    const material = bundle.verificationMaterial;
    const required = this.policy.tlogThreshold ?? (material.content.$case === 'publicKey' ? 0 : 1);
    if (material.tlogEntries.length < required) {
      throw new SignetError({
        code: 'E_TLOG',
        message: `the bundle has ${material.tlogEntries.length} transparency-log entries, and the policy requires ${required}`,
      });
    }
  }

  private async checkSignature(bundle: Bundle, content: MessageSignatureCheck | DsseSignatureCheck): Promise<Signed> {
    const entity = signedEntity(bundle, content);
    const keyed = bundle.verificationMaterial.content.$case === 'publicKey';
    // A certificate's validity can only be judged at a trusted time (and sigstore-js
    // dereferences an empty certificate path when it has none).
    if (!keyed && !hasTrustedTimes(entity)) {
      throw new SignetError({
        code: 'E_TIMESTAMP',
        message:
          'the certificate bundle has no trusted time (no transparency-log entry with a signed timestamp, no RFC 3161 timestamp): it cannot be verified',
      });
    }
    this.assertLogged(bundle);
    assertRekorV2Timestamped(bundle);
    if (keyed) return this.checkKeySignature(bundle, entity, content);
    return this.checkCertificateSignature(bundle, entity, content);
  }

  private async checkKeySignature(bundle: Bundle, entity: SignedEntity, content: SignatureCheck): Promise<Signed> {
    this.keys ??= resolveKeys(this.policy.keys ?? []);
    const keys = this.keys;
    const material = bundle.verificationMaterial.content;
    const hint = material.$case === 'publicKey' ? material.publicKey.hint : '';
    // The hint names the key that signed; try it first, then every other trusted key
    // (cosign and other tools write hints that are not fingerprints, or none).
    const candidates = [...keys.filter((k) => k.hint === hint), ...keys.filter((k) => k.hint !== hint)];
    const base = await this.trustFor(bundle);
    let firstError: SignetError | undefined;
    for (const candidate of candidates) {
      try {
        runSigstore(bundle, plainTrust(withKey(base.material, candidate)), entity, content, {
          tlogThreshold: this.policy.tlogThreshold ?? 0,
          timestampThreshold: this.policy.timestampThreshold ?? 0,
          ctlogThreshold: 0,
        });
      } catch (error) {
        firstError ??= error as SignetError;
        continue;
      }
      // sigstore-js checked the key's window at every trusted time; with none, the only
      // time that can be vouched for is now.
      const times = trustedTimes(entity);
      if (times.length === 0 && !keyValidAt(candidate, new Date())) {
        firstError ??= outsideWindow(candidate);
        continue;
      }
      return {
        signer: { kind: 'key', name: candidate.name, fingerprint: candidate.fingerprint },
        timestamps: times,
        tlogEntries: bundle.verificationMaterial.tlogEntries.length,
      };
    }
    if (candidates.length > 1 && firstError?.code === 'E_SIGNATURE') {
      throw new SignetError({
        code: 'E_SIGNATURE',
        message: `the signature does not verify with any of the ${candidates.length} trusted keys${hintNote(hint, keys)}`,
        cause: firstError,
      });
    }
    if (firstError?.code === 'E_SIGNATURE' && firstError.cause !== undefined) {
      throw new SignetError({ code: 'E_SIGNATURE', message: `${firstError.message}${hintNote(hint, keys)}`, cause: firstError });
    }
    throw firstError ?? new SignetError({ code: 'E_INTERNAL', message: 'no key was tried' });
  }

  private async checkCertificateSignature(bundle: Bundle, entity: SignedEntity, content: SignatureCheck): Promise<Signed> {
    const rules = this.policy.identities ?? [];
    const trust = await this.trustFor(bundle);
    if (trust.material.certificateAuthorities.length === 0) {
      throw new SignetError({
        code: 'E_TRUST_ROOT',
        message: 'the bundle is signed by a certificate, but the trusted root has no certificate authority; pass --trusted-root',
      });
    }
    const signer = runSigstore(bundle, trust, entity, content, {
      tlogThreshold: this.policy.tlogThreshold ?? 1,
      timestampThreshold: this.policy.timestampThreshold ?? 1,
      ctlogThreshold: this.policy.ctlogThreshold ?? 1,
    });
    try {
      assertAcceptableKey(signer.key, "the certificate's key");
    } catch (error) {
      throw new SignetError({ code: 'E_CERTIFICATE', message: (error as Error).message, cause: error });
    }
    if (entity.key.$case === 'certificate') assertCodeSigningLeaf(entity.key.certificate);
    const identity = {
      subject: signer.identity?.subjectAlternativeName,
      issuer: signer.identity?.extensions?.issuer,
      extensions: entity.key.$case === 'certificate' ? certificateExtensionsOf(entity.key.certificate) : {},
    };
    if (!rules.some((rule) => identityMatches(rule, identity))) {
      const source = identity.extensions.sourceRepository
        ? `, run by ${identity.extensions.sourceRepository}${identity.extensions.sourceRepositoryRef ? ` at ${identity.extensions.sourceRepositoryRef}` : ''}`
        : '';
      throw new SignetError({
        code: 'E_POLICY',
        message: `signed by ${identity.subject ?? '(no identity)'} (issuer ${identity.issuer ?? 'unknown'}${source}), which the policy does not trust (${rules.map(describeIdentityRule).join('; ')})`,
      });
    }
    return {
      signer: {
        kind: 'certificate',
        subject: identity.subject as string,
        issuer: identity.issuer as string,
        extensions: identity.extensions,
      },
      timestamps: trustedTimes(entity),
      tlogEntries: bundle.verificationMaterial.tlogEntries.length,
    };
  }

  /**
   * The trust material for this bundle. A bundle signed by a key with nothing witnessed needs
   * no trusted root (fully offline); anything else loads it, once per verifier.
   */
  private async trustFor(bundle: Bundle): Promise<CompiledTrust> {
    const material = bundle.verificationMaterial;
    const witnessed = material.tlogEntries.length > 0 || (material.timestampVerificationData?.rfc3161Timestamps.length ?? 0) > 0;
    if (material.content.$case === 'publicKey' && !witnessed) return trustMaterial(emptyTrustedRoot());
    if (this.rootTrust) return this.rootTrust;
    const given = this.options.trustedRoot;
    this.root ??= typeof given === 'function' ? given() : Promise.resolve(given);
    const root = await this.root;
    if (!root) {
      throw new SignetError({
        code: 'E_TRUST_ROOT',
        message: `the bundle has ${material.content.$case === 'publicKey' ? 'a transparency-log entry or a timestamp' : 'a certificate'}, which needs a trusted root to verify; pass --trusted-root (or verify online)`,
      });
    }
    this.rootTrust = trustMaterial(root);
    return this.rootTrust;
  }
}

type SignatureCheck = MessageSignatureCheck | DsseSignatureCheck;
type Signed = Pick<Verified, 'signer' | 'timestamps' | 'tlogEntries'>;
type SignedEntity = ReturnType<typeof toSignedEntity>;

function issue(fields: Omit<Verified, typeof verifiedBrand>): Verified {
  const result = Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as unknown as Verified;
  issued.add(result);
  return result;
}

function signatureContent(bundle: Bundle): SignatureCheck {
  if (bundle.content.$case === 'dsseEnvelope') return new DsseSignatureCheck(bundle.content.dsseEnvelope);
  const { messageDigest, signature } = bundle.content.messageSignature;
  return new MessageSignatureCheck(signature, messageDigest.digest, protoHash(messageDigest.algorithm));
}

function signedEntity(bundle: Bundle, content: SignatureCheck): SignedEntity {
  try {
    // toSignedEntity parses certificates and timestamps; the signature content is ours.
    return { ...toSignedEntity(bundle, Buffer.alloc(0)), signature: content };
  } catch (cause) {
    throw new SignetError({
      code: 'E_BUNDLE',
      message: `the bundle's verification material is malformed: ${(cause as Error).message}`,
      cause,
    });
  }
}

const DECIMAL = /^(0|[1-9][0-9]*)$/;

/**
 * Each log entry counts once, and its numbers are plain decimals: a copy of an entry (its index
 * spelled "01", its SET removed) is not a second log's word, and sigstore-js counts entries,
 * not entries that differ. "01", "1e3" or "0x1" would also make one entry look like two.
 */
function assertDistinctLogEntries(bundle: Bundle): void {
  const seen = new Set<string>();
  for (const entry of bundle.verificationMaterial.tlogEntries) {
    const numbers: [string, string | undefined][] = [
      ['log index', entry.logIndex],
      ['integrated time', entry.integratedTime],
      ["proof's log index", entry.inclusionProof?.logIndex],
      ["proof's tree size", entry.inclusionProof?.treeSize],
    ];
    for (const [name, value] of numbers) {
      if (value !== undefined && !DECIMAL.test(value)) {
        throw new SignetError({
          code: 'E_BUNDLE',
          message: `the bundle is malformed: a log entry's ${name} ${JSON.stringify(value)} is not a decimal number`,
        });
      }
    }
    const key = `${Buffer.from(entry.logId?.keyId ?? []).toString('hex')}/${entry.logIndex}`;
    if (seen.has(key)) {
      throw new SignetError({ code: 'E_TLOG', message: `the bundle holds the entry at log index ${entry.logIndex} of one log twice` });
    }
    seen.add(key);
  }
}

/**
 * Refuses a Rekor v2 entry without an RFC 3161 timestamp beside it. A v2 entry (hashedrekord or
 * dsse 0.0.2, from a tile-based log) has no log time: its integratedTime is 0 and nothing signs
 * it, so the signature's time rests on a timestamp alone, as cosign 3 requires.
 */
function assertRekorV2Timestamped(bundle: Bundle): void {
  const material = bundle.verificationMaterial;
  if ((material.timestampVerificationData?.rfc3161Timestamps.length ?? 0) > 0) return;
  const v2 = material.tlogEntries.find(
    (entry) => entry.kindVersion?.version === '0.0.2' && (entry.kindVersion.kind === 'hashedrekord' || entry.kindVersion.kind === 'dsse'),
  );
  if (v2) {
    throw new SignetError({
      code: 'E_TIMESTAMP',
      message: `the bundle's Rekor v2 entry (log index ${v2.logIndex}) carries no log time, and the bundle has no RFC 3161 timestamp beside it: a Rekor v2 entry needs one, so the signature cannot be verified`,
    });
  }
}

/** Whether the bundle carries anything that can give a trusted time: a log entry's SET, an RFC 3161 timestamp. */
function hasTrustedTimes(entity: SignedEntity): boolean {
  return entity.timestamps.some((timestamp) => timestamp.$case === 'timestamp-authority' || timestamp.tlogEntry.inclusionPromise);
}

/**
 * The times the bundle proves the signature existed at, read only once sigstore-js has checked them:
 * a log entry's integratedTime only under its signed entry timestamp (an entry with only an
 * inclusion proof, or a Rekor v2 entry, carries an unsigned time anyone could have written),
 * and each RFC 3161 timestamp (verified against the trusted TSAs).
 */
function trustedTimes(entity: SignedEntity): TimestampInfo[] {
  return entity.timestamps.flatMap((timestamp): TimestampInfo[] => {
    if (timestamp.$case === 'timestamp-authority') return [{ source: 'timestamp-authority', time: timestamp.timestamp.signingTime }];
    const entry = timestamp.tlogEntry;
    if (!entry.inclusionPromise) return [];
    return [{ source: 'transparency-log', time: new Date(Number(entry.integratedTime) * 1000) }];
  });
}

/**
 * @sigstore/verify's checks of the bundle: timestamps, the key or certificate chain (and SCTs),
 * log entries, the signature. A certificate bundle goes the fast path first (sigstore-fast.ts),
 * which only accepts; whatever it does not accept, @sigstore/verify decides, and its error is the one reported.
 */
function runSigstore(
  bundle: Bundle,
  trust: CompiledTrust,
  entity: SignedEntity,
  content: SignatureCheck,
  thresholds: { tlogThreshold: number; timestampThreshold: number; ctlogThreshold: number },
) {
  if (entity.key.$case === 'certificate') {
    const leaf = certificateOf(bundle);
    const timestamps = bundle.verificationMaterial.timestampVerificationData?.rfc3161Timestamps ?? [];
    const lengths = { leaf: leaf?.length ?? -1, timestamps: timestamps.map((t) => t.signedTimestamp.length) };
    const signer = fastVerify(trust, entity, thresholds, lengths);
    if (signer) return signer;
  }
  try {
    return new SigstoreVerifier(trust.material, thresholds).verify(entity);
  } catch (cause) {
    if (content instanceof MessageSignatureCheck && content.needsArtifactBytes) {
      throw new SignetError({
        code: 'E_INPUT',
        message: 'an Ed25519 message signature covers the artifact itself, not a digest; pass the artifact file',
        cause,
      });
    }
    throw translate(cause);
  }
}

const CODES: Record<string, SignetErrorCode> = {
  SIGNATURE_ERROR: 'E_SIGNATURE',
  PUBLIC_KEY_ERROR: 'E_POLICY',
  CERTIFICATE_ERROR: 'E_CERTIFICATE',
  TIMESTAMP_ERROR: 'E_TIMESTAMP',
  TLOG_ERROR: 'E_TLOG',
  TLOG_BODY_ERROR: 'E_TLOG',
  TLOG_INCLUSION_PROOF_ERROR: 'E_TLOG',
  TLOG_INCLUSION_PROMISE_ERROR: 'E_TLOG',
  TLOG_MISSING_INCLUSION_ERROR: 'E_TLOG',
  UNTRUSTED_SIGNER_ERROR: 'E_POLICY',
};

/** sigstore-js errors (and its TypeErrors on malformed input) as SignetErrors. */
function translate(cause: unknown): SignetError {
  if (cause instanceof SignetError) return cause;
  if (cause instanceof VerificationError) {
    const code = CODES[cause.code] ?? 'E_SIGNATURE';
    const message =
      code === 'E_SIGNATURE'
        ? 'the signature does not verify: the artifact or the bundle was changed, or another key signed it'
        : cause.message;
    return new SignetError({ code, message, cause });
  }
  return new SignetError({
    code: 'E_BUNDLE',
    message: `the bundle is malformed: ${(cause as Error)?.message ?? String(cause)}`,
    cause,
  });
}

/** The trusted root's trust material, compiled once per root content (see sigstore-fast.ts). */
function trustMaterial(root: TrustedRoot): CompiledTrust {
  try {
    return compiledTrust(
      root,
      (trusted) =>
        toTrustMaterial(trusted, (hint: string) => {
          throw new VerificationError({ code: 'PUBLIC_KEY_ERROR', message: `no trusted key for hint ${hint}` });
        }),
      (trusted) => TrustedRootCodec.toJSON(trusted),
    );
  } catch (cause) {
    throw new SignetError({
      code: 'E_TRUST_ROOT',
      message: `the trusted root holds an unreadable key: ${(cause as Error).message}`,
      cause,
    });
  }
}

/** The root's trust material with one trusted key, valid within its window. */
function withKey(base: TrustMaterial, key: ResolvedKey): TrustMaterial {
  return { ...base, publicKey: () => ({ publicKey: key.key as KeyObject, validFor: (time: Date) => keyValidAt(key, time) }) };
}

function outsideWindow(key: ResolvedKey): SignetError {
  const window = `${key.validFrom?.toISOString() ?? 'any time'} to ${key.validUntil?.toISOString() ?? 'any time'}`;
  return new SignetError({
    code: 'E_POLICY',
    message: `${key.name} is trusted only from ${window}, and the signature has no trusted timestamp inside that window (a log entry's signed timestamp or an RFC 3161 timestamp); without one, now must be inside it`,
  });
}

/** A bundle whose key hint is a fingerprint no trusted key has: said, as it tells who signed. */
function hintNote(hint: string, keys: ResolvedKey[]): string {
  if (!/^[A-Za-z0-9+/]{43}=$/.test(hint) || keys.some((key) => key.hint === hint)) return '';
  return `; the bundle names another key (${fingerprintOfHint(hint)}), not ${keys.map((k) => k.name).join(' or ')}`;
}

const CODE_SIGNING = '1.3.6.1.5.5.7.3.3';
const EXTENDED_KEY_USAGE = '2.5.29.37';

/**
 * The signing certificate is a code-signing leaf, as Fulcio issues them and as sigstore-go and
 * cosign require (x509 Verify with ExtKeyUsageCodeSigning): not a CA, and with the code-signing
 * extended key usage. @sigstore/verify checks neither, so a CA certificate or a TLS certificate
 * from a trusted root's CA would otherwise pass for a signer.
 */
function assertCodeSigningLeaf(leaf: SigstoreCertificate): void {
  // Its basic constraints, not "can it sign certificates" (which also needs keyCertSign).
  if (leaf.extBasicConstraints?.isCA) {
    throw new SignetError({ code: 'E_CERTIFICATE', message: "the signing certificate is a CA certificate, not a signer's" });
  }
  let usages: string[] = [];
  try {
    // The extension value (an OCTET STRING) holds ExtKeyUsageSyntax, a SEQUENCE of OIDs; read with @sigstore/core's ASN.1 reader.
    usages = leaf.extension(EXTENDED_KEY_USAGE)?.valueObj.subs[0]?.subs.map((oid) => oid.toOID()) ?? [];
  } catch (cause) {
    throw new SignetError({ code: 'E_CERTIFICATE', message: "the signing certificate's extended key usage cannot be read", cause });
  }
  if (!usages.includes(CODE_SIGNING)) {
    throw new SignetError({
      code: 'E_CERTIFICATE',
      message: 'the signing certificate is not for code signing (no code-signing extended key usage)',
    });
  }
}

function certificateOf(bundle: Bundle): Uint8Array | undefined {
  const material = bundle.verificationMaterial.content;
  if (material.$case === 'certificate') return material.certificate.rawBytes;
  if (material.$case === 'x509CertificateChain') return material.x509CertificateChain.certificates[0]?.rawBytes;
  return undefined;
}

/** Whether a bundle signs an in-toto statement (a DSSE envelope of that payload type). */
function isStatementBundle(bundle: Bundle): boolean {
  return bundle.content.$case === 'dsseEnvelope' && bundle.content.dsseEnvelope.payloadType === INTOTO_PAYLOAD_TYPE;
}

/** The statement a DSSE bundle signs (unverified until the signature is checked). */
function dsseStatement(bundle: Bundle): Statement {
  if (bundle.content.$case !== 'dsseEnvelope') throw new SignetError({ code: 'E_INTERNAL', message: 'not a DSSE bundle' });
  return parseStatement(bundle.content.dsseEnvelope.payload);
}

/**
 * Whether what was signed is what the caller accepts: a release by default (a message
 * signature, or a statement of a release predicate type), else a statement of a named type.
 */
function checkAcceptedContent(statement: Statement | undefined, accepted: AcceptedContent | undefined): void {
  if (accepted === 'any') return;
  // A message signature, or a DSSE envelope of a plain payload: the artifact itself is signed.
  if (!statement) {
    if (accepted === undefined) return;
    throw new SignetError({
      code: 'E_POLICY',
      message: `the bundle is a plain signature, not an attestation of type ${accepted.map(predicateTypeName).join(' or ')}`,
    });
  }
  const type = statement.predicateType;
  if (accepted === undefined) {
    if (RELEASE_PREDICATE_TYPES.includes(type)) return;
    const name = predicateTypeName(type);
    throw new SignetError({
      code: 'E_POLICY',
      message: `the bundle is a ${name} attestation, which proves only what its type says, not a release signature; verify it as an attestation of its type (signet verify-attestation --type ${name.includes('/') ? type : name})`,
    });
  }
  if (!accepted.includes(type)) {
    throw new SignetError({
      code: 'E_POLICY',
      message: `the attestation's predicate type is ${type}, not ${accepted.join(' or ')}`,
    });
  }
}

/** The digests to compute: the message digest's algorithm, or those the statement's subjects use. */
function algorithmsNeeded(bundle: Bundle, statement: Statement | undefined): HashAlgorithm[] {
  if (bundle.content.$case === 'messageSignature') {
    return [protoHash(bundle.content.messageSignature.messageDigest.algorithm)];
  }
  if (!statement) return ['sha256'];
  const found = new Set<HashAlgorithm>();
  for (const subject of statement?.subject ?? []) {
    for (const algorithm of Object.keys(subject.digest)) {
      if (algorithm === 'sha256' || algorithm === 'sha384' || algorithm === 'sha512') found.add(algorithm);
    }
  }
  if (found.size === 0) {
    throw new SignetError({
      code: 'E_BUNDLE',
      message: "the statement's subjects have no sha256, sha384 or sha512 digest to check the artifact against",
    });
  }
  return [...found];
}

async function prepareArtifact(artifact: Artifact, algorithms: HashAlgorithm[], onProgress?: ProgressListener): Promise<PreparedArtifact> {
  if ('path' in artifact) {
    const bytes = await readSmallFile(artifact.path);
    if (bytes) return { digests: digestBytes(bytes, algorithms), bytes };
    const { digests } = await digestFile(artifact.path, algorithms, { onProgress });
    return { digests, path: artifact.path };
  }
  if ('bytes' in artifact) {
    const bytes = Buffer.from(artifact.bytes.buffer, artifact.bytes.byteOffset, artifact.bytes.byteLength);
    return { digests: digestBytes(bytes, algorithms), bytes };
  }
  const { algorithm, value } = artifact.digest;
  if (!algorithms.includes(algorithm)) throw digestKindMismatch(algorithms[0] ?? 'sha256', algorithm);
  if (value.length !== HASH_LENGTHS[algorithm]) {
    throw new SignetError({ code: 'E_INPUT', message: `a ${algorithm} digest is ${HASH_LENGTHS[algorithm]} bytes, not ${value.length}` });
  }
  return { digests: { [algorithm]: value } };
}

function digestKindMismatch(needed: HashAlgorithm, given?: HashAlgorithm): SignetError {
  return new SignetError({
    code: 'E_INPUT',
    message: `the bundle records a ${needed} digest${given ? `, not ${given}` : ''}; pass the artifact file or ${needed}:HEX`,
  });
}

/**
 * The subject that is this artifact: one whose digest matches every digest the two have in
 * common (a subject with sha256 and sha512 must match both), and whose name is the expected one.
 */
function matchingSubject(statement: Statement, digests: Digests, name: string | undefined): Subject {
  const byDigest = statement.subject.filter((subject) => {
    let compared = 0;
    for (const [algorithm, value] of Object.entries(digests)) {
      const recorded = subject.digest[algorithm];
      if (recorded === undefined || !value) continue;
      if (recorded.toLowerCase() !== value.toString('hex')) return false;
      compared++;
    }
    return compared > 0;
  });
  const names = statement.subject
    .map((s) => s.name ?? '(unnamed)')
    .slice(0, 5)
    .join(', ');
  if (byDigest.length === 0) {
    throw new SignetError({
      code: 'E_SIGNATURE',
      message: `the artifact is not a subject of the signed statement (its subjects: ${names}${statement.subject.length > 5 ? ', …' : ''})`,
    });
  }
  if (name === undefined) return byDigest[0] as Subject;
  const named = byDigest.find((subject) => subject.name !== undefined && sameName(subject.name, name));
  if (!named) {
    throw new SignetError({
      code: 'E_SIGNATURE',
      message: `the signed statement names these bytes ${byDigest.map((s) => s.name ?? '(unnamed)').join(', ')}, not ${name}`,
    });
  }
  return named;
}

/** Names compared as written and with percent-encoding undone (npm writes pkg:npm/%40scope/…). */
function sameName(a: string, b: string): boolean {
  return a === b || percentDecoded(a) === percentDecoded(b);
}

function percentDecoded(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

function protoHash(algorithm: ProtoHashAlgorithm): HashAlgorithm {
  switch (algorithm) {
    case ProtoHashAlgorithm.SHA2_384:
      return 'sha384';
    case ProtoHashAlgorithm.SHA2_512:
      return 'sha512';
    case ProtoHashAlgorithm.SHA2_256:
    case ProtoHashAlgorithm.HASH_ALGORITHM_UNSPECIFIED:
      return 'sha256';
    default:
      throw new SignetError({
        code: 'E_BUNDLE',
        message: `the bundle's message digest uses an unsupported hash (${ProtoHashAlgorithm[algorithm] ?? algorithm})`,
      });
  }
}

/** Parses the artifact argument the way cosign and the conformance suite pass it: a path, or `sha256:HEX`. */
export function artifactFromArgument(argument: string): Artifact {
  const match = /^(sha256|sha384|sha512):(.*)$/s.exec(argument);
  if (!match) return { path: argument };
  const algorithm = match[1] as HashAlgorithm;
  const hex = match[2] ?? '';
  if (!/^[0-9a-fA-F]*$/.test(hex) || hex.length !== HASH_LENGTHS[algorithm] * 2) {
    throw new SignetError({
      code: 'E_INPUT',
      message: `${algorithm}:${hex.length > 16 ? `${hex.slice(0, 16)}…` : hex} is not a ${algorithm} digest: give ${HASH_LENGTHS[algorithm] * 2} hex digits`,
    });
  }
  return { digest: { algorithm, value: Buffer.from(hex, 'hex') } };
}
