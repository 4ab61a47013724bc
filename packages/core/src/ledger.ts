import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import { describeBundle } from './bundle-description';
import type { Bundle } from './bundle-io';
import { inputError } from './digest';
import { SignetError } from './errors';
import { writeFileAtomic } from './fs-atomic';

/*
 * The ledger: what you signed and published, so that a monitor watching the transparency logs
 * and the registry can tell your own releases from a signature or a publish you did not make.
 * One JSON object per line (JSON Lines), so a ledger committed to a repository merges line by
 * line; every change rewrites the whole file atomically, so a killed signer never leaves half a
 * line behind.
 */

/** One thing signed (and where it was logged), or one npm release published. */
export interface LedgerRecord {
  /** The transparency log's ID, hex (the bundle's `logId.keyId`); absent for a signature that was not logged. */
  log?: string;
  /** The entry's index in that log (for a sharded Rekor v1 log, the global index). */
  logIndex?: number;
  /** The entry's RFC 6962 leaf hash, hex: SHA-256(0x00 ‖ canonicalized body). What a monitor compares. */
  leaf?: string;
  /** An npm release, NAME@VERSION. */
  package?: string;
  /** The artifact's digest, ALGORITHM:HEX (sha256, or sha512 for an npm tarball). */
  digest: string;
  /** What was signed, as the command named it (a path, an image, pkg:npm/NAME@VERSION). */
  artifact?: string;
  /** Who signed: a certificate's identity or a key's fingerprint. */
  signer: string;
  /** When it was signed, ISO 8601. */
  time: string;
}

/** A ledger file larger than this is refused rather than read (a million releases fit). */
const MAX_LEDGER_BYTES = 256 * 1024 * 1024;

/** Reads a ledger; a file that does not exist is an empty ledger. A malformed line is E_INPUT naming it. */
export async function readLedger(file: string): Promise<LedgerRecord[]> {
  let text: string;
  try {
    const stat = await fs.stat(file);
    if (!stat.isFile()) throw new SignetError({ code: 'E_INPUT', message: `the ledger ${file} is not a regular file` });
    if (stat.size > MAX_LEDGER_BYTES)
      throw new SignetError({ code: 'E_INPUT', message: `the ledger ${file} is over ${MAX_LEDGER_BYTES} bytes` });
    text = await fs.readFile(file, 'utf8');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return [];
    if (cause instanceof SignetError) throw cause;
    throw inputError(file, cause);
  }
  const records: LedgerRecord[] = [];
  for (const [i, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch (cause) {
      throw new SignetError({ code: 'E_INPUT', message: `the ledger ${file}, line ${i + 1}, is not JSON`, cause });
    }
    if (!isLedgerRecord(record)) {
      throw new SignetError({
        code: 'E_INPUT',
        message: `the ledger ${file}, line ${i + 1}, is not a ledger record (digest, signer and time are required)`,
      });
    }
    records.push(record);
  }
  return records;
}

/** Adds records to a ledger (created if absent), rewriting it atomically. */
export async function appendToLedger(file: string, records: readonly LedgerRecord[]): Promise<void> {
  if (records.length === 0) return;
  const existing = await readLedger(file);
  const lines = [...existing, ...records].map((record) => JSON.stringify(record));
  await writeFileAtomic(file, `${lines.join('\n')}\n`);
}

/**
 * The ledger records of one signature: one per transparency-log entry of the bundle (log,
 * index, leaf hash), or one without a log when it was not logged. The digest is the
 * artifact's when given, else what the bundle signs: its message digest, or the SHA-256 of
 * its DSSE payload (the statement).
 */
export function ledgerRecordsOf(
  bundle: Bundle,
  artifact: { digest?: string; name?: string; package?: string } = {},
  time: Date = new Date(),
): LedgerRecord[] {
  const description = describeBundle(bundle);
  const release = npmRelease(bundle);
  const digest =
    artifact.digest ??
    release?.digest ??
    (description.content.kind === 'messageSignature'
      ? `${description.content.digest.algorithm}:${description.content.digest.hex}`
      : `sha256:${createHash('sha256')
          .update(bundle.content.$case === 'dsseEnvelope' ? bundle.content.dsseEnvelope.payload : Buffer.alloc(0))
          .digest('hex')}`);
  const signer =
    description.signer.kind === 'certificate'
      ? (description.signer.subject ?? description.signer.serialNumber)
      : (description.signer.fingerprint ?? description.signer.hint);
  const base: LedgerRecord = {
    digest,
    ...(artifact.name ? { artifact: artifact.name } : {}),
    ...((artifact.package ?? release?.package) ? { package: artifact.package ?? release?.package } : {}),
    signer,
    time: time.toISOString(),
  };
  const entries = bundle.verificationMaterial.tlogEntries;
  if (entries.length === 0) return [base];
  return entries.map((entry) => ({
    ...(entry.logId ? { log: Buffer.from(entry.logId.keyId).toString('hex') } : {}),
    logIndex: Number(entry.logIndex),
    leaf: createHash('sha256')
      .update(Buffer.from([0]))
      .update(entry.canonicalizedBody)
      .digest('hex'),
    ...base,
  }));
}

function isLedgerRecord(value: unknown): value is LedgerRecord {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const record = value as Record<string, unknown>;
  const optionalString = (name: string) => record[name] === undefined || typeof record[name] === 'string';
  return (
    typeof record.digest === 'string' &&
    typeof record.signer === 'string' &&
    typeof record.time === 'string' &&
    optionalString('log') &&
    optionalString('leaf') &&
    optionalString('package') &&
    optionalString('artifact') &&
    (record.logIndex === undefined || Number.isSafeInteger(record.logIndex))
  );
}

/**
 * The npm release a bundle signs, when its statement's one subject is `pkg:npm/NAME@VERSION`
 * (as `signet npm publish` and npm provenance name a tarball): NAME@VERSION and its sha512.
 */
function npmRelease(bundle: Bundle): { package: string; digest?: string } | undefined {
  if (bundle.content.$case !== 'dsseEnvelope') return undefined;
  let statement: { subject?: { name?: unknown; digest?: Record<string, unknown> }[] };
  try {
    statement = JSON.parse(Buffer.from(bundle.content.dsseEnvelope.payload).toString('utf8'));
  } catch {
    return undefined;
  }
  const subject = statement.subject?.length === 1 ? statement.subject[0] : undefined;
  const name = typeof subject?.name === 'string' ? subject.name : '';
  const match = /^pkg:npm\/(.+@[^@/]+)$/.exec(name);
  if (!match) return undefined;
  const sha512 = subject?.digest?.sha512;
  return { package: decodeURIComponent(match[1] as string), digest: typeof sha512 === 'string' ? `sha512:${sha512}` : undefined };
}
