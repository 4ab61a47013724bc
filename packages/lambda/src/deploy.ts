import crypto from 'node:crypto';
import path from 'node:path';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SignerClient } from '@aws-sdk/client-signer';
import { SignetError, type Verified } from '@signet/core';
import { awsSdk, quietClient } from './aws-sdk';
import { verifyZip, type ZipVerifyOptions } from './verify-zip';

export interface DeployOptions extends ZipVerifyOptions {
  /** Default: a client from the SDK's default chain (region, credentials, AWS_ENDPOINT_URL_LAMBDA). */
  lambda?: LambdaClient;
  /** Publish a new function version with the code. */
  publish?: boolean;
}

export interface DeployedFunction {
  functionName: string;
  /** Lambda's CodeSha256 of the code it now runs: the verified zip's sha256, base64. */
  codeSha256: string;
  version?: string;
  verified: Verified;
}

/**
 * `signet lambda deploy`: verifies the zip under the policy, then uploads exactly the bytes
 * verified with UpdateFunctionCode. A zip that fails verification is never uploaded, and
 * Lambda's CodeSha256 must come back as the verified zip's.
 */
export async function deployFunction(zip: string, functionName: string, options: DeployOptions): Promise<DeployedFunction> {
  const sdk = awsSdk('lambda');
  const { bytes, verified } = await verifyZip(zip, options);
  const lambda = options.lambda ?? quietClient(() => new sdk.lambda.LambdaClient({}));
  const updated = await aws('Lambda UpdateFunctionCode', functionName, () =>
    lambda.send(new sdk.lambda.UpdateFunctionCodeCommand({ FunctionName: functionName, ZipFile: bytes, Publish: options.publish })),
  );
  const codeSha256 = assertSameCode(updated.CodeSha256, bytes, functionName);
  return { functionName, codeSha256, version: updated.Version, verified };
}

export interface DeployLayerOptions extends DeployOptions {
  compatibleRuntimes?: string[];
  description?: string;
}

export interface DeployedLayer {
  layerVersionArn: string;
  version: number;
  codeSha256: string;
  verified: Verified;
}

/** A layer the same way: verified, then published as a new layer version from the verified bytes. */
export async function deployLayer(zip: string, layerName: string, options: DeployLayerOptions): Promise<DeployedLayer> {
  const sdk = awsSdk('lambda');
  const { bytes, verified } = await verifyZip(zip, options);
  const lambda = options.lambda ?? quietClient(() => new sdk.lambda.LambdaClient({}));
  const published = await aws('Lambda PublishLayerVersion', layerName, () =>
    lambda.send(
      new sdk.lambda.PublishLayerVersionCommand({
        LayerName: layerName,
        Content: { ZipFile: bytes },
        CompatibleRuntimes: options.compatibleRuntimes as never,
        Description: options.description,
      }),
    ),
  );
  const codeSha256 = assertSameCode(published.Content?.CodeSha256, bytes, layerName);
  return { layerVersionArn: published.LayerVersionArn ?? '', version: published.Version ?? 0, codeSha256, verified };
}

export interface CodeSigningSetup {
  /** The AWS Signer profile (platform AWSLambda-SHA384-ECDSA); created or updated. */
  profileName: string;
  functionName: string;
  /** What Lambda does with code no allowed profile signed: refuse it (Enforce) or log it (Warn). */
  untrustedArtifactOnDeployment: 'Enforce' | 'Warn';
  signer?: SignerClient;
  lambda?: LambdaClient;
}

/**
 * AWS-native enforcement, for teams that use it: a Signer signing profile, a Lambda code
 * signing config that allows only that profile's signatures, attached to the function.
 * Returns the profile version ARN and the config's ARN.
 */
export async function setupCodeSigning(setup: CodeSigningSetup): Promise<{ profileVersionArn: string; codeSigningConfigArn: string }> {
  const sdk = awsSdk('lambda', 'signer');
  const signer = setup.signer ?? quietClient(() => new sdk.signer.SignerClient({}));
  const lambda = setup.lambda ?? quietClient(() => new sdk.lambda.LambdaClient({}));
  const profile = await aws('Signer PutSigningProfile', setup.profileName, () =>
    signer.send(new sdk.signer.PutSigningProfileCommand({ profileName: setup.profileName, platformId: 'AWSLambda-SHA384-ECDSA' })),
  );
  const profileVersionArn = profile.profileVersionArn ?? '';
  const config = await aws('Lambda CreateCodeSigningConfig', setup.functionName, () =>
    lambda.send(
      new sdk.lambda.CreateCodeSigningConfigCommand({
        Description: `Signet: ${setup.profileName} for ${setup.functionName}`,
        AllowedPublishers: { SigningProfileVersionArns: [profileVersionArn] },
        CodeSigningPolicies: { UntrustedArtifactOnDeployment: setup.untrustedArtifactOnDeployment },
      }),
    ),
  );
  const codeSigningConfigArn = config.CodeSigningConfig?.CodeSigningConfigArn ?? '';
  await aws('Lambda PutFunctionCodeSigningConfig', setup.functionName, () =>
    lambda.send(
      new sdk.lambda.PutFunctionCodeSigningConfigCommand({ FunctionName: setup.functionName, CodeSigningConfigArn: codeSigningConfigArn }),
    ),
  );
  return { profileVersionArn, codeSigningConfigArn };
}

export interface AwsSignerDeployOptions extends DeployOptions {
  profileName: string;
  /** A versioned S3 bucket (AWS Signer signs one object version) for the upload and the signed copy. */
  bucket: string;
  /** Key prefix of the upload (default `signet/`); the signed copy goes under `${prefix}signed/`. */
  prefix?: string;
  s3?: S3Client;
  signer?: SignerClient;
  /** How long to wait for the signing job, in seconds (default 300). */
  maxWaitSeconds?: number;
}

/**
 * Verifies the zip with Signet, uploads the verified bytes to S3, has AWS Signer sign that
 * object version with the profile, and deploys the signed object: the path a function with
 * an Enforce code signing config accepts.
 */
export async function deployWithAwsSigner(
  zip: string,
  functionName: string,
  options: AwsSignerDeployOptions,
): Promise<DeployedFunction & { jobId: string }> {
  const sdk = awsSdk('lambda', 's3', 'signer');
  const { bytes, verified } = await verifyZip(zip, options);
  const s3 = options.s3 ?? quietClient(() => new sdk.s3.S3Client({}));
  const signer = options.signer ?? quietClient(() => new sdk.signer.SignerClient({}));
  const lambda = options.lambda ?? quietClient(() => new sdk.lambda.LambdaClient({}));
  const prefix = options.prefix ?? 'signet/';
  const key = `${prefix}${path.basename(zip)}`;
  const uploaded = await aws('S3 PutObject', `s3://${options.bucket}/${key}`, () =>
    s3.send(new sdk.s3.PutObjectCommand({ Bucket: options.bucket, Key: key, Body: bytes })),
  );
  if (!uploaded.VersionId) {
    throw new SignetError({
      code: 'E_INPUT',
      message: `s3://${options.bucket} is not versioned; AWS Signer signs object versions (enable versioning on the bucket)`,
    });
  }
  const job = await aws('Signer StartSigningJob', options.profileName, () =>
    signer.send(
      new sdk.signer.StartSigningJobCommand({
        profileName: options.profileName,
        source: { s3: { bucketName: options.bucket, key, version: uploaded.VersionId } },
        destination: { s3: { bucketName: options.bucket, prefix: `${prefix}signed/` } },
      }),
    ),
  );
  const jobId = job.jobId ?? '';
  await aws('Signer signing job', jobId, () =>
    sdk.signer.waitUntilSuccessfulSigningJob(
      { client: signer, maxWaitTime: options.maxWaitSeconds ?? 300, minDelay: 1, maxDelay: 5 },
      { jobId },
    ),
  );
  const described = await aws('Signer DescribeSigningJob', jobId, () => signer.send(new sdk.signer.DescribeSigningJobCommand({ jobId })));
  const signed = described.signedObject?.s3;
  if (!signed?.bucketName || !signed.key)
    throw new SignetError({ code: 'E_PROVIDER', message: `AWS Signer job ${jobId} named no signed object` });
  const updated = await aws('Lambda UpdateFunctionCode', functionName, () =>
    lambda.send(
      new sdk.lambda.UpdateFunctionCodeCommand({
        FunctionName: functionName,
        S3Bucket: signed.bucketName,
        S3Key: signed.key,
        Publish: options.publish,
      }),
    ),
  );
  return { functionName, codeSha256: updated.CodeSha256 ?? '', version: updated.Version, verified, jobId };
}

function assertSameCode(reported: string | undefined, bytes: Buffer, name: string): string {
  const expected = crypto.createHash('sha256').update(bytes).digest('base64');
  if (reported !== expected) {
    throw new SignetError({
      code: 'E_PROVIDER',
      message: `Lambda reports ${name}'s code as sha256 ${reported ?? 'nothing'}, not the verified zip's ${expected}`,
    });
  }
  return expected;
}

/** An AWS call, with its failure as a SignetError naming the service, the resource and what to check. */
async function aws<T>(operation: string, resource: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof SignetError) throw error;
    const name = (error as { name?: string }).name ?? 'Error';
    const message = (error as Error).message ?? String(error);
    const code =
      name === 'ResourceNotFoundException' || name === 'NoSuchBucket' || name === 'NoSuchKey'
        ? 'E_INPUT'
        : name === 'AccessDeniedException' ||
            name === 'AccessDenied' ||
            name === 'UnrecognizedClientException' ||
            name === 'InvalidSignatureException'
          ? 'E_PERMISSION'
          : name === 'CodeVerificationFailedException' || name === 'InvalidCodeSignatureException'
            ? 'E_POLICY'
            : 'E_PROVIDER';
    throw new SignetError({ code, message: `${operation} failed for ${resource}: ${name}: ${message}`, cause: error });
  }
}
