import crypto, { type KeyObject } from 'node:crypto';
import { auditPath, consistencyPath, hashLeaf, treeHash } from './merkle';

/*
 * Rekor's transparency log: an append-only RFC 6962 Merkle tree of canonicalized entry bodies,
 * signed checkpoints (signed notes, as Rekor v1 writes them) and signed entry timestamps.
 * @sigstore/mock's log pretends every entry is alone in a one-leaf tree at a random index,
 * so its proofs have no hashes and nothing can be looked up; this one keeps every entry.
 */

export interface LogEntry {
  logIndex: number;
  /** The canonicalized entry body, the Merkle leaf. */
  body: Buffer;
  /** Seconds since the epoch, as Rekor records it. */
  integratedTime: number;
  leafHash: Buffer;
}

export interface InclusionProof {
  logIndex: number;
  treeSize: number;
  rootHash: Buffer;
  /** Audit path from the leaf up, as RFC 6962 orders it. */
  hashes: Buffer[];
  /** The signed checkpoint of the tree the proof is for. */
  checkpoint: string;
}

export class TransparencyLog {
  /** The log's public key (SPKI DER). */
  readonly publicKey: Buffer;
  /** The log id: SHA-256 of the public key. */
  readonly logId: Buffer;
  /** The tree id, in checkpoint origins and (as 16 hex digits) entry ids. */
  readonly treeId: bigint;
  private readonly privateKey: KeyObject;
  private readonly entries: LogEntry[] = [];

  /**
   * `origin` names the log in its checkpoints: its host, which verifiers match against its URL.
   * `privateKey` signs its checkpoints (default: a new P-256 key): a new shard of a log may keep the old one's key.
   */
  constructor(
    private readonly origin: string,
    privateKey?: KeyObject,
  ) {
    this.privateKey = privateKey ?? crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    this.publicKey = crypto.createPublicKey(this.privateKey).export({ format: 'der', type: 'spki' });
    this.logId = crypto.createHash('sha256').update(this.publicKey).digest();
    this.treeId = BigInt(crypto.randomInt(2 ** 47)) + 1n;
  }

  get size(): number {
    return this.entries.length;
  }

  /** Leaf hashes of the current tree. */
  leaves(): Buffer[] {
    return this.entries.map((entry) => entry.leafHash);
  }

  /** The entry this body would become if appended now. */
  next(body: Buffer): LogEntry {
    return { logIndex: this.entries.length, body, integratedTime: Math.floor(Date.now() / 1000), leafHash: hashLeaf(body) };
  }

  append(entry: LogEntry): void {
    if (entry.logIndex !== this.entries.length) throw new Error(`entry ${entry.logIndex} is not the next one (${this.entries.length})`);
    this.entries.push(entry);
  }

  /** The key that signs this log's checkpoints, for a new shard that keeps it. */
  get signingKey(): KeyObject {
    return this.privateKey;
  }

  /**
   * Rewrites history, as a compromised or broken log would: the entry at `logIndex` gets
   * another body, so every later checkpoint (still properly signed) is inconsistent with the
   * ones published before. A monitor must call that a fork.
   */
  rewrite(logIndex: number, body: Buffer): void {
    const entry = this.entries[logIndex];
    if (!entry) throw new Error(`no entry ${logIndex} to rewrite`);
    this.entries[logIndex] = { ...entry, body, leafHash: hashLeaf(body) };
  }

  /** RFC 9162 consistency proof between the trees of the first `firstSize` and `lastSize` leaves. */
  consistencyProof(firstSize: number, lastSize: number): { rootHash: Buffer; hashes: Buffer[] } {
    const leaves = this.leaves().slice(0, lastSize);
    return { rootHash: treeHash(leaves), hashes: consistencyPath(firstSize, leaves) };
  }

  /** The signed checkpoint of the tree of the first `treeSize` leaves. */
  checkpointAt(treeSize: number): string {
    return this.checkpoint(treeSize, treeHash(this.leaves().slice(0, treeSize)));
  }

  at(logIndex: number): LogEntry | undefined {
    return this.entries[logIndex];
  }

  byLeafHash(leafHash: Buffer): LogEntry | undefined {
    return this.entries.find((entry) => entry.leafHash.equals(leafHash));
  }

  /** The entry's inclusion proof in the tree of these leaves (by default the current tree). */
  prove(entry: LogEntry, leaves = this.leaves()): InclusionProof {
    const rootHash = treeHash(leaves);
    return {
      logIndex: entry.logIndex,
      treeSize: leaves.length,
      rootHash,
      hashes: auditPath(entry.logIndex, leaves),
      checkpoint: this.checkpoint(leaves.length, rootHash),
    };
  }

  /** The signed checkpoint of the current tree. */
  currentCheckpoint(): { treeSize: number; rootHash: Buffer; checkpoint: string } {
    const leaves = this.leaves();
    const rootHash = treeHash(leaves);
    return { treeSize: leaves.length, rootHash, checkpoint: this.checkpoint(leaves.length, rootHash) };
  }

  /** The signed entry timestamp (the bundle's inclusion promise), over the entry's global index in a sharded log. */
  signedEntryTimestamp(entry: LogEntry, globalIndex = entry.logIndex): Buffer {
    const payload = canonicalJson({
      body: entry.body.toString('base64'),
      integratedTime: entry.integratedTime,
      logIndex: globalIndex,
      logID: this.logId.toString('hex'),
    });
    return crypto.sign('sha256', Buffer.from(payload), this.privateKey);
  }

  /** A signed note: origin, size, root hash, timestamp; signed with the log key, hinted by the log id. */
  private checkpoint(treeSize: number, rootHash: Buffer): string {
    const note = `${this.origin} - ${this.treeId}\n${treeSize}\n${rootHash.toString('base64')}\nTimestamp: ${BigInt(Date.now()) * 1_000_000n}\n`;
    const signature = crypto.sign('sha256', Buffer.from(note), this.privateKey);
    return `${note}\n\u2014 ${this.origin} ${Buffer.concat([this.logId.subarray(0, 4), signature]).toString('base64')}\n`;
  }
}

/** RFC 8785 JSON canonicalization, for the JSON Rekor stores and signs (strings, integers, objects, arrays). */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const fields = Object.entries(value as Record<string, unknown>)
      .filter(([, field]) => field !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${fields.map(([name, field]) => `${JSON.stringify(name)}:${canonicalJson(field)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
