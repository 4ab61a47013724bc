import crypto from 'node:crypto';

/*
 * Who signed a log entry: the certificate or public key each kind of entry records.
 *
 * - Rekor v1 hashedrekord 0.0.1 and rekord: spec.signature.publicKey.content (base64 of a PEM
 *   certificate or key; rekord also PGP, SSH or minisign keys, which are not read here);
 * - Rekor v1 dsse 0.0.1: spec.signatures[].verifier (base64 PEM);
 * - Rekor v1 intoto 0.0.2: spec.content.envelope.signatures[].publicKey (base64 PEM); 0.0.1: spec.publicKey;
 * - Rekor v1 cose: spec.publicKey (base64 PEM);
 * - Rekor v2 hashedrekord 0.0.2: spec.hashedRekordV002.signature.verifier.{x509Certificate|publicKey}.rawBytes (base64 DER);
 * - Rekor v2 dsse 0.0.2 (before rekor-tiles 2.3): spec.dsseV002.signatures[].verifier, likewise.
 * Other kinds (rpm, jar, alpine, helm, tuf) are not read: they are not what Signet signs.
 */

export interface EntryVerifier {
  kind: 'certificate' | 'publicKey';
  /** DER: the certificate, or the key's SubjectPublicKeyInfo. */
  der: Buffer;
}

/** An entry of a kind Signet reads that could not be read. */
export class EntryError extends Error {}

/** The verifiers of an entry body (canonicalized JSON); an empty list for kinds that are not read. */
export function entryVerifiers(body: Uint8Array): EntryVerifier[] {
  const fast = hashedRekordV2Verifier(body);
  if (fast) return [fast];
  let entry: { kind?: unknown; apiVersion?: unknown; spec?: Record<string, unknown> };
  try {
    entry = JSON.parse(Buffer.from(body).toString('utf8'));
  } catch {
    throw new EntryError('its body is not JSON');
  }
  // A log entry's body, read field by field with every value checked where it is used.
  // biome-ignore lint/suspicious/noExplicitAny: see above
  const spec = (entry?.spec ?? {}) as Record<string, any>;
  switch (entry?.kind) {
    case 'hashedrekord':
      if (spec.hashedRekordV002) return [rawVerifier(spec.hashedRekordV002.signature?.verifier)];
      return [pemVerifier(spec.signature?.publicKey?.content)];
    case 'rekord': {
      if (spec.signature?.format !== 'x509') return [];
      return [pemVerifier(spec.signature?.publicKey?.content)];
    }
    case 'dsse':
      if (spec.dsseV002) return listOf(spec.dsseV002.signatures).map((s) => rawVerifier(s?.verifier));
      return listOf(spec.signatures).map((s) => pemVerifier(s?.verifier));
    case 'intoto':
      if (spec.content?.envelope) return listOf(spec.content.envelope.signatures).map((s) => pemVerifier(s?.publicKey));
      return [pemVerifier(spec.publicKey)];
    case 'cose':
      return [pemVerifier(spec.publicKey)];
    default:
      return [];
  }
}

// biome-ignore lint/suspicious/noExplicitAny: entries of a log entry's body, checked where they are read
function listOf(value: unknown): any[] {
  if (!Array.isArray(value) || value.length === 0) throw new EntryError('it has no signatures');
  return value;
}

/** A Rekor v2 verifier: `{x509Certificate|publicKey: {rawBytes}}`. */
// biome-ignore lint/suspicious/noExplicitAny: part of a log entry's body, checked field by field here
function rawVerifier(verifier: any): EntryVerifier {
  const certificate = verifier?.x509Certificate?.rawBytes;
  const publicKey = verifier?.publicKey?.rawBytes;
  if (typeof certificate === 'string' && publicKey === undefined) return { kind: 'certificate', der: Buffer.from(certificate, 'base64') };
  if (typeof publicKey === 'string' && certificate === undefined) return { kind: 'publicKey', der: Buffer.from(publicKey, 'base64') };
  throw new EntryError('its verifier is neither one certificate nor one public key');
}

/** A Rekor v1 verifier: base64 of a PEM certificate or public key, read with Node's own parsers. */
function pemVerifier(content: unknown): EntryVerifier {
  if (typeof content !== 'string') throw new EntryError('it has no public key or certificate');
  const pem = Buffer.from(content, 'base64').toString('utf8');
  try {
    if (pem.includes('-----BEGIN CERTIFICATE-----')) return { kind: 'certificate', der: Buffer.from(new crypto.X509Certificate(pem).raw) };
    return { kind: 'publicKey', der: crypto.createPublicKey(pem).export({ format: 'der', type: 'spki' }) };
  } catch {
    throw new EntryError('its public key or certificate does not parse');
  }
}

// A Rekor v2 hashedrekord, as rekor-tiles canonicalizes it (RFC 8785: sorted keys, no spaces):
// {"apiVersion":"0.0.2","kind":"hashedrekord","spec":{"hashedRekordV002":{"data":{…},"signature":
// {"content":"…","verifier":{"keyDetails":"…","publicKey"|"x509Certificate":{"rawBytes":"…"}}}}}}
const V2_PREFIX = Buffer.from('{"apiVersion":"0.0.2","kind":"hashedrekord","spec":{"hashedRekordV002":{"data":{');
const V2_SUFFIX = Buffer.from('"}}}}}}');
const VERIFIER = Buffer.from('"verifier":{"keyDetails":"');
const RAW_BYTES = Buffer.from('":{"rawBytes":"');
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * The verifier of a Rekor v2 hashedrekord without parsing the JSON: scanning a log is bounded by
 * this, and a parse costs more than hashing the entry. Only a body of exactly the canonical shape
 * is read here (one verifier, the raw bytes its last string, no escapes); anything else is left
 * to the JSON parser (undefined).
 */
export function hashedRekordV2Verifier(body: Uint8Array): EntryVerifier | undefined {
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (bytes.length < V2_PREFIX.length + V2_SUFFIX.length) return undefined;
  if (!startsAt(bytes, V2_PREFIX, 0)) return undefined;
  const end = bytes.length - V2_SUFFIX.length;
  if (!startsAt(bytes, V2_SUFFIX, end)) return undefined;
  // No suffix of the prefix begins the needle, so it cannot start inside the prefix.
  const verifier = find(bytes, VERIFIER, V2_PREFIX.length);
  // Without a backslash no string holds a quote, so the checks below fix every byte from the
  // first verifier to the end: there can be no second one.
  if (verifier < 0 || bytes.includes(BACKSLASH)) return undefined;
  const keyDetailsEnd = bytes.indexOf(QUOTE, verifier + VERIFIER.length);
  // After the key details: ,"publicKey":{"rawBytes":" or ,"x509Certificate":{"rawBytes":"
  const nameStart = keyDetailsEnd + 3;
  if (keyDetailsEnd < 0 || bytes[keyDetailsEnd + 1] !== 0x2c || bytes[keyDetailsEnd + 2] !== QUOTE) return undefined;
  const nameEnd = find(bytes, RAW_BYTES, nameStart);
  if (nameEnd < 0) return undefined;
  const kind = isName(bytes, nameStart, nameEnd, CERTIFICATE_NAME)
    ? 'certificate'
    : isName(bytes, nameStart, nameEnd, PUBLIC_KEY_NAME)
      ? 'publicKey'
      : undefined;
  if (!kind) return undefined;
  const start = nameEnd + RAW_BYTES.length;
  // The raw bytes must be the body's last string: no quote between them and the fixed ending.
  // Bytes equal to raw bytes read before (and checked then) hold none.
  const seen = seenVerifier(kind, bytes, start, end);
  if (seen) return seen;
  if (bytes.indexOf(QUOTE, start) !== end) return undefined;
  return rememberVerifier(kind, bytes, start, end);
}

// Not Buffer's indexOf and compare with a needle: for needles this short, found a few hundred
// bytes in, their fixed cost per call is several times a byte loop's; per entry it was the
// largest cost of reading one. A brace is rare in a body (base64 has none), so `find` goes from
// one to the next with indexOf of one byte (memchr) and compares the needle around it.
const CERTIFICATE_NAME = Buffer.from('x509Certificate');
const PUBLIC_KEY_NAME = Buffer.from('publicKey');
const BRACE = 0x7b;

/** Whether `needle` is in `bytes` at `at`. */
function startsAt(bytes: Buffer, needle: Buffer, at: number): boolean {
  if (at < 0 || at + needle.length > bytes.length) return false;
  for (let i = 0; i < needle.length; i++) if (bytes[at + i] !== needle[i]) return false;
  return true;
}

/** Where `needle`, which holds a brace, first is in `bytes` from `from` on, or -1 (as `bytes.indexOf(needle, from)`). */
function find(bytes: Buffer, needle: Buffer, from: number): number {
  const brace = needle.indexOf(BRACE);
  for (let at = bytes.indexOf(BRACE, from + brace); at >= 0; at = bytes.indexOf(BRACE, at + 1))
    if (startsAt(bytes, needle, at - brace)) return at - brace;
  return -1;
}

function isName(bytes: Buffer, start: number, end: number, name: Buffer): boolean {
  return end - start === name.length && startsAt(bytes, name, start);
}

// Keys, and some certificates, sign entry after entry. The verifier of a body whose base64 is
// byte for byte one seen lately is that one's, the same object: decoding it again is wasted, and
// the watch remembers by object which DER matched nothing (its fingerprint hash and certificate
// search). Looked up by the base64's last characters (of a signature or a key: they differ), read
// as a number (cheap to key a map with), then compared in full. Bounded, emptied when full: most
// certificates are one signing's own.
const RECENT_VERIFIERS = 1024;
const KEY_CHARS = 6;
const recentVerifiers = new Map<number, { encoded: Buffer; verifier: EntryVerifier }>();

function seenVerifier(kind: EntryVerifier['kind'], bytes: Buffer, start: number, end: number): EntryVerifier | undefined {
  if (end - start < KEY_CHARS) return undefined;
  const seen = recentVerifiers.get(bytes.readUIntBE(end - KEY_CHARS, KEY_CHARS));
  if (!seen || seen.verifier.kind !== kind || seen.encoded.length !== end - start) return undefined;
  return bytes.compare(seen.encoded, 0, seen.encoded.length, start, end) === 0 ? seen.verifier : undefined;
}

function rememberVerifier(kind: EntryVerifier['kind'], bytes: Buffer, start: number, end: number): EntryVerifier {
  const encoded = Buffer.from(bytes.subarray(start, end));
  const verifier = { kind, der: Buffer.from(encoded.toString('latin1'), 'base64') };
  if (end - start < KEY_CHARS) return verifier;
  if (recentVerifiers.size >= RECENT_VERIFIERS) recentVerifiers.clear();
  recentVerifiers.set(bytes.readUIntBE(end - KEY_CHARS, KEY_CHARS), { encoded, verifier });
  return verifier;
}
