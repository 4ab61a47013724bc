import crypto, { type KeyObject } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { type AwsCredentials, jsonAuthError, verifySigV4 } from '../aws-sigv4';
import type { Fault } from '../faults';
import { type EmulatorRequest, type EmulatorResponse, HttpEmulator } from '../http-emulator';
import {
  encryptionAlgorithmsFor,
  generateKeyMaterial,
  KEY_SPECS,
  type KeySpec,
  type KeyUsage,
  signingAlgorithmsFor,
  signingScheme,
  signWith,
  verifyWith,
} from './key-material';

export type KeyState = 'Enabled' | 'Disabled' | 'PendingDeletion';

/** An emulated KMS key, as tests may inspect it. */
export interface EmulatedKey {
  keyId: string;
  arn: string;
  keySpec: KeySpec;
  keyUsage: KeyUsage;
  signingAlgorithms: string[];
  state: KeyState;
  description: string;
  creationDate: Date;
  deletionDate?: Date;
  /** Undefined for a symmetric key, whose material this emulator never needs. */
  privateKey?: KeyObject;
}

export interface CreateKeyInput {
  keySpec?: KeySpec;
  keyUsage?: KeyUsage;
  description?: string;
  /** `alias/NAME` to point at the new key. */
  alias?: string;
  /** Restricts the signing algorithms the key offers (e.g. an RSA key that signs only PSS). */
  signingAlgorithms?: string[];
}

/** Refuses a principal an operation, on every key or one key: what a key policy or IAM denial does. */
export interface Denial {
  /** Access key ID of the principal (default: every principal). */
  accessKeyId?: string;
  /** Operation name, e.g. 'Sign' (default: every operation). */
  operation?: string;
  /** Key ID (default: every key). */
  keyId?: string;
}

interface Alias {
  name: string;
  keyId: string;
  created: Date;
  updated: Date;
}

class KmsError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

const TARGET_PREFIX = 'TrentService.';
const ALIAS_NAME = /^alias\/[a-zA-Z0-9/_-]{1,250}$/;
const KEY_ID = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$/;
/** The custom fault: the request, if it names a key by alias, finds no alias (not visible yet, cosign#1474). */
export const ALIAS_NOT_FOUND_YET = 'alias-not-found-yet';

/**
 * AWS KMS on 127.0.0.1, speaking JSON 1.1 (`POST /`, `X-Amz-Target: TrentService.<Op>`)
 * closely enough for the unmodified @aws-sdk/client-kms. Every request's SigV4 signature
 * is recomputed with the caller's secret and must match; keys are real (ECDSA, RSA,
 * Ed25519) and sign what they are sent. Principals can be denied operations on demand.
 *
 * Operations: CreateKey, CreateAlias, UpdateAlias, ListAliases, DescribeKey, GetPublicKey,
 * Sign, Verify, DisableKey, EnableKey, ScheduleKeyDeletion.
 */
export class AwsKmsEmulator extends HttpEmulator {
  readonly service = 'AWS KMS';
  readonly region: string;
  readonly accountId: string;
  /** The credentials of the default principal (IAM user "signet-tests"). */
  readonly credentials: AwsCredentials;
  private readonly principals = new Map<string, AwsCredentials & { user: string }>();
  private readonly keys = new Map<string, EmulatedKey>();
  private readonly aliases = new Map<string, Alias>();
  private denials: Denial[] = [];

  constructor(options: { region?: string; accountId?: string } = {}) {
    super();
    this.region = options.region ?? 'us-east-1';
    this.accountId = options.accountId ?? '111122223333';
    this.credentials = this.addPrincipal('signet-tests');
  }

  /** A new IAM principal with its own access key and secret (and a session token if asked). */
  addPrincipal(user: string, options: { sessionToken?: boolean } = {}): AwsCredentials {
    const credentials: AwsCredentials = {
      accessKeyId: `AKIA${crypto.randomBytes(8).toString('hex').toUpperCase()}`,
      secretAccessKey: crypto.randomBytes(30).toString('base64'),
      ...(options.sessionToken ? { sessionToken: crypto.randomBytes(48).toString('base64') } : {}),
    };
    this.principals.set(credentials.accessKeyId, { ...credentials, user });
    return credentials;
  }

  /** Refuses what the rule matches with AccessDeniedException, until allowAll(). */
  deny(rule: Denial): void {
    this.denials.push(rule);
  }

  allowAll(): void {
    this.denials = [];
  }

  /** Creates a key directly (no request logged), optionally with an alias. */
  async createKey(input: CreateKeyInput = {}): Promise<EmulatedKey> {
    const key = await this.newKey(input.keySpec ?? 'ECC_NIST_P256', input.keyUsage ?? 'SIGN_VERIFY', input.description ?? '');
    if (input.signingAlgorithms) key.signingAlgorithms = [...input.signingAlgorithms];
    if (input.alias) this.addAlias(input.alias, key.keyId);
    return key;
  }

  /** A key by key ID, key ARN, alias name or alias ARN; throws if there is none. */
  key(reference: string): EmulatedKey {
    return this.resolve(reference);
  }

  /** The key's public key as an SPKI PEM, for tests that verify independently. */
  publicKeyPem(reference: string): string {
    const key = this.resolve(reference);
    if (!key.privateKey) throw new Error(`${key.arn} is symmetric`);
    return crypto.createPublicKey(key.privateKey).export({ type: 'spki', format: 'pem' }).toString();
  }

  setKeyState(reference: string, state: KeyState): void {
    const key = this.resolve(reference);
    key.state = state;
    key.deletionDate = state === 'PendingDeletion' ? new Date(Date.now() + 7 * 86_400_000) : undefined;
  }

  /** Points an alias at another key, as UpdateAlias does. */
  pointAlias(alias: string, reference: string): void {
    const entry = this.aliases.get(alias);
    if (!entry) throw new Error(`no alias ${alias}`);
    entry.keyId = this.resolve(reference).keyId;
    entry.updated = new Date();
  }

  protected operationOf(request: EmulatorRequest): string {
    const target = request.headers['x-amz-target'];
    return typeof target === 'string' && target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : 'Unknown';
  }

  protected faultResponse(fault: Exclude<Fault, { kind: 'latency' | 'drop' }>): EmulatorResponse {
    if (fault.kind === 'throttle') {
      const response = errorResponse(new KmsError('ThrottlingException', 'Rate exceeded'));
      if (fault.retryAfterSeconds !== undefined) response.headers = { ...response.headers, 'retry-after': String(fault.retryAfterSeconds) };
      return response;
    }
    const status = fault.kind === 'status' ? fault.status : 500;
    const type =
      status === 503
        ? 'DependencyTimeoutException'
        : status >= 500
          ? 'KMSInternalException'
          : (({ 403: 'AccessDeniedException', 404: 'NotFoundException', 429: 'ThrottlingException' } as Record<number, string>)[status] ??
            'ValidationException');
    const message = (fault.kind === 'status' ? fault.message : undefined) ?? `injected ${type}`;
    return errorResponse(new KmsError(type, message, status));
  }

  protected async handle(
    request: EmulatorRequest,
    operation: string,
    fault?: Extract<Fault, { kind: 'corrupt' | 'custom' }>,
  ): Promise<EmulatorResponse> {
    if (fault?.kind === 'custom' && fault.name !== ALIAS_NOT_FOUND_YET) {
      throw new Error(`the AWS KMS emulator has no custom fault "${fault.name}"; it knows "${ALIAS_NOT_FOUND_YET}"`);
    }
    try {
      const auth = await verifySigV4(request, this.principals, { region: this.region, service: 'kms' });
      if ('kind' in auth) {
        const { type, message } = jsonAuthError(auth, 'kms');
        throw new KmsError(type, message);
      }
      if (request.json === null || typeof request.json !== 'object') {
        throw new KmsError('SerializationException', 'Start of structure or map found where not expected.');
      }
      const context: CallContext = {
        input: request.json as Record<string, unknown>,
        accessKeyId: auth.accessKeyId,
        operation,
        aliasNotVisible: fault?.kind === 'custom',
      };
      const body = await this.perform(context);
      if (fault?.kind === 'corrupt') {
        // A damaged payload: cut short, so it no longer parses.
        const text = JSON.stringify(body);
        return { status: 200, headers: jsonHeaders(), body: text.slice(0, Math.max(1, Math.floor(text.length / 2))) };
      }
      return { status: 200, headers: jsonHeaders(), body };
    } catch (error) {
      if (error instanceof KmsError) return errorResponse(error);
      throw error;
    }
  }

  private async perform(call: CallContext): Promise<unknown> {
    switch (call.operation) {
      case 'CreateKey':
        return this.opCreateKey(call);
      case 'CreateAlias':
        return this.opCreateAlias(call);
      case 'UpdateAlias':
        return this.opUpdateAlias(call);
      case 'ListAliases':
        return this.opListAliases(call);
      case 'DescribeKey':
        return { KeyMetadata: this.metadata(this.keyFor(call, { allowAlias: true })) };
      case 'GetPublicKey':
        return this.opGetPublicKey(call);
      case 'Sign':
        return this.opSign(call);
      case 'Verify':
        return this.opVerify(call);
      case 'DisableKey':
        return this.opSetState(call, 'Disabled');
      case 'EnableKey':
        return this.opSetState(call, 'Enabled');
      case 'ScheduleKeyDeletion':
        return this.opScheduleKeyDeletion(call);
      default:
        throw new KmsError('UnknownOperationException', `The AWS KMS emulator does not implement ${call.operation}`);
    }
  }

  private async opCreateKey(call: CallContext): Promise<unknown> {
    this.authorize(call);
    const keySpec = stringField(call.input, 'KeySpec') ?? stringField(call.input, 'CustomerMasterKeySpec') ?? 'SYMMETRIC_DEFAULT';
    const keyUsage = stringField(call.input, 'KeyUsage') ?? 'ENCRYPT_DECRYPT';
    if (!KEY_SPECS.includes(keySpec as KeySpec)) {
      throw new KmsError(
        'ValidationException',
        `1 validation error detected: Value '${keySpec}' at 'keySpec' is not supported by this emulator`,
      );
    }
    if (keyUsage !== 'SIGN_VERIFY' && keyUsage !== 'ENCRYPT_DECRYPT') {
      throw new KmsError(
        'ValidationException',
        `1 validation error detected: Value '${keyUsage}' at 'keyUsage' failed to satisfy constraint`,
      );
    }
    const spec = keySpec as KeySpec;
    const offered = keyUsage === 'SIGN_VERIFY' ? signingAlgorithmsFor(spec) : encryptionAlgorithmsFor(spec);
    if (offered.length === 0) {
      throw new KmsError('ValidationException', `KeyUsage ${keyUsage} is not compatible with KeySpec ${keySpec}`);
    }
    const key = await this.newKey(spec, keyUsage, stringField(call.input, 'Description') ?? '');
    return { KeyMetadata: this.metadata(key) };
  }

  private opCreateAlias(call: CallContext): unknown {
    const name = requiredString(call.input, 'AliasName');
    const key = this.keyFor(call, { field: 'TargetKeyId', allowAlias: false });
    if (this.aliases.has(name))
      throw new KmsError('AlreadyExistsException', `An alias with the name ${this.aliasArn(name)} already exists`);
    this.addAlias(name, key.keyId);
    return {};
  }

  private opUpdateAlias(call: CallContext): unknown {
    const name = requiredString(call.input, 'AliasName');
    const key = this.keyFor(call, { field: 'TargetKeyId', allowAlias: false });
    const alias = this.aliases.get(name);
    if (!alias) throw new KmsError('NotFoundException', `Alias ${this.aliasArn(name)} is not found.`);
    alias.keyId = key.keyId;
    alias.updated = new Date();
    return {};
  }

  private opListAliases(call: CallContext): unknown {
    const filter = stringField(call.input, 'KeyId');
    const key = filter === undefined ? undefined : this.keyFor(call, { allowAlias: false });
    if (!key) this.authorize(call);
    const aliases = [...this.aliases.values()]
      .filter((alias) => !key || alias.keyId === key.keyId)
      .map((alias) => ({
        AliasName: alias.name,
        AliasArn: this.aliasArn(alias.name),
        TargetKeyId: alias.keyId,
        CreationDate: epochSeconds(alias.created),
        LastUpdatedDate: epochSeconds(alias.updated),
      }));
    return { Aliases: aliases, Truncated: false };
  }

  private opGetPublicKey(call: CallContext): unknown {
    const key = this.usableKey(call);
    if (!key.privateKey) throw new KmsError('UnsupportedOperationException', `${key.arn} key usage is not supported for GetPublicKey.`);
    return {
      KeyId: key.arn,
      PublicKey: crypto.createPublicKey(key.privateKey).export({ type: 'spki', format: 'der' }).toString('base64'),
      KeySpec: key.keySpec,
      CustomerMasterKeySpec: key.keySpec,
      KeyUsage: key.keyUsage,
      ...(key.keyUsage === 'SIGN_VERIFY'
        ? { SigningAlgorithms: key.signingAlgorithms }
        : { EncryptionAlgorithms: encryptionAlgorithmsFor(key.keySpec) }),
    };
  }

  private opSign(call: CallContext): unknown {
    const key = this.usableKey(call);
    const { scheme, message, algorithm } = this.signingInput(call, key);
    const signature = signWith(key.privateKey as KeyObject, scheme, message);
    return { KeyId: key.arn, Signature: signature.toString('base64'), SigningAlgorithm: algorithm };
  }

  private opVerify(call: CallContext): unknown {
    const key = this.usableKey(call);
    const { scheme, message, algorithm } = this.signingInput(call, key);
    const signature = Buffer.from(requiredString(call.input, 'Signature'), 'base64');
    if (!verifyWith(key.privateKey as KeyObject, scheme, message, signature)) {
      throw new KmsError('KMSInvalidSignatureException', '');
    }
    return { KeyId: key.arn, SignatureValid: true, SigningAlgorithm: algorithm };
  }

  private opSetState(call: CallContext, state: 'Enabled' | 'Disabled'): unknown {
    const key = this.keyFor(call, { allowAlias: false });
    if (key.state === 'PendingDeletion') throw new KmsError('KMSInvalidStateException', `${key.arn} is pending deletion.`);
    key.state = state;
    return {};
  }

  private opScheduleKeyDeletion(call: CallContext): unknown {
    const key = this.keyFor(call, { allowAlias: false });
    const days = typeof call.input.PendingWindowInDays === 'number' ? call.input.PendingWindowInDays : 30;
    key.state = 'PendingDeletion';
    key.deletionDate = new Date(Date.now() + days * 86_400_000);
    return { KeyId: key.arn, DeletionDate: epochSeconds(key.deletionDate), KeyState: key.state, PendingWindowInDays: days };
  }

  /** The key a request names, after the caller's permission to use it is checked. */
  private keyFor(call: CallContext, options: { field?: string; allowAlias: boolean }): EmulatedKey {
    const reference = requiredString(call.input, options.field ?? 'KeyId');
    const isAlias = reference.startsWith('alias/') || /^arn:[^:]+:kms:[^:]*:[^:]*:alias\//.test(reference);
    if (isAlias && !options.allowAlias) throw new KmsError('NotFoundException', `Invalid keyId ${reference}`);
    if (isAlias && call.aliasNotVisible) throw new KmsError('NotFoundException', `Alias ${this.aliasArnOf(reference)} is not found.`);
    const key = this.resolve(reference);
    this.authorize(call, key);
    return key;
  }

  /** A key that can be used now: enabled. */
  private usableKey(call: CallContext): EmulatedKey {
    const key = this.keyFor(call, { allowAlias: true });
    if (key.state === 'Disabled') throw new KmsError('DisabledException', `${key.arn} is disabled.`);
    if (key.state === 'PendingDeletion') throw new KmsError('KMSInvalidStateException', `${key.arn} is pending deletion.`);
    return key;
  }

  private signingInput(call: CallContext, key: EmulatedKey) {
    if (key.keyUsage !== 'SIGN_VERIFY' || !key.privateKey) {
      throw new KmsError('InvalidKeyUsageException', `${key.arn} key usage is ${key.keyUsage} which is not valid for ${call.operation}.`);
    }
    const algorithm = requiredString(call.input, 'SigningAlgorithm');
    if (!key.signingAlgorithms.includes(algorithm)) {
      throw new KmsError('InvalidKeyUsageException', `Algorithm ${algorithm} is incompatible with key spec ${key.keySpec}.`);
    }
    const scheme = signingScheme(algorithm, key.privateKey);
    if (!scheme) throw new KmsError('ValidationException', `The AWS KMS emulator does not sign with ${algorithm}.`);
    const message = Buffer.from(requiredString(call.input, 'Message'), 'base64');
    const messageType = stringField(call.input, 'MessageType') ?? 'RAW';
    if (messageType === 'DIGEST') {
      if (scheme.kind === 'ed25519') throw new KmsError('ValidationException', `${algorithm} requires MessageType RAW.`);
      if (message.length !== crypto.createHash(scheme.hash).digest().length) {
        throw new KmsError('ValidationException', `Digest is invalid length for algorithm ${algorithm}.`);
      }
      return { scheme, message, algorithm };
    }
    if (messageType !== 'RAW') throw new KmsError('ValidationException', `MessageType ${messageType} is not supported by this emulator.`);
    if (message.length > 4096) {
      throw new KmsError(
        'ValidationException',
        "1 validation error detected: Value at 'message' failed to satisfy constraint: Member must have length less than or equal to 4096",
      );
    }
    return { scheme, message: scheme.kind === 'ed25519' ? message : crypto.createHash(scheme.hash).update(message).digest(), algorithm };
  }

  private authorize(call: CallContext, key?: EmulatedKey): void {
    const denied = this.denials.some(
      (rule) =>
        (rule.accessKeyId === undefined || rule.accessKeyId === call.accessKeyId) &&
        (rule.operation === undefined || rule.operation === call.operation) &&
        (rule.keyId === undefined || rule.keyId === key?.keyId),
    );
    if (!denied) return;
    const user = this.principals.get(call.accessKeyId)?.user ?? 'unknown';
    const resource = key?.arn ?? `arn:aws:kms:${this.region}:${this.accountId}:key/*`;
    throw new KmsError(
      'AccessDeniedException',
      `User: arn:aws:iam::${this.accountId}:user/${user} is not authorized to perform: kms:${call.operation} on resource: ${resource} because no resource-based policy allows the kms:${call.operation} action`,
    );
  }

  private resolve(reference: string): EmulatedKey {
    const aliasName = reference.startsWith('alias/') ? reference : /^arn:[^:]+:kms:[^:]*:[^:]*:(alias\/.+)$/.exec(reference)?.[1];
    if (aliasName !== undefined) {
      if (reference.startsWith('arn:') && reference !== this.aliasArn(aliasName)) {
        throw new KmsError('NotFoundException', `Alias ${reference} is not found.`);
      }
      const alias = this.aliases.get(aliasName);
      const key = alias && this.keys.get(alias.keyId);
      if (!key) throw new KmsError('NotFoundException', `Alias ${this.aliasArn(aliasName)} is not found.`);
      return key;
    }
    const keyId = /^arn:[^:]+:kms:[^:]*:[^:]*:key\/(.+)$/.exec(reference)?.[1] ?? reference;
    if (!KEY_ID.test(keyId)) throw new KmsError('NotFoundException', `Invalid keyId '${reference}'`);
    const key = this.keys.get(keyId);
    if (!key || (reference.startsWith('arn:') && reference !== key.arn)) {
      throw new KmsError('NotFoundException', `Key '${reference.startsWith('arn:') ? reference : this.keyArn(keyId)}' does not exist`);
    }
    return key;
  }

  private async newKey(keySpec: KeySpec, keyUsage: KeyUsage, description: string): Promise<EmulatedKey> {
    const keyId = crypto.randomUUID();
    const key: EmulatedKey = {
      keyId,
      arn: this.keyArn(keyId),
      keySpec,
      keyUsage,
      signingAlgorithms: keyUsage === 'SIGN_VERIFY' ? signingAlgorithmsFor(keySpec) : [],
      state: 'Enabled',
      description,
      creationDate: new Date(),
      privateKey: await generateKeyMaterial(keySpec),
    };
    this.keys.set(keyId, key);
    return key;
  }

  private addAlias(name: string, keyId: string): void {
    if (!ALIAS_NAME.test(name) || name.startsWith('alias/aws/')) {
      throw new KmsError(
        'ValidationException',
        `Alias name ${name} must begin with alias/ and contain only [a-zA-Z0-9/_-]; alias/aws/ is reserved`,
      );
    }
    const now = new Date();
    this.aliases.set(name, { name, keyId, created: now, updated: now });
  }

  private metadata(key: EmulatedKey): Record<string, unknown> {
    return {
      AWSAccountId: this.accountId,
      KeyId: key.keyId,
      Arn: key.arn,
      CreationDate: epochSeconds(key.creationDate),
      Enabled: key.state === 'Enabled',
      Description: key.description,
      KeyUsage: key.keyUsage,
      KeyState: key.state,
      ...(key.deletionDate ? { DeletionDate: epochSeconds(key.deletionDate) } : {}),
      Origin: 'AWS_KMS',
      KeyManager: 'CUSTOMER',
      CustomerMasterKeySpec: key.keySpec,
      KeySpec: key.keySpec,
      ...(key.keyUsage === 'SIGN_VERIFY'
        ? { SigningAlgorithms: key.signingAlgorithms }
        : { EncryptionAlgorithms: encryptionAlgorithmsFor(key.keySpec) }),
      MultiRegion: false,
    };
  }

  private keyArn(keyId: string): string {
    return `arn:aws:kms:${this.region}:${this.accountId}:key/${keyId}`;
  }

  private aliasArn(name: string): string {
    return `arn:aws:kms:${this.region}:${this.accountId}:${name}`;
  }

  private aliasArnOf(reference: string): string {
    return reference.startsWith('arn:') ? reference : this.aliasArn(reference);
  }
}

interface CallContext {
  input: Record<string, unknown>;
  accessKeyId: string;
  operation: string;
  /** The custom fault: aliases are not visible to this request. */
  aliasNotVisible: boolean;
}

function jsonHeaders(): Record<string, string> {
  return { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': crypto.randomUUID() };
}

function errorResponse(error: KmsError): EmulatorResponse {
  return {
    status: error.status,
    headers: { ...jsonHeaders(), 'x-amzn-errortype': error.type },
    body: { __type: error.type, message: error.message },
  };
}

function stringField(input: Record<string, unknown>, name: string): string | undefined {
  const value = input[name];
  return typeof value === 'string' ? value : undefined;
}

function requiredString(input: Record<string, unknown>, name: string): string {
  const value = stringField(input, name);
  if (value === undefined || value === '') {
    throw new KmsError(
      'ValidationException',
      `1 validation error detected: Value null at '${name[0]?.toLowerCase()}${name.slice(1)}' failed to satisfy constraint: Member must not be null`,
    );
  }
  return value;
}

function epochSeconds(date: Date): number {
  return date.getTime() / 1000;
}

/**
 * The environment that points a child process using the AWS SDK's default chain (the
 * `signet` CLI) at the emulator, as the given principal. Shared config files are pointed
 * at paths that do not exist and AWS_PROFILE is removed (undefined), so nothing on the
 * machine (~/.aws, a profile, instance metadata) takes part.
 */
export function envFor(emulator: AwsKmsEmulator, credentials: AwsCredentials = emulator.credentials): Record<string, string | undefined> {
  const nowhere = path.join(os.tmpdir(), 'signet-aws-kms-emulator-no-such-file');
  return {
    AWS_ENDPOINT_URL_KMS: emulator.url,
    AWS_REGION: emulator.region,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_SESSION_TOKEN: credentials.sessionToken,
    AWS_PROFILE: undefined,
    AWS_CONFIG_FILE: nowhere,
    AWS_SHARED_CREDENTIALS_FILE: nowhere,
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}
