import type { KeyObject } from 'node:crypto';
import type { Bundle } from '@sigstore/bundle';
import { HashAlgorithm as ProtoHashAlgorithm } from '@sigstore/protobuf-specs';
import { type TrustMaterial, toSignedEntity, toTrustMaterial, VerificationError, Verifier } from '@sigstore/verify';
import { HASH_LENGTHS, type HashAlgorithm } from './algorithms';
import { type Digests, digestBytes, digestFile, type ProgressListener, readSmallFile } from './digest';
import { SignetError, type SignetErrorCode } from './errors';
import { checkIdentityRule, type IdentityRule, identityMatches, keyValidAt, type Policy, type ResolvedKey, resolveKeys } from './policy';
import { DsseSignatureCheck, MessageSignatureCheck, type PreparedArtifact } from './signature-content';
import { hexDigests, INTOTO_PAYLOAD_TYPE, parseStatement, type Statement } from './statement';
import { emptyTrustedRoot, type TrustedRoot } from './trusted-root';

/** What is being verified: a file (streamed), bytes in memory, or only a digest. */
export type Artifact = { path: string } | { bytes: Uint8Array } | { digest: { algorithm: HashAlgorithm; value: Buffer } };

export interface VerifyOptions {
  /** Trust material for certificates, logs and timestamps. Without it: keys only, offline. */
  trustedRoot?: TrustedRoot;
  onProgress?: ProgressListener;
}

export type SignerIdentity = { kind: 'key'; name: string; fingerprint: string } | { kind: 'certificate'; subject: string; issuer: string };

export interface TimestampInfo {
  source: 'transparency-log' | 'timestamp-authority';
  time: Date;
}

export interface VerifiedSignature {
  signer: SignerIdentity;
  /** Trusted times the signature was seen at (empty for an offline key signature). */
  timestamps: TimestampInfo[];
  tlogEntries: number;
  /** The artifact's digests, lower-case hex. */
  digests: Record<string, string>;
  /** For a DSSE bundle, the verified in-toto statement. */
  statement?: Statement;
}

/** Parses the artifact argument the way cosign and the conformance suite pass it: a path, or `sha256:HEX`. */
export function artifactFromArgument(argument: string): Artifact {
  const match = /^(sha256|sha384|sha512):([0-9a-fA-F]+)$/.exec(argument);
  if (!match) return { path: argument };
  const algorithm = match[1] as HashAlgorithm;
  const value = Buffer.from(match[2] ?? '', 'hex');
  if (value.length !== HASH_LENGTHS[algorithm]) {
    throw new SignetError({
      code: 'E_INPUT',
      message: `${argument.slice(0, algorithm.length + 1)} needs ${HASH_LENGTHS[algorithm] * 2} hex digits, got ${(match[2] ?? '').length}`,
    });
  }
  return { digest: { algorithm, value } };
}

/**
 * Verifies a bundle over an artifact under a policy. On success returns who signed;
 * on any failure throws a SignetError: E_SIGNATURE when the signature or artifact do
 * not match, E_POLICY when a valid signature is not one the policy trusts,
 * E_CERTIFICATE / E_TLOG / E_TIMESTAMP for the trust checks, E_BUNDLE / E_INPUT for
 * malformed input.
 */
export async function verifyBundle(
  bundle: Bundle,
  artifact: Artifact,
  policy: Policy,
  options: VerifyOptions = {},
): Promise<VerifiedSignature> {
  const statement = bundle.content.$case === 'dsseEnvelope' ? dsseStatement(bundle) : undefined;
  const prepared = await prepareArtifact(artifact, algorithmsNeeded(bundle, statement), options);
  const digests = hexDigests(prepared.digests);

  let content: MessageSignatureCheck | DsseSignatureCheck;
  if (bundle.content.$case === 'messageSignature') {
    const { messageDigest, signature } = bundle.content.messageSignature;
    const hash = protoHash(messageDigest.algorithm);
    const actual = prepared.digests[hash];
    if (!actual) throw digestKindMismatch(hash);
    if (!actual.equals(messageDigest.digest)) {
      throw new SignetError({
        code: 'E_SIGNATURE',
        message: `the artifact does not match the bundle: its ${hash} is ${actual.toString('hex')}, the bundle signs ${messageDigest.digest.toString('hex')}`,
      });
    }
    content = new MessageSignatureCheck(signature, messageDigest.digest, hash, prepared);
  } else {
    content = new DsseSignatureCheck(bundle.content.dsseEnvelope);
    checkSubjects(statement as Statement, prepared.digests);
  }

  const usesCertificate = bundle.verificationMaterial.content.$case !== 'publicKey';
  const signer = usesCertificate
    ? verifyCertificateBundle(bundle, content, policy, options)
    : verifyKeyBundle(bundle, content, policy, options);
  const result: VerifiedSignature = {
    ...signer,
    tlogEntries: bundle.verificationMaterial.tlogEntries.length,
    digests,
  };
  if (statement) {
    checkPredicateType(statement, policy);
    result.statement = statement;
  }
  return result;
}

/**
 * Verifies a DSSE bundle's signature and its signer, and returns the statement, without
 * binding it to one artifact: for a statement about many files (a build's manifest), the
 * caller checks each subject itself. A message signature cannot be checked this way.
 */
export async function verifyStatementBundle(
  bundle: Bundle,
  policy: Policy,
  options: VerifyOptions = {},
): Promise<VerifiedSignature & { statement: Statement }> {
  if (bundle.content.$case !== 'dsseEnvelope') {
    throw new SignetError({ code: 'E_BUNDLE', message: 'the bundle holds a signature over one artifact, not a signed statement (DSSE)' });
  }
  const statement = dsseStatement(bundle);
  const content = new DsseSignatureCheck(bundle.content.dsseEnvelope);
  const signer =
    bundle.verificationMaterial.content.$case === 'publicKey'
      ? verifyKeyBundle(bundle, content, policy, options)
      : verifyCertificateBundle(bundle, content, policy, options);
  checkPredicateType(statement, policy);
  return { ...signer, tlogEntries: bundle.verificationMaterial.tlogEntries.length, digests: {}, statement };
}

type SignerResult = Pick<VerifiedSignature, 'signer' | 'timestamps'>;

/**
 * Refuses at once a policy that cannot accept this kind of bundle: a key signature with no
 * key trusted, a certificate with no identity trusted (never "any identity"). Callers run
 * it before fetching trust material they would not need.
 */
export function assertPolicyCovers(bundle: Bundle, policy: Policy): void {
  if (bundle.verificationMaterial.content.$case === 'publicKey') {
    if (!policy.keys?.length) {
      throw new SignetError({ code: 'E_POLICY', message: 'the bundle is signed by a key; give the public key to trust with --key' });
    }
  } else if (!policy.identities?.length) {
    throw new SignetError({
      code: 'E_POLICY',
      message:
        'the bundle is signed by a certificate (keyless); give the identity to trust with --certificate-identity (or -regexp) and --certificate-oidc-issuer (or -regexp), or --github-repository. Verifying without one is refused',
    });
  }
}

function verifyKeyBundle(
  bundle: Bundle,
  content: MessageSignatureCheck | DsseSignatureCheck,
  policy: Policy,
  options: VerifyOptions,
): SignerResult {
  assertPolicyCovers(bundle, policy);
  const keys = resolveKeys(policy.keys ?? []);
  const hint = bundle.verificationMaterial.content.$case === 'publicKey' ? bundle.verificationMaterial.content.publicKey.hint : '';
  // The hint names the key that signed; try it first, then every other trusted key
  // (cosign and other tools write hints that are not fingerprints, or none).
  const candidates = [...keys.filter((k) => k.fingerprint === hint), ...keys.filter((k) => k.fingerprint !== hint)];
  const entity = signedEntity(bundle, content);
  const timestamps = timestampsOf(entity);
  let firstError: SignetError | undefined;
  for (const candidate of candidates) {
    const trust = trustMaterial(options.trustedRoot, candidate.key, (time) => keyValidAt(candidate, time));
    try {
      runVerifier(trust, entity, content, {
        tlogThreshold: policy.tlogThreshold ?? 0,
        timestampThreshold: policy.timestampThreshold ?? 0,
        ctlogThreshold: 0,
      });
    } catch (error) {
      firstError ??= error as SignetError;
      continue;
    }
    // With a trusted timestamp, sigstore-js checked the key's window at that time;
    // without one, the only time we can vouch for is now.
    if (timestamps.length === 0 && !keyValidAt(candidate, new Date())) {
      firstError ??= outsideWindow(candidate);
      continue;
    }
    return { signer: { kind: 'key', name: candidate.name, fingerprint: candidate.fingerprint }, timestamps };
  }
  if (candidates.length > 1 && firstError?.code === 'E_SIGNATURE') {
    throw new SignetError({
      code: 'E_SIGNATURE',
      message: `the signature does not verify with any of the ${candidates.length} trusted keys`,
      cause: firstError,
    });
  }
  throw firstError ?? new SignetError({ code: 'E_INTERNAL', message: 'no key was tried' });
}

function verifyCertificateBundle(
  bundle: Bundle,
  content: MessageSignatureCheck | DsseSignatureCheck,
  policy: Policy,
  options: VerifyOptions,
): SignerResult {
  assertPolicyCovers(bundle, policy);
  const rules = policy.identities ?? [];
  rules.forEach(checkIdentityRule);
  if (!options.trustedRoot || options.trustedRoot.certificateAuthorities.length === 0) {
    throw new SignetError({
      code: 'E_TRUST_ROOT',
      message: 'the bundle is signed by a certificate, but the trusted root has no certificate authority; pass --trusted-root',
    });
  }
  const entity = signedEntity(bundle, content);
  const timestamps = timestampsOf(entity);
  // sigstore-js dereferences an empty certificate path (a TypeError) when a
  // certificate comes with no timestamp at all; a certificate's validity can only
  // be judged at a trusted time, so none at all is a clean failure here.
  if (entity.timestamps.length === 0) {
    throw new SignetError({
      code: 'E_TIMESTAMP',
      message: 'the certificate bundle has no transparency-log entry or timestamp, so no trusted signing time: it cannot be verified',
    });
  }
  const trust = trustMaterial(options.trustedRoot);
  const signer = runVerifier(trust, entity, content, {
    tlogThreshold: policy.tlogThreshold ?? 1,
    timestampThreshold: policy.timestampThreshold ?? 1,
    ctlogThreshold: policy.ctlogThreshold ?? 1,
  });
  const subject = signer.identity?.subjectAlternativeName;
  const issuer = signer.identity?.extensions?.issuer;
  if (!rules.some((rule) => identityMatches(rule, subject, issuer))) {
    throw new SignetError({
      code: 'E_POLICY',
      message: `signed by ${subject ?? '(no identity)'} (issuer ${issuer ?? 'unknown'}), which the policy does not trust (${describeRules(rules)})`,
    });
  }
  return { signer: { kind: 'certificate', subject: subject as string, issuer: issuer as string }, timestamps };
}

type SignedEntity = ReturnType<typeof toSignedEntity>;

function signedEntity(bundle: Bundle, content: MessageSignatureCheck | DsseSignatureCheck): SignedEntity {
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

function runVerifier(
  trust: TrustMaterial,
  entity: SignedEntity,
  content: MessageSignatureCheck | DsseSignatureCheck,
  thresholds: { tlogThreshold: number; timestampThreshold: number; ctlogThreshold: number },
) {
  try {
    return new Verifier(trust, thresholds).verify(entity);
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

function trustMaterial(root: TrustedRoot | undefined, key?: KeyObject, validFor?: (time: Date) => boolean): TrustMaterial {
  try {
    return toTrustMaterial(root ?? emptyTrustedRoot(), (hint: string) => {
      if (!key || !validFor) {
        throw new VerificationError({ code: 'PUBLIC_KEY_ERROR', message: `no trusted key for hint ${hint}` });
      }
      return { publicKey: key, validFor };
    });
  } catch (cause) {
    throw new SignetError({
      code: 'E_TRUST_ROOT',
      message: `the trusted root holds an unreadable key: ${(cause as Error).message}`,
      cause,
    });
  }
}

function timestampsOf(entity: SignedEntity): VerifiedSignature['timestamps'] {
  return entity.timestamps.map((timestamp) =>
    timestamp.$case === 'transparency-log'
      ? { source: 'transparency-log' as const, time: new Date(Number(timestamp.tlogEntry.integratedTime) * 1000) }
      : { source: 'timestamp-authority' as const, time: timestamp.timestamp.signingTime },
  );
}

function outsideWindow(key: ResolvedKey): SignetError {
  const window = `${key.validFrom?.toISOString() ?? 'any time'} to ${key.validUntil?.toISOString() ?? 'any time'}`;
  return new SignetError({
    code: 'E_POLICY',
    message: `${key.name} is trusted only from ${window}, and the signature has no trusted timestamp inside that window`,
  });
}

function dsseStatement(bundle: Bundle): Statement {
  if (bundle.content.$case !== 'dsseEnvelope') throw new SignetError({ code: 'E_INTERNAL', message: 'not a DSSE bundle' });
  const envelope = bundle.content.dsseEnvelope;
  if (envelope.payloadType !== INTOTO_PAYLOAD_TYPE) {
    throw new SignetError({
      code: 'E_BUNDLE',
      message: `the DSSE payload type is ${envelope.payloadType}; Signet verifies in-toto statements (${INTOTO_PAYLOAD_TYPE})`,
    });
  }
  return parseStatement(envelope.payload);
}

/** The digests to compute: the message digest's algorithm, or those the statement's subjects use. */
function algorithmsNeeded(bundle: Bundle, statement: Statement | undefined): HashAlgorithm[] {
  if (bundle.content.$case === 'messageSignature') {
    return [protoHash(bundle.content.messageSignature.messageDigest.algorithm)];
  }
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

async function prepareArtifact(artifact: Artifact, algorithms: HashAlgorithm[], options: VerifyOptions): Promise<PreparedArtifact> {
  if ('path' in artifact) {
    const bytes = await readSmallFile(artifact.path);
    if (bytes) return { digests: digestBytes(bytes, algorithms), bytes };
    const { digests } = await digestFile(artifact.path, algorithms, { onProgress: options.onProgress });
    return { digests, path: artifact.path };
  }
  if ('bytes' in artifact) {
    const bytes = Buffer.from(artifact.bytes.buffer, artifact.bytes.byteOffset, artifact.bytes.byteLength);
    return { digests: digestBytes(bytes, algorithms), bytes };
  }
  const { algorithm, value } = artifact.digest;
  if (!algorithms.includes(algorithm)) throw digestKindMismatch(algorithms[0] ?? 'sha256', algorithm);
  return { digests: { [algorithm]: value } };
}

function digestKindMismatch(needed: HashAlgorithm, given?: HashAlgorithm): SignetError {
  return new SignetError({
    code: 'E_INPUT',
    message: `the bundle records a ${needed} digest${given ? `, not ${given}` : ''}; pass the artifact file or ${needed}:HEX`,
  });
}

function checkSubjects(statement: Statement, digests: Digests): void {
  const matches = statement.subject.some((subject) =>
    Object.entries(digests).some(([algorithm, value]) => subject.digest[algorithm]?.toLowerCase() === value?.toString('hex')),
  );
  if (!matches) {
    const names = statement.subject
      .map((s) => s.name ?? '(unnamed)')
      .slice(0, 5)
      .join(', ');
    throw new SignetError({
      code: 'E_SIGNATURE',
      message: `the artifact is not a subject of the signed statement (its subjects: ${names}${statement.subject.length > 5 ? ', …' : ''})`,
    });
  }
}

function checkPredicateType(statement: Statement, policy: Policy): void {
  if (policy.predicateTypes && !policy.predicateTypes.includes(statement.predicateType)) {
    throw new SignetError({
      code: 'E_POLICY',
      message: `the attestation's predicate type is ${statement.predicateType}, not ${policy.predicateTypes.join(' or ')}`,
    });
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

function describeRules(rules: IdentityRule[]): string {
  return rules.map((r) => `${r.subject ?? `/${r.subjectRegExp}/`} from ${r.issuer ?? `/${r.issuerRegExp}/`}`).join('; ');
}
