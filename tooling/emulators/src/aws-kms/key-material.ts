import crypto, { type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { algorithmInfo, type SignatureAlgorithm, signDigest, verifyDigest } from '@signet/core';

/*
 * The key material behind an emulated KMS key: real keys from Node's crypto, signatures
 * over digests by @signet/core's signDigest (Node's crypto.sign would hash again).
 */

export type KeySpec =
  | 'ECC_NIST_P256'
  | 'ECC_NIST_P384'
  | 'ECC_NIST_P521'
  | 'ECC_NIST_EDWARDS25519'
  | 'RSA_2048'
  | 'RSA_3072'
  | 'RSA_4096'
  | 'SYMMETRIC_DEFAULT';

export type KeyUsage = 'SIGN_VERIFY' | 'ENCRYPT_DECRYPT';

export const KEY_SPECS: readonly KeySpec[] = [
  'ECC_NIST_P256',
  'ECC_NIST_P384',
  'ECC_NIST_P521',
  'ECC_NIST_EDWARDS25519',
  'RSA_2048',
  'RSA_3072',
  'RSA_4096',
  'SYMMETRIC_DEFAULT',
];

const RSA_SIGNING = [
  'RSASSA_PSS_SHA_256',
  'RSASSA_PSS_SHA_384',
  'RSASSA_PSS_SHA_512',
  'RSASSA_PKCS1_V1_5_SHA_256',
  'RSASSA_PKCS1_V1_5_SHA_384',
  'RSASSA_PKCS1_V1_5_SHA_512',
];

/** The signing algorithms AWS KMS offers for a key spec (empty: not a signing key). */
export function signingAlgorithmsFor(spec: KeySpec): string[] {
  switch (spec) {
    case 'ECC_NIST_P256':
      return ['ECDSA_SHA_256'];
    case 'ECC_NIST_P384':
      return ['ECDSA_SHA_384'];
    case 'ECC_NIST_P521':
      return ['ECDSA_SHA_512'];
    case 'ECC_NIST_EDWARDS25519':
      return ['ED25519_SHA_512', 'ED25519_PH_SHA_512'];
    case 'RSA_2048':
    case 'RSA_3072':
    case 'RSA_4096':
      return [...RSA_SIGNING];
    case 'SYMMETRIC_DEFAULT':
      return [];
  }
}

export function encryptionAlgorithmsFor(spec: KeySpec): string[] {
  if (spec === 'SYMMETRIC_DEFAULT') return ['SYMMETRIC_DEFAULT'];
  if (spec.startsWith('RSA_')) return ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'];
  return [];
}

const generateKeyPair = promisify(crypto.generateKeyPair) as (
  type: string,
  options: object,
) => Promise<{ publicKey: KeyObject; privateKey: KeyObject }>;

/** A new private key for an asymmetric spec; undefined for a symmetric key (which this emulator cannot use). */
export async function generateKeyMaterial(spec: KeySpec): Promise<KeyObject | undefined> {
  switch (spec) {
    case 'ECC_NIST_P256':
    case 'ECC_NIST_P384':
    case 'ECC_NIST_P521':
      return (await generateKeyPair('ec', { namedCurve: `P-${spec.slice('ECC_NIST_P'.length)}` })).privateKey;
    case 'ECC_NIST_EDWARDS25519':
      return (await generateKeyPair('ed25519', {})).privateKey;
    case 'RSA_2048':
    case 'RSA_3072':
    case 'RSA_4096':
      return (await generateKeyPair('rsa', { modulusLength: Number(spec.slice('RSA_'.length)) })).privateKey;
    case 'SYMMETRIC_DEFAULT':
      return undefined;
  }
}

/** AWS signing algorithm names → Signet's, for the algorithms signed over a digest. */
const DIGEST_ALGORITHMS: Record<string, SignatureAlgorithm> = {
  RSASSA_PSS_SHA_256: 'rsa-pss-sha256',
  RSASSA_PSS_SHA_384: 'rsa-pss-sha384',
  RSASSA_PSS_SHA_512: 'rsa-pss-sha512',
  RSASSA_PKCS1_V1_5_SHA_256: 'rsa-pkcs1v15-sha256',
  RSASSA_PKCS1_V1_5_SHA_384: 'rsa-pkcs1v15-sha384',
  RSASSA_PKCS1_V1_5_SHA_512: 'rsa-pkcs1v15-sha512',
};

const ECDSA_HASHES: Record<string, 'sha256' | 'sha384' | 'sha512'> = {
  ECDSA_SHA_256: 'sha256',
  ECDSA_SHA_384: 'sha384',
  ECDSA_SHA_512: 'sha512',
};

/** How to sign with an algorithm: over a digest (with its hash), or Ed25519 over the raw message. */
export function signingScheme(
  signingAlgorithm: string,
  key: KeyObject,
): { kind: 'digest'; algorithm: SignatureAlgorithm; hash: 'sha256' | 'sha384' | 'sha512' } | { kind: 'ed25519' } | undefined {
  if (signingAlgorithm === 'ED25519_SHA_512') return { kind: 'ed25519' };
  const rsa = DIGEST_ALGORITHMS[signingAlgorithm];
  if (rsa) return { kind: 'digest', algorithm: rsa, hash: algorithmInfo(rsa).hash };
  const hash = ECDSA_HASHES[signingAlgorithm];
  if (!hash) return undefined;
  // An ECDSA key signs with the algorithm of its curve: the one its spec offers.
  const curve = key.asymmetricKeyDetails?.namedCurve;
  const algorithm = ({ prime256v1: 'ecdsa-p256-sha256', secp384r1: 'ecdsa-p384-sha384', secp521r1: 'ecdsa-p521-sha512' } as const)[
    curve as 'prime256v1'
  ];
  return algorithm ? { kind: 'digest', algorithm, hash } : undefined;
}

export function signWith(key: KeyObject, scheme: NonNullable<ReturnType<typeof signingScheme>>, message: Buffer): Buffer {
  if (scheme.kind === 'ed25519') return crypto.sign(null, message, key);
  return signDigest(key, scheme.algorithm, message);
}

export function verifyWith(
  key: KeyObject,
  scheme: NonNullable<ReturnType<typeof signingScheme>>,
  message: Buffer,
  signature: Buffer,
): boolean {
  if (scheme.kind === 'ed25519') return crypto.verify(null, message, key, signature);
  return verifyDigest(crypto.createPublicKey(key), algorithmInfo(scheme.algorithm).family, scheme.hash, message, signature);
}
