// copyImage between real registries: the image, its referrers and legacy signatures arrive
// with every digest kept, and what the destination already has is kept too.
import {
  describeWithRegistryTools,
  type RunningRegistry,
  startDockerRegistry,
  startReferrersRegistry,
} from '@signet/emulators/oci-registry';
import { copyImage, digestTag, RegistryClient, SIGSTORE_BUNDLE_ARTIFACT, signImage, verifyImage } from '../src';
import { getJson, keyPair, pushedImage } from './helpers';

describeWithRegistryTools('copyImage', () => {
  let source: RunningRegistry;
  let mirror: RunningRegistry;
  const client = new RegistryClient();
  beforeAll(async () => {
    [source, mirror] = await Promise.all([startReferrersRegistry(), startDockerRegistry()]);
  });
  afterAll(() => Promise.all([source?.stop(), mirror?.stop()]));

  it('indexes the referrers at a destination without the referrers API, each entry with its artifactType', async () => {
    const { byDigest, image, repo } = await pushedImage(source, { platforms: ['linux/amd64', 'linux/arm64'] });
    const { signer, policy } = keyPair();
    await signImage(byDigest, signer, { client, recursive: true });
    const copied = await copyImage(byDigest, `${mirror.host}/mirror/${repo}:v1`, { client });
    expect(copied).toMatchObject({ digest: image.digest, manifests: 6, referrers: 3, legacyTags: 0 });
    const { json: index } = await getJson(
      mirror,
      `/v2/mirror/${repo}/manifests/${digestTag(image.digest)}`,
      'application/vnd.oci.image.index.v1+json',
    );
    expect(index.manifests).toEqual([expect.objectContaining({ artifactType: SIGSTORE_BUNDLE_ARTIFACT, annotations: expect.any(Object) })]);
    for (const digest of [image.digest, ...image.platforms.map((p) => p.digest)]) {
      expect((await verifyImage(`${mirror.host}/mirror/${repo}@${digest}`, policy, { client })).signatures).toHaveLength(1);
    }
  });

  it("merges legacy signatures with the destination's own, and refuses a destination naming another digest", async () => {
    const { byDigest, image, repo } = await pushedImage(source);
    const ours = keyPair('ours');
    const theirs = keyPair('theirs');
    await signImage(byDigest, ours.signer, { client, format: 'legacy' });
    const destination = `${mirror.host}/mirror/${repo}`;
    await copyImage(byDigest, `${destination}:v1`, { client });
    // The mirror's operator countersigns there; a second copy keeps that signature.
    await signImage(`${destination}@${image.digest}`, theirs.signer, { client, format: 'legacy' });
    await copyImage(byDigest, `${destination}:v1`, { client });
    for (const { policy } of [ours, theirs]) {
      expect((await verifyImage(`${destination}:v1`, policy, { client })).signatures).toEqual([
        expect.objectContaining({ format: 'legacy' }),
      ]);
    }
    const other = `sha256:${'c'.repeat(64)}`;
    await expect(copyImage(byDigest, `${destination}@${other}`, { client })).rejects.toMatchObject({
      code: 'E_USAGE',
      message: expect.stringContaining('a copy keeps the digest'),
    });
  });
});
