// Suite "keyless": what keyless signing and verification cost.
//   1. Keyless sign of a small file against the local Sigstore stack (in its own process):
//      @signet/core (openSigner('keyless') + signArtifact) vs sigstore-js's own sign(), the
//      same services (Fulcio, Rekor, TSA), a fresh token for every signature on both sides.
//   2. Keyless verify of a bundle offline, in-process: verifications per second of
//      @signet/core's verifier with the stack's trusted root and an identity policy.

import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import { createRequire } from 'node:module';
import { check, compareRates, median, repoRoot } from '../lib/harness.mjs';

const require = createRequire(import.meta.url);
const core = require('@signet/core');

/** A verifier per verification, as a one-off `signet verify` makes one. */
const verifyBundle = (bundle, artifact, policy, options = {}) => core.createVerifier({ ...options, policy }).verify(bundle, artifact);
const sigstore = require('sigstore');
// The copies each side loads: the same @sigstore/sign, or the comparison measures two versions.
const requireFromCore = createRequire(require.resolve('@signet/core'));
const requireFromSigstore = createRequire(require.resolve('sigstore'));

const EMAIL = 'bench@example.com';
const ARTIFACT_BYTES = 1024;
const WARMUP_SIGNS = 5;
const SIGN_ROUNDS = 8;
const SIGNS_PER_ROUND = 8;
const VERIFY_ROUNDS = 10;
const VERIFY_ROUND_MS = 300;
// sigstore-js's defaults (sigstore/dist/config.js), given to Signet too: they matter only on failure.
const TIMEOUT_MS = 5000;
const RETRIES = 2;

export default {
  title: 'keyless signing and verification',
  description:
    'What keyless signing costs against sigstore-js signing the same way against the same local Sigstore stack ' +
    '(OIDC token → Fulcio certificate → Rekor entry → RFC 3161 timestamp), and how fast a keyless bundle verifies offline.',

  async run({ log }) {
    const signPaths = [requireFromCore.resolve('@sigstore/sign'), requireFromSigstore.resolve('@sigstore/sign')];
    if (signPaths[0] !== signPaths[1])
      throw new Error(`Signet and sigstore-js load different @sigstore/sign copies: ${signPaths.join(', ')}`);
    log('starting the Sigstore stack in its own process');
    const stack = await startStack();
    try {
      const sign = await keylessSign(stack, log);
      const verify = await keylessVerify(stack, sign.bundle, sign.artifact, log);
      return { checks: [sign.check, verify.check], notes: notes(verify) };
    } finally {
      stack.stop();
    }
  },
};

function notes(verify) {
  const p = verify.profile;
  return [
    `Sign: an artifact of ${ARTIFACT_BYTES} random bytes, in memory. The local Sigstore stack (tooling/emulators, built: an OIDC issuer, Fulcio, Rekor, a TSA) runs in a child process on 127.0.0.1, as these services are remote to a signer: its own CPU work (checking the token against the issuer's keys, issuing the certificate and its SCT, appending to the log, signing the timestamp) does not share an event loop with the side being timed, and it is the same work for both sides. Both sides use the same @sigstore/sign copy (checked), the same Fulcio, Rekor and TSA URLs, the same timeout (${TIMEOUT_MS} ms) and retries (${RETRIES}). One operation is one signature from scratch: Signet: \`openSigner('keyless', { identityToken, services })\` (an ephemeral P-256 key) then \`signArtifact({ bytes }, signer, { services })\` then \`serializeBundle\`; sigstore-js: \`sign(bytes, { fulcioURL, rekorURL, tsaServerURL, identityToken, timeout, retry })\`, which returns the bundle's JSON. Each operation gets a freshly minted token (asked of the stack over IPC before the timer starts). ${WARMUP_SIGNS} warm-up signatures per side, then ${SIGN_ROUNDS} rounds of ${SIGNS_PER_ROUND} signatures per side, the order of the sides rotated each round; each signature is timed alone, and the figure is the ratio of the medians. Checked first: each side's bundle has a certificate, one Rekor entry and one timestamp and verifies with @signet/core by identity, and each signature makes exactly one Fulcio, one Rekor and one TSA request (counted by the stack).`,
    `Verify: a Signet keyless message-signature bundle (certificate, Rekor entry with inclusion proof and SET, RFC 3161 timestamp) over 1 KiB, parsed once (\`parseBundle\`), verified in-process as \`createVerifier({ policy: { identities: [{ subject, issuer }] }, trustedRoot }).verify(bundle, { bytes })\`, a verifier per verification, with the stack's trusted_root.json read once (\`loadTrustedRoot({ trustedRootPath })\`): no network, the stack is not asked. Checked first to accept the bundle and to refuse another identity and a changed byte. ${VERIFY_ROUNDS} rounds of ${VERIFY_ROUND_MS} ms after a warm-up, the median rate. For context, in the same interleaved rounds: @sigstore/verify called directly on the same bundle with the trust material built once (\`new Verifier(toTrustMaterial(root)).verify(toSignedEntity(bundle, bytes), policy)\`): ${verify.directRate}/s; and the same with the trust material built per call, as a verifier per verification does: ${verify.directPerCallRate}/s.`,
    `Where a verification's time goes (one call, counted outside the timing by wrapping the functions below, then unwrapped): ${p.signatureChecks} signature checks (\`crypto.verify\`; one P-256 check costs ${p.p256VerifyMicros} µs here), ${p.createPublicKey} public keys parsed from DER (\`crypto.createPublicKey\`, ${p.createPublicKeyMicros} µs each here), and ${p.derEncodings} DER re-encodings of certificates and their parts by @sigstore/core (\`ASN1Obj.toDER\`, ${p.derNodesEncoded} ASN.1 nodes in all, each allocating zero-filled 1 KiB buffers), nearly all inside @sigstore/verify's certificate-chain and RFC 3161 checks; hence its own rate above is close to Signet's.`,
  ];
}

/** The Sigstore stack from tooling/emulators/dist in a child process, driven over IPC. */
async function startStack() {
  const script = `
    const { SigstoreStack } = require(${JSON.stringify(require.resolve('@signet/emulators/sigstore'))});
    const stack = new SigstoreStack();
    const operations = { fulcio: 'CreateSigningCertificate', rekor: 'CreateEntry', tsa: 'Timestamp' };
    (async () => {
      await stack.start();
      process.send({
        fulcioURL: stack.fulcio.url, rekorURL: stack.rekor.url, tsaURL: stack.tsa.url, issuer: stack.oidc.url,
        trustedRootPath: stack.trustedRootPath,
      });
    })();
    process.on('message', async (m) => {
      if (m.type === 'token') process.send({ token: await stack.mintToken({ email: m.email }) });
      if (m.type === 'counts') {
        const counts = {};
        for (const [name, operation] of Object.entries(operations)) counts[name] = stack[name].calls(operation).length;
        process.send(counts);
      }
      // Keep memory flat across rounds: the bench counts, it does not read the logs.
      if (m.type === 'forget') for (const service of stack.services) service.requests.length = 0;
    });
    process.on('disconnect', () => stack.stop().then(() => process.exit(0)));
  `;
  const child = spawn(process.execPath, ['-e', script], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const started = await nextMessage(child);
  const ask = (message) => {
    const answer = nextMessage(child);
    child.send(message);
    return answer;
  };
  return {
    ...started,
    token: async () => (await ask({ type: 'token', email: EMAIL })).token,
    counts: () => ask({ type: 'counts' }),
    forget: () => child.send({ type: 'forget' }),
    stop: () => {
      if (child.connected) child.disconnect();
    },
  };
}

function nextMessage(child) {
  return new Promise((resolve, reject) => {
    const onExit = (code) => reject(new Error(`the Sigstore stack exited (${code})`));
    child.once('exit', onExit);
    child.once('message', (message) => {
      child.off('exit', onExit);
      resolve(message);
    });
  });
}

async function keylessSign(stack, log) {
  const artifact = crypto.randomBytes(ARTIFACT_BYTES);
  const services = { fulcioURL: stack.fulcioURL, rekorURL: stack.rekorURL, tsaURL: stack.tsaURL, timeoutMs: TIMEOUT_MS, retries: RETRIES };
  const sides = {
    signet: async (identityToken) => {
      const signer = await core.openSigner('keyless', { identityToken, services });
      return core.serializeBundle(await core.signArtifact({ bytes: artifact }, signer, { services }));
    },
    'sigstore-js': (identityToken) =>
      sigstore.sign(artifact, {
        fulcioURL: stack.fulcioURL,
        rekorURL: stack.rekorURL,
        tsaServerURL: stack.tsaURL,
        identityToken,
        timeout: TIMEOUT_MS,
        retry: { retries: RETRIES },
      }),
  };

  log('checking both sides: one Fulcio, Rekor and TSA request per signature; bundles verify by identity');
  const trustedRoot = await core.loadTrustedRoot({ trustedRootPath: stack.trustedRootPath });
  const policy = { identities: [{ subject: EMAIL, issuer: stack.issuer }] };
  const bundles = {};
  for (const [name, sign] of Object.entries(sides)) {
    const before = await stack.counts();
    const json = await sign(await stack.token());
    const after = await stack.counts();
    for (const service of ['fulcio', 'rekor', 'tsa']) {
      if (after[service] - before[service] !== 1)
        throw new Error(`${name} made ${after[service] - before[service]} ${service} requests for one signature`);
    }
    const bundle = core.parseBundle(json);
    const material = bundle.verificationMaterial;
    if (
      material.content.$case === 'publicKey' ||
      material.tlogEntries.length !== 1 ||
      material.timestampVerificationData?.rfc3161Timestamps.length !== 1
    ) {
      throw new Error(`${name}'s bundle lacks a certificate, a log entry or a timestamp`);
    }
    await verifyBundle(bundle, { bytes: artifact }, policy, { trustedRoot });
    bundles[name] = bundle;
  }

  log(`warming up (${WARMUP_SIGNS} signatures per side)`);
  for (let i = 0; i < WARMUP_SIGNS; i++) for (const sign of Object.values(sides)) await sign(await stack.token());

  log(`${SIGN_ROUNDS} rounds of ${SIGNS_PER_ROUND} signatures per side, the order rotated each round`);
  const names = Object.keys(sides);
  const samples = Object.fromEntries(names.map((name) => [name, []]));
  for (let round = 0; round < SIGN_ROUNDS; round++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(round + i) % names.length];
      for (let n = 0; n < SIGNS_PER_ROUND; n++) {
        const token = await stack.token();
        const started = process.hrtime.bigint();
        await sides[name](token);
        samples[name].push(Number(process.hrtime.bigint() - started) / 1e6);
      }
    }
    stack.forget();
  }
  const signetMs = median(samples.signet);
  const referenceMs = median(samples['sigstore-js']);
  return {
    bundle: bundles.signet,
    artifact,
    check: check({
      id: 'keyless-sign-time',
      what: `Keyless sign of a ${ARTIFACT_BYTES / 1024} KiB artifact against the local Sigstore stack (Fulcio, Rekor, TSA): time ÷ sigstore-js \`sign()\``,
      target: '≤ 1.20×',
      comparator: '<=',
      limit: 1.2,
      value: signetMs / referenceMs,
      unit: '×',
      detail: {
        text: `${signetMs.toFixed(1)} ms vs ${referenceMs.toFixed(1)} ms per signature (median of ${SIGN_ROUNDS * SIGNS_PER_ROUND} each)`,
        medianMs: round1(signetMs),
        referenceMedianMs: round1(referenceMs),
        ms: samples.signet.map(round1),
        referenceMs: samples['sigstore-js'].map(round1),
      },
    }),
  };
}

async function keylessVerify(stack, bundle, artifact, log) {
  const { Verifier, toSignedEntity, toTrustMaterial } = requireFromCore('@sigstore/verify');
  const { TrustedRoot } = requireFromCore('@sigstore/protobuf-specs');
  const trustedRoot = await core.loadTrustedRoot({ trustedRootPath: stack.trustedRootPath });
  const policy = { identities: [{ subject: EMAIL, issuer: stack.issuer }] };
  const reparsed = core.parseBundle(core.serializeBundle(bundle));

  log('checking verification: accepts the bundle, refuses another identity and a changed byte');
  await verifyBundle(reparsed, { bytes: artifact }, policy, { trustedRoot });
  const changed = Buffer.from(artifact);
  changed[0] ^= 1;
  await expectRefusal(verifyBundle(reparsed, { bytes: changed }, policy, { trustedRoot }), 'E_SIGNATURE');
  await expectRefusal(
    verifyBundle(
      reparsed,
      { bytes: artifact },
      { identities: [{ subject: 'mallory@example.com', issuer: stack.issuer }] },
      { trustedRoot },
    ),
    'E_POLICY',
  );

  const sigstorePolicy = { subjectAlternativeName: EMAIL, extensions: { issuer: stack.issuer } };
  const rootJson = TrustedRoot.fromJSON(TrustedRoot.toJSON(trustedRoot));
  const trust = toTrustMaterial(rootJson);
  const cases = [
    { name: 'signet', fn: () => verifyBundle(reparsed, { bytes: artifact }, policy, { trustedRoot }) },
    { name: 'direct', fn: () => new Verifier(trust).verify(toSignedEntity(reparsed, artifact), sigstorePolicy) },
    { name: 'directPerCall', fn: () => new Verifier(toTrustMaterial(rootJson)).verify(toSignedEntity(reparsed, artifact), sigstorePolicy) },
  ];
  log(`verifying in-process, ${VERIFY_ROUNDS} rounds of ${VERIFY_ROUND_MS} ms`);
  const rates = await compareRates(cases, { rounds: VERIFY_ROUNDS, roundMs: VERIFY_ROUND_MS });
  const rate = rates.signet.medianPerSecond;
  log('counting what one verification does (outside the timing)');
  const profile = await profileVerification(() => verifyBundle(reparsed, { bytes: artifact }, policy, { trustedRoot }));
  return {
    directRate: rates.direct.medianPerSecond,
    directPerCallRate: rates.directPerCall.medianPerSecond,
    profile,
    check: check({
      id: 'keyless-verify-rate',
      what: 'Keyless verify of a bundle offline, in-process (certificate chain, SCT, Rekor inclusion proof and SET, TSA timestamp, identity)',
      target: '≥ 1,000 / s',
      comparator: '>=',
      limit: 1000,
      value: rate,
      unit: '/s',
      detail: {
        text: `median of ${VERIFY_ROUNDS} rounds; @sigstore/verify directly: ${rates.direct.medianPerSecond}/s (trust material built once), ${rates.directPerCall.medianPerSecond}/s (built per call)`,
        medianPerSecond: rate,
        perSecond: rates.signet.perSecond,
        directMedianPerSecond: rates.direct.medianPerSecond,
        directPerSecond: rates.direct.perSecond,
        directPerCallMedianPerSecond: rates.directPerCall.medianPerSecond,
        directPerCallPerSecond: rates.directPerCall.perSecond,
        perVerification: profile,
      },
    }),
  };
}

/**
 * What one verification does, counted by wrapping (for this one call only) the functions
 * @sigstore/verify's certificate and signature checks go through: node:crypto's
 * createPublicKey and verify, and @sigstore/core's DER encoder (ASN1Obj.toDER, outermost
 * calls and all nested ones). With the unit cost of each, measured here, this says where
 * the time goes.
 */
async function profileVerification(verifyOnce) {
  const { ASN1Obj } = createRequire(requireFromCore.resolve('@sigstore/verify'))('@sigstore/core');
  const { createPublicKey, verify } = crypto;
  const toDER = ASN1Obj.prototype.toDER;
  const counts = { createPublicKey: 0, signatureChecks: 0, derEncodings: 0, derNodesEncoded: 0 };
  let depth = 0;
  crypto.createPublicKey = (...args) => {
    counts.createPublicKey += 1;
    return createPublicKey(...args);
  };
  crypto.verify = (...args) => {
    counts.signatureChecks += 1;
    return verify(...args);
  };
  ASN1Obj.prototype.toDER = function countedToDER() {
    counts.derNodesEncoded += 1;
    if (depth === 0) counts.derEncodings += 1;
    depth += 1;
    try {
      return toDER.call(this);
    } finally {
      depth -= 1;
    }
  };
  try {
    await verifyOnce();
  } finally {
    crypto.createPublicKey = createPublicKey;
    crypto.verify = verify;
    ASN1Obj.prototype.toDER = toDER;
  }
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const data = crypto.randomBytes(64);
  const signature = crypto.sign('sha256', data, privateKey);
  return {
    ...counts,
    createPublicKeyMicros: microsPerCall(() => crypto.createPublicKey({ key: spki, format: 'der', type: 'spki' })),
    p256VerifyMicros: microsPerCall(() => crypto.verify('sha256', data, publicKey, signature)),
  };
}

function microsPerCall(fn) {
  for (let i = 0; i < 200; i++) fn();
  const calls = 2000;
  const started = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) fn();
  return round1(Number(process.hrtime.bigint() - started) / 1e3 / calls);
}

async function expectRefusal(promise, code) {
  const error = await promise.then(
    () => undefined,
    (e) => e,
  );
  if (error?.code !== code)
    throw new Error(`expected a refusal with ${code}, got ${error ? `${error.code}: ${error.message}` : 'success'}`);
}

function round1(value) {
  return Math.round(value * 10) / 10;
}
