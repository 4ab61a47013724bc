// `npm run example`: Signet's main job in one minute, on a fresh clone, with nothing but
// a throwaway key. Each step says what it proves.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const signet = path.resolve('packages/cli/bin/signet.js');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-example-'));
const env = { ...process.env, SIGNET_PASSWORD: 'example-only-passphrase' };
const bold = (s) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);

function step(title, why) {
  console.log(`\n${bold(title)}\n  ${why}`);
}

function signetRun(args, { expectFailure = false } = {}) {
  console.log(`  $ signet ${args.join(' ')}`);
  const result = spawnSync(process.execPath, [signet, ...args], { cwd: work, env, encoding: 'utf8' });
  const output = `${result.stdout}${result.stderr}`.trimEnd();
  if (output) console.log(output.replace(/^/gm, '    '));
  if (expectFailure ? result.status === 0 : result.status !== 0) {
    console.error(`\nexample failed: signet ${args[0]} exited ${result.status}`);
    process.exit(1);
  }
  return result.status;
}

try {
  fs.writeFileSync(path.join(work, 'release.tgz'), 'pretend this is the release you built\n');
  console.log(`Working in ${work}`);

  step('1. Generate a signing key', 'An encrypted ECDSA P-256 key (mode 0600) and its public half, as cosign would make.');
  signetRun(['key', 'generate', '--key', 'file:signing.key']);

  step('2. Sign the artifact', 'The signature goes into a standard Sigstore bundle beside the file.');
  signetRun(['sign', 'release.tgz', '--key', 'file:signing.key']);

  step('3. Verify it', 'Anyone with signing.pub can check that release.tgz is exactly what was signed.');
  signetRun(['verify', 'release.tgz', '--key', 'signing.pub']);

  step('4. Tamper with it and verify again', 'One changed byte, and verification fails with exit status 1: the deploy stops here.');
  fs.appendFileSync(path.join(work, 'release.tgz'), 'malicious\n');
  const status = signetRun(['verify', 'release.tgz', '--key', 'signing.pub'], { expectFailure: true });
  console.log(`\n${bold('Done.')} The tampered artifact was refused (exit status ${status}).`);
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
