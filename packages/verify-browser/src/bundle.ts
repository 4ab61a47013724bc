import { base64Decode, base64Encode } from './encoding.js';
import { fail } from './errors.js';

/*
 * A Sigstore bundle read as @signet/core reads one (protobuf-specs' fromJSON, then
 * @sigstore/bundle's validation): the same leniency (a missing list is empty, a scalar is
 * turned into a string) and the same refusals, so the two verifiers judge the same bundle.
 * Only what a DSSE manifest needs is kept.
 */

export const MEDIA_TYPES = [
  'application/vnd.dev.sigstore.bundle+json;version=0.1',
  'application/vnd.dev.sigstore.bundle+json;version=0.2',
  'application/vnd.dev.sigstore.bundle+json;version=0.3',
  'application/vnd.dev.sigstore.bundle.v0.3+json',
];

export interface TlogEntry {
  logIndex: string;
  logId?: { keyId: Uint8Array };
  kindVersion?: { kind: string; version: string };
  integratedTime: string;
  inclusionPromise?: { signedEntryTimestamp: Uint8Array };
  inclusionProof?: { logIndex: string; rootHash: Uint8Array; treeSize: string; hashes: Uint8Array[]; checkpoint?: { envelope: string } };
  canonicalizedBody: Uint8Array;
}

export interface ParsedBundle {
  mediaType: string;
  /** 'dsse' when the bundle signs an envelope; a message signature is kept only as a fact. */
  content?: { kind: 'messageSignature' } | { kind: 'dsse'; payload: Uint8Array; payloadType: string; signatures: Uint8Array[] };
  material?:
    | { kind: 'publicKey'; hint: string }
    | { kind: 'certificate'; rawBytes: Uint8Array }
    | { kind: 'x509CertificateChain'; certificates: Uint8Array[] };
  tlogEntries: TlogEntry[];
  rfc3161Timestamps: number;
  /** The RFC 3161 timestamp tokens, as read. */
  timestampTokens: Uint8Array[];
  /** The JSON as given, for the keyless part (which reads the bundle itself). */
  json: Record<string, unknown>;
}

type Json = Record<string, unknown>;
const isSet = (value: unknown) => value !== null && value !== undefined;
const str = (value: unknown, fallback = ''): string => (isSet(value) ? String(value) : fallback);

/**
 * An int64 field (JSON text or number) as its canonical decimal text: "01", "1e3" or "0x1" would
 * make one entry look like two where entries are compared or counted, so they are refused.
 */
function uint(value: unknown, name: string): string {
  if (!isSet(value)) return '0';
  const text = typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : value;
  if (typeof text !== 'string' || !/^(0|[1-9][0-9]*)$/.test(text)) {
    fail('E_BUNDLE', `the bundle is malformed: ${name} ${JSON.stringify(value)} is not a non-negative integer in decimal`);
  }
  return text;
}
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
const field = (value: unknown, key: string): unknown => (isSet(value) ? (value as Json)[key] : undefined);

/** A bytes field: base64 text, or (as Buffer.from takes it) an array of byte values; anything else is malformed. */
function bytes(value: unknown): Uint8Array {
  if (!isSet(value)) return new Uint8Array(0);
  if (typeof value === 'string') return base64Decode(value);
  if (Array.isArray(value)) return Uint8Array.from(value as number[]);
  return fail('E_BUNDLE', `the bundle is not a valid Sigstore bundle (a bytes field holds ${typeof value})`);
}

export function parseBundle(input: unknown): ParsedBundle {
  let value = input;
  if (typeof input === 'string') {
    if (input.trim() === '') fail('E_BUNDLE', 'the bundle is empty');
    try {
      value = JSON.parse(input);
    } catch (cause) {
      fail('E_BUNDLE', 'the bundle is not valid JSON (truncated or corrupt?)', cause);
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail('E_BUNDLE', 'the bundle is not a Sigstore bundle (expected a JSON object)');
  }
  const json = value as Json;
  const given = json.mediaType;
  if (typeof given !== 'string' || !MEDIA_TYPES.includes(given)) {
    fail(
      'E_BUNDLE',
      `the bundle has ${typeof given === 'string' ? `unsupported media type ${given}` : 'no mediaType'}; Signet reads Sigstore bundles v0.1 to v0.3`,
    );
  }
  const mediaType = given as string;
  const bundle: ParsedBundle = { mediaType, tlogEntries: [], rfc3161Timestamps: 0, timestampTokens: [], json };
  if (isSet(json.messageSignature)) bundle.content = { kind: 'messageSignature' };
  else if (isSet(json.dsseEnvelope)) {
    const envelope = json.dsseEnvelope;
    bundle.content = {
      kind: 'dsse',
      payload: bytes(field(envelope, 'payload')),
      payloadType: str(field(envelope, 'payloadType')),
      signatures: list(field(envelope, 'signatures')).map((signature) => bytes(field(signature, 'sig'))),
    };
  }
  const material = json.verificationMaterial;
  const invalid: string[] = [];
  if (isSet(material)) {
    const publicKey = field(material, 'publicKey');
    const chain = field(material, 'x509CertificateChain');
    const certificate = field(material, 'certificate');
    if (isSet(publicKey)) bundle.material = { kind: 'publicKey', hint: str(field(publicKey, 'hint')) };
    else if (isSet(chain))
      bundle.material = {
        kind: 'x509CertificateChain',
        certificates: list(field(chain, 'certificates')).map((c) => bytes(field(c, 'rawBytes'))),
      };
    else if (isSet(certificate)) bundle.material = { kind: 'certificate', rawBytes: bytes(field(certificate, 'rawBytes')) };
    bundle.tlogEntries = list(field(material, 'tlogEntries')).map(tlogEntry);
    const timestamps = field(material, 'timestampVerificationData');
    if (isSet(timestamps)) {
      const tokens = list(field(timestamps, 'rfc3161Timestamps'));
      bundle.timestampTokens = tokens.map((token) => bytes(field(token, 'signedTimestamp')));
      bundle.rfc3161Timestamps = tokens.length;
    }
  }

  // @sigstore/bundle's validation, for the media type given.
  if (!bundle.content) invalid.push('content');
  else if (bundle.content.kind === 'dsse') {
    if (bundle.content.payload.length === 0) invalid.push('content.dsseEnvelope.payload');
    if (bundle.content.signatures.length !== 1) invalid.push('content.dsseEnvelope.signatures');
    else if (bundle.content.signatures[0]?.length === 0) invalid.push('content.dsseEnvelope.signatures[0].sig');
  } else {
    const signature = field(json.messageSignature, 'messageDigest');
    if (!isSet(signature)) invalid.push('content.messageSignature.messageDigest');
  }
  if (!isSet(material)) invalid.push('verificationMaterial');
  else if (!bundle.material) invalid.push('verificationMaterial.content');
  else if (bundle.material.kind === 'x509CertificateChain') {
    if (bundle.material.certificates.length === 0) invalid.push('verificationMaterial.content.x509CertificateChain.certificates');
    if (bundle.material.certificates.some((c) => c.length === 0))
      invalid.push('verificationMaterial.content.x509CertificateChain.certificates[].rawBytes');
  } else if (bundle.material.kind === 'certificate' && bundle.material.rawBytes.length === 0) {
    invalid.push('verificationMaterial.content.certificate.rawBytes');
  }
  bundle.tlogEntries.forEach((entry, i) => {
    if (!entry.logId) invalid.push(`verificationMaterial.tlogEntries[${i}].logId`);
    if (!entry.kindVersion) invalid.push(`verificationMaterial.tlogEntries[${i}].kindVersion`);
    if (mediaType.endsWith('version=0.1')) {
      if (!entry.inclusionPromise) invalid.push(`verificationMaterial.tlogEntries[${i}].inclusionPromise`);
    } else if (!entry.inclusionProof) invalid.push(`verificationMaterial.tlogEntries[${i}].inclusionProof`);
    else if (!entry.inclusionProof.checkpoint) invalid.push(`verificationMaterial.tlogEntries[${i}].inclusionProof.checkpoint`);
  });
  if (!mediaType.endsWith('version=0.1') && !mediaType.endsWith('version=0.2') && bundle.material?.kind === 'x509CertificateChain') {
    invalid.push('verificationMaterial.content.$case');
  }
  if (invalid.length > 0) fail('E_BUNDLE', `the bundle is not a valid Sigstore bundle (${invalid.join(', ')})`);
  return bundle;
}

function tlogEntry(value: unknown): TlogEntry {
  const logId = field(value, 'logId');
  const kindVersion = field(value, 'kindVersion');
  const promise = field(value, 'inclusionPromise');
  const proof = field(value, 'inclusionProof');
  const checkpoint = field(proof, 'checkpoint');
  return {
    logIndex: uint(field(value, 'logIndex'), 'a log index'),
    ...(isSet(logId) && { logId: { keyId: bytes(field(logId, 'keyId')) } }),
    ...(isSet(kindVersion) && { kindVersion: { kind: str(field(kindVersion, 'kind')), version: str(field(kindVersion, 'version')) } }),
    integratedTime: uint(field(value, 'integratedTime'), 'an integrated time'),
    ...(isSet(promise) && { inclusionPromise: { signedEntryTimestamp: bytes(field(promise, 'signedEntryTimestamp')) } }),
    ...(isSet(proof) && {
      inclusionProof: {
        logIndex: uint(field(proof, 'logIndex'), "a proof's log index"),
        rootHash: bytes(field(proof, 'rootHash')),
        treeSize: uint(field(proof, 'treeSize'), "a proof's tree size"),
        hashes: list(field(proof, 'hashes')).map(bytes),
        ...(isSet(checkpoint) && { checkpoint: { envelope: str(field(checkpoint, 'envelope')) } }),
      },
    }),
    canonicalizedBody: bytes(field(value, 'canonicalizedBody')),
  };
}

/**
 * The bundle as read, written back as JSON: what another verifier (the keyless part's) is given,
 * so that it judges exactly the bytes and fields this one read, not the JSON as sent.
 */
export function normalizedJson(bundle: ParsedBundle): Record<string, unknown> {
  const b64 = base64Encode;
  const content = bundle.content;
  const material = bundle.material;
  return {
    mediaType: bundle.mediaType,
    ...(content?.kind === 'dsse' && {
      dsseEnvelope: {
        payload: b64(content.payload),
        payloadType: content.payloadType,
        signatures: content.signatures.map((sig) => ({ sig: b64(sig), keyid: '' })),
      },
    }),
    verificationMaterial: {
      ...(material?.kind === 'certificate' && { certificate: { rawBytes: b64(material.rawBytes) } }),
      ...(material?.kind === 'x509CertificateChain' && {
        x509CertificateChain: { certificates: material.certificates.map((c) => ({ rawBytes: b64(c) })) },
      }),
      ...(material?.kind === 'publicKey' && { publicKey: { hint: material.hint } }),
      tlogEntries: bundle.tlogEntries.map((entry) => ({
        logIndex: entry.logIndex,
        ...(entry.logId && { logId: { keyId: b64(entry.logId.keyId) } }),
        ...(entry.kindVersion && { kindVersion: entry.kindVersion }),
        integratedTime: entry.integratedTime,
        ...(entry.inclusionPromise && { inclusionPromise: { signedEntryTimestamp: b64(entry.inclusionPromise.signedEntryTimestamp) } }),
        ...(entry.inclusionProof && {
          inclusionProof: {
            logIndex: entry.inclusionProof.logIndex,
            rootHash: b64(entry.inclusionProof.rootHash),
            treeSize: entry.inclusionProof.treeSize,
            hashes: entry.inclusionProof.hashes.map(b64),
            ...(entry.inclusionProof.checkpoint && { checkpoint: entry.inclusionProof.checkpoint }),
          },
        }),
        canonicalizedBody: b64(entry.canonicalizedBody),
      })),
      ...(bundle.timestampTokens.length > 0 && {
        timestampVerificationData: { rfc3161Timestamps: bundle.timestampTokens.map((t) => ({ signedTimestamp: b64(t) })) },
      }),
    },
  };
}
