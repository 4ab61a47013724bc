import type { SignatureAlgorithm } from './algorithms';

/**
 * One interface for every key backend: a local key, a KMS key, an HSM, an ephemeral
 * keyless key. Signatures are DER (ECDSA) or raw RSA/Ed25519 bytes, as Sigstore bundles
 * carry them; providers whose service answers in another form (raw r||s) convert.
 */
export interface Signer {
  /** A name for the key that is safe to print: a URI or path, never a secret. */
  readonly keyId: string;
  /** Read from the key's own metadata, never from a flag. */
  readonly algorithm: SignatureAlgorithm;
  /** The public key as an SPKI PEM. */
  publicKey(): Promise<string>;
  /** Signs `data` (an artifact or a DSSE pre-authentication encoding). */
  sign(data: Uint8Array): Promise<Buffer>;
  /**
   * Signs a digest computed with the algorithm's hash, so a large artifact is hashed
   * once, streaming, and a KMS receives only the digest. Absent for Ed25519, which
   * signs the message itself.
   */
  signDigest?(digest: Uint8Array): Promise<Buffer>;
  /**
   * For keyless signing: the certificate binding the key to an identity, issued for
   * this signer. Absent for plain keys, whose bundles carry a key hint instead.
   */
  certificate?(): Promise<string>;
}
