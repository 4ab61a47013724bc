import crypto from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { httpRequest, isConnectionError, readJson, SignetError, type SignetErrorCode } from '@signet/core';
import { type Credential, type CredentialSource, environmentCredentials } from './credentials';
import {
  checkedManifest,
  checkedReferrers,
  type Descriptor,
  type ImageIndex,
  type ImageManifest,
  MANIFEST_TYPES,
  OCI_INDEX,
} from './media-types';

/*
 * A small client of the OCI distribution spec v1.1: what signing and verifying images needs,
 * and no more. No well-kept npm library reads OCI 1.1 referrers today (see ../shared/OCI.md),
 * so this is our own, on core's httpRequest (redirects re-checked hop by hop, credentials only to
 * the registry, every read bounded). It authenticates as Docker does (Basic, or a Bearer token
 * from the realm the registry names), retries what is transient, checks the digest of every
 * manifest and blob it reads, and refuses to download more than a signature could need. (A
 * blob it only streams, copying a layer, is capped at its declared size and checked by the
 * registry it is uploaded to.)
 */

export interface RegistryClientOptions {
  /** Default: SIGNET_REGISTRY_USERNAME/PASSWORD for SIGNET_REGISTRY_HOST, then ~/.docker/config.json (see environmentCredentials). */
  credentials?: CredentialSource;
  /**
   * Registries spoken to over plain HTTP. Default: loopback only (localhost, 127.0.0.0/8, [::1]),
   * as Docker allows; everything else is HTTPS.
   */
  allowHttp?: (registry: string) => boolean;
  /** The largest manifest read (default 4 MiB, the limit registries themselves apply). */
  maxManifestBytes?: number;
  /** The largest blob read into memory: signatures, bundles, attestations (default 16 MiB). */
  maxBlobBytes?: number;
  /** Attempts per request on 429, 5xx and dropped connections (default 4). */
  attempts?: number;
  /** Per-request deadline (default 60 s). */
  timeoutMs?: number;
}

/** A repository on a registry. */
export interface Repository {
  registry: string;
  repository: string;
}

export interface FetchedManifest {
  bytes: Buffer;
  mediaType: string;
  digest: string;
  size: number;
  json: ImageManifest | ImageIndex;
}

const MiB = 1024 * 1024;
const CHUNK = 8 * MiB;
const RETRIED_STATUS = new Set([429, 500, 502, 503, 504]);
/** What a registry without the referrers API answers for it. */
const NO_REFERRERS_API = new Set([404, 400, 405, 406, 501]);
/** Pages of referrers read for one digest, at most (each up to maxManifestBytes). */
const MAX_REFERRER_PAGES = 20;
const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])(?::\d+)?$/;

type Body = Buffer | ReadableStream<Uint8Array>;

interface Request {
  method: string;
  /** A path under https://REGISTRY (starting /v2/), or an absolute URL the registry gave (an upload location). */
  url: string;
  headers?: Record<string, string>;
  body?: Body;
  /** The token scopes this request needs. */
  scopes: string[];
  /** What the request does, for messages: "read the manifest of ghcr.io/acme/app:1.0". */
  action: string;
  /** The largest body read from the answer (default: enough for an error or an empty answer). */
  maxBytes?: number;
  /** What the body is, for messages: "the manifest ghcr.io/acme/app:1.0". */
  what?: string;
}

interface AuthState {
  basic?: string;
  bearer: Map<string, string>;
}

interface Challenge {
  scheme: 'basic' | 'bearer';
  params: Record<string, string>;
}

/** How long a registry's answer about the referrers API is believed (a proxy's 404 must not outlive the proxy's bad day). */
const REFERRERS_SUPPORT_TTL_MS = 5 * 60_000;

export class RegistryClient {
  private readonly credentials: CredentialSource;
  private readonly allowHttp: (registry: string) => boolean;
  private readonly attempts: number;
  private readonly timeoutMs: number;
  private readonly maxManifestBytes: number;
  private readonly maxBlobBytes: number;
  private readonly auth = new Map<string, AuthState>();
  /** Per registry: whether it serves the referrers API, and until when that answer holds. */
  private readonly referrersSupport = new Map<string, { supported: boolean; until: number }>();
  /** Stops every request and every wait between retries (see withSignal). */
  private signal: AbortSignal | undefined;

  constructor(options: RegistryClientOptions = {}) {
    this.credentials = options.credentials ?? environmentCredentials();
    this.allowHttp = options.allowHttp ?? ((registry) => LOOPBACK.test(registry));
    this.attempts = Math.max(1, options.attempts ?? 4);
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.maxManifestBytes = options.maxManifestBytes ?? 4 * MiB;
    this.maxBlobBytes = options.maxBlobBytes ?? 16 * MiB;
  }

  /**
   * This client (its credentials, tokens and what it learnt of each registry, shared), whose
   * requests and waits between retries stop when `signal` aborts: work nobody waits for any
   * more, such as an admission review already answered as timed out, does not go on retrying.
   */
  withSignal(signal: AbortSignal): RegistryClient {
    // The same object underneath: the maps it fills are this client's own.
    const bound = Object.create(this) as RegistryClient;
    bound.signal = signal;
    return bound;
  }

  /** A manifest by tag or digest, checked against its digest; undefined when the registry has none. */
  async manifest(repo: Repository, reference: string): Promise<FetchedManifest | undefined> {
    const where = `${repo.registry}/${repo.repository}${reference.includes(':') ? '@' : ':'}${reference}`;
    const response = await this.send(repo, {
      method: 'GET',
      url: `/v2/${repo.repository}/manifests/${reference}`,
      headers: { accept: MANIFEST_TYPES.join(', ') },
      scopes: [pull(repo)],
      action: `read the manifest ${where}`,
      maxBytes: this.maxManifestBytes,
      what: `the manifest ${where}`,
    });
    if (response.status === 404) {
      await response.body?.cancel();
      return undefined;
    }
    await this.expect(response, [200], repo, `read the manifest ${where}`);
    const bytes = Buffer.from(await response.arrayBuffer());
    const digest = sha256(bytes);
    if (reference.startsWith('sha256:') && digest !== reference) {
      throw new SignetError({ code: 'E_SIGNATURE', message: `${repo.registry} answered ${where} with content whose digest is ${digest}` });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(bytes.toString('utf8'));
    } catch (cause) {
      throw new SignetError({ code: 'E_INPUT', message: `the manifest ${where} is not JSON`, cause });
    }
    const json = checkedManifest(parsed, `the manifest ${where}`);
    const mediaType = json.mediaType ?? response.headers.get('content-type')?.split(';')[0]?.trim() ?? '';
    return { bytes, mediaType, digest, size: bytes.length, json };
  }

  /** Pushes a manifest under a tag or its digest; returns its digest. */
  async putManifest(repo: Repository, reference: string, bytes: Buffer, mediaType: string): Promise<string> {
    const action = `push a manifest to ${repo.registry}/${repo.repository}`;
    const response = await this.send(repo, {
      method: 'PUT',
      url: `/v2/${repo.repository}/manifests/${reference}`,
      headers: { 'content-type': mediaType },
      body: bytes,
      scopes: [push(repo)],
      action,
    });
    await this.expect(response, [201, 200], repo, action);
    await response.body?.cancel();
    return sha256(bytes);
  }

  /** A blob read whole (capped at maxBlobBytes) and checked against its digest. */
  async blob(repo: Repository, digest: string, what = `the blob ${digest}`): Promise<Buffer> {
    const response = await this.openBlob(repo, digest, this.maxBlobBytes, what);
    const bytes = Buffer.from(await response.arrayBuffer());
    if (sha256(bytes) !== digest) {
      throw new SignetError({ code: 'E_SIGNATURE', message: `${what} from ${repo.registry} does not match its digest ${digest}` });
    }
    return bytes;
  }

  /** A blob as a stream of at most `maxBytes` (its descriptor's size, copying a layer of any size). */
  async openBlob(repo: Repository, digest: string, maxBytes: number, what = `the blob ${digest}`): Promise<Response> {
    const action = `read ${what} from ${repo.registry}/${repo.repository}`;
    const response = await this.send(repo, {
      method: 'GET',
      url: `/v2/${repo.repository}/blobs/${digest}`,
      scopes: [pull(repo)],
      action,
      maxBytes,
      what,
    });
    await this.expect(response, [200], repo, action);
    return response;
  }

  async hasBlob(repo: Repository, digest: string): Promise<boolean> {
    const action = `look for ${digest} in ${repo.registry}/${repo.repository}`;
    const response = await this.send(repo, { method: 'HEAD', url: `/v2/${repo.repository}/blobs/${digest}`, scopes: [pull(repo)], action });
    await response.body?.cancel();
    if (response.status === 404) return false;
    await this.expect(response, [200], repo, action);
    return true;
  }

  /**
   * Uploads a blob unless the repository has it: POST opens the upload, PATCH sends chunks of
   * a large blob, PUT with the digest completes it. (A single POST with ?digest= is accepted
   * and left incomplete by some registries, Debian's among them.)
   */
  async pushBlob(repo: Repository, bytes: Buffer): Promise<string> {
    const digest = sha256(bytes);
    if (await this.hasBlob(repo, digest)) return digest;
    let location = await this.startUpload(repo);
    const action = `upload ${digest} to ${repo.registry}/${repo.repository}`;
    let offset = 0;
    while (bytes.length - offset > CHUNK) {
      const chunk = bytes.subarray(offset, offset + CHUNK);
      const response = await this.send(repo, {
        method: 'PATCH',
        url: location,
        headers: {
          'content-type': 'application/octet-stream',
          'content-range': `${offset}-${offset + chunk.length - 1}`,
          'content-length': String(chunk.length),
        },
        body: chunk,
        scopes: [push(repo)],
        action,
      });
      await this.expect(response, [202], repo, action);
      await response.body?.cancel();
      location = response.headers.get('location') ?? location;
      offset += chunk.length;
    }
    await this.finishUpload(repo, location, digest, bytes.subarray(offset), action);
    return digest;
  }

  /** Uploads a blob from a stream of known size and digest (copying a layer). */
  async pushBlobStream(repo: Repository, digest: string, size: number, body: ReadableStream<Uint8Array>): Promise<void> {
    const location = await this.startUpload(repo);
    await this.finishUpload(repo, location, digest, body, `upload ${digest} to ${repo.registry}/${repo.repository}`, size);
  }

  /** Mounts a blob from another repository of the same registry; false when the registry would rather have it uploaded. */
  async mountBlob(repo: Repository, digest: string, from: string): Promise<boolean> {
    const action = `mount ${digest} into ${repo.registry}/${repo.repository}`;
    const response = await this.send(repo, {
      method: 'POST',
      url: `/v2/${repo.repository}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`,
      scopes: [push(repo), `repository:${from}:pull`],
      action,
    });
    await response.body?.cancel();
    if (response.status === 201) return true;
    await this.expect(response, [202], repo, action);
    return false;
  }

  /**
   * The referrers of a digest through the referrers API, every page; undefined when the
   * registry has no such API. Only a 200 says it has: some registries send OCI-Subject on a
   * manifest push without serving the API (ECR), so the API itself is asked.
   */
  async referrers(repo: Repository, digest: string): Promise<Descriptor[] | undefined> {
    const known = this.referrersSupport.get(repo.registry);
    if (known && !known.supported && known.until > Date.now()) return undefined;
    const action = `list the referrers of ${repo.registry}/${repo.repository}@${digest}`;
    const found: Descriptor[] = [];
    let url: string | undefined = `/v2/${repo.repository}/referrers/${digest}`;
    for (let page = 0; url; page++) {
      if (page === MAX_REFERRER_PAGES) {
        throw new SignetError({
          code: 'E_INPUT',
          message: `${repo.registry} listed more than ${MAX_REFERRER_PAGES} pages of referrers for ${digest}; refusing to read on`,
        });
      }
      const response = await this.send(repo, {
        method: 'GET',
        url,
        headers: { accept: OCI_INDEX },
        scopes: [pull(repo)],
        action,
        maxBytes: this.maxManifestBytes,
        what: `the referrers of ${digest}`,
      });
      if (page === 0 && NO_REFERRERS_API.has(response.status)) {
        const body = Buffer.from(await response.arrayBuffer().catch(() => new ArrayBuffer(0)));
        // A 404 naming the repository (NAME_UNKNOWN) is about the repository, not the API.
        if (!body.toString('utf8').includes('NAME_UNKNOWN')) {
          this.referrersSupport.set(repo.registry, { supported: false, until: Date.now() + REFERRERS_SUPPORT_TTL_MS });
        }
        return undefined;
      }
      await this.expect(response, [200], repo, action);
      const what = `${repo.registry}'s list of the referrers of ${digest}`;
      found.push(...checkedReferrers(await readJson(response, what, 'E_INPUT'), what));
      url = nextLink(response.headers.get('link'));
    }
    this.referrersSupport.set(repo.registry, { supported: true, until: Date.now() + REFERRERS_SUPPORT_TTL_MS });
    return found;
  }

  private async startUpload(repo: Repository): Promise<string> {
    const action = `start an upload to ${repo.registry}/${repo.repository}`;
    const response = await this.send(repo, { method: 'POST', url: `/v2/${repo.repository}/blobs/uploads/`, scopes: [push(repo)], action });
    await this.expect(response, [202], repo, action);
    await response.body?.cancel();
    const location = response.headers.get('location');
    if (!location) throw new SignetError({ code: 'E_PROVIDER', message: `${repo.registry} opened an upload without a Location` });
    return location;
  }

  private async finishUpload(repo: Repository, location: string, digest: string, body: Body, action: string, size?: number): Promise<void> {
    const url = `${location}${location.includes('?') ? '&' : '?'}digest=${encodeURIComponent(digest)}`;
    const length = size ?? (body as Buffer).length;
    const response = await this.send(repo, {
      method: 'PUT',
      url,
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(length) },
      body,
      scopes: [push(repo)],
      action,
    });
    await this.expect(response, [201], repo, action);
    await response.body?.cancel();
  }

  /** One request: authenticated on the registry's challenge, retried on what is transient. */
  private async send(repo: Repository, request: Request): Promise<Response> {
    const base = new URL(`${this.allowHttp(repo.registry) ? 'http' : 'https'}://${apiHost(repo.registry)}`);
    const target = new URL(request.url, base);
    this.assertSecure(target, repo.registry);
    const url = target.toString();
    const retriable = !(request.body instanceof ReadableStream);
    let authenticated = false;
    for (let attempt = 1; ; attempt++) {
      this.assertWanted(request.action);
      const headers: Record<string, string> = { 'user-agent': 'signet', ...request.headers };
      const authorization = this.authorization(repo.registry, request.scopes);
      if (authorization) headers.authorization = authorization;
      let response: Response;
      try {
        response = await httpRequest(url, {
          service: `the registry ${repo.registry}`,
          what: request.what,
          method: request.method,
          headers,
          // Upload locations and page links come from the registry; credentials go only to its own host.
          credentialsOrigin: base.origin,
          body: request.body,
          allowHttp: (hop) => this.allowHttp(hop.host),
          timeoutMs: this.timeoutMs,
          maxBytes: request.maxBytes ?? 64 * 1024,
          ...(this.signal ? { signal: this.signal } : {}),
        });
      } catch (failure) {
        // A refusal (a redirect somewhere forbidden, an answer too large) has no cause and is final;
        // a network failure carries the error it was, which may pass.
        const error = (failure as SignetError).cause;
        if (error === undefined) throw failure;
        const transient = isConnectionError(error) || (error as Error)?.name === 'TimeoutError';
        if (transient && retriable && attempt < this.attempts) {
          await this.pause(backoff(attempt), request.action);
          continue;
        }
        this.assertWanted(request.action);
        const reason = (error as { cause?: Error })?.cause?.message ?? (error as Error)?.message;
        throw new SignetError({
          code: 'E_PROVIDER',
          message: `could not ${request.action}: ${repo.registry} did not answer (${reason})${url.startsWith('https:') && /ECONNRESET|wrong version|SSL/i.test(reason ?? '') ? '; if it serves plain HTTP, allow it with --allow-http-registry' : ''}`,
          cause: error,
        });
      }
      if (response.status === 401 && !authenticated) {
        authenticated = true;
        const challenge = parseChallenge(response.headers.get('www-authenticate'));
        await response.body?.cancel();
        if (challenge) {
          await this.authenticate(repo.registry, challenge, request.scopes);
          continue;
        }
        return response;
      }
      if (RETRIED_STATUS.has(response.status) && retriable && attempt < this.attempts) {
        const wait = Math.max(backoff(attempt), retryAfter(response.headers.get('retry-after')));
        await response.body?.cancel();
        await this.pause(Math.min(wait, 30_000), request.action);
        continue;
      }
      return response;
    }
  }

  /** Waits before a retry, unless the work is abandoned meanwhile. */
  private async pause(ms: number, action: string): Promise<void> {
    try {
      await sleep(ms, undefined, this.signal ? { signal: this.signal } : undefined);
    } catch {
      this.assertWanted(action);
    }
  }

  /** Throws once this client's signal has aborted: nobody waits for the answer any more. */
  private assertWanted(action: string): void {
    if (this.signal?.aborted) {
      throw new SignetError({ code: 'E_PROVIDER', message: `could not ${action}: stopped, nobody waits for the answer any more` });
    }
  }

  /** Plain HTTP only where allowed: a registry must not talk us into sending anything in clear. */
  private assertSecure(url: URL, registry: string): void {
    if (url.protocol === 'https:' || (url.protocol === 'http:' && this.allowHttp(url.host))) return;
    throw new SignetError({
      code: 'E_PROVIDER',
      message: `${registry} sent Signet to ${url.protocol}//${url.host}, which is not HTTPS; allow plain HTTP to it with --allow-http-registry if that is intended`,
    });
  }

  private authorization(registry: string, scopes: string[]): string | undefined {
    const state = this.auth.get(registry);
    if (!state) return undefined;
    if (state.basic) return state.basic;
    const token = state.bearer.get(scopes.join(' '));
    return token ? `Bearer ${token}` : undefined;
  }

  /** Answers a 401's challenge: Basic with the registry's credential, or a Bearer token for these scopes. */
  private async authenticate(registry: string, challenge: Challenge, scopes: string[]): Promise<void> {
    const state: AuthState = this.auth.get(registry) ?? { bearer: new Map() };
    this.auth.set(registry, state);
    const credential = await this.credentials(registry);
    if (challenge.scheme === 'basic') {
      if (!credential || !('username' in credential)) throw missingCredentials(registry);
      state.basic = `Basic ${Buffer.from(`${credential.username}:${credential.password}`).toString('base64')}`;
      return;
    }
    const realm = challenge.params.realm;
    if (!realm) throw new SignetError({ code: 'E_PROVIDER', message: `${registry} asked for a Bearer token without naming a realm` });
    state.bearer.set(scopes.join(' '), await this.token(registry, realm, challenge.params.service, scopes, credential));
  }

  private async token(
    registry: string,
    realm: string,
    service: string | undefined,
    scopes: string[],
    credential?: Credential,
  ): Promise<string> {
    let url: URL;
    try {
      url = new URL(realm);
    } catch (cause) {
      throw new SignetError({ code: 'E_PROVIDER', message: `${registry} named a token realm that is not a URL`, cause });
    }
    this.assertSecure(url, registry);
    const request = {
      service: `${registry}'s token service`,
      allowHttp: (hop: URL) => this.allowHttp(hop.host),
      timeoutMs: this.timeoutMs,
      ...(this.signal ? { signal: this.signal } : {}),
      maxBytes: MiB,
      what: `${registry}'s token response`,
    };
    let response: Response;
    try {
      if (credential && 'identityToken' in credential) {
        // An identity token (docker login with OAuth) is a refresh token, exchanged by POST.
        const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: credential.identityToken, client_id: 'signet' });
        if (service) form.set('service', service);
        form.set('scope', scopes.join(' '));
        response = await httpRequest(url, { ...request, method: 'POST', body: form });
      } else {
        if (service) url.searchParams.set('service', service);
        for (const scope of scopes) url.searchParams.append('scope', scope);
        const headers: Record<string, string> = {};
        if (credential) headers.authorization = `Basic ${Buffer.from(`${credential.username}:${credential.password}`).toString('base64')}`;
        response = await httpRequest(url, { ...request, headers });
      }
    } catch (cause) {
      if (cause instanceof SignetError && cause.cause === undefined) throw cause;
      throw new SignetError({ code: 'E_PROVIDER', message: `could not get a token for ${registry} from ${url.origin}`, cause });
    }
    if (response.status === 401 || response.status === 403) {
      await response.body?.cancel();
      throw credential
        ? new SignetError({ code: 'E_PERMISSION', message: `${registry} refused the credentials for ${scopes.join(' ')}` })
        : missingCredentials(registry);
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new SignetError({ code: 'E_PROVIDER', message: `${registry}'s token service answered ${response.status}` });
    }
    const body = (await readJson(response, `${registry}'s token response`)) as { token?: unknown; access_token?: unknown } | null;
    const token = body?.token ?? body?.access_token;
    if (typeof token !== 'string' || !token) {
      throw new SignetError({ code: 'E_PROVIDER', message: `${registry}'s token service answered without a token` });
    }
    return token;
  }

  /** Turns an unexpected status into a one-line error with the registry's own error code. */
  private async expect(response: Response, statuses: number[], repo: Repository, action: string): Promise<void> {
    if (statuses.includes(response.status)) return;
    let detail = '';
    let registryCode: string | undefined;
    try {
      const text = Buffer.from(await response.arrayBuffer()).toString('utf8');
      const error = (JSON.parse(text) as { errors?: { code?: unknown; message?: unknown }[] }).errors?.[0];
      if (error) {
        detail = registryErrorDetail(error);
        registryCode = typeof error.code === 'string' ? error.code : undefined;
      }
    } catch {
      // Not the spec's JSON error body; the status says enough.
    }
    let code: SignetErrorCode = 'E_PROVIDER';
    let advice = '';
    if (response.status === 401) {
      code = 'E_PERMISSION';
      advice = '; check the credentials (docker login, or SIGNET_REGISTRY_USERNAME, SIGNET_REGISTRY_PASSWORD and SIGNET_REGISTRY_HOST)';
    } else if (response.status === 403) {
      code = 'E_PERMISSION';
      advice = `; the credentials may not do this on ${repo.repository}`;
    } else if (response.status === 404) {
      code = 'E_INPUT';
    } else if (response.status >= 400 && response.status < 500) {
      code = 'E_INPUT';
    }
    const error = new SignetError({ code, message: `could not ${action}: ${repo.registry} answered ${response.status}${detail}${advice}` });
    if (registryCode) registryCodes.set(error, registryCode);
    throw error;
  }
}

const registryCodes = new WeakMap<SignetError, string>();

/** The registry's own code (DIGEST_INVALID, MANIFEST_UNKNOWN, …) of a request it refused, when it gave one. */
export function registryErrorCode(error: unknown): string | undefined {
  return error instanceof SignetError ? registryCodes.get(error) : undefined;
}

function pull(repo: Repository): string {
  return `repository:${repo.repository}:pull`;
}

function push(repo: Repository): string {
  return `repository:${repo.repository}:pull,push`;
}

/** Docker Hub's API lives at registry-1.docker.io. */
function apiHost(registry: string): string {
  return registry === 'docker.io' ? 'registry-1.docker.io' : registry;
}

export function sha256(bytes: Uint8Array): string {
  return `sha256:${crypto.createHash('sha256').update(bytes).digest('hex')}`;
}

/**
 * The spec's error code and message, as the registry gave them but tamed: the code only when it
 * is one (UPPER_CASE), the message without control characters and cut short, never the raw body.
 */
function registryErrorDetail(error: { code?: unknown; message?: unknown }): string {
  const code = typeof error.code === 'string' && /^[A-Z_]{1,40}$/.test(error.code) ? error.code : undefined;
  const message =
    typeof error.message === 'string'
      ? error.message
          .replace(/\p{Cc}/gu, ' ')
          .trim()
          .slice(0, 160)
      : '';
  const detail = [code, message].filter(Boolean).join(' ');
  return detail ? `: ${detail}` : '';
}

function missingCredentials(registry: string): SignetError {
  return new SignetError({
    code: 'E_PERMISSION',
    message: `${registry} requires credentials: run docker login ${registry}, or set SIGNET_REGISTRY_USERNAME and SIGNET_REGISTRY_PASSWORD with SIGNET_REGISTRY_HOST=${registry}`,
  });
}

/** `Bearer realm="…",service="…",scope="…"` or `Basic realm="…"`. */
function parseChallenge(header: string | null): Challenge | undefined {
  const match = header ? /^\s*(\w+)\s*(.*)$/.exec(header) : null;
  if (!match) return undefined;
  const scheme = (match[1] as string).toLowerCase();
  if (scheme !== 'basic' && scheme !== 'bearer') return undefined;
  const params: Record<string, string> = {};
  for (const param of (match[2] as string).matchAll(/(\w+)="([^"]*)"|(\w+)=([^,\s]*)/g)) {
    params[(param[1] ?? param[3] ?? '').toLowerCase()] = param[2] ?? param[4] ?? '';
  }
  return { scheme, params };
}

/** The next page from `Link: <…>; rel="next"`. */
function nextLink(header: string | null): string | undefined {
  return header ? /<([^>]+)>\s*;\s*rel="?next"?/.exec(header)?.[1] : undefined;
}

function backoff(attempt: number): number {
  return Math.random() * Math.min(5_000, 200 * 2 ** (attempt - 1));
}

function retryAfter(value: string | null): number {
  if (!value) return 0;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : 0;
}
