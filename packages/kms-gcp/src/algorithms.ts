import type { protos } from '@google-cloud/kms';
import type { SignatureAlgorithm } from '@signet/core';

/** A CryptoKeyVersionAlgorithm name, as the SDK types it. */
export type GcpAlgorithm = keyof typeof protos.google.cloud.kms.v1.CryptoKeyVersion.CryptoKeyVersionAlgorithm;

/**
 * Cloud KMS signing algorithms (CryptoKeyVersionAlgorithm) Signet signs with. The hash is
 * part of the algorithm: a version signs digests of exactly one kind. RSA-PSS versions use
 * a salt as long as the digest and publish a plain RSA public key.
 */
export const SIGNING_ALGORITHMS: Readonly<Record<string, SignatureAlgorithm>> = {
  EC_SIGN_P256_SHA256: 'ecdsa-p256-sha256',
  EC_SIGN_P384_SHA384: 'ecdsa-p384-sha384',
  EC_SIGN_ED25519: 'ed25519',
  RSA_SIGN_PKCS1_2048_SHA256: 'rsa-pkcs1v15-sha256',
  RSA_SIGN_PKCS1_3072_SHA256: 'rsa-pkcs1v15-sha256',
  RSA_SIGN_PKCS1_4096_SHA256: 'rsa-pkcs1v15-sha256',
  RSA_SIGN_PKCS1_4096_SHA512: 'rsa-pkcs1v15-sha512',
  RSA_SIGN_PSS_2048_SHA256: 'rsa-pss-sha256',
  RSA_SIGN_PSS_3072_SHA256: 'rsa-pss-sha256',
  RSA_SIGN_PSS_4096_SHA256: 'rsa-pss-sha256',
  RSA_SIGN_PSS_4096_SHA512: 'rsa-pss-sha512',
};

/** `signet key generate --algorithm` names → the algorithm of the key's version template. */
export const CREATED_ALGORITHMS: Readonly<Record<string, GcpAlgorithm>> = {
  'ecdsa-p256': 'EC_SIGN_P256_SHA256',
  'ecdsa-p384': 'EC_SIGN_P384_SHA384',
  ed25519: 'EC_SIGN_ED25519',
  'rsa-2048': 'RSA_SIGN_PKCS1_2048_SHA256',
  'rsa-3072': 'RSA_SIGN_PKCS1_3072_SHA256',
  'rsa-4096': 'RSA_SIGN_PKCS1_4096_SHA256',
  'rsa-pss-2048': 'RSA_SIGN_PSS_2048_SHA256',
  'rsa-pss-3072': 'RSA_SIGN_PSS_3072_SHA256',
  'rsa-pss-4096': 'RSA_SIGN_PSS_4096_SHA256',
};

/** Why a Cloud KMS algorithm cannot sign a Sigstore bundle, for the ones people meet. */
export function unsupportedReason(algorithm: string): string {
  if (algorithm === 'EC_SIGN_SECP256K1_SHA256') return 'secp256k1 keys cannot sign Sigstore bundles (no verifier accepts them)';
  if (algorithm.startsWith('RSA_SIGN_RAW_')) return 'raw PKCS#1 keys sign unhashed data, not a digest';
  if (algorithm.startsWith('PQ_SIGN_')) return 'post-quantum signatures are not in the Sigstore bundle format yet';
  return 'it is not an asymmetric signing algorithm';
}
