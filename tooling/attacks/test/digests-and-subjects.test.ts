// What a signature is about: which bytes (every digest a subject gives), which name and version,
// and what it claims. A release signature is a message signature or a release statement; an SBOM,
// provenance or VEX proves only what its type says, and counts only where its type is asked for.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  createStatement,
  LocalSigner,
  NPM_RELEASE_PREDICATE_TYPE,
  publicKeyPem,
  type Subject,
  serializeBundle,
  signStatement,
} from '@signet/core';
import { generateKey, type RunResult, signetAsync, singleErrorLine, useTempDir, writeFile } from '@signet/test-support';
import { type FakeRegistry, startFakeRegistry } from '../../../packages/npm/test/support/fake-registry';

const tmp = useTempDir();

function run(dir: string, args: string[]): Promise<RunResult> {
  return signetAsync(args, { cwd: dir });
}

const SBOM = JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.6', components: [] });

/** `name` attested with an SBOM (NAME.cyclonedx.sigstore.json), by a key in `dir`. */
async function sbomAbout(dir: string, name: string, content: string | Buffer): Promise<{ pub: string; sbomBundle: string }> {
  const { key, pub } = generateKey(dir, 'release');
  writeFile(dir, name, content);
  writeFile(dir, 'sbom.json', SBOM);
  const attested = await run(dir, ['attest', name, '--predicate', 'sbom.json', '--type', 'cyclonedx', '--key', key]);
  expect(attested.status).toBe(0);
  return { pub, sbomBundle: `${name}.cyclonedx.sigstore.json` };
}

describe('an attestation presented as a release signature', () => {
  it('signet verify: an SBOM about the file, renamed to FILE.sigstore.json, is refused (it used to pass)', async () => {
    const dir = tmp();
    const { pub, sbomBundle } = await sbomAbout(dir, 'app.tgz', 'the release');
    fs.copyFileSync(path.join(dir, sbomBundle), path.join(dir, 'app.tgz.sigstore.json'));
    const result = await run(dir, ['verify', 'app.tgz', '--key', pub]);
    expect(result.status).toBe(1);
    expect(singleErrorLine(result.stderr)).toEqual({ code: 'E_POLICY', message: expect.stringContaining('not a release signature') });
    // Verified as what it is, it passes.
    const asSbom = await run(dir, ['verify-attestation', 'app.tgz', '--bundle', sbomBundle, '--type', 'cyclonedx', '--key', pub]);
    expect(asSbom.status).toBe(0);
    const asOther = await run(dir, ['verify-attestation', 'app.tgz', '--bundle', sbomBundle, '--type', 'spdx', '--key', pub]);
    expect([asOther.status, singleErrorLine(asOther.stderr).code]).toEqual([1, 'E_POLICY']);
  });

  it.each([
    ['file', 'app.bin', Buffer.from('a binary')],
    ['lambda-zip', 'fn.zip', Buffer.concat([Buffer.from([0x50, 0x4b, 3, 4]), Buffer.alloc(60)])],
    ['npm-tarball', 'pkg-1.0.0.tgz', Buffer.concat([Buffer.from([0x1f, 0x8b]), Buffer.alloc(60)])],
  ])('gate, kind %s: an SBOM in place of the signature is refused', async (kind, name, content) => {
    const dir = tmp();
    const { pub, sbomBundle } = await sbomAbout(dir, name, content);
    fs.copyFileSync(path.join(dir, sbomBundle), path.join(dir, `${name}.sigstore.json`));
    writeFile(
      dir,
      'policy.yaml',
      `version: 1\nkeys:\n  release: { publicKey: ${pub} }\nrules:\n  - { kind: ${kind}, signers: [release] }\n`,
    );
    const result = await run(dir, ['gate', '--policy', 'policy.yaml', name, '--json']);
    expect(result.status).toBe(1);
    expect(JSON.parse(result.stdout).verdicts[0]).toMatchObject({ ok: false, code: 'E_POLICY' });
  });

  it('gate, kind attestation: a rule must say which predicate types it accepts', async () => {
    const dir = tmp();
    const { pub, sbomBundle } = await sbomAbout(dir, 'app.bin', 'x');
    writeFile(
      dir,
      'any.yaml',
      `version: 1\nkeys:\n  release: { publicKey: ${pub} }\nrules:\n  - { kind: attestation, signers: [release] }\n`,
    );
    const anyType = await run(dir, ['gate', '--policy', 'any.yaml', sbomBundle]);
    expect([anyType.status, singleErrorLine(anyType.stderr).code]).toEqual([2, 'E_INPUT']);
    writeFile(
      dir,
      'sbom.yaml',
      `version: 1\nkeys:\n  release: { publicKey: ${pub} }\nrules:\n  - { kind: attestation, signers: [release], predicateTypes: [cyclonedx] }\n`,
    );
    expect((await run(dir, ['gate', '--policy', 'sbom.yaml', sbomBundle])).status).toBe(0);
  });

  it('signet lambda verify: an SBOM is not a signed deployment package', async () => {
    const dir = tmp();
    const { pub, sbomBundle } = await sbomAbout(dir, 'fn.zip', Buffer.concat([Buffer.from([0x50, 0x4b, 3, 4]), Buffer.alloc(60)]));
    const result = await run(dir, ['lambda', 'verify', 'fn.zip', '--bundle', sbomBundle, '--key', pub]);
    expect([result.status, singleErrorLine(result.stderr).code]).toEqual([1, 'E_POLICY']);
  });
});

describe('which bytes', () => {
  const pair = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const signer = new LocalSigner('release', pair.privateKey);

  async function statementAbout(dir: string, subjects: Subject[], type = NPM_RELEASE_PREDICATE_TYPE): Promise<void> {
    writeFile(dir, 'release.pub', publicKeyPem(pair.publicKey));
    writeFile(dir, 'bundle.json', JSON.stringify(serializeBundle(await signStatement(createStatement(subjects, type, {}), signer))));
  }

  it('a subject whose sha256 matches the artifact and whose sha512 does not is not the artifact', async () => {
    const dir = tmp();
    writeFile(dir, 'app.tgz', 'the release');
    const sha256 = crypto.createHash('sha256').update('the release').digest('hex');
    await statementAbout(dir, [{ name: 'pkg:npm/app@1.0.0', digest: { sha256, sha512: '00'.repeat(64) } }]);
    const result = await run(dir, ['verify', 'app.tgz', '--bundle', 'bundle.json', '--key', 'release.pub']);
    expect(result.status).toBe(1);
    expect(singleErrorLine(result.stderr)).toEqual({ code: 'E_SIGNATURE', message: expect.stringContaining('not a subject') });
  });

  it('a subject digest that is a number, not a hex string: refused as a malformed bundle, not a crash', async () => {
    const dir = tmp();
    writeFile(dir, 'app.tgz', 'the release');
    await statementAbout(dir, [{ name: 'pkg:npm/app@1.0.0', digest: { sha256: 42 as unknown as string } }]);
    const result = await run(dir, ['verify', 'app.tgz', '--bundle', 'bundle.json', '--key', 'release.pub']);
    expect(result.status).toBe(2);
    expect(singleErrorLine(result.stderr)).toEqual({ code: 'E_BUNDLE', message: expect.stringContaining('not a hex string') });
  });
});

describe('which package and version', () => {
  let registry: FakeRegistry;
  beforeAll(async () => {
    registry = await startFakeRegistry();
  });
  afterAll(() => registry.close());

  const pair = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const tarball = Buffer.from('the tarball of pkg-a 1.0.0');
  const sha512 = crypto.createHash('sha512').update(tarball).digest('hex');

  async function maintainer(dir: string): Promise<void> {
    writeFile(dir, 'maintainer.pub', publicKeyPem(pair.publicKey));
    const statement = createStatement([{ name: 'pkg:npm/pkg-a@1.0.0', digest: { sha512 } }], NPM_RELEASE_PREDICATE_TYPE, {});
    const bundle = await signStatement(statement, new LocalSigner('maintainer', pair.privateKey));
    writeFile(dir, 'pkg-a-1.0.0.tgz.sigstore.json', JSON.stringify(serializeBundle(bundle)));
  }

  const verify = (dir: string, spec: string, url: string) =>
    run(dir, ['npm', 'verify', spec, '--key', 'maintainer.pub', '--bundle', 'pkg-a-1.0.0.tgz.sigstore.json', '--registry', url]);

  it('the signed 1.0.0 filed as 2.0.0: npm verify pkg-a@2.0.0 is refused (it used to pass)', async () => {
    const dir = tmp();
    await maintainer(dir);
    const url = registry.add('attack-refiled', { releases: [{ name: 'pkg-a', version: '1.0.0', tarball, filedAs: '2.0.0' }], keys: [] });
    const result = await verify(dir, 'pkg-a@2.0.0', url);
    expect(result.status).toBe(1);
    expect(singleErrorLine(result.stderr)).toEqual({
      code: 'E_SIGNATURE',
      message: expect.stringContaining('as pkg-a@2.0.0: it is not the package asked for'),
    });
    const control = registry.add('attack-refiled-control', { releases: [{ name: 'pkg-a', version: '1.0.0', tarball }], keys: [] });
    expect((await verify(dir, 'pkg-a@1.0.0', control)).status).toBe(0);
  });

  it('pkg-a’s signed release served as pkg-b is refused', async () => {
    const dir = tmp();
    await maintainer(dir);
    const url = registry.add('attack-renamed', { releases: [{ name: 'pkg-a', version: '1.0.0', tarball, servedAs: 'pkg-b' }], keys: [] });
    const result = await verify(dir, 'pkg-b@1.0.0', url);
    expect([result.status, singleErrorLine(result.stderr).code]).toEqual([1, 'E_SIGNATURE']);
  });

  it('a release statement naming the tarball under another name is refused for that name', async () => {
    const dir = tmp();
    await maintainer(dir);
    // pkg-b serves pkg-a's exact tarball, with its true integrity: only the statement's name tells them apart.
    const url = registry.add('attack-same-bytes', { releases: [{ name: 'pkg-b', version: '1.0.0', tarball }], keys: [] });
    const result = await verify(dir, 'pkg-b@1.0.0', url);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('not pkg:npm/pkg-b@1.0.0');
  });

  it('a lockfile entry npm ci would install but Signet used to skip (git, file:, no resolved) is verified or reported', async () => {
    const dir = tmp();
    await maintainer(dir);
    fs.mkdirSync(path.join(dir, 'bundles'));
    fs.renameSync(path.join(dir, 'pkg-a-1.0.0.tgz.sigstore.json'), path.join(dir, 'bundles/pkg-a-1.0.0.tgz.sigstore.json'));
    const url = registry.add('attack-lockfile', { releases: [{ name: 'pkg-a', version: '1.0.0', tarball }], keys: [] });
    const integrity = `sha512-${Buffer.from(sha512, 'hex').toString('base64')}`;
    const lockfile = (packages: Record<string, unknown>) =>
      writeFile(
        dir,
        'package-lock.json',
        JSON.stringify({ name: 'app', lockfileVersion: 3, packages: { '': { name: 'app' }, ...packages } }),
      );
    const args = (...extra: string[]) => [
      'npm',
      'verify',
      '--lockfile',
      'package-lock.json',
      '--key',
      'maintainer.pub',
      '--bundle-dir',
      'bundles',
      '--registry',
      url,
      ...extra,
    ];
    // Without `resolved` npm fetches pkg-a@1.0.0 from the registry: so does Signet, and verifies it.
    lockfile({ 'node_modules/pkg-a': { version: '1.0.0', integrity } });
    const fetched = await run(dir, args());
    expect(fetched.status).toBe(0);
    expect(fetched.stderr).toContain('Verified OK: 1 package');
    // A git and a file: dependency have no registry release: not verified, exit 1, each named.
    lockfile({
      'node_modules/pkg-a': { version: '1.0.0', integrity },
      'node_modules/evil': { version: '6.6.6', resolved: 'git+ssh://git@github.com/evil/evil.git#deadbeef', integrity },
      'node_modules/local': { version: '1.0.0', resolved: 'file:../vendor/local.tgz', integrity },
    });
    const skipped = await run(dir, args());
    expect(skipped.status).toBe(1);
    expect(skipped.stderr).toContain('not verified: node_modules/evil is installed from git');
    expect(skipped.stderr).toContain('not verified: node_modules/local is installed from a local file or folder');
    // Named, they are accepted and still listed.
    const allowed = await run(dir, args('--allow-unverified', 'evil', '--allow-unverified', 'local'));
    expect(allowed.status).toBe(0);
    expect(allowed.stderr).toContain('Verified OK: 1 package; 2 not verified, allowed by --allow-unverified: evil, local');
  });

  it('a lockfile naming one version twice, the first from other bytes: both are checked (it used to pass)', async () => {
    const dir = tmp();
    await maintainer(dir);
    fs.mkdirSync(path.join(dir, 'bundles'));
    fs.renameSync(path.join(dir, 'pkg-a-1.0.0.tgz.sigstore.json'), path.join(dir, 'bundles/pkg-a-1.0.0.tgz.sigstore.json'));
    const url = registry.add('attack-lockfile-duplicate', { releases: [{ name: 'pkg-a', version: '1.0.0', tarball }], keys: [] });
    const good = `sha512-${Buffer.from(sha512, 'hex').toString('base64')}`;
    const evil = `sha512-${crypto.createHash('sha512').update('evil').digest('base64')}`;
    writeFile(
      dir,
      'package-lock.json',
      JSON.stringify({
        name: 'app',
        lockfileVersion: 3,
        packages: {
          '': { name: 'app' },
          'node_modules/pkg-a': { version: '1.0.0', resolved: `${url}evil.tgz`, integrity: evil },
          'node_modules/other/node_modules/pkg-a': { version: '1.0.0', resolved: `${url}pkg-a/-/pkg-a-1.0.0.tgz`, integrity: good },
        },
      }),
    );
    const result = await run(dir, [
      'npm',
      'verify',
      '--lockfile',
      'package-lock.json',
      '--key',
      'maintainer.pub',
      '--bundle-dir',
      'bundles',
      '--registry',
      url,
    ]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("is not the lockfile's");
  });

  it('a dist-tag named like a version: npm verify pkg-a@1.0.0 checks 1.0.0, not what the tag names (it used to pass)', async () => {
    const dir = tmp();
    await maintainer(dir);
    const url = registry.add('attack-tag-as-version', {
      releases: [
        { name: 'pkg-a', version: '1.0.0', tarball },
        { name: 'pkg-a', version: '0.9.0', tarball: Buffer.from('unsigned and malicious') },
      ],
      keys: [],
      distTags: { 'pkg-a': { latest: '1.0.0', '0.9.0': '1.0.0' } },
    });
    const result = await run(dir, [
      'npm',
      'verify',
      'pkg-a@0.9.0',
      '--key',
      'maintainer.pub',
      '--bundle',
      'pkg-a-1.0.0.tgz.sigstore.json',
      '--registry',
      url,
    ]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('FAIL pkg-a@0.9.0');
    expect(result.stderr).not.toContain('ok   pkg-a@1.0.0');
  });
});
