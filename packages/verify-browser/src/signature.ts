import { numberToBytesBE } from '@noble/curves/abstract/utils';
import { DER } from '@noble/curves/abstract/weierstrass';
import { concat, utf8 } from './encoding.js';
import type { ImportedKey } from './keys.js';

/** DSSE's pre-authentication encoding: what an envelope's signature covers. */
export function preAuthEncoding(payloadType: string, payload: Uint8Array): Uint8Array {
  const type = utf8.encode(payloadType);
  return concat(utf8.encode(`DSSEv1 ${type.length} `), type, utf8.encode(` ${payload.length} `), payload);
}

/**
 * Whether `signature` by `key` covers `data`. WebCrypto takes an ECDSA signature as r‖s, a
 * bundle carries it as DER: it is read by @noble/curves' strict DER parser (minimal lengths,
 * no negative or zero-padded integers, nothing after it), as OpenSSL reads it for @signet/core.
 */
export async function verifySignature(key: ImportedKey, data: Uint8Array, signature: Uint8Array): Promise<boolean> {
  const subtle = crypto.subtle;
  const buffer = data as Uint8Array<ArrayBuffer>;
  try {
    if (key.kind === 'ed25519') return await subtle.verify({ name: 'Ed25519' }, key.key, signature as Uint8Array<ArrayBuffer>, buffer);
    if (key.kind === 'ecdsa') {
      const raw = derToRaw(signature, key.size);
      if (!raw) return false;
      for (const hash of key.hashes) if (await subtle.verify({ name: 'ECDSA', hash }, key.key, raw, buffer)) return true;
      return false;
    }
    for (const variant of key.variants) {
      const algorithm = variant.pss ? { name: 'RSA-PSS', saltLength: variant.saltLength } : { name: 'RSASSA-PKCS1-v1_5' };
      if (await subtle.verify(algorithm, variant.key, signature as Uint8Array<ArrayBuffer>, buffer)) return true;
    }
    return false;
  } catch {
    return false;
  }
}

export function derToRaw(signature: Uint8Array, size: number): Uint8Array<ArrayBuffer> | undefined {
  let r: bigint;
  let s: bigint;
  try {
    ({ r, s } = DER.toSig(signature));
  } catch {
    return undefined;
  }
  const limit = 1n << BigInt(size * 8);
  if (r <= 0n || s <= 0n || r >= limit || s >= limit) return undefined;
  return concat(numberToBytesBE(r, size), numberToBytesBE(s, size)) as Uint8Array<ArrayBuffer>;
}
