/*
 * Bytes as the bundle's JSON carries them. Base64 is decoded exactly as Node's Buffer does
 * (and so as @signet/core and sigstore-js read bundles): both alphabets, other characters
 * skipped, the first '=' ends the data. The two verifiers then see the same bytes in every
 * bundle, which is what lets them be tested against each other.
 */

const VALUES = new Int8Array(128).fill(-1);
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
for (let i = 0; i < 64; i++) VALUES[ALPHABET.charCodeAt(i)] = i;
VALUES[45] = 62; // '-'
VALUES[95] = 63; // '_'

export function base64Decode(text: string): Uint8Array {
  const out = new Uint8Array(Math.ceil((text.length * 3) / 4));
  let length = 0;
  let bits = 0;
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 61) break; // '='
    const value = code < 128 ? (VALUES[code] as number) : -1;
    if (value < 0) continue;
    bits = (bits << 6) | value;
    count += 6;
    if (count >= 8) {
      count -= 8;
      out[length++] = (bits >> count) & 0xff;
    }
  }
  return out.subarray(0, length);
}

export function base64Encode(bytes: Uint8Array): string {
  let text = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = ((bytes[i] as number) << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    text += ALPHABET[(n >> 18) & 63];
    text += ALPHABET[(n >> 12) & 63];
    text += i + 1 < bytes.length ? ALPHABET[(n >> 6) & 63] : '=';
    text += i + 2 < bytes.length ? ALPHABET[n & 63] : '=';
  }
  return text;
}

export function hex(bytes: Uint8Array): string {
  let text = '';
  for (const byte of bytes) text += byte.toString(16).padStart(2, '0');
  return text;
}

/** Hex as Node's Buffer reads it: pairs of hex digits, up to the first pair that is not one. */
export function hexDecode(text: string): Uint8Array {
  const out = new Uint8Array(text.length >> 1);
  let i = 0;
  for (; i < out.length; i++) {
    const byte = Number.parseInt(text.slice(i * 2, i * 2 + 2), 16);
    if (!/^[0-9a-fA-F]{2}$/.test(text.slice(i * 2, i * 2 + 2)) || Number.isNaN(byte)) break;
    out[i] = byte;
  }
  return out.subarray(0, i);
}

export const utf8 = {
  encode: (text: string): Uint8Array => new TextEncoder().encode(text),
  // A BOM is kept, as Node's Buffer#toString keeps it: a payload that starts with one is not JSON in @signet/core either.
  decode: (bytes: Uint8Array): string => new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes),
};

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}

export async function sha(bits: 256 | 384 | 512, ...parts: Uint8Array[]): Promise<Uint8Array> {
  const data = parts.length === 1 ? (parts[0] as Uint8Array) : concat(...parts);
  return new Uint8Array(await crypto.subtle.digest(`SHA-${bits}`, data as Uint8Array<ArrayBuffer>));
}
