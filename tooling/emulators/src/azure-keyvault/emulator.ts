import crypto from 'node:crypto';
import fs from 'node:fs';
import net, { type AddressInfo, type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import type { Fault } from '../faults';
import { type EmulatorRequest, type EmulatorResponse, HttpEmulator } from '../http-emulator';
import { EntraTokenService, type IssuedToken, KEY_VAULT_RESOURCE } from './entra';
import { type KeySpec, KeyStore, type KeyVersion, publicJwk, SignRefusal, signWithKey } from './key-store';
import { createTestTls, type TestTls } from './tls';

/**
 * How a denied principal is refused, as the service words it: a vault using access
 * policies, one using Azure RBAC, and a vault whose firewall turns the caller away.
 */
export type DenialMode = 'access-policy' | 'rbac' | 'firewall';

/** Custom faults this emulator understands (FaultPlan `{ kind: 'custom', name }`), on Sign. */
export type AzureCustomFault = 'leading-zero-r' | 'leading-zero-s';

export interface AzureKeyVaultEmulatorOptions {
  /** The directory (tenant) id the authority and the challenge name. */
  tenantId?: string;
}

/** The application every emulator knows from the start; envFor points the CLI at it. */
export const DEFAULT_CLIENT_ID = '5e1f0c2a-7d3b-4c8e-9a61-2b4f8d0e6c17';

const DEFAULT_TENANT_ID = '8d3c1e5f-0a2b-4c6d-9e8f-7a1b2c3d4e5f';

const ERROR_CODES: Record<number, string> = {
  400: 'BadParameter',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  409: 'Conflict',
  429: 'Throttled',
  500: 'InternalServerError',
  502: 'BadGateway',
  503: 'ServiceUnavailable',
  504: 'GatewayTimeout',
};

/** The permission an operation needs, as access-policy messages name it. */
const PERMISSIONS: Record<string, string> = {
  GetKey: 'get',
  GetKeyVersions: 'list',
  CreateKey: 'create',
  UpdateKey: 'update',
  Sign: 'sign',
};

/**
 * Azure Key Vault (keys) and the Microsoft Entra ID token endpoint it relies on, over HTTPS
 * on 127.0.0.1 with a certificate from a throwaway CA (`caPem`, `caFile`). The unmodified
 * @azure/keyvault-keys and @azure/identity clients work against it: every Key Vault call
 * first meets the 401 bearer challenge, the credential fetches a token from the authority
 * (`AZURE_AUTHORITY_HOST` = `url`), and the retried call carries it. Keys are real key pairs;
 * ECDSA signatures come back as raw r‖s, as the service returns them.
 *
 * Operations in the log: Challenge (any Key Vault call without a token), GetKey,
 * GetKeyVersions, CreateKey, UpdateKey, Sign, OpenIdConfiguration, Token.
 */
export class AzureKeyVaultEmulator extends HttpEmulator {
  readonly service = 'Azure Key Vault';
  readonly tenantId: string;
  readonly keys = new KeyStore();
  /** The default application's client secret (random per emulator). */
  readonly clientSecret = `emulator-secret-${crypto.randomBytes(12).toString('base64url')}`;
  private readonly entra: EntraTokenService;
  private readonly denied = new Map<string, { mode: DenialMode; operations?: string[] }>();
  private tlsMaterial?: TestTls;
  private tlsServer?: tls.Server;
  private readonly tlsSockets = new Set<Socket>();
  private caDir?: string;

  constructor(options: AzureKeyVaultEmulatorOptions = {}) {
    super();
    this.tenantId = options.tenantId ?? DEFAULT_TENANT_ID;
    this.entra = new EntraTokenService(this.tenantId);
    this.entra.addClient(DEFAULT_CLIENT_ID, this.clientSecret);
  }

  /**
   * Listens on 127.0.0.1 (HTTPS; an ephemeral port unless one is given) and resolves to
   * the base URL, which is both the vault URL and the authority host.
   */
  override async start(port = 0): Promise<string> {
    this.tlsMaterial ??= await createTestTls();
    if (!this.caDir) {
      this.caDir = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-azure-ca-'));
      fs.writeFileSync(path.join(this.caDir, 'ca.pem'), this.tlsMaterial.caPem);
    }
    // TLS is terminated here and the plain HTTP behind it is the base emulator, so the
    // request log, faults (a dropped connection drops the TLS one too) and handlers are shared.
    const server = tls.createServer({ cert: this.tlsMaterial.certPem, key: this.tlsMaterial.keyPem }, (socket) => this.relay(socket));
    server.on('connection', (socket: Socket) => {
      this.tlsSockets.add(socket);
      socket.on('close', () => this.tlsSockets.delete(socket));
    });
    server.on('tlsClientError', () => {});
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    this.tlsServer = server;
    await super.start(0);
    return this.url;
  }

  override async stop(): Promise<void> {
    for (const socket of this.tlsSockets) socket.destroy();
    await new Promise<void>((resolve) => (this.tlsServer ? this.tlsServer.close(() => resolve()) : resolve()));
    this.tlsServer = undefined;
    await super.stop();
    if (this.caDir) fs.rmSync(this.caDir, { recursive: true, force: true });
    this.caDir = undefined;
  }

  /** https://127.0.0.1:PORT: the vault URL and the authority host. */
  override get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  override get port(): number {
    const address = this.tlsServer?.address() as AddressInfo | null | undefined;
    if (!address) throw new Error(`${this.service} emulator is not started`);
    return address.port;
  }

  /** The vault host as a key URI names it: 127.0.0.1:PORT. */
  get vaultHost(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** The CA certificate the server's certificate chains to (PEM). */
  get caPem(): string {
    if (!this.tlsMaterial) throw new Error(`${this.service} emulator is not started`);
    return this.tlsMaterial.caPem;
  }

  /** A file holding caPem, for NODE_EXTRA_CA_CERTS; removed by stop(). */
  get caFile(): string {
    if (!this.caDir) throw new Error(`${this.service} emulator is not started`);
    return path.join(this.caDir, 'ca.pem');
  }

  /** `azurekms://127.0.0.1:PORT/NAME[/VERSION]` */
  keyUri(name: string, version?: string): string {
    return `azurekms://${this.vaultHost}/${name}${version ? `/${version}` : ''}`;
  }

  /** Seeds a key (or a new version of it) without going through the API. */
  createKey(name: string, spec: KeySpec = { kty: 'EC', curve: 'P-256' }, options?: Parameters<KeyStore['create']>[2]): KeyVersion {
    return this.keys.create(name, spec, options);
  }

  /** Enables or disables one version (the current one when `version` is omitted). */
  setEnabled(name: string, enabled: boolean, version?: string): void {
    const key = this.keys.get(name, version);
    if (!key) throw new Error(`no key ${name}${version ? `/${version}` : ''}`);
    key.enabled = enabled;
    key.updated = Math.floor(Date.now() / 1000);
  }

  /** Registers another application (service principal) that may ask for tokens. */
  addClient(clientId: string, secret: string): void {
    this.entra.addClient(clientId, secret);
  }

  /** Refuses a client's Key Vault calls (all, or those operations) with 403 Forbidden. */
  deny(clientId: string, mode: DenialMode = 'access-policy', operations?: string[]): void {
    this.denied.set(clientId, { mode, operations });
  }

  allow(clientId: string): void {
    this.denied.delete(clientId);
  }

  /** Every access token issued so far, for tests that check none leaks into output. */
  get issuedTokens(): string[] {
    return this.entra.issuedTokens();
  }

  /** Every token issued so far stops being accepted (as if it had expired). */
  expireTokens(): void {
    this.entra.expireTokens();
  }

  /** Forgets keys, denials, faults and the request log (tokens and clients stay). */
  reset(): void {
    this.keys.clear();
    this.denied.clear();
    this.faults.clear();
    this.requests.length = 0;
  }

  private relay(socket: tls.TLSSocket): void {
    const upstream = net.connect(super.port, '127.0.0.1');
    socket.pipe(upstream);
    upstream.pipe(socket);
    const close = () => {
      socket.destroy();
      upstream.destroy();
    };
    socket.on('error', close);
    upstream.on('error', close);
    socket.on('close', close);
    upstream.on('close', close);
  }

  protected operationOf(request: EmulatorRequest): string {
    const parts = segments(request.path);
    if (parts[0] === 'keys') {
      if (!request.headers.authorization) return 'Challenge';
      const [, , second, third] = parts;
      if (request.method === 'GET') return second === 'versions' && !third ? 'GetKeyVersions' : 'GetKey';
      if (request.method === 'POST' && second === 'create' && !third) return 'CreateKey';
      if (request.method === 'POST' && third === 'sign') return 'Sign';
      if (request.method === 'PATCH') return 'UpdateKey';
      return 'Unknown';
    }
    if (request.method === 'GET' && parts.slice(1).join('/') === 'v2.0/.well-known/openid-configuration') return 'OpenIdConfiguration';
    if (request.method === 'POST' && parts.slice(1).join('/') === 'oauth2/v2.0/token') return 'Token';
    return 'Unknown';
  }

  protected faultResponse(fault: Exclude<Fault, { kind: 'latency' | 'drop' }>): EmulatorResponse {
    if (fault.kind === 'throttle') {
      return {
        status: 429,
        headers: { 'retry-after': String(fault.retryAfterSeconds ?? 1) },
        body: vaultError(
          'Throttled',
          'Request was not processed because too many requests were received. Reason: A generic throttling limit was exceeded.',
        ),
      };
    }
    const status = fault.kind === 'status' ? fault.status : 500;
    const message = (fault.kind === 'status' && fault.message) || `The service answered ${status} (injected fault).`;
    return { status, body: vaultError(ERROR_CODES[status] ?? 'InternalServerError', message) };
  }

  protected async handle(
    request: EmulatorRequest,
    operation: string,
    fault?: Extract<Fault, { kind: 'corrupt' | 'custom' }>,
  ): Promise<EmulatorResponse> {
    const parts = segments(request.path);
    if (operation === 'OpenIdConfiguration') return this.entra.openIdConfiguration(this.url, parts[0] ?? '');
    if (operation === 'Token') return this.entra.token(parts[0] ?? '', new URLSearchParams(request.rawBody.toString('utf8')));
    if (parts[0] !== 'keys') return { status: 404, body: vaultError('NotFound', `No route for ${request.method} ${request.path}.`) };

    if (!request.query.get('api-version')) {
      return { status: 400, body: vaultError('BadParameter', "The request is missing the 'api-version' query parameter.") };
    }
    if (operation === 'Challenge') return this.challenge('AKV10000: Request is missing a Bearer or PoP token.');
    const token = this.bearer(request);
    if (!token) return this.challenge('AKV10032: Invalid issuer or token. The token is expired, unknown or not for this vault.');
    const denial = this.denied.get(token.clientId);
    if (denial && (!denial.operations || denial.operations.includes(operation))) return this.forbidden(token, operation, denial.mode);

    const [, name = '', second = ''] = parts;
    switch (operation) {
      case 'GetKey':
        return this.getKey(name, second);
      case 'GetKeyVersions':
        return this.listVersions(name, request.query);
      case 'CreateKey':
        return this.create(name, request.json);
      case 'UpdateKey':
        return this.update(name, second, request.json);
      case 'Sign':
        return this.sign(name, second, request.json, fault);
      default:
        return { status: 400, body: vaultError('BadParameter', `Unsupported operation ${request.method} ${request.path}.`) };
    }
  }

  private challenge(message: string): EmulatorResponse {
    return {
      status: 401,
      headers: { 'www-authenticate': `Bearer authorization="${this.url}/${this.tenantId}", resource="${KEY_VAULT_RESOURCE}"` },
      body: vaultError('Unauthorized', message),
    };
  }

  private bearer(request: EmulatorRequest): IssuedToken | undefined {
    const match = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '');
    const issued = match ? this.entra.tokenHolder(match[1] as string) : undefined;
    return issued && issued.resource === KEY_VAULT_RESOURCE && issued.tenantId === this.tenantId ? issued : undefined;
  }

  private forbidden(token: IssuedToken, operation: string, mode: DenialMode): EmulatorResponse {
    const permission = PERMISSIONS[operation] ?? 'get';
    const caller = `appid=${token.clientId};oid=${uuidFor(token.clientId)};iss=https://sts.windows.net/${this.tenantId}/`;
    if (mode === 'rbac') {
      const action = operation === 'Sign' ? 'sign/action' : operation === 'CreateKey' ? 'create/action' : 'read';
      return {
        status: 403,
        body: vaultError(
          'Forbidden',
          `Caller is not authorized to perform action on resource.\r\nIf role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\nCaller: ${caller}\r\nAction: 'Microsoft.KeyVault/vaults/keys/${action}'\r\nResource: '/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/signet/providers/microsoft.keyvault/vaults/emulator'\r\nAssignment: (not found)\r\nDenyAssignmentId: null\r\nDecisionReason: null \r\nVault: emulator;location=westeurope\r\n`,
          'ForbiddenByRbac',
        ),
      };
    }
    if (mode === 'firewall') {
      return {
        status: 403,
        body: vaultError(
          'Forbidden',
          `Public network access is disabled and request is not from a trusted service nor via an approved private link.\r\nCaller: ${caller}\r\nVault: emulator;location=westeurope`,
          'ForbiddenByConnection',
        ),
      };
    }
    return {
      status: 403,
      body: vaultError(
        'Forbidden',
        `The user, group or application '${caller}' does not have keys ${permission} permission on key vault 'emulator;location=westeurope'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287`,
        'AccessDenied',
      ),
    };
  }

  private bundle(key: KeyVersion): Record<string, unknown> {
    const kid = `${this.url}/keys/${key.name}/${key.version}`;
    return {
      key: publicJwk(key, kid),
      attributes: attributes(key),
      ...(Object.keys(key.tags).length > 0 ? { tags: key.tags } : {}),
    };
  }

  private getKey(name: string, version: string): EmulatorResponse {
    const key = this.keys.get(name, version);
    // A disabled version can still be read (its public key); only private-key operations are refused.
    return key ? { status: 200, body: this.bundle(key) } : keyNotFound(name, version);
  }

  private listVersions(name: string, query: URLSearchParams): EmulatorResponse {
    const versions = this.keys.versions(name);
    if (versions.length === 0) return keyNotFound(name, '');
    const pageSize = Math.min(Number(query.get('maxresults') ?? 25) || 25, 25);
    const skip = Number(query.get('$skiptoken') ?? 0) || 0;
    const page = versions.slice(skip, skip + pageSize);
    const next = skip + pageSize < versions.length ? skip + pageSize : undefined;
    return {
      status: 200,
      body: {
        value: page.map((key) => ({
          kid: `${this.url}/keys/${key.name}/${key.version}`,
          attributes: attributes(key),
          ...(Object.keys(key.tags).length > 0 ? { tags: key.tags } : {}),
        })),
        nextLink:
          next === undefined
            ? null
            : `${this.url}/keys/${name}/versions?api-version=${query.get('api-version')}&$skiptoken=${next}&maxresults=${pageSize}`,
      },
    };
  }

  private create(name: string, body: unknown): EmulatorResponse {
    if (!/^[0-9a-zA-Z-]{1,127}$/.test(name)) {
      return { status: 400, body: vaultError('BadParameter', `The key name '${name}' is invalid: use 1-127 letters, digits and dashes.`) };
    }
    const params = (body ?? {}) as {
      kty?: string;
      crv?: string;
      key_size?: number;
      key_ops?: string[];
      attributes?: { enabled?: boolean };
      tags?: Record<string, string>;
    };
    let spec: KeySpec;
    const kty = (params.kty ?? '').replace(/-HSM$/, '');
    if (kty === 'EC') {
      const curve = params.crv ?? 'P-256';
      if (curve !== 'P-256' && curve !== 'P-384' && curve !== 'P-521') {
        return { status: 400, body: vaultError('BadParameter', `The curve ${curve} is not supported by this emulator.`) };
      }
      spec = { kty: 'EC', curve };
    } else if (kty === 'RSA') {
      const size = params.key_size ?? 2048;
      if (size !== 2048 && size !== 3072 && size !== 4096) {
        return { status: 400, body: vaultError('BadParameter', `RSA key size ${size} is not supported; use 2048, 3072 or 4096.`) };
      }
      spec = { kty: 'RSA', size };
    } else {
      return { status: 400, body: vaultError('BadParameter', `The key type '${params.kty ?? ''}' is not supported.`) };
    }
    const key = this.keys.create(name, spec, {
      keyOps: params.key_ops,
      enabled: params.attributes?.enabled ?? true,
      tags: params.tags,
    });
    return { status: 200, body: this.bundle(key) };
  }

  private update(name: string, version: string, body: unknown): EmulatorResponse {
    const key = this.keys.get(name, version);
    if (!key) return keyNotFound(name, version);
    const params = (body ?? {}) as { attributes?: { enabled?: boolean }; key_ops?: string[]; tags?: Record<string, string> };
    if (typeof params.attributes?.enabled === 'boolean') key.enabled = params.attributes.enabled;
    if (params.key_ops) key.keyOps = params.key_ops;
    if (params.tags) key.tags = params.tags;
    key.updated = Math.floor(Date.now() / 1000);
    return { status: 200, body: this.bundle(key) };
  }

  private sign(name: string, version: string, body: unknown, fault?: Extract<Fault, { kind: 'corrupt' | 'custom' }>): EmulatorResponse {
    const key = this.keys.get(name, version);
    if (!key) return keyNotFound(name, version);
    if (!key.enabled) {
      return { status: 403, body: vaultError('Forbidden', 'Operation sign is not allowed on a disabled key.', 'KeyDisabled') };
    }
    const params = (body ?? {}) as { alg?: string; value?: string };
    if (typeof params.alg !== 'string' || typeof params.value !== 'string') {
      return { status: 400, body: vaultError('BadParameter', 'The sign request needs "alg" and "value".') };
    }
    const leadingZero = fault?.kind === 'custom' ? ({ 'leading-zero-r': 'r', 'leading-zero-s': 's' } as const)[fault.name] : undefined;
    let signature: Buffer;
    try {
      signature = signWithKey(key, params.alg, Buffer.from(params.value, 'base64url'), leadingZero);
    } catch (error) {
      if (error instanceof SignRefusal) return { status: 400, body: vaultError(error.code, error.message) };
      throw error;
    }
    if (fault?.kind === 'corrupt') signature[signature.length - 1] = (signature[signature.length - 1] as number) ^ 0xff;
    return { status: 200, body: { kid: `${this.url}/keys/${key.name}/${key.version}`, value: signature.toString('base64url') } };
  }
}

/** The environment that points a child process (the signet CLI, DefaultAzureCredential) at the emulator. */
export function envFor(
  emulator: AzureKeyVaultEmulator,
  client: { clientId: string; clientSecret: string } = { clientId: DEFAULT_CLIENT_ID, clientSecret: emulator.clientSecret },
): Record<string, string> {
  return {
    AZURE_TENANT_ID: emulator.tenantId,
    AZURE_CLIENT_ID: client.clientId,
    AZURE_CLIENT_SECRET: client.clientSecret,
    AZURE_AUTHORITY_HOST: emulator.url,
    NODE_EXTRA_CA_CERTS: emulator.caFile,
    // The vault is 127.0.0.1, not *.vault.azure.net, and the authority is not a Microsoft
    // cloud MSAL knows: both checks are opted out of, as for a private endpoint.
    SIGNET_AZURE_DISABLE_CHALLENGE_RESOURCE_VERIFICATION: '1',
    SIGNET_AZURE_DISABLE_INSTANCE_DISCOVERY: '1',
  };
}

function segments(pathname: string): string[] {
  return pathname.split('/').filter((part) => part !== '');
}

function attributes(key: KeyVersion): Record<string, unknown> {
  return {
    enabled: key.enabled,
    created: key.created,
    updated: key.updated,
    recoveryLevel: 'Recoverable+Purgeable',
    recoverableDays: 90,
    exportable: false,
  };
}

function keyNotFound(name: string, version: string): EmulatorResponse {
  return {
    status: 404,
    body: vaultError(
      'KeyNotFound',
      `A key with (name/id) ${name}${version ? `/${version}` : ''} was not found in this key vault. If you recently deleted this key you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182`,
    ),
  };
}

/** Key Vault's error body: `{"error": {"code", "message", "innererror"?}}`. */
function vaultError(code: string, message: string, innerCode?: string): { error: Record<string, unknown> } {
  return { error: { code, message, ...(innerCode ? { innererror: { code: innerCode } } : {}) } };
}

/** A stable object id for a client id, as Entra ID gives each service principal one. */
function uuidFor(clientId: string): string {
  const hex = crypto.createHash('sha256').update(clientId).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
