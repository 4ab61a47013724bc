// The Sigstore TUF CDN (tuf-repo-cdn.sigstore.dev) as the real npm CLI reaches it, served from
// the local Sigstore stack's TUF repository. `npm audit signatures` always refreshes Sigstore's
// TUF metadata from that fixed address, and verifies provenance against the trusted root it
// holds; npm reaches it through an HTTPS proxy (https_proxy), so a local proxy that answers
// CONNECT to that one host with a certificate from a throw-away CA (NODE_EXTRA_CA_CERTS) gives
// the real CLI the local stack's trust, without any other traffic leaving 127.0.0.1.
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createTestTls } from '../azure-keyvault/tls';

export const SIGSTORE_TUF_HOST = 'tuf-repo-cdn.sigstore.dev';

export interface SigstoreCdn {
  /** The proxy's URL (http://127.0.0.1:PORT). */
  proxyUrl: string;
  /** What the npm process needs in its environment: https_proxy, no_proxy, NODE_EXTRA_CA_CERTS. */
  env: Record<string, string>;
  /** Requests the proxy refused (any host but the TUF CDN): a test can assert there were none. */
  refused: string[];
  /**
   * Makes the npm cache at CACHE (npm_config_cache) trust the local repository's root.json as
   * Sigstore's TUF root, as a client of a private Sigstore deployment is set up (npm's built-in
   * seed is public-good's root, which the local repository cannot extend).
   */
  trustIn(cache: string): void;
  stop(): Promise<void>;
}

/** Starts the proxy in front of the TUF repository at `tufUrl` (the stack's `tuf.url`), whose initial root is `rootJson`. */
export async function startSigstoreCdn(tufUrl: string, rootJson: string): Promise<SigstoreCdn> {
  const tls = await createTestTls([SIGSTORE_TUF_HOST]);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-sigstore-cdn-'));
  const caFile = path.join(dir, 'ca.pem');
  fs.writeFileSync(caFile, tls.caPem);
  const refused: string[] = [];

  // The CDN itself: every GET is the TUF repository's answer for the same path.
  const cdn = https.createServer({ cert: tls.certPem, key: tls.keyPem }, async (req, res) => {
    try {
      // The repository is served at the root of its emulator, as the CDN serves it.
      const upstream = await fetch(new URL(req.url ?? '/', tufUrl));
      const body = Buffer.from(await upstream.arrayBuffer());
      res.writeHead(upstream.status, {
        'content-type': upstream.headers.get('content-type') ?? 'application/octet-stream',
        'content-length': body.length,
      });
      res.end(body);
    } catch (error) {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(String(error));
    }
  });
  const proxy = http.createServer((req, res) => {
    refused.push(`${req.method} ${req.url}`);
    res.writeHead(403, { 'content-type': 'text/plain' });
    res.end('this proxy only reaches the Sigstore TUF CDN');
  });
  proxy.on('connect', (req, socket) => {
    if (req.url !== `${SIGSTORE_TUF_HOST}:443`) {
      refused.push(`CONNECT ${req.url}`);
      socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    cdn.emit('connection', socket);
  });
  await new Promise<void>((resolve, reject) => {
    proxy.once('error', reject);
    proxy.listen(0, '127.0.0.1', () => resolve());
  });
  const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  return {
    proxyUrl,
    env: {
      https_proxy: proxyUrl,
      HTTPS_PROXY: proxyUrl,
      no_proxy: '127.0.0.1,localhost',
      NO_PROXY: '127.0.0.1,localhost',
      NODE_EXTRA_CA_CERTS: caFile,
    },
    refused,
    trustIn(cache) {
      // @sigstore/tuf's cache layout: <cache>/_tuf/<host>/root.json, where npm keeps its TUF metadata.
      const dir = path.join(cache, '_tuf', SIGSTORE_TUF_HOST);
      fs.mkdirSync(path.join(dir, 'targets'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'root.json'), rootJson);
    },
    async stop() {
      proxy.closeAllConnections();
      cdn.closeAllConnections();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
