import { TransparencyLogEntry } from '@sigstore/protobuf-specs';
import type { Fault } from '../faults';
import type { EmulatorRequest, EmulatorResponse } from '../http-emulator';
import { CREATE_ENTRY_REQUEST, HashedRekordRefusal, hashedRekordEntry } from './hashedrekord-v2';
import { decodeRequest, type JsonObject, RequestDecodeError } from './protojson';
import { SigstoreService } from './service';
import { parseTilePath, TiledLog } from './tiled-log';

/*
 * A Rekor v2 log as sigstore/rekor-tiles (v2.3+) serves one, e.g. log2025-1.rekor.sigstore.dev.
 *
 * Write: `POST /api/v2/log/entries` with a CreateEntryRequest in the protobuf JSON mapping, through
 * rekor-tiles' gRPC gateway: 201 and the TransparencyLogEntry to put in a bundle (with every
 * field, as the gateway emits unpopulated ones: integratedTime "0", inclusionPromise null), or a
 * gateway error `{"code": <gRPC code>, "message": …, "details": []}`:
 * - 400 "invalid type, must be hashedrekord": a dsseRequestV002 (removed in v2.3.0, #744), or no entry;
 * - 400 "invalid hashedrekord request": any failed check of the hashedrekord (hashedrekord-v2.ts;
 *   the reason goes to `serverLog`, as rekor-tiles logs it and tells the client nothing more);
 * - 400 with the decoder's text: a body that is not JSON, or not a CreateEntryRequest
 *   (protojson.ts); "http: request body too large" past 4 MiB;
 * - 409 "an equivalent entry already exists in the transparency log with index N", header x-log-index: N;
 * - 500 "failed to integrate entry": an entry longer than Tessera's 65535 bytes.
 * The other gateway routes answer as rekor-tiles does: `/api/v2/checkpoint`, `/api/v2/tile/…`
 * and `/api/v2/tile/entries/…` are declared but unimplemented (501), `/healthz` is healthy.
 *
 * Read: the log's C2SP tiles (c2sp.org/tlog-tiles), at the root of the log's URL where the
 * public instance serves its storage bucket: `/checkpoint`, `/tile/<L>/<N>[.p/<W>]`,
 * `/tile/entries/<N>[.p/<W>]`. What is not published is the bucket's 404.
 *
 * Operations, for the log and for targeted faults: CreateEntry, ReadCheckpoint, ReadTile,
 * ReadEntryBundle, GetCheckpoint, GetTile, GetEntryBundle (the unimplemented ones), Health,
 * Unknown. Fault `corrupt` on the read operations damages the answer: a checkpoint whose root
 * hash no longer matches its signature, a tile whose first hash has a flipped bit, an entry
 * bundle whose first entry has a flipped bit.
 */

const ENTRIES = '/api/v2/log/entries';
/** rekor-tiles' default --max-request-body-size. */
const MAX_REQUEST_BODY = 4 * 1024 * 1024;
/** Tessera's entry size limit: an entry bundle prefixes each entry with its length as a uint16. */
const MAX_ENTRY = 0xffff;
const READ_OPERATIONS = new Set(['ReadCheckpoint', 'ReadTile', 'ReadEntryBundle']);

/** gRPC codes by the HTTP status grpc-gateway maps them to (runtime.HTTPStatusFromCode). */
const GRPC_CODE: Record<number, number> = { 400: 3, 401: 16, 403: 7, 404: 5, 409: 6, 429: 8, 499: 1, 500: 13, 501: 12, 503: 14, 504: 4 };

/** One warning rekor-tiles writes to its own log while refusing a request. */
export interface ServerLogEntry {
  message: string;
  error: string;
}

export class RekorV2Emulator extends SigstoreService {
  readonly service = 'Rekor v2';
  /** The reasons behind refusals the client only sees as "invalid hashedrekord request". */
  readonly serverLog: ServerLogEntry[] = [];
  private tiledLog?: TiledLog;

  override async start(port?: number): Promise<string> {
    const url = await super.start(port);
    // The origin is the log's URL without its scheme (as log2025-1.rekor.sigstore.dev is), so it is
    // known once the port is; the port survives a restart, and so does the log.
    this.tiledLog ??= new TiledLog(new URL(url).host);
    return url;
  }

  /** The log behind the API (available once started). */
  get log(): TiledLog {
    if (!this.tiledLog) throw new Error('Rekor v2 emulator is not started');
    return this.tiledLog;
  }

  protected operationOf(request: EmulatorRequest): string {
    const { method, path } = request;
    if (path === ENTRIES) return method === 'POST' ? 'CreateEntry' : 'Unknown';
    if (method !== 'GET') return 'Unknown';
    if (path === '/checkpoint') return 'ReadCheckpoint';
    if (path.startsWith('/tile/entries/')) return 'ReadEntryBundle';
    if (path.startsWith('/tile/')) return 'ReadTile';
    if (path === '/api/v2/checkpoint') return 'GetCheckpoint';
    if (path.startsWith('/api/v2/tile/entries/')) return 'GetEntryBundle';
    if (path.startsWith('/api/v2/tile/')) return 'GetTile';
    if (path === '/healthz') return 'Health';
    return 'Unknown';
  }

  protected faultResponse(fault: Exclude<Fault, { kind: 'latency' | 'drop' }>, operation: string): EmulatorResponse {
    const status = fault.kind === 'throttle' ? 429 : fault.kind === 'status' ? fault.status : 500;
    const message =
      fault.kind === 'status' && fault.message ? fault.message : fault.kind === 'throttle' ? 'rate limit exceeded' : 'injected fault';
    const response = READ_OPERATIONS.has(operation)
      ? { status, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: message }
      : gatewayError(status, message);
    if (fault.kind !== 'throttle') return response;
    return { ...response, headers: { ...response.headers, 'retry-after': String(fault.retryAfterSeconds ?? 1) } };
  }

  protected async handle(request: EmulatorRequest, operation: string, fault?: Extract<Fault, { kind: 'corrupt' | 'custom' }>) {
    const corrupt = fault?.kind === 'corrupt' && READ_OPERATIONS.has(operation);
    if (fault && !corrupt) {
      return gatewayError(500, `the Rekor v2 emulator has no ${fault.kind === 'custom' ? fault.name : fault.kind} fault for ${operation}`);
    }
    switch (operation) {
      case 'CreateEntry':
        return this.createEntry(request.rawBody);
      case 'ReadCheckpoint':
        return {
          status: 200,
          headers: { 'content-type': 'text/plain; charset=utf-8' },
          body: corrupt ? corruptCheckpoint(this.log.checkpoint()) : this.log.checkpoint(),
        };
      case 'ReadTile':
      case 'ReadEntryBundle': {
        const tile = parseTilePath(request.path);
        const bytes =
          tile === undefined
            ? undefined
            : tile.level === 'entries'
              ? this.log.entryBundle(tile.index, tile.width)
              : this.log.tile(tile.level, tile.index, tile.width);
        if (!bytes) return noSuchKey();
        if (corrupt) {
          const at = tile?.level === 'entries' ? 1 + bytes.readUInt16BE(0) : 0;
          bytes[at] = (bytes[at] as number) ^ 0x01;
        }
        return { status: 200, headers: { 'content-type': 'application/octet-stream' }, body: bytes };
      }
      case 'GetCheckpoint':
      case 'GetTile':
      case 'GetEntryBundle':
        return gatewayError(501, `method ${operation} not implemented`);
      case 'Health':
        return { status: 200, body: { status: 'SERVING' } };
      default:
        if (request.path.startsWith('/api/')) {
          // grpc-gateway: a known path with another method is 501, anything else 404.
          return request.path === ENTRIES ? gatewayError(501, 'Method Not Allowed') : gatewayError(404, 'Not Found');
        }
        return noSuchKey();
    }
  }

  private createEntry(body: Buffer): EmulatorResponse {
    if (body.length > MAX_REQUEST_BODY) return gatewayError(400, 'http: request body too large');
    let request: JsonObject;
    try {
      request = decodeRequest(body, CREATE_ENTRY_REQUEST);
    } catch (error) {
      if (error instanceof RequestDecodeError) return gatewayError(400, error.message);
      throw error;
    }
    const hashedRekord = request.hashedRekordRequestV002 as JsonObject | undefined;
    if (!hashedRekord) return gatewayError(400, 'invalid type, must be hashedrekord');
    let entry: Buffer;
    try {
      entry = hashedRekordEntry(hashedRekord);
    } catch (error) {
      if (!(error instanceof HashedRekordRefusal)) throw error;
      this.serverLog.push({ message: 'failed validating hashedrekord request', error: error.message });
      return gatewayError(400, 'invalid hashedrekord request');
    }
    if (entry.length > MAX_ENTRY) {
      this.serverLog.push({
        message: 'failed to integrate entry',
        error: `add entry: await: entry data too large (${entry.length} > ${MAX_ENTRY})`,
      });
      return gatewayError(500, 'failed to integrate entry');
    }
    const existing = this.log.indexOf(entry);
    if (existing !== undefined) {
      return {
        ...gatewayError(409, `an equivalent entry already exists in the transparency log with index ${existing}`),
        headers: { 'x-log-index': String(existing) },
      };
    }
    const index = this.log.append(entry);
    return { status: 201, body: this.transparencyLogEntry(index) };
  }

  /**
   * The TransparencyLogEntry rekor-tiles answers, in the gateway's JSON: protojson with
   * EmitUnpopulated, so the fields a v2 entry leaves empty are there too, in the proto's order.
   */
  private transparencyLogEntry(index: number): object {
    const size = this.log.size;
    const json = TransparencyLogEntry.toJSON({
      logIndex: String(index),
      logId: { keyId: this.log.logId },
      kindVersion: { kind: 'hashedrekord', version: '0.0.2' },
      integratedTime: '0',
      inclusionPromise: undefined,
      inclusionProof: {
        logIndex: String(index),
        rootHash: this.log.rootHash(size),
        treeSize: String(size),
        hashes: this.log.inclusionProof(index, size),
        checkpoint: { envelope: this.log.checkpoint(size) },
      },
      canonicalizedBody: this.log.at(index) as Buffer,
    }) as Record<string, unknown> & { inclusionProof: Record<string, unknown> };
    const proof = json.inclusionProof;
    return {
      logIndex: json.logIndex ?? '0',
      logId: json.logId,
      kindVersion: json.kindVersion,
      integratedTime: '0',
      inclusionPromise: null,
      inclusionProof: {
        logIndex: proof.logIndex ?? '0',
        rootHash: proof.rootHash,
        treeSize: proof.treeSize,
        hashes: proof.hashes ?? [],
        checkpoint: proof.checkpoint,
      },
      canonicalizedBody: json.canonicalizedBody,
    };
  }
}

/** An error as grpc-gateway answers it (runtime.DefaultHTTPErrorHandler with EmitUnpopulated). */
function gatewayError(status: number, message: string): EmulatorResponse {
  return { status, body: { code: GRPC_CODE[status] ?? 2, message, details: [] } };
}

/** The storage bucket's answer for an object it does not have. */
function noSuchKey(): EmulatorResponse {
  return {
    status: 404,
    headers: { 'content-type': 'application/xml; charset=UTF-8' },
    body: "<?xml version='1.0' encoding='UTF-8'?><Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>",
  };
}

/** The checkpoint with one bit of its root hash flipped, under the original signature. */
function corruptCheckpoint(checkpoint: string): string {
  const lines = checkpoint.split('\n');
  const root = Buffer.from(lines[2] ?? '', 'base64');
  root[0] = (root[0] ?? 0) ^ 0x01;
  lines[2] = root.toString('base64');
  return lines.join('\n');
}
