// verifyImageForPolicy: an image judged by a gate policy's kind: image rules, as the admission
// webhook and `signet image verify --policy` judge it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadGatePolicy, publicKeyPem } from '@signet/core';
import { describeWithRegistryTools, type RunningRegistry, startDockerRegistry } from '@signet/emulators/oci-registry';
import { attestImage, RegistryClient, signImage, verifyImageForPolicy } from '../src';
import { keyPair, pushedImage } from './helpers';

describeWithRegistryTools('verifyImageForPolicy', () => {
  let registry: RunningRegistry;
  const client = new RegistryClient();
  const release = keyPair('release');
  const other = keyPair('other');
  let dir: string;
  beforeAll(async () => {
    registry = await startDockerRegistry();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-image-policy-'));
    fs.writeFileSync(path.join(dir, 'release.pub'), publicKeyPem(release.publicKey));
    fs.writeFileSync(path.join(dir, 'other.pub'), publicKeyPem(other.publicKey));
  });
  afterAll(async () => {
    await registry.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function policy(rules: string) {
    const file = path.join(dir, `policy-${Math.random().toString(36).slice(2)}.yaml`);
    fs.writeFileSync(file, `version: 1\nkeys:\n  release: { publicKey: release.pub }\n  other: { publicKey: other.pub }\nrules:\n${rules}`);
    return loadGatePolicy(file);
  }

  it('passes an image signed as its rule says, pinned to the verified digest', async () => {
    const { ref, image } = await pushedImage(registry, { repository: 'shop/web' });
    await signImage(ref, release.signer, { client, resolve: true });
    const rules = await policy(`  - { kind: image, match: '${registry.host}/shop/*', signers: [release] }\n`);
    expect(await verifyImageForPolicy(ref, rules, { client })).toEqual({
      image: ref,
      ok: true,
      digest: image.digest,
      pinned: `${ref}@${image.digest}`,
      rule: 0,
      signer: 'key release',
      reason: `${image.digest} signed by key release`,
    });
  });

  it('requires the attestations of its rule, by their signers', async () => {
    const { ref, byDigest } = await pushedImage(registry, { repository: 'shop/api' });
    await signImage(byDigest, release.signer, { client });
    const rules = await policy(
      `  - kind: image\n    match: '${registry.host}/shop/**'\n    signers: [release]\n    attestations: [{ predicateType: cyclonedx, signers: [other] }]\n`,
    );
    const missing = await verifyImageForPolicy(ref, rules, { client });
    expect(missing).toMatchObject({ ok: false, code: 'E_UNSIGNED', rule: 0 });
    expect(missing.reason).toContain('no https://cyclonedx.org/bom attestation');
    await attestImage(byDigest, release.signer, {
      client,
      predicateType: 'cyclonedx',
      predicate: { bomFormat: 'CycloneDX', specVersion: '1.6' },
    });
    expect(await verifyImageForPolicy(ref, rules, { client })).toMatchObject({ ok: false, code: 'E_SIGNATURE' });
    await attestImage(byDigest, other.signer, {
      client,
      predicateType: 'cyclonedx',
      predicate: { bomFormat: 'CycloneDX', specVersion: '1.6' },
    });
    expect(await verifyImageForPolicy(ref, rules, { client })).toMatchObject({
      ok: true,
      reason: expect.stringContaining('cyclonedx by key other'),
    });
  });

  it('denies an image no rule covers, and one signed by a signer of another rule', async () => {
    const { ref, byDigest } = await pushedImage(registry, { repository: 'tools/cli' });
    await signImage(byDigest, other.signer, { client });
    const rules = await policy(
      `  - { kind: image, match: '${registry.host}/shop/**', signers: [other] }\n  - { kind: image, match: '${registry.host}/tools/*', signers: [release] }\n`,
    );
    expect(await verifyImageForPolicy(ref, rules, { client })).toMatchObject({ ok: false, rule: 1, code: 'E_SIGNATURE' });
    const uncovered = await verifyImageForPolicy(`${registry.host}/elsewhere/app:v1`, rules, { client });
    expect(uncovered).toMatchObject({
      ok: false,
      code: 'E_POLICY',
      reason: expect.stringContaining(`covers ${registry.host}/elsewhere/app`),
    });
    expect(uncovered.rule).toBeUndefined();
  });
});
