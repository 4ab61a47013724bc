import crypto from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { type AuthFailure, type AwsCredentials, jsonAuthError, scopeService, verifySigV4 } from '../aws-sigv4';
import type { Fault } from '../faults';
import { type EmulatorRequest, type EmulatorResponse, HttpEmulator } from '../http-emulator';
import { type AccountContext, AwsError, type Call } from './common';
import { CODE_PATH, type CodeSigningWarning, type EmulatedFunction, type EmulatedLayerVersion, LambdaService } from './lambda';
import { S3_OPERATIONS, S3Service, type StoredObject, s3ErrorResponse } from './s3';
import { type EmulatedSigningJob, SIGNER_OPERATIONS, SIGNING_JOB_IN_PROGRESS, SignerService } from './signer';

type Service = 's3' | 'signer' | 'lambda';

/**
 * The three services Lambda code signing uses, on one port of 127.0.0.1: S3 (REST/XML,
 * path-style), AWS Signer and Lambda (REST/JSON), for the unmodified @aws-sdk/client-s3,
 * client-signer and client-lambda. A request goes to the service its SigV4 credential scope
 * names (an unsigned one by its path); every signature is recomputed with the caller's
 * secret. State is in memory and shared: Signer signs S3 object versions and writes the
 * signed copy to S3, and Lambda deploys code from S3 and checks it against Signer's jobs.
 *
 * S3: CreateBucket, HeadBucket, PutBucketVersioning, GetBucketVersioning, PutObject, GetObject, HeadObject.
 * Signer: PutSigningProfile, GetSigningProfile, StartSigningJob, DescribeSigningJob.
 * Lambda: CreateFunction, GetFunction, GetFunctionConfiguration, UpdateFunctionCode, PublishLayerVersion,
 * CreateCodeSigningConfig, GetCodeSigningConfig, Put/Get/DeleteFunctionCodeSigningConfig.
 */
export class AwsLambdaEmulator extends HttpEmulator {
  readonly service = 'AWS S3, Signer and Lambda';
  readonly region: string;
  readonly accountId: string;
  /** The credentials of the default principal (IAM user "signet-tests"). */
  readonly credentials: AwsCredentials;
  private readonly principals = new Map<string, AwsCredentials & { user: string }>();
  private readonly s3: S3Service;
  private readonly signer: SignerService;
  private readonly lambda: LambdaService;

  constructor(options: { region?: string; accountId?: string } = {}) {
    super();
    this.region = options.region ?? 'us-east-1';
    this.accountId = options.accountId ?? '111122223333';
    this.credentials = this.addPrincipal('signet-tests');
    const account: AccountContext = { region: this.region, accountId: this.accountId, url: () => this.url };
    this.s3 = new S3Service(account);
    this.signer = new SignerService(account, this.s3);
    this.lambda = new LambdaService(account, this.s3, this.signer);
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

  /** Creates a bucket directly (no request logged), versioned unless told otherwise, as Signer needs. */
  createBucket(name: string, options: { versioned?: boolean } = {}): void {
    this.s3.createBucket(name);
    if (options.versioned ?? true) this.s3.setVersioning(name, 'Enabled');
  }

  putObject(bucket: string, key: string, body: Buffer): StoredObject {
    return this.s3.put(bucket, key, body);
  }

  /** An object's latest version, or the one named; throws S3's NoSuchKey (etc.) as an error otherwise. */
  getObject(bucket: string, key: string, versionId?: string): StoredObject {
    return this.s3.get(bucket, key, versionId);
  }

  signingJob(jobId: string): EmulatedSigningJob | undefined {
    return this.signer.job(jobId);
  }

  /** A function by name or ARN, with the code it runs (`latest.zip`); throws when there is none. */
  lambdaFunction(reference: string): EmulatedFunction {
    return this.lambda.function(reference);
  }

  layerVersions(layerName: string): EmulatedLayerVersion[] {
    return this.lambda.layerVersions(layerName);
  }

  /** Deployments that failed a signature check, refused (Enforce) or only logged (Warn). */
  get codeSigningWarnings(): readonly CodeSigningWarning[] {
    return this.lambda.warnings;
  }

  /** Forgets buckets, profiles, jobs, functions, layers, configs, warnings, faults and the request log (principals stay). */
  reset(): void {
    this.s3.reset();
    this.signer.reset();
    this.lambda.reset();
    this.faults.clear();
    this.requests.length = 0;
  }

  protected operationOf(request: EmulatorRequest): string {
    if (request.method === 'GET' && request.path.startsWith(CODE_PATH)) return 'DownloadLambdaCode';
    const service = serviceOf(request);
    return (service === 's3' ? this.s3 : service === 'signer' ? this.signer : this.lambda).operationOf(request);
  }

  protected faultResponse(fault: Exclude<Fault, { kind: 'latency' | 'drop' }>, operation: string): EmulatorResponse {
    const service: Service = S3_OPERATIONS.has(operation) ? 's3' : SIGNER_OPERATIONS.has(operation) ? 'signer' : 'lambda';
    const status = fault.kind === 'status' ? fault.status : service === 's3' ? 503 : 429;
    const code =
      fault.kind === 'throttle' ? THROTTLING[service] : (FAULT_CODES[service][status] ?? FAULT_CODES[service][status >= 500 ? 500 : 400]);
    const message = (fault.kind === 'status' ? fault.message : undefined) ?? `injected ${code}`;
    const response = errorResponse(service, new AwsError(code ?? 'InternalError', message, status), 'GET');
    if (fault.kind === 'throttle' && fault.retryAfterSeconds !== undefined) {
      response.headers = { ...response.headers, 'retry-after': String(fault.retryAfterSeconds) };
    }
    return response;
  }

  protected async handle(
    request: EmulatorRequest,
    operation: string,
    fault?: Extract<Fault, { kind: 'corrupt' | 'custom' }>,
  ): Promise<EmulatorResponse> {
    if (fault?.kind === 'custom' && fault.name !== SIGNING_JOB_IN_PROGRESS) {
      throw new Error(`the AWS Lambda emulator has no custom fault "${fault.name}"; it knows "${SIGNING_JOB_IN_PROGRESS}"`);
    }
    if (operation === 'DownloadLambdaCode') {
      // Like the presigned URL real Lambda hands out: whoever has the URL may read the code.
      const zip = this.lambda.blob(request.path.slice(CODE_PATH.length));
      return zip ? { status: 200, headers: { 'content-type': 'application/zip' }, body: zip } : { status: 404, body: 'no such code' };
    }
    const service = serviceOf(request);
    try {
      const auth = await verifySigV4(request, this.principals, { region: this.region, service });
      if ('kind' in auth) throw authError(service, auth, this.region);
      const call: Call = { request, operation, user: this.principals.get(auth.accessKeyId)?.user ?? 'unknown' };
      const response = await this.perform(service, call, fault?.kind === 'custom');
      return fault?.kind === 'corrupt' ? corrupted(response) : response;
    } catch (error) {
      if (error instanceof URIError)
        return errorResponse(service, new AwsError(VALIDATION[service], 'The request path is not valid percent-encoding.'), request.method);
      if (error instanceof AwsError) return errorResponse(service, error, request.method);
      throw error;
    }
  }

  private async perform(service: Service, call: Call, jobInProgress: boolean): Promise<EmulatorResponse> {
    if (service === 's3') return this.s3.handle(call);
    const { status, body } =
      service === 'signer' ? { status: 200, body: await this.signer.handle(call, jobInProgress) } : await this.lambda.handle(call);
    return { status, headers: jsonHeaders(), body: body === undefined ? undefined : JSON.stringify(body) };
  }
}

/** The service a request is for: its credential scope's, or for an unsigned request, its path's. */
function serviceOf(request: EmulatorRequest): Service {
  const scope = scopeService(request);
  if (scope === 's3' || scope === 'signer' || scope === 'lambda') return scope;
  if (/^\/20\d\d-\d\d-\d\d\//.test(request.path)) return 'lambda';
  if (/^\/signing-(profiles|jobs)(\/|$)/.test(request.path)) return 'signer';
  return 's3';
}

const THROTTLING: Record<Service, string> = { s3: 'SlowDown', signer: 'TooManyRequestsException', lambda: 'TooManyRequestsException' };
const VALIDATION: Record<Service, string> = { s3: 'InvalidURI', signer: 'ValidationException', lambda: 'InvalidParameterValueException' };
const FAULT_CODES: Record<Service, Record<number, string>> = {
  s3: { 400: 'InvalidRequest', 403: 'AccessDenied', 404: 'NoSuchKey', 500: 'InternalError', 503: 'SlowDown' },
  signer: {
    400: 'ValidationException',
    403: 'AccessDeniedException',
    404: 'ResourceNotFoundException',
    429: 'TooManyRequestsException',
    500: 'InternalServiceErrorException',
  },
  lambda: {
    400: 'InvalidParameterValueException',
    403: 'AccessDeniedException',
    404: 'ResourceNotFoundException',
    429: 'TooManyRequestsException',
    500: 'ServiceException',
  },
};

/** A refused signature, in the words of the service that refused it. */
function authError(service: Service, failure: AuthFailure, region: string): AwsError {
  if (service === 's3') {
    switch (failure.kind) {
      case 'missing':
        return new AwsError('AccessDenied', 'Access Denied', 403);
      case 'unknown-key':
        return new AwsError('InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.', 403);
      case 'invalid-token':
        return new AwsError('InvalidToken', 'The provided token is malformed or otherwise invalid.', 400);
      case 'wrong-region':
        return new AwsError(
          'AuthorizationHeaderMalformed',
          `The authorization header is malformed; the region '${failure.region}' is wrong; expecting '${region}'`,
          400,
          { Region: region },
        );
      case 'expired':
        return new AwsError('RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.', 403);
      case 'payload-hash':
        return new AwsError(
          'XAmzContentSHA256Mismatch',
          "The provided 'x-amz-content-sha256' header does not match what was computed.",
          400,
        );
      case 'unsupported-payload':
        return new AwsError('NotImplemented', `The AWS S3 emulator does not accept x-amz-content-sha256: ${failure.payload}`, 501);
      case 'signature':
        return new AwsError(
          'SignatureDoesNotMatch',
          'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
          403,
        );
      default:
        return new AwsError('AuthorizationHeaderMalformed', 'The authorization header is malformed.', 400);
    }
  }
  if (failure.kind === 'malformed' || failure.kind === 'bad-date') {
    // Signer and Lambda answer both with one message, where KMS words each on its own.
    return new AwsError(
      'IncompleteSignatureException',
      'Authorization header requires Credential, SignedHeaders, Signature and a valid X-Amz-Date.',
      403,
    );
  }
  const { type, message } = jsonAuthError(failure, service);
  return new AwsError(type, message, 403);
}

/** S3's XML error document, or a REST/JSON error: the type in x-amzn-errortype, Signer's body `message`, Lambda's `Type`/`Message`. */
function errorResponse(service: Service, error: AwsError, method: string): EmulatorResponse {
  if (service === 's3') return s3ErrorResponse(error, method);
  const body = service === 'lambda' ? { Type: 'User', Message: error.message } : { message: error.message };
  return { status: error.status, headers: { ...jsonHeaders(), 'x-amzn-errortype': error.code }, body: JSON.stringify(body) };
}

function jsonHeaders(): Record<string, string> {
  return { 'content-type': 'application/json', 'x-amzn-requestid': crypto.randomUUID() };
}

/** A damaged answer: an object's bytes with one bit flipped (its checksum no longer matches), a JSON body cut short. */
function corrupted(response: EmulatorResponse): EmulatorResponse {
  if (Buffer.isBuffer(response.body) && response.body.length > 0 && response.headers?.['content-type'] !== 'application/xml') {
    const body = Buffer.from(response.body);
    body.writeUInt8((body.at(-1) ?? 0) ^ 1, body.length - 1);
    return { ...response, body };
  }
  const text = Buffer.isBuffer(response.body) || typeof response.body === 'string' ? response.body.toString() : '';
  return { ...response, body: text.slice(0, Math.max(1, Math.floor(text.length / 2))) };
}

/**
 * The environment that points a child process using the AWS SDK's default chain at the
 * emulator, as the given principal. The SDK reads a service's endpoint from
 * AWS_ENDPOINT_URL_<serviceId> (serviceIds "S3", "signer", "Lambda", upper-cased).
 * Path-style S3 needs no variable (the JS SDK v3 has none: forcePathStyle is constructor-only):
 * its endpoint rules address buckets by path whenever the endpoint host is an IP address.
 * Shared config files are pointed at paths that do not exist and AWS_PROFILE is removed, so
 * nothing on the machine (~/.aws, a profile, instance metadata) takes part.
 */
export function envFor(
  emulator: AwsLambdaEmulator,
  credentials: AwsCredentials = emulator.credentials,
): Record<string, string | undefined> {
  const nowhere = path.join(os.tmpdir(), 'signet-aws-lambda-emulator-no-such-file');
  return {
    AWS_ENDPOINT_URL_S3: emulator.url,
    AWS_ENDPOINT_URL_SIGNER: emulator.url,
    AWS_ENDPOINT_URL_LAMBDA: emulator.url,
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
