// A scriptable HTTP server on 127.0.0.1 for network tests: each test says how to answer and
// reads back what was asked (with which headers), and every connection is closed with it.
import http from 'node:http';
import type net from 'node:net';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

export interface LocalServer {
  /** http://127.0.0.1:PORT */
  url: string;
  port: number;
  requests: RecordedRequest[];
  /** Sockets the server saw closed (by the client giving up on an endless answer, say). */
  closedSockets(): number;
  close(): Promise<void>;
}

/** Starts a server answering with `handler`; close it in afterEach/afterAll. */
export async function serveHttp(handler: (request: http.IncomingMessage, response: http.ServerResponse) => void): Promise<LocalServer> {
  const requests: RecordedRequest[] = [];
  const sockets = new Set<net.Socket>();
  let closed = 0;
  const server = http.createServer((request, response) => {
    requests.push({ method: request.method ?? 'GET', url: request.url ?? '/', headers: request.headers });
    handler(request, response);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => {
      sockets.delete(socket);
      closed++;
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    closedSockets: () => closed,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Answers with an endless body, a chunk at a time, until the client hangs up. */
export function endlessBody(response: http.ServerResponse, headers: http.OutgoingHttpHeaders = {}): void {
  response.writeHead(200, { 'content-type': 'application/json', ...headers });
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  const write = () => {
    while (!response.destroyed && response.write(chunk)) {
      // keep writing while the socket takes it
    }
    if (!response.destroyed) response.once('drain', write);
  };
  response.on('close', () => response.removeAllListeners('drain'));
  write();
}
