import crypto from 'node:crypto';
import zlib from 'node:zlib';
import { crc32c } from '@aws-crypto/crc32c';
import { headerValue } from '../aws-sigv4';
import type { EmulatorRequest, EmulatorResponse } from '../http-emulator';
import { type AccountContext, AwsError, type Call } from './common';

/** One version of an S3 object. */
export interface StoredObject {
  bucket: string;
  key: string;
  /** `'null'` for an object written while the bucket was not versioning, as S3 names it. */
  versionId: string;
  body: Buffer;
  etag: string;
  contentType: string;
  lastModified: Date;
  /** The additional checksum the writer sent (S3 keeps it and returns it when asked). */
  checksum?: { algorithm: string; value: string };
}

interface Bucket {
  name: string;
  /** Undefined until versioning is first configured: such a bucket never reports version IDs. */
  versioning?: 'Enabled' | 'Suspended';
  /** Versions of each key, oldest first. */
  objects: Map<string, StoredObject[]>;
}

export const S3_OPERATIONS = new Set([
  'CreateBucket',
  'HeadBucket',
  'PutBucketVersioning',
  'GetBucketVersioning',
  'PutObject',
  'GetObject',
  'HeadObject',
]);

const XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';
const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n';
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** The additional checksums S3 verifies; CRC64NVME is stored as sent, since nothing here computes it. */
const CHECKSUMS: Record<string, ((body: Buffer) => Buffer) | undefined> = {
  crc32: (body) => uint32(zlib.crc32(body)),
  crc32c: (body) => uint32(crc32c(body)),
  crc64nvme: undefined,
  sha1: (body) => crypto.createHash('sha1').update(body).digest(),
  sha256: (body) => crypto.createHash('sha256').update(body).digest(),
};

/**
 * S3's REST/XML API, path-style (`/bucket/key`), for what Lambda code signing needs: buckets,
 * versioning, and objects written and read by version.
 */
export class S3Service {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly account: AccountContext) {}

  operationOf(request: EmulatorRequest): string {
    const target = location(request.path);
    if (!target?.bucket) return 'Unknown';
    if (target.key === '') {
      const versioning = request.query.has('versioning');
      if (request.method === 'PUT') return versioning ? 'PutBucketVersioning' : 'CreateBucket';
      if (request.method === 'GET' && versioning) return 'GetBucketVersioning';
      return request.method === 'HEAD' ? 'HeadBucket' : 'Unknown';
    }
    if (request.method === 'PUT' && !request.headers['x-amz-copy-source']) return 'PutObject';
    return ({ GET: 'GetObject', HEAD: 'HeadObject' } as Record<string, string>)[request.method] ?? 'Unknown';
  }

  handle(call: Call): EmulatorResponse {
    const { request } = call;
    const { bucket = '', key = '' } = location(request.path) ?? {};
    switch (call.operation) {
      case 'CreateBucket':
        this.createBucket(bucket);
        return respond(200, { location: `/${bucket}` });
      case 'HeadBucket':
        this.bucket(bucket);
        return respond(200, { 'x-amz-bucket-region': this.account.region });
      case 'PutBucketVersioning':
        return this.putBucketVersioning(bucket, request);
      case 'GetBucketVersioning': {
        const status = this.bucket(bucket).versioning;
        return xml(
          200,
          `<VersioningConfiguration xmlns="${XMLNS}">${status ? `<Status>${status}</Status>` : ''}</VersioningConfiguration>`,
        );
      }
      case 'PutObject':
        return this.putObject(bucket, key, request);
      case 'GetObject':
      case 'HeadObject': {
        const object = this.get(bucket, key, request.query.get('versionId') ?? undefined);
        const headers = this.objectHeaders(object, request);
        return respond(200, headers, call.operation === 'GetObject' ? object.body : undefined);
      }
      default:
        throw new AwsError('NotImplemented', 'A header you provided implies functionality that is not implemented.', 501);
    }
  }

  createBucket(name: string): void {
    if (!BUCKET_NAME.test(name)) throw new AwsError('InvalidBucketName', 'The specified bucket is not valid.', 400, { BucketName: name });
    if (this.buckets.has(name)) {
      // us-east-1 answers 200 to the owner re-creating a bucket, for legacy compatibility; other regions refuse.
      if (this.account.region === 'us-east-1') return;
      throw new AwsError(
        'BucketAlreadyOwnedByYou',
        'Your previous request to create the named bucket succeeded and you already own it.',
        409,
        { BucketName: name },
      );
    }
    this.buckets.set(name, { name, objects: new Map() });
  }

  setVersioning(name: string, status: 'Enabled' | 'Suspended'): void {
    this.bucket(name).versioning = status;
  }

  put(name: string, key: string, body: Buffer, options: { contentType?: string; checksum?: StoredObject['checksum'] } = {}): StoredObject {
    const bucket = this.bucket(name);
    const object: StoredObject = {
      bucket: name,
      key,
      versionId: bucket.versioning === 'Enabled' ? crypto.randomBytes(24).toString('base64url') : 'null',
      body,
      etag: `"${crypto.createHash('md5').update(body).digest('hex')}"`,
      contentType: options.contentType ?? 'binary/octet-stream',
      lastModified: new Date(),
      checksum: options.checksum,
    };
    // Without versioning a write replaces the 'null' version; with it, older versions stay readable.
    const versions = (bucket.objects.get(key) ?? []).filter((version) => version.versionId !== object.versionId);
    bucket.objects.set(key, [...versions, object]);
    return object;
  }

  /** The object's latest version, or the one named; S3's NoSuchBucket, NoSuchKey or NoSuchVersion otherwise. */
  get(name: string, key: string, versionId?: string): StoredObject {
    const versions = this.bucket(name).objects.get(key) ?? [];
    if (versionId === undefined) {
      const latest = versions.at(-1);
      if (!latest) throw new AwsError('NoSuchKey', 'The specified key does not exist.', 404, { Key: key });
      return latest;
    }
    const version = versions.find((candidate) => candidate.versionId === versionId);
    if (!version) throw new AwsError('NoSuchVersion', 'The specified version does not exist.', 404, { Key: key, VersionId: versionId });
    return version;
  }

  isVersioned(name: string): boolean {
    return this.bucket(name).versioning !== undefined;
  }

  reset(): void {
    this.buckets.clear();
  }

  private bucket(name: string): Bucket {
    const bucket = this.buckets.get(name);
    if (!bucket) throw new AwsError('NoSuchBucket', 'The specified bucket does not exist', 404, { BucketName: name });
    return bucket;
  }

  private putBucketVersioning(name: string, request: EmulatorRequest): EmulatorResponse {
    const bucket = this.bucket(name);
    const { body } = verifiedBody(request);
    const status = /<Status>\s*([A-Za-z]+)\s*<\/Status>/.exec(body.toString('utf8'))?.[1];
    if (status !== 'Enabled' && status !== 'Suspended') {
      throw new AwsError('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema', 400);
    }
    bucket.versioning = status;
    return respond(200, {});
  }

  private putObject(name: string, key: string, request: EmulatorRequest): EmulatorResponse {
    this.bucket(name);
    const { body, checksum } = verifiedBody(request);
    const object = this.put(name, key, body, { contentType: headerValue(request, 'content-type'), checksum });
    const headers: Record<string, string> = { etag: object.etag, 'x-amz-server-side-encryption': 'AES256' };
    if (this.isVersioned(name)) headers['x-amz-version-id'] = object.versionId;
    if (checksum) headers[`x-amz-checksum-${checksum.algorithm}`] = checksum.value;
    return respond(200, headers);
  }

  private objectHeaders(object: StoredObject, request: EmulatorRequest): Record<string, string> {
    const headers: Record<string, string> = {
      'content-type': object.contentType,
      'content-length': String(object.body.length),
      etag: object.etag,
      'last-modified': object.lastModified.toUTCString(),
      'accept-ranges': 'bytes',
      'x-amz-server-side-encryption': 'AES256',
    };
    if (this.isVersioned(object.bucket)) headers['x-amz-version-id'] = object.versionId;
    // The SDK asks for the checksum (x-amz-checksum-mode) and then verifies the body against it.
    if (object.checksum && headerValue(request, 'x-amz-checksum-mode') === 'ENABLED') {
      headers[`x-amz-checksum-${object.checksum.algorithm}`] = object.checksum.value;
      headers['x-amz-checksum-type'] = 'FULL_OBJECT';
    }
    return headers;
  }
}

/** `/bucket/key/with/slashes` → its parts, decoded; undefined when the path is not valid percent-encoding. */
function location(path: string): { bucket: string; key: string } | undefined {
  const [, bucket = '', ...key] = path.split('/');
  try {
    return { bucket: decodeURIComponent(bucket), key: decodeURIComponent(key.join('/')) };
  } catch {
    return undefined;
  }
}

/**
 * The body as S3 stores it: aws-chunked uploads (what the SDK sends for a stream) are
 * unwrapped, and an additional checksum, in a header or a trailer, must match the bytes.
 */
function verifiedBody(request: EmulatorRequest): { body: Buffer; checksum?: StoredObject['checksum'] } {
  const chunked = (headerValue(request, 'content-encoding') ?? '').split(',').some((coding) => coding.trim() === 'aws-chunked');
  const { body, trailers } = chunked ? decodeAwsChunked(request) : { body: request.rawBody, trailers: {} };
  const name = [...Object.keys(request.headers), ...Object.keys(trailers)].find(
    (header) => header.startsWith('x-amz-checksum-') && Object.hasOwn(CHECKSUMS, header.slice('x-amz-checksum-'.length)),
  );
  if (!name) return { body };
  const algorithm = name.slice('x-amz-checksum-'.length);
  const value = trailers[name] ?? headerValue(request, name) ?? '';
  const compute = CHECKSUMS[algorithm];
  if (compute && compute(body).toString('base64') !== value) {
    throw new AwsError('BadDigest', `The ${algorithm.toUpperCase()} you specified did not match the calculated checksum.`, 400);
  }
  return { body, checksum: { algorithm, value } };
}

function decodeAwsChunked(request: EmulatorRequest): { body: Buffer; trailers: Record<string, string> } {
  const raw = request.rawBody;
  const incomplete = new AwsError('IncompleteBody', 'The request body terminated unexpectedly', 400);
  const chunks: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = raw.indexOf('\r\n', at);
    const size = eol < 0 ? Number.NaN : Number.parseInt(raw.subarray(at, eol).toString('latin1').split(';')[0] ?? '', 16);
    if (!Number.isInteger(size) || eol + 2 + size > raw.length) throw incomplete;
    at = eol + 2;
    if (size === 0) break;
    chunks.push(raw.subarray(at, at + size));
    at += size + 2;
  }
  const trailers: Record<string, string> = {};
  for (const line of raw.subarray(at).toString('latin1').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) trailers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const body = Buffer.concat(chunks);
  const declared = headerValue(request, 'x-amz-decoded-content-length');
  if (declared !== undefined && Number(declared) !== body.length) throw incomplete;
  return { body, trailers };
}

function uint32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value >>> 0);
  return out;
}

function respond(status: number, headers: Record<string, string>, body?: Buffer): EmulatorResponse {
  return { status, headers: { ...requestIds(), 'content-type': 'application/xml', ...headers }, body };
}

function xml(status: number, document: string): EmulatorResponse {
  return respond(status, {}, Buffer.from(`${XML_DECLARATION}${document}`));
}

function requestIds(): Record<string, string> {
  return {
    'x-amz-request-id': crypto.randomBytes(8).toString('hex').toUpperCase(),
    'x-amz-id-2': crypto.randomBytes(48).toString('base64'),
  };
}

/** S3's error document; a HEAD answer has none, as S3 sends none (the SDK then names the error by status). */
export function s3ErrorResponse(error: AwsError, method: string): EmulatorResponse {
  const ids = requestIds();
  if (method === 'HEAD') return { status: error.status, headers: { ...ids, 'content-type': 'application/xml' } };
  const elements = Object.entries({
    Code: error.code,
    Message: error.message,
    ...error.details,
    RequestId: ids['x-amz-request-id'],
    HostId: ids['x-amz-id-2'],
  })
    .map(([name, value]) => `<${name}>${escapeXml(value ?? '')}</${name}>`)
    .join('');
  return {
    status: error.status,
    headers: { ...ids, 'content-type': 'application/xml' },
    body: Buffer.from(`${XML_DECLARATION}<Error>${elements}</Error>`),
  };
}

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c] ?? c);
}
