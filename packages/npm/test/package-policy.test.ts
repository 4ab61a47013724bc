// What a team requires of the packages it installs: provenance from a named repository, workflow
// and ref; npm's signatures; a release-age cooldown; provenance identities trusted on first use.
// Against real npm provenance (sigstore-js and tuf-js releases), served by a small registry on
// 127.0.0.1; each refusal is the attack itself: a release built by another workflow of the same
// repository (as in CVE-2026-45321), a release minutes old, an identity that changed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readTrustedRoot, SignetError, type TrustedRoot } from '@signet/core';
import {
  IdentityLedger,
  NPM_PUBLISH_PREDICATE_TYPE,
  type NpmVerifyOptions,
  parseDuration,
  type RegistryKey,
  verifyNpmPackage,
} from '../src';
import { isExcepted, sourceMatches } from '../src/package-policy';
import { type FakeRegistry, type FakeRelease, registryKeysFromTrustedKeys, startFakeRegistry } from './support/fake-registry';

const { vectorsDir } = require('@signet/jest-config/vectors') as { vectorsDir(): string | undefined };
const vectors = vectorsDir();
const describeVectors = vectors ? describe : describe.skip;
const ISSUER = 'https://token.actions.githubusercontent.com';

describe('policy pieces', () => {
  it('durations: a whole number and a unit; anything else is a usage error', () => {
    expect(parseDuration('3d')).toBe(3 * 86_400_000);
    expect(parseDuration('12h')).toBe(12 * 3_600_000);
    expect(parseDuration('30m')).toBe(30 * 60_000);
    expect(parseDuration('2w')).toBe(14 * 86_400_000);
    for (const bad of ['3', 'd', '-1d', '1.5d', '3 days', '']) {
      expect(() => parseDuration(bad)).toThrow(expect.objectContaining({ code: 'E_USAGE' }));
    }
  });

  it('exceptions: a name glob, or NAME@VERSION exactly (another version of it is not excepted)', () => {
    expect(isExcepted(['@acme/*'], '@acme/ui', '1.0.0')).toBe(true);
    expect(isExcepted(['left-pad@1.3.1'], 'left-pad', '1.3.1')).toBe(true);
    expect(isExcepted(['left-pad@1.3.1'], 'left-pad', '1.3.2')).toBe(false);
    expect(isExcepted(['@acme/ui@2.0.0'], '@acme/ui', '2.0.0')).toBe(true);
    expect(isExcepted(['@acme/*'], '@acmeevil/ui', '1.0.0')).toBe(false);
    expect(isExcepted(undefined, 'x', '1')).toBe(false);
  });

  it('a provenance source: issuer, repository, workflow file (the build config, or the SAN) and ref glob must all match', () => {
    const facts = {
      issuer: ISSUER,
      subject: 'https://github.com/acme/ui/.github/workflows/release.yml@refs/tags/v1.2.0',
      repository: 'https://github.com/acme/ui',
      ref: 'refs/tags/v1.2.0',
      buildConfig: 'https://github.com/acme/ui/.github/workflows/release.yml@refs/tags/v1.2.0',
    };
    expect(sourceMatches({ repository: 'acme/ui', workflow: '.github/workflows/release.yml', ref: 'refs/tags/v*' }, facts)).toBe(true);
    expect(sourceMatches({ repository: 'https://github.com/acme/ui' }, facts)).toBe(true);
    // The hijacked-workflow case: same repository, another workflow file.
    expect(sourceMatches({ repository: 'acme/ui', workflow: '.github/workflows/ci.yml' }, facts)).toBe(false);
    expect(sourceMatches({ repository: 'acme/ui', ref: 'refs/heads/main' }, facts)).toBe(false);
    expect(sourceMatches({ repository: 'acme/other' }, facts)).toBe(false);
    expect(sourceMatches({ repository: 'acme/ui', issuer: 'https://gitlab.com' }, facts)).toBe(false);
    // A reusable workflow named by URL is compared with the SAN (the workflow that signed).
    const reusable = { ...facts, subject: 'https://github.com/acme/workflows/.github/workflows/publish.yml@refs/heads/main' };
    expect(
      sourceMatches({ repository: 'acme/ui', workflow: 'https://github.com/acme/workflows/.github/workflows/publish.yml' }, reusable),
    ).toBe(true);
    expect(
      sourceMatches({ repository: 'acme/ui', workflow: 'https://github.com/evil/workflows/.github/workflows/publish.yml' }, reusable),
    ).toBe(false);
  });
});

describeVectors('package rules, cooldown and trust on first use, with real npm provenance', () => {
  const file = (...parts: string[]) => path.join(vectors ?? '', ...parts);
  const bundle = (name: string) => JSON.parse(fs.readFileSync(file('npm-provenance', name), 'utf8'));
  const release = (name: string, version: string, overrides: Partial<FakeRelease> = {}): FakeRelease => {
    const publish = `${name}@${version}.publish.sigstore.json`;
    const provenancePayload = bundle(`${name}@${version}.provenance.sigstore.json`);
    return {
      name,
      version,
      tarball: fs.readFileSync(file('npm-tarballs', `${name}-${version}.tgz`)),
      attestations: [
        { predicateType: 'https://slsa.dev/provenance/v0.2', bundle: provenancePayload },
        ...(fs.existsSync(file('npm-provenance', publish)) ? [{ predicateType: NPM_PUBLISH_PREDICATE_TYPE, bundle: bundle(publish) }] : []),
      ],
      published: '2023-04-18T00:00:00.000Z',
      ...overrides,
    };
  };
  let registry: FakeRegistry;
  let trustedRoot: TrustedRoot;
  let keys: RegistryKey[];
  let url: string;
  let dir: string;
  const now = new Date('2023-05-01T00:00:00Z');
  const options = (extra: Partial<NpmVerifyOptions> = {}): NpmVerifyOptions => ({
    registry: url,
    policy: { keys: [] },
    requireSignature: false,
    trustedRoot,
    now,
    ...extra,
  });

  beforeAll(async () => {
    trustedRoot = await readTrustedRoot(file('public-good/trusted_root.json'));
    keys = registryKeysFromTrustedKeys(JSON.parse(fs.readFileSync(file('public-good/npm-registry-keys.json'), 'utf8')));
    registry = await startFakeRegistry();
    url = registry.add('tree', {
      releases: [
        release('sigstore', '1.0.0'), // publish.yml at refs/tags/v1.0.0
        release('sigstore', '1.3.0', { published: '2023-04-30T23:00:00.000Z' }), // release.yml at refs/heads/main, an hour before "now"
        release('tuf-js', '1.0.0', { attestations: [] }), // served without any attestation
      ],
      keys,
    });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-npm-policy-'));
  });

  afterAll(async () => {
    await registry?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('package rules', () => {
    const rule = {
      name: 'sigstore',
      provenance: { repository: 'sigstore/sigstore-js', workflow: '.github/workflows/release.yml', ref: 'refs/heads/main' },
    };

    it('provenance from the named repository, workflow and ref passes', async () => {
      const report = await verifyNpmPackage('sigstore@1.3.0', options({ packages: [rule] }));
      expect(report).toMatchObject({ ok: true, rule: ['sigstore'], provenance: { status: 'verified', ref: 'refs/heads/main' } });
    });

    it('valid provenance from another workflow of the same repository fails (the hijacked-workflow attack): E_POLICY naming both', async () => {
      const report = await verifyNpmPackage('sigstore@1.0.0', options({ packages: [rule] }));
      expect(report.ok).toBe(false);
      expect(report.provenance).toMatchObject({ status: 'failed', code: 'E_POLICY' });
      const { message } = report.provenance as { message: string };
      expect(message).toContain('.github/workflows/publish.yml');
      expect(message).toContain('https://github.com/sigstore/sigstore-js, workflow .github/workflows/release.yml, ref refs/heads/main');
    });

    it('valid provenance from another repository fails', async () => {
      const report = await verifyNpmPackage(
        'sigstore@1.3.0',
        options({ packages: [{ name: 'sigstore', provenance: { repository: 'theupdateframework/tuf-js' } }] }),
      );
      expect(report.provenance).toMatchObject({ status: 'failed', code: 'E_POLICY' });
      expect(report.ok).toBe(false);
    });

    it('a rule requiring provenance fails a package served without it; the first matching rule is the one applied', async () => {
      const rules = [
        { name: 'tuf-*', provenance: true },
        { name: '*', registrySignature: false },
      ];
      const report = await verifyNpmPackage('tuf-js@1.0.0', options({ packages: rules }));
      expect(report).toMatchObject({ ok: false, rule: ['tuf-*'], provenance: { status: 'missing' } });
      expect(report.problems).toEqual([expect.stringContaining('no npm provenance (the policy requires it of tuf-*)')]);
      const other = await verifyNpmPackage('tuf-js@1.0.0', options({ packages: [{ name: 'sigstore', provenance: true }] }));
      expect(other.ok).toBe(true);
    });

    it('a rule requiring the registry signature or the publish attestation fails a package served without them', async () => {
      const signature = await verifyNpmPackage('sigstore@1.3.0', options({ packages: [{ name: '*', registrySignature: true }] }));
      expect(signature.ok).toBe(false);
      expect(signature.problems).toEqual([expect.stringContaining('the registry serves no signature')]);
      const attestation = await verifyNpmPackage('tuf-js@1.0.0', options({ packages: [{ name: '*', publishAttestation: true }] }));
      expect(attestation.ok).toBe(false);
      expect(attestation.problems).toEqual([expect.stringContaining('no npm publish attestation')]);
    });
  });

  describe('minimum release age', () => {
    const day = 86_400_000;

    it('a version published an hour ago fails a 3-day cooldown; one published 13 days ago passes', async () => {
      const young = await verifyNpmPackage('sigstore@1.3.0', options({ minReleaseAge: 3 * day }));
      expect(young.ok).toBe(false);
      expect(young.releaseAge).toEqual({ status: 'too-new', minimum: '3d' });
      expect(young.problems).toEqual([
        expect.stringMatching(
          /^sigstore@1\.3\.0 was published 1h ago \(2023-04-30T23:00:00\.000Z\), less than the minimum release age of 3d/,
        ),
      ]);
      const old = await verifyNpmPackage('sigstore@1.0.0', options({ minReleaseAge: 3 * day }));
      expect(old).toMatchObject({ ok: true, releaseAge: { status: 'ok' }, published: '2023-04-18T00:00:00.000Z' });
    });

    it('a named exception installs it now: by name, or by NAME@VERSION (not another version)', async () => {
      const byName = await verifyNpmPackage('sigstore@1.3.0', options({ minReleaseAge: 3 * day, minReleaseAgeExceptions: ['sig*'] }));
      expect(byName).toMatchObject({ ok: true, releaseAge: { status: 'excepted' } });
      const byVersion = await verifyNpmPackage(
        'sigstore@1.3.0',
        options({ minReleaseAge: 3 * day, minReleaseAgeExceptions: ['sigstore@1.3.0'] }),
      );
      expect(byVersion.ok).toBe(true);
      const other = await verifyNpmPackage(
        'sigstore@1.3.0',
        options({ minReleaseAge: 3 * day, minReleaseAgeExceptions: ['sigstore@1.0.0'] }),
      );
      expect(other.ok).toBe(false);
    });

    it('a version whose publication time the registry does not give fails the cooldown', async () => {
      const noTime = registry.add('no-time', { releases: [release('sigstore', '1.0.0', { published: 'not a date' })], keys });
      const report = await verifyNpmPackage('sigstore@1.0.0', { ...options({ minReleaseAge: 3 * day }), registry: noTime });
      expect(report.ok).toBe(false);
      expect(report.releaseAge?.status).toBe('unknown');
    });
  });

  describe('trust on first use of provenance identities', () => {
    it('records the first identity, refuses a later version built by another workflow, and one without provenance', async () => {
      const ledgerFile = path.join(dir, 'identities.json');
      const first = await IdentityLedger.open(ledgerFile);
      const recorded = await verifyNpmPackage('sigstore@1.3.0', options({ identityLedger: first }));
      expect(recorded.ok).toBe(true);
      expect(first.newlyRecorded).toBe(1);
      await first.save();
      expect(JSON.parse(fs.readFileSync(ledgerFile, 'utf8'))).toEqual({
        signetTrustOnFirstUse: 1,
        packages: {
          sigstore: {
            issuer: ISSUER,
            repository: 'https://github.com/sigstore/sigstore-js',
            workflow: 'https://github.com/sigstore/sigstore-js/.github/workflows/release.yml',
            firstSeen: 'sigstore@1.3.0',
          },
        },
      });

      // A later run, from the committed file: 1.0.0 was built by publish.yml, not release.yml.
      const later = await IdentityLedger.open(ledgerFile);
      const changed = await verifyNpmPackage('sigstore@1.0.0', options({ identityLedger: later }));
      expect(changed.ok).toBe(false);
      expect(changed.problems).toEqual([
        expect.stringMatching(
          /^trust on first use: sigstore@1\.0\.0's provenance comes from https:\/\/github\.com\/sigstore\/sigstore-js https:\/\/github\.com\/sigstore\/sigstore-js\/\.github\/workflows\/publish\.yml/,
        ),
      ]);
      expect(later.newlyRecorded).toBe(0);

      // The same package served without provenance: a recorded package may not lose it.
      const stripped = registry.add('stripped', { releases: [release('sigstore', '1.3.0', { attestations: [] })], keys });
      const none = await verifyNpmPackage('sigstore@1.3.0', { ...options({ identityLedger: later }), registry: stripped });
      expect(none.ok).toBe(false);
      expect(none.problems).toEqual([expect.stringContaining('was published with provenance from')]);
    });

    it('a file that is not a trust-on-first-use file is E_INPUT', async () => {
      const bad = path.join(dir, 'bad.json');
      fs.writeFileSync(bad, '{"packages": []}');
      await expect(IdentityLedger.open(bad)).rejects.toThrow(SignetError);
      await expect(IdentityLedger.open(bad)).rejects.toMatchObject({ code: 'E_INPUT' });
    });
  });
});
