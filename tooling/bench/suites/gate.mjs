// Suite "gate": a deploy gate over 100 artifacts of mixed kinds.
//   1. `signet gate` over them, whole process, vs `sha256sum` over the same bytes (one process):
//      the "sum of the raw digest time" of those artifacts.
//   2. Whether the gate really verifies in parallel: @signet/core's gate() in process with the
//      default concurrency vs one artifact at a time.

import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { check, compareCommands, median, runCommand, scratchDir } from '../lib/harness.mjs';

const require = createRequire(import.meta.url);
const core = require('@signet/core');
const cliBin = path.join(path.dirname(require.resolve('@signet/cli/package.json')), 'bin', 'signet.js');

const node = process.execPath;
const MiB = 2 ** 20;
const COUNTS = { file: 40, 'lambda-zip': 30, 'npm-tarball': 25, web: 5 };
const WEB_FILES = 150;
const GATE_RUNS = 11;
const PARALLEL_RUNS = 5;

const POLICY = `version: 1
keys:
  release: { publicKey: release.pub }
rules:
  - { kind: web, signers: [release] }
  - kind: lambda-zip
    signers: [release]
    attestations: [{ predicateType: cyclonedx }]
  - { kind: npm-tarball, signers: [release] }
  - { kind: file, signers: [release] }
`;

export default {
  title: 'the deploy gate over 100 artifacts',
  description:
    '`signet gate` checking 100 artifacts of mixed kinds (files, Lambda zips with an SBOM attestation each, npm tarballs, web builds) ' +
    'against a policy, against `sha256sum` over the same bytes; and whether it really verifies in parallel.',

  async run({ log }) {
    const dir = scratchDir('gate');
    log(`writing and signing ${Object.values(COUNTS).reduce((a, b) => a + b)} artifacts in ${dir}`);
    const set = await makeArtifacts(dir);
    log(`${set.artifacts.length} artifacts, ${set.files.length} files, ${(set.bytes / MiB).toFixed(0)} MiB`);
    const whole = await gateTime(dir, set, log);
    const parallel = await parallelism(dir, set, log);
    const digest = inProcessDigest(dir, set);
    return {
      checks: [whole.check, parallel.check],
      notes: [
        `The artifacts, in the OS temporary directory: ${COUNTS.file} files (\`.bin\`), ${COUNTS['lambda-zip']} Lambda zips (\`.zip\`), ${COUNTS['npm-tarball']} npm tarballs (\`.tgz\`), each 1 to 8 MiB (the size of artifact i is 1 + (37·i mod 8) MiB) of random bytes behind the kind's magic number (the gate checks a zip's or gzip's first bytes and hashes the rest; it does not unpack), and ${COUNTS.web} web builds of ${WEB_FILES} files each (${WEB_FILES - 10} of 2 to 32 KiB, 10 of 256 KiB); ${set.files.length} files, ${(set.bytes / MiB).toFixed(0)} MiB in all. Signed in process with @signet/core and one ECDSA P-256 key: files and zips with \`signArtifact\` (a message signature over the sha256, ARTIFACT.sigstore.json beside it), each zip also with a CycloneDX attestation (ARTIFACT.sbom.sigstore.json), each tarball as @signet/npm signs one (a DSSE statement naming pkg:npm/NAME@VERSION with the tarball's sha512), each build with \`signDirectory\`. The policy (four rules, one per kind, the zips requiring a CycloneDX attestation by the same key) is in the results' detail.`,
        `Whole process: in that folder, \`node packages/cli/bin/signet.js gate --policy policy.yaml\` followed by the ${set.artifacts.length} artifact paths vs \`sha256sum\` followed by the ${set.files.length} file paths (GNU coreutils, one process, the same bytes: every artifact file and every file of every build). Both are checked first: the gate to pass all ${set.artifacts.length} (exit 0) and to fail (exit 1) once a byte of one zip is changed and put back. Two warm-up rounds (page cache), then ${GATE_RUNS} rounds, order rotated; median wall time. For context, \`node -e 0\` and \`signet --version\` run in the same rounds: ${whole.context}.`,
        `The reference is slow for its bytes: this coreutils sha256sum (${whole.sha256sumVersion}) hashes without the CPU's SHA extensions, while Node's OpenSSL uses them. In this process, after the timed rounds, hashing the same files one after another with Node's crypto (each with the hash its signature records: sha512 for the tarballs, sha256 for the rest; whole-file reads, page cache warm) takes ${digest.ms} ms, median of ${PARALLEL_RUNS}: against that stricter "raw digest time" the gate's whole process is ${(whole.gateMs / digest.ms).toFixed(2)}× (it includes starting Node and loading the CLI, ${whole.versionMs} ms).`,
        `Parallel: \`gate(artifacts, policy)\` from @signet/core (dist/) in this process, with \`{ concurrency: 1 }\` (one artifact at a time, its file hashed on one worker thread) and with the default (twice the cores, ${2 * os.availableParallelism()} here, on up to ${os.availableParallelism()} worker threads), after one warm-up each, ${PARALLEL_RUNS} interleaved rounds, median. Node hashes on the thread that calls \`update()\`, so files over 1 MiB are hashed on worker threads; the web builds are checked by \`verifyDirectory\` on the main thread. The figure is the ratio of the medians: 1 would mean no parallelism at all, 1/cores (${(1 / os.availableParallelism()).toFixed(2)} here) perfect scaling. What stays on the main thread bounds it: checking each ECDSA message signature over a digest hashed on a worker is done in JavaScript by @signet/core's verifier (@noble/curves, a few milliseconds each), and the web builds.`,
      ],
    };
  },
};

/** The artifacts, their bundles and the policy; returns the artifact paths and every file of them. */
async function makeArtifacts(dir) {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const signer = new core.LocalSigner('release', privateKey);
  fs.writeFileSync(path.join(dir, 'release.pub'), core.publicKeyPem(publicKey));
  fs.writeFileSync(path.join(dir, 'policy.yaml'), POLICY);
  const artifacts = [];
  const files = [];
  let bytes = 0;
  const write = (name, data) => {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), data);
    files.push(name);
    bytes += data.length;
  };
  const sized = (i, magic) => Buffer.concat([magic, crypto.randomBytes((1 + ((37 * i) % 8)) * MiB - magic.length)]);
  let i = 0;
  for (let n = 0; n < COUNTS.file; n++, i++) {
    const name = `release/file-${n}.bin`;
    write(name, sized(i, Buffer.alloc(0)));
    await core.writeBundle(path.join(dir, `${name}.sigstore.json`), await core.signArtifact({ path: path.join(dir, name) }, signer));
    artifacts.push(name);
  }
  for (let n = 0; n < COUNTS['lambda-zip']; n++, i++) {
    const name = `release/function-${n}.zip`;
    write(name, sized(i, Buffer.from('PK\x03\x04')));
    const file = path.join(dir, name);
    await core.writeBundle(`${file}.sigstore.json`, await core.signArtifact({ path: file }, signer));
    const sbom = await core.createAttestation([{ path: file, name: path.basename(name) }], 'https://cyclonedx.org/bom', {
      bomFormat: 'CycloneDX',
      specVersion: '1.6',
      components: [],
    });
    await core.writeBundle(`${file}.sbom.sigstore.json`, await core.signStatement(sbom, signer));
    artifacts.push(name);
  }
  for (let n = 0; n < COUNTS['npm-tarball']; n++, i++) {
    const name = `release/pkg-${n}-1.0.0.tgz`;
    const data = sized(i, Buffer.from([0x1f, 0x8b, 0x08, 0x00]));
    write(name, data);
    const sha512 = crypto.createHash('sha512').update(data).digest('hex');
    const statement = core.createStatement(
      [{ name: `pkg:npm/pkg-${n}@1.0.0`, digest: { sha512 } }],
      'https://signet.dev/npm-release/v1',
      {},
    );
    await core.writeBundle(path.join(dir, `${name}.sigstore.json`), await core.signStatement(statement, signer));
    artifacts.push(name);
  }
  for (let n = 0; n < COUNTS.web; n++) {
    const out = `web/site-${n}`;
    for (let f = 0; f < WEB_FILES; f++) {
      const size = f < 10 ? 256 * 1024 : 2048 + ((f * 7919) % (30 * 1024));
      write(`${out}/assets/chunk-${f}.js`, crypto.randomBytes(size));
    }
    await core.signDirectory(path.join(dir, out), signer);
    artifacts.push(out);
  }
  return { artifacts, files, bytes };
}

async function gateTime(dir, set, log) {
  const gate = { name: 'gate', cmd: node, args: [cliBin, 'gate', '--policy', 'policy.yaml', ...set.artifacts], cwd: dir };
  const sha256sum = { name: 'sha256sum', cmd: 'sha256sum', args: set.files, cwd: dir };

  // The gate must really check: pass as signed, fail with one byte of one zip changed.
  await runCommand(gate);
  const victim = path.join(
    dir,
    set.artifacts.find((a) => a.endsWith('.zip')),
  );
  const original = fs.readFileSync(victim);
  const changed = Buffer.from(original);
  changed[changed.length - 1] ^= 1;
  fs.writeFileSync(victim, changed);
  const caught = await runCommand(gate).then(
    () => false,
    (error) => / exited 1: /.test(error.message),
  );
  fs.writeFileSync(victim, original);
  if (!caught) throw new Error('signet gate did not fail (exit 1) on a changed zip: the benchmark would measure nothing');

  log(`${GATE_RUNS} rounds of signet gate and sha256sum over the same files, interleaved`);
  const m = await compareCommands(
    [sha256sum, gate, { name: 'node', cmd: node, args: ['-e', '0'] }, { name: 'version', cmd: node, args: [cliBin, '--version'] }],
    { runs: GATE_RUNS, warmups: 2 },
  );
  const ms = (name) => `${Math.round(m[name].medianMs)} ms`;
  const sha256sumVersion = execFileSync('sha256sum', ['--version'], { encoding: 'utf8' }).split('\n')[0];
  return {
    gateMs: m.gate.medianMs,
    versionMs: Math.round(m.version.medianMs),
    sha256sumVersion,
    context: `\`node -e 0\` ${ms('node')}, \`signet --version\` ${ms('version')} (medians)`,
    check: check({
      id: 'gate-100-artifacts',
      what: `\`signet gate\` of ${set.artifacts.length} artifacts of mixed kinds (${(set.bytes / MiB).toFixed(0)} MiB), whole process ÷ \`sha256sum\` of the same files`,
      target: '≤ 1.30×',
      comparator: '<=',
      limit: 1.3,
      value: m.gate.medianMs / m.sha256sum.medianMs,
      unit: '×',
      detail: {
        text: `${ms('gate')} vs ${ms('sha256sum')} (median of ${GATE_RUNS}); \`node -e 0\`: ${ms('node')}, \`signet --version\`: ${ms('version')}`,
        medianMs: m.gate.medianMs,
        referenceMedianMs: m.sha256sum.medianMs,
        wallMs: m.gate.wallMs,
        referenceWallMs: m.sha256sum.wallMs,
        peakRssKiB: m.gate.peakRssKiB,
        emptyNodeMedianMs: m.node.medianMs,
        cliVersionMedianMs: m.version.medianMs,
        artifacts: set.artifacts.length,
        files: set.files.length,
        bytes: set.bytes,
        policy: POLICY,
      },
    }),
  };
}

async function parallelism(dir, set, log) {
  log(`${PARALLEL_RUNS} rounds of gate() in process, one artifact at a time and with the default concurrency`);
  const policy = await core.loadGatePolicy(path.join(dir, 'policy.yaml'));
  const paths = set.artifacts.map((a) => path.join(dir, a));
  const run = async (options) => {
    const start = performance.now();
    const verdicts = await core.gate(paths, policy, options);
    const elapsed = performance.now() - start;
    const failed = verdicts.filter((v) => !v.ok);
    if (failed.length > 0) throw new Error(`gate() failed ${failed[0].artifact}: ${failed[0].reason}`);
    return elapsed;
  };
  const cases = { serial: { concurrency: 1 }, parallel: {} };
  for (const options of Object.values(cases)) await run(options);
  const samples = { serial: [], parallel: [] };
  for (let round = 0; round < PARALLEL_RUNS; round++) {
    const order = round % 2 === 0 ? ['serial', 'parallel'] : ['parallel', 'serial'];
    for (const name of order) samples[name].push(await run(cases[name]));
  }
  const serialMs = median(samples.serial);
  const parallelMs = median(samples.parallel);
  return {
    check: check({
      id: 'gate-parallel',
      what: `in-process \`gate()\` of the same artifacts, default concurrency ÷ one at a time (${os.availableParallelism()} cores)`,
      target: '≤ 0.80×',
      comparator: '<=',
      limit: 0.8,
      value: parallelMs / serialMs,
      unit: '×',
      detail: {
        text: `${Math.round(parallelMs)} ms vs ${Math.round(serialMs)} ms (median of ${PARALLEL_RUNS})`,
        medianMs: parallelMs,
        referenceMedianMs: serialMs,
        samplesMs: samples.parallel.map(Math.round),
        referenceSamplesMs: samples.serial.map(Math.round),
      },
    }),
  };
}

/** Hashing every file in this process, one after another, with the hash its signature records. */
function inProcessDigest(dir, set) {
  const times = [];
  for (let round = 0; round <= PARALLEL_RUNS; round++) {
    const start = performance.now();
    for (const name of set.files) {
      crypto
        .createHash(name.endsWith('.tgz') ? 'sha512' : 'sha256')
        .update(fs.readFileSync(path.join(dir, name)))
        .digest();
    }
    if (round > 0) times.push(performance.now() - start);
  }
  return { ms: Math.round(median(times)) };
}
