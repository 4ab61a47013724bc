import crypto, { type KeyObject } from 'node:crypto';
import { pem } from '@sigstore/core';
import { SignetError } from './errors';

/** The SPKI PEM of a public (or private) key. */
export function publicKeyPem(key: KeyObject): string {
  const publicKey = key.type === 'private' ? crypto.createPublicKey(key) : key;
  return publicKey.export({ type: 'spki', format: 'pem' }).toString();
}

/**
 * base64(SHA-256(SPKI DER)): the key hint Signet writes into bundles, the same
 * fingerprint cosign and the Sigstore conformance suite use.
 */
export function publicKeyFingerprint(key: KeyObject | string): string {
  // A "PUBLIC KEY" PEM's body is the SPKI DER itself; reading it spares OpenSSL's export.
  const der =
    typeof key === 'string' && /^-----BEGIN PUBLIC KEY-----[^-]+-----END PUBLIC KEY-----$/.test(key.trim())
      ? pem.toDER(key)
      : (typeof key === 'string' ? crypto.createPublicKey(key) : key).export({ type: 'spki', format: 'der' });
  return crypto.createHash('sha256').update(der).digest('base64');
}

/** Reads a public key from PEM (SPKI, PKCS#1 or a certificate's key) or SPKI DER. */
export function parsePublicKey(material: string | Uint8Array, name = 'public key'): KeyObject {
  try {
    const key =
      typeof material === 'string'
        ? crypto.createPublicKey(material)
        : crypto.createPublicKey({ key: Buffer.from(material), format: 'der', type: 'spki' });
    return key;
  } catch (cause) {
    throw new SignetError({
      code: 'E_KEY',
      message: `${name} is not a readable public key (expected a PEM "PUBLIC KEY")`,
      cause,
    });
  }
}
