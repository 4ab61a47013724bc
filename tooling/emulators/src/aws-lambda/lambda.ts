import crypto from 'node:crypto';
import type { EmulatorRequest } from '../http-emulator';
import { type AccountContext, AwsError, type Call, jsonObject, lambdaDate, stringField } from './common';
import type { S3Service } from './s3';
import { archiveDigest, isZip, signingJobOf } from './signed-zip';
import type { EmulatedSigningJob, SignerService } from './signer';

/** The signature Lambda recorded for deployed code: it reports both ARNs in the function's configuration. */
export interface CodeSignature {
  profileVersionArn: string;
  jobArn: string;
}

export interface DeployedCode {
  zip: Buffer;
  /** Base64 SHA-256 of the zip, as Lambda reports it. */
  codeSha256: string;
  lastModified: Date;
  revisionId: string;
  signature?: CodeSignature;
}

export interface EmulatedFunction {
  name: string;
  arn: string;
  role: string;
  runtime?: string;
  handler?: string;
  description: string;
  timeout: number;
  memorySize: number;
  architectures: string[];
  codeSigningConfigArn?: string;
  latest: DeployedCode;
  /** Published versions ('1', '2', …): snapshots of the code at publication. */
  versions: Map<string, DeployedCode>;
}

export interface EmulatedLayerVersion {
  layerName: string;
  version: number;
  arn: string;
  code: DeployedCode;
  description: string;
  createdDate: Date;
  compatibleRuntimes?: unknown;
  compatibleArchitectures?: unknown;
  licenseInfo?: string;
}

export interface EmulatedCodeSigningConfig {
  id: string;
  arn: string;
  description: string;
  allowedProfileVersionArns: string[];
  untrustedArtifactOnDeployment: 'Warn' | 'Enforce';
  lastModified: Date;
}

/** What Lambda would log (a CloudWatch metric and a CloudTrail entry) for code that failed a signature check. */
export interface CodeSigningWarning {
  /** The function the code was deployed to. */
  resourceArn: string;
  codeSigningConfigArn: string;
  reason: 'unsigned' | 'untrusted-profile' | 'expired';
  /** Whether the deployment was refused (Enforce) or only logged (Warn). */
  blocked: boolean;
  at: Date;
}

/** Where GetFunction and PublishLayerVersion point for the code, as real Lambda points at a presigned S3 URL. */
export const CODE_PATH = '/.emulator/lambda-code/';

const FUNCTION_NAME = /^[a-zA-Z0-9-_]{1,64}$/;
const LAYER_NAME = /^[a-zA-Z0-9-_]{1,140}$/;
const UNTRUSTED =
  'Lambda cannot deploy the function. The function or layer might be signed using a signature that the client is not configured to accept. Check the provided signature for';

/**
 * Lambda's REST/JSON API for deploying code under code signing: functions, layers, code
 * signing configs. Deployed code is checked as Lambda checks it: a signature must be intact
 * (always), made by an allowed profile version and not expired (refused under Enforce,
 * logged under Warn). Functions are never invoked.
 */
export class LambdaService {
  private readonly functions = new Map<string, EmulatedFunction>();
  private readonly layers = new Map<string, EmulatedLayerVersion[]>();
  private readonly configs = new Map<string, EmulatedCodeSigningConfig>();
  private readonly blobs = new Map<string, Buffer>();
  readonly warnings: CodeSigningWarning[] = [];

  constructor(
    private readonly account: AccountContext,
    private readonly s3: S3Service,
    private readonly signer: SignerService,
  ) {}

  operationOf(request: EmulatorRequest): string {
    const [api, collection, name, sub, ...rest] = request.path.split('/').filter(Boolean);
    const route = `${request.method} ${api}/${collection}${name === undefined ? '' : '/*'}${sub === undefined ? '' : `/${sub}`}`;
    if (rest.length > 0) return 'Unknown';
    return (
      (
        {
          'POST 2015-03-31/functions': 'CreateFunction',
          'GET 2015-03-31/functions/*': 'GetFunction',
          'GET 2015-03-31/functions/*/configuration': 'GetFunctionConfiguration',
          'PUT 2015-03-31/functions/*/code': 'UpdateFunctionCode',
          'POST 2018-10-31/layers/*/versions': 'PublishLayerVersion',
          'POST 2020-04-22/code-signing-configs': 'CreateCodeSigningConfig',
          'GET 2020-04-22/code-signing-configs/*': 'GetCodeSigningConfig',
          'PUT 2020-06-30/functions/*/code-signing-config': 'PutFunctionCodeSigningConfig',
          'GET 2020-06-30/functions/*/code-signing-config': 'GetFunctionCodeSigningConfig',
          'DELETE 2020-06-30/functions/*/code-signing-config': 'DeleteFunctionCodeSigningConfig',
        } as Record<string, string>
      )[route] ?? 'Unknown'
    );
  }

  async handle(call: Call): Promise<{ status: number; body?: unknown }> {
    const name = decodeURIComponent(call.request.path.split('/').filter(Boolean)[2] ?? '');
    const input = jsonObject(call.request.json);
    const qualifier = call.request.query.get('Qualifier') ?? undefined;
    switch (call.operation) {
      case 'CreateFunction':
        return { status: 201, body: await this.createFunction(input) };
      case 'GetFunction': {
        const fn = this.function(name);
        const code = this.deployed(fn, qualifier);
        return {
          status: 200,
          body: { Configuration: this.configuration(fn, qualifier), Code: { RepositoryType: 'S3', Location: this.location(code) } },
        };
      }
      case 'GetFunctionConfiguration':
        return { status: 200, body: this.configuration(this.function(name), qualifier) };
      case 'UpdateFunctionCode':
        return { status: 200, body: await this.updateFunctionCode(this.function(name), input) };
      case 'PublishLayerVersion':
        return { status: 201, body: await this.publishLayerVersion(name, input) };
      case 'CreateCodeSigningConfig':
        return { status: 201, body: { CodeSigningConfig: describeConfig(this.createCodeSigningConfig(input)) } };
      case 'GetCodeSigningConfig':
        return { status: 200, body: { CodeSigningConfig: describeConfig(this.config(name)) } };
      case 'PutFunctionCodeSigningConfig': {
        const fn = this.function(name);
        fn.codeSigningConfigArn = this.config(stringField(input, 'CodeSigningConfigArn') ?? '').arn;
        return { status: 200, body: { CodeSigningConfigArn: fn.codeSigningConfigArn, FunctionName: fn.name } };
      }
      case 'GetFunctionCodeSigningConfig': {
        const fn = this.function(name);
        return { status: 200, body: { CodeSigningConfigArn: fn.codeSigningConfigArn ?? '', FunctionName: fn.name } };
      }
      case 'DeleteFunctionCodeSigningConfig':
        this.function(name).codeSigningConfigArn = undefined;
        return { status: 204 };
      default:
        throw new AwsError(
          'UnknownOperationException',
          `The AWS Lambda emulator does not implement ${call.request.method} ${call.request.path}`,
        );
    }
  }

  /** A function by name or ARN; throws when there is none. */
  function(reference: string): EmulatedFunction {
    const name = /(?:^|:)function:([^:]+)/.exec(reference)?.[1] ?? reference.split(':')[0] ?? '';
    const fn = this.functions.get(name);
    if (!fn) throw new AwsError('ResourceNotFoundException', `Function not found: ${this.functionArn(name)}`, 404);
    return fn;
  }

  layerVersions(name: string): EmulatedLayerVersion[] {
    return this.layers.get(name) ?? [];
  }

  /** The code behind a GetFunction or layer Location URL. */
  blob(sha256Hex: string): Buffer | undefined {
    return this.blobs.get(sha256Hex);
  }

  reset(): void {
    this.functions.clear();
    this.layers.clear();
    this.configs.clear();
    this.blobs.clear();
    this.warnings.length = 0;
  }

  private async createFunction(input: Record<string, unknown>): Promise<unknown> {
    const name = stringField(input, 'FunctionName') ?? '';
    if (!FUNCTION_NAME.test(name)) throw invalid(`Value '${name}' at 'functionName' failed to satisfy constraint`, 'ValidationException');
    const role = stringField(input, 'Role');
    if (!role) throw invalid("Value null at 'role' failed to satisfy constraint: Member must not be null", 'ValidationException');
    if ((stringField(input, 'PackageType') ?? 'Zip') !== 'Zip') throw invalid('The AWS Lambda emulator deploys only Zip packages.');
    const runtime = stringField(input, 'Runtime');
    const handler = stringField(input, 'Handler');
    if (!runtime || !handler) throw invalid('Runtime and Handler are mandatory parameters for functions created with deployment packages.');
    if (this.functions.has(name)) throw conflict(name);
    const configArn = stringField(input, 'CodeSigningConfigArn');
    const config = configArn === undefined ? undefined : this.config(configArn);
    const arn = this.functionArn(name);
    const latest = await this.deploy(await this.codeOf(jsonObject(input.Code)), arn, config);
    // Another CreateFunction of the same name may have finished while this code was checked.
    if (this.functions.has(name)) throw conflict(name);
    const fn: EmulatedFunction = {
      name,
      arn,
      role,
      runtime,
      handler,
      description: stringField(input, 'Description') ?? '',
      timeout: typeof input.Timeout === 'number' ? input.Timeout : 3,
      memorySize: typeof input.MemorySize === 'number' ? input.MemorySize : 128,
      architectures: Array.isArray(input.Architectures) ? input.Architectures.map(String) : ['x86_64'],
      codeSigningConfigArn: config?.arn,
      latest,
      versions: new Map(),
    };
    this.functions.set(name, fn);
    const version = input.Publish === true ? this.publish(fn) : undefined;
    return {
      ...this.configuration(fn, version),
      State: 'Pending',
      StateReason: 'The function is being created.',
      StateReasonCode: 'Creating',
      LastUpdateStatus: undefined,
    };
  }

  private async updateFunctionCode(fn: EmulatedFunction, input: Record<string, unknown>): Promise<unknown> {
    checkRevision(fn, input);
    const code = await this.deploy(
      await this.codeOf(input),
      fn.arn,
      fn.codeSigningConfigArn ? this.config(fn.codeSigningConfigArn) : undefined,
    );
    // Another update may have landed while this code was checked.
    checkRevision(fn, input);
    if (input.DryRun === true) return { ...this.configuration(fn), CodeSha256: code.codeSha256, CodeSize: code.zip.length };
    fn.latest = code;
    const version = input.Publish === true ? this.publish(fn) : undefined;
    return {
      ...this.configuration(fn, version),
      LastUpdateStatus: 'InProgress',
      LastUpdateStatusReason: 'The function is being created.',
      LastUpdateStatusReasonCode: 'Creating',
    };
  }

  private async publishLayerVersion(layerName: string, input: Record<string, unknown>): Promise<unknown> {
    const name = /:layer:([^:]+)/.exec(layerName)?.[1] ?? layerName;
    if (!LAYER_NAME.test(name)) throw invalid(`Value '${layerName}' at 'layerName' failed to satisfy constraint`, 'ValidationException');
    const layerArn = `arn:aws:lambda:${this.account.region}:${this.account.accountId}:layer:${name}`;
    // Layers have no code signing config of their own: the signature is recorded, and checked when a function uses the layer.
    // (Without a config nothing is logged against the ARN, so the layer's, not yet versioned, serves.)
    const code = await this.deploy(await this.codeOf(jsonObject(input.Content)), layerArn, undefined);
    // Numbered once the code is in, so that layer versions published meanwhile keep their numbers.
    const versions = this.layers.get(name) ?? [];
    const version = versions.length + 1;
    const layer: EmulatedLayerVersion = {
      layerName: name,
      version,
      arn: `${layerArn}:${version}`,
      code,
      description: stringField(input, 'Description') ?? '',
      createdDate: new Date(),
      compatibleRuntimes: input.CompatibleRuntimes,
      compatibleArchitectures: input.CompatibleArchitectures,
      licenseInfo: stringField(input, 'LicenseInfo'),
    };
    this.layers.set(name, [...versions, layer]);
    return {
      Content: {
        Location: this.location(layer.code),
        CodeSha256: layer.code.codeSha256,
        CodeSize: layer.code.zip.length,
        SigningProfileVersionArn: layer.code.signature?.profileVersionArn,
        SigningJobArn: layer.code.signature?.jobArn,
      },
      LayerArn: layerArn,
      LayerVersionArn: layer.arn,
      Description: layer.description,
      CreatedDate: lambdaDate(layer.createdDate),
      Version: version,
      CompatibleRuntimes: layer.compatibleRuntimes,
      CompatibleArchitectures: layer.compatibleArchitectures,
      LicenseInfo: layer.licenseInfo,
    };
  }

  private createCodeSigningConfig(input: Record<string, unknown>): EmulatedCodeSigningConfig {
    const allowed = jsonObject(input.AllowedPublishers).SigningProfileVersionArns;
    if (!Array.isArray(allowed) || allowed.length < 1 || allowed.length > 20 || !allowed.every((arn) => typeof arn === 'string')) {
      throw invalid(
        "Value at 'allowedPublishers.signingProfileVersionArns' failed to satisfy constraint: Member must have length between 1 and 20",
        'ValidationException',
      );
    }
    const policy = stringField(jsonObject(input.CodeSigningPolicies), 'UntrustedArtifactOnDeployment') ?? 'Warn';
    if (policy !== 'Warn' && policy !== 'Enforce') {
      throw invalid(
        `Value '${policy}' at 'codeSigningPolicies.untrustedArtifactOnDeployment' failed to satisfy constraint: Member must satisfy enum value set: [Enforce, Warn]`,
        'ValidationException',
      );
    }
    const id = `csc-${crypto.randomBytes(9).toString('hex').slice(0, 17)}`;
    const config: EmulatedCodeSigningConfig = {
      id,
      arn: `arn:aws:lambda:${this.account.region}:${this.account.accountId}:code-signing-config:${id}`,
      description: stringField(input, 'Description') ?? '',
      allowedProfileVersionArns: allowed as string[],
      untrustedArtifactOnDeployment: policy,
      lastModified: new Date(),
    };
    this.configs.set(config.arn, config);
    return config;
  }

  /** The zip a Code or Content structure names: inline (ZipFile) or an S3 object (version). */
  private async codeOf(input: Record<string, unknown>): Promise<Buffer> {
    const inline = stringField(input, 'ZipFile');
    const bucket = stringField(input, 'S3Bucket');
    const key = stringField(input, 'S3Key');
    let zip: Buffer;
    if (inline !== undefined) {
      zip = Buffer.from(inline, 'base64');
    } else if (bucket && key) {
      try {
        zip = this.s3.get(bucket, key, stringField(input, 'S3ObjectVersion')).body;
      } catch (error) {
        if (!(error instanceof AwsError)) throw error;
        throw invalid(`Error occurred while GetObject. S3 Error Code: ${error.code}. S3 Error Message: ${error.message}`);
      }
    } else {
      throw invalid('Please provide a ZipFile, or an S3Bucket and S3Key, for the code.');
    }
    if (!(await isZip(zip))) throw invalid('Could not unzip uploaded file. Please check your file, then try to upload again.');
    return zip;
  }

  /** Checks the code against the config, as a deployment does, and makes it the code to record. */
  private async deploy(zip: Buffer, resourceArn: string, config: EmulatedCodeSigningConfig | undefined): Promise<DeployedCode> {
    const jobId = await signingJobOf(zip);
    const job = jobId === undefined ? undefined : this.signer.job(jobId);
    const intact = job?.contentSha384 !== undefined && job.contentSha384 === archiveDigest(zip);
    if (config) {
      if (jobId !== undefined && !intact) {
        throw new AwsError(
          'InvalidCodeSignatureException',
          'The code signature failed the integrity check. Lambda always blocks deployment if the integrity check fails, even if code signing policy is set to WARN.',
        );
      }
      const reason = untrusted(job, config);
      if (reason) {
        const blocked = config.untrustedArtifactOnDeployment === 'Enforce';
        this.warnings.push({ resourceArn, codeSigningConfigArn: config.arn, reason, blocked, at: new Date() });
        if (blocked) throw new AwsError('CodeVerificationFailedException', `${UNTRUSTED} ${resourceArn}.`);
      }
    }
    const codeSha256 = crypto.createHash('sha256').update(zip).digest('base64');
    this.blobs.set(Buffer.from(codeSha256, 'base64').toString('hex'), zip);
    return {
      zip,
      codeSha256,
      lastModified: new Date(),
      revisionId: crypto.randomUUID(),
      signature: job && intact ? { profileVersionArn: job.profileVersionArn, jobArn: job.arn } : undefined,
    };
  }

  private publish(fn: EmulatedFunction): string {
    const version = String(fn.versions.size + 1);
    fn.versions.set(version, { ...fn.latest, revisionId: crypto.randomUUID() });
    return version;
  }

  private deployed(fn: EmulatedFunction, qualifier: string | undefined): DeployedCode {
    if (qualifier === undefined || qualifier === '$LATEST') return fn.latest;
    const code = fn.versions.get(qualifier);
    if (!code) throw new AwsError('ResourceNotFoundException', `Function not found: ${fn.arn}:${qualifier}`, 404);
    return code;
  }

  private configuration(fn: EmulatedFunction, qualifier?: string): Record<string, unknown> {
    const code = this.deployed(fn, qualifier);
    const version = qualifier ?? '$LATEST';
    return {
      FunctionName: fn.name,
      FunctionArn: version === '$LATEST' ? fn.arn : `${fn.arn}:${version}`,
      Runtime: fn.runtime,
      Role: fn.role,
      Handler: fn.handler,
      CodeSize: code.zip.length,
      Description: fn.description,
      Timeout: fn.timeout,
      MemorySize: fn.memorySize,
      LastModified: lambdaDate(code.lastModified),
      CodeSha256: code.codeSha256,
      Version: version,
      TracingConfig: { Mode: 'PassThrough' },
      RevisionId: code.revisionId,
      State: 'Active',
      LastUpdateStatus: 'Successful',
      PackageType: 'Zip',
      Architectures: fn.architectures,
      EphemeralStorage: { Size: 512 },
      SigningProfileVersionArn: code.signature?.profileVersionArn,
      SigningJobArn: code.signature?.jobArn,
    };
  }

  private config(arn: string): EmulatedCodeSigningConfig {
    const config = this.configs.get(arn);
    if (!config) throw new AwsError('CodeSigningConfigNotFoundException', `The code signing configuration cannot be found: ${arn}`, 404);
    return config;
  }

  private location(code: DeployedCode): string {
    return `${this.account.url()}${CODE_PATH}${Buffer.from(code.codeSha256, 'base64').toString('hex')}`;
  }

  private functionArn(name: string): string {
    return `arn:aws:lambda:${this.account.region}:${this.account.accountId}:function:${name}`;
  }
}

function untrusted(job: EmulatedSigningJob | undefined, config: EmulatedCodeSigningConfig): CodeSigningWarning['reason'] | undefined {
  if (!job) return 'unsigned';
  if (!config.allowedProfileVersionArns.includes(job.profileVersionArn)) return 'untrusted-profile';
  return job.signatureExpiresAt.getTime() < Date.now() ? 'expired' : undefined;
}

function describeConfig(config: EmulatedCodeSigningConfig): unknown {
  return {
    CodeSigningConfigId: config.id,
    CodeSigningConfigArn: config.arn,
    Description: config.description,
    AllowedPublishers: { SigningProfileVersionArns: config.allowedProfileVersionArns },
    CodeSigningPolicies: { UntrustedArtifactOnDeployment: config.untrustedArtifactOnDeployment },
    LastModified: lambdaDate(config.lastModified),
  };
}

function conflict(name: string): AwsError {
  return new AwsError('ResourceConflictException', `Function already exist: ${name}`, 409);
}

/** UpdateFunctionCode's optimistic lock: the RevisionId given, if any, must be the latest code's. */
function checkRevision(fn: EmulatedFunction, input: Record<string, unknown>): void {
  const revisionId = stringField(input, 'RevisionId');
  if (revisionId !== undefined && revisionId !== fn.latest.revisionId) {
    throw new AwsError(
      'PreconditionFailedException',
      'The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id',
      412,
    );
  }
}

function invalid(message: string, code = 'InvalidParameterValueException'): AwsError {
  return new AwsError(code, code === 'ValidationException' ? `1 validation error detected: ${message}` : message);
}
