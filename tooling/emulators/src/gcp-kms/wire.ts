import { type EnumName, enumName, enumValue } from './enums';
import type { CryptoKeyRecord, CryptoKeyVersionRecord, KeyRingRecord, PublicKeyResult, SignRequest, SignResult } from './state';
import { Code, KmsError } from './status';

/*
 * The messages the emulator answers with, in the two encodings the SDK reads:
 * gRPC objects for @grpc/proto-loader (enum names, Timestamp {seconds, nanos}, wrappers
 * {value}, bytes as Buffers) and proto3 JSON for REST (numeric enums when asked, RFC 3339
 * timestamps, int64 as strings, bytes as base64). And the requests, decoded from either.
 */

type FieldType = 'string' | 'bool' | 'int32' | 'bytes' | 'timestamp' | 'duration' | 'int64Value' | { enum: EnumName } | { message: string };

const SCHEMA: Record<string, Record<string, FieldType | { repeated: FieldType }>> = {
  KeyRing: { name: 'string', createTime: 'timestamp' },
  CryptoKey: {
    name: 'string',
    purpose: { enum: 'purpose' },
    createTime: 'timestamp',
    versionTemplate: { message: 'CryptoKeyVersionTemplate' },
    destroyScheduledDuration: 'duration',
  },
  CryptoKeyVersionTemplate: { protectionLevel: { enum: 'protectionLevel' }, algorithm: { enum: 'algorithm' } },
  CryptoKeyVersion: {
    name: 'string',
    state: { enum: 'state' },
    protectionLevel: { enum: 'protectionLevel' },
    algorithm: { enum: 'algorithm' },
    createTime: 'timestamp',
    generateTime: 'timestamp',
    destroyTime: 'timestamp',
    destroyEventTime: 'timestamp',
  },
  ListCryptoKeyVersionsResponse: {
    cryptoKeyVersions: { repeated: { message: 'CryptoKeyVersion' } },
    nextPageToken: 'string',
    totalSize: 'int32',
  },
  PublicKey: {
    pem: 'string',
    algorithm: { enum: 'algorithm' },
    pemCrc32c: 'int64Value',
    name: 'string',
    protectionLevel: { enum: 'protectionLevel' },
  },
  AsymmetricSignResponse: {
    signature: 'bytes',
    signatureCrc32c: 'int64Value',
    verifiedDigestCrc32c: 'bool',
    name: 'string',
    verifiedDataCrc32c: 'bool',
    protectionLevel: { enum: 'protectionLevel' },
  },
};

/** A response: the message type and its fields (Dates, Buffers, bigints, enum names). */
export interface Message {
  type: keyof typeof SCHEMA;
  value: Record<string, unknown>;
}

export function keyRingMessage(ring: KeyRingRecord): Message {
  return { type: 'KeyRing', value: { ...ring } };
}

export function cryptoKeyMessage(key: CryptoKeyRecord): Message {
  return {
    type: 'CryptoKey',
    value: {
      name: key.name,
      purpose: key.purpose,
      createTime: key.createTime,
      versionTemplate: key.versionTemplate,
      destroyScheduledDuration: 30 * 24 * 3600,
    },
  };
}

export function versionMessage(version: CryptoKeyVersionRecord): Message {
  return { type: 'CryptoKeyVersion', value: versionFields(version) };
}

function versionFields(version: CryptoKeyVersionRecord): Record<string, unknown> {
  const { name, state, protectionLevel, algorithm, createTime, generateTime, destroyTime, destroyEventTime } = version;
  return { name, state, protectionLevel, algorithm, createTime, generateTime, destroyTime, destroyEventTime };
}

export function versionListMessage(versions: CryptoKeyVersionRecord[], nextPageToken: string, totalSize: number): Message {
  return {
    type: 'ListCryptoKeyVersionsResponse',
    value: { cryptoKeyVersions: versions.map(versionFields), nextPageToken, totalSize },
  };
}

export function publicKeyMessage(result: PublicKeyResult): Message {
  return { type: 'PublicKey', value: { ...result } };
}

export function signResponseMessage(result: SignResult): Message {
  return { type: 'AsymmetricSignResponse', value: { ...result } };
}

/** The object @grpc/proto-loader serializes. */
export function toGrpc(message: Message): Record<string, unknown> {
  return encode(message.type, message.value, (type, value) => {
    if (type === 'timestamp') {
      const ms = (value as Date).getTime();
      return { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 };
    }
    if (type === 'duration') return { seconds: String(value), nanos: 0 };
    if (type === 'int64Value') return { value: String(value) };
    if (type === 'bytes') return value;
    return value;
  });
}

/** Proto3 JSON, as Google's REST endpoints answer. */
export function toRest(message: Message, numericEnums: boolean): Record<string, unknown> {
  return encode(message.type, message.value, (type, value) => {
    if (typeof type === 'object' && 'enum' in type) return enumValue(type.enum, value as string, numericEnums);
    if (type === 'timestamp') return (value as Date).toISOString();
    if (type === 'duration') return `${value}s`;
    if (type === 'int64Value') return String(value);
    if (type === 'bytes') return (value as Buffer).toString('base64');
    return value;
  });
}

type Leaf = (type: FieldType, value: unknown) => unknown;

function encode(type: string, value: Record<string, unknown>, leaf: Leaf): Record<string, unknown> {
  const schema = SCHEMA[type];
  if (!schema) throw new Error(`no schema for ${type}`);
  const out: Record<string, unknown> = {};
  for (const [field, fieldType] of Object.entries(schema)) {
    const fieldValue = value[field];
    if (fieldValue === undefined || fieldValue === null || fieldValue === '') continue;
    out[field] =
      typeof fieldType === 'object' && 'repeated' in fieldType
        ? (fieldValue as unknown[]).map((item) => encodeOne(fieldType.repeated, item, leaf))
        : encodeOne(fieldType, fieldValue, leaf);
  }
  return out;
}

function encodeOne(type: FieldType, value: unknown, leaf: Leaf): unknown {
  if (typeof type === 'object' && 'message' in type) return encode(type.message, value as Record<string, unknown>, leaf);
  return leaf(type, value);
}

/*
 * Requests. Both transports decode into the same plain shapes; REST puts the resource
 * name in the path and the other scalar fields in the query string.
 */

export interface DecodedRequest {
  name?: string;
  parent?: string;
  keyRingId?: string;
  cryptoKeyId?: string;
  skipInitialVersionCreation?: boolean;
  purpose?: string;
  algorithm?: string;
  protectionLevel?: string;
  filter?: string;
  pageSize?: number;
  pageToken?: string;
  state?: string;
  updateMask?: string[];
  sign?: SignRequest;
}

type Json = Record<string, unknown>;

/** From a proto-loader request object (enum names, wrappers as {value}, bytes as Buffers). */
export function fromGrpc(operation: string, request: Json): DecodedRequest {
  const cryptoKey = (request.cryptoKey ?? {}) as Json;
  const template = (cryptoKey.versionTemplate ?? {}) as Json;
  const version = (request.cryptoKeyVersion ?? {}) as Json;
  const mask = (request.updateMask ?? {}) as { paths?: string[] };
  return {
    name: str(request.name) ?? str(version.name),
    parent: str(request.parent),
    keyRingId: str(request.keyRingId),
    cryptoKeyId: str(request.cryptoKeyId),
    skipInitialVersionCreation: request.skipInitialVersionCreation === true,
    purpose: enumName('purpose', cryptoKey.purpose),
    algorithm: enumName('algorithm', template.algorithm),
    protectionLevel: enumName('protectionLevel', template.protectionLevel),
    filter: str(request.filter),
    pageSize: Number(request.pageSize ?? 0) || undefined,
    pageToken: str(request.pageToken),
    state: enumName('state', version.state),
    updateMask: mask.paths ?? [],
    sign: operation === 'AsymmetricSign' ? signRequest(request, (v) => (v ? Buffer.from(v as Uint8Array) : undefined), wrapped) : undefined,
  };
}

/** From a REST call: the resource named in the path, the query string and the JSON body. */
export function fromRest(operation: string, resource: string, query: URLSearchParams, body: Json): DecodedRequest {
  const parentOps = ['CreateKeyRing', 'CreateCryptoKey', 'ListCryptoKeyVersions', 'CreateCryptoKeyVersion'];
  const template = (body.versionTemplate ?? {}) as Json;
  const request: DecodedRequest = {
    ...(parentOps.includes(operation) ? { parent: resource } : { name: resource }),
    keyRingId: query.get('keyRingId') ?? undefined,
    cryptoKeyId: query.get('cryptoKeyId') ?? undefined,
    skipInitialVersionCreation: query.get('skipInitialVersionCreation') === 'true',
    purpose: enumName('purpose', body.purpose),
    algorithm: enumName('algorithm', template.algorithm),
    protectionLevel: enumName('protectionLevel', template.protectionLevel),
    filter: query.get('filter') ?? undefined,
    pageSize: Number(query.get('pageSize') ?? 0) || undefined,
    pageToken: query.get('pageToken') ?? undefined,
    state: enumName('state', body.state),
    updateMask: (query.get('updateMask') ?? '').split(',').filter(Boolean),
  };
  if (operation === 'AsymmetricSign') request.sign = signRequest({ ...body, name: resource }, base64, (v) => v);
  return request;
}

function signRequest(request: Json, bytes: (value: unknown) => Buffer | undefined, int64: (value: unknown) => unknown): SignRequest {
  const digest = (request.digest ?? {}) as Json;
  const hash = ['sha256', 'sha384', 'sha512'].find((h) => digest[h] !== undefined && digest[h] !== null);
  const digestBytes = hash ? bytes(digest[hash]) : undefined;
  const data = bytes(request.data);
  return {
    name: String(request.name ?? ''),
    digest: hash && digestBytes ? { hash, bytes: digestBytes } : undefined,
    digestCrc32c: bigint(int64(request.digestCrc32c)),
    data: data && data.length > 0 ? data : undefined,
    dataCrc32c: bigint(int64(request.dataCrc32c)),
  };
}

function wrapped(value: unknown): unknown {
  return value && typeof value === 'object' ? (value as { value?: unknown }).value : undefined;
}

function bigint(value: unknown): bigint | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  try {
    return BigInt(String(value));
  } catch {
    throw new KmsError(Code.INVALID_ARGUMENT, `Invalid int64 value: ${String(value)}`);
  }
}

function base64(value: unknown): Buffer | undefined {
  if (typeof value !== 'string') return undefined;
  return Buffer.from(value.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** A request as the log shows it: JSON-safe, bytes as base64 (what REST would have sent). */
export function loggable(value: unknown): unknown {
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (Array.isArray(value)) return value.map(loggable);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, loggable(item)]));
  }
  return value;
}
