// `npm install -g @signet/cli` as a user runs it: every published package packed as
// `changeset publish` would pack it, installed from a registry on 127.0.0.1 that serves them and
// the dependency versions the lockfile pins; then the installed `signet` is run.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AwsLambdaEmulator, envFor } from '@signet/emulators/aws-lambda';
import { generateKey, type RunResult, signet, signetAsync, writeFile } from '@signet/test-support';
import { type GlobalInstall, globalInstallFromTarballs, installedPackages } from './support/global-install';

/** What a machine that only signs and verifies should not carry: cloud SDKs and provider packages. */
const CLOUD = /^(@aws-sdk\/|@smithy\/|@google-cloud\/|@azure\/|node-vault$|pkcs11js$|@signet\/(kms-|pkcs11))/;

let work: string;
let install: GlobalInstall;
let bin: string;
let installed: { names: Set<string>; bytes: number };

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-cli-install-'));
  install = await globalInstallFromTarballs(work);
  await install.install('@signet/cli');
  bin = path.join(install.prefix, 'lib/node_modules/@signet/cli/bin/signet.js');
  installed = installedPackages(path.join(install.prefix, 'lib/node_modules'));
}, 300_000);

afterAll(async () => {
  await install?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

/** The installed command, run in a fresh folder. */
function run(args: string[], env: Record<string, string | undefined> = {}): RunResult {
  const cwd = fs.mkdtempSync(path.join(work, 'run-'));
  return signet(args, { cwd, script: bin, env });
}

test('installs the CLI with core, npm, lambda and oci, and no cloud SDK or provider package', () => {
  for (const name of ['@signet/cli', '@signet/core', '@signet/npm', '@signet/lambda', '@signet/oci'])
    expect(installed.names).toContain(name);
  expect([...installed.names].filter((name) => CLOUD.test(name))).toEqual([]);
  // 32 MB of files (55 MB on disk) when @signet/lambda brought the Lambda, S3 and Signer clients,
  // 22 MB (31 MB on disk) without them: see packages/cli/README.md.
  expect(installed.bytes).toBeLessThan(25 * 1024 * 1024);
});

test('signet --version is the version of the package installed, read when asked', () => {
  const manifestPath = path.join(install.prefix, 'lib/node_modules/@signet/cli/package.json');
  const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8')) as { version: string };
  expect(run(['--version']).stdout.trim()).toBe(manifest.version);
  // As `changeset version` bumps package.json after dist/ was built: the new version is printed.
  fs.writeFileSync(manifestPath, JSON.stringify({ ...manifest, version: '9.8.7' }));
  try {
    const bumped = run(['--version']);
    expect(bumped.status).toBe(0);
    expect(bumped.stdout).toBe('9.8.7\n');
  } finally {
    fs.writeFileSync(manifestPath, JSON.stringify(manifest));
  }
});

describe('signet lambda without the AWS SDK', () => {
  let dir: string;
  let pub: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(work, 'lambda-'));
    writeFile(dir, 'src/index.mjs', 'export const handler = async () => "hello";\n');
    const keys = generateKey(dir, 'release');
    pub = keys.pub;
    const packaged = signet(['lambda', 'package', 'src', '--out', 'function.zip', '--key', keys.key], { cwd: dir, script: bin });
    if (packaged.status !== 0) throw new Error(`lambda package failed: ${packaged.stderr}`);
  });

  test('packages and verifies a zip', () => {
    expect(fs.existsSync(path.join(dir, 'function.zip.sigstore.json'))).toBe(true);
    const verified = signet(['lambda', 'verify', 'function.zip', '--key', pub], { cwd: dir, script: bin });
    expect(verified.stderr).toContain('Verified OK: function.zip');
    expect(verified.status).toBe(0);
  });

  test.each([
    [['--function', 'checkout'], '@aws-sdk/client-lambda'],
    [['--layer', 'shared'], '@aws-sdk/client-lambda'],
    [
      ['--function', 'checkout', '--signing-profile', 'release', '--bucket', 'code'],
      '@aws-sdk/client-lambda, @aws-sdk/client-s3, @aws-sdk/client-signer',
    ],
  ])('lambda deploy %j names the SDK package to add, in one line, exit 2', (flags, packages) => {
    const result = signet(['lambda', 'deploy', 'function.zip', ...flags, '--key', pub], { cwd: dir, script: bin });
    expect(result.stderr).toBe(
      `signet: E_PROVIDER_MISSING: deploying to AWS needs ${packages}; install ${packages.includes(',') ? 'them' : 'it'} beside Signet: npm install ${packages.replaceAll(', ', ' ')} (with -g for a global signet)\n`,
    );
    expect(result.status).toBe(2);
  });

  test('with the Lambda client installed beside it, lambda deploy publishes, and prints no SDK warning', async () => {
    await install.install('@aws-sdk/client-lambda');
    const aws = new AwsLambdaEmulator();
    await aws.start();
    try {
      const deployed = await signetAsync(['lambda', 'deploy', 'function.zip', '--layer', 'shared-libs', '--key', pub], {
        cwd: dir,
        script: bin,
        env: envFor(aws),
      });
      // One line: no NodeVersionSupportWarning from the SDK before it.
      expect(deployed.stderr).toMatch(
        /^verified function\.zip \(signed by key release\.pub\) and published arn:aws:lambda:[^ ]+:layer:shared-libs:1\n$/,
      );
      expect(deployed.status).toBe(0);
      expect(aws.layerVersions('shared-libs')).toHaveLength(1);
    } finally {
      await aws.stop();
    }
  }, 120_000);
});
