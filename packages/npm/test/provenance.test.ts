// verifyNpmPackage against real npm provenance: real tarballs, real provenance and publish
// attestations, npm's real registry keys, served by a small registry on 127.0.0.1. The registry's
// documents (packuments, attestation lists) are synthesised; every signature in them is real,
// except where a test forges or swaps one on purpose.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  createStatement,
  LocalSigner,
  readTrustedRoot,
  type Subject,
  serializeBundle,
  signStatement,
  type TrustedRoot,
} from '@signet/core';
import { NPM_PUBLISH_PREDICATE_TYPE, type NpmVerifyOptions, RELEASE_PREDICATE_TYPE, type RegistryKey, verifyNpmPackage } from '../src';
import { type FakeRegistry, type FakeRelease, registryKeysFromTrustedKeys, startFakeRegistry } from './support/fake-registry';

const { vectorsDir } = require('@signet/jest-config/vectors') as { vectorsDir(): string | undefined };
const vectors = vectorsDir();
if (!vectors) console.warn('npm provenance vectors not found (set SIGNET_VECTORS=…/shared/vectors); these tests are not run');
const describeVectors = vectors ? describe : describe.skip;

// The workflow each release was published from, as its provenance certificate names it
// (the RELEASES table of packages/core/test/npm-provenance.test.ts).
const RELEASES = [
  { name: 'sigstore', version: '1.0.0', repository: 'sigstore/sigstore-js', workflow: 'publish.yml@refs/tags/v1.0.0' },
  { name: 'sigstore', version: '1.3.0', repository: 'sigstore/sigstore-js', workflow: 'release.yml@refs/heads/main' },
  { name: 'sigstore', version: '2.0.0', repository: 'sigstore/sigstore-js', workflow: 'release.yml@refs/heads/main' },
  { name: 'tuf-js', version: '1.0.0', repository: 'theupdateframework/tuf-js', workflow: 'publish.yml@refs/tags/v1.0.0' },
] as const;
type Release = (typeof RELEASES)[number];
const [V100, V130] = RELEASES;
const ISSUER = 'https://token.actions.githubusercontent.com';
/** npm's key: it signs the publish attestations of all four releases. */
const NPM_KEYID = 'SHA256:jl3bwswu80PjjokCgh0o2w5c2U4LhQAE57gj9cz1kzA';
const SLSA_V02 = 'https://slsa.dev/provenance/v0.2';

/**
 * npm CLI's structurally broken provenance bundles, and how each must fail. All four name
 * @npmcli/libnpmpublish-test, so the two with a statement also fail for not describing the
 * tarball; the other two fail before any digest is compared.
 */
const BROKEN_BUNDLES = [
  { fixture: 'multi-subject-provenance-bundle.json', what: 'two subjects', code: 'E_SIGNATURE' },
  { fixture: 'no-provenance-subject-bundle.json', what: 'no subject', code: 'E_BUNDLE' },
  { fixture: 'no-provenance-envelope-bundle.json', what: 'no DSSE envelope', code: 'E_BUNDLE' },
  { fixture: 'digest-mismatch-provenance-bundle.json', what: 'a subject digest that matches no tarball', code: 'E_SIGNATURE' },
];

describeVectors('verifyNpmPackage with real npm provenance from a local registry', () => {
  const file = (...parts: string[]) => path.join(vectors ?? '', ...parts);
  const readJson = (...parts: string[]): unknown => JSON.parse(fs.readFileSync(file(...parts), 'utf8'));
  const readBundleJson = (bundlePath: string): unknown => JSON.parse(fs.readFileSync(bundlePath, 'utf8'));
  const tarball = (r: Release) => fs.readFileSync(file('npm-tarballs', `${r.name}-${r.version}.tgz`));
  const bundleFile = (r: Release, kind: 'provenance' | 'publish') => file('npm-provenance', `${r.name}@${r.version}.${kind}.sigstore.json`);
  const provenanceBundle = (r: Release) => ({
    predicateType: predicateTypeOf(bundleFile(r, 'provenance')),
    bundle: readBundleJson(bundleFile(r, 'provenance')),
  });
  // The vectors hold no publish attestation for sigstore@2.0.0: its check must be 'missing'.
  const publishBundle = (r: Release) =>
    fs.existsSync(bundleFile(r, 'publish'))
      ? { predicateType: NPM_PUBLISH_PREDICATE_TYPE, bundle: readBundleJson(bundleFile(r, 'publish')) }
      : undefined;
  const attestations = (r: Release) => [provenanceBundle(r), publishBundle(r)].filter((a) => a !== undefined);
  const identity = (r: Release) => `https://github.com/${r.repository}/.github/workflows/${r.workflow}`;

  /** A release as npm serves it: its tarball, its attestations, published when its provenance was logged. */
  const served = (r: Release, overrides: Partial<FakeRelease> = {}): FakeRelease => ({
    name: r.name,
    version: r.version,
    tarball: tarball(r),
    attestations: attestations(r),
    published: publishedAt(bundleFile(r, 'provenance')),
    ...overrides,
  });

  let registry: FakeRegistry;
  let trustedRoot: TrustedRoot;
  let npmKeys: RegistryKey[];
  /** The registry holding the four releases as published: no tampering. */
  let genuine: string;
  const options = (registryUrl: string, extra: Partial<NpmVerifyOptions> = {}): NpmVerifyOptions => ({
    registry: registryUrl,
    // No Signet bundle exists for these releases: only npm's own checks are under test.
    policy: { keys: [] },
    requireSignature: false,
    trustedRoot,
    ...extra,
  });

  beforeAll(async () => {
    trustedRoot = await readTrustedRoot(file('public-good/trusted_root.json'));
    npmKeys = registryKeysFromTrustedKeys(
      readJson('public-good/npm-registry-keys.json') as Parameters<typeof registryKeysFromTrustedKeys>[0],
    );
    registry = await startFakeRegistry();
    genuine = registry.add('genuine', { releases: RELEASES.map((r) => served(r)), keys: npmKeys });
  });

  afterAll(async () => {
    await registry?.close();
  });

  it('serves attestations in the shape the real registry does (npm CLI recorded its responses for two releases)', async () => {
    // Proves the synthesised documents: npm CLI's fixtures are the registry's own answers.
    expect(readJson('npm-cli/test/fixtures/sigstore/valid-sigstore-attestations.json')).toEqual({ attestations: attestations(V100) });
    expect(readJson('npm-cli/test/fixtures/sigstore/valid-tuf-js-attestations.json')).toEqual({
      attestations: attestations(RELEASES[3]),
    });
    // And the keys endpoint carries npm's attestation key exactly as its PEM file has it.
    const pem = fs.readFileSync(file('npm-provenance/npm-attestations-key-jl3bw.pub'), 'utf8');
    expect(pem).toContain(npmKeys.find((k) => k.keyid === NPM_KEYID)?.key);
    const packument = (await (await fetch(new URL('sigstore', genuine))).json()) as { versions: Record<string, { dist: object }> };
    expect(Object.keys(packument.versions)).toEqual(['1.0.0', '1.3.0', '2.0.0']);
  });

  describe('genuine releases', () => {
    it.each(RELEASES)('$name@$version: provenance and publish attestation verify', async (release) => {
      const report = await verifyNpmPackage(`${release.name}@${release.version}`, options(genuine));
      expect(report).toMatchObject({ name: release.name, version: release.version, ok: true, problems: [] });
      expect(report.integrity).toBe(`sha512-${crypto.createHash('sha512').update(tarball(release)).digest('base64')}`);
      expect(report.provenance).toEqual({
        status: 'verified',
        repository: `https://github.com/${release.repository}`,
        workflow: `https://github.com/${release.repository}/.github/workflows/${release.workflow}`,
        identity: identity(release),
        issuer: ISSUER,
        // The ref it ran at, and the workflow file without it (what trust on first use records).
        ref: release.workflow.split('@')[1],
        workflowFile: `https://github.com/${release.repository}/.github/workflows/${release.workflow.split('@')[0]}`,
      });
      if (publishBundle(release)) expect(report.publishAttestation).toEqual({ status: 'verified', keyid: NPM_KEYID });
      else expect(report.publishAttestation).toMatchObject({ status: 'missing' });
      expect(report.signature).toMatchObject({ status: 'missing' });
      // The vectors hold no dist.signatures, so none is served.
      expect(report.registrySignature).toMatchObject({ status: 'missing' });
    });

    it('requireProvenance with an identity policy naming another repository fails with E_POLICY', async () => {
      const report = await verifyNpmPackage(
        'sigstore@1.0.0',
        options(genuine, {
          requireProvenance: true,
          provenanceIdentities: [{ issuer: ISSUER, subject: identity(RELEASES[3]) }],
        }),
      );
      expect(report.provenance).toMatchObject({ status: 'failed', code: 'E_POLICY' });
      expect(report.ok).toBe(false);
      // The same package under a policy naming its own repository passes.
      const own = await verifyNpmPackage(
        'sigstore@1.0.0',
        options(genuine, {
          requireProvenance: true,
          provenanceIdentities: [{ issuer: ISSUER, subjectRegExp: 'https://github\\.com/sigstore/sigstore-js/\\.github/workflows/.+' }],
        }),
      );
      expect(own).toMatchObject({ ok: true, provenance: { status: 'verified' } });
    });
  });

  describe('registry signatures (dist.signatures)', () => {
    // npm's registry signatures for these releases are not in the vectors, so they are made
    // here with a key of our own, published under a made-up keyid next to npm's keys.
    const keyid = 'SHA256:signet-test-registry-key';
    const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const ownKey: RegistryKey = {
      keyid,
      keytype: 'ecdsa-sha2-nistp256',
      scheme: 'ecdsa-sha2-nistp256',
      key: publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
      expires: null,
    };
    const integrity = (r: Release) => `sha512-${crypto.createHash('sha512').update(tarball(r)).digest('base64')}`;
    const sign = (message: string) => crypto.sign('sha256', Buffer.from(message), privateKey).toString('base64');

    it('a signature over NAME@VERSION:INTEGRITY verifies (the control for the forgery below)', async () => {
      const signatures = [{ keyid, sig: sign(`sigstore@1.0.0:${integrity(V100)}`) }];
      const url = registry.add('signed', { releases: [served(V100, { signatures })], keys: [...npmKeys, ownKey] });
      const report = await verifyNpmPackage('sigstore@1.0.0', options(url));
      expect(report.registrySignature).toEqual({ status: 'verified', keyid });
      expect(report.ok).toBe(true);
    });

    it('a well-formed signature of another message fails, and so does the package', async () => {
      // Signed by the published key, but over sigstore@1.3.0's integrity.
      const signatures = [{ keyid, sig: sign(`sigstore@1.0.0:${integrity(V130)}`) }];
      const url = registry.add('wrong-signature', { releases: [served(V100, { signatures })], keys: [...npmKeys, ownKey] });
      const report = await verifyNpmPackage('sigstore@1.0.0', options(url));
      expect(report.registrySignature).toMatchObject({ status: 'failed', code: 'E_SIGNATURE' });
      expect(report.ok).toBe(false);
      expect(report.problems).toEqual([expect.stringContaining(keyid)]);
      // The attestations are untouched and still verify.
      expect(report.provenance.status).toBe('verified');
      expect(report.publishAttestation.status).toBe('verified');
    });
  });

  describe('bundles that are valid but for another release', () => {
    it('1.0.0’s provenance served for 1.3.0 fails', async () => {
      const url = registry.add('swapped-provenance', {
        releases: [served(V130, { attestations: [provenanceBundle(V100), publishBundle(V130)].filter((a) => a !== undefined) })],
        keys: npmKeys,
      });
      const report = await verifyNpmPackage('sigstore@1.3.0', options(url));
      expect(report.provenance).toMatchObject({ status: 'failed', code: 'E_SIGNATURE' });
      expect(report.publishAttestation.status).toBe('verified');
      expect(report.ok).toBe(false);
    });

    it('1.0.0’s publish attestation served for 1.3.0 fails', async () => {
      const url = registry.add('swapped-publish', {
        releases: [served(V130, { attestations: [provenanceBundle(V130), publishBundle(V100)].filter((a) => a !== undefined) })],
        keys: npmKeys,
      });
      const report = await verifyNpmPackage('sigstore@1.3.0', options(url));
      expect(report.publishAttestation).toMatchObject({ status: 'failed', code: 'E_SIGNATURE' });
      expect(report.provenance.status).toBe('verified');
      expect(report.ok).toBe(false);
    });
  });

  it('a tarball swapped on the registry (bytes differ from dist.integrity) fails', async () => {
    // 1.3.0's packument, integrity and attestations, with 1.0.0's bytes as its tarball.
    const integrity = `sha512-${crypto.createHash('sha512').update(tarball(V130)).digest('base64')}`;
    const url = registry.add('swapped-tarball', { releases: [served(V130, { tarball: tarball(V100), integrity })], keys: npmKeys });
    const report = await verifyNpmPackage('sigstore@1.3.0', options(url));
    expect(report.integrity).toBe(integrity);
    expect(report.problems).toEqual(expect.arrayContaining([expect.stringContaining('dist.integrity')]));
    expect(report.ok).toBe(false);
    // Every bundle is checked against the bytes received, so both attestations fail too.
    expect(report.provenance.status).toBe('failed');
    expect(report.publishAttestation.status).toBe('failed');
  });

  describe('npm CLI’s structurally broken provenance bundles', () => {
    const brokenBundle = (fixture: string) => ({
      predicateType: SLSA_V02,
      bundle: readJson('npm-cli/workspaces/libnpmpublish/test/fixtures', fixture),
    });

    // Served as sigstore@1.0.0's provenance, next to its genuine publish attestation: only the
    // provenance may fail, and it must fail as a check, never as an exception.
    it.each(BROKEN_BUNDLES)('$what ($fixture) fails with $code', async ({ fixture, code }) => {
      const url = registry.add(`broken-${fixture}`, {
        releases: [served(V100, { attestations: [brokenBundle(fixture), publishBundle(V100)].filter((a) => a !== undefined) })],
        keys: npmKeys,
      });
      const report = await verifyNpmPackage('sigstore@1.0.0', options(url));
      expect(report.provenance).toMatchObject({ status: 'failed', code });
      expect(report.publishAttestation.status).toBe('verified');
      expect(report.ok).toBe(false);
    });

    it('the digest-mismatch bundle served under the scoped package it names fails too', async () => {
      // No tarball matches its subject digest; any bytes will do. A 'failed' (not 'missing')
      // provenance shows the scoped packument and its %2f attestations URL were found.
      const url = registry.add('broken-scoped', {
        releases: [
          {
            name: '@npmcli/libnpmpublish-test',
            version: '1.0.0',
            tarball: Buffer.from('not the tarball npm CLI’s fixture describes'),
            attestations: [brokenBundle('digest-mismatch-provenance-bundle.json')],
          },
        ],
        keys: npmKeys,
      });
      const report = await verifyNpmPackage('@npmcli/libnpmpublish-test@1.0.0', options(url));
      expect(report.provenance).toMatchObject({ status: 'failed', code: 'E_SIGNATURE' });
      expect(report.publishAttestation.status).toBe('missing');
      expect(report.ok).toBe(false);
    });
  });
});

// Regressions with everything made here (a local key, random tarballs), so they run without the
// vectors: subjects that name another package, a malformed package URL, a malformed
// attestations document.
describe('verifyNpmPackage with locally signed bundles', () => {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const signer = new LocalSigner('maintainer', privateKey);
  const policy = { keys: [{ publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(), name: 'maintainer' }] };
  // Only hashes matter to verifyNpmPackage (integrity and subject digests), so any bytes are a tarball.
  const A = crypto.randomBytes(64);
  const B = crypto.randomBytes(64);
  const sha512 = (bytes: Uint8Array) => crypto.createHash('sha512').update(bytes).digest('hex');

  let registry: FakeRegistry;
  let dir: string;
  beforeAll(async () => {
    registry = await startFakeRegistry();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-npm-provenance-'));
  });
  afterAll(async () => {
    await registry?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** A bundle file: one statement over SUBJECTS, signed with the maintainer's key. */
  let bundles = 0;
  const bundleFile = async (subjects: Subject[]) => {
    const bundle = await signStatement(createStatement(subjects, RELEASE_PREDICATE_TYPE, {}), signer);
    const file = path.join(dir, `bundle-${++bundles}.sigstore.json`);
    fs.writeFileSync(file, JSON.stringify(serializeBundle(bundle)));
    return file;
  };
  const options = (registryUrl: string, extra: Partial<NpmVerifyOptions> = {}): NpmVerifyOptions => ({
    registry: registryUrl,
    policy,
    ...extra,
  });

  describe('a registry that files one release under another version or name', () => {
    let bundle: string;
    beforeAll(async () => {
      bundle = await bundleFile([{ name: 'pkg:npm/pkg-a@1.0.0', digest: { sha512: sha512(A) } }]);
    });

    it('the signed 1.0.0 served as 2.0.0 is refused: the version verified is the one asked for', async () => {
      const url = registry.add('refiled-version', {
        releases: [{ name: 'pkg-a', version: '1.0.0', tarball: A, filedAs: '2.0.0' }],
        keys: [],
      });
      await expect(verifyNpmPackage('pkg-a@2.0.0', options(url, { bundle }))).rejects.toMatchObject({
        code: 'E_SIGNATURE',
        message: expect.stringContaining('files pkg-a@1.0.0 (packument pkg-a) as pkg-a@2.0.0'),
      });
    });

    it('pkg-a’s entry served in pkg-b’s packument is refused', async () => {
      const url = registry.add('refiled-name', {
        releases: [{ name: 'pkg-a', version: '1.0.0', tarball: A, servedAs: 'pkg-b' }],
        keys: [],
      });
      await expect(verifyNpmPackage('pkg-b@1.0.0', options(url, { bundle }))).rejects.toMatchObject({
        code: 'E_SIGNATURE',
        message: expect.stringContaining('files pkg-a@1.0.0 (packument pkg-b) as pkg-b@1.0.0'),
      });
    });
  });

  describe('what a registry serves about versions, and malformed documents', () => {
    let bundle: string;
    beforeAll(async () => {
      bundle = await bundleFile([{ name: 'pkg:npm/pkg-a@2.0.0', digest: { sha512: sha512(B) } }]);
    });

    it('a dist-tag named like a version does not redirect that exact version', async () => {
      // 1.0.0 is unsigned; 2.0.0 is signed; the tag "1.0.0" points at 2.0.0. npm installs 1.0.0 for pkg-a@1.0.0.
      const url = registry.add('tag-named-like-version', {
        releases: [
          { name: 'pkg-a', version: '1.0.0', tarball: A },
          { name: 'pkg-a', version: '2.0.0', tarball: B },
        ],
        keys: [],
        distTags: { 'pkg-a': { latest: '2.0.0', '1.0.0': '2.0.0' } },
      });
      const report = await verifyNpmPackage('pkg-a@1.0.0', options(url, { bundle }));
      expect(report).toMatchObject({ version: '1.0.0', ok: false, signature: { status: 'failed' } });
      // A tag is followed where the spec is a tag.
      expect(await verifyNpmPackage('pkg-a@latest', options(url, { bundle }))).toMatchObject({ version: '2.0.0', ok: true });
    });

    it.each([
      ['a version without dist', { name: 'pkg-m', versions: { '1.0.0': { name: 'pkg-m', version: '1.0.0' } } }],
      ['dist: null', { name: 'pkg-m', versions: { '1.0.0': { name: 'pkg-m', version: '1.0.0', dist: null } } }],
      [
        'signatures that are not a list',
        { name: 'pkg-m', versions: { '1.0.0': { name: 'pkg-m', version: '1.0.0', dist: { tarball: 'x', signatures: {} } } } },
      ],
      [
        'a signature that is null',
        { name: 'pkg-m', versions: { '1.0.0': { name: 'pkg-m', version: '1.0.0', dist: { tarball: 'x', signatures: [null] } } } },
      ],
      [
        'a signet.bundle that is a number',
        { name: 'pkg-m', versions: { '1.0.0': { name: 'pkg-m', version: '1.0.0', signet: { bundle: 5 }, dist: { tarball: 'x' } } } },
      ],
      ['a packument that is null', null],
      ['versions that are a list', { name: 'pkg-m', versions: [] }],
    ])('%s: E_PROVIDER, never a crash', async (_what, document) => {
      const url = registry.add(`malformed-${_what.replace(/\W+/g, '-')}`, { releases: [], keys: [], documents: { 'pkg-m': document } });
      await expect(verifyNpmPackage('pkg-m@1.0.0', options(url, { bundle }))).rejects.toMatchObject({
        code: 'E_PROVIDER',
        message: expect.stringContaining('is malformed'),
      });
    });

    it.each([
      ['a key that is a number', { keys: [{ keyid: 'k', key: 5 }] }],
      ['a key that is not DER', { keys: [{ keyid: 'k', key: 'AAAA' }] }],
      ['no list of keys', { keys: 'k' }],
    ])('registry keys with %s: E_PROVIDER (the registry is broken), never a crash', async (_what, keysDocument) => {
      const url = registry.add(`malformed-keys-${_what.replace(/\W+/g, '-')}`, {
        releases: [{ name: 'pkg-a', version: '2.0.0', tarball: B, signatures: [{ keyid: 'k', sig: 'AAAA' }] }],
        keys: [],
        documents: { '-/npm/v1/keys': keysDocument },
      });
      await expect(verifyNpmPackage('pkg-a@2.0.0', options(url, { bundle }))).rejects.toMatchObject({
        code: 'E_PROVIDER',
        message: expect.stringMatching(/is malformed|is not a readable public key/),
      });
    });
  });

  describe('one statement naming two packages', () => {
    let bundle: string;
    beforeAll(async () => {
      bundle = await bundleFile([
        { name: 'pkg:npm/pkg-a@1.0.0', digest: { sha512: sha512(A) } },
        { name: 'pkg:npm/pkg-b@1.0.0', digest: { sha512: sha512(B) } },
      ]);
    });

    it('pkg-a’s tarball served as pkg-b fails, though its digest is a subject’s', async () => {
      // Integrity passes (dist.integrity is A's), and verifyBundle accepts A for the pkg-a
      // subject: only pairing the name with the digest catches the swap.
      const url = registry.add('two-subjects-swapped', { releases: [{ name: 'pkg-b', version: '1.0.0', tarball: A }], keys: [] });
      const report = await verifyNpmPackage('pkg-b@1.0.0', options(url, { bundle }));
      expect(report.signature).toMatchObject({
        status: 'failed',
        code: 'E_SIGNATURE',
        message: expect.stringContaining('not pkg:npm/pkg-b@1.0.0'),
      });
      expect(report.ok).toBe(false);
    });

    it('each package with its own tarball verifies (the control)', async () => {
      const url = registry.add('two-subjects', {
        releases: [
          { name: 'pkg-a', version: '1.0.0', tarball: A },
          { name: 'pkg-b', version: '1.0.0', tarball: B },
        ],
        keys: [],
      });
      for (const spec of ['pkg-a@1.0.0', 'pkg-b@1.0.0']) {
        const report = await verifyNpmPackage(spec, options(url, { bundle }));
        expect(report).toMatchObject({ ok: true, problems: [], signature: { status: 'verified', source: bundle } });
      }
    });
  });

  it('a subject whose package URL is malformed percent-encoding fails as a check, not an exception', async () => {
    // decodeURIComponent throws on %zz; the name must simply not match.
    const bundle = await bundleFile([{ name: 'pkg:npm/%zz@1.0.0', digest: { sha512: sha512(A) } }]);
    const url = registry.add('malformed-purl', { releases: [{ name: 'pkg-c', version: '1.0.0', tarball: A }], keys: [] });
    const report = await verifyNpmPackage('pkg-c@1.0.0', options(url, { bundle }));
    expect(report.signature).toMatchObject({ status: 'failed', code: 'E_SIGNATURE' });
    expect(report.ok).toBe(false);
  });

  describe('the attestations document', () => {
    // Only npm's attestations are under test: no Signet bundle, no keys.
    const unsigned = (registryUrl: string) => options(registryUrl, { policy: { keys: [] }, requireSignature: false });

    it('served without an attestations list fails both checks, rather than reading as none', async () => {
      const url = registry.add('attestations-empty-object', {
        releases: [{ name: '@scope/pkg-d', version: '1.0.0', tarball: A, attestationsDocument: {} }],
        keys: [],
      });
      const report = await verifyNpmPackage('@scope/pkg-d@1.0.0', unsigned(url));
      expect(report.provenance).toMatchObject({ status: 'failed', code: 'E_BUNDLE' });
      expect(report.publishAttestation).toMatchObject({ status: 'failed', code: 'E_BUNDLE' });
      expect(report.ok).toBe(false);
    });

    it('not named by the packument leaves both checks missing (the control)', async () => {
      const url = registry.add('attestations-none', { releases: [{ name: '@scope/pkg-d', version: '1.0.0', tarball: A }], keys: [] });
      const report = await verifyNpmPackage('@scope/pkg-d@1.0.0', unsigned(url));
      expect(report.provenance).toMatchObject({ status: 'missing' });
      expect(report.publishAttestation).toMatchObject({ status: 'missing' });
      expect(report.ok).toBe(true);
    });
  });
});

/** The predicate type a bundle's in-toto statement declares. */
function predicateTypeOf(bundlePath: string): string {
  const bundle = JSON.parse(fs.readFileSync(bundlePath, 'utf8')) as { dsseEnvelope: { payload: string } };
  return (JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8')) as { predicateType: string }).predicateType;
}

/** When a bundle was written to the transparency log: a stand-in for the registry's publish time. */
function publishedAt(bundlePath: string): string {
  const bundle = JSON.parse(fs.readFileSync(bundlePath, 'utf8')) as { verificationMaterial: { tlogEntries: { integratedTime: string }[] } };
  return new Date(Number(bundle.verificationMaterial.tlogEntries[0]?.integratedTime) * 1000).toISOString();
}
