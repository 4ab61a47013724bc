import crypto, { type KeyObject } from 'node:crypto';
import { twistedEdwards } from '@noble/curves/abstract/edwards';
import { ed25519ph } from '@noble/curves/ed25519';
import * as x509 from '@peculiar/x509';
import { verifyDigest } from '@signet/core';
import { HashAlgorithm, PublicKeyDetails } from '@sigstore/protobuf-specs';
import { Entry, HashedRekordRequestV002 } from '@sigstore/protobuf-specs/rekor/v2';
import { canonicalJson } from './log';
import type { JsonObject, MessageSchema } from './protojson';

/*
 * What rekor-tiles (v2.3+, pkg/types/hashedrekord) makes of a hashedrekord request: the checks
 * of ToLogEntry, in its order, and the entry it logs. Each failed check has its own reason,
 * which rekor-tiles only writes to its own log: the client always gets 400 "invalid
 * hashedrekord request".
 *
 * The key details only choose the hash. The signature is then checked against the key as the
 * key is (sigstore's LoadVerifierWithOpts with Ed25519ph): RSA as PKCS#1 v1.5, ECDSA on its own
 * curve, Ed25519 as Ed25519ph. So a label naming another key type with the same hash passes
 * (an RSA-2048 key labelled PKIX_ECDSA_P256_SHA_256 with a PKCS#1 v1.5 signature is logged with
 * that label), and an RSA-PSS label passes only with a PKCS#1 v1.5 signature.
 */

/** The request's JSON shape, for the gateway's decoder (api/proto/rekor/v2, sigstore_common, envelope). */
const KEY_DETAILS = Object.fromEntries(
  Object.entries(PublicKeyDetails).filter((entry): entry is [string, number] => typeof entry[1] === 'number'),
);
const PUBLIC_KEY: MessageSchema = { fields: [{ name: 'raw_bytes', json: 'rawBytes', number: 1, type: 'bytes' }] };
const X509_CERTIFICATE: MessageSchema = { fields: [{ name: 'raw_bytes', json: 'rawBytes', number: 1, type: 'bytes' }] };
const VERIFIER: MessageSchema = {
  fields: [
    {
      name: 'public_key',
      json: 'publicKey',
      number: 1,
      type: { message: () => PUBLIC_KEY },
      oneof: 'dev.sigstore.rekor.v2.Verifier.verifier',
    },
    {
      name: 'x509_certificate',
      json: 'x509Certificate',
      number: 2,
      type: { message: () => X509_CERTIFICATE },
      oneof: 'dev.sigstore.rekor.v2.Verifier.verifier',
    },
    { name: 'key_details', json: 'keyDetails', number: 3, type: { enum: KEY_DETAILS } },
  ],
};
const SIGNATURE: MessageSchema = {
  fields: [
    { name: 'content', json: 'content', number: 1, type: 'bytes' },
    { name: 'verifier', json: 'verifier', number: 2, type: { message: () => VERIFIER } },
  ],
};
const HASHED_REKORD_REQUEST: MessageSchema = {
  fields: [
    { name: 'digest', json: 'digest', number: 1, type: 'bytes' },
    { name: 'signature', json: 'signature', number: 2, type: { message: () => SIGNATURE } },
  ],
};
const ENVELOPE_SIGNATURE: MessageSchema = {
  fields: [
    { name: 'sig', json: 'sig', number: 1, type: 'bytes' },
    { name: 'keyid', json: 'keyid', number: 2, type: 'string' },
  ],
};
const ENVELOPE: MessageSchema = {
  fields: [
    { name: 'payload', json: 'payload', number: 1, type: 'bytes' },
    { name: 'payloadType', json: 'payloadType', number: 2, type: 'string' },
    { name: 'signatures', json: 'signatures', number: 3, type: { message: () => ENVELOPE_SIGNATURE }, repeated: true },
  ],
};
const DSSE_REQUEST: MessageSchema = {
  fields: [
    { name: 'envelope', json: 'envelope', number: 1, type: { message: () => ENVELOPE } },
    { name: 'verifiers', json: 'verifiers', number: 2, type: { message: () => VERIFIER }, repeated: true },
  ],
};
export const CREATE_ENTRY_REQUEST: MessageSchema = {
  fields: [
    {
      name: 'hashed_rekord_request_v002',
      json: 'hashedRekordRequestV002',
      number: 1,
      type: { message: () => HASHED_REKORD_REQUEST },
      oneof: 'dev.sigstore.rekor.v2.CreateEntryRequest.spec',
    },
    {
      name: 'dsse_request_v002',
      json: 'dsseRequestV002',
      number: 2,
      type: { message: () => DSSE_REQUEST },
      oneof: 'dev.sigstore.rekor.v2.CreateEntryRequest.spec',
    },
  ],
};

/** A request rekor-tiles refuses; `message` is the reason it logs. */
export class HashedRekordRefusal extends Error {}

type Hash = 'sha256' | 'sha384' | 'sha512';
type KeyType = 'rsa' | 'ecdsa' | 'ed25519';

interface AlgorithmDetails {
  keyType: KeyType;
  /** None for pure Ed25519, which signs the message itself. */
  hash?: Hash;
  rsaBits?: number;
  curve?: string;
}

/** sigstore/sigstore's algorithm registry (pkg/signature/algorithm_registry.go): every PublicKeyDetails it knows. */
const ALGORITHMS: Partial<Record<keyof typeof PublicKeyDetails, AlgorithmDetails>> = {
  PKIX_RSA_PKCS1V15_2048_SHA256: { keyType: 'rsa', hash: 'sha256', rsaBits: 2048 },
  PKIX_RSA_PKCS1V15_3072_SHA256: { keyType: 'rsa', hash: 'sha256', rsaBits: 3072 },
  PKIX_RSA_PKCS1V15_4096_SHA256: { keyType: 'rsa', hash: 'sha256', rsaBits: 4096 },
  PKIX_RSA_PSS_2048_SHA256: { keyType: 'rsa', hash: 'sha256', rsaBits: 2048 },
  PKIX_RSA_PSS_3072_SHA256: { keyType: 'rsa', hash: 'sha256', rsaBits: 3072 },
  PKIX_RSA_PSS_4096_SHA256: { keyType: 'rsa', hash: 'sha256', rsaBits: 4096 },
  PKIX_ECDSA_P256_SHA_256: { keyType: 'ecdsa', hash: 'sha256', curve: 'P-256' },
  PKIX_ECDSA_P384_SHA_384: { keyType: 'ecdsa', hash: 'sha384', curve: 'P-384' },
  PKIX_ECDSA_P384_SHA_256: { keyType: 'ecdsa', hash: 'sha256', curve: 'P-384' },
  PKIX_ECDSA_P521_SHA_512: { keyType: 'ecdsa', hash: 'sha512', curve: 'P-521' },
  PKIX_ECDSA_P521_SHA_256: { keyType: 'ecdsa', hash: 'sha256', curve: 'P-521' },
  PKIX_ED25519: { keyType: 'ed25519' },
  PKIX_ED25519_PH: { keyType: 'ed25519', hash: 'sha512' },
};

/**
 * rekor-tiles' AllowedClientSigningAlgorithms, its default and widest algorithm registry: no
 * RSA-PSS, and no pure Ed25519 since #927.
 */
const ALLOWED: AlgorithmDetails[] = (
  [
    'PKIX_RSA_PKCS1V15_2048_SHA256',
    'PKIX_RSA_PKCS1V15_3072_SHA256',
    'PKIX_RSA_PKCS1V15_4096_SHA256',
    'PKIX_ECDSA_P256_SHA_256',
    'PKIX_ECDSA_P384_SHA_384',
    'PKIX_ECDSA_P521_SHA_512',
    'PKIX_ED25519_PH',
  ] as const
).map((name) => ALGORITHMS[name] as AlgorithmDetails);

const HASH_SIZE: Record<Hash, number> = { sha256: 32, sha384: 48, sha512: 64 };
const HASH_NAME: Record<Hash, string> = { sha256: 'SHA-256', sha384: 'SHA-384', sha512: 'SHA-512' };
const PROTO_HASH: Record<Hash, HashAlgorithm> = {
  sha256: HashAlgorithm.SHA2_256,
  sha384: HashAlgorithm.SHA2_384,
  sha512: HashAlgorithm.SHA2_512,
};
/** What sigstore's verifiers answer for a signature that does not verify. */
const VERIFICATION_ERROR: Record<VerifierKey['type'], string> = {
  ecdsa: 'invalid signature when validating ASN.1 encoded signature',
  rsa: 'crypto/rsa: verification error',
  ed25519: 'ed25519: invalid signature',
  other: 'unsupported public key type',
};
/** The curves Go's x509 knows, by OpenSSL's names, with their coordinate sizes. */
const CURVES: Record<string, string> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521', secp224r1: 'P-224' };
const FIELD_BYTES: Record<string, number> = { prime256v1: 32, secp384r1: 48, secp521r1: 66, secp224r1: 28 };

/** A verifier's key as Go's crypto sees it. */
type VerifierKey =
  | { type: 'rsa'; bits: number; key: KeyObject }
  | { type: 'ecdsa'; curve: string; key: KeyObject }
  | { type: 'ed25519'; key: KeyObject }
  | { type: 'other'; name: string; key: KeyObject };

/**
 * The canonicalized entry rekor-tiles logs for a hashedRekordRequestV002 (in the protobuf JSON
 * mapping), or a HashedRekordRefusal.
 */
export function hashedRekordEntry(json: JsonObject): Buffer {
  // The codecs know every key details name the gateway accepts; a number it has no name for is
  // one no algorithm matches, so it is read as unspecified and refused where rekor-tiles refuses it.
  const keyDetailsName = String(
    ((json.signature as JsonObject | undefined)?.verifier as JsonObject | undefined)?.keyDetails ?? 'PUBLIC_KEY_DETAILS_UNSPECIFIED',
  );
  const request = HashedRekordRequestV002.fromJSON(withKnownKeyDetails(json));
  const signature = request.signature;
  const verifierProto = signature?.verifier;
  // validate()
  if (!signature || signature.content.length === 0) throw new HashedRekordRefusal('missing signature');
  if (!verifierProto) throw new HashedRekordRefusal('missing verifier');
  if (request.digest.length === 0) throw new HashedRekordRefusal('missing digest');
  const material = verifierProto.verifier;
  if (!material) throw new HashedRekordRefusal('invalid verifier: missing signature public key or X.509 certificate');
  const rawBytes = material.$case === 'publicKey' ? material.publicKey.rawBytes : material.x509Certificate.rawBytes;
  if (rawBytes.length === 0) {
    throw new HashedRekordRefusal(
      `invalid verifier: missing ${material.$case === 'publicKey' ? 'public key' : 'X.509 certificate'} raw bytes`,
    );
  }
  // extractVerifier()
  const key = verifierKey(material.$case, rawBytes);
  // verifySupportedAlgorithm()
  const details = ALGORITHMS[keyDetailsName as keyof typeof PublicKeyDetails];
  if (!details) {
    throw new HashedRekordRefusal(
      `getting key algorithm details: could not find algorithm details for known signature algorithm: ${keyDetailsName}`,
    );
  }
  if (!ALLOWED.some((allowed) => keyMatches(allowed, key) && allowed.hash === details.hash)) {
    throw new HashedRekordRefusal(unsupportedAlgorithm(key, details.hash));
  }
  // Only pure Ed25519 has no hash, and no allowed algorithm lacks one, so it stopped above.
  const hash = details.hash as Hash;
  if (request.digest.length !== HASH_SIZE[hash]) {
    throw new HashedRekordRefusal(
      `digest length (${request.digest.length}) does not match expected size (${HASH_SIZE[hash]}) for algorithm ${HASH_NAME[hash]}`,
    );
  }
  // verifySignature()
  if (!verifiesOverDigest(key, hash, request.digest, signature.content)) {
    throw new HashedRekordRefusal(`verifying signature: ${VERIFICATION_ERROR[key.type]}`);
  }
  const entry = Entry.toJSON({
    kind: 'hashedrekord',
    apiVersion: '0.0.2',
    spec: {
      spec: {
        $case: 'hashedRekordV002',
        hashedRekordV002: { data: { algorithm: PROTO_HASH[hash], digest: request.digest }, signature },
      },
    },
  });
  return Buffer.from(canonicalJson(entry));
}

/** The request with an unnamed key details number read as unspecified (see hashedRekordEntry). */
function withKnownKeyDetails(json: JsonObject): JsonObject {
  const signature = json.signature as JsonObject | undefined;
  const verifier = signature?.verifier as JsonObject | undefined;
  if (!verifier || typeof verifier.keyDetails !== 'number') return json;
  return { ...json, signature: { ...signature, verifier: { ...verifier, keyDetails: 'PUBLIC_KEY_DETAILS_UNSPECIFIED' } } };
}

/** Parses the verifier as Go's x509.ParsePKIXPublicKey or x509.ParseCertificate would. */
function verifierKey(kind: 'publicKey' | 'x509Certificate', der: Buffer): VerifierKey {
  let key: KeyObject;
  try {
    key = kind === 'publicKey' ? parsePublicKey(der) : parseCertificateKey(der);
  } catch (error) {
    const what = kind === 'publicKey' ? 'public key' : 'certificate';
    throw new HashedRekordRefusal(`parsing verifier: parsing ${what}: ${(error as Error).message}`);
  }
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails ?? {};
  if (type === 'rsa') return { type: 'rsa', bits: Math.ceil((details.modulusLength ?? 0) / 8) * 8, key };
  if (type === 'ec') return { type: 'ecdsa', curve: CURVES[details.namedCurve ?? ''] ?? details.namedCurve ?? '', key };
  if (type === 'ed25519') return { type: 'ed25519', key };
  return { type: 'other', name: type ?? 'unknown', key };
}

/**
 * A DER SubjectPublicKeyInfo, as strictly as Go reads one: OpenSSL ignores trailing bytes and
 * takes compressed EC points, missing RSA NULL parameters and explicit curves, which Go refuses.
 * Node writes a key back as it read it, except for those, so a key must come back byte for byte.
 */
function parsePublicKey(der: Buffer): KeyObject {
  const key = crypto.createPublicKey({ key: der, format: 'der', type: 'spki' });
  if (!key.export({ format: 'der', type: 'spki' }).equals(der)) throw new Error('x509: malformed or trailing data in public key');
  // The SPKI ends with the point; Go's elliptic.Unmarshal takes only an uncompressed one: 0x04 ‖ x ‖ y.
  const field = FIELD_BYTES[key.asymmetricKeyDetails?.namedCurve ?? ''];
  if (key.asymmetricKeyType === 'ec' && (!field || der[der.length - 1 - 2 * field] !== 0x04)) {
    throw new Error('x509: failed to unmarshal elliptic curve point');
  }
  return key;
}

/** A DER certificate's key: the certificate alone (Go refuses trailing bytes), its SPKI read as parsePublicKey reads one. */
function parseCertificateKey(der: Buffer): KeyObject {
  const certificate = new crypto.X509Certificate(der);
  if (!certificate.raw.equals(der)) throw new Error('x509: trailing data');
  return parsePublicKey(Buffer.from(new x509.X509Certificate(der).publicKey.rawData));
}

function keyMatches(algorithm: AlgorithmDetails, key: VerifierKey): boolean {
  if (algorithm.keyType === 'rsa') return key.type === 'rsa' && key.bits === algorithm.rsaBits;
  if (algorithm.keyType === 'ecdsa') return key.type === 'ecdsa' && key.curve === algorithm.curve;
  return key.type === 'ed25519';
}

/** rekor-tiles' UnsupportedAlgorithm error text. */
function unsupportedAlgorithm(key: VerifierKey, hash: Hash | undefined): string {
  const digest = hash ? HASH_NAME[hash] : 'unknown hash value 0';
  switch (key.type) {
    case 'rsa':
      return `unsupported entry algorithm for RSA key, size ${key.bits}, digest ${digest}`;
    case 'ecdsa':
      return `unsupported entry algorithm for ECDSA key, curve ${key.curve}, digest ${digest}`;
    case 'ed25519':
      return `unsupported entry algorithm for Ed25519 key, digest ${digest}`;
    default:
      return `unsupported key type ${key.name}, digest ${digest}`;
  }
}

/** Ed25519ph (RFC 8032) over a digest the caller computed: noble's ed25519ph, minus its own SHA-512. */
const ed25519phOverDigest = twistedEdwards({ ...ed25519ph.CURVE, prehash: (digest) => digest as Uint8Array });

function verifiesOverDigest(key: VerifierKey, hash: Hash, digest: Buffer, signature: Buffer): boolean {
  switch (key.type) {
    case 'ecdsa':
      return verifyDigest(key.key, 'ecdsa', hash, digest, signature);
    case 'rsa':
      // Go's rsa.VerifyPKCS1v15 takes a signature exactly as long as the modulus, no shorter.
      return signature.length === key.bits / 8 && verifyDigest(key.key, 'rsa-pkcs1v15', hash, digest, signature);
    case 'ed25519': {
      const raw = key.key.export({ format: 'der', type: 'spki' }).subarray(-32);
      try {
        return ed25519phOverDigest.verify(signature, digest, raw, { zip215: false });
      } catch {
        return false;
      }
    }
    default:
      return false;
  }
}
