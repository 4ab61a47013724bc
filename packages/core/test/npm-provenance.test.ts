import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { verifyBundle } from '@signet/test-support';
import { type Bundle, certificateExtensions, type Policy, parseStatement, readBundle, readTrustedRoot, SignetError } from '../src';

const { vectorsDir } = require('@signet/jest-config/vectors') as { vectorsDir(): string | undefined };
const vectors = vectorsDir();
if (!vectors) console.warn('npm provenance vectors not found (set SIGNET_VECTORS=…/shared/vectors); these tests are not run');
const describeVectors = vectors ? describe : describe.skip;

const PROVENANCE = ['https://slsa.dev/provenance/v1', 'https://slsa.dev/provenance/v0.2'];
const PUBLISH = 'https://github.com/npm/attestation/tree/main/specs/publish/v0.1';

/** What a real npm provenance bundle says, read from the bundle itself: its certificate and its statement. */
interface Release {
  file: string;
  bundle: Bundle;
  /** pkg:npm/NAME@VERSION, from the statement's subject. */
  purl: string;
  tarball: string;
  subject: string;
  issuer: string;
  sourceRepository?: string;
  sourceRepositoryRef?: string;
}

async function releases(dir: string): Promise<Release[]> {
  const found: Release[] = [];
  for (const name of fs.readdirSync(path.join(dir, 'npm-provenance')).filter((n) => n.endsWith('.provenance.sigstore.json'))) {
    const file = path.join(dir, 'npm-provenance', name);
    const bundle = await readBundle(file);
    if (bundle.content.$case !== 'dsseEnvelope') throw new Error(`${name} is not DSSE`);
    const purl = parseStatement(bundle.content.dsseEnvelope.payload).subject[0]?.name as string;
    const [, pkg, version] = /^pkg:npm\/(.+)@([^@]+)$/.exec(decodeURIComponent(purl)) ?? [];
    const material = bundle.verificationMaterial.content;
    const der =
      material.$case === 'certificate'
        ? material.certificate.rawBytes
        : material.$case === 'x509CertificateChain'
          ? material.x509CertificateChain.certificates[0]?.rawBytes
          : undefined;
    const certificate = new crypto.X509Certificate(Buffer.from(der as Uint8Array));
    const extensions = certificateExtensions(der as Uint8Array);
    found.push({
      file,
      bundle,
      purl,
      tarball: path.join(dir, 'npm-tarballs', `${(pkg as string).replace(/^@/, '').replace('/', '-')}-${version}.tgz`),
      subject: (certificate.subjectAltName ?? '').replace(/^URI:/, ''),
      issuer: extensions.issuer as string,
      sourceRepository: extensions.sourceRepository,
      sourceRepositoryRef: extensions.sourceRepositoryRef,
    });
  }
  return found;
}

describeVectors('real npm provenance (keyless, GitHub Actions)', () => {
  const file = (...parts: string[]) => path.join(vectors ?? '', ...parts);
  let trustedRoot: Awaited<ReturnType<typeof readTrustedRoot>>;
  let all: Release[];
  beforeAll(async () => {
    trustedRoot = await readTrustedRoot(file('public-good/trusted_root.json'));
    all = await releases(vectors as string);
  });

  it('has the four releases the vectors hold', () => {
    expect(all).toHaveLength(4);
  });

  it('each verifies by its identity against its tarball, with the source repository and ref of its certificate', async () => {
    for (const release of all) {
      const policy: Policy = {
        identities: [
          {
            subject: release.subject,
            issuer: release.issuer,
            sourceRepository: release.sourceRepository,
            sourceRepositoryRef: release.sourceRepositoryRef,
          },
        ],
        predicateTypes: PROVENANCE,
      };
      const verified = await verifyBundle(release.bundle, { path: release.tarball, name: release.purl }, policy, { trustedRoot });
      expect(verified.signer).toMatchObject({ kind: 'certificate', subject: release.subject, issuer: release.issuer });
      expect(verified.subject?.name).toBe(release.purl);
      expect(verified.timestamps.length).toBeGreaterThan(0);
      expect(verified.tlogEntries).toBe(1);
      // Every one of these was built by a workflow of its own repository: the SAN starts with it.
      expect(release.subject.startsWith(`${release.sourceRepository}/.github/workflows/`)).toBe(true);
    }
  });

  it('refuses another source repository or ref, whatever the workflow identity (reusable workflows)', async () => {
    for (const release of all) {
      const bySubject = { subject: release.subject, issuer: release.issuer };
      for (const other of [{ sourceRepository: 'https://github.com/evil/fork' }, { sourceRepositoryRef: 'refs/heads/attacker' }]) {
        const policy: Policy = { identities: [{ ...bySubject, ...other }], predicateTypes: PROVENANCE };
        await expect(verifyBundle(release.bundle, { path: release.tarball }, policy, { trustedRoot })).rejects.toMatchObject({
          code: 'E_POLICY',
          message: expect.stringContaining(`run by ${release.sourceRepository}`),
        });
      }
    }
  });

  it('is not a release signature: verified only where provenance is asked for', async () => {
    const [release] = all as [Release];
    const policy: Policy = { identities: [{ subject: release.subject, issuer: release.issuer }] };
    await expect(verifyBundle(release.bundle, { path: release.tarball }, policy, { trustedRoot })).rejects.toMatchObject({
      code: 'E_POLICY',
      message: expect.stringContaining('not a release signature'),
    });
  });

  it('verifies with an anchored regular expression over the repository, and never by substring', async () => {
    const [release] = all as [Release];
    const repository = (release.sourceRepository as string).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const check = (identity: Policy['identities']) =>
      verifyBundle(release.bundle, { path: release.tarball }, { identities: identity, predicateTypes: PROVENANCE }, { trustedRoot });
    await expect(check([{ subjectRegExp: `${repository}/\\.github/workflows/.+`, issuer: release.issuer }])).resolves.toBeDefined();
    // A prefix of the identity, which an unanchored search would accept, is refused.
    await expect(check([{ subjectRegExp: 'https://github\\.com/sigstore', issuer: release.issuer }])).rejects.toMatchObject({
      code: 'E_POLICY',
    });
    await expect(check([{ subject: release.subject, issuer: 'https://accounts.google.com' }])).rejects.toMatchObject({ code: 'E_POLICY' });
  });

  it('refuses a valid provenance bundle for another version or tarball (its subject digest differs), and under another name', async () => {
    const [first, second] = all as [Release, Release];
    const policy: Policy = { identities: [{ subject: first.subject, issuer: first.issuer }], predicateTypes: PROVENANCE };
    const error = await verifyBundle(first.bundle, { path: second.tarball }, policy, { trustedRoot }).catch((e) => e);
    expect(error).toBeInstanceOf(SignetError);
    expect(error.code).toBe('E_SIGNATURE');
    expect(error.message).toContain(first.purl);
    await expect(verifyBundle(first.bundle, { path: first.tarball, name: second.purl }, policy, { trustedRoot })).rejects.toMatchObject({
      code: 'E_SIGNATURE',
      message: expect.stringContaining(`not ${second.purl}`),
    });
  });

  it('verifies npm’s own publish attestations with npm’s registry key, as publish attestations only', async () => {
    const key = fs.readFileSync(file('npm-provenance/npm-attestations-key-jl3bw.pub'), 'utf8');
    const published = all.filter((r) => fs.existsSync(r.file.replace('.provenance.', '.publish.')));
    expect(published.length).toBeGreaterThan(0);
    for (const release of published) {
      const bundle = await readBundle(release.file.replace('.provenance.', '.publish.'));
      const policy: Policy = { keys: [{ publicKey: key, name: 'npm' }], predicateTypes: [PUBLISH] };
      const verified = await verifyBundle(bundle, { path: release.tarball, name: release.purl }, policy, { trustedRoot });
      expect(verified.statement?.predicateType).toBe(PUBLISH);
      await expect(
        verifyBundle(bundle, { path: release.tarball }, { ...policy, predicateTypes: PROVENANCE }, { trustedRoot }),
      ).rejects.toMatchObject({ code: 'E_POLICY' });
    }
  });
});
