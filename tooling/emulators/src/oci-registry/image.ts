// Real OCI image layouts for tests, and pushing them with Debian's skopeo.
import { execFile, execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { MANIFEST_ACCEPT, MediaType } from './media-types';
import { INSTALL_HINT, requireRegistryTool } from './tools';
import type { RunningRegistry } from './types';

export interface TestImage {
  /** the OCI layout directory */
  layoutDir: string;
  /** the tag inside the layout (oci:DIR:TAG) */
  tag: string;
  /** digest of the top manifest (an image manifest, or an image index for multi-platform) */
  digest: string;
  mediaType: string;
  size: number;
  /** for an index: each platform's manifest */
  platforms: { os: string; architecture: string; digest: string; size: number; mediaType: string }[];
}

export interface BuildTestImageOptions {
  /** The tag inside the layout (default 'latest'). */
  tag?: string;
  /** The layer's one file's content; default random, so every image has its own digests. Given, the image is reproducible. */
  content?: string;
  /** 'os/architecture[/variant]' for each platform: an image index over one manifest each. Absent: one linux/amd64 manifest. */
  platforms?: string[];
}

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

/**
 * Builds a small, real OCI image layout in `dir` (oci-layout, index.json, blobs/sha256/…):
 * one gzip'd tar layer holding hello.txt, a config per platform, an image manifest per
 * platform and, with `platforms`, an image index over them. Adds to an existing layout in
 * `dir` (replacing the same tag), so several images can share one directory.
 */
export async function buildTestImage(dir: string, options: BuildTestImageOptions = {}): Promise<TestImage> {
  const tag = options.tag ?? 'latest';
  const blobsDir = path.join(dir, 'blobs', 'sha256');
  fs.mkdirSync(blobsDir, { recursive: true });
  const writeBlob = (mediaType: string, bytes: Buffer): Descriptor => {
    const hex = createHash('sha256').update(bytes).digest('hex');
    fs.writeFileSync(path.join(blobsDir, hex), bytes);
    return { mediaType, digest: `sha256:${hex}`, size: bytes.length };
  };
  const json = (value: unknown) => Buffer.from(JSON.stringify(value));

  const tar = makeTar(options.content ?? `signet test image ${randomBytes(16).toString('hex')}\n`);
  const diffId = `sha256:${createHash('sha256').update(tar).digest('hex')}`;
  // zlib writes no timestamp or name into the gzip header, so the same tar gzips to the same bytes.
  const layer = writeBlob(MediaType.ociLayerGzip, gzipSync(tar));

  const platforms = (options.platforms ?? ['linux/amd64']).map(parsePlatform);
  const manifests = platforms.map((platform) => {
    const config = writeBlob(
      MediaType.ociConfig,
      json({
        architecture: platform.architecture,
        os: platform.os,
        ...(platform.variant ? { variant: platform.variant } : {}),
        config: { Cmd: ['/bin/true'] },
        rootfs: { type: 'layers', diff_ids: [diffId] },
      }),
    );
    const manifest = writeBlob(
      MediaType.ociManifest,
      json({ schemaVersion: 2, mediaType: MediaType.ociManifest, config, layers: [layer] }),
    );
    return { ...manifest, platform };
  });

  const top: Descriptor =
    options.platforms === undefined
      ? { mediaType: MediaType.ociManifest, digest: manifests[0]?.digest ?? '', size: manifests[0]?.size ?? 0 }
      : writeBlob(
          MediaType.ociIndex,
          json({
            schemaVersion: 2,
            mediaType: MediaType.ociIndex,
            manifests: manifests.map(({ platform, ...descriptor }) => ({ ...descriptor, platform })),
          }),
        );

  fs.writeFileSync(path.join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const indexPath = path.join(dir, 'index.json');
  const REF_NAME = 'org.opencontainers.image.ref.name';
  const existing = fs.existsSync(indexPath)
    ? ((JSON.parse(fs.readFileSync(indexPath, 'utf8')) as { manifests?: { annotations?: Record<string, string> }[] }).manifests ?? [])
    : [];
  fs.writeFileSync(
    indexPath,
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociIndex,
      manifests: [...existing.filter((m) => m.annotations?.[REF_NAME] !== tag), { ...top, annotations: { [REF_NAME]: tag } }],
    }),
  );

  return {
    layoutDir: dir,
    tag,
    digest: top.digest,
    mediaType: top.mediaType,
    size: top.size,
    platforms:
      options.platforms === undefined
        ? []
        : manifests.map((m) => ({
            os: m.platform.os,
            architecture: m.platform.architecture,
            digest: m.digest,
            size: m.size,
            mediaType: m.mediaType,
          })),
  };
}

function parsePlatform(platform: string): { os: string; architecture: string; variant?: string } {
  const [osName, architecture, variant] = platform.split('/');
  if (!osName || !architecture) throw new Error(`platform "${platform}" should be os/architecture[/variant], e.g. linux/arm64`);
  return { os: osName, architecture, ...(variant ? { variant } : {}) };
}

/** A tar of one file, hello.txt, made by the system's tar with fixed owner and time so equal content gives equal bytes. */
function makeTar(content: string): Buffer {
  const staging = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-oci-layer-'));
  try {
    fs.writeFileSync(path.join(staging, 'hello.txt'), content);
    return execFileSync(
      'tar',
      ['-C', staging, '--format=ustar', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '--mode=0644', '-cf', '-', 'hello.txt'],
      { maxBuffer: 64 * 1024 * 1024 },
    );
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

const execFileAsync = promisify(execFile);

/**
 * Pushes the image with skopeo (`skopeo copy [--all] --preserve-digests --dest-tls-verify=false
 * oci:DIR:TAG docker://HOST/REPO:TAG`), then checks that the registry holds it under the same
 * digest. Returns HOST/REPO:TAG.
 */
export async function pushImage(image: TestImage, registry: RunningRegistry, repository: string, tag: string): Promise<string> {
  const skopeo = requireRegistryTool('skopeo');
  const reference = `${registry.host}/${repository}:${tag}`;
  // Our own policy and an empty registries.d: the machine's /etc/containers must not change what a test does.
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-skopeo-'));
  try {
    const policy = path.join(scratch, 'policy.json');
    fs.writeFileSync(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
    fs.mkdirSync(path.join(scratch, 'registries.d'));
    const isIndex = image.mediaType === MediaType.ociIndex || image.mediaType === MediaType.dockerManifestList;
    const args = [
      '--policy',
      policy,
      '--registries.d',
      path.join(scratch, 'registries.d'),
      '--tmpdir',
      scratch,
      'copy',
      '--quiet',
      // Fail rather than convert: the test relies on the registry holding the layout's digest.
      '--preserve-digests',
      // Without --all skopeo copies only the host's platform out of an index.
      ...(isIndex ? ['--all'] : []),
      '--dest-tls-verify=false',
      // --dest-no-creds: never pick up the machine's auth.json.
      ...(registry.credentials
        ? ['--dest-creds', `${registry.credentials.username}:${registry.credentials.password}`]
        : ['--dest-no-creds']),
      `oci:${image.layoutDir}:${image.tag}`,
      `docker://${reference}`,
    ];
    try {
      await execFileAsync(skopeo, args, { timeout: 120_000, env: { ...process.env, REGISTRY_AUTH_FILE: path.join(scratch, 'auth.json') } });
    } catch (error) {
      const { stderr, message } = error as { stderr?: string; message: string };
      throw new Error(
        `skopeo could not push ${image.layoutDir}:${image.tag} to ${reference}: ${(stderr || message).trim()}\n` +
          `(run it by hand with --debug to see the requests; skopeo comes from the Debian package skopeo: ${INSTALL_HINT})`,
      );
    }
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }

  const response = await registryFetch(registry, `/v2/${repository}/manifests/${tag}`, {
    method: 'HEAD',
    headers: { accept: MANIFEST_ACCEPT },
  });
  const digest = response.headers.get('docker-content-digest');
  if (response.status !== 200 || digest !== image.digest) {
    throw new Error(
      `skopeo pushed ${reference}, but the registry answers HEAD with ${response.status} and digest ${digest ?? '(none)'}, ` +
        `not ${image.digest}: the registry changed the manifest or lost it`,
    );
  }
  return reference;
}

/**
 * fetch() against a test registry, answering its auth challenge with the registry's
 * credentials: Basic directly, Bearer by getting a token for the challenged scope first.
 * The path is relative to registry.url (e.g. /v2/repo/tags/list).
 */
export async function registryFetch(registry: RunningRegistry, urlPath: string, init: RequestInit = {}): Promise<Response> {
  const url = `${registry.url}${urlPath}`;
  const first = await fetch(url, init);
  const challenge = first.headers.get('www-authenticate');
  if (first.status !== 401 || !challenge || !registry.credentials) return first;
  await first.arrayBuffer();
  const basic = `Basic ${Buffer.from(`${registry.credentials.username}:${registry.credentials.password}`).toString('base64')}`;
  const headers = new Headers(init.headers);
  if (/^Basic\b/i.test(challenge)) {
    headers.set('authorization', basic);
    return fetch(url, { ...init, headers });
  }
  const params = Object.fromEntries([...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
  if (!params.realm) return first;
  const tokenUrl = new URL(params.realm);
  if (params.service) tokenUrl.searchParams.set('service', params.service);
  if (params.scope) tokenUrl.searchParams.set('scope', params.scope);
  const tokenResponse = await fetch(tokenUrl, { headers: { authorization: basic } });
  const body = (await tokenResponse.json().catch(() => ({}))) as { token?: string; access_token?: string };
  const token = body.token ?? body.access_token;
  if (!tokenResponse.ok || !token)
    throw new Error(`the token endpoint ${params.realm} answered ${tokenResponse.status}: no token for ${params.scope}`);
  headers.set('authorization', `Bearer ${token}`);
  return fetch(url, { ...init, headers });
}
