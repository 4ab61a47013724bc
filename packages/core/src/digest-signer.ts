import crypto from 'node:crypto';
import { algorithmInfo, type SignatureAlgorithm } from './algorithms';
import { SignetError } from './errors';
import type { Signer } from './signer';

export interface DigestSignerOptions {
  /** The key reference as the user wrote it. */
  keyId: string;
  /** From the key's own metadata in the service. */
  algorithm: SignatureAlgorithm;
  /** SPKI PEM, fetched once when the key was opened. */
  publicKey: string;
  /** One remote call: signs a digest made with the algorithm's hash; returns a DER/raw-RSA signature. */
  signDigest(digest: Buffer): Promise<Buffer>;
  /** Ed25519 only, which signs messages, not digests. */
  signMessage?(message: Buffer): Promise<Buffer>;
}

/**
 * A Signer for a remote key (KMS, HSM): data is hashed here and only the digest travels,
 * in one call per signature. Ed25519, which has no digest form, sends the message.
 */
export function digestSigner(options: DigestSignerOptions): Signer {
  const info = algorithmInfo(options.algorithm);
  const signer: Signer = {
    keyId: options.keyId,
    algorithm: options.algorithm,
    publicKey: async () => options.publicKey,
    sign: async (data) => {
      if (info.family === 'ed25519') {
        if (!options.signMessage) throw new Error(`${options.keyId}: Ed25519 needs signMessage`);
        return options.signMessage(Buffer.from(data));
      }
      return options.signDigest(crypto.createHash(info.hash).update(data).digest());
    },
  };
  if (info.family !== 'ed25519') signer.signDigest = async (digest) => options.signDigest(Buffer.from(digest));
  return signer;
}

/**
 * An ECDSA signature as raw r‖s (what Azure Key Vault and PKCS#11 return) in the DER form
 * bundles carry. The integers are fixed-width halves of the input, whatever their leading
 * zeros: the mistake that made sigstore's own Azure verifier reject valid signatures.
 */
export function ecdsaRawToDer(raw: Uint8Array): Buffer {
  const { p256 } = require('@noble/curves/p256') as typeof import('@noble/curves/p256');
  const { p384 } = require('@noble/curves/p384') as typeof import('@noble/curves/p384');
  const { p521 } = require('@noble/curves/p521') as typeof import('@noble/curves/p521');
  const curve = { 64: p256, 96: p384, 132: p521 }[raw.length];
  if (!curve) {
    throw new SignetError({
      code: 'E_PROVIDER',
      message: `the key service returned an ECDSA r||s signature of ${raw.length} bytes, which matches no supported curve`,
    });
  }
  return Buffer.from(curve.Signature.fromCompact(raw).toDERRawBytes());
}
