// Suite "keyless": what keyless signing and verification cost.
//   1. Keyless sign of a small file against the local Sigstore stack (in its own process):
//      @signet/core (openSigner('keyless') + signArtifact) vs sigstore-js's own sign(), the
//      same services (Fulcio, Rekor, TSA), a fresh token for every signature on both sides.
//   2. Keyless verify offline, in-process: verifications per second of @signet/core's verifier
//      over distinct keyless bundles (message signatures with a timestamp; npm provenance as
//      npm publishes it), against @sigstore/verify called directly on the same bundles.

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
// Distinct bundles, each with its own certificate, key, SCT, log entry (and timestamp), verified
// in turn: nothing a bundle carries can be answered from a cache.
const VERIFY_BUNDLES = 64;
const SLSA_PROVENANCE = 'https://slsa.dev/provenance/v1';
const WORKFLOW_CLAIMS = (i) => ({
  subject: `repo:bench-org/pkg-${i}:ref:refs/tags/v1.0.0`,
  claims: {
    job_workflow_ref: `bench-org/pkg-${i}/.github/workflows/release.yml@refs/tags/v1.0.0`,
    repository: `bench-org/pkg-${i}`,
    ref: 'refs/tags/v1.0.0',
    workflow_ref: `bench-org/pkg-${i}/.github/workflows/release.yml@refs/tags/v1.0.0`,
    event_name: 'push',
    sha: 'c0ffee0000000000000000000000000000000000',
  },
});
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
      const verify = await keylessVerify(stack, log);
      return { checks: [sign.check, ...verify.checks], notes: notes(verify) };
    } finally {
      stack.stop();
    }
  },
};

function notes(verify) {
  const p = verify.profile;
  return [
    `Sign: an artifact of ${ARTIFACT_BYTES} random bytes, in memory. The local Sigstore stack (tooling/emulators, built: an OIDC issuer, Fulcio, Rekor, a TSA) runs in a child process on 127.0.0.1, as these services are remote to a signer: its own CPU work (checking the token against the issuer's keys, issuing the certificate and its SCT, appending to the log, signing the timestamp) does not share an event loop with the side being timed, and it is the same work for both sides. Both sides use the same @sigstore/sign copy (checked), the same Fulcio, Rekor and TSA URLs, the same timeout (${TIMEOUT_MS} ms) and retries (${RETRIES}). One operation is one signature from scratch: Signet: \`openSigner('keyless', { identityToken, services })\` (an ephemeral P-256 key) then \`signArtifact({ bytes }, signer, { services })\` then \`serializeBundle\`; sigstore-js: \`sign(bytes, { fulcioURL, rekorURL, tsaServerURL, identityToken, timeout, retry })\`, which returns the bundle's JSON. Each operation gets a freshly minted token (asked of the stack over IPC before the timer starts). ${WARMUP_SIGNS} warm-up signatures per side, then ${SIGN_ROUNDS} rounds of ${SIGNS_PER_ROUND} signatures per side, the order of the sides rotated each round; each signature is timed alone, and the figure is the ratio of the medians. Checked first: each side's bundle has a certificate, one Rekor entry and one timestamp and verifies with @signet/core by identity, and each signature makes exactly one Fulcio, one Rekor and one TSA request (counted by the stack).`,
    `Verify: ${VERIFY_BUNDLES} Signet keyless message-signature bundles (certificate, Rekor entry with inclusion proof and SET, RFC 3161 timestamp) over 1 KiB each, and ${VERIFY_BUNDLES} npm provenance bundles made as npm makes them in CI (a DSSE in-toto statement, SLSA provenance v1, naming pkg:npm/bench-pkg-NNN@1.0.0 with the sha512 of a 1 KiB tarball; a certificate for a GitHub Actions workflow identity with its source-repository extensions; a Rekor entry with inclusion proof and SET; no timestamp), every one signed through the local stack with its own token, key and certificate, then serialized and parsed again. Each side verifies them in turn, one after another, so nothing a bundle carries repeats within ${VERIFY_BUNDLES} verifications. Signet: \`createVerifier({ policy, trustedRoot }).verify(bundle, { bytes[, name] })\`, a new verifier per verification as a one-off \`signet verify\` makes one, with the stack's trusted_root.json read once (\`loadTrustedRoot({ trustedRootPath })\`), an exact identity (messages) or an anchored workflow identity and the SLSA type (provenance, whose subject must also be the package's purl): no network. Reference: @sigstore/verify called directly on the same bundles and bytes, with the trust material built once (\`new Verifier(toTrustMaterial(root)).verify(toSignedEntity(bundle, bytes), { subjectAlternativeName, extensions: { issuer } })\`); for context, built per call as well: ${verify.rates.directPerCall.medianPerSecond}/s. Checked first: every bundle verifies on both sides; Signet refuses a changed byte, another identity, another package name and another tarball; @sigstore/verify refuses a changed byte. After a warm-up, ${VERIFY_ROUNDS} interleaved rounds of ${VERIFY_ROUND_MS} ms per side, order rotated; the figures are median rates and their ratios.`,
    `How Signet gets there (packages/core/src/sigstore-fast.ts): the trusted root is compiled once per root content (the CA and TSA certificates' encodings and keys, the paths between a CA's own certificates, the TSA's chain, the log keys) and shared by every verifier; each bundle's certificate, SCTs, timestamp and log entries are checked afresh, over the bytes @sigstore/core parsed them from where those are exactly their DER (so no re-encoding), and the leaf's key is imported from its curve point. The fast path only accepts; whatever it does not, @sigstore/verify decides. Per verification (one call, counted outside the timing by wrapping node:crypto and @sigstore/core's DER encoder): Signet ${p.signatureChecks} signature checks, ${p.createPublicKey} public keys parsed from DER, ${p.derEncodings} DER re-encodings (${p.derNodesEncoded} nodes); @sigstore/verify directly ${verify.directProfile.signatureChecks} signature checks, ${verify.directProfile.createPublicKey} public keys parsed from DER, ${verify.directProfile.derEncodings} DER re-encodings (${verify.directProfile.derNodesEncoded} nodes, each allocating zero-filled 1 KiB buffers). One P-256 signature check costs ${p.p256VerifyMicros} µs here and one DER public key import ${p.createPublicKeyMicros} µs.`,
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
      if (m.type === 'token') process.send({ token: await stack.mintToken(m.options ?? { email: m.email }) });
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
    token: async (options) => (await ask({ type: 'token', email: EMAIL, options })).token,
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

async function keylessVerify(stack, log) {
  const { Verifier, toSignedEntity, toTrustMaterial } = requireFromCore('@sigstore/verify');
  const { TrustedRoot } = requireFromCore('@sigstore/protobuf-specs');
  const trustedRoot = await core.loadTrustedRoot({ trustedRootPath: stack.trustedRootPath });
  const services = { fulcioURL: stack.fulcioURL, rekorURL: stack.rekorURL, tsaURL: stack.tsaURL, timeoutMs: TIMEOUT_MS, retries: RETRIES };
  const npmServices = { fulcioURL: stack.fulcioURL, rekorURL: stack.rekorURL, timeoutMs: TIMEOUT_MS, retries: RETRIES };

  log(`signing ${VERIFY_BUNDLES} message signatures (timestamped) and ${VERIFY_BUNDLES} npm provenance statements, each with its own certificate`);
  const messages = [];
  const provenance = [];
  for (let i = 0; i < VERIFY_BUNDLES; i++) {
    const bytes = crypto.randomBytes(ARTIFACT_BYTES);
    const signer = await core.openSigner('keyless', { identityToken: await stack.token(), services });
    messages.push({ bundle: reparse(await core.signArtifact({ bytes }, signer, { services })), bytes });

    // As npm publishes provenance from CI: an in-toto statement naming pkg:npm/NAME@VERSION with
    // the tarball's sha512, SLSA v1, keyless from a GitHub Actions workflow, logged in Rekor (no TSA).
    const tarball = crypto.randomBytes(ARTIFACT_BYTES);
    const name = `bench-pkg-${String(i).padStart(3, '0')}`;
    const purl = `pkg:npm/${name}@1.0.0`;
    const statement = {
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: purl, digest: { sha512: crypto.createHash('sha512').update(tarball).digest('hex') } }],
      predicateType: SLSA_PROVENANCE,
      predicate: { buildDefinition: { buildType: 'https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1' }, runDetails: {} },
    };
    const workflowSigner = await core.openSigner('keyless', { identityToken: await stack.token(WORKFLOW_CLAIMS(i)), services: npmServices });
    const bundle = reparse(await core.signStatement(statement, workflowSigner, { services: npmServices }));
    provenance.push({ bundle, bytes: tarball, name: purl, subject: `https://github.com/bench-org/pkg-${i}/.github/workflows/release.yml@refs/tags/v1.0.0` });
  }
  const messagePolicy = { identities: [{ subject: EMAIL, issuer: stack.issuer }] };
  const npmPolicy = {
    identities: [{ subjectRegExp: '^https://github\\.com/bench-org/[^/]+/\\.github/workflows/release\\.yml@refs/tags/v.+$', issuer: stack.issuer }],
    predicateTypes: [SLSA_PROVENANCE],
  };
  const signetMessage = ({ bundle, bytes }) => verifyBundle(bundle, { bytes }, messagePolicy, { trustedRoot });
  const signetNpm = ({ bundle, bytes, name }) => verifyBundle(bundle, { bytes, name }, npmPolicy, { trustedRoot });

  log('checking verification: every bundle verifies; another identity, a changed byte and another package are refused');
  for (const item of messages) await signetMessage(item);
  for (const item of provenance) await signetNpm(item);
  const changed = Buffer.from(messages[0].bytes);
  changed[0] ^= 1;
  await expectRefusal(signetMessage({ ...messages[0], bytes: changed }), 'E_SIGNATURE');
  await expectRefusal(
    verifyBundle(messages[0].bundle, { bytes: messages[0].bytes }, { identities: [{ subject: 'mallory@example.com', issuer: stack.issuer }] }, { trustedRoot }),
    'E_POLICY',
  );
  await expectRefusal(signetNpm({ ...provenance[0], name: 'pkg:npm/bench-pkg-999@1.0.0' }), 'E_SIGNATURE');
  await expectRefusal(signetNpm({ ...provenance[0], bytes: provenance[1].bytes }), 'E_SIGNATURE');

  const rootJson = TrustedRoot.fromJSON(TrustedRoot.toJSON(trustedRoot));
  const trust = toTrustMaterial(rootJson);
  const messageSigstorePolicy = { subjectAlternativeName: EMAIL, extensions: { issuer: stack.issuer } };
  const direct = (item, policy) => new Verifier(trust).verify(toSignedEntity(item.bundle, item.bytes), policy);
  // Checked like Signet's side: @sigstore/verify accepts every bundle, and refuses a changed byte.
  for (const item of messages) direct(item, messageSigstorePolicy);
  for (const item of provenance) direct(item, { subjectAlternativeName: item.subject, extensions: { issuer: stack.issuer } });
  if (directRefuses(() => direct({ ...messages[0], bytes: changed }, messageSigstorePolicy)) !== true)
    throw new Error('@sigstore/verify accepted a changed artifact');

  const cycle = (list, fn) => {
    let i = 0;
    return () => fn(list[i++ % list.length]);
  };
  const cases = [
    { name: 'signet', fn: cycle(messages, signetMessage) },
    { name: 'direct', fn: cycle(messages, (item) => direct(item, messageSigstorePolicy)) },
    { name: 'signetNpm', fn: cycle(provenance, signetNpm) },
    {
      name: 'directNpm',
      fn: cycle(provenance, (item) => direct(item, { subjectAlternativeName: item.subject, extensions: { issuer: stack.issuer } })),
    },
    {
      name: 'directPerCall',
      fn: cycle(messages, (item) => new Verifier(toTrustMaterial(rootJson)).verify(toSignedEntity(item.bundle, item.bytes), messageSigstorePolicy)),
    },
  ];
  log(`verifying in-process, ${VERIFY_ROUNDS} interleaved rounds of ${VERIFY_ROUND_MS} ms per side`);
  const rates = await compareRates(cases, { rounds: VERIFY_ROUNDS, roundMs: VERIFY_ROUND_MS });
  log('counting what one verification does (outside the timing)');
  const profile = await profileVerification(() => signetMessage(messages[0]));
  const directProfile = await profileVerification(() => direct(messages[0], messageSigstorePolicy));
  const rate = (name) => rates[name].medianPerSecond;
  const checks = [
    check({
      id: 'keyless-verify-rate',
      what: `Keyless verify offline, in-process, of ${VERIFY_BUNDLES} distinct message-signature bundles in turn (certificate chain, SCT, Rekor inclusion proof and SET, TSA timestamp, identity)`,
      target: '≥ 1,000 / s',
      comparator: '>=',
      limit: 1000,
      value: rate('signet'),
      unit: '/s',
      detail: {
        text: `median of ${VERIFY_ROUNDS} rounds; @sigstore/verify directly on the same bundles: ${rate('direct')}/s (trust material built once), ${rate('directPerCall')}/s (built per call)`,
        medianPerSecond: rate('signet'),
        perSecond: rates.signet.perSecond,
        directMedianPerSecond: rate('direct'),
        directPerSecond: rates.direct.perSecond,
        directPerCallMedianPerSecond: rate('directPerCall'),
        directPerCallPerSecond: rates.directPerCall.perSecond,
        perVerification: profile,
        directPerVerification: directProfile,
      },
    }),
    check({
      id: 'keyless-verify-vs-sigstore',
      what: 'The same: Signet\'s rate ÷ @sigstore/verify called directly on the same bundles (trust material built once), same rounds',
      target: '≥ 5×',
      comparator: '>=',
      limit: 5,
      value: rate('signet') / rate('direct'),
      unit: '×',
      detail: { text: `${rate('signet')}/s vs ${rate('direct')}/s (medians of ${VERIFY_ROUNDS} interleaved rounds)` },
    }),
    check({
      id: 'npm-provenance-verify-rate',
      what: `npm provenance verify offline, in-process, of ${VERIFY_BUNDLES} distinct bundles in turn (DSSE SLSA v1 statement naming pkg:npm/NAME@VERSION and the tarball's sha512; certificate chain, SCT, Rekor inclusion proof and SET, workflow identity)`,
      target: '≥ 1,000 / s',
      comparator: '>=',
      limit: 1000,
      value: rate('signetNpm'),
      unit: '/s',
      detail: {
        text: `median of ${VERIFY_ROUNDS} rounds; @sigstore/verify directly on the same bundles: ${rate('directNpm')}/s`,
        medianPerSecond: rate('signetNpm'),
        perSecond: rates.signetNpm.perSecond,
        directMedianPerSecond: rate('directNpm'),
        directPerSecond: rates.directNpm.perSecond,
      },
    }),
    check({
      id: 'npm-provenance-verify-vs-sigstore',
      what: 'The same: Signet\'s rate ÷ @sigstore/verify called directly on the same provenance bundles, same rounds',
      target: '≥ 5×',
      comparator: '>=',
      limit: 5,
      value: rate('signetNpm') / rate('directNpm'),
      unit: '×',
      detail: { text: `${rate('signetNpm')}/s vs ${rate('directNpm')}/s (medians of ${VERIFY_ROUNDS} interleaved rounds)` },
    }),
  ];
  return { checks, rates, profile, directProfile };
}

/** A bundle as a verifier meets it: serialized and parsed again. */
function reparse(bundle) {
  return core.parseBundle(core.serializeBundle(bundle));
}

function directRefuses(fn) {
  try {
    fn();
    return false;
  } catch {
    return true;
  }
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
