import crypto from 'node:crypto';
import type { Fault } from '../faults';
import type { EmulatorRequest, EmulatorResponse } from '../http-emulator';
import { EntryError, storedEntry } from './entries';
import { canonicalJson, type LogEntry, TransparencyLog } from './log';
import { hashLeaf } from './merkle';
import { SigstoreService } from './service';

/*
 * Rekor's v1 REST API over a real append-only log: `POST /api/v1/log/entries` (hashedrekord,
 * dsse and intoto entries, stored as Rekor stores them; 409 with Location for an entry already
 * in the log), `GET /api/v1/log/entries/{uuid}`, `GET /api/v1/log/entries?logIndex=N`,
 * `POST /api/v1/log/entries/retrieve` (`{"logIndexes": [...]}`, at most 10), `GET /api/v1/log`
 * (tree size, root hash, signed checkpoint, inactive shards), `GET /api/v1/log/proof?firstSize=M&lastSize=N[&treeID=T]`
 * (an RFC 9162 consistency proof) and `GET /api/v1/log/publicKey`.
 *
 * A sharded log, as Rekor runs one: `rotateShard()` freezes the active tree as an inactive
 * shard and starts a new one (a new tree ID, the same key). Entry indexes are global, as
 * Rekor gives them out: the sizes of the inactive shards plus the index in the shard, which
 * is the inclusion proof's `logIndex`. `GET /api/v1/log` lists the inactive shards, oldest first.
 *
 * Operations, for the log and for targeted faults: CreateEntry, GetEntry, GetEntryByIndex,
 * RetrieveEntries, GetLogInfo, GetLogProof, GetPublicKey, Unknown. Custom fault `unlogged`
 * (CreateEntry): answer with a correctly signed entry and inclusion proof, but never add it to
 * the log, so the entry is missing from the log: lookups answer 404 and the next entry takes
 * its index. Fault `corrupt` (GetLogInfo): the checkpoint's root hash changes under its old
 * signature, a checkpoint that does not verify. `log.rewrite(i, body)` forks the log: later
 * checkpoints are signed but inconsistent with the earlier ones.
 */

const ENTRIES = '/api/v1/log/entries';

export class RekorEmulator extends SigstoreService {
  readonly service = 'Rekor';
  private transparencyLog?: TransparencyLog;
  private readonly inactive: TransparencyLog[] = [];

  override async start(port?: number): Promise<string> {
    const url = await super.start(port);
    // The log names itself by host in its checkpoints, so it is created once the port is known.
    this.transparencyLog ??= new TransparencyLog(new URL(url).host);
    return url;
  }

  /** The log behind the API (available once started): the active shard. */
  get log(): TransparencyLog {
    if (!this.transparencyLog) throw new Error('Rekor emulator is not started');
    return this.transparencyLog;
  }

  /** The inactive shards, oldest first. */
  get inactiveShards(): readonly TransparencyLog[] {
    return this.inactive;
  }

  /** Freezes the active shard and starts a new, empty one with a new tree ID and the same key. */
  rotateShard(): TransparencyLog {
    const previous = this.log;
    this.inactive.push(previous);
    this.transparencyLog = new TransparencyLog(new URL(this.url).host, previous.signingKey);
    return this.transparencyLog;
  }

  /** The global index of the active shard's first entry: the sizes of the inactive shards. */
  private get offset(): number {
    return this.inactive.reduce((sum, shard) => sum + shard.size, 0);
  }

  /** The shard holding a global index, and the index in it. */
  private locate(globalIndex: number): { shard: TransparencyLog; offset: number; entry?: LogEntry } | undefined {
    if (!Number.isSafeInteger(globalIndex) || globalIndex < 0) return undefined;
    let offset = 0;
    for (const shard of [...this.inactive, this.log]) {
      if (globalIndex < offset + shard.size || shard === this.log) return { shard, offset, entry: shard.at(globalIndex - offset) };
      offset += shard.size;
    }
    return undefined;
  }

  /** An entry's id as Rekor gives it out: the tree id (16 hex digits) and the leaf hash. */
  entryId(entry: LogEntry, shard = this.log): string {
    return `${shard.treeId.toString(16).padStart(16, '0')}${entry.leafHash.toString('hex')}`;
  }

  protected operationOf(request: EmulatorRequest): string {
    if (request.method === 'POST' && request.path === ENTRIES) return 'CreateEntry';
    if (request.method === 'POST' && request.path === `${ENTRIES}/retrieve`) return 'RetrieveEntries';
    if (request.method !== 'GET') return 'Unknown';
    if (request.path.startsWith(`${ENTRIES}/`)) return 'GetEntry';
    if (request.path === ENTRIES && request.query.has('logIndex')) return 'GetEntryByIndex';
    if (request.path === '/api/v1/log') return 'GetLogInfo';
    if (request.path === '/api/v1/log/proof') return 'GetLogProof';
    if (request.path === '/api/v1/log/publicKey') return 'GetPublicKey';
    return 'Unknown';
  }

  protected faultResponse(fault: Exclude<Fault, { kind: 'latency' | 'drop' }>): EmulatorResponse {
    if (fault.kind === 'throttle') {
      return { ...rekorError(429, 'rate limit exceeded'), headers: { 'retry-after': String(fault.retryAfterSeconds ?? 1) } };
    }
    const status = fault.kind === 'status' ? fault.status : 500;
    return rekorError(status, fault.kind === 'status' && fault.message ? fault.message : 'injected fault');
  }

  protected async handle(request: EmulatorRequest, operation: string, fault?: Extract<Fault, { kind: 'corrupt' | 'custom' }>) {
    const unlogged = fault?.kind === 'custom' && fault.name === 'unlogged' && operation === 'CreateEntry';
    const corrupt = fault?.kind === 'corrupt' && operation === 'GetLogInfo';
    if (fault && !unlogged && !corrupt)
      return rekorError(500, `the Rekor emulator has no ${fault.kind === 'custom' ? fault.name : fault.kind} fault here`);
    switch (operation) {
      case 'CreateEntry':
        return this.createEntry(request.json, unlogged);
      case 'GetEntry':
        return this.getEntry(request.path.slice(ENTRIES.length + 1));
      case 'GetEntryByIndex': {
        const found = this.locate(Number(request.query.get('logIndex')));
        return found?.entry
          ? { status: 200, body: { [this.entryId(found.entry, found.shard)]: this.entryJson(found.entry, found.shard, found.offset) } }
          : rekorError(404, 'entry not found');
      }
      case 'RetrieveEntries':
        return this.retrieveEntries(request.json);
      case 'GetLogInfo': {
        const { treeSize, rootHash, checkpoint } = this.log.currentCheckpoint();
        return {
          status: 200,
          body: {
            rootHash: rootHash.toString('hex'),
            treeSize,
            signedTreeHead: corrupt ? corruptCheckpoint(checkpoint) : checkpoint,
            treeID: String(this.log.treeId),
            inactiveShards: this.inactive.map((shard) => {
              const head = shard.currentCheckpoint();
              return {
                rootHash: head.rootHash.toString('hex'),
                treeSize: head.treeSize,
                signedTreeHead: head.checkpoint,
                treeID: String(shard.treeId),
              };
            }),
          },
        };
      }
      case 'GetLogProof':
        return this.logProof(request.query);
      case 'GetPublicKey':
        return {
          status: 200,
          headers: { 'content-type': 'application/x-pem-file' },
          body: crypto.createPublicKey({ key: this.log.publicKey, format: 'der', type: 'spki' }).export({ format: 'pem', type: 'spki' }),
        };
      default:
        return rekorError(404, `no such endpoint: ${request.method} ${request.path}`);
    }
  }

  private createEntry(proposal: unknown, unlogged: boolean): EmulatorResponse {
    let stored: object;
    try {
      stored = storedEntry(proposal);
    } catch (error) {
      if (error instanceof EntryError) return rekorError(400, error.message);
      throw error;
    }
    const body = Buffer.from(canonicalJson(stored));
    const existing = this.find(hashLeaf(body));
    if (existing) {
      const id = this.entryId(existing.entry, existing.shard);
      return {
        ...rekorError(409, `An equivalent entry already exists in the transparency log with UUID ${id}`),
        headers: { location: `${ENTRIES}/${id}` },
      };
    }
    const entry = this.log.next(body);
    if (!unlogged) this.log.append(entry);
    const leaves = unlogged ? [...this.log.leaves(), entry.leafHash] : this.log.leaves();
    const id = this.entryId(entry);
    return {
      status: 201,
      headers: { location: `${ENTRIES}/${id}`, etag: id },
      body: { [id]: this.entryJson(entry, this.log, this.offset, leaves) },
    };
  }

  /** An entry by its leaf hash, in whichever shard holds it. */
  private find(leafHash: Buffer): { entry: LogEntry; shard: TransparencyLog; offset: number } | undefined {
    let offset = 0;
    for (const shard of [...this.inactive, this.log]) {
      const entry = shard.byLeafHash(leafHash);
      if (entry) return { entry, shard, offset };
      offset += shard.size;
    }
    return undefined;
  }

  /** `POST /api/v1/log/entries/retrieve` by log indexes (Rekor's SearchLogQuery allows 10): the entries found, in the order asked. */
  private retrieveEntries(query: unknown): EmulatorResponse {
    const indexes = (query as { logIndexes?: unknown } | null)?.logIndexes;
    if (
      !Array.isArray(indexes) ||
      indexes.length === 0 ||
      indexes.length > 10 ||
      !indexes.every((i) => Number.isSafeInteger(i) && i >= 0)
    ) {
      return rekorError(422, 'logIndexes must be 1 to 10 non-negative integers');
    }
    const found: object[] = [];
    for (const index of indexes as number[]) {
      const at = this.locate(index);
      if (at?.entry) found.push({ [this.entryId(at.entry, at.shard)]: this.entryJson(at.entry, at.shard, at.offset) });
    }
    return { status: 200, body: found };
  }

  /** `GET /api/v1/log/proof`: the consistency proof between two sizes of the active shard, or of the shard `treeID` names. */
  private logProof(query: URLSearchParams): EmulatorResponse {
    const treeId = query.get('treeID');
    const shard = treeId === null || treeId === '' ? this.log : [...this.inactive, this.log].find((s) => String(s.treeId) === treeId);
    if (!shard) return rekorError(404, `no shard with tree ID ${treeId}`);
    const firstSize = Number(query.get('firstSize') ?? '1');
    const lastSize = query.has('lastSize') ? Number(query.get('lastSize')) : shard.size;
    if (
      !Number.isSafeInteger(firstSize) ||
      !Number.isSafeInteger(lastSize) ||
      firstSize < 1 ||
      firstSize > lastSize ||
      lastSize > shard.size
    ) {
      return rekorError(
        400,
        `firstSize(${query.get('firstSize')}) must be at least 1 and at most lastSize(${lastSize}), which is at most ${shard.size}`,
      );
    }
    const proof = shard.consistencyProof(firstSize, lastSize);
    return { status: 200, body: { rootHash: proof.rootHash.toString('hex'), hashes: proof.hashes.map((hash) => hash.toString('hex')) } };
  }

  /** By entry id (80 hex digits) or UUID (the 64 of the leaf hash), as Rekor accepts either. */
  private getEntry(id: string): EmulatorResponse {
    const uuid = /^[0-9a-f]{80}$/.test(id) ? id.slice(16) : id;
    const found = /^[0-9a-f]{64}$/.test(uuid) ? this.find(Buffer.from(uuid, 'hex')) : undefined;
    if (found && uuid !== id && id.slice(0, 16) !== found.shard.treeId.toString(16).padStart(16, '0'))
      return rekorError(404, `entry ${id} not found`);
    return found
      ? { status: 200, body: { [this.entryId(found.entry, found.shard)]: this.entryJson(found.entry, found.shard, found.offset) } }
      : rekorError(404, `entry ${id} not found`);
  }

  /**
   * A LogEntry as Rekor v1 answers it: its global index, and an inclusion proof (with the index
   * in its shard) in the tree of `leaves` (by default the shard's current tree).
   */
  private entryJson(entry: LogEntry, shard: TransparencyLog, offset: number, leaves?: Buffer[]): object {
    const proof = shard.prove(entry, leaves);
    return {
      body: entry.body.toString('base64'),
      integratedTime: entry.integratedTime,
      logID: shard.logId.toString('hex'),
      logIndex: offset + entry.logIndex,
      verification: {
        inclusionProof: {
          checkpoint: proof.checkpoint,
          hashes: proof.hashes.map((hash) => hash.toString('hex')),
          logIndex: proof.logIndex,
          rootHash: proof.rootHash.toString('hex'),
          treeSize: proof.treeSize,
        },
        signedEntryTimestamp: shard.signedEntryTimestamp(entry, offset + entry.logIndex).toString('base64'),
      },
    };
  }
}

/** An error as Rekor answers it. */
function rekorError(status: number, message: string): EmulatorResponse {
  return { status, body: { code: status, message } };
}

/** The checkpoint with one bit of its root hash flipped, under the original signature. */
function corruptCheckpoint(checkpoint: string): string {
  const lines = checkpoint.split('\n');
  const root = Buffer.from(lines[2] ?? '', 'base64');
  root[0] = (root[0] ?? 0) ^ 0x01;
  lines[2] = root.toString('base64');
  return lines.join('\n');
}
