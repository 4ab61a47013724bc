// The S3 + Signer + Lambda emulator against the real @aws-sdk clients: SigV4 checked, objects
// by version, signing jobs the SDK's waiter sees finish, and Lambda's code signing checks.
import crypto from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import {
  CreateCodeSigningConfigCommand,
  CreateFunctionCommand,
  GetFunctionCodeSigningConfigCommand,
  GetFunctionCommand,
  GetFunctionConfigurationCommand,
  LambdaClient,
  PublishLayerVersionCommand,
  PutFunctionCodeSigningConfigCommand,
  UpdateFunctionCodeCommand,
} from '@aws-sdk/client-lambda';
import {
  CreateBucketCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import {
  DescribeSigningJobCommand,
  GetSigningProfileCommand,
  PutSigningProfileCommand,
  SignerClient,
  StartSigningJobCommand,
  waitUntilSuccessfulSigningJob,
} from '@aws-sdk/client-signer';
import yauzl from 'yauzl';
import yazl from 'yazl';
import type { AwsCredentials } from '../src/aws-kms';
import { AwsLambdaEmulator, envFor, SIGNING_JOB_IN_PROGRESS } from '../src/aws-lambda';

const aws = new AwsLambdaEmulator();
beforeAll(() => aws.start());
afterAll(() => aws.stop());
afterEach(() => aws.reset());

// The SDK's notice that its 2027 releases need Node 22 is not what these tests are about.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

function clients(credentials: AwsCredentials = aws.credentials) {
  const config = { endpoint: aws.url, region: aws.region, credentials, maxAttempts: 1 };
  return { s3: new S3Client({ ...config, forcePathStyle: true }), signer: new SignerClient(config), lambda: new LambdaClient(config) };
}

async function failure(promise: Promise<unknown>): Promise<{ name: string; message: string; status?: number }> {
  try {
    await promise;
  } catch (error) {
    const e = error as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, message: e.message, status: e.$metadata?.httpStatusCode };
  }
  throw new Error('expected the call to fail');
}

/** DOS timestamps count in 2-second steps: an even second survives every zip timestamp format. */
const MTIME = new Date('2024-05-06T07:08:10Z');

/** A zip written by yazl: `build` adds the entries. */
async function archiveOf(build: (zipfile: yazl.ZipFile) => void): Promise<Buffer> {
  const zipfile = new yazl.ZipFile();
  const bytes = buffer(zipfile.outputStream);
  build(zipfile);
  zipfile.end();
  return bytes;
}

/** A one-file zip, stored uncompressed: enough of an archive for Signer and Lambda. */
function zipOf(name: string, content: string): Promise<Buffer> {
  return archiveOf((zipfile) => zipfile.addBuffer(Buffer.from(content), name, { mtime: MTIME, mode: 0o100644, compress: false }));
}

/** What yauzl reads from a zip: its comment, and each entry's name, content, mtime, mode and compression. */
async function unzip(zip: Buffer) {
  const zipfile = await new Promise<yauzl.ZipFile>((resolve, reject) =>
    yauzl.fromBuffer(zip, { lazyEntries: true }, (error, opened) => (error ? reject(error) : resolve(opened))),
  );
  const entries: { name: string; content: string; mtime: Date; mode: number; compressed: boolean }[] = [];
  await new Promise<void>((resolve, reject) => {
    zipfile.on('error', reject).on('end', resolve);
    zipfile.on('entry', (entry: yauzl.Entry) =>
      zipfile.openReadStream(entry, (error, stream) => {
        if (error) return reject(error);
        buffer(stream).then((content) => {
          entries.push({
            name: entry.fileName,
            content: content.toString(),
            mtime: entry.getLastModDate(),
            mode: entry.externalFileAttributes >>> 16,
            compressed: entry.compressionMethod !== 0,
          });
          zipfile.readEntry();
        }, reject);
      }),
    );
    zipfile.readEntry();
  });
  return { comment: zipfile.comment, entries };
}

const sha256 = (bytes: Buffer) => crypto.createHash('sha256').update(bytes).digest('base64');
const ROLE = 'arn:aws:iam::111122223333:role/lambda-exec';

async function createFunction(name: string, zip: Buffer, codeSigningConfigArn?: string) {
  return clients().lambda.send(
    new CreateFunctionCommand({
      FunctionName: name,
      Runtime: 'nodejs20.x',
      Handler: 'index.handler',
      Role: ROLE,
      Code: { ZipFile: zip },
      CodeSigningConfigArn: codeSigningConfigArn,
    }),
  );
}

/** Uploads the zip to a versioned bucket and has Signer sign it with the profile; resolves to the signed object. */
async function signedUpload(profileName: string, key: string, zip: Buffer) {
  const { s3, signer } = clients();
  const put = await s3.send(new PutObjectCommand({ Bucket: 'code', Key: key, Body: zip }));
  const { jobId = '' } = await signer.send(
    new StartSigningJobCommand({
      profileName,
      source: { s3: { bucketName: 'code', key, version: put.VersionId } },
      destination: { s3: { bucketName: 'code', prefix: 'signed/' } },
    }),
  );
  await waitUntilSuccessfulSigningJob({ client: signer, maxWaitTime: 10, minDelay: 1, maxDelay: 2 }, { jobId });
  const job = await signer.send(new DescribeSigningJobCommand({ jobId }));
  return {
    jobId,
    sourceVersion: put.VersionId ?? '',
    bucket: job.signedObject?.s3?.bucketName ?? '',
    key: job.signedObject?.s3?.key ?? '',
  };
}

async function profile(name: string): Promise<string> {
  const out = await clients().signer.send(new PutSigningProfileCommand({ profileName: name, platformId: 'AWSLambda-SHA384-ECDSA' }));
  return out.profileVersionArn ?? '';
}

async function codeSigningConfig(profileVersionArn: string, policy: 'Enforce' | 'Warn'): Promise<string> {
  const out = await clients().lambda.send(
    new CreateCodeSigningConfigCommand({
      AllowedPublishers: { SigningProfileVersionArns: [profileVersionArn] },
      CodeSigningPolicies: { UntrustedArtifactOnDeployment: policy },
    }),
  );
  return out.CodeSigningConfig?.CodeSigningConfigArn ?? '';
}

describe('S3', () => {
  test('a versioned bucket: PutObject answers ETag and version ID, GetObject reads each version back', async () => {
    const { s3 } = clients();
    await s3.send(new CreateBucketCommand({ Bucket: 'artifacts' }));
    await s3.send(new PutBucketVersioningCommand({ Bucket: 'artifacts', VersioningConfiguration: { Status: 'Enabled' } }));
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: 'artifacts' }))).Status).toBe('Enabled');
    const first = await s3.send(new PutObjectCommand({ Bucket: 'artifacts', Key: 'dir/fn one.zip', Body: Buffer.from('one') }));
    const second = await s3.send(new PutObjectCommand({ Bucket: 'artifacts', Key: 'dir/fn one.zip', Body: Buffer.from('two') }));
    expect(first.ETag).toBe(`"${crypto.createHash('md5').update('one').digest('hex')}"`);
    expect(first.VersionId).toBeTruthy();
    expect(second.VersionId).not.toBe(first.VersionId);
    const read = async (VersionId?: string) =>
      (await s3.send(new GetObjectCommand({ Bucket: 'artifacts', Key: 'dir/fn one.zip', VersionId }))).Body?.transformToString();
    expect(await read()).toBe('two');
    expect(await read(first.VersionId)).toBe('one');
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'artifacts', Key: 'dir/fn one.zip', VersionId: first.VersionId }));
    expect([head.ContentLength, head.VersionId]).toEqual([3, first.VersionId]);
    expect(aws.calls('PutObject').at(-1)?.path).toBe('/artifacts/dir/fn%20one.zip');
  });

  test('a streamed body arrives aws-chunked with a trailing CRC32, and the SDK checks the CRC32 GetObject returns', async () => {
    const { s3 } = clients();
    aws.createBucket('streams');
    const body = Readable.from([Buffer.from('hello, '), Buffer.from('chunked world')]);
    const put = await s3.send(new PutObjectCommand({ Bucket: 'streams', Key: 'k', Body: body, ContentLength: 20 }));
    expect(aws.calls('PutObject').at(-1)?.headers['content-encoding']).toBe('aws-chunked');
    expect(aws.getObject('streams', 'k').body.toString()).toBe('hello, chunked world');
    const got = await s3.send(new GetObjectCommand({ Bucket: 'streams', Key: 'k' }));
    expect([got.ChecksumCRC32, put.ChecksumCRC32]).toEqual([put.ChecksumCRC32, expect.any(String)]);
    expect(await got.Body?.transformToString()).toBe('hello, chunked world');
    aws.faults.add({ fault: { kind: 'corrupt' }, operation: 'GetObject' });
    const damaged = await s3.send(new GetObjectCommand({ Bucket: 'streams', Key: 'k' }));
    await expect(damaged.Body?.transformToString()).rejects.toThrow(/checksum/i);
  });

  test('errors in S3 shapes: NoSuchBucket, NoSuchKey, NoSuchVersion, and a bodiless 404 for HEAD', async () => {
    const { s3 } = clients();
    aws.createBucket('errors');
    expect(await failure(s3.send(new GetObjectCommand({ Bucket: 'nope', Key: 'k' })))).toMatchObject({ name: 'NoSuchBucket', status: 404 });
    expect(await failure(s3.send(new GetObjectCommand({ Bucket: 'errors', Key: 'k' })))).toMatchObject({
      name: 'NoSuchKey',
      message: 'The specified key does not exist.',
    });
    aws.putObject('errors', 'k', Buffer.from('x'));
    expect(await failure(s3.send(new GetObjectCommand({ Bucket: 'errors', Key: 'k', VersionId: 'gone' })))).toMatchObject({
      name: 'NoSuchVersion',
    });
    expect(await failure(s3.send(new HeadObjectCommand({ Bucket: 'errors', Key: 'missing' })))).toMatchObject({
      name: 'NotFound',
      status: 404,
    });
  });
});

describe('Signer', () => {
  test('a profile, a job the waiter sees succeed, and a signed copy that is a zip distinct from its source', async () => {
    const { s3, signer } = clients();
    aws.createBucket('code');
    const put = await profile('signet_functions');
    const got = await signer.send(new GetSigningProfileCommand({ profileName: 'signet_functions' }));
    expect(got).toMatchObject({ profileVersionArn: put, platformId: 'AWSLambda-SHA384-ECDSA', status: 'Active' });
    expect(put).toMatch(new RegExp(`^arn:aws:signer:${aws.region}:${aws.accountId}:/signing-profiles/signet_functions/[a-zA-Z0-9]{10}$`));

    const zip = await zipOf('index.js', 'exports.handler = async () => 1;');
    const signed = await signedUpload('signet_functions', 'fn.zip', zip);
    expect(signed).toMatchObject({ bucket: 'code', key: `signed/${signed.jobId}.zip` });
    const job = await signer.send(new DescribeSigningJobCommand({ jobId: signed.jobId }));
    expect(job).toMatchObject({
      status: 'Succeeded',
      profileName: 'signet_functions',
      profileVersion: got.profileVersion,
      source: { s3: { bucketName: 'code', key: 'fn.zip', version: signed.sourceVersion } },
      jobOwner: aws.accountId,
      platformId: 'AWSLambda-SHA384-ECDSA',
    });
    expect(job.createdAt).toBeInstanceOf(Date);
    const copy = await s3.send(new GetObjectCommand({ Bucket: signed.bucket, Key: signed.key }));
    const bytes = Buffer.from((await copy.Body?.transformToByteArray()) ?? []);
    expect(bytes.subarray(0, 4).readUInt32LE()).toBe(0x04034b50);
    expect(bytes.equals(zip)).toBe(false);
    expect(copy.VersionId).toBeTruthy();
    expect(await unzip(bytes)).toEqual({ comment: expect.stringContaining(signed.jobId), entries: (await unzip(zip)).entries });
  });

  test('the signed copy keeps every entry: names, contents, modification times, modes and compression', async () => {
    aws.createBucket('code');
    await profile('signet_functions');
    const zip = await archiveOf((zipfile) => {
      zipfile.addEmptyDirectory('lib/', { mtime: MTIME, mode: 0o40755 });
      zipfile.addBuffer(Buffer.from('#!/bin/sh\necho hi\n'), 'bootstrap', { mtime: new Date('2023-01-02T03:04:06Z'), mode: 0o100755 });
      zipfile.addBuffer(Buffer.from('x'.repeat(1000)), 'lib/data.txt', { mtime: MTIME, mode: 0o100600, compress: true });
      zipfile.addBuffer(Buffer.from('stored'), 'lib/stored.txt', { mtime: MTIME, mode: 0o100644, compress: false });
    });
    const source = await unzip(zip);
    expect(source.entries.map((entry) => [entry.name, entry.mode, entry.compressed])).toEqual([
      ['lib/', 0o40755, false],
      ['bootstrap', 0o100755, true],
      ['lib/data.txt', 0o100600, true],
      ['lib/stored.txt', 0o100644, false],
    ]);
    const signed = await signedUpload('signet_functions', 'fn.zip', zip);
    const copy = await unzip(aws.getObject(signed.bucket, signed.key).body);
    expect(copy.entries).toEqual(source.entries);
    expect([source.comment, copy.comment]).toEqual(['', expect.stringContaining(signed.jobId)]);
  });

  test('the waiter polls a job still in progress; a job whose source is missing fails', async () => {
    const { signer } = clients();
    aws.createBucket('code');
    await profile('signet_functions');
    aws.faults.add({ fault: { kind: 'custom', name: SIGNING_JOB_IN_PROGRESS }, operation: 'DescribeSigningJob', times: 1 });
    const signed = await signedUpload('signet_functions', 'fn.zip', await zipOf('a.js', 'a'));
    expect(aws.calls('DescribeSigningJob').map((call) => call.fault)).toEqual(['custom', undefined, undefined]);
    expect(signed.key).toBe(`signed/${signed.jobId}.zip`);

    const { jobId = '' } = await signer.send(
      new StartSigningJobCommand({
        profileName: 'signet_functions',
        source: { s3: { bucketName: 'code', key: 'missing.zip', version: 'v1' } },
        destination: { s3: { bucketName: 'code', prefix: 'signed/' } },
      }),
    );
    await expect(waitUntilSuccessfulSigningJob({ client: signer, maxWaitTime: 5, minDelay: 1 }, { jobId })).rejects.toThrow(/FAILURE/);
    expect(aws.signingJob(jobId)).toMatchObject({ status: 'Failed', statusReason: expect.stringContaining('does not exist') });
  });

  test('errors: an unknown profile, a platform other than Lambda', async () => {
    const { signer } = clients();
    expect(await failure(signer.send(new GetSigningProfileCommand({ profileName: 'none_here' })))).toMatchObject({
      name: 'ResourceNotFoundException',
      message: 'profile with name none_here does not exist',
      status: 404,
    });
    expect(
      await failure(signer.send(new PutSigningProfileCommand({ profileName: 'iot', platformId: 'AWSIoTDeviceManagement-SHA256-ECDSA' }))),
    ).toMatchObject({ name: 'ValidationException', status: 400 });
  });
});

describe('Lambda', () => {
  test('CreateFunction and UpdateFunctionCode report the zip’s base64 SHA-256; GetFunction’s Location serves the code', async () => {
    const { lambda } = clients();
    const first = await zipOf('index.js', 'v1');
    const created = await createFunction('hello', first);
    expect(created).toMatchObject({
      FunctionName: 'hello',
      FunctionArn: `arn:aws:lambda:${aws.region}:${aws.accountId}:function:hello`,
      CodeSha256: sha256(first),
      CodeSize: first.length,
      State: 'Pending',
    });
    const second = await zipOf('index.js', 'v2');
    const updated = await lambda.send(new UpdateFunctionCodeCommand({ FunctionName: 'hello', ZipFile: second, Publish: true }));
    expect(updated).toMatchObject({ CodeSha256: sha256(second), Version: '1', LastUpdateStatus: 'InProgress' });
    const config = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: created.FunctionArn }));
    expect(config).toMatchObject({ CodeSha256: sha256(second), State: 'Active', LastUpdateStatus: 'Successful' });
    const got = await lambda.send(new GetFunctionCommand({ FunctionName: 'hello' }));
    const download = Buffer.from(await (await fetch(got.Code?.Location ?? '')).arrayBuffer());
    expect(download.equals(second)).toBe(true);
    expect(await failure(createFunction('hello', first))).toMatchObject({ name: 'ResourceConflictException', status: 409 });
  });

  test('code from S3 by version, PublishLayerVersion, and Lambda’s error shapes', async () => {
    const { lambda } = clients();
    aws.createBucket('code');
    const zip = await zipOf('lib.js', 'layer');
    const { versionId } = aws.putObject('code', 'layer.zip', zip);
    aws.putObject('code', 'layer.zip', await zipOf('lib.js', 'newer'));
    const layer = await lambda.send(
      new PublishLayerVersionCommand({
        LayerName: 'shared',
        Content: { S3Bucket: 'code', S3Key: 'layer.zip', S3ObjectVersion: versionId },
      }),
    );
    expect(layer).toMatchObject({
      Version: 1,
      LayerVersionArn: `arn:aws:lambda:${aws.region}:${aws.accountId}:layer:shared:1`,
      Content: { CodeSha256: sha256(zip), CodeSize: zip.length },
    });
    const again = await lambda.send(new PublishLayerVersionCommand({ LayerName: 'shared', Content: { ZipFile: zip } }));
    expect(again.Version).toBe(2);

    expect(await failure(lambda.send(new GetFunctionCommand({ FunctionName: 'absent' })))).toEqual({
      name: 'ResourceNotFoundException',
      message: `Function not found: arn:aws:lambda:${aws.region}:${aws.accountId}:function:absent`,
      status: 404,
    });
    await createFunction('from_s3', zip);
    expect(
      await failure(lambda.send(new UpdateFunctionCodeCommand({ FunctionName: 'from_s3', S3Bucket: 'code', S3Key: 'no-such.zip' }))),
    ).toMatchObject({ name: 'InvalidParameterValueException', message: expect.stringContaining('S3 Error Code: NoSuchKey') });
    expect(
      await failure(lambda.send(new UpdateFunctionCodeCommand({ FunctionName: 'from_s3', ZipFile: Buffer.from('not a zip') }))),
    ).toMatchObject({
      name: 'InvalidParameterValueException',
      message: expect.stringContaining('Could not unzip'),
    });
  });
});

describe('code signing', () => {
  test('Enforce: the signed object deploys; unsigned code, the unsigned source and another profile’s signature are refused', async () => {
    const { lambda } = clients();
    aws.createBucket('code');
    const allowed = await profile('signet_prod');
    await profile('someone_else');
    const config = await codeSigningConfig(allowed, 'Enforce');
    await createFunction('guarded', await zipOf('index.js', 'before'));
    await lambda.send(new PutFunctionCodeSigningConfigCommand({ FunctionName: 'guarded', CodeSigningConfigArn: config }));
    expect((await lambda.send(new GetFunctionCodeSigningConfigCommand({ FunctionName: 'guarded' }))).CodeSigningConfigArn).toBe(config);

    const zip = await zipOf('index.js', 'signed release');
    const signed = await signedUpload('signet_prod', 'release.zip', zip);
    const deployed = await lambda.send(
      new UpdateFunctionCodeCommand({ FunctionName: 'guarded', S3Bucket: signed.bucket, S3Key: signed.key }),
    );
    const signedBytes = aws.getObject(signed.bucket, signed.key).body;
    expect(deployed).toMatchObject({
      CodeSha256: sha256(signedBytes),
      SigningProfileVersionArn: allowed,
      SigningJobArn: `arn:aws:signer:${aws.region}:${aws.accountId}:/signing-jobs/${signed.jobId}`,
    });

    const refused = {
      name: 'CodeVerificationFailedException',
      status: 400,
      message: `Lambda cannot deploy the function. The function or layer might be signed using a signature that the client is not configured to accept. Check the provided signature for arn:aws:lambda:${aws.region}:${aws.accountId}:function:guarded.`,
    };
    expect(
      await failure(lambda.send(new UpdateFunctionCodeCommand({ FunctionName: 'guarded', ZipFile: await zipOf('index.js', 'unsigned') }))),
    ).toEqual(refused);
    expect(
      await failure(
        lambda.send(
          new UpdateFunctionCodeCommand({
            FunctionName: 'guarded',
            S3Bucket: 'code',
            S3Key: 'release.zip',
            S3ObjectVersion: signed.sourceVersion,
          }),
        ),
      ),
    ).toEqual(refused);
    const foreign = await signedUpload('someone_else', 'foreign.zip', await zipOf('index.js', 'foreign'));
    expect(
      await failure(lambda.send(new UpdateFunctionCodeCommand({ FunctionName: 'guarded', S3Bucket: foreign.bucket, S3Key: foreign.key }))),
    ).toEqual(refused);
    expect(aws.codeSigningWarnings.map((w) => [w.reason, w.blocked])).toEqual([
      ['unsigned', true],
      ['unsigned', true],
      ['untrusted-profile', true],
    ]);
    expect(aws.lambdaFunction('guarded').latest.codeSha256).toBe(sha256(signedBytes));
  });

  test('a signed zip changed after signing fails the integrity check, even under Warn', async () => {
    aws.createBucket('code');
    const allowed = await profile('signet_prod');
    const config = await codeSigningConfig(allowed, 'Warn');
    const signed = await signedUpload('signet_prod', 'release.zip', await zipOf('index.js', 'original'));
    const bytes = Buffer.from(aws.getObject(signed.bucket, signed.key).body);
    bytes.write('X', 30 + 'index.js'.length);
    expect(await failure(createFunction('tampered', bytes, config))).toMatchObject({ name: 'InvalidCodeSignatureException', status: 400 });
    await expect(createFunction('intact', aws.getObject(signed.bucket, signed.key).body, config)).resolves.toMatchObject({
      SigningProfileVersionArn: allowed,
    });
  });

  test('Warn: unsigned code deploys, and the warning is logged', async () => {
    const allowed = await profile('signet_prod');
    const config = await codeSigningConfig(allowed, 'Warn');
    const zip = await zipOf('index.js', 'unsigned');
    await expect(createFunction('lenient', zip, config)).resolves.toMatchObject({ CodeSha256: sha256(zip) });
    expect(aws.codeSigningWarnings).toEqual([
      expect.objectContaining({
        resourceArn: aws.lambdaFunction('lenient').arn,
        codeSigningConfigArn: config,
        reason: 'unsigned',
        blocked: false,
      }),
    ]);
  });
});

describe('SigV4', () => {
  test('the wrong secret is refused by each service in its own words; the secret never reaches the log', async () => {
    const wrong = clients({ accessKeyId: aws.credentials.accessKeyId, secretAccessKey: 'not-the-secret' });
    aws.createBucket('code');
    expect(await failure(wrong.s3.send(new GetObjectCommand({ Bucket: 'code', Key: 'k' })))).toMatchObject({
      name: 'SignatureDoesNotMatch',
      status: 403,
    });
    expect(await failure(wrong.signer.send(new GetSigningProfileCommand({ profileName: 'any_profile' })))).toMatchObject({
      name: 'InvalidSignatureException',
      status: 403,
    });
    expect(await failure(wrong.lambda.send(new GetFunctionCommand({ FunctionName: 'any' })))).toMatchObject({
      name: 'InvalidSignatureException',
      status: 403,
    });
    const unknown = clients({ accessKeyId: 'AKIAUNKNOWN000000000', secretAccessKey: 'whatever' });
    expect(await failure(unknown.s3.send(new GetObjectCommand({ Bucket: 'code', Key: 'k' })))).toMatchObject({
      name: 'InvalidAccessKeyId',
    });
    expect(await failure(unknown.lambda.send(new GetFunctionCommand({ FunctionName: 'any' })))).toMatchObject({
      name: 'UnrecognizedClientException',
    });
    expect(JSON.stringify(aws.requests)).not.toContain(aws.credentials.secretAccessKey);
  });

  test('a request without a signature: S3 answers AccessDenied, Lambda MissingAuthenticationTokenException', async () => {
    const s3 = await fetch(`${aws.url}/code/k`);
    expect([s3.status, await s3.text()]).toEqual([403, expect.stringContaining('<Code>AccessDenied</Code>')]);
    const lambda = await fetch(`${aws.url}/2015-03-31/functions/any`);
    expect([lambda.status, lambda.headers.get('x-amzn-errortype')]).toEqual([403, 'MissingAuthenticationTokenException']);
  });
});

test('throttling in each service’s shape', async () => {
  const { s3, lambda } = clients();
  aws.faults
    .add({ fault: { kind: 'throttle', retryAfterSeconds: 2 }, operation: 'GetFunction' })
    .add({ fault: { kind: 'throttle' }, operation: 'GetObject' });
  expect(await failure(lambda.send(new GetFunctionCommand({ FunctionName: 'any' })))).toMatchObject({
    name: 'TooManyRequestsException',
    status: 429,
  });
  expect(await failure(s3.send(new GetObjectCommand({ Bucket: 'code', Key: 'k' })))).toMatchObject({ name: 'SlowDown', status: 503 });
});

test('envFor: clients configured only by the environment reach the emulator, S3 path-style without forcePathStyle', async () => {
  const env = envFor(aws);
  expect(env).toMatchObject({
    AWS_ENDPOINT_URL_S3: aws.url,
    AWS_ENDPOINT_URL_SIGNER: aws.url,
    AWS_ENDPOINT_URL_LAMBDA: aws.url,
    AWS_REGION: aws.region,
    AWS_ACCESS_KEY_ID: aws.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: aws.credentials.secretAccessKey,
  });
  const saved = { ...process.env };
  try {
    for (const [name, value] of Object.entries(env)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await new S3Client({}).send(new CreateBucketCommand({ Bucket: 'from-env' }));
    expect(aws.calls('CreateBucket').at(-1)?.path).toBe('/from-env/');
    await new SignerClient({}).send(new PutSigningProfileCommand({ profileName: 'from_env', platformId: 'AWSLambda-SHA384-ECDSA' }));
    await expect(new LambdaClient({}).send(new GetFunctionCommand({ FunctionName: 'none' }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
  } finally {
    process.env = saved;
  }
});
