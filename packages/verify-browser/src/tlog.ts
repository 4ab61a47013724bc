import type { TlogEntry } from './bundle.js';
import { base64Decode, base64Encode, equal, hex, hexDecode, sha, utf8 } from './encoding.js';
import { fail } from './errors.js';
import { derToRaw } from './signature.js';

/*
 * Rekor v1 log entries of a key-signed manifest, checked as @signet/core (sigstore-js) checks
 * them: the signed entry timestamp (SET) when there is one, the inclusion proof up to a
 * checkpoint signed by a trusted log when there is one, and the entry's body bound to this
 * envelope (a `dsse` 0.0.1 entry: its one signature and its payload hash). Other kinds of
 * entry are refused (E_TLOG) rather than half-checked.
 */

/** A Sigstore trusted root (trusted_root.json); the key path reads its transparency logs. */
export interface TrustedRootJson {
  mediaType?: string;
  tlogs?: {
    baseUrl?: string;
    hashAlgorithm?: string;
    publicKey?: { rawBytes?: string; keyDetails?: string; validFor?: { start?: string; end?: string } };
    logId?: { keyId?: string };
    /** The key ID of the log's checkpoints and SETs when it is not the log ID (sigstore-js prefers it). */
    checkpointKeyId?: { keyId?: string };
  }[];
  [other: string]: unknown;
}

export interface TrustedLog {
  logId: Uint8Array;
  baseUrl: string;
  key: CryptoKey;
  start: Date;
  end: Date;
}

const KEY_ALGORITHMS: (EcKeyImportParams | RsaHashedImportParams | Algorithm)[] = [
  { name: 'ECDSA', namedCurve: 'P-256' },
  { name: 'ECDSA', namedCurve: 'P-384' },
  { name: 'ECDSA', namedCurve: 'P-521' },
  { name: 'Ed25519' },
  { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
];

/** The logs of a trusted root, their keys imported by WebCrypto from the SPKI the root carries. */
export async function trustedLogs(root: TrustedRootJson): Promise<TrustedLog[]> {
  const logs: TrustedLog[] = [];
  for (const [i, log] of (Array.isArray(root?.tlogs) ? root.tlogs : []).entries()) {
    const validFor = log.publicKey?.validFor;
    if (validFor && !validFor.start) fail('E_TRUST_ROOT', `the trusted root's tlogs[${i}] has a validFor without a start`);
    // A time that is there must be a time: an end of "" is not "no end".
    const time = (value: string | undefined, name: string): Date | undefined => {
      if (value === undefined || value === null) return undefined;
      const date = new Date(value);
      if (typeof value !== 'string' || Number.isNaN(date.getTime())) {
        fail('E_TRUST_ROOT', `the trusted root's tlogs[${i}] validFor.${name} ${JSON.stringify(value)} is not a time`);
      }
      return date;
    };
    const start = time(validFor?.start, 'start');
    const end = time(validFor?.end, 'end');
    const spki = base64Decode(String(log.publicKey?.rawBytes ?? '')) as Uint8Array<ArrayBuffer>;
    let key: CryptoKey | undefined;
    for (const algorithm of KEY_ALGORITHMS) {
      key = await crypto.subtle.importKey('spki', spki, algorithm, false, ['verify']).catch(() => undefined);
      if (key) break;
    }
    if (!key) fail('E_TRUST_ROOT', `the trusted root holds an unreadable key (tlogs[${i}])`);
    logs.push({
      // sigstore-js matches SETs and checkpoint key hints against the checkpoint key ID when the root gives one.
      logId: base64Decode(String(log.checkpointKeyId?.keyId ?? log.logId?.keyId ?? '')),
      baseUrl: String(log.baseUrl ?? ''),
      key,
      start: start ?? new Date(0),
      end: end ?? new Date(8.64e15),
    });
  }
  return logs;
}

async function verifyWithLog(log: TrustedLog, data: Uint8Array, signature: Uint8Array): Promise<boolean> {
  const algorithm = log.key.algorithm as EcKeyAlgorithm;
  try {
    if (algorithm.name === 'ECDSA') {
      const sig = derToRaw(signature, algorithm.namedCurve === 'P-256' ? 32 : algorithm.namedCurve === 'P-384' ? 48 : 66);
      if (!sig) return false;
      // Node's crypto.verify with no hash named signs ECDSA with SHA-256, whatever the curve.
      return await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, log.key, sig, data as Uint8Array<ArrayBuffer>);
    }
    return await crypto.subtle.verify(algorithm.name, log.key, signature as Uint8Array<ArrayBuffer>, data as Uint8Array<ArrayBuffer>);
  } catch {
    return false;
  }
}

/** The entry's SET: a log's signature over its body, time, index and log ID (canonical JSON). */
export async function verifyInclusionPromise(entry: TlogEntry, logs: TrustedLog[]): Promise<void> {
  const time = new Date(Number(entry.integratedTime) * 1000);
  const keyId = entry.logId?.keyId ?? new Uint8Array(0);
  const candidates = logs.filter((log) => equal(log.logId, keyId) && log.start <= time && time <= log.end);
  // Keys in canonical (sorted) order, numbers as JavaScript writes them: RFC 8785 for this object.
  const payload = `{"body":${JSON.stringify(base64Encode(entry.canonicalizedBody))},"integratedTime":${JSON.stringify(Number(entry.integratedTime))},"logID":${JSON.stringify(hex(keyId))},"logIndex":${JSON.stringify(Number(entry.logIndex))}}`;
  for (const log of candidates) {
    if (await verifyWithLog(log, utf8.encode(payload), entry.inclusionPromise?.signedEntryTimestamp ?? new Uint8Array(0))) return;
  }
  fail('E_TLOG', 'inclusion promise could not be verified');
}

/** The inclusion proof: the entry's leaf hashes up to the root of a checkpoint a trusted log signed. */
export async function verifyInclusionProof(entry: TlogEntry, logs: TrustedLog[]): Promise<void> {
  const proof = entry.inclusionProof;
  if (!proof) return;
  const envelope = proof.checkpoint?.envelope ?? '';
  const split = envelope.indexOf('\n\n');
  if (split < 0) fail('E_TLOG', 'missing checkpoint separator');
  const note = envelope.slice(0, split + 1);
  const signatures = [...envelope.slice(split + 2).matchAll(/\u2014 (\S+) (\S+)\n/g)].map(([, name, signature]) => {
    const bytes = base64Decode(signature as string);
    if (bytes.length < 5) fail('E_TLOG', 'malformed checkpoint signature');
    return { name: name as string, keyHint: bytes.subarray(0, 4), signature: bytes.subarray(4) };
  });
  if (signatures.length === 0) fail('E_TLOG', 'no signatures found in checkpoint');
  // sigstore-js matches each name as a pattern and fails on one that is not: a line it cannot
  // read is not skipped in favour of the next.
  for (const { name } of signatures) {
    try {
      new RegExp(name);
    } catch (cause) {
      fail('E_BUNDLE', `the bundle is malformed: checkpoint signature name ${JSON.stringify(name)} is not a valid pattern`, cause);
    }
  }
  const lines = note.trimEnd().split('\n');
  if (lines.length < 3) fail('E_TLOG', 'too few lines in checkpoint header');
  let treeSize: bigint;
  let logIndex: bigint;
  try {
    treeSize = BigInt(lines[1] as string);
    logIndex = BigInt(proof.logIndex);
  } catch (cause) {
    return fail('E_BUNDLE', 'the bundle is malformed: a checkpoint or proof holds a size that is not a number', cause);
  }
  const rootHash = base64Decode(lines[2] as string);
  let signed = false;
  for (const signature of signatures) {
    const log = logs.find((l) => equal(l.logId.subarray(0, 4), signature.keyHint) && matches(l.baseUrl, signature.name));
    if (log && (await verifyWithLog(log, utf8.encode(note), signature.signature))) {
      signed = true;
      break;
    }
  }
  if (!signed) fail('E_TLOG', 'invalid checkpoint signature');
  if (logIndex < 0n || logIndex >= treeSize) fail('E_TLOG', `invalid index: ${logIndex}`);
  const inner = bitLength(logIndex ^ (treeSize - 1n));
  const border = (logIndex >> BigInt(inner)).toString(2).split('1').length - 1;
  if (proof.hashes.length !== inner + border) fail('E_TLOG', 'invalid hash count');
  let hash = await sha(256, new Uint8Array([0]), entry.canonicalizedBody);
  for (const [i, sibling] of proof.hashes.slice(0, inner).entries()) {
    hash =
      (logIndex >> BigInt(i)) & 1n
        ? await sha(256, new Uint8Array([1]), sibling, hash)
        : await sha(256, new Uint8Array([1]), hash, sibling);
  }
  for (const sibling of proof.hashes.slice(inner)) hash = await sha(256, new Uint8Array([1]), sibling, hash);
  if (!equal(hash, rootHash)) fail('E_TLOG', 'calculated root hash does not match inclusion proof');
}

/** sigstore-js matches the signature's name as a pattern against the log's URL. */
function matches(baseUrl: string, name: string): boolean {
  try {
    return new RegExp(name).test(baseUrl);
  } catch {
    return false;
  }
}

function bitLength(n: bigint): number {
  return n === 0n ? 0 : n.toString(2).length;
}

/** The entry's body is about this envelope: a dsse 0.0.1 entry with its one signature and the payload's (or PAE's) digest. */
export async function verifyEntryBody(entry: TlogEntry, signature: Uint8Array, digests: Uint8Array[]): Promise<void> {
  let body: { kind?: unknown; apiVersion?: unknown; spec?: { signatures?: { signature?: unknown }[]; payloadHash?: { value?: unknown } } };
  try {
    body = JSON.parse(utf8.decode(entry.canonicalizedBody));
  } catch (cause) {
    return fail('E_BUNDLE', 'the bundle is malformed: a log entry body is not JSON', cause);
  }
  const { kind, version } = entry.kindVersion ?? { kind: '', version: '' };
  if (kind !== body?.kind || version !== body?.apiVersion) {
    fail('E_TLOG', `kind/version mismatch - expected: ${kind}/${version}, received: ${String(body?.kind)}/${String(body?.apiVersion)}`);
  }
  if (kind !== 'dsse' || version !== '0.0.1') fail('E_TLOG', `the browser verifier checks dsse 0.0.1 log entries, not ${kind} ${version}`);
  const signatures = body.spec?.signatures;
  if (!Array.isArray(signatures) || signatures.length !== 1) fail('E_TLOG', 'signature count mismatch');
  const logged = signatures[0]?.signature;
  if (typeof logged !== 'string' && logged !== undefined) fail('E_BUNDLE', 'the bundle is malformed: a log entry signature is not text');
  if (!equal(base64Decode(String(logged ?? '')), signature)) fail('E_TLOG', 'tlog entry signature mismatch');
  const value = body.spec?.payloadHash?.value;
  const hash = hexDecode(typeof value === 'string' ? value : '');
  if (!digests.some((digest) => equal(digest, hash))) fail('E_TLOG', 'DSSE payload hash mismatch');
}
