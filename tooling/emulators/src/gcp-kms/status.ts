/*
 * google.rpc status codes as Cloud KMS answers them: the gRPC code on gRPC, and on REST the
 * HTTP status Google's API design guide maps it to, with the code's name in `error.status`.
 */

export const Code = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

const NAMES = Object.fromEntries(Object.entries(Code).map(([name, code]) => [code, name])) as Record<number, string>;

export function codeName(code: number): string {
  return NAMES[code] ?? 'UNKNOWN';
}

const HTTP_STATUS: Record<number, number> = {
  [Code.OK]: 200,
  [Code.CANCELLED]: 499,
  [Code.UNKNOWN]: 500,
  [Code.INVALID_ARGUMENT]: 400,
  [Code.DEADLINE_EXCEEDED]: 504,
  [Code.NOT_FOUND]: 404,
  [Code.ALREADY_EXISTS]: 409,
  [Code.PERMISSION_DENIED]: 403,
  [Code.RESOURCE_EXHAUSTED]: 429,
  [Code.FAILED_PRECONDITION]: 400,
  [Code.ABORTED]: 409,
  [Code.OUT_OF_RANGE]: 400,
  [Code.UNIMPLEMENTED]: 501,
  [Code.INTERNAL]: 500,
  [Code.UNAVAILABLE]: 503,
  [Code.DATA_LOSS]: 500,
  [Code.UNAUTHENTICATED]: 401,
};

export function httpStatusOf(code: number): number {
  return HTTP_STATUS[code] ?? 500;
}

/** The code an injected HTTP status stands for on gRPC. */
export function codeOfHttpStatus(status: number): number {
  if (status === 400) return Code.INVALID_ARGUMENT;
  if (status === 401) return Code.UNAUTHENTICATED;
  if (status === 403) return Code.PERMISSION_DENIED;
  if (status === 404) return Code.NOT_FOUND;
  if (status === 409) return Code.ABORTED;
  if (status === 429) return Code.RESOURCE_EXHAUSTED;
  if (status === 501) return Code.UNIMPLEMENTED;
  if (status === 503) return Code.UNAVAILABLE;
  if (status === 504) return Code.DEADLINE_EXCEEDED;
  return status >= 500 ? Code.INTERNAL : Code.UNKNOWN;
}

/** A failed call, in the service's own words; both transports render it. */
export class KmsError extends Error {
  constructor(
    readonly code: number,
    message: string,
    /** Sent as google.rpc.RetryInfo (and Retry-After on REST). */
    readonly retryDelaySeconds?: number,
  ) {
    super(message);
  }
}

/** The REST error body: `{error: {code, message, status, details}}`. */
export function restErrorBody(error: KmsError): unknown {
  const details =
    error.retryDelaySeconds === undefined
      ? undefined
      : [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${error.retryDelaySeconds}s` }];
  return { error: { code: httpStatusOf(error.code), message: error.message, status: codeName(error.code), details } };
}

/**
 * `grpc-status-details-bin`: a serialized google.rpc.Status whose details carry a RetryInfo,
 * which google-gax decodes into `error.statusDetails`. Hand-encoded: five small fields.
 */
export function statusDetailsBin(error: KmsError): Buffer | undefined {
  if (error.retryDelaySeconds === undefined) return undefined;
  const duration = field(1, varint(BigInt(Math.floor(error.retryDelaySeconds))), 0);
  const retryInfo = field(1, duration);
  const any = Buffer.concat([field(1, Buffer.from('type.googleapis.com/google.rpc.RetryInfo')), field(2, retryInfo)]);
  return Buffer.concat([field(1, varint(BigInt(error.code)), 0), field(2, Buffer.from(error.message)), field(3, any)]);
}

/** A protobuf field: wire type 0 (varint, already encoded) or 2 (length-delimited). */
function field(number: number, value: Buffer, wireType: 0 | 2 = 2): Buffer {
  const key = varint(BigInt((number << 3) | wireType));
  return wireType === 0 ? Buffer.concat([key, value]) : Buffer.concat([key, varint(BigInt(value.length)), value]);
}

function varint(value: bigint): Buffer {
  const bytes: number[] = [];
  let rest = value;
  do {
    let byte = Number(rest & 0x7fn);
    rest >>= 7n;
    if (rest > 0n) byte |= 0x80;
    bytes.push(byte);
  } while (rest > 0n);
  return Buffer.from(bytes);
}
