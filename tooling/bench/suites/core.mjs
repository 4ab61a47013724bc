// Suite "core": what signing and verifying cost, against what they cannot avoid.
//   1. signet sign / verify of 1 GiB, whole process, vs `openssl dgst -sha256` of the same
//      file (the hashing every signature needs); and their peak memory.
//   2. In-process verification rate through @signet/core vs @sigstore/verify called directly.
//   3. `signet verify` cold start vs a bare node loading @sigstore/verify and @sigstore/bundle.

import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { check, compareCommands, compareRates, runCommand, scratchDir } from '../lib/harness.mjs';

const require = createRequire(import.meta.url);
const core = require('@signet/core');

/** A verifier per verification, as a one-off `signet verify` makes one. */
const verifyBundle = (bundle, artifact, policy, options = {}) => core.createVerifier({ ...options, policy }).verify(bundle, artifact);
const cliBin = path.join(path.dirname(require.resolve('@signet/cli/package.json')), 'bin', 'signet.js');
// The very copies of @sigstore/* that @signet/core loads, so both sides run the same code.
const requireFromCore = createRequire(require.resolve('@signet/core'));
const sigstorePaths = {
  verify: requireFromCore.resolve('@sigstore/verify'),
  bundle: requireFromCore.resolve('@sigstore/bundle'),
};

const node = process.execPath;
const PASSWORD = 'bench-passphrase';
const MiB = 2 ** 20;

const BIG_FILE_RUNS = 9;
const RATE_ROUNDS = 10;
const RATE_ROUND_MS = 250;
const COLD_START_RUNS = 31;

export default {
  title: 'signing and verification cost',
  description:
    'What `signet sign` and `signet verify` cost on top of what they cannot avoid: hashing the artifact, ' +
    "sigstore-js's own verification, and starting Node with sigstore-js loaded.",

  async run({ log }) {
    const dir = scratchDir('core');
    log(`generating an ECDSA P-256 key in ${dir}`);
    await runCommand(signet('key', ['key', 'generate', '--key', `file:${path.join(dir, 'signing.key')}`]));
    const key = { private: `file:${path.join(dir, 'signing.key')}`, public: path.join(dir, 'signing.pub') };
    const checks = [...(await bigFile(dir, key, log)), ...(await inProcessVerification(log)), ...(await coldStart(dir, key, log))];
    return {
      checks,
      notes: [
        `1 GiB: a file of 1 GiB (one 16 MiB random block, repeated) in the OS temporary directory, deleted afterwards. One warm-up round puts it in the page cache; then ${BIG_FILE_RUNS} rounds each run \`openssl dgst -sha256 FILE\`, \`node packages/cli/bin/signet.js sign FILE --key file:signing.key\` (encrypted ECDSA P-256 key, SIGNET_PASSWORD) and \`node packages/cli/bin/signet.js verify FILE --key signing.pub\`, the order rotated each round. Wall time is from spawn to exit (median); peak memory is the process's maximum RSS from GNU time (\`/usr/bin/time -f %M\`, every command wrapped alike), the highest over the rounds.`,
        `In-process: a message-signature bundle over 1 KiB of random bytes, signed once with an ECDSA P-256 key. The bundle JSON is parsed once, outside the loops (\`bundleFromJSON\`), and both sides get the same Bundle object, the same bytes and the same public key PEM, which each parses per verification: Signet as \`createVerifier({ policy: { keys: [{ publicKey: pem }] } }).verify(bundle, { bytes })\` (a verifier per verification), the direct side as \`new Verifier(toTrustMaterial(emptyRoot, hint => ({ publicKey: createPublicKey(pem), validFor: () => true })), { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 }).verify(toSignedEntity(bundle, bytes))\`, both with the @sigstore/verify copy @signet/core loads. Both are checked to accept the bundle and to reject a changed byte first. ${RATE_ROUNDS} interleaved rounds of ${RATE_ROUND_MS} ms each after a warm-up; the figure is the ratio of the median rates.`,
        `Cold start: \`node packages/cli/bin/signet.js verify small.bin --key signing.pub\` (1 KiB file, its bundle beside it) vs \`node -e "require('<@sigstore/verify>');require('<@sigstore/bundle>')"\` with the paths @signet/core resolves, ${COLD_START_RUNS} interleaved runs each after two warm-up rounds, median wall time. \`node -e 0\` runs in the same rounds, for context.`,
      ],
    };
  },
};

function signet(name, args, env = {}) {
  return { name, cmd: node, args: [cliBin, ...args], env: { SIGNET_PASSWORD: PASSWORD, ...env } };
}

function seconds(ms) {
  return `${(ms / 1000).toFixed(2)} s`;
}

async function bigFile(dir, key, log) {
  const file = path.join(dir, 'artifact-1gib.bin');
  log('writing a 1 GiB file');
  writeRepeatedFile(file, 1024 * MiB);
  try {
    log(`signing and verifying it, ${BIG_FILE_RUNS} rounds interleaved with openssl dgst -sha256`);
    const m = await compareCommands(
      [
        { name: 'openssl', cmd: 'openssl', args: ['dgst', '-sha256', file] },
        // sign first in the warm-up round: verify needs the bundle it writes
        signet('sign', ['sign', file, '--key', key.private]),
        signet('verify', ['verify', file, '--key', key.public]),
      ],
      { runs: BIG_FILE_RUNS, warmups: 1 },
    );
    const ratio = (name) =>
      check({
        id: `${name}-1gib-time`,
        what: `\`signet ${name}\` of 1 GiB: wall time ÷ \`openssl dgst -sha256\``,
        target: '≤ 1.30×',
        comparator: '<=',
        limit: 1.3,
        value: m[name].medianMs / m.openssl.medianMs,
        unit: '×',
        detail: {
          text: `${seconds(m[name].medianMs)} vs ${seconds(m.openssl.medianMs)} (median of ${BIG_FILE_RUNS})`,
          medianMs: m[name].medianMs,
          referenceMedianMs: m.openssl.medianMs,
          wallMs: m[name].wallMs,
          referenceWallMs: m.openssl.wallMs,
        },
      });
    const memory = (name) =>
      check({
        id: `${name}-1gib-rss`,
        what: `\`signet ${name}\` of 1 GiB: peak memory (max RSS)`,
        target: '< 128 MiB',
        comparator: '<',
        limit: 128,
        value: m[name].peakRssKiB / 1024,
        unit: 'MiB',
        detail: {
          text: `highest of ${BIG_FILE_RUNS + 1} runs; openssl: ${(m.openssl.peakRssKiB / 1024).toFixed(1)} MiB`,
          peakRssKiB: m[name].peakRssKiB,
          referencePeakRssKiB: m.openssl.peakRssKiB,
        },
      });
    return [ratio('sign'), ratio('verify'), memory('sign'), memory('verify')];
  } finally {
    fs.rmSync(file, { force: true });
    fs.rmSync(`${file}.sigstore.json`, { force: true });
  }
}

function writeRepeatedFile(file, size) {
  const block = crypto.randomBytes(16 * MiB);
  const fd = fs.openSync(file, 'w');
  try {
    for (let written = 0; written < size; written += block.length) fs.writeSync(fd, block, 0, Math.min(block.length, size - written));
  } finally {
    fs.closeSync(fd);
  }
}

async function inProcessVerification(log) {
  const { Verifier, toSignedEntity, toTrustMaterial } = requireFromCore('@sigstore/verify');
  const { bundleFromJSON } = requireFromCore('@sigstore/bundle');
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pem = publicKey.export({ type: 'spki', format: 'pem' });
  const bytes = crypto.randomBytes(1024);
  const signed = await core.signArtifact({ bytes }, new core.LocalSigner('bench', privateKey));
  const bundle = bundleFromJSON(core.serializeBundle(signed));

  const emptyRoot = {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [],
    ctlogs: [],
    certificateAuthorities: [],
    timestampAuthorities: [],
  };
  const thresholds = { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 };
  const keyFinder = () => ({ publicKey: crypto.createPublicKey(pem), validFor: () => true });
  const signetVerify = (artifact) => verifyBundle(bundle, { bytes: artifact }, { keys: [{ publicKey: pem }] });
  const directVerify = (artifact) =>
    new Verifier(toTrustMaterial(emptyRoot, keyFinder), thresholds).verify(toSignedEntity(bundle, artifact));

  // Both must really verify: accept the bundle, refuse a changed byte.
  await signetVerify(bytes);
  directVerify(bytes);
  const changed = Buffer.from(bytes);
  changed[0] ^= 1;
  if (
    (await signetVerify(changed).then(
      () => true,
      () => false,
    )) ||
    succeeds(() => directVerify(changed))
  ) {
    throw new Error('a changed artifact verified: the benchmark would measure nothing');
  }

  log(`verifying a 1 KiB message signature in process, ${RATE_ROUNDS} rounds of ${RATE_ROUND_MS} ms each side`);
  const m = await compareRates(
    [
      { name: 'signet', fn: () => signetVerify(bytes) },
      { name: 'direct', fn: () => directVerify(bytes) },
    ],
    { rounds: RATE_ROUNDS, roundMs: RATE_ROUND_MS, warmupMs: 500 },
  );
  return [
    check({
      id: 'verify-in-process-rate',
      what: '`createVerifier().verify` rate (1 KiB message signature) ÷ @sigstore/verify called directly',
      target: '≥ 1.00×',
      comparator: '>=',
      limit: 1,
      value: m.signet.medianPerSecond / m.direct.medianPerSecond,
      unit: '×',
      detail: {
        text: `${Math.round(m.signet.medianPerSecond)} vs ${Math.round(m.direct.medianPerSecond)} verifications/s (median of ${RATE_ROUNDS} rounds)`,
        medianPerSecond: m.signet.medianPerSecond,
        referenceMedianPerSecond: m.direct.medianPerSecond,
        perSecond: m.signet.perSecond,
        referencePerSecond: m.direct.perSecond,
      },
    }),
  ];
}

function succeeds(fn) {
  try {
    fn();
    return true;
  } catch {
    return false;
  }
}

async function coldStart(dir, key, log) {
  const file = path.join(dir, 'small.bin');
  fs.writeFileSync(file, crypto.randomBytes(1024));
  await runCommand(signet('sign', ['sign', file, '--key', key.private]));
  log(`cold start of signet verify, ${COLD_START_RUNS} runs interleaved with a bare node loading sigstore-js`);
  const bareScript = `require(${JSON.stringify(sigstorePaths.verify)});require(${JSON.stringify(sigstorePaths.bundle)})`;
  const m = await compareCommands(
    [
      { name: 'bare', cmd: node, args: ['-e', bareScript] },
      signet('verify', ['verify', file, '--key', key.public]),
      { name: 'node', cmd: node, args: ['-e', '0'] },
    ],
    { runs: COLD_START_RUNS, warmups: 2 },
  );
  return [
    check({
      id: 'verify-cold-start',
      what: '`signet verify` of a 1 KiB file, whole process ÷ `node` loading @sigstore/verify and @sigstore/bundle',
      target: '≤ 1.20×',
      comparator: '<=',
      limit: 1.2,
      value: m.verify.medianMs / m.bare.medianMs,
      unit: '×',
      detail: {
        text: `${Math.round(m.verify.medianMs)} ms vs ${Math.round(m.bare.medianMs)} ms (median of ${COLD_START_RUNS}); \`node -e 0\`: ${Math.round(m.node.medianMs)} ms`,
        medianMs: m.verify.medianMs,
        referenceMedianMs: m.bare.medianMs,
        emptyNodeMedianMs: m.node.medianMs,
        wallMs: m.verify.wallMs,
        referenceWallMs: m.bare.wallMs,
        emptyNodeWallMs: m.node.wallMs,
        peakRssKiB: m.verify.peakRssKiB,
        referencePeakRssKiB: m.bare.peakRssKiB,
      },
    }),
  ];
}
