// `signet lambda package | verify | deploy`, run for real: the CLI and the real AWS SDK clients
// against the S3, Signer and Lambda emulator, including a function that enforces AWS code signing.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { CreateFunctionCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { AwsLambdaEmulator, envFor } from '@signet/emulators/aws-lambda';
import { generateKey, type RunResult, signetAsync, singleErrorLine, useTempDir, writeFile } from '@signet/test-support';
import { setupCodeSigning } from '../src';

const aws = new AwsLambdaEmulator();
const tmp = useTempDir();
beforeAll(() => aws.start());
afterAll(() => aws.stop());
beforeEach(() => aws.reset());

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const ROLE = 'arn:aws:iam::111122223333:role/lambda-exec';

function run(args: string[]): Promise<RunResult> {
  return signetAsync(args, { cwd: tmp(), env: { ...envFor(aws), AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } });
}

async function ok(args: string[]): Promise<RunResult> {
  const result = await run(args);
  if (result.status !== 0) throw new Error(`signet ${args.join(' ')} exited ${result.status}\n${result.stderr}`);
  return result;
}

const lambda = () => new LambdaClient({ endpoint: aws.url, region: aws.region, credentials: aws.credentials, maxAttempts: 1 });
const base64Sha256 = (bytes: Buffer) => crypto.createHash('sha256').update(bytes).digest('base64');

/** A function's source, packaged and signed with the maintainer's key: function.zip and its bundle. */
async function signedZip(content = 'export const handler = async () => "hello";\n'): Promise<{ zip: Buffer; pub: string }> {
  writeFile(tmp(), 'src/index.mjs', content);
  writeFile(tmp(), 'src/lib/util.mjs', 'export const id = (x) => x;\n');
  const { key, pub } = generateKey(tmp(), 'release');
  await ok(['lambda', 'package', 'src', '--out', 'function.zip', '--key', key]);
  return { zip: fs.readFileSync(path.join(tmp(), 'function.zip')), pub };
}

/** The function as it exists before the deploy, running some earlier code. */
async function createFunction(name: string): Promise<void> {
  const first = path.join(tmp(), 'first');
  writeFile(first, 'index.mjs', 'export const handler = async () => "first";\n');
  const zip = path.join(tmp(), 'first.zip');
  await ok(['lambda', 'package', first, '--out', zip]);
  await lambda().send(
    new CreateFunctionCommand({
      FunctionName: name,
      Runtime: 'nodejs20.x',
      Handler: 'index.handler',
      Role: ROLE,
      Code: { ZipFile: fs.readFileSync(zip) },
    }),
  );
}

test('package → verify → deploy: Lambda runs exactly the zip that was signed', async () => {
  const { zip, pub } = await signedZip();
  await createFunction('checkout');
  expect((await ok(['lambda', 'verify', 'function.zip', '--key', pub])).stderr).toContain('Verified OK: function.zip');

  const deployed = await ok(['lambda', 'deploy', 'function.zip', '--function', 'checkout', '--key', pub, '--publish', '--json']);
  expect(deployed.stderr).toContain(`verified function.zip (signed by key ${pub}) and deployed it to checkout`);
  expect(JSON.parse(deployed.stdout)).toMatchObject({ ok: true, functionName: 'checkout', codeSha256: base64Sha256(zip), version: '1' });
  expect(aws.lambdaFunction('checkout').latest.codeSha256).toBe(base64Sha256(zip));
});

test.each([
  [
    'a changed byte in the zip',
    (dir: string) => {
      const file = path.join(dir, 'function.zip');
      const bytes = fs.readFileSync(file);
      bytes[bytes.length - 30] = (bytes[bytes.length - 30] as number) ^ 1;
      fs.writeFileSync(file, bytes);
    },
    'E_SIGNATURE',
  ],
  ['a missing bundle', (dir: string) => fs.rmSync(path.join(dir, 'function.zip.sigstore.json')), 'E_INPUT'],
] as const)('%s: the deploy is refused and nothing is uploaded', async (_label, tamper, code) => {
  const { pub } = await signedZip();
  await createFunction('checkout');
  const before = aws.lambdaFunction('checkout').latest.codeSha256;
  tamper(tmp());
  const result = await run(['lambda', 'deploy', 'function.zip', '--function', 'checkout', '--key', pub]);
  expect(singleErrorLine(result.stderr).code).toBe(code);
  expect(result.status).toBe(code === 'E_SIGNATURE' ? 1 : 2);
  expect(aws.calls('UpdateFunctionCode')).toHaveLength(0);
  expect(aws.lambdaFunction('checkout').latest.codeSha256).toBe(before);
});

test('a zip signed by a key the policy does not trust is not deployed', async () => {
  await signedZip();
  await createFunction('checkout');
  const stranger = generateKey(tmp(), 'stranger').pub;
  const result = await run(['lambda', 'deploy', 'function.zip', '--function', 'checkout', '--key', stranger]);
  expect(result.status).toBe(1);
  expect(aws.calls('UpdateFunctionCode')).toHaveLength(0);
});

test('a layer is verified and published the same way', async () => {
  const { zip, pub } = await signedZip();
  const result = await ok(['lambda', 'deploy', 'function.zip', '--layer', 'shared-libs', '--key', pub, '--json']);
  const versions = aws.layerVersions('shared-libs');
  expect(versions).toHaveLength(1);
  expect(JSON.parse(result.stdout)).toMatchObject({ ok: true, version: 1, codeSha256: base64Sha256(zip) });
});

test('a function that does not exist is a clear error naming it', async () => {
  const { pub } = await signedZip();
  const result = await run(['lambda', 'deploy', 'function.zip', '--function', 'nope', '--key', pub]);
  expect(result.status).toBe(2);
  const error = singleErrorLine(result.stderr);
  expect(error.code).toBe('E_INPUT');
  expect(error.message).toMatch(/^Lambda UpdateFunctionCode failed for nope: ResourceNotFoundException/);
});

describe('AWS code signing (Signer profile + Lambda code signing config)', () => {
  async function enforced(untrustedArtifactOnDeployment: 'Enforce' | 'Warn'): Promise<void> {
    await createFunction('payments');
    aws.createBucket('acme-lambda-code', { versioned: true });
    const config = { endpoint: aws.url, region: aws.region, credentials: aws.credentials, maxAttempts: 1 };
    const { SignerClient } = await import('@aws-sdk/client-signer');
    await setupCodeSigning({
      profileName: 'signet_release',
      functionName: 'payments',
      untrustedArtifactOnDeployment,
      signer: new SignerClient(config),
      lambda: new LambdaClient(config),
    });
  }

  test('under Enforce, the Signet-verified zip deploys through AWS Signer; a direct upload is refused', async () => {
    const { pub } = await signedZip();
    await enforced('Enforce');

    const direct = await run(['lambda', 'deploy', 'function.zip', '--function', 'payments', '--key', pub]);
    expect(direct.status).toBe(1);
    expect(singleErrorLine(direct.stderr)).toMatchObject({
      code: 'E_POLICY',
      message: expect.stringContaining('CodeVerificationFailedException'),
    });

    const signed = await ok([
      'lambda',
      'deploy',
      'function.zip',
      '--function',
      'payments',
      '--key',
      pub,
      '--signing-profile',
      'signet_release',
      '--bucket',
      'acme-lambda-code',
    ]);
    expect(signed.stderr).toMatch(/deployed it to payments, signed by AWS Signer \(job [\w-]+\)/);
    expect(aws.calls('StartSigningJob')).toHaveLength(1);
    expect(aws.codeSigningWarnings.filter((w) => w.blocked)).toHaveLength(1);
  });

  test('a tampered zip never reaches S3, Signer or Lambda', async () => {
    const { pub } = await signedZip();
    await enforced('Enforce');
    fs.appendFileSync(path.join(tmp(), 'function.zip'), 'x');
    const result = await run([
      'lambda',
      'deploy',
      'function.zip',
      '--function',
      'payments',
      '--key',
      pub,
      '--signing-profile',
      'signet_release',
      '--bucket',
      'acme-lambda-code',
    ]);
    expect(result.status).toBe(1);
    expect(aws.calls('PutObject')).toHaveLength(0);
    expect(aws.calls('StartSigningJob')).toHaveLength(0);
  });

  test('--signing-profile without --bucket is a usage error', async () => {
    const { pub } = await signedZip();
    const result = await run(['lambda', 'deploy', 'function.zip', '--function', 'payments', '--key', pub, '--signing-profile', 'p']);
    expect(result.status).toBe(2);
    expect(singleErrorLine(result.stderr).code).toBe('E_USAGE');
  });
});
