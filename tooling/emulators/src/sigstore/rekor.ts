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
 * `GET /api/v1/log` (tree size, root hash, signed checkpoint) and `GET /api/v1/log/publicKey`.
 *
 * Operations, for the log and for targeted faults: CreateEntry, GetEntry, GetEntryByIndex,
 * GetLogInfo, GetPublicKey, Unknown. Custom fault `unlogged` (CreateEntry): answer with a
 * correctly signed entry and inclusion proof, but never add it to the log, so the entry is
 * missing from the log: lookups answer 404 and the next entry takes its index.
 */

const ENTRIES = '/api/v1/log/entries';

export class RekorEmulator extends SigstoreService {
  readonly service = 'Rekor';
  private transparencyLog?: TransparencyLog;

  override async start(port?: number): Promise<string> {
    const url = await super.start(port);
    // The log names itself by host in its checkpoints, so it is created once the port is known.
    this.transparencyLog ??= new TransparencyLog(new URL(url).host);
    return url;
  }

  /** The log behind the API (available once started). */
  get log(): TransparencyLog {
    if (!this.transparencyLog) throw new Error('Rekor emulator is not started');
    return this.transparencyLog;
  }

  /** An entry's id as Rekor gives it out: the tree id (16 hex digits) and the leaf hash. */
  entryId(entry: LogEntry): string {
    return `${this.log.treeId.toString(16).padStart(16, '0')}${entry.leafHash.toString('hex')}`;
  }

  protected operationOf(request: EmulatorRequest): string {
    if (request.method === 'POST' && request.path === ENTRIES) return 'CreateEntry';
    if (request.method !== 'GET') return 'Unknown';
    if (request.path.startsWith(`${ENTRIES}/`)) return 'GetEntry';
    if (request.path === ENTRIES && request.query.has('logIndex')) return 'GetEntryByIndex';
    if (request.path === '/api/v1/log') return 'GetLogInfo';
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
    if (fault && !unlogged)
      return rekorError(500, `the Rekor emulator has no ${fault.kind === 'custom' ? fault.name : fault.kind} fault here`);
    switch (operation) {
      case 'CreateEntry':
        return this.createEntry(request.json, unlogged);
      case 'GetEntry':
        return this.getEntry(request.path.slice(ENTRIES.length + 1));
      case 'GetEntryByIndex': {
        const entry = this.log.at(Number(request.query.get('logIndex')));
        return entry ? { status: 200, body: { [this.entryId(entry)]: this.entryJson(entry) } } : rekorError(404, 'entry not found');
      }
      case 'GetLogInfo': {
        const { treeSize, rootHash, checkpoint } = this.log.currentCheckpoint();
        return {
          status: 200,
          body: {
            rootHash: rootHash.toString('hex'),
            treeSize,
            signedTreeHead: checkpoint,
            treeID: String(this.log.treeId),
            inactiveShards: [],
          },
        };
      }
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
    const existing = this.log.byLeafHash(hashLeaf(body));
    if (existing) {
      const id = this.entryId(existing);
      return {
        ...rekorError(409, `An equivalent entry already exists in the transparency log with UUID ${id}`),
        headers: { location: `${ENTRIES}/${id}` },
      };
    }
    const entry = this.log.next(body);
    if (!unlogged) this.log.append(entry);
    const leaves = unlogged ? [...this.log.leaves(), entry.leafHash] : this.log.leaves();
    const id = this.entryId(entry);
    return { status: 201, headers: { location: `${ENTRIES}/${id}`, etag: id }, body: { [id]: this.entryJson(entry, leaves) } };
  }

  /** By entry id (80 hex digits) or UUID (the 64 of the leaf hash), as Rekor accepts either. */
  private getEntry(id: string): EmulatorResponse {
    const treeId = this.log.treeId.toString(16).padStart(16, '0');
    const uuid = /^[0-9a-f]{80}$/.test(id) && id.startsWith(treeId) ? id.slice(16) : id;
    const entry = /^[0-9a-f]{64}$/.test(uuid) ? this.log.byLeafHash(Buffer.from(uuid, 'hex')) : undefined;
    return entry ? { status: 200, body: { [this.entryId(entry)]: this.entryJson(entry) } } : rekorError(404, `entry ${id} not found`);
  }

  /** A LogEntry as Rekor v1 answers it, with an inclusion proof in the tree of `leaves`. */
  private entryJson(entry: LogEntry, leaves?: Buffer[]): object {
    const proof = this.log.prove(entry, leaves);
    return {
      body: entry.body.toString('base64'),
      integratedTime: entry.integratedTime,
      logID: this.log.logId.toString('hex'),
      logIndex: entry.logIndex,
      verification: {
        inclusionProof: {
          checkpoint: proof.checkpoint,
          hashes: proof.hashes.map((hash) => hash.toString('hex')),
          logIndex: proof.logIndex,
          rootHash: proof.rootHash.toString('hex'),
          treeSize: proof.treeSize,
        },
        signedEntryTimestamp: this.log.signedEntryTimestamp(entry).toString('base64'),
      },
    };
  }
}

/** An error as Rekor answers it. */
function rekorError(status: number, message: string): EmulatorResponse {
  return { status, body: { code: status, message } };
}
