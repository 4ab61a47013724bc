import {
  BUNDLE_V01_MEDIA_TYPE,
  BUNDLE_V02_MEDIA_TYPE,
  BUNDLE_V03_LEGACY_MEDIA_TYPE,
  BUNDLE_V03_MEDIA_TYPE,
  type Bundle,
  type TransparencyLogEntry,
} from '@sigstore/bundle';
import { type ASN1Obj, RFC3161Timestamp, X509Certificate } from '@sigstore/core';
import { HashAlgorithm as ProtoHashAlgorithm } from '@sigstore/protobuf-specs';
import { type CertificateExtensions, certificateExtensions } from './certificate-identity';
import { SignetError } from './errors';
import { fingerprintOfHint } from './public-key';
import { INTOTO_PAYLOAD_TYPE, parseStatement } from './statement';

/*
 * What a bundle says, read and not checked: for people asking "what is in this file?" (signet
 * bundle inspect) and for any caller that shows a bundle before or without verifying it. Nothing
 * here is evidence: a signer, a time or a log entry is what the bundle claims until a Verifier
 * (verify.ts) has checked it, which is why every description carries `verified: false`.
 * Every value is JSON as it stands (strings, numbers, booleans), so a description prints as is.
 */

export interface BundleDescription {
  /** Always false: a description is what the bundle claims. Verify it to rely on any of it. */
  verified: false;
  mediaType: string;
  /** The bundle format version the media type names. */
  version: '0.1' | '0.2' | '0.3';
  content: MessageSignatureDescription | DsseEnvelopeDescription;
  signer: PublicKeyDescription | CertificateDescription;
  tlogEntries: TlogEntryDescription[];
  timestamps: TimestampDescription[];
}

/** A signature over one artifact, identified by its digest. */
export interface MessageSignatureDescription {
  kind: 'messageSignature';
  digest: { algorithm: string; hex: string };
}

/** A DSSE envelope: a signed payload, for an in-toto statement the statement's outline. */
export interface DsseEnvelopeDescription {
  kind: 'dsseEnvelope';
  payloadType: string;
  payloadBytes: number;
  signatures: number;
  /** Present when the payload is an in-toto statement. */
  statement?: StatementDescription;
}

export interface StatementDescription {
  /** The statement's `_type`. */
  type: string;
  predicateType: string;
  subjects: { name?: string; digest: Record<string, string> }[];
}

/** A signature by a key the bundle names only by a hint: the verifier must already have the key. */
export interface PublicKeyDescription {
  kind: 'publicKey';
  hint: string;
  /** `sha256:HEX`, when the hint is a base64 SHA-256 (the SPKI digest Signet and cosign write). */
  fingerprint?: string;
}

/** A signature by a certificate's key (keyless: a short-lived Fulcio certificate). */
export interface CertificateDescription {
  kind: 'certificate';
  /** The identity the certificate names (its SAN): an email address or a URI. */
  subject?: string;
  /** The OIDC issuer that vouched for the identity (Fulcio extension 1.8, or the older 1.1). */
  issuer?: string;
  /** The certificate authority that issued it (the certificate's issuer name). */
  issuedBy?: string;
  /** Hex, as OpenSSL prints it (no sign byte). */
  serialNumber: string;
  /** ISO 8601. */
  notBefore: string;
  notAfter: string;
  extensions: CertificateExtensions;
  /** Certificates the bundle carries, the leaf first (1 unless it carries a chain). */
  chainLength: number;
}

export interface TlogEntryDescription {
  /** Hex: the SHA-256 of the log's public key. */
  logId: string;
  /** Decimal, as the bundle carries it (an int64). */
  logIndex: string;
  /** hashedrekord, dsse, intoto… */
  kind: string;
  version: string;
  /** Seconds since the epoch, decimal; "0" where the log records no time (Rekor v2). */
  integratedTime: string;
  /** The same time in ISO 8601, when there is one. */
  integratedAt?: string;
  /** Whether the entry carries a signed entry timestamp (Rekor v1's inclusion promise). */
  inclusionPromise: boolean;
  inclusionProof?: InclusionProofDescription;
}

export interface InclusionProofDescription {
  logIndex: string;
  treeSize: string;
  /** Hex. */
  rootHash: string;
  hashes: number;
  /** The signed checkpoint (tree head) the proof leads to, by its origin line (the log's name). */
  checkpoint?: { origin: string };
}

/** An RFC 3161 timestamp over the signature. */
export interface TimestampDescription {
  /** ISO 8601: the time the TSA says it saw the signature. */
  signingTime: string;
  /** The TSA's name, when the token carries it (TSTInfo's tsa field). */
  tsaName?: string;
  /** The token's serial number, hex (no sign byte). */
  serialNumber?: string;
}

const VERSIONS: Readonly<Record<string, BundleDescription['version']>> = {
  [BUNDLE_V01_MEDIA_TYPE]: '0.1',
  [BUNDLE_V02_MEDIA_TYPE]: '0.2',
  [BUNDLE_V03_LEGACY_MEDIA_TYPE]: '0.3',
  [BUNDLE_V03_MEDIA_TYPE]: '0.3',
};

/**
 * Describes a bundle (from readBundle or parseBundle) without verifying anything: no trusted
 * root, no network. A part that cannot be read (a certificate or timestamp that is not DER, an
 * in-toto payload that is not a statement) is E_BUNDLE, as verification would refuse it.
 */
export function describeBundle(bundle: Bundle): BundleDescription {
  const version = VERSIONS[bundle.mediaType];
  if (!version) {
    throw new SignetError({ code: 'E_BUNDLE', message: `the bundle has unsupported media type ${bundle.mediaType}` });
  }
  return {
    verified: false,
    mediaType: bundle.mediaType,
    version,
    content: describeContent(bundle.content),
    signer: describeSigner(bundle.verificationMaterial.content),
    tlogEntries: bundle.verificationMaterial.tlogEntries.map(describeTlogEntry),
    timestamps: (bundle.verificationMaterial.timestampVerificationData?.rfc3161Timestamps ?? []).map((timestamp, i) =>
      describeTimestamp(timestamp.signedTimestamp, i),
    ),
  };
}

function describeContent(content: Bundle['content']): BundleDescription['content'] {
  if (content.$case === 'messageSignature') {
    const { messageDigest } = content.messageSignature;
    return {
      kind: 'messageSignature',
      digest: { algorithm: hashName(messageDigest.algorithm), hex: Buffer.from(messageDigest.digest).toString('hex') },
    };
  }
  const envelope = content.dsseEnvelope;
  const description: DsseEnvelopeDescription = {
    kind: 'dsseEnvelope',
    payloadType: envelope.payloadType,
    payloadBytes: envelope.payload.length,
    signatures: envelope.signatures.length,
  };
  if (envelope.payloadType === INTOTO_PAYLOAD_TYPE) {
    const statement = parseStatement(envelope.payload);
    description.statement = {
      type: statement._type,
      predicateType: statement.predicateType,
      subjects: statement.subject.map((subject) => ({
        ...(subject.name === undefined ? {} : { name: subject.name }),
        digest: { ...subject.digest },
      })),
    };
  }
  return description;
}

function hashName(algorithm: ProtoHashAlgorithm): string {
  switch (algorithm) {
    case ProtoHashAlgorithm.SHA2_384:
      return 'sha384';
    case ProtoHashAlgorithm.SHA2_512:
      return 'sha512';
    // Unspecified is what sigstore-js reads as SHA-256, as verification does.
    case ProtoHashAlgorithm.SHA2_256:
    case ProtoHashAlgorithm.HASH_ALGORITHM_UNSPECIFIED:
      return 'sha256';
    default:
      return (ProtoHashAlgorithm[algorithm] ?? String(algorithm)).toLowerCase();
  }
}

function describeSigner(material: Bundle['verificationMaterial']['content']): BundleDescription['signer'] {
  switch (material.$case) {
    case 'publicKey': {
      const { hint } = material.publicKey;
      // A base64 SHA-256: 32 bytes, 43 characters and one '='.
      return /^[A-Za-z0-9+/]{43}=$/.test(hint)
        ? { kind: 'publicKey', hint, fingerprint: fingerprintOfHint(hint) }
        : { kind: 'publicKey', hint };
    }
    case 'certificate':
      return describeCertificate(material.certificate.rawBytes, 1);
    case 'x509CertificateChain': {
      const { certificates } = material.x509CertificateChain;
      const leaf = certificates[0];
      if (!leaf) throw new SignetError({ code: 'E_BUNDLE', message: "the bundle's certificate chain is empty" });
      return describeCertificate(leaf.rawBytes, certificates.length);
    }
  }
}

function describeCertificate(der: Uint8Array, chainLength: number): CertificateDescription {
  let cert: X509Certificate;
  let extensions: CertificateExtensions;
  try {
    cert = X509Certificate.parse(Buffer.from(der));
    extensions = certificateExtensions(der);
  } catch (cause) {
    throw new SignetError({ code: 'E_BUNDLE', message: "the bundle's certificate is not a readable X.509 certificate", cause });
  }
  const description: CertificateDescription = {
    kind: 'certificate',
    subject: cert.subjectAltName,
    issuer: extensions.issuer,
    // The issuer Name is TBSCertificate's fourth field (after version, serial, signature), as @sigstore/core reads it.
    issuedBy: readable(() => distinguishedName(cert.tbsCertificate.subs[3])),
    serialNumber: integerHex(cert.serialNumber),
    notBefore: cert.notBefore.toISOString(),
    notAfter: cert.notAfter.toISOString(),
    extensions,
    chainLength,
  };
  for (const key of ['subject', 'issuer', 'issuedBy'] as const) if (description[key] === undefined) delete description[key];
  return description;
}

function describeTlogEntry(entry: TransparencyLogEntry): TlogEntryDescription {
  const description: TlogEntryDescription = {
    logId: Buffer.from(entry.logId.keyId).toString('hex'),
    logIndex: entry.logIndex,
    kind: entry.kindVersion.kind,
    version: entry.kindVersion.version,
    integratedTime: entry.integratedTime,
    inclusionPromise: (entry.inclusionPromise?.signedEntryTimestamp.length ?? 0) > 0,
  };
  const integratedAt = secondsToISO(entry.integratedTime);
  if (integratedAt) description.integratedAt = integratedAt;
  const proof = entry.inclusionProof;
  if (proof) {
    description.inclusionProof = {
      logIndex: proof.logIndex,
      treeSize: proof.treeSize,
      rootHash: Buffer.from(proof.rootHash).toString('hex'),
      hashes: proof.hashes.length,
    };
    // A checkpoint's first line is its origin: the log's name (and, for Rekor v1, its tree id).
    const envelope = proof.checkpoint?.envelope ?? '';
    if (envelope !== '') description.inclusionProof.checkpoint = { origin: envelope.split('\n', 1)[0] as string };
  }
  return description;
}

function secondsToISO(seconds: string): string | undefined {
  if (!/^[1-9]\d{0,11}$/.test(seconds)) return undefined;
  const date = new Date(Number(seconds) * 1000);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

function describeTimestamp(der: Uint8Array, index: number): TimestampDescription {
  let timestamp: RFC3161Timestamp;
  let signingTime: Date;
  try {
    timestamp = RFC3161Timestamp.parse(Buffer.from(der));
    signingTime = timestamp.signingTime;
  } catch (cause) {
    throw new SignetError({ code: 'E_BUNDLE', message: `the bundle's RFC 3161 timestamp ${index + 1} is not readable`, cause });
  }
  const description: TimestampDescription = { signingTime: signingTime.toISOString() };
  const info = readable(() => timestamp.tstInfo.root);
  // TSTInfo (RFC 3161 §2.4.2): version, policy, messageImprint, serialNumber, genTime, …, tsa [0] OPTIONAL.
  const serialNumber = readable(() => (info?.subs[3] ? integerHex(info.subs[3].value) : undefined));
  if (serialNumber) description.serialNumber = serialNumber;
  const tsaName = readable(() => generalName(info?.subs.find((sub) => sub.tag.isContextSpecific(0))?.subs[0]));
  if (tsaName) description.tsaName = tsaName;
  return description;
}

/** A DER INTEGER's bytes as the number in hex, without the sign byte DER puts before a high bit (as OpenSSL prints serials). */
function integerHex(bytes: Buffer): string {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  return bytes.subarray(start).toString('hex');
}

/** A value that may be absent or malformed: the optional parts of a description are shown when they can be read. */
function readable<T>(read: () => T | undefined): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}

/** Short names of the attribute types names use, as OpenSSL prints them. */
const ATTRIBUTE_NAMES: Readonly<Record<string, string>> = {
  '2.5.4.3': 'CN',
  '2.5.4.5': 'serialNumber',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '1.2.840.113549.1.9.1': 'emailAddress',
};

/** An X.501 Name (a sequence of sets of type and value), parsed by @sigstore/core, as `O=…, CN=…`. */
function distinguishedName(name: ASN1Obj | undefined): string | undefined {
  if (!name) return undefined;
  const parts = name.subs.flatMap((rdn) =>
    rdn.subs.map((attribute) => {
      const [type, value] = attribute.subs;
      if (!type || !value) throw new Error('not an attribute');
      const oid = type.toOID();
      return `${ATTRIBUTE_NAMES[oid] ?? oid}=${value.value.toString('utf8')}`;
    }),
  );
  return parts.length > 0 ? parts.join(', ') : undefined;
}

/** A GeneralName as a TSA names itself: a directory name (the usual), a URI or a DNS name. */
function generalName(name: ASN1Obj | undefined): string | undefined {
  if (!name) return undefined;
  if (name.tag.isContextSpecific(4)) return name.subs[0] ? distinguishedName(name.subs[0]) : undefined;
  if (name.tag.isContextSpecific(6) || name.tag.isContextSpecific(2) || name.tag.isContextSpecific(1)) return name.value.toString('utf8');
  return undefined;
}
