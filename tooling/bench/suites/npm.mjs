// Suite "npm": `signet npm verify --lockfile` over a dependency tree of 500 packages served by a
// local registry (Verdaccio on 127.0.0.1), against `npm ci --ignore-scripts` fetching the same
// tarballs from the same registry, whole process against whole process; and how many packages
// verify-lockfile has in flight at once. Then a tree of 1,000 packages as registry.npmjs.org
// serves them (registry signature, SLSA provenance, npm's publish attestation, made with the
// local Sigstore stack), installed, checked by `signet npm verify --lockfile` and by the real
// `npm audit signatures`, whole process against whole process.

import { execFile, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { check, compareCommands, runCommand, scratchDir } from '../lib/harness.mjs';

const require = createRequire(import.meta.url);
const core = require('@signet/core');
const { releaseStatement, tarballFileName } = require('@signet/npm');
const { startNpmRegistry, startSigstoreCdn } = require('@signet/emulators/npm-registry');
const { SigstoreStack } = require('@signet/emulators/sigstore');
const cliBin = path.join(path.dirname(require.resolve('@signet/cli/package.json')), 'bin', 'signet.js');

const PACKAGES = 500;
const RUNS = 5;
const TREE_PACKAGES = 1000;
const TREE_RUNS = 5;

export default {
  title: 'verifying a lockfile of npm packages',
  description:
    '`signet npm verify --lockfile` over 500 signed packages from a local registry, against `npm ci --ignore-scripts` ' +
    'installing the same lockfile from the same registry; and over an installed tree of 1,000 packages with registry ' +
    'signatures, provenance and publish attestations, against `npm audit signatures` on the same tree and registry.',

  async run({ log }) {
    const lockfile = await lockfileVsInstall({ log });
    const tree = await treeVsAudit({ log });
    return { checks: [...lockfile.checks, ...tree.checks], notes: [...lockfile.notes, ...tree.notes] };
  },
};

async function lockfileVsInstall({ log }) {
  {
    const dir = scratchDir('npm');
    const registry = await startRegistry();
    try {
      log(`making, signing and publishing ${PACKAGES} packages to Verdaccio on ${registry.url}`);
      const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const pub = path.join(dir, 'maintainer.pub');
      fs.writeFileSync(pub, publicKey.export({ type: 'spki', format: 'pem' }));
      const signer = new core.LocalSigner(pub, privateKey);
      const bundles = path.join(dir, 'bundles');
      fs.mkdirSync(bundles);
      const lock = await publishAll(dir, registry, signer, bundles);

      const app = path.join(dir, 'app');
      fs.mkdirSync(app);
      const dependencies = Object.fromEntries(
        Object.keys(lock).map((location) => [location.slice('node_modules/'.length), lock[location].version]),
      );
      fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true, dependencies }));
      fs.writeFileSync(
        path.join(app, 'package-lock.json'),
        JSON.stringify({
          name: 'app',
          version: '1.0.0',
          lockfileVersion: 3,
          requires: true,
          packages: { '': { name: 'app', version: '1.0.0', dependencies }, ...lock },
        }),
      );
      const npmrc = path.join(dir, 'npmrc');
      fs.writeFileSync(npmrc, `registry=${registry.url}\n`);
      const cache = path.join(dir, 'npm-cache');
      const npmEnv = {
        npm_config_userconfig: npmrc,
        npm_config_update_notifier: 'false',
        npm_config_fund: 'false',
        npm_config_audit: 'false',
      };

      // npm ci with an empty cache each time: it fetches every tarball, as verify does.
      const npmCi = {
        name: 'npm ci',
        cmd: 'bash',
        args: ['-c', `rm -rf node_modules "${cache}" && exec npm ci --ignore-scripts --no-audit --no-fund --cache "${cache}"`],
        cwd: app,
        env: npmEnv,
      };
      const verify = {
        name: 'verify',
        cmd: process.execPath,
        args: [
          cliBin,
          'npm',
          'verify',
          '--lockfile',
          'package-lock.json',
          '--key',
          pub,
          '--bundle-dir',
          bundles,
          '--registry',
          registry.url,
        ],
        cwd: app,
        env: npmEnv,
      };
      log('checking both commands once (and that verify refuses a swapped tarball)');
      await runCommand(npmCi);
      if (fs.readdirSync(path.join(app, 'node_modules')).length < PACKAGES)
        throw new Error('npm ci installed fewer packages than the lockfile has');
      registry.inFlight.reset();
      await runCommand(verify);
      const peak = registry.inFlight.peak();
      await assertCatchesSwap(registry, lock, verify);

      log(`${RUNS} rounds of npm ci and signet npm verify --lockfile, interleaved`);
      const m = await compareCommands([npmCi, verify], { runs: RUNS, warmups: 1 });
      return {
        checks: [
          check({
            id: 'npm-verify-lockfile-time',
            what: `\`signet npm verify --lockfile\` of ${PACKAGES} packages ÷ \`npm ci --ignore-scripts\` of the same lockfile, same registry`,
            target: '≤ 1.50×',
            comparator: '<=',
            limit: 1.5,
            value: m.verify.medianMs / m['npm ci'].medianMs,
            unit: '×',
            detail: {
              text: `${seconds(m.verify.medianMs)} vs ${seconds(m['npm ci'].medianMs)} (median of ${RUNS})`,
              medianMs: m.verify.medianMs,
              referenceMedianMs: m['npm ci'].medianMs,
              wallMs: m.verify.wallMs,
              referenceWallMs: m['npm ci'].wallMs,
            },
          }),
          check({
            id: 'npm-verify-lockfile-parallel',
            what: 'packages verify-lockfile has in flight at once (most requests open together at the registry)',
            target: '≥ 4',
            comparator: '>=',
            limit: 4,
            value: peak,
            unit: 'packages',
            // A response can still be closing as its worker's next request opens, so the count may exceed 8 by one.
            detail: { text: `${peak} requests open at once (--concurrency defaults to 8)` },
          }),
        ],
        notes: [
          `The tree: ${PACKAGES} packages (\`bench-pkg-000\`…), each a tarball made with \`tar -czf\` of a package.json and an index.js of 2 to 40 KiB, signed with an ECDSA P-256 key (a DSSE bundle per release, as \`signet npm publish\` makes it, in a bundle folder) and published to Verdaccio 6.8 (@signet/emulators' local registry, in the benchmark's process, storage in a temporary folder, no uplinks) over its publish API. The app's package-lock.json (v3) pins each one's resolved URL and integrity.`,
          `Reference: \`npm ci --ignore-scripts --no-audit --no-fund\` with a new empty cache folder and no node_modules each round, so it fetches and unpacks every tarball. Measured: \`signet npm verify --lockfile package-lock.json --key maintainer.pub --bundle-dir bundles --registry URL\`, which for each package fetches the packument and the tarball, checks both integrities and verifies the bundle, spread over a worker thread per core (${os.availableParallelism()} here), 8 at a time on each. Both are checked first: npm ci installs all ${PACKAGES}, and verify passes, then fails once a tarball is swapped in the registry's storage. One warm-up round, then ${RUNS} rounds, order rotated; median wall time.`,
          `In flight: the registry counts its open packument and tarball requests while one verify runs (a package has one open at a time); the figure is the most at once.`,
        ],
      };
    } finally {
      await registry.stop();
    }
  }
}

/** Makes, signs and publishes the packages; returns the lockfile's `packages` entries. */
async function publishAll(dir, registry, signer, bundles) {
  const lock = {};
  const work = path.join(dir, 'make');
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < PACKAGES; i = next++) {
      const name = `bench-pkg-${String(i).padStart(3, '0')}`;
      const version = '1.0.0';
      const pkg = path.join(work, name, 'package');
      fs.mkdirSync(pkg, { recursive: true });
      fs.writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name, version, main: 'index.js', license: 'MIT' }));
      fs.writeFileSync(
        path.join(pkg, 'index.js'),
        `module.exports = ${JSON.stringify(crypto.randomBytes(1024 * (1 + (i % 20))).toString('hex'))};\n`,
      );
      const tgz = path.join(work, tarballFileName(name, version));
      execFileSync('tar', ['-czf', tgz, '-C', path.dirname(pkg), 'package']);
      const bytes = fs.readFileSync(tgz);
      const bundle = await core.signStatement(releaseStatement(name, version, bytes), signer);
      fs.writeFileSync(path.join(bundles, `${tarballFileName(name, version)}.sigstore.json`), JSON.stringify(core.serializeBundle(bundle)));
      const integrity = `sha512-${crypto.createHash('sha512').update(bytes).digest('base64')}`;
      const tarball = `${registry.url}${name}/-/${tarballFileName(name, version)}`;
      await registry.publish(name, version, bytes, integrity, tarball);
      lock[`node_modules/${name}`] = { version, resolved: tarball, integrity, license: 'MIT' };
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return Object.fromEntries(Object.entries(lock).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** A verifier that passes anything measures nothing: a swapped tarball must fail it. */
async function assertCatchesSwap(registry, lock, verify) {
  const name = Object.keys(lock)[0].slice('node_modules/'.length);
  const file = path.join(registry.storage, name, tarballFileName(name, '1.0.0'));
  const original = fs.readFileSync(file);
  fs.writeFileSync(file, Buffer.concat([original, Buffer.from('x')]));
  const refused = await runCommand(verify).then(
    () => false,
    () => true,
  );
  fs.writeFileSync(file, original);
  if (!refused) throw new Error('signet npm verify passed a swapped tarball: the benchmark would measure nothing');
}

/** The local registry (Verdaccio, from @signet/emulators), with its API publish and a count of requests in flight. */
async function startRegistry() {
  const registry = await startNpmRegistry();
  let open = 0;
  let peak = 0;
  // A package in verification has one request open at a time (its packument, then its tarball).
  registry.server.on('request', (request, response) => {
    if (request.url.includes('/-/npm/') || request.url.includes('/-/user/')) return;
    peak = Math.max(peak, ++open);
    response.once('close', () => open--);
  });
  return {
    url: registry.url,
    storage: registry.storage,
    inFlight: {
      reset: () => {
        peak = 0;
      },
      peak: () => peak,
    },
    /** The document `npm publish` sends: the version's manifest and the tarball as an attachment. */
    async publish(name, version, bytes, integrity, tarball) {
      const filename = tarballFileName(name, version);
      const manifest = {
        name,
        version,
        main: 'index.js',
        license: 'MIT',
        dist: { integrity, shasum: crypto.createHash('sha1').update(bytes).digest('hex'), tarball },
      };
      const response = await fetch(`${registry.url}${name}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${registry.token}` },
        body: JSON.stringify({
          _id: name,
          name,
          'dist-tags': { latest: version },
          versions: { [version]: { ...manifest, _id: `${name}@${version}` } },
          _attachments: { [filename]: { content_type: 'application/octet-stream', data: bytes.toString('base64'), length: bytes.length } },
        }),
      });
      if (!response.ok) throw new Error(`publishing ${name} failed: ${response.status} ${await response.text()}`);
    },
    stop: () => registry.stop(),
  };
}

function seconds(ms) {
  return `${(ms / 1000).toFixed(2)} s`;
}

/** The OIDC token GitHub Actions gives the release workflow of bench-org/NAME at its tag. */
function ciToken(name, version) {
  const ref = `refs/tags/v${version}`;
  const workflow = `bench-org/${name}/.github/workflows/release.yml@${ref}`;
  return {
    subject: `repo:bench-org/${name}:ref:${ref}`,
    claims: {
      job_workflow_ref: workflow,
      repository: `bench-org/${name}`,
      ref,
      workflow_ref: workflow,
      event_name: 'push',
      sha: 'c0ffee0000000000000000000000000000000000',
    },
  };
}

/**
 * A tree of TREE_PACKAGES packages as registry.npmjs.org serves them (each version signed by the
 * registry, with SLSA provenance from its CI and npm's publish attestation), installed with
 * npm ci; then `signet npm verify --lockfile` against the real `npm audit signatures`.
 */
async function treeVsAudit({ log }) {
  const dir = scratchDir('npm-tree');
  log('starting the Sigstore stack and a registry that signs and attests what it serves');
  const stack = await new SigstoreStack().start();
  const registry = await startNpmRegistry({
    signing: {
      sigstore: { rekorURL: stack.rekor.url, fulcioURL: stack.fulcio.url },
      provenanceToken: (name, version) => stack.mintToken(ciToken(name, version)),
    },
  });
  const cdn = await startSigstoreCdn(stack.tuf.url, stack.tuf.rootJson);
  try {
    log(
      `publishing ${TREE_PACKAGES} packages (each attested as it is published: provenance through Fulcio and Rekor, a publish attestation in Rekor)`,
    );
    const published = Date.now();
    const lock = await publishTree(dir, registry);
    const publishSeconds = (Date.now() - published) / 1000;

    const app = path.join(dir, 'app');
    fs.mkdirSync(app);
    const dependencies = Object.fromEntries(
      Object.keys(lock).map((location) => [location.slice('node_modules/'.length), lock[location].version]),
    );
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true, dependencies }));
    fs.writeFileSync(
      path.join(app, 'package-lock.json'),
      JSON.stringify({
        name: 'app',
        version: '1.0.0',
        lockfileVersion: 3,
        requires: true,
        packages: { '': { name: 'app', version: '1.0.0', dependencies }, ...lock },
      }),
    );
    const npmrc = path.join(dir, 'npmrc');
    fs.writeFileSync(npmrc, `registry=${registry.url}\n`);
    const cache = path.join(dir, 'npm-cache');
    // npm keeps Sigstore's TUF metadata in its cache: trust the local stack's root there, and
    // reach Sigstore's TUF CDN through the local proxy (npm audit signatures refreshes it every run).
    cdn.trustIn(cache);
    const npmEnv = {
      npm_config_userconfig: npmrc,
      npm_config_cache: cache,
      npm_config_update_notifier: 'false',
      npm_config_fund: 'false',
      npm_config_audit: 'false',
      ...cdn.env,
    };
    log('installing the tree (npm ci --ignore-scripts)');
    await runCommand({ cmd: 'npm', args: ['ci', '--ignore-scripts', '--no-audit', '--no-fund'], cwd: app, env: npmEnv });
    if (fs.readdirSync(path.join(app, 'node_modules')).length < TREE_PACKAGES)
      throw new Error('npm ci installed fewer packages than the lockfile has');

    const policy = path.join(app, 'signet-policy.json');
    fs.writeFileSync(
      policy,
      JSON.stringify({
        provenanceIdentities: [
          { issuer: stack.oidc.url, subjectRegExp: 'https://github\\.com/bench-org/[^/]+/\\.github/workflows/release\\.yml@refs/tags/v.+' },
        ],
        packages: [{ name: '*', provenance: true, registrySignature: true, publishAttestation: true }],
      }),
    );
    const audit = { name: 'npm audit signatures', cmd: 'npm', args: ['audit', 'signatures'], cwd: app, env: npmEnv };
    const verify = {
      name: 'verify',
      cmd: process.execPath,
      args: [
        cliBin,
        'npm',
        'verify',
        '--lockfile',
        'package-lock.json',
        '--allow-unsigned',
        '--policy',
        policy,
        '--trusted-root',
        stack.trustedRootPath,
        '--registry',
        registry.url,
      ],
      cwd: app,
      env: npmEnv,
    };

    log("checking both commands: each passes the tree, and each fails once one package is served another package's attestations");
    // Asynchronously: the registry answers from this process's event loop.
    const { stdout: auditOutput } = await promisify(execFile)('npm', ['audit', 'signatures'], {
      cwd: app,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...npmEnv },
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    for (const line of [
      `${TREE_PACKAGES} packages have verified registry signatures`,
      `${TREE_PACKAGES} packages have verified attestations`,
    ]) {
      if (!auditOutput.includes(line)) throw new Error(`npm audit signatures did not say "${line}":\n${auditOutput}`);
    }
    await runCommand(verify);
    const [first, second] = Object.keys(lock).map((location) => location.slice('node_modules/'.length));
    const swapped = await (await fetch(`${registry.url}-/npm/v1/attestations/${second}@1.0.0`)).json();
    registry.signing.setAttestations(first, '1.0.0', swapped);
    for (const command of [audit, verify]) {
      const refused = await runCommand(command).then(
        () => false,
        () => true,
      );
      if (!refused)
        throw new Error(`${command.name} passed a package served another package's attestations: the benchmark would measure nothing`);
    }
    registry.signing.setAttestations(first, '1.0.0');

    log(`${TREE_RUNS} rounds of npm audit signatures and signet npm verify --lockfile, interleaved`);
    const m = await compareCommands([audit, verify], { runs: TREE_RUNS, warmups: 1 });
    return {
      checks: [
        check({
          id: 'npm-verify-tree-vs-audit',
          what: `\`signet npm verify --lockfile\` of an installed tree of ${TREE_PACKAGES} packages (registry signature, provenance, publish attestation each) ÷ \`npm audit signatures\` of the same tree, same registry`,
          target: '≤ 0.25×',
          comparator: '<=',
          limit: 0.25,
          value: m.verify.medianMs / m['npm audit signatures'].medianMs,
          unit: '×',
          detail: {
            text: `${seconds(m.verify.medianMs)} vs ${seconds(m['npm audit signatures'].medianMs)} (median of ${TREE_RUNS})`,
            medianMs: m.verify.medianMs,
            referenceMedianMs: m['npm audit signatures'].medianMs,
            wallMs: m.verify.wallMs,
            referenceWallMs: m['npm audit signatures'].wallMs,
            peakRssKiB: m.verify.peakRssKiB,
            referencePeakRssKiB: m['npm audit signatures'].peakRssKiB,
            publishSeconds: Math.round(publishSeconds),
          },
        }),
      ],
      notes: [
        `The tree: ${TREE_PACKAGES} packages (\`tree-pkg-0000\`…), each a tarball of a package.json and an index.js of 1 to 20 KiB, published to Verdaccio 6.8 (@signet/emulators' local registry, in the benchmark's process, no uplinks) started with \`signing\`, so that it serves what registry.npmjs.org serves: \`/-/npm/v1/keys\`, a registry signature on every version (ECDSA P-256 over \`NAME@VERSION:INTEGRITY\`) and, at \`/-/npm/v1/attestations/NAME@VERSION\`, SLSA provenance v1 signed keyless (a Fulcio certificate for the GitHub Actions workflow \`bench-org/NAME/.github/workflows/release.yml\` at \`refs/tags/v1.0.0\`, logged in Rekor) and npm's publish attestation (signed with the registry's attestation key, logged in Rekor), made through the local Sigstore stack (in the benchmark's process) as each version is published. The app's package-lock.json pins all ${TREE_PACKAGES}; \`npm ci --ignore-scripts\` installs them once, before the rounds.`,
        `Reference: the real \`npm audit signatures\` (npm ${execFileSync('npm', ['--version'], { encoding: 'utf8' }).trim()}) in the app, which loads the installed tree and, 20 packages at a time, fetches each package document and attestations, verifies the registry signature and both attestations with sigstore-js against the trusted root in its TUF cache. npm refreshes Sigstore's TUF metadata from its fixed CDN address at every run: here it reaches the local stack's TUF repository through a local HTTPS proxy for that host alone (a throw-away CA in NODE_EXTRA_CA_CERTS), its cache seeded with the local root.json. Its cache is the one npm ci filled. Measured: \`signet npm verify --lockfile package-lock.json --allow-unsigned --policy signet-policy.json --trusted-root trusted_root.json --registry URL\`, whose policy trusts provenance from the stack's issuer for bench-org's release workflows and requires, of every package, provenance, the registry signature and the publish attestation: for each package it fetches the package document, the tarball and the attestations, checks the tarball against both integrities, the registry signature, and both attestations with @signet/core's verifier, spread over a worker thread per core (${os.availableParallelism()} here), 8 at a time on each. Both are checked first: each passes the tree (npm says all ${TREE_PACKAGES} have verified registry signatures and attestations), and each fails once one package is served another package's attestations. One warm-up round, then ${TREE_RUNS} rounds, order rotated; median wall time.`,
      ],
    };
  } finally {
    await cdn.stop();
    await registry.stop();
    await stack.stop();
  }
}

/** Makes and publishes the tree's packages through the registry's publish API; returns the lockfile's entries. */
async function publishTree(dir, registry) {
  const lock = {};
  const work = path.join(dir, 'make');
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < TREE_PACKAGES; i = next++) {
      const name = `tree-pkg-${String(i).padStart(4, '0')}`;
      const version = '1.0.0';
      const pkg = path.join(work, name, 'package');
      fs.mkdirSync(pkg, { recursive: true });
      fs.writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name, version, main: 'index.js', license: 'MIT' }));
      fs.writeFileSync(
        path.join(pkg, 'index.js'),
        `module.exports = ${JSON.stringify(crypto.randomBytes(512 * (1 + (i % 20))).toString('hex'))};\n`,
      );
      const tgz = path.join(work, tarballFileName(name, version));
      execFileSync('tar', ['-czf', tgz, '-C', path.dirname(pkg), 'package']);
      const bytes = fs.readFileSync(tgz);
      const integrity = `sha512-${crypto.createHash('sha512').update(bytes).digest('base64')}`;
      const tarball = `${registry.url}${name}/-/${tarballFileName(name, version)}`;
      await publishVersion(registry, name, version, bytes, integrity, tarball);
      lock[`node_modules/${name}`] = { version, resolved: tarball, integrity, license: 'MIT' };
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return Object.fromEntries(Object.entries(lock).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** The document `npm publish` sends: the version's manifest and the tarball as an attachment. */
async function publishVersion(registry, name, version, bytes, integrity, tarball) {
  const filename = tarballFileName(name, version);
  const manifest = {
    name,
    version,
    main: 'index.js',
    license: 'MIT',
    dist: { integrity, shasum: crypto.createHash('sha1').update(bytes).digest('hex'), tarball },
  };
  const response = await fetch(`${registry.url}${name}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${registry.token}` },
    body: JSON.stringify({
      _id: name,
      name,
      'dist-tags': { latest: version },
      versions: { [version]: { ...manifest, _id: `${name}@${version}` } },
      _attachments: { [filename]: { content_type: 'application/octet-stream', data: bytes.toString('base64'), length: bytes.length } },
    }),
  });
  if (!response.ok) throw new Error(`publishing ${name} failed: ${response.status} ${await response.text()}`);
}
