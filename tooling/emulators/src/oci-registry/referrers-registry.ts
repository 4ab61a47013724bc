// A small in-memory OCI 1.1 registry in Node, for what Debian's docker-registry 2.8 lacks: the
// referrers API (GET /v2/<name>/referrers/<digest>) and the OCI-Subject header. Otherwise it
// follows the distribution spec closely enough for skopeo to push to it, keeps every manifest
// byte for byte, and logs and faults like the other emulators.
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { type Fault, FaultPlan, type LoggedRequest } from '../faults';
import { type EmulatorRequest, type EmulatorResponse, HttpEmulator } from '../http-emulator';
import { MediaType } from './media-types';
import type { RegistryRequest, RunningRegistry } from './types';

export interface ReferrersRegistryOptions {
  /** 'basic': 401 + WWW-Authenticate: Basic; 'bearer': a token endpoint at <url>/token, as Docker Hub and GHCR do. */
  auth?: 'basic' | 'bearer';
  /** The one user (default signet-test / signet-test-password). */
  credentials?: { username: string; password: string };
  /** Pulls need no credentials (bearer: the token endpoint grants anonymous pull-only tokens). */
  anonymousPull?: boolean;
  /** Serve the referrers API (default true); false answers 404 like docker-registry 2.8 and sends no OCI-Subject. */
  referrersApi?: boolean;
  /** Faults for the next matching requests, by operation (see OPERATIONS). */
  faults?: FaultPlan;
  /**
   * Answer a manifest GET/HEAD whose Accept header does not name the stored media type with
   * 404, as docker-registry does (default false: the spec does not require an Accept header).
   */
  requireAccept?: boolean;
  /** Page the referrers API this many at a time even when the client gives no ?n= (as some registries do). */
  referrersPageSize?: number;
}

export interface RunningReferrersRegistry extends RunningRegistry {
  faults: FaultPlan;
  /** The raw log with operation names, for counting calls. */
  calls(operation: string): RegistryRequest[];
}

/** The operation names requests are logged under and faults target. */
export const OPERATIONS = [
  'ping',
  'catalog',
  'token',
  'tags',
  'referrers',
  'manifest.get',
  'manifest.head',
  'manifest.put',
  'manifest.delete',
  'blob.get',
  'blob.head',
  'blob.delete',
  'blob.upload',
  'blob.mount',
  'unknown',
] as const;
export type RegistryOperation = (typeof OPERATIONS)[number];

const DEFAULT_CREDENTIALS = { username: 'signet-test', password: 'signet-test-password' };
const SERVICE = 'fixture';
const DISTRIBUTION_HEADERS = { 'docker-distribution-api-version': 'registry/2.0' };

/** Starts the fixture on 127.0.0.1 with an ephemeral port. */
export async function startReferrersRegistry(options: ReferrersRegistryOptions = {}): Promise<RunningReferrersRegistry> {
  const registry = new ReferrersRegistry(options);
  await registry.start();
  const url = registry.url;
  return {
    url,
    host: url.slice('http://'.length),
    ...(options.auth ? { credentials: { ...registry.credentials } } : {}),
    get requests() {
      return registry.requests.map(toRegistryRequest);
    },
    calls: (operation) => registry.calls(operation).map(toRegistryRequest),
    faults: registry.faults,
    stop: () => registry.stop(),
  };
}

function toRegistryRequest(logged: LoggedRequest): RegistryRequest {
  return {
    method: logged.method,
    path: `${logged.path}${logged.query ?? ''}`,
    status: logged.status,
    ...(logged.headers.accept !== undefined ? { accept: logged.headers.accept } : {}),
    operation: logged.operation,
    headers: logged.headers,
    ...(logged.fault ? { fault: logged.fault } : {}),
  };
}

interface Descriptor {
  mediaType?: string;
  digest?: string;
  size?: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  urls?: string[];
}

interface ManifestJson {
  schemaVersion?: number;
  mediaType?: string;
  artifactType?: string;
  config?: Descriptor;
  layers?: Descriptor[];
  manifests?: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

interface StoredManifest {
  digest: string;
  mediaType: string;
  bytes: Buffer;
  json: ManifestJson;
}

interface Repository {
  /** Blobs linked into this repository (uploaded or mounted here); their bytes are in `blobs`. */
  blobs: Set<string>;
  manifests: Map<string, StoredManifest>;
  tags: Map<string, string>;
}

interface Upload {
  repository: string;
  chunks: Buffer[];
  size: number;
}

type Route =
  | { kind: 'ping' | 'catalog' | 'token' | 'unknown' }
  | { kind: 'manifest'; name: string; reference: string }
  | { kind: 'blob'; name: string; digest: string }
  | { kind: 'uploads'; name: string }
  | { kind: 'upload'; name: string; uuid: string }
  | { kind: 'tags'; name: string }
  | { kind: 'referrers'; name: string; digest: string };

const NAME = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const HASHES: Record<string, { hash: string; hex: RegExp }> = {
  sha256: { hash: 'sha256', hex: /^[a-f0-9]{64}$/ },
  sha512: { hash: 'sha512', hex: /^[a-f0-9]{128}$/ },
};
/** The types a manifest PUT may carry; anything else (e.g. the withdrawn OCI artifact manifest) is MANIFEST_INVALID, as in docker-registry. */
const MANIFEST_TYPES = new Set<string>([MediaType.ociManifest, MediaType.ociIndex, MediaType.dockerManifest, MediaType.dockerManifestList]);
const INDEX_TYPES = new Set<string>([MediaType.ociIndex, MediaType.dockerManifestList]);

function parseRoute(path: string): Route {
  if (path === '/v2/' || path === '/v2') return { kind: 'ping' };
  if (path === '/v2/_catalog') return { kind: 'catalog' };
  if (path === '/token') return { kind: 'token' };
  let m = /^\/v2\/(.+?)\/blobs\/uploads\/?$/.exec(path);
  if (m) return { kind: 'uploads', name: m[1] ?? '' };
  m = /^\/v2\/(.+?)\/blobs\/uploads\/([^/]+)$/.exec(path);
  if (m) return { kind: 'upload', name: m[1] ?? '', uuid: m[2] ?? '' };
  m = /^\/v2\/(.+?)\/blobs\/([^/]+)$/.exec(path);
  if (m) return { kind: 'blob', name: m[1] ?? '', digest: decodeURIComponent(m[2] ?? '') };
  m = /^\/v2\/(.+?)\/manifests\/([^/]+)$/.exec(path);
  if (m) return { kind: 'manifest', name: m[1] ?? '', reference: decodeURIComponent(m[2] ?? '') };
  m = /^\/v2\/(.+?)\/tags\/list$/.exec(path);
  if (m) return { kind: 'tags', name: m[1] ?? '' };
  m = /^\/v2\/(.+?)\/referrers\/([^/]+)$/.exec(path);
  if (m) return { kind: 'referrers', name: m[1] ?? '', digest: decodeURIComponent(m[2] ?? '') };
  return { kind: 'unknown' };
}

function operationOfRoute(route: Route, method: string, query: URLSearchParams): RegistryOperation {
  switch (route.kind) {
    case 'ping':
    case 'catalog':
    case 'token':
    case 'tags':
    case 'referrers':
    case 'unknown':
      return route.kind;
    case 'manifest':
      return method === 'GET'
        ? 'manifest.get'
        : method === 'HEAD'
          ? 'manifest.head'
          : method === 'PUT'
            ? 'manifest.put'
            : 'manifest.delete';
    case 'blob':
      return method === 'GET' ? 'blob.get' : method === 'HEAD' ? 'blob.head' : 'blob.delete';
    case 'uploads':
      return query.has('mount') ? 'blob.mount' : 'blob.upload';
    case 'upload':
      return 'blob.upload';
  }
}

/** The spec's error body: {"errors": [{code, message, detail}]}. */
function ociError(status: number, code: string, message: string, detail?: unknown, headers: Record<string, string> = {}): EmulatorResponse {
  return { status, headers, body: { errors: [{ code, message, ...(detail !== undefined ? { detail } : {}) }] } };
}

/** The digest of bytes under the algorithm another digest names, or undefined when it is not one we support. */
function digestOf(bytes: Buffer, like: string): string | undefined {
  const algorithm = like.split(':')[0] ?? '';
  const hash = HASHES[algorithm];
  return hash ? `${algorithm}:${createHash(hash.hash).update(bytes).digest('hex')}` : undefined;
}

function validDigest(digest: string): boolean {
  const [algorithm, hex] = digest.split(':');
  const hash = HASHES[algorithm ?? ''];
  return DIGEST.test(digest) && (hash?.hex.test(hex ?? '') ?? false);
}

function contentTypeOf(header: string | undefined): string | undefined {
  return header?.split(';')[0]?.trim() || undefined;
}

function pageSize(query: URLSearchParams): number | undefined {
  const n = query.get('n');
  if (n === null) return undefined;
  const value = Number(n);
  return Number.isInteger(value) && value >= 0 ? value : undefined;
}

/** Which actions a request needs on which repository (and, for a mount, on the source). */
interface Access {
  type: 'repository' | 'registry';
  name: string;
  actions: string[];
}

class ReferrersRegistry extends HttpEmulator {
  readonly service = 'OCI registry fixture';
  override readonly faults: FaultPlan;
  readonly credentials: { username: string; password: string };
  private readonly blobs = new Map<string, Buffer>();
  private readonly repositories = new Map<string, Repository>();
  private readonly uploads = new Map<string, Upload>();
  /** Issued bearer tokens: what each may do, by "type:name". */
  private readonly tokens = new Map<string, Map<string, Set<string>>>();

  constructor(private readonly options: ReferrersRegistryOptions) {
    super();
    this.faults = options.faults ?? new FaultPlan();
    this.credentials = options.credentials ?? DEFAULT_CREDENTIALS;
  }

  protected operationOf(request: EmulatorRequest): string {
    return operationOfRoute(parseRoute(request.path), request.method, request.query);
  }

  protected faultResponse(fault: Exclude<Fault, { kind: 'latency' | 'drop' }>, operation: string): EmulatorResponse {
    if (fault.kind === 'throttle') {
      const seconds = fault.retryAfterSeconds ?? 1;
      return this.withDistributionHeaders(
        ociError(429, 'TOOMANYREQUESTS', 'too many requests', undefined, { 'retry-after': String(seconds) }),
      );
    }
    const status = fault.kind === 'status' ? fault.status : 500;
    const message = fault.kind === 'status' && fault.message ? fault.message : `injected fault on ${operation}`;
    const code =
      status === 401
        ? 'UNAUTHORIZED'
        : status === 403
          ? 'DENIED'
          : status === 404
            ? operation.startsWith('manifest')
              ? 'MANIFEST_UNKNOWN'
              : operation.startsWith('blob')
                ? 'BLOB_UNKNOWN'
                : 'NAME_UNKNOWN'
            : status === 429
              ? 'TOOMANYREQUESTS'
              : 'UNKNOWN';
    return this.withDistributionHeaders(ociError(status, code, message));
  }

  protected async handle(
    request: EmulatorRequest,
    operation: string,
    fault?: Extract<Fault, { kind: 'corrupt' | 'custom' }>,
  ): Promise<EmulatorResponse> {
    const route = parseRoute(request.path);
    if (route.kind === 'token') return this.withDistributionHeaders(this.token(request));
    if ('name' in route && !NAME.test(route.name)) {
      return this.withDistributionHeaders(ociError(400, 'NAME_INVALID', 'invalid repository name', { name: route.name }));
    }
    const denied = this.authorize(request, route);
    if (denied) return this.withDistributionHeaders(denied);
    const response = this.route(request, route);
    // 'corrupt': the bytes change in transit but the digest header does not, so clients that verify notice.
    if (fault?.kind === 'corrupt' && (operation === 'manifest.get' || operation === 'blob.get') && Buffer.isBuffer(response.body)) {
      const damaged = Buffer.from(response.body);
      if (damaged.length > 0) damaged[damaged.length - 1] = (damaged[damaged.length - 1] ?? 0) ^ 0xff;
      response.body = damaged;
    }
    return this.withDistributionHeaders(response);
  }

  private withDistributionHeaders(response: EmulatorResponse): EmulatorResponse {
    return { ...response, headers: { ...DISTRIBUTION_HEADERS, ...response.headers } };
  }

  // ---- authentication -------------------------------------------------------------------

  private requiredAccess(request: EmulatorRequest, route: Route): Access[] {
    if (route.kind === 'catalog') return [{ type: 'registry', name: 'catalog', actions: ['*'] }];
    if (!('name' in route)) return [];
    const read = request.method === 'GET' || request.method === 'HEAD';
    const actions = read ? ['pull'] : request.method === 'DELETE' && route.kind !== 'upload' ? ['delete'] : ['pull', 'push'];
    const access: Access[] = [{ type: 'repository', name: route.name, actions }];
    const from = request.query.get('from');
    if (route.kind === 'uploads' && request.query.has('mount') && from) access.push({ type: 'repository', name: from, actions: ['pull'] });
    return access;
  }

  private basicCredentials(request: EmulatorRequest): { username: string; password: string } | undefined {
    const header = request.headers.authorization;
    const m = header ? /^Basic\s+(\S+)$/i.exec(header) : null;
    if (!m) return undefined;
    const decoded = Buffer.from(m[1] ?? '', 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon < 0 ? undefined : { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }

  private validCredentials(given: { username: string; password: string } | undefined): boolean {
    if (!given) return false;
    const same = (a: string, b: string) => {
      const x = Buffer.from(a);
      const y = Buffer.from(b);
      return x.length === y.length && timingSafeEqual(x, y);
    };
    return same(given.username, this.credentials.username) && same(given.password, this.credentials.password);
  }

  /** undefined when the request may go on, else the 401 to answer. */
  private authorize(request: EmulatorRequest, route: Route): EmulatorResponse | undefined {
    const auth = this.options.auth;
    if (!auth) return undefined;
    const access = this.requiredAccess(request, route);
    const pullOnly = access.length > 0 && access.every((a) => a.type === 'repository' && a.actions.every((action) => action === 'pull'));
    const scope = access.map((a) => `${a.type}:${a.name}:${a.actions.join(',')}`).join(' ');
    const detail = access.map((a) => ({ Type: a.type, Name: a.name, Action: a.actions.join(',') }));
    if (auth === 'basic') {
      if (this.validCredentials(this.basicCredentials(request))) return undefined;
      if (this.options.anonymousPull && pullOnly && !request.headers.authorization) return undefined;
      return ociError(401, 'UNAUTHORIZED', 'authentication required', detail.length ? detail : undefined, {
        'www-authenticate': 'Basic realm="signet-oci-fixture"',
      });
    }
    // Bearer, as distribution's token auth does it: the challenge names the scope the request
    // needs, a token without it gets the same 401 with error="insufficient_scope".
    const challenge = `Bearer realm="${this.url}/token",service="${SERVICE}"${scope ? `,scope="${scope}"` : ''}`;
    const m = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '');
    const granted = m ? this.tokens.get(m[1] ?? '') : undefined;
    if (!granted) {
      return ociError(401, 'UNAUTHORIZED', 'authentication required', detail.length ? detail : undefined, {
        'www-authenticate': challenge,
      });
    }
    const allowed = access.every((a) => {
      const actions = granted.get(`${a.type}:${a.name}`);
      return actions !== undefined && (actions.has('*') || a.actions.every((action) => actions.has(action)));
    });
    if (allowed) return undefined;
    return ociError(401, 'UNAUTHORIZED', 'insufficient scope for this request', detail, {
      'www-authenticate': `${challenge},error="insufficient_scope"`,
    });
  }

  /** GET /token?service=…&scope=…: basic credentials (or none, for anonymous pull) for a bearer token. */
  private token(request: EmulatorRequest): EmulatorResponse {
    if (this.options.auth !== 'bearer' || request.method !== 'GET') return ociError(404, 'UNSUPPORTED', 'no token endpoint here');
    const given = this.basicCredentials(request);
    const authenticated = this.validCredentials(given);
    if (!authenticated && (given || !this.options.anonymousPull)) {
      return ociError(401, 'UNAUTHORIZED', given ? 'incorrect username or password' : 'authentication required', undefined, {
        'www-authenticate': 'Basic realm="signet-oci-fixture-token"',
      });
    }
    const grants = new Map<string, Set<string>>();
    for (const scope of request.query
      .getAll('scope')
      .flatMap((s) => s.split(' '))
      .filter(Boolean)) {
      const first = scope.indexOf(':');
      const last = scope.lastIndexOf(':');
      if (first < 0 || last <= first) continue;
      const type = scope.slice(0, first);
      const name = scope.slice(first + 1, last);
      const requested = scope.slice(last + 1).split(',');
      // An authenticated user may do anything; anonymous callers only pull repositories.
      const allowed = requested.filter((action) => (authenticated ? true : type === 'repository' && action === 'pull'));
      if (allowed.length > 0) grants.set(`${type}:${name}`, new Set(allowed));
    }
    const token = randomBytes(24).toString('base64url');
    this.tokens.set(token, grants);
    return {
      status: 200,
      body: { token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() },
    };
  }

  // ---- the distribution API -------------------------------------------------------------

  private route(request: EmulatorRequest, route: Route): EmulatorResponse {
    const { method } = request;
    switch (route.kind) {
      case 'ping':
        return { status: 200, body: {} };
      case 'catalog':
        return method === 'GET' ? this.catalog(request) : this.unsupported();
      case 'tags':
        return method === 'GET' ? this.tags(request, route.name) : this.unsupported();
      case 'referrers':
        return method === 'GET' ? this.referrers(request, route.name, route.digest) : this.unsupported();
      case 'manifest':
        if (method === 'GET' || method === 'HEAD') return this.getManifest(request, route.name, route.reference);
        if (method === 'PUT') return this.putManifest(request, route.name, route.reference);
        if (method === 'DELETE') return this.deleteManifest(route.name, route.reference);
        return this.unsupported();
      case 'blob':
        if (method === 'GET' || method === 'HEAD') return this.getBlob(route.name, route.digest);
        if (method === 'DELETE') return this.deleteBlob(route.name, route.digest);
        return this.unsupported();
      case 'uploads':
        return method === 'POST' ? this.startUpload(request, route.name) : this.unsupported();
      case 'upload':
        return this.continueUpload(request, route.name, route.uuid);
      default:
        return { status: 404, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: '404 page not found\n' };
    }
  }

  private unsupported(): EmulatorResponse {
    return ociError(405, 'UNSUPPORTED', 'the operation is unsupported');
  }

  private repository(name: string, create = false): Repository | undefined {
    let repository = this.repositories.get(name);
    if (!repository && create) {
      repository = { blobs: new Set(), manifests: new Map(), tags: new Map() };
      this.repositories.set(name, repository);
    }
    return repository;
  }

  /** A page of sorted names after `last`, with the Link header to the next one (tags and catalog share it). */
  private page(request: EmulatorRequest, all: string[]): { items: string[]; headers: Record<string, string> } {
    const sorted = [...all].sort();
    const last = request.query.get('last');
    const after = last === null ? sorted : sorted.filter((item) => item > last);
    const n = pageSize(request.query);
    if (n === undefined || after.length <= n) return { items: after, headers: {} };
    const items = after.slice(0, n);
    const next = new URLSearchParams({ n: String(n), last: items[items.length - 1] ?? '' });
    return { items, headers: { link: `<${request.path}?${next}>; rel="next"` } };
  }

  private catalog(request: EmulatorRequest): EmulatorResponse {
    const names = [...this.repositories].filter(([, r]) => r.manifests.size > 0 || r.blobs.size > 0).map(([name]) => name);
    const { items, headers } = this.page(request, names);
    return { status: 200, headers, body: { repositories: items } };
  }

  private tags(request: EmulatorRequest, name: string): EmulatorResponse {
    const repository = this.repository(name);
    if (!repository) return ociError(404, 'NAME_UNKNOWN', 'repository name not known to registry', { name });
    const { items, headers } = this.page(request, [...repository.tags.keys()]);
    return { status: 200, headers, body: { name, tags: items } };
  }

  private findManifest(name: string, reference: string): StoredManifest | undefined {
    const repository = this.repository(name);
    const digest = DIGEST.test(reference) ? reference : repository?.tags.get(reference);
    return digest ? repository?.manifests.get(digest) : undefined;
  }

  private getManifest(request: EmulatorRequest, name: string, reference: string): EmulatorResponse {
    const manifest = this.findManifest(name, reference);
    if (!manifest || (this.options.requireAccept && !this.accepts(request.headers.accept, manifest.mediaType))) {
      return ociError(404, 'MANIFEST_UNKNOWN', 'manifest unknown', { name, reference });
    }
    return {
      status: 200,
      headers: {
        'content-type': manifest.mediaType,
        'docker-content-digest': manifest.digest,
        'content-length': String(manifest.bytes.length),
      },
      body: request.method === 'HEAD' ? undefined : manifest.bytes,
    };
  }

  private accepts(accept: string | undefined, mediaType: string): boolean {
    // Like docker-registry, */* does not count (fetch() sends it by default): the type must be named.
    return (accept ?? '').split(',').some((part) => contentTypeOf(part) === mediaType);
  }

  private putManifest(request: EmulatorRequest, name: string, reference: string): EmulatorResponse {
    const isDigest = DIGEST.test(reference);
    if (!isDigest && !TAG.test(reference)) return ociError(400, 'MANIFEST_INVALID', 'invalid tag', { reference });
    const bytes = request.rawBody;
    const json = request.json as ManifestJson | undefined;
    if (!json || typeof json !== 'object' || Array.isArray(json)) return ociError(400, 'MANIFEST_INVALID', 'manifest is not a JSON object');
    const contentType = contentTypeOf(request.headers['content-type']);
    const mediaType = contentType ?? json.mediaType;
    if (!mediaType) return ociError(400, 'MANIFEST_INVALID', 'no Content-Type and no mediaType in the manifest');
    if (json.mediaType !== undefined && contentType !== undefined && json.mediaType !== contentType) {
      return ociError(400, 'MANIFEST_INVALID', `the manifest's mediaType ${json.mediaType} does not match Content-Type ${contentType}`);
    }
    if (!MANIFEST_TYPES.has(mediaType)) return ociError(400, 'MANIFEST_INVALID', `unsupported manifest media type ${mediaType}`);
    if (json.schemaVersion !== 2) return ociError(400, 'MANIFEST_INVALID', 'schemaVersion must be 2');

    const digest = digestOf(bytes, isDigest ? reference : 'sha256:') ?? '';
    if (isDigest && digest !== reference) {
      return ociError(400, 'DIGEST_INVALID', `the manifest's digest is ${digest}, not ${reference}`, { digest: reference });
    }
    const repository = this.repository(name, true) as Repository;
    // Like docker-registry: what the manifest points at must be in this repository already
    // (its blobs, or for an index its manifests); the subject need not exist.
    const missing: string[] = [];
    if (INDEX_TYPES.has(mediaType)) {
      if (!Array.isArray(json.manifests)) return ociError(400, 'MANIFEST_INVALID', 'an index needs a manifests array');
      for (const entry of json.manifests) if (!entry.digest || !repository.manifests.has(entry.digest)) missing.push(entry.digest ?? '');
    } else {
      if (!json.config?.digest || !Array.isArray(json.layers))
        return ociError(400, 'MANIFEST_INVALID', 'an image manifest needs config and layers');
      for (const blob of [json.config, ...json.layers]) {
        // Non-distributable layers with URLs live elsewhere by design.
        if (blob.urls?.length) continue;
        if (!blob.digest || !repository.blobs.has(blob.digest)) missing.push(blob.digest ?? '');
      }
    }
    if (missing.length > 0) {
      return {
        status: 400,
        body: { errors: missing.map((d) => ({ code: 'MANIFEST_BLOB_UNKNOWN', message: 'blob unknown to registry', detail: d })) },
      };
    }
    repository.manifests.set(digest, { digest, mediaType, bytes: Buffer.from(bytes), json });
    if (!isDigest) repository.tags.set(reference, digest);
    const headers: Record<string, string> = {
      location: `/v2/${name}/manifests/${digest}`,
      'docker-content-digest': digest,
      'content-length': '0',
    };
    if (json.subject?.digest && this.options.referrersApi !== false) headers['oci-subject'] = json.subject.digest;
    return { status: 201, headers };
  }

  private deleteManifest(name: string, reference: string): EmulatorResponse {
    const repository = this.repository(name);
    if (!DIGEST.test(reference)) {
      // OCI 1.1: deleting by tag removes the tag only.
      if (!repository?.tags.delete(reference)) return ociError(404, 'MANIFEST_UNKNOWN', 'manifest unknown', { name, reference });
      return { status: 202, headers: { 'content-length': '0' } };
    }
    if (!repository?.manifests.delete(reference)) return ociError(404, 'MANIFEST_UNKNOWN', 'manifest unknown', { name, reference });
    for (const [tag, digest] of repository.tags) if (digest === reference) repository.tags.delete(tag);
    return { status: 202, headers: { 'content-length': '0' } };
  }

  private referrers(request: EmulatorRequest, name: string, digest: string): EmulatorResponse {
    if (this.options.referrersApi === false) {
      // What docker-registry 2.8 answers: its router has no such route.
      return { status: 404, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: '404 page not found\n' };
    }
    // The spec: never 404 when the API exists; 400 only for a malformed digest.
    if (!validDigest(digest)) return ociError(400, 'DIGEST_INVALID', 'invalid digest', { digest });
    const wanted = request.query.get('artifactType');
    const all: Descriptor[] = [];
    for (const manifest of this.repository(name)?.manifests.values() ?? []) {
      if (manifest.json.subject?.digest !== digest) continue;
      // The spec: artifactType is the manifest's own, else (image manifests) its config's media type.
      const artifactType =
        manifest.json.artifactType ?? (INDEX_TYPES.has(manifest.mediaType) ? undefined : manifest.json.config?.mediaType);
      all.push({
        mediaType: manifest.mediaType,
        digest: manifest.digest,
        size: manifest.bytes.length,
        ...(artifactType ? { artifactType } : {}),
        ...(manifest.json.annotations ? { annotations: manifest.json.annotations } : {}),
      });
    }
    const filtered = wanted === null ? all : all.filter((d) => d.artifactType === wanted);
    const headers: Record<string, string> = { 'content-type': MediaType.ociIndex };
    if (wanted !== null) headers['oci-filters-applied'] = 'artifactType';
    // Pagination is by position after the last digest returned (insertion order is stable).
    const last = request.query.get('last');
    const start = last === null ? 0 : filtered.findIndex((d) => d.digest === last) + 1;
    const n = pageSize(request.query) ?? this.options.referrersPageSize;
    const rest = filtered.slice(start);
    const manifests = n === undefined ? rest : rest.slice(0, n);
    if (n !== undefined && rest.length > n) {
      const next = new URLSearchParams({ n: String(n), last: manifests[manifests.length - 1]?.digest ?? '' });
      if (wanted !== null) next.set('artifactType', wanted);
      headers.link = `<${request.path}?${next}>; rel="next"`;
    }
    return { status: 200, headers, body: { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests } };
  }

  private getBlob(name: string, digest: string): EmulatorResponse {
    const bytes = this.repository(name)?.blobs.has(digest) ? this.blobs.get(digest) : undefined;
    if (!bytes) return ociError(404, 'BLOB_UNKNOWN', 'blob unknown to registry', { digest });
    return {
      status: 200,
      headers: { 'content-type': 'application/octet-stream', 'docker-content-digest': digest, 'content-length': String(bytes.length) },
      body: bytes,
    };
  }

  private deleteBlob(name: string, digest: string): EmulatorResponse {
    if (!this.repository(name)?.blobs.delete(digest)) return ociError(404, 'BLOB_UNKNOWN', 'blob unknown to registry', { digest });
    return { status: 202, headers: { 'content-length': '0' } };
  }

  /** Stores bytes as a blob of the repository if they have the digest the client named. */
  private commitBlob(name: string, bytes: Buffer, digest: string | null): EmulatorResponse {
    if (!digest || !validDigest(digest)) return ociError(400, 'DIGEST_INVALID', 'a valid ?digest= is required', { digest });
    const actual = digestOf(bytes, digest);
    if (actual !== digest) return ociError(400, 'DIGEST_INVALID', `the content's digest is ${actual}, not ${digest}`, { digest });
    this.blobs.set(digest, bytes);
    (this.repository(name, true) as Repository).blobs.add(digest);
    return {
      status: 201,
      headers: { location: `/v2/${name}/blobs/${digest}`, 'docker-content-digest': digest, 'content-length': '0' },
    };
  }

  /**
   * Like docker-registry, the upload URL carries a `_state` query parameter bound to the
   * offset, so a client that drops the Location's query, appends `?digest=` to it by string,
   * or reuses an old Location after a PATCH fails here as it would there.
   */
  private uploadState(uuid: string, size: number): string {
    return Buffer.from(JSON.stringify({ uuid, offset: size })).toString('base64url');
  }

  private uploadStatus(status: number, name: string, uuid: string, size: number): EmulatorResponse {
    return {
      status,
      headers: {
        location: `/v2/${name}/blobs/uploads/${uuid}?_state=${this.uploadState(uuid, size)}`,
        'docker-upload-uuid': uuid,
        // Inclusive byte range received so far; "0-0" also stands for nothing yet, as in distribution.
        range: `0-${Math.max(0, size - 1)}`,
        'content-length': '0',
      },
    };
  }

  private startUpload(request: EmulatorRequest, name: string): EmulatorResponse {
    const mount = request.query.get('mount');
    const from = request.query.get('from');
    if (mount && from) {
      const bytes = this.repository(from)?.blobs.has(mount) ? this.blobs.get(mount) : undefined;
      // The spec: a mount that cannot be done falls back to an ordinary upload session (202).
      if (bytes) return this.commitBlob(name, bytes, mount);
    }
    const digest = request.query.get('digest');
    if (digest !== null) return this.commitBlob(name, request.rawBody, digest);
    const uuid = randomUUID();
    this.uploads.set(uuid, { repository: name, chunks: [], size: 0 });
    this.repository(name, true);
    return this.uploadStatus(202, name, uuid, 0);
  }

  private continueUpload(request: EmulatorRequest, name: string, uuid: string): EmulatorResponse {
    const upload = this.uploads.get(uuid);
    if (!upload || upload.repository !== name) return ociError(404, 'BLOB_UPLOAD_UNKNOWN', 'blob upload unknown to registry', { uuid });
    if ((request.method === 'PATCH' || request.method === 'PUT') && request.query.get('_state') !== this.uploadState(uuid, upload.size)) {
      return ociError(400, 'BLOB_UPLOAD_INVALID', 'use the Location of the last upload response as it is, query included', { uuid });
    }
    switch (request.method) {
      case 'GET':
        return this.uploadStatus(204, name, uuid, upload.size);
      case 'DELETE':
        this.uploads.delete(uuid);
        return { status: 204 };
      case 'PATCH': {
        // A chunk must start where the last one ended; streamed (chunked) PATCHes carry no Content-Range.
        const range = request.headers['content-range'];
        const m = range ? /^(?:bytes[ =])?(\d+)-(\d+)$/.exec(range) : null;
        if (range && (!m || Number(m[1]) !== upload.size)) {
          const { 'content-length': _, ...headers } = this.uploadStatus(416, name, uuid, upload.size).headers ?? {};
          return ociError(416, 'BLOB_UPLOAD_INVALID', `the chunk must start at ${upload.size}`, { range }, headers);
        }
        upload.chunks.push(request.rawBody);
        upload.size += request.rawBody.length;
        return this.uploadStatus(202, name, uuid, upload.size);
      }
      case 'PUT': {
        upload.chunks.push(request.rawBody);
        this.uploads.delete(uuid);
        return this.commitBlob(name, Buffer.concat(upload.chunks), request.query.get('digest'));
      }
      default:
        return this.unsupported();
    }
  }
}
