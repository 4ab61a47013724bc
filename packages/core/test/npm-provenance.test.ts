import fs from 'node:fs';
import path from 'node:path';
import { type Policy, readBundle, readTrustedRoot, SignetError, verifyBundle } from '../src';

const { vectorsDir } = require('@signet/jest-config/vectors') as { vectorsDir(): string | undefined };
const vectors = vectorsDir();
if (!vectors) console.warn('npm provenance vectors not found (set SIGNET_VECTORS=…/shared/vectors); these tests are not run');
const describeVectors = vectors ? describe : describe.skip;

/** Real attestations from the public npm registry, with the tarballs they describe. */
// The workflow each release was published from, as its certificate names it.
const RELEASES = [
  { name: 'sigstore', version: '1.0.0', repository: 'sigstore/sigstore-js', workflow: 'publish.yml@refs/tags/v1.0.0' },
  { name: 'sigstore', version: '1.3.0', repository: 'sigstore/sigstore-js', workflow: 'release.yml@refs/heads/main' },
  { name: 'sigstore', version: '2.0.0', repository: 'sigstore/sigstore-js', workflow: 'release.yml@refs/heads/main' },
  { name: 'tuf-js', version: '1.0.0', repository: 'theupdateframework/tuf-js', workflow: 'publish.yml@refs/tags/v1.0.0' },
];
const ISSUER = 'https://token.actions.githubusercontent.com';

describeVectors('real npm provenance (keyless, GitHub Actions)', () => {
  const file = (...parts: string[]) => path.join(vectors ?? '', ...parts);
  const tarball = (r: (typeof RELEASES)[number]) => file('npm-tarballs', `${r.name}-${r.version}.tgz`);
  const provenance = (r: (typeof RELEASES)[number]) => file('npm-provenance', `${r.name}@${r.version}.provenance.sigstore.json`);
  const identity = (r: (typeof RELEASES)[number]) => `https://github.com/${r.repository}/.github/workflows/${r.workflow}`;
  let trustedRoot: Awaited<ReturnType<typeof readTrustedRoot>>;
  beforeAll(async () => {
    trustedRoot = await readTrustedRoot(file('public-good/trusted_root.json'));
  });

  it.each(RELEASES)('$name@$version verifies by identity against its tarball', async (release) => {
    const policy: Policy = { identities: [{ subject: identity(release), issuer: ISSUER }] };
    const verified = await verifyBundle(await readBundle(provenance(release)), { path: tarball(release) }, policy, { trustedRoot });
    expect(verified.signer).toEqual({ kind: 'certificate', subject: identity(release), issuer: ISSUER });
    expect(verified.statement?.subject[0]?.name).toBe(`pkg:npm/${release.name}@${release.version}`);
    expect(verified.timestamps.length).toBeGreaterThan(0);
    expect(verified.tlogEntries).toBe(1);
  });

  it('verifies with an anchored regular expression over the repository, and never by substring', async () => {
    const release = RELEASES[0] as (typeof RELEASES)[number];
    const bundle = await readBundle(provenance(release));
    const ok: Policy = {
      identities: [{ subjectRegExp: 'https://github\\.com/sigstore/sigstore-js/\\.github/workflows/.+', issuer: ISSUER }],
    };
    await expect(verifyBundle(bundle, { path: tarball(release) }, ok, { trustedRoot })).resolves.toBeDefined();
    // A prefix of the identity, which an unanchored search would accept, is refused.
    const substring: Policy = { identities: [{ subjectRegExp: 'https://github\\.com/sigstore', issuer: ISSUER }] };
    await expect(verifyBundle(bundle, { path: tarball(release) }, substring, { trustedRoot })).rejects.toMatchObject({ code: 'E_POLICY' });
    const otherIssuer: Policy = { identities: [{ subject: identity(release), issuer: 'https://accounts.google.com' }] };
    await expect(verifyBundle(bundle, { path: tarball(release) }, otherIssuer, { trustedRoot })).rejects.toMatchObject({
      code: 'E_POLICY',
    });
    const otherRepo: Policy = { identities: [{ subject: identity(RELEASES[3] as (typeof RELEASES)[number]), issuer: ISSUER }] };
    await expect(verifyBundle(bundle, { path: tarball(release) }, otherRepo, { trustedRoot })).rejects.toMatchObject({ code: 'E_POLICY' });
  });

  it('refuses a valid provenance bundle for another version or tarball (its subject digest differs)', async () => {
    const [v100, v130] = RELEASES as [(typeof RELEASES)[number], (typeof RELEASES)[number]];
    const policy: Policy = { identities: [{ subjectRegExp: 'https://github\\.com/sigstore/sigstore-js/.+', issuer: ISSUER }] };
    const error = await verifyBundle(await readBundle(provenance(v100)), { path: tarball(v130) }, policy, { trustedRoot }).catch((e) => e);
    expect(error).toBeInstanceOf(SignetError);
    expect(error.code).toBe('E_SIGNATURE');
    expect(error.message).toContain('pkg:npm/sigstore@1.0.0');
  });

  it('verifies npm’s own publish attestations with npm’s registry key', async () => {
    const key = fs.readFileSync(file('npm-provenance/npm-attestations-key-jl3bw.pub'), 'utf8');
    for (const release of RELEASES.filter((r) => fs.existsSync(file('npm-provenance', `${r.name}@${r.version}.publish.sigstore.json`)))) {
      const bundle = await readBundle(file('npm-provenance', `${release.name}@${release.version}.publish.sigstore.json`));
      const verified = await verifyBundle(bundle, { path: tarball(release) }, { keys: [{ publicKey: key, name: 'npm' }] }, { trustedRoot });
      expect(verified.statement?.predicateType).toBe('https://github.com/npm/attestation/tree/main/specs/publish/v0.1');
    }
  });
});
