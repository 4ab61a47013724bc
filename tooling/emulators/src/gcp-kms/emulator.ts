import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { type Fault, type LoggedRequest, redactHeaders } from '../faults';
import { type EmulatorRequest, type EmulatorResponse, HttpEmulator } from '../http-emulator';
import { Principals, type ServiceAccountKey } from './auth';
import type { VersionState } from './enums';
import { KmsState } from './state';
import { Code, codeName, codeOfHttpStatus, httpStatusOf, KmsError, restErrorBody, statusDetailsBin } from './status';
import { createTestCertificates, type TestCertificates, TlsFront } from './tls-front';
import {
  cryptoKeyMessage,
  type DecodedRequest,
  fromGrpc,
  fromRest,
  keyRingMessage,
  loggable,
  type Message,
  publicKeyMessage,
  signResponseMessage,
  toGrpc,
  toRest,
  versionListMessage,
  versionMessage,
} from './wire';

const SERVICE = 'google.cloud.kms.v1.KeyManagementService';

/** The IAM permission each operation needs, as Cloud KMS names them. */
const PERMISSIONS: Record<string, string> = {
  GetKeyRing: 'cloudkms.keyRings.get',
  CreateKeyRing: 'cloudkms.keyRings.create',
  GetCryptoKey: 'cloudkms.cryptoKeys.get',
  CreateCryptoKey: 'cloudkms.cryptoKeys.create',
  ListCryptoKeyVersions: 'cloudkms.cryptoKeyVersions.list',
  CreateCryptoKeyVersion: 'cloudkms.cryptoKeyVersions.create',
  GetCryptoKeyVersion: 'cloudkms.cryptoKeyVersions.get',
  UpdateCryptoKeyVersion: 'cloudkms.cryptoKeyVersions.update',
  DestroyCryptoKeyVersion: 'cloudkms.cryptoKeyVersions.destroy',
  RestoreCryptoKeyVersion: 'cloudkms.cryptoKeyVersions.restore',
  GetPublicKey: 'cloudkms.cryptoKeyVersions.viewPublicKey',
  AsymmetricSign: 'cloudkms.cryptoKeyVersions.useToSign',
};

const NAME = 'projects/[^/:]+/locations/[^/:]+';
const RING = `${NAME}/keyRings/[^/:]+`;
const KEY = `${RING}/cryptoKeys/[^/:]+`;
const VERSION = `${KEY}/cryptoKeyVersions/[^/:]+`;

/** REST routes: method, path (resource in group 1), operation. */
const ROUTES: [string, RegExp, string][] = [
  ['GET', new RegExp(`^/v1/(${RING})$`), 'GetKeyRing'],
  ['POST', new RegExp(`^/v1/(${NAME})/keyRings$`), 'CreateKeyRing'],
  ['GET', new RegExp(`^/v1/(${KEY})$`), 'GetCryptoKey'],
  ['POST', new RegExp(`^/v1/(${RING})/cryptoKeys$`), 'CreateCryptoKey'],
  ['GET', new RegExp(`^/v1/(${KEY})/cryptoKeyVersions$`), 'ListCryptoKeyVersions'],
  ['POST', new RegExp(`^/v1/(${KEY})/cryptoKeyVersions$`), 'CreateCryptoKeyVersion'],
  ['GET', new RegExp(`^/v1/(${VERSION})$`), 'GetCryptoKeyVersion'],
  ['PATCH', new RegExp(`^/v1/(${VERSION})$`), 'UpdateCryptoKeyVersion'],
  ['POST', new RegExp(`^/v1/(${VERSION}):destroy$`), 'DestroyCryptoKeyVersion'],
  ['POST', new RegExp(`^/v1/(${VERSION}):restore$`), 'RestoreCryptoKeyVersion'],
  ['GET', new RegExp(`^/v1/(${VERSION})/publicKey$`), 'GetPublicKey'],
  ['POST', new RegExp(`^/v1/(${VERSION}):asymmetricSign$`), 'AsymmetricSign'],
];

const GRPC_OPERATIONS = Object.keys(PERMISSIONS);

/** Which requests a denial applies to; every field left out matches anything. */
export interface Denial {
  /** A service account's email. */
  principal?: string;
  /** An IAM permission, e.g. cloudkms.cryptoKeyVersions.useToSign. */
  permission?: string;
  /** A resource name; its children are covered too. */
  resource?: string;
}

/**
 * A fault that answers with this google.rpc code (and the wording Cloud KMS uses for it)
 * on either transport: UNAVAILABLE 14, RESOURCE_EXHAUSTED 8, PERMISSION_DENIED 7,
 * NOT_FOUND 5, FAILED_PRECONDITION 9 (the version is disabled), …
 */
export function grpcStatusFault(code: number): Fault {
  return { kind: 'custom', name: `grpc-status:${code}` };
}

/** A fault that answers as if the version were still being generated (FAILED_PRECONDITION, PENDING_GENERATION). */
export const PENDING_GENERATION: Fault = { kind: 'custom', name: 'pending-generation' };

/** A fault that does the work, then answers UNAVAILABLE, as when the answer is lost on its way back. */
export const ANSWER_LOST: Fault = { kind: 'custom', name: 'answer-lost' };

/**
 * Cloud KMS on 127.0.0.1: the same keys served over gRPC (`google.cloud.kms.v1.KeyManagementService`,
 * over TLS with a test CA) and REST (HTTP/JSON, as the SDK's `fallback` transport speaks it),
 * with OAuth bearer tokens checked, IAM denials, a request log and faults for both.
 *
 * - `url`: REST over plain HTTP (also the token endpoint, `${url}/token`);
 * - `endpoint`: HTTPS, serving gRPC (h2) and REST (HTTP/1.1) on one port, like cloudkms.googleapis.com.
 */
export class GcpKmsEmulator extends HttpEmulator {
  readonly service = 'GCP Cloud KMS';
  readonly state = new KmsState();
  readonly principals = new Principals();
  /** The service account whose key `credentialsFile` holds. */
  readonly defaultPrincipal: string;

  private denials: Denial[] = [];
  private certificates?: TestCertificates;
  private grpcServer?: grpc.Server;
  private grpcPort?: number;
  private front?: TlsFront;
  private frontPort?: number;
  private dir?: string;

  constructor(options: { project?: string } = {}) {
    super();
    this.defaultPrincipal = `signet-tests@${options.project ?? 'signet-test'}.iam.gserviceaccount.com`;
  }

  override async start(port = 0): Promise<string> {
    const url = await super.start(port);
    this.certificates ??= await createTestCertificates();
    this.grpcPort = await this.startGrpc();
    this.front = new TlsFront(this.certificates, { h2: () => this.grpcPort ?? 0, http1: () => this.port });
    this.frontPort = await this.front.start();
    if (!this.dir) {
      const dir = fs.mkdtempSync(path.join(processFilesDir(), 'emulator-'));
      this.dir = dir;
      fs.writeFileSync(path.join(dir, 'ca.pem'), this.certificates.caPem);
      fs.writeFileSync(path.join(dir, 'service-account.json'), JSON.stringify(this.createServiceAccount(this.defaultPrincipal), null, 2), {
        mode: 0o600,
      });
    }
    return url;
  }

  override async stop(): Promise<void> {
    await this.front?.stop();
    this.grpcServer?.forceShutdown();
    this.grpcServer = undefined;
    await super.stop();
  }

  /** HTTPS for both transports: `https://127.0.0.1:PORT/`. */
  get endpoint(): string {
    if (!this.frontPort) throw new Error('GCP Cloud KMS emulator is not started');
    return `https://127.0.0.1:${this.frontPort}/`;
  }

  get tlsPort(): number {
    if (!this.frontPort) throw new Error('GCP Cloud KMS emulator is not started');
    return this.frontPort;
  }

  /** The test CA that issued the HTTPS certificate. */
  get caPem(): string {
    if (!this.certificates) throw new Error('GCP Cloud KMS emulator is not started');
    return this.certificates.caPem;
  }

  get caFile(): string {
    return path.join(this.requireDir(), 'ca.pem');
  }

  /** A service-account key file for `defaultPrincipal` (GOOGLE_APPLICATION_CREDENTIALS). */
  get credentialsFile(): string {
    return path.join(this.requireDir(), 'service-account.json');
  }

  /** A new service account with a key whose token_uri is this emulator's token endpoint. */
  createServiceAccount(email: string): ServiceAccountKey {
    return this.principals.createServiceAccount(email, `${this.url}/token`);
  }

  /** Creates the key ring if needed and a key with `versions` enabled versions; returns the key's name. */
  async seedKey(name: string, algorithm = 'EC_SIGN_P256_SHA256', options: { versions?: number; purpose?: string } = {}): Promise<string> {
    const match = /^(projects\/[^/]+\/locations\/[^/]+)\/keyRings\/([^/]+)\/cryptoKeys\/([^/]+)$/.exec(name);
    if (!match) throw new Error(`not a CryptoKey name: ${name}`);
    const [, location = '', ring = '', key = ''] = match;
    try {
      this.state.getKeyRing(`${location}/keyRings/${ring}`);
    } catch {
      this.state.createKeyRing(location, ring);
    }
    const purpose = options.purpose ?? (algorithm === 'GOOGLE_SYMMETRIC_ENCRYPTION' ? 'ENCRYPT_DECRYPT' : 'ASYMMETRIC_SIGN');
    await this.state.createCryptoKey(`${location}/keyRings/${ring}`, key, { purpose, algorithm });
    for (let i = 1; i < (options.versions ?? 1); i++) await this.state.createCryptoKeyVersion(name);
    return name;
  }

  /** Rotation: a new enabled version of the key; returns its name. */
  async addVersion(keyName: string): Promise<string> {
    return (await this.state.createCryptoKeyVersion(keyName)).name;
  }

  setVersionState(versionName: string, state: VersionState): void {
    this.state.setVersionState(versionName, state);
  }

  publicKeyPem(versionName: string): string {
    const pem = this.state.getCryptoKeyVersion(versionName).publicKeyPem;
    if (!pem) throw new Error(`${versionName} has no public key`);
    return pem;
  }

  /** Denies matching calls with PERMISSION_DENIED, as a missing IAM binding would. */
  deny(denial: Denial): void {
    this.denials.push(denial);
  }

  allowAll(): void {
    this.denials = [];
  }

  protected operationOf(request: EmulatorRequest): string {
    if (request.method === 'POST' && request.path === '/token') return 'Token';
    return restRoute(request)?.operation ?? 'Unknown';
  }

  protected faultResponse(fault: Exclude<Fault, { kind: 'latency' | 'drop' }>): EmulatorResponse {
    return restError(faultError(fault, 'the resource'));
  }

  protected async handle(
    request: EmulatorRequest,
    operation: string,
    fault?: Extract<Fault, { kind: 'corrupt' | 'custom' }>,
  ): Promise<EmulatorResponse> {
    if (operation === 'Token') {
      const { status, body } = this.principals.exchange(new URLSearchParams(request.rawBody.toString('utf8')), `${this.url}/token`);
      return { status, body };
    }
    try {
      const route = restRoute(request);
      if (!route) throw new KmsError(Code.UNIMPLEMENTED, `The emulator does not serve ${request.method} ${request.path}.`);
      const principal = this.principals.authenticate(first(request.headers.authorization));
      if (fault?.kind === 'custom' && fault.name !== 'answer-lost') throw faultError(fault, route.resource);
      const decoded = fromRest(operation, route.resource, request.query, (request.json ?? {}) as Record<string, unknown>);
      const message = await this.execute(operation, decoded, principal, fault?.kind === 'corrupt');
      if (fault?.kind === 'custom') throw new KmsError(Code.UNAVAILABLE, 'The service is currently unavailable.');
      const numericEnums = (request.query.get('$alt') ?? '').includes('enum-encoding=int');
      return { status: 200, body: toRest(message, numericEnums) };
    } catch (error) {
      if (error instanceof KmsError) return restError(error);
      throw error;
    }
  }

  private async startGrpc(): Promise<number> {
    const json = require('@google-cloud/kms/build/protos/protos.json') as Parameters<typeof protoLoader.fromJSON>[0];
    const definition = protoLoader.fromJSON(json, { longs: String, enums: String, defaults: false, oneofs: true });
    const service = definition[SERVICE] as grpc.ServiceDefinition;
    const server = new grpc.Server();
    server.addService(service, Object.fromEntries(GRPC_OPERATIONS.map((operation) => [operation, this.grpcHandler(operation)])));
    this.grpcServer = server;
    return new Promise((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, port) => (error ? reject(error) : resolve(port))),
    );
  }

  private grpcHandler(operation: string): grpc.handleUnaryCall<Record<string, unknown>, Record<string, unknown>> {
    return (call, callback) => {
      this.serveGrpc(operation, call).then(
        (response) => callback(null, response),
        (error: unknown) => callback(grpcError(error)),
      );
    };
  }

  /** One gRPC call: the same faults, log, authentication and work as REST. */
  private async serveGrpc(
    operation: string,
    call: grpc.ServerUnaryCall<Record<string, unknown>, Record<string, unknown>>,
  ): Promise<Record<string, unknown>> {
    const fault = this.faults.take(operation);
    const metadata = Object.fromEntries(
      Object.entries(call.metadata.getMap()).map(([key, value]) => [key, Buffer.isBuffer(value) ? value.toString('base64') : value]),
    );
    const entry: LoggedRequest = {
      operation,
      method: 'POST',
      path: `/${SERVICE}/${operation}`,
      headers: redactHeaders(metadata),
      body: loggable(call.request),
      status: 200,
      fault: fault?.kind,
      at: Date.now(),
    };
    try {
      if (fault?.kind === 'drop') {
        entry.status = 0;
        // Through the HTTPS front the client's connection is cut; a direct caller gets what a cut connection gives it.
        this.front?.drop(call.getPeer());
        throw new KmsError(Code.UNAVAILABLE, 'The emulator dropped the connection.');
      }
      if (fault?.kind === 'latency') await sleep(fault.ms);
      if (fault?.kind === 'status' || fault?.kind === 'throttle') throw faultError(fault, String(call.request.name ?? 'the resource'));
      const principal = this.principals.authenticate(first(call.metadata.get('authorization')[0]));
      const decoded = fromGrpc(operation, call.request);
      if (fault?.kind === 'custom' && fault.name !== 'answer-lost')
        throw faultError(fault, decoded.name ?? decoded.parent ?? 'the resource');
      const message = await this.execute(operation, decoded, principal, fault?.kind === 'corrupt');
      if (fault?.kind === 'custom') throw new KmsError(Code.UNAVAILABLE, 'The service is currently unavailable.');
      return toGrpc(message);
    } catch (error) {
      if (entry.status !== 0) entry.status = error instanceof KmsError ? httpStatusOf(error.code) : 500;
      throw error;
    } finally {
      this.requests.push(entry);
    }
  }

  /** The work itself, after authentication: authorization, then the state change or read. */
  private async execute(operation: string, request: DecodedRequest, principal: string, corrupt: boolean): Promise<Message> {
    const resource = request.name ?? request.parent ?? '';
    this.authorize(principal, operation, resource);
    const name = request.name ?? '';
    const parent = request.parent ?? '';
    switch (operation) {
      case 'GetKeyRing':
        return keyRingMessage(this.state.getKeyRing(name));
      case 'CreateKeyRing':
        return keyRingMessage(this.state.createKeyRing(parent, request.keyRingId ?? ''));
      case 'GetCryptoKey':
        return cryptoKeyMessage(this.state.getCryptoKey(name));
      case 'CreateCryptoKey':
        return cryptoKeyMessage(
          await this.state.createCryptoKey(
            parent,
            request.cryptoKeyId ?? '',
            { purpose: request.purpose, algorithm: request.algorithm, protectionLevel: request.protectionLevel },
            request.skipInitialVersionCreation,
          ),
        );
      case 'ListCryptoKeyVersions': {
        const all = this.state.listCryptoKeyVersions(parent, request.filter);
        const offset = request.pageToken ? Number(Buffer.from(request.pageToken, 'base64url').toString()) : 0;
        const size = Math.min(request.pageSize ?? 100, 1000);
        const page = all.slice(offset, offset + size);
        const next = offset + size < all.length ? Buffer.from(String(offset + size)).toString('base64url') : '';
        return versionListMessage(page, next, all.length);
      }
      case 'CreateCryptoKeyVersion':
        return versionMessage(await this.state.createCryptoKeyVersion(parent));
      case 'GetCryptoKeyVersion':
        return versionMessage(this.state.getCryptoKeyVersion(name));
      case 'UpdateCryptoKeyVersion':
        return versionMessage(this.state.updateCryptoKeyVersion(name, request.state, request.updateMask ?? []));
      case 'DestroyCryptoKeyVersion':
        return versionMessage(this.state.destroyCryptoKeyVersion(name));
      case 'RestoreCryptoKeyVersion':
        return versionMessage(this.state.restoreCryptoKeyVersion(name));
      case 'GetPublicKey': {
        const result = this.state.getPublicKey(name);
        // Damaged in transit: the checksum still describes the PEM that was sent.
        if (corrupt) {
          const at = result.pem.indexOf('\n') + 5;
          result.pem = `${result.pem.slice(0, at)}${result.pem[at] === 'A' ? 'B' : 'A'}${result.pem.slice(at + 1)}`;
        }
        return publicKeyMessage(result);
      }
      case 'AsymmetricSign': {
        const result = this.state.asymmetricSign(request.sign ?? { name });
        if (corrupt) {
          const damaged = Buffer.from(result.signature);
          damaged.writeUInt8(damaged.readUInt8(0) ^ 0x01, 0);
          result.signature = damaged;
        }
        return signResponseMessage(result);
      }
      default:
        throw new KmsError(Code.UNIMPLEMENTED, `The emulator does not implement ${operation}.`);
    }
  }

  private authorize(principal: string, operation: string, resource: string): void {
    const permission = PERMISSIONS[operation] ?? 'cloudkms.unknown';
    const denied = this.denials.some(
      (d) =>
        (d.principal === undefined || d.principal === principal) &&
        (d.permission === undefined || d.permission === permission) &&
        (d.resource === undefined || resource === d.resource || resource.startsWith(`${d.resource}/`)),
    );
    if (denied) {
      throw new KmsError(Code.PERMISSION_DENIED, `Permission '${permission}' denied on resource '${resource}' (or it may not exist).`);
    }
  }

  private requireDir(): string {
    if (!this.dir) throw new Error('GCP Cloud KMS emulator is not started');
    return this.dir;
  }
}

const FILES_PREFIX = 'signet-gcpkms-emulators-';

/**
 * Where this process's emulators keep the files envFor names (CA, key file). They outlive
 * stop(), so a child process still finds them while the service is down; they are removed
 * at exit, or, since jest's sandboxed `process` never sees the exit, by the next process
 * that starts an emulator once this one is gone.
 */
function processFilesDir(): string {
  const mine = path.join(os.tmpdir(), `${FILES_PREFIX}${process.pid}`);
  if (!fs.existsSync(mine)) {
    for (const entry of fs.readdirSync(os.tmpdir())) {
      const pid = entry.startsWith(FILES_PREFIX) ? Number(entry.slice(FILES_PREFIX.length)) : Number.NaN;
      if (Number.isInteger(pid) && !isAlive(pid)) fs.rmSync(path.join(os.tmpdir(), entry), { recursive: true, force: true });
    }
    fs.mkdirSync(mine, { mode: 0o700 });
    process.once('exit', () => fs.rmSync(mine, { recursive: true, force: true }));
  }
  return mine;
}

/** Signal 0 only asks whether the process exists; it is not sent anything. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function restRoute(request: Pick<EmulatorRequest, 'method' | 'path'>): { operation: string; resource: string } | undefined {
  for (const [method, pattern, operation] of ROUTES) {
    const match = request.method === method ? pattern.exec(request.path) : null;
    if (match) return { operation, resource: decodeURIComponent(match[1] ?? '') };
  }
  return undefined;
}

function first(value: string | string[] | Buffer | undefined | grpc.MetadataValue): string | undefined {
  const one = Array.isArray(value) ? value[0] : value;
  return typeof one === 'string' ? one : undefined;
}

/** An injected fault as the error Cloud KMS would answer with. */
function faultError(fault: Exclude<Fault, { kind: 'latency' | 'drop' }>, resource: string): KmsError {
  switch (fault.kind) {
    case 'throttle':
      return new KmsError(
        Code.RESOURCE_EXHAUSTED,
        "Quota exceeded for quota metric 'Cryptographic requests' and limit 'Cryptographic requests per minute' of service 'cloudkms.googleapis.com'.",
        fault.retryAfterSeconds ?? 1,
      );
    case 'status': {
      const code = codeOfHttpStatus(fault.status);
      return new KmsError(code, fault.message ?? defaultMessage(code, resource));
    }
    case 'custom': {
      if (fault.name === 'pending-generation') {
        return new KmsError(Code.FAILED_PRECONDITION, `${resource} is not enabled, current state is: PENDING_GENERATION.`);
      }
      const code = Number(/^grpc-status:(\d+)$/.exec(fault.name)?.[1] ?? Code.UNKNOWN);
      return new KmsError(code, defaultMessage(code, resource), code === Code.RESOURCE_EXHAUSTED ? 1 : undefined);
    }
    default:
      return new KmsError(Code.INTERNAL, 'Internal error encountered.');
  }
}

function defaultMessage(code: number, resource: string): string {
  switch (code) {
    case Code.NOT_FOUND:
      return `${resource} not found.`;
    case Code.PERMISSION_DENIED:
      return `Permission denied on resource '${resource}' (or it may not exist).`;
    case Code.FAILED_PRECONDITION:
      return `${resource} is not enabled, current state is: DISABLED.`;
    case Code.RESOURCE_EXHAUSTED:
      return "Quota exceeded for quota metric 'Cryptographic requests'.";
    case Code.UNAVAILABLE:
      return 'The service is currently unavailable.';
    case Code.UNAUTHENTICATED:
      return 'Request had invalid authentication credentials.';
    default:
      return `${codeName(code)}: injected by the emulator.`;
  }
}

function restError(error: KmsError): EmulatorResponse {
  const headers: Record<string, string> = {};
  if (error.retryDelaySeconds !== undefined) headers['retry-after'] = String(error.retryDelaySeconds);
  if (error.code === Code.UNAUTHENTICATED) headers['www-authenticate'] = 'Bearer realm="https://accounts.google.com/"';
  return { status: httpStatusOf(error.code), headers, body: restErrorBody(error) };
}

function grpcError(error: unknown): Partial<grpc.StatusObject> {
  if (!(error instanceof KmsError)) return { code: Code.INTERNAL, details: `emulator error: ${(error as Error)?.message}` };
  const metadata = new grpc.Metadata();
  const details = statusDetailsBin(error);
  if (details) metadata.set('grpc-status-details-bin', details);
  return { code: error.code, details: error.message, metadata };
}
