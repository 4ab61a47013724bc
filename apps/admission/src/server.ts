import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { GatePolicy, TrustedRoot } from '@signet/core';
import { RegistryClient } from '@signet/oci';
import { parseDuration } from './duration';
import { type CheckedImage, ImageChecker } from './image-checker';
import {
  type AdmissionRequest,
  type AdmissionResponse,
  admissionReview,
  allowed,
  denied,
  objectName,
  type PodImage,
  parseAdmissionReview,
  pinningPatch,
  podImages,
} from './review';

/*
 * The webhook's HTTPS server. POST /mutate admits a pod whose images all verify and pins
 * their tags to the verified digests; POST /validate admits or denies only. Both deny a tag
 * that does not resolve to a signed digest. GET /healthz is the readiness probe.
 */

export interface AdmissionServerOptions {
  /** The gate policy (loadGatePolicy): its `kind: image` rules say who must have signed which images. */
  policy: GatePolicy;
  /** The serving certificate and key (PEM); the certificate's SAN is `SERVICE.NAMESPACE.svc`. */
  tls: { key: string | Buffer; cert: string | Buffer };
  /** Default: a RegistryClient with credentials from the Docker config and the environment. */
  client?: RegistryClient;
  trustedRoot?: () => Promise<TrustedRoot>;
  /**
   * How long one image may take to verify before it is denied as "timed out" (default 10 s).
   * Keep it under the webhook's timeoutSeconds, so the API server gets the reason rather than
   * a timeout of its own; a review whose ?timeout= is shorter is given that, less a second.
   */
  verifyTimeoutMs?: number;
  /** How long a verified digest is kept (default 60 s; 0 keeps none). Tags are resolved on every review. */
  cacheTtlMs?: number;
  /** Receives one object per review (default: a JSON line on stdout). Never given credentials. */
  log?: (line: object) => void;
}

export const DEFAULT_VERIFY_TIMEOUT_MS = 10_000;
/** The API server's own limit on a request body. */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;
/** What a review keeps of the API server's ?timeout= for answering after its images verified. */
const ANSWER_MARGIN_MS = 1_000;

type Endpoint = 'mutate' | 'validate';

export function createAdmissionServer(options: AdmissionServerOptions): https.Server {
  const verifyTimeoutMs = options.verifyTimeoutMs ?? DEFAULT_VERIFY_TIMEOUT_MS;
  const checker = new ImageChecker({
    policy: options.policy,
    // A verification that timed out goes on in the background: let its requests give up as soon.
    client: options.client ?? new RegistryClient({ timeoutMs: verifyTimeoutMs }),
    ...(options.trustedRoot ? { trustedRoot: options.trustedRoot } : {}),
    ...(options.cacheTtlMs !== undefined ? { cacheTtlMs: options.cacheTtlMs } : {}),
  });
  const log = options.log ?? ((line: object) => process.stdout.write(`${JSON.stringify(line)}\n`));

  const server = https.createServer({ key: options.tls.key, cert: options.tls.cert }, (req, res) => {
    handle(req, res).catch((error: unknown) => {
      // Reached only by a bug: the review paths turn every failure into an answer.
      log({ time: new Date().toISOString(), error: error instanceof Error ? error.message : String(error) });
      if (!res.headersSent) send(res, 500, { 'content-type': 'text/plain' }, 'internal error\n');
      else res.destroy();
    });
  });
  // The API server sends the whole review at once; a client that trickles it holds a socket for nothing.
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://webhook.invalid');
    const route = ROUTES.get(url.pathname);
    if (!route) return send(res, 404, { 'content-type': 'text/plain' }, `not found: try POST /mutate, POST /validate or GET /healthz\n`);
    if (req.method !== route.method) return send(res, 405, { allow: route.method, 'content-type': 'text/plain' }, `use ${route.method}\n`);
    if (route.endpoint === undefined) return send(res, 200, { 'content-type': 'text/plain' }, 'ok\n');

    const body = await readBody(req);
    if (body === ABORTED) return;
    if (body === TOO_LARGE) {
      return send(res, 413, { connection: 'close', 'content-type': 'text/plain' }, `the body is over ${MAX_BODY_BYTES} bytes\n`);
    }
    const started = Date.now();
    const parsed = parseAdmissionReview(body);
    if (!parsed.ok) {
      log({ time: new Date().toISOString(), endpoint: route.endpoint, uid: parsed.uid ?? null, allowed: false, error: parsed.message });
      // The API server reads an answer only from a 200: a review it sent (a uid) is denied in
      // one, so the reason reaches the user; a body that is no review at all is a 400.
      return sendReview(res, parsed.uid ? 200 : 400, denied(parsed.uid ?? '', 400, parsed.message));
    }
    const { request } = parsed;
    let images: PodImage[] | undefined;
    try {
      images = podImages(request);
    } catch (error) {
      const message = (error as Error).message;
      log({ ...describeRequest(route.endpoint, request), allowed: false, error: message });
      return sendReview(res, 200, denied(request.uid, 400, message));
    }
    const { response, verdicts } = await review(route.endpoint, request, images ?? [], reviewTimeout(url));
    log({
      ...describeRequest(route.endpoint, request),
      allowed: response.allowed,
      ...(images === undefined ? { skipped: 'not a pod or workload CREATE or UPDATE' } : {}),
      images: [...verdicts.values()].map(logVerdict),
      ms: Date.now() - started,
    });
    return sendReview(res, 200, response);
  }

  async function review(
    endpoint: Endpoint,
    request: AdmissionRequest,
    images: PodImage[],
    timeoutMs: number,
  ): Promise<{ response: AdmissionResponse; verdicts: Map<string, CheckedImage> }> {
    const verdicts = await checker.checkAll(
      images.map(({ image }) => image),
      timeoutMs,
    );
    const failed = [...verdicts.values()].filter((verdict) => !verdict.ok);
    if (failed.length > 0) {
      const message = failed.map(({ image, code, reason }) => `${image}: ${code ? `${code}: ` : ''}${reason}`).join('; ');
      return { response: denied(request.uid, 403, message), verdicts };
    }
    if (endpoint === 'validate') return { response: allowed(request.uid), verdicts };
    const pinned = new Map([...verdicts].flatMap(([image, { pinned }]) => (pinned ? [[image, pinned] as const] : [])));
    return { response: allowed(request.uid, pinningPatch(images, pinned)), verdicts };
  }

  /** The verify timeout, shortened to fit the API server's own (its ?timeout=10s) when that is shorter. */
  function reviewTimeout(url: URL): number {
    const given = parseDuration(url.searchParams.get('timeout') ?? '');
    if (given === undefined || given <= 0) return verifyTimeoutMs;
    return Math.min(verifyTimeoutMs, Math.max(given - ANSWER_MARGIN_MS, given / 2));
  }

  return server;
}

const ROUTES: ReadonlyMap<string, { method: string; endpoint?: Endpoint }> = new Map([
  ['/mutate', { method: 'POST', endpoint: 'mutate' as const }],
  ['/validate', { method: 'POST', endpoint: 'validate' as const }],
  ['/healthz', { method: 'GET' }],
]);

const TOO_LARGE = Symbol('too large');
const ABORTED = Symbol('aborted');

/**
 * The body as text; TOO_LARGE once it is over MAX_BODY_BYTES (the rest is dropped unread), or
 * ABORTED when the client went away.
 */
function readBody(req: IncomingMessage): Promise<string | typeof TOO_LARGE | typeof ABORTED> {
  if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) return Promise.resolve(TOO_LARGE);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) return void chunks.push(chunk);
      // Not req.destroy(): that would close the socket before the 413 is written.
      req.off('data', onData);
      resolve(TOO_LARGE);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.once('error', () => resolve(ABORTED));
  });
}

function send(res: ServerResponse, status: number, headers: Record<string, string>, body: string): void {
  res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function sendReview(res: ServerResponse, status: number, response: AdmissionResponse): void {
  send(res, status, { 'content-type': 'application/json' }, JSON.stringify(admissionReview(response)));
}

/** What a log line says about the request: never its userInfo or anything else the object carries. */
function describeRequest(endpoint: Endpoint, request: AdmissionRequest) {
  return {
    time: new Date().toISOString(),
    endpoint,
    uid: request.uid,
    operation: request.operation,
    namespace: request.namespace ?? null,
    kind: request.subResource ? `${request.kind.kind}/${request.subResource}` : request.kind.kind,
    name: objectName(request) ?? null,
  };
}

function logVerdict(verdict: CheckedImage) {
  const { image, ok, digest, pinned, rule, signer, reason, code, cached } = verdict;
  return { image, ok, digest, pinned, rule, signer, reason, code, cached };
}
