import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LocalSigner, type Policy } from '@signet/core';
import { buildTestImage, pushImage, type RunningRegistry, type TestImage } from '@signet/emulators/oci-registry';
import { COSIGN_SIGN_PREDICATE, EMPTY_CONFIG, type ImageManifest, type RegistryClient } from '../src';
import { pushReferrer } from '../src/referrers';
import { attachBundle } from '../src/sign-image';

/** A fresh P-256 key: the signer and the policy that trusts it. */
export function keyPair(name = 'release'): { signer: LocalSigner; policy: Policy; publicKey: crypto.KeyObject } {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { signer: new LocalSigner(name, privateKey), policy: { keys: [{ publicKey, name }] }, publicKey };
}

let counter = 0;

/** Builds a real image layout and pushes it with skopeo; returns REGISTRY/REPO:TAG and the image. */
export async function pushedImage(
  registry: RunningRegistry,
  options: { repository?: string; tag?: string; platforms?: string[] } = {},
): Promise<{ ref: string; image: TestImage; repo: string; byDigest: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-oci-image-'));
  try {
    const image = await buildTestImage(dir, { platforms: options.platforms });
    const repo = options.repository ?? `shop/app${++counter}`;
    const ref = await pushImage(image, registry, repo, options.tag ?? 'v1');
    return { ref, image, repo, byDigest: `${registry.host}/${repo}@${image.digest}` };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// Tests read whatever JSON the registry stored, field by field.
// biome-ignore lint/suspicious/noExplicitAny: see above
type Json = any;

export async function getJson(registry: RunningRegistry, urlPath: string, accept: string): Promise<{ status: number; json: Json }> {
  const headers: Record<string, string> = { accept };
  if (registry.credentials) {
    headers.authorization = `Basic ${Buffer.from(`${registry.credentials.username}:${registry.credentials.password}`).toString('base64')}`;
  }
  const response = await fetch(`${registry.url}${urlPath}`, { headers });
  const text = await response.text();
  return { status: response.status, json: response.ok ? JSON.parse(text) : undefined };
}

/** Another image's signature bundle, attached to this image as if it were its own. */
export async function attachForeignBundle(
  client: RegistryClient,
  registry: RunningRegistry,
  repository: string,
  image: TestImage,
  referrer: string,
  fromRepository: string,
): Promise<void> {
  const from = { registry: registry.host, repository: fromRepository };
  const manifest = (await client.manifest(from, referrer))?.json as ImageManifest;
  const bundle = JSON.parse((await client.blob(from, manifest.layers[0]?.digest as string)).toString('utf8'));
  await attachBundle(client, { registry: registry.host, repository }, descriptorOf(image), bundle, COSIGN_SIGN_PREDICATE);
}

/** A referrer another tool would push: an SBOM with its own artifact type. */
export async function attachOtherToolReferrer(
  client: RegistryClient,
  registry: RunningRegistry,
  repository: string,
  image: TestImage,
  artifactType: string,
): Promise<void> {
  const repo = { registry: registry.host, repository };
  const content = Buffer.from(JSON.stringify({ spdxVersion: 'SPDX-2.3', name: 'sbom' }));
  await client.pushBlob(repo, Buffer.from('{}'));
  const layer = await client.pushBlob(repo, content);
  await pushReferrer(client, repo, {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    artifactType,
    config: { ...EMPTY_CONFIG },
    layers: [{ mediaType: artifactType, digest: layer, size: content.length }],
    subject: descriptorOf(image),
  });
}

function descriptorOf(image: TestImage) {
  return { mediaType: image.mediaType, digest: image.digest, size: image.size };
}
