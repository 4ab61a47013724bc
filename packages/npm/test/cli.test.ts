// `signet npm publish` and `signet npm verify`, run for real: the signet CLI drives the real
// npm CLI against a real registry (Verdaccio on 127.0.0.1), and verifies what it published.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { generateKey, type RunResult, SIGNET, signetAsync, singleErrorLine } from '@signet/test-support';
import { tarballFileName } from '../src';
import { type LocalRegistry, makePackage, npm, startRegistry } from './support/verdaccio';

// Every test here runs the signet CLI, which runs the real npm CLI (pack, publish, view) several
// times over: on a machine busy with other work a test takes minutes, not seconds. The limit is
// for a hang, not a measure of speed (that is the npm benchmark's job).
jest.setTimeout(240_000);

let registry: LocalRegistry;
let work: string;
let keys: { key: string; pub: string; other: string };
/** Serves `bundles/` over HTTP, as a release-asset host would. */
let assets: http.Server;
let assetsUrl: string;

beforeAll(async () => {
  registry = await startRegistry();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-npm-cli-'));
  const generated = generateKey(work, 'maintainer');
  keys = { key: `file:${path.join(work, 'maintainer.key')}`, pub: path.join(work, generated.pub), other: '' };
  keys.other = path.join(work, generateKey(work, 'stranger').pub);
  fs.mkdirSync(path.join(work, 'bundles'));
  assets = http.createServer((request, response) => {
    const file = path.join(work, 'bundles', path.basename(decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname)));
    if (!fs.existsSync(file)) return response.writeHead(404).end();
    response.writeHead(200, { 'content-type': 'application/json' }).end(fs.readFileSync(file));
  });
  await new Promise<void>((resolve) => assets.listen(0, '127.0.0.1', resolve));
  assetsUrl = `http://127.0.0.1:${(assets.address() as AddressInfo).port}/`;
}, 60_000);

afterAll(async () => {
  await registry?.stop();
  await new Promise((resolve) => assets?.close(resolve));
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

/** The environment that points npm (run by signet) at the test registry, and nowhere else. */
function npmEnv(): Record<string, string | undefined> {
  const cleared = Object.fromEntries(
    Object.keys(process.env)
      .filter((name) => /^npm_/i.test(name))
      .map((name) => [name, undefined]),
  );
  return { ...cleared, ...registry.npmEnv(registry.home) };
}

function run(args: string[], cwd = work): Promise<RunResult> {
  return signetAsync(args, { cwd, env: npmEnv() });
}

async function published(spec: string): Promise<boolean> {
  return (await npm(['view', spec, 'version'], { cwd: work, env: registry.npmEnv(registry.home) })).status === 0;
}

function verifyArgs(spec: string, ...extra: string[]): string[] {
  return ['npm', 'verify', spec, '--registry', registry.url, ...extra];
}

describe('signet npm publish', () => {
  test('signs the packed tarball, writes its bundle beside it, and publishes that tarball', async () => {
    const dir = makePackage(work, { name: '@signet-test/left-pad', version: '1.0.0' });
    const result = await run(['npm', 'publish', dir, '--key', keys.key]);
    expect(result.status).toBe(0);
    const tarball = path.join(dir, tarballFileName('@signet-test/left-pad', '1.0.0'));
    expect(result.stderr).toContain(`signed and published @signet-test/left-pad@1.0.0: ${tarball}, signature ${tarball}.sigstore.json`);
    expect(await published('@signet-test/left-pad@1.0.0')).toBe(true);
    // The registry has exactly the bytes that were signed.
    expect(fs.readFileSync(registry.tarballPath('@signet-test/left-pad', '1.0.0'))).toEqual(fs.readFileSync(tarball));

    const verified = await run(verifyArgs('@signet-test/left-pad@1.0.0', '--key', keys.pub, '--bundle-dir', dir));
    expect(verified.stderr).toContain('ok   @signet-test/left-pad@1.0.0');
    expect(verified.stderr).toContain(`signed by key ${keys.pub}`);
    expect(verified.status).toBe(0);
  });

  test('a dry run shows what would be signed and published, and neither signs nor publishes', async () => {
    const dir = makePackage(work, { name: 'signet-test-dry', version: '0.1.0' });
    const result = await run(['npm', 'publish', dir, '--dry-run']);
    expect(result.status).toBe(0);
    expect(result.stderr).toMatch(/dry run: would sign pkg:npm\/signet-test-dry@0\.1\.0 \(sha512 sha512-[A-Za-z0-9+/=]+, 2 files\)/);
    expect(fs.existsSync(path.join(dir, 'signet-test-dry-0.1.0.tgz.sigstore.json'))).toBe(false);
    expect(await published('signet-test-dry@0.1.0')).toBe(false);
  });

  test('a tarball holding a private key or credentials is refused, dry run or not: nothing written, nothing published', async () => {
    const dir = makePackage(work, {
      name: 'signet-test-leaky',
      version: '1.0.0',
      files: {
        'signing.key': '-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n',
        'config/.env': 'API_TOKEN=sk_live_do_not_print_me\n',
        '.env.example': 'API_TOKEN=\n',
      },
    });
    for (const args of [['--dry-run'], ['--key', keys.key]]) {
      const before = fs.readdirSync(dir).sort();
      const result = await run(['npm', 'publish', dir, ...args]);
      expect(singleErrorLine(result.stderr)).toEqual({
        code: 'E_INPUT',
        message:
          'signet-test-leaky@1.0.0\'s tarball holds private key material or credentials: config/.env (an .env file that sets values), signing.key (a PEM private key); leave them out (package.json "files" or .npmignore), or publish them anyway with --allow-secret PATH; nothing was published',
      });
      expect(result.status).toBe(2);
      expect(result.stderr).not.toContain('sk_live');
      expect(fs.readdirSync(dir).sort()).toEqual(before);
    }
    expect(await published('signet-test-leaky@1.0.0')).toBe(false);

    // Allowing one file is not allowing the other.
    const one = await run(['npm', 'publish', dir, '--key', keys.key, '--allow-secret', 'signing.key']);
    expect(singleErrorLine(one.stderr).message).toMatch(/credentials: config\/\.env \(an \.env file that sets values\); leave it out/);
    const both = await run(['npm', 'publish', dir, '--key', keys.key, '--allow-secret', 'signing.key', '--allow-secret', 'config/.env']);
    expect(both.status).toBe(0);
    expect(await published('signet-test-leaky@1.0.0')).toBe(true);
  });

  test('--workspaces checks every tarball before publishing any: one refused publishes none', async () => {
    const root = path.join(work, 'leaky-monorepo');
    fs.mkdirSync(root);
    fs.writeFileSync(
      path.join(root, 'package.json'),
      JSON.stringify({ name: 'leaky-monorepo', private: true, workspaces: ['packages/*'] }),
    );
    makePackage(path.join(root, 'packages'), { name: '@signet-test/ws-clean', version: '1.0.0' });
    makePackage(path.join(root, 'packages'), {
      name: '@signet-test/ws-leaky',
      version: '1.0.0',
      files: { 'test/id_rsa': '-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----\n' },
    });
    const result = await run(['npm', 'publish', root, '--workspaces', '--key', keys.key]);
    expect(singleErrorLine(result.stderr)).toEqual({
      code: 'E_INPUT',
      message: expect.stringMatching(
        /^@signet-test\/ws-leaky@1\.0\.0: .*: test\/id_rsa \(a PEM private key\); leave it out .*; nothing was published$/,
      ),
    });
    expect(result.status).toBe(2);
    expect(await published('@signet-test/ws-clean@1.0.0')).toBe(false);
  });

  test('a key that cannot sign publishes nothing', async () => {
    const dir = makePackage(work, { name: 'signet-test-unsigned', version: '1.0.0' });
    const result = await run(['npm', 'publish', dir, '--key', `file:${path.join(work, 'missing.key')}`]);
    expect(result.status).toBe(2);
    expect(singleErrorLine(result.stderr).code).toBe('E_KEY_NOT_FOUND');
    expect(await published('signet-test-unsigned@1.0.0')).toBe(false);
  });

  test('without --key (and not a dry run) it is a usage error', async () => {
    const result = await run(['npm', 'publish', work]);
    expect(result.status).toBe(2);
    expect(singleErrorLine(result.stderr)).toEqual({ code: 'E_USAGE', message: 'npm publish needs --key (a dry run does not)' });
  });

  test('the prepublishOnly guard refuses a plain npm publish; signet npm publish goes through', async () => {
    const dir = makePackage(work, { name: 'signet-test-guarded', version: '1.0.0' });
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
    manifest.scripts = { prepublishOnly: `node ${JSON.stringify(SIGNET)} npm guard` };
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify(manifest, null, 2));

    const plain = await npm(['publish'], { cwd: dir, env: registry.npmEnv(registry.home) });
    expect(plain.status).not.toBe(0);
    expect(plain.stderr).toContain('signet-test-guarded is published with `signet npm publish`');
    expect(await published('signet-test-guarded@1.0.0')).toBe(false);

    expect((await run(['npm', 'publish', dir, '--key', keys.key])).status).toBe(0);
    expect(await published('signet-test-guarded@1.0.0')).toBe(true);
  });

  test('--workspaces signs and publishes each public package not yet on the registry', async () => {
    const root = path.join(work, 'monorepo');
    fs.mkdirSync(root);
    fs.writeFileSync(path.join(root, 'package.json'), JSON.stringify({ name: 'monorepo', private: true, workspaces: ['packages/*'] }));
    const packages = path.join(root, 'packages');
    makePackage(packages, { name: '@signet-test/ws-a', version: '1.0.0' });
    makePackage(packages, { name: '@signet-test/ws-b', version: '2.0.0' });
    const internal = makePackage(packages, { name: '@signet-test/ws-internal', version: '1.0.0' });
    const manifest = JSON.parse(fs.readFileSync(path.join(internal, 'package.json'), 'utf8'));
    fs.writeFileSync(path.join(internal, 'package.json'), JSON.stringify({ ...manifest, private: true }));

    const first = await run(['npm', 'publish', root, '--workspaces', '--key', keys.key, '--json']);
    expect(first.stderr).toContain('@signet-test/ws-internal@1.0.0: skipped (private)');
    expect(first.status).toBe(0);
    const outcomes = (report: RunResult) =>
      Object.fromEntries((JSON.parse(report.stdout).packages as { name: string; outcome: string }[]).map((p) => [p.name, p.outcome]));
    expect(outcomes(first)).toEqual({
      '@signet-test/ws-a': 'published',
      '@signet-test/ws-b': 'published',
      '@signet-test/ws-internal': 'skipped-private',
    });
    expect(await published('@signet-test/ws-b@2.0.0')).toBe(true);
    expect(await published('@signet-test/ws-internal@1.0.0')).toBe(false);

    // A second run (nothing new versioned) publishes nothing.
    const second = await run(['npm', 'publish', root, '--workspaces', '--key', keys.key, '--json']);
    expect(second.status).toBe(0);
    expect(outcomes(second)).toEqual({
      '@signet-test/ws-a': 'skipped-published',
      '@signet-test/ws-b': 'skipped-published',
      '@signet-test/ws-internal': 'skipped-private',
    });
  });
});

describe('signet npm verify', () => {
  /** Publishes a signed package whose package.json says where its bundle is published, and publishes the bundle there. */
  async function release(name: string, version: string): Promise<string> {
    const dir = makePackage(work, { name, version });
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
    manifest.signet = { bundle: `${assetsUrl}{filename}.sigstore.json` };
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify(manifest, null, 2));
    const result = await run(['npm', 'publish', dir, '--key', keys.key]);
    if (result.status !== 0) throw new Error(result.stderr);
    const bundle = `${tarballFileName(name, version)}.sigstore.json`;
    fs.copyFileSync(path.join(dir, bundle), path.join(work, 'bundles', bundle));
    return dir;
  }

  test("finds the bundle where the package's signet.bundle URL says, and names the signer", async () => {
    await release('signet-test-found', '1.2.3');
    const result = await run(verifyArgs('signet-test-found@^1.0.0', '--key', keys.pub, '--json'));
    expect(result.status).toBe(0);
    const [report] = JSON.parse(result.stdout).packages;
    expect(report).toMatchObject({
      name: 'signet-test-found',
      version: '1.2.3',
      ok: true,
      signature: {
        status: 'verified',
        signer: { kind: 'key', name: keys.pub },
        source: `${assetsUrl}signet-test-found-1.2.3.tgz.sigstore.json`,
      },
      registrySignature: { status: 'missing' },
      provenance: { status: 'missing' },
    });
  });

  test('a tarball swapped in the registry storage fails, by its integrity and by its signature', async () => {
    await release('signet-test-swapped', '1.0.0');
    const other = makePackage(work, { name: 'signet-test-swapped', version: '1.0.0', files: { 'index.js': 'steal()\n' } });
    const packed = await npm(['pack', '--json', '--pack-destination', work], { cwd: other, env: registry.npmEnv(registry.home) });
    const evil = path.join(work, JSON.parse(packed.stdout)[0].filename);
    fs.copyFileSync(evil, registry.tarballPath('signet-test-swapped', '1.0.0'));

    const result = await run(verifyArgs('signet-test-swapped@1.0.0', '--key', keys.pub, '--json'));
    expect(result.status).toBe(1);
    const [report] = JSON.parse(result.stdout).packages;
    expect(report.ok).toBe(false);
    expect(report.problems).toContain('the tarball of signet-test-swapped@1.0.0 does not match its dist.integrity');
    expect(report.signature).toMatchObject({ status: 'failed', code: 'E_SIGNATURE' });
    expect(singleErrorLine(result.stderr).message).toContain('1 of 1 packages failed verification');
  });

  test('a package without a signature fails, saying what is missing', async () => {
    const dir = makePackage(work, { name: 'signet-test-plain', version: '1.0.0' });
    expect((await npm(['publish'], { cwd: dir, env: registry.npmEnv(registry.home) })).status).toBe(0);
    const result = await run(verifyArgs('signet-test-plain@1.0.0', '--key', keys.pub));
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(
      'signature: no Signet signature: its package.json names no signet.bundle URL (give the bundle with --bundle or --bundle-dir)',
    );
    // --allow-unsigned checks what the registry offers and accepts the package.
    expect((await run(verifyArgs('signet-test-plain@1.0.0', '--allow-unsigned'))).status).toBe(0);
  });

  test('--require-signature requires the signature only of the packages it names, and still checks any other', async () => {
    await release('@signet-test/named', '1.0.0');
    const plain = makePackage(work, { name: 'signet-test-third-party', version: '1.0.0' });
    expect((await npm(['publish'], { cwd: plain, env: registry.npmEnv(registry.home) })).status).toBe(0);
    await release('signet-test-stranger-signed', '1.0.0');
    const specs = ['@signet-test/named@1.0.0', 'signet-test-third-party@1.0.0'];

    const ok = await run(
      verifyArgs(specs[0] as string, specs[1] as string, '--key', keys.pub, '--require-signature', '@signet-test/*', '--json'),
    );
    expect(ok.status).toBe(0);
    expect(JSON.parse(ok.stdout).packages).toMatchObject([
      { name: '@signet-test/named', ok: true, signature: { status: 'verified' } },
      { name: 'signet-test-third-party', ok: true, signature: { status: 'missing' } },
    ]);
    // The same requirement from a policy file.
    const policy = path.join(work, 'require-named.json');
    fs.writeFileSync(policy, JSON.stringify({ keys: [keys.pub], requireSignature: ['@signet-test/*'] }));
    expect((await run(verifyArgs(specs[0] as string, specs[1] as string, '--policy', policy))).status).toBe(0);

    // A named package without its signature fails; an unnamed one whose signature is there but
    // not by a trusted key fails too.
    const unnamed = await run(verifyArgs('signet-test-third-party@1.0.0', '--key', keys.pub, '--require-signature', 'signet-test-third-*'));
    expect(unnamed.status).toBe(1);
    expect(unnamed.stderr).toContain('no Signet signature');
    const stranger = await run(
      verifyArgs('signet-test-stranger-signed@1.0.0', '--key', keys.other, '--require-signature', '@signet-test/*'),
    );
    expect(stranger.status).toBe(1);

    const both = await run(verifyArgs(specs[0] as string, '--key', keys.pub, '--require-signature', '@signet-test/*', '--allow-unsigned'));
    expect(both.status).toBe(2);
    expect(singleErrorLine(both.stderr).code).toBe('E_USAGE');
    fs.writeFileSync(policy, JSON.stringify({ keys: [keys.pub], requireSignature: '@signet-test/*' }));
    const malformed = await run(verifyArgs(specs[0] as string, '--policy', policy));
    expect(malformed.status).toBe(2);
    expect(singleErrorLine(malformed.stderr).code).toBe('E_INPUT');
  });

  test('a package signed by a key the policy does not trust fails', async () => {
    await release('signet-test-stranger', '1.0.0');
    const result = await run(verifyArgs('signet-test-stranger@1.0.0', '--key', keys.other, '--json'));
    expect(result.status).toBe(1);
    // Under the trusted key the signature does not verify; the key the bundle names is said.
    expect(JSON.parse(result.stdout).packages[0].signature).toMatchObject({
      status: 'failed',
      code: 'E_SIGNATURE',
      message: expect.stringMatching(/^the signature does not verify: .*; the bundle names another key \(sha256:[0-9a-f]{64}\)/),
    });
  });

  test('--lockfile checks every registry package of a lockfile against the integrity it pins, under a policy file', async () => {
    const names = ['signet-test-lock-a', 'signet-test-lock-b', 'signet-test-lock-c', 'signet-test-lock-d', 'signet-test-lock-e'];
    const lock: Record<string, unknown> = { '': { name: 'app', version: '1.0.0' } };
    for (const name of names) {
      await release(name, '1.0.0');
      const view = await npm(['view', `${name}@1.0.0`, 'dist', '--json'], { cwd: work, env: registry.npmEnv(registry.home) });
      const dist = JSON.parse(view.stdout);
      lock[`node_modules/${name}`] = { version: '1.0.0', resolved: dist.tarball, integrity: dist.integrity };
    }
    lock['node_modules/local-thing'] = { resolved: 'packages/local-thing', link: true };
    const lockfile = path.join(work, 'package-lock.json');
    fs.writeFileSync(lockfile, JSON.stringify({ name: 'app', lockfileVersion: 3, packages: lock }));
    const policy = path.join(work, 'policy.json');
    fs.writeFileSync(policy, JSON.stringify({ keys: [path.basename(keys.pub)] }));

    // The workspace link npm ci would install has no release to verify: a failure until named.
    const unnamed = await run(['npm', 'verify', '--lockfile', lockfile, '--policy', policy, '--registry', registry.url]);
    expect(unnamed.status).toBe(1);
    expect(unnamed.stderr).toContain('not verified: node_modules/local-thing is a link to packages/local-thing');
    const ok = await run([
      'npm',
      'verify',
      '--lockfile',
      lockfile,
      '--policy',
      policy,
      '--registry',
      registry.url,
      '--allow-unverified',
      'local-thing',
    ]);
    expect(ok.stderr).toContain('skip local-thing: not verified');
    expect(ok.stderr).toContain('Verified OK: 5 packages; 1 not verified, allowed by --allow-unverified: local-thing');
    expect(ok.status).toBe(0);

    // A lockfile pinning other bytes than the registry serves fails for that package.
    (lock['node_modules/signet-test-lock-c'] as { integrity: string }).integrity = `sha512-${Buffer.alloc(64).toString('base64')}`;
    fs.writeFileSync(lockfile, JSON.stringify({ name: 'app', lockfileVersion: 3, packages: lock }));
    const bad = await run([
      'npm',
      'verify',
      '--lockfile',
      lockfile,
      '--policy',
      policy,
      '--registry',
      registry.url,
      '--allow-unverified',
      'local-thing',
      '--json',
    ]);
    expect(bad.status).toBe(1);
    const failed = (JSON.parse(bad.stdout).packages as { name: string; ok: boolean }[]).filter((p) => !p.ok).map((p) => p.name);
    expect(failed).toEqual(['signet-test-lock-c']);
    // Five releases through Verdaccio and three verifications: more than the 60 s default on a loaded machine.
  });

  test('neither a key, an identity nor a policy file is a usage error', async () => {
    const result = await run(verifyArgs('signet-test-found@1.2.3'));
    expect(result.status).toBe(2);
    expect(singleErrorLine(result.stderr).code).toBe('E_USAGE');
  });
});
