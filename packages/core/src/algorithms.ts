import type { KeyObject } from 'node:crypto';
import { SignetError } from './errors';

/** The hash functions Signet digests with. */
export type HashAlgorithm = 'sha256' | 'sha384' | 'sha512';

/**
 * A signing algorithm, named as Sigstore's PublicKeyDetails names it (lower-cased),
 * so a bundle's algorithm and a KMS key's algorithm compare without a lookup table.
 */
export type SignatureAlgorithm =
  | 'ecdsa-p256-sha256'
  | 'ecdsa-p384-sha384'
  | 'ecdsa-p521-sha512'
  | 'ed25519'
  | 'rsa-pkcs1v15-sha256'
  | 'rsa-pkcs1v15-sha384'
  | 'rsa-pkcs1v15-sha512'
  | 'rsa-pss-sha256'
  | 'rsa-pss-sha384'
  | 'rsa-pss-sha512';

export interface AlgorithmInfo {
  family: 'ecdsa' | 'ed25519' | 'rsa-pkcs1v15' | 'rsa-pss';
  /** The digest the signature is computed over; Ed25519 signs the message itself. */
  hash: HashAlgorithm;
  /** Named curve for ECDSA keys. */
  curve?: 'P-256' | 'P-384' | 'P-521';
}

const ALGORITHMS: Record<SignatureAlgorithm, AlgorithmInfo> = {
  'ecdsa-p256-sha256': { family: 'ecdsa', hash: 'sha256', curve: 'P-256' },
  'ecdsa-p384-sha384': { family: 'ecdsa', hash: 'sha384', curve: 'P-384' },
  'ecdsa-p521-sha512': { family: 'ecdsa', hash: 'sha512', curve: 'P-521' },
  // Ed25519 signs the whole message; sha256 is only the digest a bundle records beside it.
  ed25519: { family: 'ed25519', hash: 'sha256' },
  'rsa-pkcs1v15-sha256': { family: 'rsa-pkcs1v15', hash: 'sha256' },
  'rsa-pkcs1v15-sha384': { family: 'rsa-pkcs1v15', hash: 'sha384' },
  'rsa-pkcs1v15-sha512': { family: 'rsa-pkcs1v15', hash: 'sha512' },
  'rsa-pss-sha256': { family: 'rsa-pss', hash: 'sha256' },
  'rsa-pss-sha384': { family: 'rsa-pss', hash: 'sha384' },
  'rsa-pss-sha512': { family: 'rsa-pss', hash: 'sha512' },
};

export const SIGNATURE_ALGORITHMS = Object.keys(ALGORITHMS) as readonly SignatureAlgorithm[];

export function algorithmInfo(algorithm: SignatureAlgorithm): AlgorithmInfo {
  return ALGORITHMS[algorithm];
}

export function isSignatureAlgorithm(value: string): value is SignatureAlgorithm {
  return Object.hasOwn(ALGORITHMS, value);
}

const CURVE_ALGORITHMS: Record<string, SignatureAlgorithm> = {
  prime256v1: 'ecdsa-p256-sha256',
  secp384r1: 'ecdsa-p384-sha384',
  secp521r1: 'ecdsa-p521-sha512',
};

/**
 * The algorithm a key signs with, read from the key itself: the curve for EC keys,
 * the key type for RSA (an `rsa-pss` key, OID id-RSASSA-PSS, signs PSS; a plain
 * `rsa` key signs PKCS#1 v1.5). The user never picks it with a flag.
 */
export function algorithmForKey(key: KeyObject): SignatureAlgorithm {
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'ec': {
      const algorithm = CURVE_ALGORITHMS[details.namedCurve ?? ''];
      if (algorithm) return algorithm;
      throw unsupported(`EC curve ${details.namedCurve ?? 'unknown'}`);
    }
    case 'ed25519':
      return 'ed25519';
    case 'rsa':
      requireRsaSize(details.modulusLength);
      return 'rsa-pkcs1v15-sha256';
    case 'rsa-pss': {
      requireRsaSize(details.modulusLength);
      const hash = details.hashAlgorithm;
      if (hash === 'sha384' || hash === 'sha512') return `rsa-pss-${hash}`;
      return 'rsa-pss-sha256';
    }
    default:
      throw unsupported(`${key.asymmetricKeyType ?? 'unknown'} keys`);
  }
}

function requireRsaSize(bits: number | undefined): void {
  if (bits === undefined || bits < 2048) {
    throw unsupported(`RSA keys of ${bits ?? 'unknown'} bits (the minimum is 2048)`);
  }
}

function unsupported(what: string): SignetError {
  return new SignetError({
    code: 'E_KEY',
    message: `unsupported key: ${what}. Use ECDSA P-256/P-384/P-521, Ed25519, or RSA of at least 2048 bits`,
  });
}

/** The hash lengths in bytes, for checking a digest handed in from outside. */
export const HASH_LENGTHS: Record<HashAlgorithm, number> = { sha256: 32, sha384: 48, sha512: 64 };
