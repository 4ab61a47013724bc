// A static server for a signed build on 127.0.0.1, with the switches an attacker between the
// origin and the browser (a CDN, a cache, an edge) has: change a file, add one, delete one, or
// serve an older deployment. It sends the headers the build wrote for the server, answers the
// fixture's API, and records the reports the service worker POSTs.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.txt': 'text/plain; charset=utf-8',
};

export interface Report {
  reason: string;
  path: string;
  url: string;
  message: string;
  mode?: string;
}

export class SiteServer {
  private server?: http.Server;
  private readonly overrides = new Map<string, Buffer | null>();
  private root: string;
  readonly reports: Report[] = [];
  /** Headers from the build's `.well-known/signet/headers.txt`, sent with every page. */
  headers: Record<string, string> = {};

  constructor(root: string) {
    this.root = root;
    this.headers = readHeaders(root);
  }

  /** Serves `root` (another deployment, with its own headers) from now on; the switches stay. */
  serve(root: string): void {
    this.root = root;
    this.headers = readHeaders(root);
  }

  /** The file at `name` (posix, relative to the root) is served with these bytes instead. */
  modify(name: string, data: string | Buffer): void {
    this.overrides.set(name, Buffer.from(data));
  }

  add(name: string, data: string | Buffer): void {
    this.overrides.set(name, Buffer.from(data));
  }

  remove(name: string): void {
    this.overrides.set(name, null);
  }

  reset(root?: string): void {
    this.overrides.clear();
    this.reports.length = 0;
    if (root) this.serve(root);
  }

  async start(): Promise<string> {
    this.server = http.createServer((request, response) => this.handle(request, response));
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  private handle(request: http.IncomingMessage, response: http.ServerResponse): void {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    if (url.pathname === '/api/hello') {
      response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end('{"hello":"world"}');
      return;
    }
    if (url.pathname === '/api/signet-report' && request.method === 'POST') {
      let body = '';
      request.on('data', (chunk) => {
        body += chunk;
      });
      request.on('end', () => {
        this.reports.push(JSON.parse(body) as Report);
        response.writeHead(204).end();
      });
      return;
    }
    let name = decodeURIComponent(url.pathname.slice(1));
    if (name === '' || name.endsWith('/')) name += 'index.html';
    let data: Buffer | null | undefined = this.overrides.get(name);
    if (data === undefined) {
      const file = path.join(this.root, name);
      data = file.startsWith(this.root) && fs.existsSync(file) && fs.statSync(file).isFile() ? fs.readFileSync(file) : null;
    }
    if (data === null) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    const headers: Record<string, string> = {
      'content-type': TYPES[path.extname(name)] ?? 'application/octet-stream',
      // Revalidated every time, so that a change on the server (the attack) reaches the browser.
      'cache-control': 'no-cache',
    };
    if (name.endsWith('.html')) Object.assign(headers, this.headers);
    response.writeHead(200, headers).end(data);
  }
}

function readHeaders(root: string): Record<string, string> {
  const file = path.join(root, '.well-known/signet/headers.txt');
  if (!fs.existsSync(file)) return {};
  const headers: Record<string, string> = {};
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const match = /^([A-Za-z-]+): (.+)$/.exec(line);
    if (match) headers[(match[1] as string).toLowerCase()] = match[2] as string;
  }
  return headers;
}
