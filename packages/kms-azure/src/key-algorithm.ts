import crypto from 'node:crypto';
import type { JsonWebKey } from '@azure/keyvault-keys';
import { publicKeyPem, type SignatureAlgorithm, SignetError } from '@signet/core';

/** Key Vault's name for a signing algorithm (JWA), as CryptographyClient.sign takes it. */
export type AzureSignatureAlgorithm = 'ES256' | 'ES384' | 'ES512' | 'RS256' | 'RS384' | 'RS512';

/** How a Key Vault key signs, read from its own JWK, and its public key. */
export interface KeySigning {
  algorithm: SignatureAlgorithm;
  azure: AzureSignatureAlgorithm;
  publicKey: crypto.KeyObject;
  publicKeyPem: string;
}

const CURVES: Record<string, { algorithm: SignatureAlgorithm; azure: AzureSignatureAlgorithm; bytes: number }> = {
  'P-256': { algorithm: 'ecdsa-p256-sha256', azure: 'ES256', bytes: 32 },
  'P-384': { algorithm: 'ecdsa-p384-sha384', azure: 'ES384', bytes: 48 },
  'P-521': { algorithm: 'ecdsa-p521-sha512', azure: 'ES512', bytes: 66 },
};

/*
 * An RSA key in Key Vault records no padding or hash: the caller picks RS256…PS512 on each
 * call. Signet follows cosign (sigstore's Azure KMS signer), which ties the hash to the key
 * size and signs PKCS#1 v1.5, so a key signs the same way whichever of the two uses it.
 */
const RSA_SIZES: Record<number, { algorithm: SignatureAlgorithm; azure: AzureSignatureAlgorithm }> = {
  2048: { algorithm: 'rsa-pkcs1v15-sha256', azure: 'RS256' },
  3072: { algorithm: 'rsa-pkcs1v15-sha384', azure: 'RS384' },
  4096: { algorithm: 'rsa-pkcs1v15-sha512', azure: 'RS512' },
};

/** The algorithm and public key of a Key Vault key, from its JWK (`EC`/`EC-HSM`, `RSA`/`RSA-HSM`). */
export function keySigning(jwk: JsonWebKey | undefined, keyRef: string): KeySigning {
  const kty = String(jwk?.kty ?? '').replace(/-HSM$/, '');
  if (jwk && kty === 'EC') {
    const curve = CURVES[jwk.crv ?? ''];
    if (!curve || !jwk.x || !jwk.y) throw unsupported(keyRef, `an EC key on curve ${jwk.crv ?? 'unknown'}`);
    const publicKey = crypto.createPublicKey({
      key: { kty: 'EC', crv: jwk.crv, x: fixedWidth(jwk.x, curve.bytes), y: fixedWidth(jwk.y, curve.bytes) },
      format: 'jwk',
    });
    return { algorithm: curve.algorithm, azure: curve.azure, publicKey, publicKeyPem: publicKeyPem(publicKey) };
  }
  if (jwk && kty === 'RSA' && jwk.n && jwk.e) {
    const publicKey = crypto.createPublicKey({ key: { kty: 'RSA', n: unsigned(jwk.n), e: unsigned(jwk.e) }, format: 'jwk' });
    const bits = publicKey.asymmetricKeyDetails?.modulusLength ?? 0;
    const rsa = RSA_SIZES[bits];
    if (!rsa) throw unsupported(keyRef, `an RSA key of ${bits} bits`);
    return { ...rsa, publicKey, publicKeyPem: publicKeyPem(publicKey) };
  }
  throw unsupported(keyRef, `a key of type ${kty || 'unknown'}`);
}

/** What `signet key generate --algorithm` may create in Key Vault. */
export const CREATABLE = {
  'ecdsa-p256': { kty: 'EC', curve: 'P-256' },
  'ecdsa-p384': { kty: 'EC', curve: 'P-384' },
  'ecdsa-p521': { kty: 'EC', curve: 'P-521' },
  'rsa-2048': { kty: 'RSA', size: 2048 },
  'rsa-3072': { kty: 'RSA', size: 3072 },
  'rsa-4096': { kty: 'RSA', size: 4096 },
} as const;

export type CreatableAlgorithm = keyof typeof CREATABLE;

export function creatable(algorithm: string): (typeof CREATABLE)[CreatableAlgorithm] {
  const spec = (CREATABLE as Record<string, (typeof CREATABLE)[CreatableAlgorithm]>)[algorithm];
  if (spec) return spec;
  const offered = Object.keys(CREATABLE).join(', ');
  const why = algorithm.startsWith('rsa-pss')
    ? ': a Key Vault RSA key records no padding, so Signet signs PKCS#1 v1.5 with it, as cosign does'
    : algorithm === 'ed25519'
      ? ': Key Vault has no Ed25519 keys'
      : '';
  throw new SignetError({
    code: 'E_INPUT',
    message: `Azure Key Vault cannot create a ${algorithm} signing key${why}; use one of ${offered}`,
  });
}

function unsupported(keyRef: string, what: string): SignetError {
  return new SignetError({
    code: 'E_KEY',
    message: `${keyRef} is ${what}, which Signet does not sign with; use an EC key (P-256, P-384, P-521) or an RSA key (2048, 3072, 4096 bits)`,
  });
}

/** A JWK integer without leading zero bytes, base64url. */
function unsigned(bytes: Uint8Array): string {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  return Buffer.from(bytes.subarray(start)).toString('base64url');
}

/** A JWK EC coordinate at the curve's full width (RFC 7518 §6.2.1.2), base64url. */
function fixedWidth(bytes: Uint8Array, width: number): string {
  const value = Buffer.from(bytes);
  const trimmed = value.length > width ? value.subarray(value.length - width) : value;
  return Buffer.concat([Buffer.alloc(width - trimmed.length), trimmed]).toString('base64url');
}
