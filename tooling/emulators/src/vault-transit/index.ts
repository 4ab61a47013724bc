import crypto from 'node:crypto';
import type { Fault } from '../faults';
import { type EmulatorRequest, type EmulatorResponse, HttpEmulator } from '../http-emulator';
import { allows, type Capability, type TokenPolicy } from './acl';
import { isKeyType, TransitError, TransitKey, type TransitKeyType } from './keys';

export type { Capability, PolicyRule, TokenPolicy } from './acl';
export { KEY_TYPES, SIGNING_KEY_TYPES, TransitKey, type TransitKeyType } from './keys';

/*
 * HashiCorp Vault (or OpenBao) with the Transit engine, over HTTP as node-vault and the
 * Vault CLI speak it: `/v1/<mount>/keys/<name>` (read, create, delete), `…/rotate`,
 * `…/config`, `/v1/<mount>/sign/<name>[/<hash>]`, and `/v1/sys/health`. Tokens in
 * X-Vault-Token are checked against per-token ACL policies; X-Vault-Namespace keeps keys
 * apart per namespace; a sealed Vault answers 503 to everything.
 *
 * Operations, for the log and for targeted faults: ReadKey, CreateKey, DeleteKey, RotateKey,
 * ConfigureKey, Sign, Health, Unknown. Custom faults: `sealed` (one 503 "Vault is sealed"),
 * `stale-index` (one 412, as a performance standby that has not caught up answers),
 * `wrong-version` (a signature labelled with another key version than the one asked for).
 */

export interface VaultTransitEmulatorOptions {
  /** The token with the root policy (default `hvs.signet-emulator-root`). */
  rootToken?: string;
  /** Where Transit engines are mounted (default `['transit']`). */
  mounts?: string[];
}

/** Where a key lives: a namespace (default the root one) and a mount (default `transit`). */
export interface KeyLocation {
  namespace?: string;
  mount?: string;
}

interface Route {
  operation: string;
  /** The path under /v1/, as ACL rules name it (without the namespace). */
  path: string;
  mount?: string;
  name?: string;
  /** sign/<name>/<hash> */
  hash?: string;
}

export class VaultTransitEmulator extends HttpEmulator {
  readonly service = 'Vault Transit';
  readonly rootToken: string;
  readonly mounts: readonly string[];
  private readonly tokens = new Map<string, TokenPolicy>();
  private readonly keys = new Map<string, TransitKey>();
  private sealedState = false;

  constructor(options: VaultTransitEmulatorOptions = {}) {
    super();
    this.rootToken = options.rootToken ?? 'hvs.signet-emulator-root';
    this.mounts = (options.mounts ?? ['transit']).map(trimSlashes);
    this.tokens.set(this.rootToken, 'root');
  }

  /** Adds a token with its policy: path rules (see acl.ts) or 'root'. */
  addToken(token: string, policy: TokenPolicy): this {
    this.tokens.set(token, policy);
    return this;
  }

  revokeToken(token: string): void {
    this.tokens.delete(token);
  }

  /** Seeds a key (what `vault write transit/keys/NAME type=…` does). */
  createKey(name: string, type: TransitKeyType = 'ecdsa-p256', where: KeyLocation = {}): TransitKey {
    const key = new TransitKey(name, type);
    this.keys.set(this.slot(where.namespace, where.mount ?? this.defaultMount(), name), key);
    return key;
  }

  /** The key as the emulator holds it, for assertions and for version rules (rotate, min versions). */
  key(name: string, where: KeyLocation = {}): TransitKey | undefined {
    return this.keys.get(this.slot(where.namespace, where.mount ?? this.defaultMount(), name));
  }

  /** Every request is answered 503 "Vault is sealed" until unseal(). */
  seal(): void {
    this.sealedState = true;
  }

  unseal(): void {
    this.sealedState = false;
  }

  get sealed(): boolean {
    return this.sealedState;
  }

  protected operationOf(request: EmulatorRequest): string {
    return this.route(request).operation;
  }

  protected faultResponse(fault: Exclude<Fault, { kind: 'latency' | 'drop' }>, _operation: string): EmulatorResponse {
    if (fault.kind === 'throttle') {
      // Vault's rate limit quotas answer 429 with Retry-After.
      return {
        status: 429,
        headers: { 'retry-after': String(fault.retryAfterSeconds ?? 1) },
        body: { errors: ['request path: rate limit quota exceeded'] },
      };
    }
    const status = fault.kind === 'status' ? fault.status : 500;
    return { status, body: { errors: fault.kind === 'status' && fault.message ? [fault.message] : defaultErrors(status) } };
  }

  protected async handle(
    request: EmulatorRequest,
    operation: string,
    fault?: Extract<Fault, { kind: 'corrupt' | 'custom' }>,
  ): Promise<EmulatorResponse> {
    if (fault?.kind === 'custom' && fault.name === 'sealed') return error(503, 'Vault is sealed');
    if (fault?.kind === 'custom' && fault.name === 'stale-index') return error(412, 'required index state not present');
    if (fault?.kind === 'custom' && fault.name !== 'wrong-version') return error(500, `the emulator has no custom fault "${fault.name}"`);
    const route = this.route(request);
    if (operation === 'Health') return this.health();
    if (this.sealedState) return error(503, 'Vault is sealed');

    const token = header(request, 'x-vault-token');
    const policy = token ? this.tokens.get(token) : undefined;
    const namespace = trimSlashes(header(request, 'x-vault-namespace') ?? '');
    const aclPath = namespace ? `${namespace}/${route.path}` : route.path;
    if (!policy || !allows(policy, aclPath, capabilitiesFor(request))) return error(403, 'permission denied');

    let response: EmulatorResponse;
    try {
      response = this.dispatchOperation(request, route, namespace, fault);
    } catch (caught) {
      if (caught instanceof TransitError) return error(caught.status, caught.message);
      throw caught;
    }
    if (fault?.kind === 'corrupt' && response.status === 200) return corrupted(response);
    return response;
  }

  private dispatchOperation(
    request: EmulatorRequest,
    route: Route,
    namespace: string,
    fault?: Extract<Fault, { kind: 'corrupt' | 'custom' }>,
  ): EmulatorResponse {
    const body = (request.json ?? {}) as Record<string, unknown>;
    const slot = route.mount && route.name ? this.slot(namespace, route.mount, route.name) : '';
    const key = this.keys.get(slot);
    switch (route.operation) {
      case 'ReadKey':
        // Vault answers a read of a missing key with 404 and an empty list of errors.
        return key ? ok(key.describe()) : { status: 404, body: { errors: [] } };
      case 'CreateKey': {
        const type = body.type ?? 'aes256-gcm96';
        if (!isKeyType(type)) return error(400, `unknown key type ${String(type)}`);
        if (key) return ok(key.describe(), [`key ${route.name} already existed`]);
        const created = new TransitKey(route.name as string, type);
        this.keys.set(slot, created);
        return ok(created.describe());
      }
      case 'RotateKey':
        if (!key) return error(400, 'key not found');
        key.rotate();
        return ok(key.describe());
      case 'ConfigureKey':
        if (!key) return error(400, `no existing key named ${route.name} could be found`);
        configure(key, body);
        return ok(key.describe());
      case 'DeleteKey':
        if (!key) return error(400, 'could not delete key; not found');
        if (!key.deletionAllowed) return error(400, 'deletion is not allowed for this key');
        this.keys.delete(slot);
        return { status: 204 };
      case 'Sign': {
        if (!key) return error(400, 'encryption key not found');
        const input = typeof body.input === 'string' ? Buffer.from(body.input, 'base64') : Buffer.alloc(0);
        const result = key.sign({
          keyVersion: Number(body.key_version ?? 0) || 0,
          input,
          prehashed: body.prehashed === true || body.prehashed === 'true',
          hash: route.hash ?? String(body.hash_algorithm ?? body.algorithm ?? 'sha2-256'),
          signatureAlgorithm: typeof body.signature_algorithm === 'string' ? body.signature_algorithm : undefined,
          marshaling: String(body.marshaling_algorithm ?? 'asn1'),
        });
        const label = fault?.kind === 'custom' && fault.name === 'wrong-version' ? result.version + 1 : result.version;
        return ok({ signature: `vault:v${label}:${result.signature.toString('base64')}`, key_version: label });
      }
      default:
        return error(404, `no handler for route "${route.path}". route entry not found.`);
    }
  }

  private route(request: EmulatorRequest): Route {
    if (!request.path.startsWith('/v1/')) return { operation: 'Unknown', path: request.path };
    const path = trimSlashes(request.path.slice(4));
    if (path === 'sys/health') return { operation: 'Health', path };
    const mount = [...this.mounts].sort((a, b) => b.length - a.length).find((m) => path === m || path.startsWith(`${m}/`));
    if (!mount) return { operation: 'Unknown', path };
    const parts = path.slice(mount.length + 1).split('/');
    const [kind, name, extra, ...rest] = parts;
    const method = request.method.toUpperCase();
    let operation = 'Unknown';
    if (kind === 'keys' && name && extra === undefined) {
      operation =
        method === 'GET' ? 'ReadKey' : method === 'DELETE' ? 'DeleteKey' : method === 'POST' || method === 'PUT' ? 'CreateKey' : 'Unknown';
    } else if (kind === 'keys' && name && rest.length === 0 && (method === 'POST' || method === 'PUT')) {
      operation = extra === 'rotate' ? 'RotateKey' : extra === 'config' ? 'ConfigureKey' : 'Unknown';
    } else if (kind === 'sign' && name && rest.length === 0 && (method === 'POST' || method === 'PUT')) {
      operation = 'Sign';
    }
    return { operation, path, mount, name, hash: kind === 'sign' ? extra : undefined };
  }

  private health(): EmulatorResponse {
    const status = {
      initialized: true,
      sealed: this.sealedState,
      standby: false,
      version: '1.17.0+signet-emulator',
      cluster_name: 'signet-emulator',
    };
    return { status: this.sealedState ? 503 : 200, body: status };
  }

  private defaultMount(): string {
    return this.mounts[0] ?? 'transit';
  }

  private slot(namespace: string | undefined, mount: string, name: string): string {
    return `${trimSlashes(namespace ?? '')}|${trimSlashes(mount)}|${name}`;
  }
}

/**
 * The environment that points a child process (the `signet` CLI, cosign) at the emulator,
 * as a user's shell would point it at Vault.
 */
export function envFor(
  emulator: VaultTransitEmulator,
  options: { token?: string; namespace?: string; mountPath?: string } = {},
): Record<string, string> {
  const env: Record<string, string> = { VAULT_ADDR: emulator.url, VAULT_TOKEN: options.token ?? emulator.rootToken };
  if (options.namespace) env.VAULT_NAMESPACE = options.namespace;
  if (options.mountPath) env.TRANSIT_SECRET_ENGINE_PATH = options.mountPath;
  return env;
}

function configure(key: TransitKey, body: Record<string, unknown>): void {
  const minDecryption = body.min_decryption_version === undefined ? key.minDecryptionVersion : Number(body.min_decryption_version);
  const minEncryption = body.min_encryption_version === undefined ? key.minEncryptionVersion : Number(body.min_encryption_version);
  if (minDecryption > key.latestVersion) {
    throw new TransitError(400, `cannot set min decryption version of ${minDecryption}, latest key version is ${key.latestVersion}`);
  }
  if (minEncryption > key.latestVersion) {
    throw new TransitError(400, `cannot set min encryption version of ${minEncryption}, latest key version is ${key.latestVersion}`);
  }
  if (minEncryption > 0 && minEncryption < minDecryption) {
    throw new TransitError(
      400,
      'cannot set min encryption/decryption values; min encryption version cannot be less than min decryption version',
    );
  }
  key.minDecryptionVersion = Math.max(1, minDecryption);
  key.minEncryptionVersion = minEncryption;
  if (body.deletion_allowed !== undefined) key.deletionAllowed = body.deletion_allowed === true || body.deletion_allowed === 'true';
}

/** What a request needs from the ACL: POST and PUT are create or update, as Vault treats them without an existence check. */
function capabilitiesFor(request: EmulatorRequest): Capability[] {
  const method = request.method.toUpperCase();
  if (method === 'GET') return request.query.get('list') === 'true' ? ['list'] : ['read'];
  if (method === 'DELETE') return ['delete'];
  if (method === 'LIST') return ['list'];
  return ['create', 'update'];
}

/** Vault's response envelope. */
function ok(data: Record<string, unknown>, warnings?: string[]): EmulatorResponse {
  return {
    status: 200,
    body: {
      request_id: crypto.randomUUID(),
      lease_id: '',
      renewable: false,
      lease_duration: 0,
      data,
      wrap_info: null,
      warnings: warnings ?? null,
      auth: null,
      mount_type: 'transit',
    },
  };
}

function error(status: number, message: string): EmulatorResponse {
  return { status, body: { errors: [message] } };
}

function defaultErrors(status: number): string[] {
  if (status === 403) return ['permission denied'];
  if (status === 404) return [];
  if (status === 429) return ['request path: rate limit quota exceeded'];
  if (status === 503) return ['Vault is temporarily unavailable'];
  return ['internal error'];
}

/** A damaged answer: a signature with a flipped byte, or any other body cut short. */
function corrupted(response: EmulatorResponse): EmulatorResponse {
  const body = response.body as { data?: { signature?: string } };
  const signature = body.data?.signature;
  if (signature) {
    const prefix = signature.slice(0, signature.lastIndexOf(':') + 1);
    const bytes = Buffer.from(signature.slice(prefix.length), 'base64');
    bytes[bytes.length >> 1] = (bytes[bytes.length >> 1] as number) ^ 0x5a;
    return { ...response, body: { ...body, data: { ...body.data, signature: `${prefix}${bytes.toString('base64')}` } } };
  }
  const text = JSON.stringify(response.body);
  return { ...response, body: text.slice(0, text.length >> 1) };
}

function header(request: EmulatorRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function trimSlashes(value: string): string {
  return value.replace(/^\/+|\/+$/g, '');
}
