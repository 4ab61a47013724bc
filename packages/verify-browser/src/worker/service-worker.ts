import { hex, sha } from '../encoding.js';
import { ManifestError } from '../errors.js';
import { type ManifestPolicy, type VerifiedManifest, verifyManifest } from '../verify.js';

/*
 * The service worker the Vite and webpack plugins emit (/signet-sw.js; its configuration, keys
 * included, is written at its top and the file is itself a signed subject):
 *
 *   install    fetch the manifest (no cache), verify it; keep it in Cache Storage. A manifest
 *              that does not verify, or is older than the one held, fails the install.
 *   fetch      for a same-origin GET whose path is a signed file, or whose destination is a
 *              document, script, style, worker or font (API prefixes configured as pass-through
 *              excepted): fetch it, hash the body, and answer only if its SHA-256 is the
 *              manifest's for that path. Otherwise fetch the manifest again (a new deploy?),
 *              adopt it if it verifies and is not older, and judge again; then block (enforce)
 *              or let through (report), and report it to the page and the report URL.
 */

interface WorkerConfig {
  manifest: string;
  base: string;
  mode: 'enforce' | 'report';
  passThrough: string[];
  reportUrl?: string;
  policy: ManifestPolicy;
}

interface FetchEvent extends Event {
  request: Request;
  clientId: string;
  resultingClientId: string;
  respondWith(response: Promise<Response> | Response): void;
  waitUntil(promise: Promise<unknown>): void;
}
interface WorkerClient {
  id: string;
  type: string;
  postMessage(message: unknown): void;
}
interface WorkerScope {
  SIGNET_CONFIG: WorkerConfig;
  location: Location;
  clients: { claim(): Promise<void>; matchAll(options: object): Promise<WorkerClient[]> };
  skipWaiting(): Promise<void>;
  addEventListener(type: string, listener: (event: FetchEvent) => void): void;
}

const scope = self as unknown as WorkerScope;
const config = scope.SIGNET_CONFIG;
// Whatever runs or renders as the site: pages (also in <object> and <embed>), scripts and worklets, styles, fonts.
const CHECKED_DESTINATIONS = new Set([
  'document',
  'iframe',
  'frame',
  'object',
  'embed',
  'script',
  'worker',
  'sharedworker',
  'audioworklet',
  'paintworklet',
  'style',
  'font',
]);
const CACHE = 'signet';
const HELD = new URL('/__signet/held-manifest', scope.location.origin).href;

/**
 * Bodies this worker verified, by path and digest, kept while it runs (bounded): a warm reload
 * is answered from them without fetching and hashing again. Documents are never kept, so a
 * navigation always reaches the server and shows a new deploy (a new manifest).
 */
const verified = new Map<string, { body: ArrayBuffer; status: number; statusText: string; headers: [string, string][] }>();
let verifiedBytes = 0;
const VERIFIED_BYTES_LIMIT = 32 * 1024 * 1024;
const DOCUMENTS = new Set(['document', 'iframe', 'frame']);

function keep(key: string, body: ArrayBuffer, response: Response): void {
  if (body.byteLength > VERIFIED_BYTES_LIMIT / 8) return;
  verified.set(key, { body, status: response.status, statusText: response.statusText, headers: [...response.headers] });
  verifiedBytes += body.byteLength;
  for (const [oldest, entry] of verified) {
    if (verifiedBytes <= VERIFIED_BYTES_LIMIT) break;
    verified.delete(oldest);
    verifiedBytes -= entry.body.byteLength;
  }
}

interface Held {
  manifest: VerifiedManifest;
  digest: string;
}

let held: Promise<Held | undefined> | undefined;
/** The manifest held, once loaded: the fetch handler answers kept bodies without waiting on anything. */
let heldNow: Held | undefined;
let refreshing: Promise<Held | undefined> | undefined;
/** When the last fetch of the manifest ended: a refusal after it needs no new one. */
let refreshedAt = 0;

class Refusal extends Error {
  constructor(
    readonly reason: 'modified' | 'unknown' | 'missing' | 'rollback' | 'manifest',
    message: string,
  ) {
    super(message);
  }
}

/** The manifest held: from Cache Storage (verified again: keys may have changed with the worker), or fetched. */
function current(): Promise<Held | undefined> {
  held ??= (async () => {
    const cache = await caches.open(CACHE);
    const stored = await cache.match(HELD);
    if (stored) {
      const text = await stored.text();
      try {
        heldNow = { manifest: await verifyManifest(text, config.policy), digest: hex(await sha(256, new TextEncoder().encode(text))) };
        return heldNow;
      } catch {
        await cache.delete(HELD);
      }
    }
    return refresh(undefined);
  })();
  return held;
}

/** Fetches the manifest and adopts it when it verifies and is not older than `than`; else keeps `than` (or throws when there is none). */
function refresh(than: Held | undefined): Promise<Held | undefined> {
  refreshing ??= (async () => {
    const response = await fetch(new URL(config.manifest, scope.location.origin).href, { cache: 'no-store' });
    if (!response.ok) throw new Refusal('manifest', `the signed manifest could not be fetched (HTTP ${response.status})`);
    const text = await response.text();
    let manifest: VerifiedManifest;
    try {
      manifest = await verifyManifest(text, config.policy);
    } catch (error) {
      throw new Refusal(
        'manifest',
        `the signed manifest does not verify: ${error instanceof ManifestError ? `${error.code}: ${error.message}` : String(error)}`,
      );
    }
    if (!manifest.createdAt)
      throw new Refusal('manifest', 'the signed manifest does not say when it was signed (createdAt), so a rollback could not be told');
    if (than?.manifest.createdAt && manifest.createdAt < than.manifest.createdAt) {
      throw new Refusal(
        'rollback',
        `the server's manifest was signed at ${manifest.createdAt}, before the one this browser holds (${than.manifest.createdAt}): refusing the rollback`,
      );
    }
    const next = { manifest, digest: hex(await sha(256, new TextEncoder().encode(text))) };
    if (next.digest !== than?.digest) {
      const cache = await caches.open(CACHE);
      await cache.put(HELD, new Response(text, { headers: { 'content-type': 'application/json' } }));
    }
    held = Promise.resolve(next);
    heldNow = next;
    return next;
  })().finally(() => {
    refreshing = undefined;
    refreshedAt = Date.now();
  });
  return refreshing;
}

scope.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const before = await current().catch(() => undefined);
      await refresh(before);
      await scope.skipWaiting();
    })(),
  );
});

scope.addEventListener('activate', (event) => {
  event.waitUntil(scope.clients.claim());
});

/** The manifest's name for a URL path under the base: decoded, and a folder's index.html. */
function subjectPath(pathname: string): string | undefined {
  if (!pathname.startsWith(config.base)) return undefined;
  let name: string;
  try {
    name = decodeURIComponent(pathname.slice(config.base.length));
  } catch {
    return undefined;
  }
  return name === '' || name.endsWith('/') ? `${name}index.html` : name;
}

scope.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== scope.location.origin) return;
  if (url.pathname === new URL(config.manifest, url.origin).pathname) return;
  // Pass-through is for an API's data: a page, script or style under its prefix is checked like any other.
  if (!CHECKED_DESTINATIONS.has(request.destination) && config.passThrough.some((prefix) => url.pathname.startsWith(prefix))) return;
  const path = subjectPath(url.pathname);
  const expected = path === undefined ? undefined : heldNow?.manifest.files.get(path);
  const kept = expected === undefined || request.headers.has('range') ? undefined : verified.get(`${path}@${expected}`);
  // A body this worker verified for this path and digest: answered at once (the Response copies it).
  if (kept) event.respondWith(new Response(kept.body, { status: kept.status, statusText: kept.statusText, headers: kept.headers }));
  else event.respondWith(answer(event, path));
});

async function answer(event: FetchEvent, path: string | undefined): Promise<Response> {
  const request = event.request;
  let manifest: Held | undefined;
  try {
    manifest = await current();
  } catch (error) {
    held = undefined;
    return refuse(event, path, error instanceof Refusal ? error : new Refusal('manifest', String(error)));
  }
  const checked = (path !== undefined && manifest?.manifest.files.has(path)) || CHECKED_DESTINATIONS.has(request.destination);
  if (!checked || !manifest) return fetch(request);
  const started = Date.now();
  // The whole body is needed to hash it; a range is fetched whole, checked, and answered whole.
  // The worker judges the bytes itself: a request's own integrity (from the import map, or a
  // tag's) is checked by the browser on the worker's answer, after this check.
  const response = await fetch(
    request.integrity || request.headers.has('range')
      ? new Request(request, { integrity: '', headers: withoutRange(request.headers) })
      : request,
  );
  if (response.type === 'opaqueredirect') return response;
  const body = await response.arrayBuffer();
  const digest = hex(await sha(256, new Uint8Array(body)));
  let refusal = judge(manifest, path, digest, response.status);
  if (refusal && (refreshing !== undefined || refreshedAt < started)) {
    // A new deploy looks like this too: fetch the manifest again (once for the responses that
    // arrived meanwhile), and judge against it.
    try {
      manifest = await refresh(manifest);
      refusal = manifest ? judge(manifest, path, digest, response.status) : refusal;
    } catch (error) {
      refusal = error instanceof Refusal ? error : refusal;
    }
  }
  if (refusal) {
    const blocked = await refuse(event, path, refusal);
    if (config.mode === 'enforce') return blocked;
  } else if (response.status === 200 && !DOCUMENTS.has(request.destination) && path !== undefined && !request.headers.has('range'))
    keep(`${path}@${digest}`, body, response);
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
}

function judge(held: Held, path: string | undefined, digest: string, status: number): Refusal | undefined {
  const expected = path === undefined ? undefined : held.manifest.files.get(path);
  if (expected === undefined) return new Refusal('unknown', `${path ?? 'this path'} is not a file of the signed build`);
  if (expected === digest) return undefined;
  if (status === 404 || status === 410)
    return new Refusal('missing', `${path} is a file of the signed build, and the server does not have it (HTTP ${status})`);
  return new Refusal('modified', `${path} is not the file the build signed (its sha256 is ${digest}, the manifest's is ${expected})`);
}

async function refuse(event: FetchEvent, path: string | undefined, refusal: Refusal): Promise<Response> {
  const request = event.request;
  const message = {
    type: 'signet:blocked',
    url: request.url,
    path: path ?? '',
    destination: request.destination,
    reason: refusal.reason,
    message: refusal.message,
    mode: config.mode,
  };
  const clients = await scope.clients.matchAll({ type: 'window', includeUncontrolled: true });
  const own = clients.filter((client) => client.id === event.clientId);
  for (const client of own.length > 0 ? own : clients) client.postMessage(message);
  if (config.reportUrl) {
    fetch(config.reportUrl, {
      method: 'POST',
      body: JSON.stringify(message),
      headers: { 'content-type': 'application/json' },
      keepalive: true,
    }).catch(() => undefined);
  }
  if (request.destination === 'document' || request.destination === 'iframe' || request.destination === 'frame') {
    const text = refusal.message.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
    return new Response(
      `<!doctype html><meta charset="utf-8"><title>Blocked by Signet</title><h1>Blocked by Signet</h1><p id="signet-reason" data-reason="${refusal.reason}">${text}</p>`,
      { status: 409, headers: { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': "default-src 'none'" } },
    );
  }
  return Response.error();
}

function withoutRange(headers: Headers): Headers {
  const copy = new Headers(headers);
  copy.delete('range');
  return copy;
}
