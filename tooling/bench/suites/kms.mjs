// Suite "kms": what signing through a KMS provider costs on top of the KMS calls themselves.
//   1. 1,000 small artifacts signed with an AWS KMS key (the emulator, in its own process) by
//      @signet/core's signArtifacts with @signet/kms-aws, vs the same number of raw
//      @aws-sdk/client-kms Sign calls over their digests, same concurrency, same client settings.

import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import { createRequire } from 'node:module';
import { check, median, repoRoot } from '../lib/harness.mjs';

const require = createRequire(import.meta.url);
const core = require('@signet/core');

/** A verifier per verification, as a one-off `signet verify` makes one. */
const verifyBundle = (bundle, artifact, policy, options = {}) => core.createVerifier({ ...options, policy }).verify(bundle, artifact);
const kmsAws = require('@signet/kms-aws');
// The very @aws-sdk/client-kms that @signet/kms-aws loads, so both sides run the same SDK.
const { KMSClient, SignCommand } = createRequire(require.resolve('@signet/kms-aws'))('@aws-sdk/client-kms');

const ARTIFACTS = 1000;
const ARTIFACT_BYTES = 1024;
const CONCURRENCY = 8;
const ROUNDS = 7;

export default {
  title: 'signing through a KMS',
  description:
    'What signing many artifacts with a KMS key costs on top of the KMS calls it cannot avoid: ' +
    'Signet (hashing, one Sign per artifact, Sigstore bundles) against raw AWS SDK Sign calls, against the AWS KMS emulator.',

  async run({ log }) {
    log('starting the AWS KMS emulator in its own process');
    const emulator = await startEmulator();
    try {
      return { checks: await awsThroughput(emulator, log), notes: notes() };
    } finally {
      emulator.stop();
    }
  },
};

function notes() {
  return [
    `AWS KMS: ${ARTIFACTS} artifacts of ${ARTIFACT_BYTES} random bytes each, in memory. The emulator (tooling/emulators, built) runs in a child process on 127.0.0.1, as a KMS is remote: it checks every request's SigV4 signature and signs with a real ECDSA P-256 key. Signet: \`signArtifacts(inputs, signer, { concurrency: ${CONCURRENCY} })\` from @signet/core with the signer of \`createAwsKmsProvider({ endpoint, region, credentials }).open('awskms:///alias/bench')\` (one GetPublicKey when opened, outside the timing), producing and keeping ${ARTIFACTS} Sigstore bundles. Reference: ${CONCURRENCY} workers sending \`Sign { KeyId: <key ARN>, Message: sha256(artifact), MessageType: DIGEST, SigningAlgorithm: ECDSA_SHA_256 }\` with a \`KMSClient\` built with the same settings as the provider builds it (endpoint, region, credentials, maxAttempts 1), from the same copy of @aws-sdk/client-kms. The checks double as one warm-up round for each side; then ${ROUNDS} rounds with the order rotated; the figure is the ratio of the median throughputs (signatures per second). For the detail, a third side in the same rounds: the provider's \`signer.sign(bytes)\` alone (hash, one Sign), without building bundles, which separates the provider's cost from @signet/core's.`,
    'Checked before timing: a Signet bundle and a raw signature both verify with the key, and a Signet round makes exactly one Sign request per artifact (counted by the emulator). The emulator also counts the TCP connections it accepted over the whole run: both sides reuse keep-alive connections.',
  ];
}

/** The emulator from tooling/emulators/dist in a child process, driven over IPC. */
async function startEmulator() {
  const script = `
    const { AwsKmsEmulator } = require(${JSON.stringify(require.resolve('@signet/emulators/aws-kms'))});
    const kms = new AwsKmsEmulator();
    (async () => {
      await kms.start();
      const key = await kms.createKey({ keySpec: 'ECC_NIST_P256', alias: 'alias/bench' });
      process.send({ url: kms.url, region: kms.region, credentials: kms.credentials, arn: key.arn, publicKey: kms.publicKeyPem(key.keyId) });
    })();
    process.on('message', (m) => {
      if (m === 'counts') process.send({ signs: kms.calls('Sign').length, connections: kms.connections });
      // Keep memory flat across rounds: the bench counts, it does not read the log.
      if (m === 'forget') kms.requests.length = 0;
    });
    process.on('disconnect', () => kms.stop().then(() => process.exit(0)));
  `;
  const child = spawn(process.execPath, ['-e', script], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const started = await nextMessage(child);
  return {
    ...started,
    counts: async () => {
      child.send('counts');
      return nextMessage(child);
    },
    forget: () => child.send('forget'),
    stop: () => {
      if (child.connected) child.disconnect();
    },
  };
}

function nextMessage(child) {
  return new Promise((resolve, reject) => {
    const onExit = (code) => reject(new Error(`the emulator exited (${code})`));
    child.once('exit', onExit);
    child.once('message', (message) => {
      child.off('exit', onExit);
      resolve(message);
    });
  });
}

async function awsThroughput(emulator, log) {
  const inputs = Array.from({ length: ARTIFACTS }, () => ({ bytes: crypto.randomBytes(ARTIFACT_BYTES) }));
  const settings = { endpoint: emulator.url, region: emulator.region, credentials: emulator.credentials };
  const signer = await kmsAws.createAwsKmsProvider(settings).open(core.parseKeyRef('awskms:///alias/bench'));
  const client = new KMSClient({ ...settings, maxAttempts: 1 });

  const signet = () => core.signArtifacts(inputs, signer, { concurrency: CONCURRENCY });
  const raw = () =>
    pool(inputs, CONCURRENCY, async ({ bytes }) => {
      const digest = crypto.createHash('sha256').update(bytes).digest();
      const out = await client.send(
        new SignCommand({ KeyId: emulator.arn, Message: digest, MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' }),
      );
      return out.Signature;
    });

  log('checking both sides: signatures verify, one Sign per artifact');
  const before = (await emulator.counts()).signs;
  const bundles = await signet();
  const signs = (await emulator.counts()).signs - before;
  if (signs !== ARTIFACTS) throw new Error(`Signet made ${signs} Sign requests for ${ARTIFACTS} artifacts`);
  await verifyBundle(bundles[0], inputs[0], { keys: [{ publicKey: emulator.publicKey }] });
  const [rawSignature] = await raw();
  if (!crypto.verify('sha256', inputs[0].bytes, emulator.publicKey, Buffer.from(rawSignature))) {
    throw new Error('a raw SDK signature does not verify');
  }
  emulator.forget();

  // For the detail only: the provider's signer without bundles, to tell its cost from core's.
  const signerOnly = () => pool(inputs, CONCURRENCY, ({ bytes }) => signer.sign(bytes));
  const sides = { signet, raw, signer: signerOnly };
  await signerOnly(); // its warm-up; the checks above warmed the other two

  log(`signing ${ARTIFACTS} artifacts, ${ROUNDS} rounds, the order rotated each round`);
  const samples = { signet: [], raw: [], signer: [] };
  const names = Object.keys(sides);
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(round + i) % names.length];
      const started = process.hrtime.bigint();
      await sides[name]();
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      samples[name].push(ARTIFACTS / seconds);
    }
    emulator.forget();
  }
  const { connections } = await emulator.counts();
  client.destroy();

  const signetRate = median(samples.signet);
  const rawRate = median(samples.raw);
  const signerRate = median(samples.signer);
  return [
    check({
      id: 'kms-aws-sign-throughput',
      what: `Signing ${ARTIFACTS.toLocaleString('en')} small artifacts with an AWS KMS key (emulator), concurrency ${CONCURRENCY}: throughput ÷ raw SDK Sign calls`,
      target: '≥ 0.80×',
      comparator: '>=',
      limit: 0.8,
      value: signetRate / rawRate,
      unit: '×',
      detail: {
        text: `${Math.round(signetRate)} vs ${Math.round(rawRate)} signatures/s (median of ${ROUNDS} rounds); the provider's signer alone, without bundles: ${Math.round(signerRate)}/s; ${connections} TCP connections in all`,
        medianPerSecond: Math.round(signetRate),
        referenceMedianPerSecond: Math.round(rawRate),
        signerMedianPerSecond: Math.round(signerRate),
        perSecond: samples.signet.map(Math.round),
        referencePerSecond: samples.raw.map(Math.round),
        signerPerSecond: samples.signer.map(Math.round),
        connections,
      },
    }),
  ];
}

/** Runs `work` over `items` with at most `concurrency` at once; results in input order. */
async function pool(items, concurrency, work) {
  const results = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) results[i] = await work(items[i]);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}
