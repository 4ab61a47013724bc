import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Fault, FaultPlan, type LoggedRequest, redactHeaders } from './faults';

/** What an emulator's handler answers. */
export interface EmulatorResponse {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

export interface EmulatorRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  /** The raw body, for signature checks (SigV4 signs the exact bytes). */
  rawBody: Buffer;
  /** The body parsed as JSON when it is JSON, else undefined. */
  json: unknown;
}

/**
 * An HTTP service on 127.0.0.1 with an ephemeral port, a request log and fault injection.
 * Each emulator names the operation a request is (for the log and for targeted faults),
 * turns a generic fault into its service's own error format, and handles the rest.
 */
export abstract class HttpEmulator {
  readonly faults = new FaultPlan();
  readonly requests: LoggedRequest[] = [];
  private server?: http.Server;
  private readonly sockets = new Set<Socket>();
  /** TCP connections accepted since start: shows whether clients reuse connections. */
  connections = 0;
  /** Aborted by stop(), so an injected latency never outlives the emulator. */
  private lifetime = new AbortController();

  /** The service name, for logs: "AWS KMS", … */
  abstract readonly service: string;

  /** Which operation this request is: "Sign", "GetPublicKey", … */
  protected abstract operationOf(request: EmulatorRequest): string;

  /** The service's own error response for an injected status or throttling fault. */
  protected abstract faultResponse(fault: Exclude<Fault, { kind: 'latency' | 'drop' }>, operation: string): EmulatorResponse;

  /**
   * The real work. `fault` is a queued fault only the handler can apply: 'corrupt' (answer,
   * but damaged) or 'custom' (a service-specific misbehaviour); the others are applied
   * before the handler runs.
   */
  protected abstract handle(
    request: EmulatorRequest,
    operation: string,
    fault?: Extract<Fault, { kind: 'corrupt' | 'custom' }>,
  ): Promise<EmulatorResponse>;

  /** Starts listening on 127.0.0.1; resolves to the base URL. */
  async start(port = 0): Promise<string> {
    this.server = http.createServer((req, res) => {
      this.dispatch(req, res).catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`emulator error: ${(error as Error).message}`);
      });
    });
    // Clients keep connections alive between calls; the server must not close one idle
    // socket just as a client reuses it (ECONNRESET under load), so idle sockets live on.
    this.server.keepAliveTimeout = 60_000;
    this.server.on('connection', (socket) => {
      this.connections += 1;
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => this.server?.listen(port, '127.0.0.1', resolve));
    return this.url;
  }

  get url(): string {
    const address = this.server?.address() as AddressInfo | null;
    if (!address) throw new Error(`${this.service} emulator is not started`);
    return `http://127.0.0.1:${address.port}`;
  }

  get port(): number {
    const address = this.server?.address() as AddressInfo | null;
    if (!address) throw new Error(`${this.service} emulator is not started`);
    return address.port;
  }

  /** Stops listening and cuts open connections (a dead service, for tests). */
  async stop(): Promise<void> {
    this.lifetime.abort();
    this.lifetime = new AbortController();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = undefined;
  }

  /** Log entries for one operation. */
  calls(operation: string): LoggedRequest[] {
    return this.requests.filter((r) => r.operation === operation);
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const rawBody = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    let json: unknown;
    try {
      json = rawBody.length > 0 ? JSON.parse(rawBody.toString('utf8')) : undefined;
    } catch {
      json = undefined;
    }
    const request: EmulatorRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      rawBody,
      json,
    };
    const operation = this.operationOf(request);
    const fault = this.faults.take(operation);
    // Logged as it arrives, so that a request a latency fault holds back is counted where it was
    // made, not seconds later inside whatever test runs then.
    const entry: LoggedRequest = {
      operation,
      method: request.method,
      path: request.path,
      query: url.search,
      headers: redactHeaders(req.headers),
      body: json,
      status: undefined,
      fault: fault?.kind,
      at: Date.now(),
    };
    this.requests.push(entry);
    const log = (status: number) => {
      entry.status = status;
    };

    if (fault?.kind === 'drop') {
      log(0);
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'latency') {
      const stopped = await sleep(fault.ms, false, { signal: this.lifetime.signal }).catch(() => true);
      if (stopped) return;
    }
    const response =
      fault && fault.kind !== 'latency' && fault.kind !== 'custom' && fault.kind !== 'corrupt'
        ? this.faultResponse(fault, operation)
        : await this.handle(request, operation, fault?.kind === 'corrupt' || fault?.kind === 'custom' ? fault : undefined);
    log(response.status);
    const body =
      response.body === undefined
        ? ''
        : Buffer.isBuffer(response.body) || typeof response.body === 'string'
          ? response.body
          : JSON.stringify(response.body);
    res.writeHead(response.status, { 'content-type': 'application/json', ...response.headers });
    res.end(body);
  }
}
