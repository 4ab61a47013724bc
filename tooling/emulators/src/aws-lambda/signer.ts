import crypto from 'node:crypto';
import type { EmulatorRequest } from '../http-emulator';
import { type AccountContext, AwsError, type Call, jsonObject, stringField } from './common';
import type { S3Service } from './s3';
import { archiveDigest, embedSignature, isZip } from './signed-zip';

/** The one platform this emulator signs for: Lambda's. */
export const LAMBDA_SIGNING_PLATFORM = 'AWSLambda-SHA384-ECDSA';
/** The custom fault: DescribeSigningJob reports the job still InProgress (real jobs take a while). */
export const SIGNING_JOB_IN_PROGRESS = 'signing-job-in-progress';

export interface EmulatedSigningProfile {
  name: string;
  arn: string;
  version: string;
  versionArn: string;
  platformId: string;
  signatureValidityPeriod: { value: number; type: 'DAYS' | 'MONTHS' | 'YEARS' };
  tags: Record<string, string>;
}

export interface EmulatedSigningJob {
  jobId: string;
  arn: string;
  profileName: string;
  profileVersion: string;
  profileVersionArn: string;
  source: { bucketName: string; key: string; version: string };
  status: 'Succeeded' | 'Failed';
  statusReason: string;
  signedObject?: { bucketName: string; key: string };
  /** SHA-384 of the whole signed archive (see signed-zip.ts): what Lambda's integrity check compares. */
  contentSha384?: string;
  createdAt: Date;
  signatureExpiresAt: Date;
  requestedBy: string;
}

export const SIGNER_OPERATIONS = new Set(['PutSigningProfile', 'GetSigningProfile', 'StartSigningJob', 'DescribeSigningJob']);

const PROFILE_NAME = /^[a-zA-Z0-9_]{2,64}$/;
const VALIDITY_TYPES = new Set(['DAYS', 'MONTHS', 'YEARS']);
const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * AWS Signer's REST/JSON API for Lambda code: signing profiles and signing jobs. A job runs
 * at once, reading the source object version from the emulated S3 and writing the signed
 * copy next to it, so DescribeSigningJob (and the SDK's waiter) sees it finished.
 */
export class SignerService {
  private readonly profiles = new Map<string, EmulatedSigningProfile>();
  private readonly jobs = new Map<string, EmulatedSigningJob>();
  /** clientRequestToken → jobId: StartSigningJob is idempotent per token. */
  private readonly tokens = new Map<string, string>();

  constructor(
    private readonly account: AccountContext,
    private readonly s3: S3Service,
  ) {}

  operationOf(request: EmulatorRequest): string {
    const [, collection, id, ...rest] = request.path.split('/');
    if (rest.length > 0) return 'Unknown';
    if (collection === 'signing-profiles' && id) {
      return ({ PUT: 'PutSigningProfile', GET: 'GetSigningProfile' } as Record<string, string>)[request.method] ?? 'Unknown';
    }
    if (collection === 'signing-jobs') {
      if (!id && request.method === 'POST') return 'StartSigningJob';
      if (id && request.method === 'GET') return 'DescribeSigningJob';
    }
    return 'Unknown';
  }

  async handle(call: Call, jobInProgress: boolean): Promise<unknown> {
    const id = decodeURIComponent(call.request.path.split('/')[2] ?? '');
    const input = jsonObject(call.request.json);
    switch (call.operation) {
      case 'PutSigningProfile':
        return this.putSigningProfile(id, input);
      case 'GetSigningProfile':
        return this.describeProfile(this.profile(id));
      case 'StartSigningJob':
        return this.startSigningJob(input, call.user);
      case 'DescribeSigningJob':
        return this.describeJob(id, jobInProgress);
      default:
        throw new AwsError('ValidationException', `The AWS Signer emulator does not implement ${call.request.method} ${call.request.path}`);
    }
  }

  job(jobId: string): EmulatedSigningJob | undefined {
    return this.jobs.get(jobId);
  }

  reset(): void {
    this.profiles.clear();
    this.jobs.clear();
    this.tokens.clear();
  }

  /** Putting a profile that exists makes a new profile version; signatures by the old one stay as they were. */
  private putSigningProfile(name: string, input: Record<string, unknown>): unknown {
    checkProfileName(name);
    const platformId = stringField(input, 'platformId');
    if (!platformId) throw validation('platformId');
    if (platformId !== LAMBDA_SIGNING_PLATFORM) {
      throw new AwsError(
        'ValidationException',
        `The AWS Signer emulator signs only for platform ${LAMBDA_SIGNING_PLATFORM}, not ${platformId}.`,
      );
    }
    const period = jsonObject(input.signatureValidityPeriod);
    const type = stringField(period, 'type') ?? 'MONTHS';
    const value = period.value ?? 135;
    if (!VALIDITY_TYPES.has(type) || !Number.isInteger(value) || (value as number) < 1) {
      throw new AwsError('ValidationException', 'signatureValidityPeriod must be a positive number of DAYS, MONTHS or YEARS.');
    }
    const arn = `arn:aws:signer:${this.account.region}:${this.account.accountId}:/signing-profiles/${name}`;
    const version = Array.from(crypto.randomBytes(10), (byte) => ALPHANUMERIC[byte % ALPHANUMERIC.length]).join('');
    const profile: EmulatedSigningProfile = {
      name,
      arn,
      version,
      versionArn: `${arn}/${version}`,
      platformId,
      signatureValidityPeriod: { value: value as number, type: type as EmulatedSigningProfile['signatureValidityPeriod']['type'] },
      tags: Object.fromEntries(Object.entries(jsonObject(input.tags)).map(([k, v]) => [k, String(v)])),
    };
    this.profiles.set(name, profile);
    return { arn, profileVersion: version, profileVersionArn: profile.versionArn };
  }

  private async startSigningJob(input: Record<string, unknown>, user: string): Promise<unknown> {
    const token = stringField(input, 'clientRequestToken');
    const earlier = token === undefined ? undefined : this.tokens.get(token);
    if (earlier) return { jobId: earlier, jobOwner: this.account.accountId };
    const profileName = stringField(input, 'profileName') ?? '';
    checkProfileName(profileName);
    const profile = this.profile(profileName);
    const sourceInput = jsonObject(jsonObject(input.source).s3);
    const source = {
      bucketName: stringField(sourceInput, 'bucketName') ?? '',
      key: stringField(sourceInput, 'key') ?? '',
      version: stringField(sourceInput, 'version') ?? '',
    };
    for (const [field, value] of Object.entries(source)) if (!value) throw validation(`source.s3.${field}`);
    const destinationInput = jsonObject(jsonObject(input.destination).s3);
    const destinationBucket = stringField(destinationInput, 'bucketName');
    if (!destinationBucket) throw validation('destination.s3.bucketName');
    const prefix = stringField(destinationInput, 'prefix') ?? '';

    const jobId = crypto.randomUUID();
    const createdAt = new Date();
    const job: EmulatedSigningJob = {
      jobId,
      arn: `arn:aws:signer:${this.account.region}:${this.account.accountId}:/signing-jobs/${jobId}`,
      profileName,
      profileVersion: profile.version,
      profileVersionArn: profile.versionArn,
      source,
      status: 'Succeeded',
      statusReason: 'Signing Succeeded',
      createdAt,
      signatureExpiresAt: expiry(createdAt, profile.signatureValidityPeriod),
      requestedBy: `arn:aws:iam::${this.account.accountId}:user/${user}`,
    };
    // A real job fails after it was accepted, so these surface as a Failed job, not as an error here.
    const signed = await this.signedCopy(source, jobId).catch((error: Error) => error);
    // A retry with the same token may have finished while this one was signing: it is that job.
    const raced = token === undefined ? undefined : this.tokens.get(token);
    if (raced) return { jobId: raced, jobOwner: this.account.accountId };
    try {
      if (signed instanceof Error) throw signed;
      // Measured on AWS: a .zip source signed for Lambda lands at prefix + jobId + '.zip'.
      const key = `${prefix}${jobId}${source.key.endsWith('.zip') ? '.zip' : ''}`;
      this.s3.put(destinationBucket, key, signed);
      job.signedObject = { bucketName: destinationBucket, key };
      job.contentSha384 = archiveDigest(signed);
    } catch (error) {
      job.status = 'Failed';
      job.statusReason = `Signing failed: ${(error as Error).message}`;
    }
    this.jobs.set(jobId, job);
    if (token !== undefined) this.tokens.set(token, jobId);
    return { jobId, jobOwner: this.account.accountId };
  }

  /** The source object version, signed by the job: the bytes to write to the destination. */
  private async signedCopy(source: EmulatedSigningJob['source'], jobId: string): Promise<Buffer> {
    if (!this.s3.isVersioned(source.bucketName)) throw new Error(`the source bucket ${source.bucketName} is not versioned`);
    const original = this.s3.get(source.bucketName, source.key, source.version).body;
    if (!(await isZip(original))) throw new Error(`s3://${source.bucketName}/${source.key} is not a ZIP archive`);
    return embedSignature(original, jobId);
  }

  private describeJob(jobId: string, inProgress: boolean): unknown {
    const job = this.jobs.get(jobId);
    if (!job) throw new AwsError('ResourceNotFoundException', `Signing job ${jobId} does not exist`, 404);
    const done = !inProgress;
    return {
      jobId,
      source: { s3: job.source },
      platformId: LAMBDA_SIGNING_PLATFORM,
      platformDisplayName: 'AWS Lambda',
      profileName: job.profileName,
      profileVersion: job.profileVersion,
      createdAt: epochSeconds(job.createdAt),
      ...(done ? { completedAt: epochSeconds(job.createdAt) } : {}),
      ...(done && job.signedObject
        ? { signedObject: { s3: job.signedObject }, signatureExpiresAt: epochSeconds(job.signatureExpiresAt) }
        : {}),
      requestedBy: job.requestedBy,
      status: done ? job.status : 'InProgress',
      ...(done ? { statusReason: job.statusReason } : {}),
      jobOwner: this.account.accountId,
      jobInvoker: this.account.accountId,
    };
  }

  private describeProfile(profile: EmulatedSigningProfile): unknown {
    return {
      profileName: profile.name,
      profileVersion: profile.version,
      profileVersionArn: profile.versionArn,
      platformId: profile.platformId,
      platformDisplayName: 'AWS Lambda',
      signatureValidityPeriod: profile.signatureValidityPeriod,
      status: 'Active',
      arn: profile.arn,
      tags: profile.tags,
    };
  }

  private profile(name: string): EmulatedSigningProfile {
    const profile = this.profiles.get(name);
    if (!profile) throw new AwsError('ResourceNotFoundException', `profile with name ${name} does not exist`, 404);
    return profile;
  }
}

function checkProfileName(name: string): void {
  if (!PROFILE_NAME.test(name)) {
    throw new AwsError(
      'ValidationException',
      `1 validation error detected: Value '${name}' at 'profileName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9_]{2,}`,
    );
  }
}

function validation(field: string): AwsError {
  return new AwsError(
    'ValidationException',
    `1 validation error detected: Value null at '${field}' failed to satisfy constraint: Member must not be null`,
  );
}

function expiry(from: Date, period: EmulatedSigningProfile['signatureValidityPeriod']): Date {
  const date = new Date(from);
  if (period.type === 'DAYS') date.setUTCDate(date.getUTCDate() + period.value);
  else date.setUTCMonth(date.getUTCMonth() + period.value * (period.type === 'YEARS' ? 12 : 1));
  return date;
}

function epochSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}
