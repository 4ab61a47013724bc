import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  buildTestImage,
  describeWithRegistryTools,
  FaultPlan,
  MANIFEST_ACCEPT,
  MediaType,
  pushImage,
  type RunningRegistry,
  registryFetch,
  registryToolsAvailable,
  startDockerRegistry,
  startReferrersRegistry,
} from '@signet/emulators/oci-registry';

const EMPTY_CONFIG = { mediaType: MediaType.ociEmpty, digest: `sha256:${sha256('{}')}`, size: 2 };
const BUNDLE_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';

/** The registry JSON bodies these tests read, loosely typed. */
interface RegistryBody {
  errors: { code: string; detail?: unknown }[];
  manifests: { digest: string }[];
  tags: string[];
}
const json = async (response: Response) => (await response.json()) as RegistryBody;

function sha256(bytes: string | Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

const basic = (registry: RunningRegistry) =>
  `Basic ${Buffer.from(`${registry.credentials?.username}:${registry.credentials?.password}`).toString('base64')}`;

/** POST then PUT ?digest=, the two-step upload every registry supports. */
async function pushBlob(registry: RunningRegistry, name: string, bytes: Buffer | string): Promise<string> {
  const digest = `sha256:${sha256(bytes)}`;
  const started = await registryFetch(registry, `/v2/${name}/blobs/uploads/`, { method: 'POST' });
  expect(started.status).toBe(202);
  const location = new URL(started.headers.get('location') ?? '', registry.url);
  location.searchParams.set('digest', digest);
  const done = await registryFetch(registry, `${location.pathname}${location.search}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream' },
    body: bytes,
  });
  expect(done.status).toBe(201);
  return digest;
}

async function putManifest(
  registry: RunningRegistry,
  name: string,
  reference: string,
  manifest: object,
  mediaType: string = MediaType.ociManifest,
) {
  const bytes = JSON.stringify(manifest);
  const response = await registryFetch(registry, `/v2/${name}/manifests/${reference}`, {
    method: 'PUT',
    headers: { 'content-type': mediaType },
    body: bytes,
  });
  return { response, digest: `sha256:${sha256(bytes)}`, size: Buffer.byteLength(bytes), body: await response.text() };
}

/** A cosign-v3-style bundle referrer of `subject`. */
async function pushReferrer(
  registry: RunningRegistry,
  name: string,
  subject: { mediaType: string; digest: string; size: number },
  artifactType = BUNDLE_TYPE,
  annotations: Record<string, string> = {},
) {
  await pushBlob(registry, name, '{}');
  const payload = JSON.stringify({ note: `bundle ${Math.random()}` });
  const layer = { mediaType: artifactType, digest: await pushBlob(registry, name, payload), size: Buffer.byteLength(payload) };
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    artifactType,
    config: EMPTY_CONFIG,
    layers: [layer],
    subject,
    annotations,
  };
  const bytes = JSON.stringify(manifest);
  const put = await putManifest(registry, name, `sha256:${sha256(bytes)}`, manifest);
  return put;
}

let scratch: string;
beforeAll(() => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-oci-registry-test-'));
});
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));
const layout = (name: string) => path.join(scratch, name);

test('registryToolsAvailable reports the three tools', () => {
  const tools = registryToolsAvailable();
  expect(Object.keys(tools).sort()).toEqual(['dockerRegistry', 'htpasswd', 'skopeo']);
});

describe('buildTestImage', () => {
  test('writes an OCI layout whose blobs match their digests', async () => {
    const image = await buildTestImage(layout('single'), { tag: 'v1' });
    expect(image.mediaType).toBe(MediaType.ociManifest);
    expect(image.platforms).toEqual([]);
    const index = JSON.parse(fs.readFileSync(path.join(image.layoutDir, 'index.json'), 'utf8'));
    expect(index.manifests).toEqual([
      {
        mediaType: MediaType.ociManifest,
        digest: image.digest,
        size: image.size,
        annotations: { 'org.opencontainers.image.ref.name': 'v1' },
      },
    ]);
    for (const file of fs.readdirSync(path.join(image.layoutDir, 'blobs/sha256'))) {
      expect(sha256(fs.readFileSync(path.join(image.layoutDir, 'blobs/sha256', file)))).toBe(file);
    }
    const manifest = JSON.parse(fs.readFileSync(path.join(image.layoutDir, 'blobs/sha256', image.digest.slice(7)), 'utf8'));
    const config = JSON.parse(fs.readFileSync(path.join(image.layoutDir, 'blobs/sha256', manifest.config.digest.slice(7)), 'utf8'));
    expect(config).toMatchObject({ os: 'linux', architecture: 'amd64', rootfs: { type: 'layers' } });
    expect(manifest.layers[0].mediaType).toBe(MediaType.ociLayerGzip);
  });

  test('random content differs per call; given content is reproducible; platforms make an index', async () => {
    const a = await buildTestImage(layout('a'));
    const b = await buildTestImage(layout('b'));
    expect(a.digest).not.toBe(b.digest);
    const c = await buildTestImage(layout('c'), { content: 'same' });
    const d = await buildTestImage(layout('d'), { content: 'same' });
    expect(c.digest).toBe(d.digest);
    const multi = await buildTestImage(layout('multi'), { platforms: ['linux/amd64', 'linux/arm64'] });
    expect(multi.mediaType).toBe(MediaType.ociIndex);
    expect(multi.platforms.map((p) => `${p.os}/${p.architecture}`)).toEqual(['linux/amd64', 'linux/arm64']);
    expect(new Set(multi.platforms.map((p) => p.digest)).size).toBe(2);
  });
});

describeWithRegistryTools('docker-registry (Debian 2.8)', () => {
  test('starts, answers /v2/ and 404 on the referrers API, and stop() removes its store', async () => {
    const registry = await startDockerRegistry();
    try {
      expect(registry.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(registry.host).toBe(registry.url.slice('http://'.length));
      const ping = await fetch(`${registry.url}/v2/`);
      expect(ping.status).toBe(200);
      expect(ping.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
      const referrers = await fetch(`${registry.url}/v2/any/referrers/${EMPTY_CONFIG.digest}`);
      expect(referrers.status).toBe(404);
      expect(registry.requests).toEqual([]);
    } finally {
      await registry.stop();
    }
    expect(fs.existsSync(registry.dir)).toBe(false);
    await expect(fetch(`${registry.url}/v2/`)).rejects.toThrow();
  });

  test('with htpasswd auth: 401 without credentials, 200 with', async () => {
    const registry = await startDockerRegistry({ auth: { username: 'alice', password: 's3cret pass' } });
    try {
      const anonymous = await fetch(`${registry.url}/v2/`);
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
      expect((await fetch(`${registry.url}/v2/`, { headers: { authorization: basic(registry) } })).status).toBe(200);
      const wrong = `Basic ${Buffer.from('alice:nope').toString('base64')}`;
      expect((await fetch(`${registry.url}/v2/`, { headers: { authorization: wrong } })).status).toBe(401);
    } finally {
      await registry.stop();
    }
  });

  describe('with skopeo', () => {
    let registry: Awaited<ReturnType<typeof startDockerRegistry>>;
    beforeAll(async () => {
      registry = await startDockerRegistry({ auth: { username: 'bob', password: 'pushpass' } });
    });
    afterAll(() => registry?.stop());

    test('pushes a single-platform image under its digest; HEAD without an OCI Accept is 404', async () => {
      const image = await buildTestImage(layout('dr-single'));
      expect(await pushImage(image, registry, 'team/app', 'v1')).toBe(`${registry.host}/team/app:v1`);
      const auth = { authorization: basic(registry) };
      const plain = await fetch(`${registry.url}/v2/team/app/manifests/v1`, { method: 'HEAD', headers: auth });
      expect(plain.status).toBe(404);
      const get = await fetch(`${registry.url}/v2/team/app/manifests/${image.digest}`, { headers: { ...auth, accept: MANIFEST_ACCEPT } });
      expect(get.status).toBe(200);
      expect(get.headers.get('content-type')).toBe(MediaType.ociManifest);
      expect(sha256(Buffer.from(await get.arrayBuffer()))).toBe(image.digest.slice(7));
    });

    test('pushes a multi-platform index with every platform', async () => {
      const image = await buildTestImage(layout('dr-multi'), { platforms: ['linux/amd64', 'linux/arm64'] });
      await pushImage(image, registry, 'team/multi', 'v1');
      for (const platform of image.platforms) {
        const head = await registryFetch(registry, `/v2/team/multi/manifests/${platform.digest}`, {
          method: 'HEAD',
          headers: { accept: MANIFEST_ACCEPT },
        });
        expect(head.status).toBe(200);
      }
    });

    test('accepts a referrer with subject but sends no OCI-Subject', async () => {
      const image = await buildTestImage(layout('dr-ref'));
      await pushImage(image, registry, 'team/ref', 'v1');
      const put = await pushReferrer(registry, 'team/ref', { mediaType: image.mediaType, digest: image.digest, size: image.size });
      expect(put.response.status).toBe(201);
      expect(put.response.headers.get('oci-subject')).toBeNull();
    });
  });
});

describe('referrers fixture (Node)', () => {
  test('starts and stops; without auth everything is open', async () => {
    const registry = await startReferrersRegistry();
    const ping = await fetch(`${registry.url}/v2/`);
    expect(ping.status).toBe(200);
    expect(ping.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
    expect(registry.credentials).toBeUndefined();
    expect(registry.requests).toEqual([expect.objectContaining({ method: 'GET', path: '/v2/', status: 200, operation: 'ping' })]);
    await registry.stop();
    await expect(fetch(`${registry.url}/v2/`)).rejects.toThrow();
  });

  test('uploads: chunked PATCH with Range, monolithic POST, digest checks, cross-repository mount', async () => {
    const registry = await startReferrersRegistry();
    try {
      const data = Buffer.from('hello chunked world');
      const digest = `sha256:${sha256(data)}`;
      const post = await fetch(`${registry.url}/v2/a/b/blobs/uploads/`, { method: 'POST' });
      expect(post.status).toBe(202);
      expect(post.headers.get('docker-upload-uuid')).toBeTruthy();
      let location = post.headers.get('location') ?? '';
      const first = await fetch(`${registry.url}${location}`, {
        method: 'PATCH',
        headers: { 'content-range': '0-4', 'content-type': 'application/octet-stream' },
        body: data.subarray(0, 5),
      });
      expect(first.status).toBe(202);
      expect(first.headers.get('range')).toBe('0-4');
      location = first.headers.get('location') ?? '';
      const outOfOrder = await fetch(`${registry.url}${location}`, { method: 'PATCH', headers: { 'content-range': '9-10' }, body: 'xx' });
      expect(outOfOrder.status).toBe(416);
      const second = await fetch(`${registry.url}${location}`, {
        method: 'PATCH',
        headers: { 'content-range': `5-${data.length - 1}` },
        body: data.subarray(5),
      });
      expect(second.headers.get('range')).toBe(`0-${data.length - 1}`);
      const stale = await fetch(`${registry.url}${location}&digest=${digest}`, { method: 'PUT' });
      expect(stale.status).toBe(400);
      location = second.headers.get('location') ?? '';
      // The Location carries a _state query, as docker-registry's does: "?digest=" appended by string breaks it.
      expect(location).toMatch(/\?_state=/);
      const naive = await fetch(`${registry.url}${location}?digest=${digest}`, { method: 'PUT' });
      expect((await json(naive)).errors[0]?.code).toBe('BLOB_UPLOAD_INVALID');
      const wrong = await fetch(`${registry.url}${location}&digest=sha256:${'0'.repeat(64)}`, { method: 'PUT' });
      expect(wrong.status).toBe(400);
      expect((await json(wrong)).errors[0]?.code).toBe('DIGEST_INVALID');

      const again = await fetch(`${registry.url}/v2/a/b/blobs/uploads/?digest=${digest}`, { method: 'POST', body: data });
      expect(again.status).toBe(201);
      expect(again.headers.get('location')).toBe(`/v2/a/b/blobs/${digest}`);
      const head = await fetch(`${registry.url}/v2/a/b/blobs/${digest}`, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(head.headers.get('content-length')).toBe(String(data.length));
      expect(head.headers.get('docker-content-digest')).toBe(digest);
      expect(Buffer.from(await (await fetch(`${registry.url}/v2/a/b/blobs/${digest}`)).arrayBuffer())).toEqual(data);

      expect((await fetch(`${registry.url}/v2/other/blobs/${digest}`, { method: 'HEAD' })).status).toBe(404);
      const mount = await fetch(`${registry.url}/v2/other/blobs/uploads/?mount=${digest}&from=a/b`, { method: 'POST' });
      expect(mount.status).toBe(201);
      expect((await fetch(`${registry.url}/v2/other/blobs/${digest}`, { method: 'HEAD' })).status).toBe(200);
      const noSource = await fetch(`${registry.url}/v2/third/blobs/uploads/?mount=${digest}&from=nowhere`, { method: 'POST' });
      expect(noSource.status).toBe(202);
    } finally {
      await registry.stop();
    }
  });

  test('manifests: byte-for-byte, validated, tags paginated, deletable', async () => {
    const registry = await startReferrersRegistry();
    try {
      const config = await pushBlob(registry, 'repo', '{"os":"linux"}');
      const manifest = {
        schemaVersion: 2,
        mediaType: MediaType.ociManifest,
        config: { mediaType: MediaType.ociConfig, digest: config, size: 14 },
        layers: [],
      };
      const missing = await putManifest(registry, 'repo', 'v1', {
        ...manifest,
        layers: [{ mediaType: MediaType.ociLayerGzip, digest: `sha256:${'1'.repeat(64)}`, size: 1 }],
      });
      expect(missing.response.status).toBe(400);
      expect(JSON.parse(missing.body).errors[0]).toMatchObject({ code: 'MANIFEST_BLOB_UNKNOWN', detail: `sha256:${'1'.repeat(64)}` });
      const mismatch = await putManifest(registry, 'repo', 'v1', manifest, MediaType.ociIndex);
      expect(mismatch.response.status).toBe(400);
      expect(JSON.parse(mismatch.body).errors[0]?.code).toBe('MANIFEST_INVALID');
      const danglingIndex = await putManifest(
        registry,
        'repo',
        'multi',
        {
          schemaVersion: 2,
          mediaType: MediaType.ociIndex,
          manifests: [{ mediaType: MediaType.ociManifest, digest: `sha256:${'2'.repeat(64)}`, size: 3 }],
        },
        MediaType.ociIndex,
      );
      expect(JSON.parse(danglingIndex.body).errors[0]?.code).toBe('MANIFEST_BLOB_UNKNOWN');

      // Odd whitespace on purpose: the registry must store and serve these exact bytes.
      const bytes = `{ "schemaVersion": 2,  "mediaType": "${MediaType.ociManifest}", "config": ${JSON.stringify(manifest.config)}, "layers": [] }`;
      const digest = `sha256:${sha256(bytes)}`;
      for (const tag of ['v1', 'v2', 'v3', 'latest']) {
        const put = await fetch(`${registry.url}/v2/repo/manifests/${tag}`, {
          method: 'PUT',
          headers: { 'content-type': MediaType.ociManifest },
          body: bytes,
        });
        expect(put.status).toBe(201);
        expect(put.headers.get('docker-content-digest')).toBe(digest);
      }
      const badDigest = await fetch(`${registry.url}/v2/repo/manifests/sha256:${'3'.repeat(64)}`, {
        method: 'PUT',
        headers: { 'content-type': MediaType.ociManifest },
        body: bytes,
      });
      expect(badDigest.status).toBe(400);
      for (const method of ['GET', 'HEAD']) {
        const response = await fetch(`${registry.url}/v2/repo/manifests/v1`, { method });
        expect(response.status).toBe(200);
        expect(response.headers.get('content-type')).toBe(MediaType.ociManifest);
        expect(response.headers.get('docker-content-digest')).toBe(digest);
        expect(response.headers.get('content-length')).toBe(String(Buffer.byteLength(bytes)));
        if (method === 'GET') expect(await response.text()).toBe(bytes);
      }

      const page1 = await fetch(`${registry.url}/v2/repo/tags/list?n=2`);
      expect(await json(page1)).toEqual({ name: 'repo', tags: ['latest', 'v1'] });
      const link = page1.headers.get('link') ?? '';
      expect(link).toBe('</v2/repo/tags/list?n=2&last=v1>; rel="next"');
      const page2 = await fetch(`${registry.url}${/<([^>]+)>/.exec(link)?.[1]}`);
      expect(await json(page2)).toEqual({ name: 'repo', tags: ['v2', 'v3'] });
      expect(page2.headers.get('link')).toBeNull();
      expect(await (await fetch(`${registry.url}/v2/_catalog`)).json()).toEqual({ repositories: ['repo'] });
      expect((await fetch(`${registry.url}/v2/nope/tags/list`)).status).toBe(404);

      expect((await fetch(`${registry.url}/v2/repo/manifests/v3`, { method: 'DELETE' })).status).toBe(202);
      expect((await fetch(`${registry.url}/v2/repo/manifests/v3`)).status).toBe(404);
      expect((await fetch(`${registry.url}/v2/repo/manifests/${digest}`, { method: 'DELETE' })).status).toBe(202);
      const gone = await fetch(`${registry.url}/v2/repo/manifests/v1`);
      expect(gone.status).toBe(404);
      expect((await json(gone)).errors[0]?.code).toBe('MANIFEST_UNKNOWN');
    } finally {
      await registry.stop();
    }
  });

  test('referrers API: lists referrers with artifactType and annotations, filters, paginates; OCI-Subject on push', async () => {
    const registry = await startReferrersRegistry();
    try {
      const subject = { mediaType: MediaType.ociManifest, digest: `sha256:${'a'.repeat(64)}`, size: 100 };
      const empty = await fetch(`${registry.url}/v2/repo/referrers/${subject.digest}`);
      expect(empty.status).toBe(200);
      expect(await json(empty)).toEqual({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] });

      const annotations = { 'dev.sigstore.bundle.content': 'dsse-envelope', 'org.opencontainers.image.created': '2026-01-01T00:00:00Z' };
      const bundle = await pushReferrer(registry, 'repo', subject, BUNDLE_TYPE, annotations);
      expect(bundle.response.status).toBe(201);
      expect(bundle.response.headers.get('oci-subject')).toBe(subject.digest);
      const sbom = await pushReferrer(registry, 'repo', subject, 'application/spdx+json');
      const second = await pushReferrer(registry, 'repo', subject, BUNDLE_TYPE);

      const all = await fetch(`${registry.url}/v2/repo/referrers/${subject.digest}`);
      expect(all.headers.get('content-type')).toBe(MediaType.ociIndex);
      expect(all.headers.get('oci-filters-applied')).toBeNull();
      const listed = (await json(all)).manifests;
      expect(listed).toEqual([
        { mediaType: MediaType.ociManifest, digest: bundle.digest, size: bundle.size, artifactType: BUNDLE_TYPE, annotations },
        expect.objectContaining({ digest: sbom.digest, artifactType: 'application/spdx+json' }),
        expect.objectContaining({ digest: second.digest, artifactType: BUNDLE_TYPE }),
      ]);

      const filtered = await fetch(`${registry.url}/v2/repo/referrers/${subject.digest}?artifactType=${encodeURIComponent(BUNDLE_TYPE)}`);
      expect(filtered.headers.get('oci-filters-applied')).toBe('artifactType');
      expect((await json(filtered)).manifests.map((m: { digest: string }) => m.digest)).toEqual([bundle.digest, second.digest]);

      const page1 = await fetch(`${registry.url}/v2/repo/referrers/${subject.digest}?n=2`);
      expect((await json(page1)).manifests).toHaveLength(2);
      const next = /<([^>]+)>; rel="next"/.exec(page1.headers.get('link') ?? '')?.[1];
      expect(next).toBeDefined();
      const page2 = await fetch(`${registry.url}${next}`);
      expect((await json(page2)).manifests.map((m: { digest: string }) => m.digest)).toEqual([second.digest]);
      expect(page2.headers.get('link')).toBeNull();

      expect((await fetch(`${registry.url}/v2/repo/referrers/not-a-digest`)).status).toBe(400);
    } finally {
      await registry.stop();
    }
  });

  test('referrersApi: false answers 404 like docker-registry and sends no OCI-Subject', async () => {
    const registry = await startReferrersRegistry({ referrersApi: false });
    try {
      const subject = { mediaType: MediaType.ociManifest, digest: `sha256:${'b'.repeat(64)}`, size: 10 };
      const put = await pushReferrer(registry, 'repo', subject);
      expect(put.response.status).toBe(201);
      expect(put.response.headers.get('oci-subject')).toBeNull();
      const referrers = await fetch(`${registry.url}/v2/repo/referrers/${subject.digest}`);
      expect(referrers.status).toBe(404);
      expect(referrers.headers.get('content-type')).toMatch(/^text\/plain/);
    } finally {
      await registry.stop();
    }
  });

  test('requireAccept: a HEAD without the stored type in Accept is 404, as docker-registry answers', async () => {
    const registry = await startReferrersRegistry({ requireAccept: true });
    try {
      const put = await pushReferrer(registry, 'repo', { mediaType: MediaType.ociManifest, digest: `sha256:${'c'.repeat(64)}`, size: 1 });
      expect((await fetch(`${registry.url}/v2/repo/manifests/${put.digest}`, { method: 'HEAD' })).status).toBe(404);
      const head = await fetch(`${registry.url}/v2/repo/manifests/${put.digest}`, { method: 'HEAD', headers: { accept: MANIFEST_ACCEPT } });
      expect(head.status).toBe(200);
      expect(registry.requests.at(-1)?.accept).toBe(MANIFEST_ACCEPT);
    } finally {
      await registry.stop();
    }
  });

  test('basic auth: 401 with a Basic challenge without credentials, 200 with; Authorization is redacted in the log', async () => {
    const registry = await startReferrersRegistry({ auth: 'basic', credentials: { username: 'u', password: 'p' } });
    try {
      const anonymous = await fetch(`${registry.url}/v2/`);
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic realm="/);
      expect((await json(anonymous)).errors[0]?.code).toBe('UNAUTHORIZED');
      expect((await fetch(`${registry.url}/v2/`, { headers: { authorization: basic(registry) } })).status).toBe(200);
      expect(registry.requests[1]?.headers?.authorization).toBe('[redacted]');
    } finally {
      await registry.stop();
    }
  });

  test('bearer auth: the challenge names the token endpoint and scope; a pull-only token cannot push', async () => {
    const registry = await startReferrersRegistry({ auth: 'bearer', anonymousPull: true });
    try {
      expect(registry.credentials).toEqual({ username: 'signet-test', password: 'signet-test-password' });
      const push = await fetch(`${registry.url}/v2/team/app/blobs/uploads/`, { method: 'POST' });
      expect(push.status).toBe(401);
      expect(push.headers.get('www-authenticate')).toBe(
        `Bearer realm="${registry.url}/token",service="fixture",scope="repository:team/app:pull,push"`,
      );

      const tokenFor = async (scope: string, authorization?: string) => {
        const response = await fetch(`${registry.url}/token?service=fixture&scope=${encodeURIComponent(scope)}`, {
          headers: authorization ? { authorization } : {},
        });
        return { status: response.status, body: (await response.json()) as { token?: string; access_token?: string } };
      };
      const wrong = await tokenFor('repository:team/app:pull,push', `Basic ${Buffer.from('signet-test:wrong').toString('base64')}`);
      expect(wrong.status).toBe(401);

      const anonymous = await tokenFor('repository:team/app:pull,push');
      expect(anonymous.status).toBe(200);
      expect(anonymous.body.access_token).toBe(anonymous.body.token);
      const refused = await fetch(`${registry.url}/v2/team/app/blobs/uploads/`, {
        method: 'POST',
        headers: { authorization: `Bearer ${anonymous.body.token}` },
      });
      expect(refused.status).toBe(401);
      expect(refused.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
      const pull = await fetch(`${registry.url}/v2/team/app/tags/list`, { headers: { authorization: `Bearer ${anonymous.body.token}` } });
      expect(pull.status).toBe(404); // allowed in, but nothing there yet

      const full = await tokenFor('repository:team/app:pull,push', basic(registry));
      const allowed = await fetch(`${registry.url}/v2/team/app/blobs/uploads/`, {
        method: 'POST',
        headers: { authorization: `Bearer ${full.body.token}` },
      });
      expect(allowed.status).toBe(202);
      // A token is only good for the repository it was issued for.
      const elsewhere = await fetch(`${registry.url}/v2/team/other/blobs/uploads/`, {
        method: 'POST',
        headers: { authorization: `Bearer ${full.body.token}` },
      });
      expect(elsewhere.status).toBe(401);

      // registryFetch does the whole dance with the registry's credentials.
      expect(await pushBlob(registry, 'team/app', 'via registryFetch')).toMatch(/^sha256:/);
    } finally {
      await registry.stop();
    }
  });

  test('bearer auth without anonymousPull refuses anonymous tokens', async () => {
    const registry = await startReferrersRegistry({ auth: 'bearer' });
    try {
      expect((await fetch(`${registry.url}/token?service=fixture&scope=repository:x:pull`)).status).toBe(401);
    } finally {
      await registry.stop();
    }
  });

  test('faults: status, throttle with Retry-After, latency and drop fire on their operation only', async () => {
    const faults = new FaultPlan();
    const registry = await startReferrersRegistry({ faults });
    try {
      expect(registry.faults).toBe(faults);
      faults.add({ operation: 'manifest.get', fault: { kind: 'status', status: 503 } });
      faults.add({ operation: 'tags', fault: { kind: 'throttle', retryAfterSeconds: 7 } });
      expect((await fetch(`${registry.url}/v2/`)).status).toBe(200);
      const unavailable = await fetch(`${registry.url}/v2/r/manifests/v1`);
      expect(unavailable.status).toBe(503);
      expect((await json(unavailable)).errors[0]?.code).toBe('UNKNOWN');
      const throttled = await fetch(`${registry.url}/v2/r/tags/list`);
      expect(throttled.status).toBe(429);
      expect(throttled.headers.get('retry-after')).toBe('7');
      expect((await json(throttled)).errors[0]?.code).toBe('TOOMANYREQUESTS');
      expect((await fetch(`${registry.url}/v2/r/tags/list`)).status).toBe(404);

      faults.add({ operation: 'referrers', fault: { kind: 'latency', ms: 300 } });
      const started = Date.now();
      expect((await fetch(`${registry.url}/v2/r/referrers/${EMPTY_CONFIG.digest}`)).status).toBe(200);
      expect(Date.now() - started).toBeGreaterThanOrEqual(250);

      faults.add({ operation: 'blob.upload', fault: { kind: 'drop' } });
      await expect(fetch(`${registry.url}/v2/r/blobs/uploads/`, { method: 'POST' })).rejects.toThrow();
      expect(registry.calls('blob.upload')).toEqual([expect.objectContaining({ status: 0, fault: 'drop' })]);
      expect(registry.requests.filter((r) => r.fault).map((r) => [r.operation, r.fault])).toEqual([
        ['manifest.get', 'status'],
        ['tags', 'throttle'],
        ['referrers', 'latency'],
        ['blob.upload', 'drop'],
      ]);
    } finally {
      await registry.stop();
    }
  });
});

describeWithRegistryTools(
  'skopeo → referrers fixture',
  () => {
    test('pushes single- and multi-platform images, keeping their digests', async () => {
      const registry = await startReferrersRegistry({ requireAccept: true });
      try {
        const single = await buildTestImage(layout('fx-single'));
        expect(await pushImage(single, registry, 'library/app', 'v1')).toBe(`${registry.host}/library/app:v1`);
        const multi = await buildTestImage(layout('fx-multi'), { platforms: ['linux/amd64', 'linux/arm64'] });
        await pushImage(multi, registry, 'library/app', 'multi');
        const tags = await json(await fetch(`${registry.url}/v2/library/app/tags/list`));
        expect(tags.tags).toEqual(['multi', 'v1']);
        for (const platform of multi.platforms) {
          const head = await fetch(`${registry.url}/v2/library/app/manifests/${platform.digest}`, {
            method: 'HEAD',
            headers: { accept: MANIFEST_ACCEPT },
          });
          expect(head.status).toBe(200);
        }
      } finally {
        await registry.stop();
      }
    });

    test('pushes through bearer auth and the pushed image gets a listed referrer', async () => {
      const registry = await startReferrersRegistry({ auth: 'bearer' });
      try {
        const image = await buildTestImage(layout('fx-bearer'));
        await pushImage(image, registry, 'signed/app', 'v1');
        expect(registry.calls('token').length).toBeGreaterThan(0);
        const subject = { mediaType: image.mediaType, digest: image.digest, size: image.size };
        const put = await pushReferrer(registry, 'signed/app', subject, BUNDLE_TYPE, { 'dev.sigstore.bundle.content': 'dsse-envelope' });
        expect(put.response.headers.get('oci-subject')).toBe(image.digest);
        const referrers = await registryFetch(registry, `/v2/signed/app/referrers/${image.digest}`);
        expect((await json(referrers)).manifests).toEqual([
          {
            mediaType: MediaType.ociManifest,
            digest: put.digest,
            size: put.size,
            artifactType: BUNDLE_TYPE,
            annotations: { 'dev.sigstore.bundle.content': 'dsse-envelope' },
          },
        ]);
      } finally {
        await registry.stop();
      }
    });
  },
  { requires: ['skopeo'] },
);
