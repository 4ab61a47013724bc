// Signing and verifying images on real registries: Debian's docker-registry 2.8 (no referrers
// API: the sha256-<hex> fallback index) and an OCI 1.1 fixture with the referrers API, images
// built as OCI layouts and pushed with Debian's skopeo.
import {
  describeWithRegistryTools,
  type RunningRegistry,
  startDockerRegistry,
  startReferrersRegistry,
} from '@signet/emulators/oci-registry';
import {
  attestImage,
  COSIGN_SIGN_PREDICATE,
  digestTag,
  EMPTY_CONFIG,
  RegistryClient,
  SIGSTORE_BUNDLE_ARTIFACT,
  signImage,
  verifyImage,
  verifyImageAttestation,
} from '../src';
import { attachForeignBundle, attachOtherToolReferrer, getJson, keyPair, pushedImage } from './helpers';

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

async function failure(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  return promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: { code: string; message: string }) => ({ code: error.code, message: error.message }),
  );
}

const registries: [string, () => Promise<RunningRegistry>, 'fallback-tag' | 'referrers-api'][] = [
  ['docker-registry 2.8 (fallback index)', () => startDockerRegistry(), 'fallback-tag'],
  ['an OCI 1.1 registry (referrers API)', () => startReferrersRegistry(), 'referrers-api'],
];

describeWithRegistryTools('sign and verify images', () => {
  describe.each(registries)('on %s', (_name, start, source) => {
    let registry: RunningRegistry;
    const client = new RegistryClient();
    beforeAll(async () => {
      registry = await start();
    });
    afterAll(() => registry.stop());

    it('signs by digest as cosign v3 does, and verifies', async () => {
      const { byDigest, image, repo } = await pushedImage(registry);
      const { signer, policy } = keyPair();
      const signed = await signImage(byDigest, signer, { client });
      expect(signed).toMatchObject({ reference: byDigest, digest: image.digest, signatures: [{ digest: image.digest, format: 'bundle' }] });
      const referrer = signed.signatures[0]?.location as string;

      // The referrer manifest, byte for byte what cosign v3 writes.
      const { json: manifest } = await getJson(registry, `/v2/${repo}/manifests/${referrer}`, OCI_MANIFEST);
      expect(manifest).toMatchObject({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        artifactType: SIGSTORE_BUNDLE_ARTIFACT,
        config: EMPTY_CONFIG,
        layers: [{ mediaType: SIGSTORE_BUNDLE_ARTIFACT }],
        subject: { mediaType: image.mediaType, digest: image.digest, size: image.size },
        annotations: { 'dev.sigstore.bundle.content': 'dsse-envelope', 'dev.sigstore.bundle.predicateType': COSIGN_SIGN_PREDICATE },
      });
      expect(manifest.layers).toHaveLength(1);
      expect(manifest.annotations['org.opencontainers.image.created']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

      // Where a verifier finds it: the API, or the fallback index with artifactType and annotations on the entry.
      const listing =
        source === 'referrers-api'
          ? await getJson(registry, `/v2/${repo}/referrers/${image.digest}`, OCI_INDEX)
          : await getJson(registry, `/v2/${repo}/manifests/${digestTag(image.digest)}`, OCI_INDEX);
      expect(listing.json.manifests).toEqual([
        expect.objectContaining({ digest: referrer, artifactType: SIGSTORE_BUNDLE_ARTIFACT, annotations: manifest.annotations }),
      ]);
      const fallback = await getJson(registry, `/v2/${repo}/manifests/${digestTag(image.digest)}`, OCI_INDEX);
      expect(fallback.status).toBe(source === 'referrers-api' ? 404 : 200);

      const verified = await verifyImage(byDigest, policy, { client });
      expect(verified).toMatchObject({ digest: image.digest, referrersSource: source, rejected: [] });
      expect(verified.signatures).toEqual([
        expect.objectContaining({
          format: 'bundle',
          location: referrer,
          signedDigest: image.digest,
          verified: expect.objectContaining({ signer: expect.objectContaining({ kind: 'key', name: 'release' }) }),
        }),
      ]);
    });

    it.each(['legacy', 'both'] as const)('signs with --format %s and verifies the legacy .sig', async (format) => {
      const { byDigest, image, repo } = await pushedImage(registry);
      const { signer, policy } = keyPair();
      const signed = await signImage(byDigest, signer, { client, format });
      expect(signed.signatures.map((s) => s.format)).toEqual(format === 'both' ? ['bundle', 'legacy'] : ['legacy']);
      const { json: sig } = await getJson(registry, `/v2/${repo}/manifests/${digestTag(image.digest, '.sig')}`, OCI_MANIFEST);
      expect(sig.layers).toEqual([
        expect.objectContaining({
          mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json',
          annotations: { 'dev.cosignproject.cosign/signature': expect.stringMatching(/^[A-Za-z0-9+/]+=*$/) },
        }),
      ]);
      const payload = await fetch(`${registry.url}/v2/${repo}/blobs/${sig.layers[0].digest}`).then((r) => r.json());
      expect(payload).toEqual({
        critical: {
          identity: { 'docker-reference': `${registry.host}/${repo}` },
          image: { 'docker-manifest-digest': image.digest },
          type: 'cosign container image signature',
        },
        optional: null,
      });
      const verified = await verifyImage(byDigest, policy, { client });
      // As cosign does, the legacy .sig is read only when no bundle verifies.
      expect(verified.signatures.map((s) => s.format)).toEqual(format === 'both' ? ['bundle'] : ['legacy']);
      if (format === 'legacy') {
        // A legacy signature carries no timestamp: a policy that requires one refuses it.
        await expect(verifyImage(byDigest, { ...policy, timestampThreshold: 1 }, { client })).rejects.toMatchObject({
          code: 'E_TIMESTAMP',
        });
      }
      if (format === 'both') {
        // With the bundle referrer gone (its index entry left dangling), the legacy signature still verifies.
        const referrer = signed.signatures.find((s) => s.format === 'bundle')?.location as string;
        const deleted = await fetch(`${registry.url}/v2/${repo}/manifests/${referrer}`, { method: 'DELETE' });
        expect(deleted.status).toBe(202);
        const fallback = await verifyImage(byDigest, policy, { client });
        expect(fallback.signatures.map((s) => s.format)).toEqual(['legacy']);
        if (source === 'fallback-tag') expect(fallback.rejected).toEqual([expect.objectContaining({ format: 'bundle', code: 'E_BUNDLE' })]);
      }
      // A second signer keeps the first signature in the .sig manifest.
      const second = keyPair('second');
      await signImage(byDigest, second.signer, { client, format: 'legacy' });
      expect((await verifyImage(byDigest, policy, { client })).signatures.length).toBeGreaterThan(0);
      expect((await verifyImage(byDigest, second.policy, { client })).signatures.length).toBe(1);
    });

    it('refuses a tag without resolve, and with it signs the digest the tag names', async () => {
      const { ref, byDigest, image } = await pushedImage(registry, { tag: 'release' });
      const { signer, policy } = keyPair();
      expect(await failure(signImage(ref, signer, { client }))).toMatchObject({
        code: 'E_USAGE',
        message: expect.stringContaining('is a tag, which can be moved to another image'),
      });
      const resolved: string[] = [];
      const signed = await signImage(ref, signer, { client, resolve: true, onResolved: (pinned) => resolved.push(pinned) });
      expect(resolved).toEqual([byDigest]);
      expect(signed.digest).toBe(image.digest);
      expect((await verifyImage(ref, policy, { client })).digest).toBe(image.digest);
    });

    it('refuses a wrong key, an image re-pushed under a signed tag, and a signature of another digest, each with its own code', async () => {
      const { ref, byDigest, repo } = await pushedImage(registry, { tag: 'moving' });
      const { signer, policy } = keyPair();
      await signImage(byDigest, signer, { client });

      // Another key's signature does not verify with the trusted key; the key it names is said.
      const wrong = await failure(verifyImage(byDigest, keyPair('other').policy, { client }));
      expect(wrong.code).toBe('E_SIGNATURE');
      expect(wrong.message).toContain('the bundle names another key');
      expect(wrong.message).toContain(`no signature of ${byDigest} verifies`);

      // The tag now names another image, which nobody signed.
      const other = await pushedImage(registry, { repository: repo, tag: 'moving' });
      const moved = await failure(verifyImage(ref, policy, { client }));
      expect(moved).toMatchObject({ code: 'E_UNSIGNED', message: expect.stringContaining(`no signature for ${other.byDigest}`) });

      // A signature of the first image attached to the second: its statement names another digest.
      const first = await pushedImage(registry);
      const signedFirst = await signImage(first.byDigest, signer, { client });
      await attachForeignBundle(client, registry, repo, other.image, signedFirst.signatures[0]?.location as string, first.repo);
      const misplaced = await failure(verifyImage(other.byDigest, policy, { client }));
      expect(misplaced.code).toBe('E_SIGNATURE');
      expect(misplaced.message).toContain('is not a subject of the signed statement');
    });

    it("ignores another tool's referrer and says what it found", async () => {
      const { byDigest, image, repo } = await pushedImage(registry);
      await attachOtherToolReferrer(client, registry, repo, image, 'application/spdx+json');
      const unsigned = await failure(verifyImage(byDigest, keyPair().policy, { client }));
      expect(unsigned.code).toBe('E_UNSIGNED');
      expect(unsigned.message).toContain('ignored 1 other referrer (application/spdx+json)');
    });

    it('attaches and verifies attestations by predicate type', async () => {
      const { byDigest } = await pushedImage(registry);
      const { signer, policy } = keyPair();
      const sbom = { bomFormat: 'CycloneDX', specVersion: '1.6', components: [{ type: 'library', name: 'left-pad', version: '1.3.0' }] };
      await attestImage(byDigest, signer, { client, predicateType: 'cyclonedx', predicate: sbom });
      await signImage(byDigest, signer, { client });
      const attested = await verifyImageAttestation(byDigest, policy, 'cyclonedx', { client });
      expect(attested.statements).toEqual([expect.objectContaining({ predicateType: 'https://cyclonedx.org/bom', predicate: sbom })]);
      // The signature check ignores the attestation, and the attestation check the signature.
      expect((await verifyImage(byDigest, policy, { client })).signatures).toHaveLength(1);
      const spdx = await failure(verifyImageAttestation(byDigest, policy, 'spdx', { client }));
      expect(spdx).toMatchObject({ code: 'E_UNSIGNED', message: expect.stringContaining('a https://cyclonedx.org/bom attestation') });
    });

    it('signs an index, and with recursive each platform; a platform digest verifies through either', async () => {
      const { ref, image, repo } = await pushedImage(registry, { platforms: ['linux/amd64', 'linux/arm64'], tag: 'multi' });
      const { signer, policy } = keyPair();
      const [amd64, arm64] = image.platforms;
      if (!amd64 || !arm64) throw new Error('expected two platforms');
      const indexOnly = await signImage(`${ref}@${image.digest}`, signer, { client });
      expect(indexOnly.signatures.map((s) => s.digest)).toEqual([image.digest]);
      // The platform digest alone has no signature; named with the index's tag, the index's counts.
      expect((await failure(verifyImage(`${registry.host}/${repo}@${amd64.digest}`, policy, { client }))).code).toBe('E_UNSIGNED');
      const viaIndex = await verifyImage(`${ref}@${amd64.digest}`, policy, { client });
      expect(viaIndex.signatures).toEqual([expect.objectContaining({ signedDigest: image.digest })]);

      const recursive = await signImage(`${ref}@${image.digest}`, signer, { client, recursive: true });
      expect(recursive.signatures.map((s) => s.digest)).toEqual([image.digest, amd64.digest, arm64.digest]);
      const direct = await verifyImage(`${registry.host}/${repo}@${arm64.digest}`, policy, { client });
      expect(direct.signatures).toEqual([expect.objectContaining({ signedDigest: arm64.digest })]);
    });
  });

  describe('on docker-registry, which ignores If-Match', () => {
    let registry: RunningRegistry;
    beforeAll(async () => {
      registry = await startDockerRegistry();
    });
    afterAll(() => registry.stop());

    it('loses no entry of the fallback index to concurrent signers', async () => {
      const { byDigest, image, repo } = await pushedImage(registry);
      const signers = Array.from({ length: 6 }, (_, i) => keyPair(`signer${i}`));
      // Each signer has its own client, as separate CI jobs would.
      const signed = await Promise.all(signers.map(({ signer }) => signImage(byDigest, signer, { client: new RegistryClient() })));
      const { json: index } = await getJson(registry, `/v2/${repo}/manifests/${digestTag(image.digest)}`, OCI_INDEX);
      expect(index.manifests.map((d: { digest: string }) => d.digest).sort()).toEqual(signed.map((s) => s.signatures[0]?.location).sort());
      expect(index.manifests.every((d: { artifactType?: string }) => d.artifactType === SIGSTORE_BUNDLE_ARTIFACT)).toBe(true);
      for (const { policy } of signers)
        expect((await verifyImage(byDigest, policy, { client: new RegistryClient() })).signatures).toHaveLength(1);
    });

    it('loses no legacy .sig layer to concurrent signers', async () => {
      const { byDigest, image, repo } = await pushedImage(registry);
      const signers = Array.from({ length: 4 }, (_, i) => keyPair(`legacy${i}`));
      await Promise.all(signers.map(({ signer }) => signImage(byDigest, signer, { client: new RegistryClient(), format: 'legacy' })));
      const { json: sig } = await getJson(registry, `/v2/${repo}/manifests/${digestTag(image.digest, '.sig')}`, OCI_MANIFEST);
      expect(sig.layers).toHaveLength(4);
      for (const { policy } of signers) {
        const verified = await verifyImage(byDigest, policy, { client: new RegistryClient() });
        expect(verified.signatures).toEqual([expect.objectContaining({ format: 'legacy' })]);
      }
    });
  });
});
