// The webhook end to end: golden AdmissionReviews POSTed over HTTPS (a certificate made by
// openssl, checked as the API server checks it) to a server verifying real images, built as
// OCI layouts, pushed with skopeo to Debian's docker-registry and signed with @signet/oci.
import crypto from 'node:crypto';
import fs from 'node:fs';
import type https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { emptyTrustedRoot, type GatePolicy, LocalSigner, loadGatePolicy, publicKeyPem } from '@signet/core';
import {
  buildTestImage,
  describeWithRegistryTools,
  pushImage,
  type RunningReferrersRegistry,
  type RunningRegistry,
  startDockerRegistry,
  startReferrersRegistry,
} from '@signet/emulators/oci-registry';
import { RegistryClient, signImage } from '@signet/oci';
import { type AdmissionServerOptions, createAdmissionServer, ImageChecker } from '../src';
import { close, decodePatch, FIXTURE_DIGEST, FIXTURE_REGISTRY, fixture, listen, postReview, servingCertificate } from './support';

const POLICY =
  "version: 1\nkeys:\n  release: { publicKey: release.pub }\nrules:\n  - { kind: image, match: '127.0.0.1:*/**', signers: [release] }\n";
const trustedRoot = async () => emptyTrustedRoot();

let dir: string;
let policy: GatePolicy;
let tls: { key: string; cert: string };
const release = signerPair('release');

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-admission-e2e-'));
  fs.writeFileSync(path.join(dir, 'release.pub'), release.pem);
  fs.writeFileSync(path.join(dir, 'policy.yaml'), POLICY);
  policy = await loadGatePolicy(path.join(dir, 'policy.yaml'));
  tls = servingCertificate();
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function signerPair(name: string): { signer: LocalSigner; pem: string } {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { signer: new LocalSigner(name, privateKey), pem: publicKeyPem(publicKey) };
}

/** Builds a one-layer image and pushes it as REPO:TAG; returns the reference and the digest. */
async function push(registry: RunningRegistry, repository: string, tag: string): Promise<{ ref: string; digest: string }> {
  const layout = fs.mkdtempSync(path.join(dir, 'layout-'));
  const image = await buildTestImage(layout);
  return { ref: await pushImage(image, registry, repository, tag), digest: image.digest };
}

async function startServer(options: Partial<AdmissionServerOptions> = {}) {
  const logged: Record<string, unknown>[] = [];
  const server = createAdmissionServer({
    policy,
    tls,
    trustedRoot,
    log: (line) => logged.push(line as Record<string, unknown>),
    ...options,
  });
  await listen(server);
  return { server, logged };
}

describeWithRegistryTools('the webhook, with images on docker-registry', () => {
  let registry: RunningRegistry;
  let server: https.Server;
  let logged: Record<string, unknown>[];
  /** REGISTRY/signet/app: signed by release. */
  let app: string;
  let digest: string;
  let unsigned: string;
  let wrongKey: string;

  /** A golden review with the test registry and the signed digest in place of the fixture's. */
  const review = (name: string, replacements: Record<string, string> = {}) =>
    fixture(name, { ...replacements, [FIXTURE_REGISTRY]: registry.host, [FIXTURE_DIGEST]: digest });
  /** pod-create with its images replaced: the init container's, then the web container's (metrics stays signed by digest). */
  const pod = (init: string, web: string) => {
    const body = JSON.parse(review('pod-create'));
    body.request.object.spec.initContainers[0].image = init;
    body.request.object.spec.containers[0].image = web;
    return JSON.stringify(body);
  };

  beforeAll(async () => {
    registry = await startDockerRegistry();
    ({ ref: app, digest } = await push(registry, 'signet/app', 'v1'));
    await signImage(`${registry.host}/signet/app@${digest}`, release.signer);
    ({ ref: unsigned } = await push(registry, 'signet/unsigned', 'v1'));
    const other = await push(registry, 'signet/other', 'v1');
    wrongKey = other.ref;
    await signImage(`${registry.host}/signet/other@${other.digest}`, signerPair('stranger').signer);
    ({ server, logged } = await startServer());
  });

  afterAll(async () => {
    await close(server);
    await registry.stop();
  });

  beforeEach(() => {
    logged.length = 0;
  });

  it('admits a pod whose images are signed and given by digest, with no patch', async () => {
    const byDigest = `${registry.host}/signet/app@${digest}`;
    const { status, review: answer } = await postReview(
      server,
      tls.cert,
      '/mutate',
      review('pod-create', { 'signet/app:v1': `signet/app@${digest}` }),
    );
    expect(status).toBe(200);
    expect(answer).toEqual({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: '0d5b7a4e-2f0c-4b8e-9a51-7c1e3f6b2a01', allowed: true },
    });
    // Three containers, one image: verified once.
    expect(logged).toEqual([
      {
        time: expect.any(String),
        endpoint: 'mutate',
        uid: '0d5b7a4e-2f0c-4b8e-9a51-7c1e3f6b2a01',
        operation: 'CREATE',
        namespace: 'shop',
        kind: 'Pod',
        name: 'shop-web-7f9c6d5b8-',
        allowed: true,
        images: [
          {
            image: byDigest,
            ok: true,
            digest,
            pinned: byDigest,
            rule: 0,
            signer: 'key release',
            reason: expect.stringContaining(digest),
            code: undefined,
            cached: undefined,
          },
        ],
        ms: expect.any(Number),
      },
    ]);
  });

  it('admits a pod by tag and pins each tag to the verified digest', async () => {
    const { status, review: answer } = await postReview(server, tls.cert, '/mutate', review('pod-create'));
    expect(status).toBe(200);
    expect(answer.response).toMatchObject({ uid: '0d5b7a4e-2f0c-4b8e-9a51-7c1e3f6b2a01', allowed: true, patchType: 'JSONPatch' });
    expect(decodePatch(answer)).toEqual([
      { op: 'replace', path: '/spec/initContainers/0/image', value: `${app}@${digest}` },
      { op: 'replace', path: '/spec/containers/0/image', value: `${app}@${digest}` },
    ]);
  });

  it('denies an unsigned image, and an image signed by a key the policy does not trust, one line each', async () => {
    const { status, review: answer } = await postReview(server, tls.cert, '/mutate', pod(wrongKey, unsigned));
    expect(status).toBe(200);
    expect(answer.response).toEqual({
      uid: '0d5b7a4e-2f0c-4b8e-9a51-7c1e3f6b2a01',
      allowed: false,
      status: { code: 403, message: expect.any(String) },
    });
    const message = answer.response.status?.message as string;
    const [first, second] = message.split(`; ${unsigned}: `);
    expect(first).toMatch(
      new RegExp(`^${escapeRegExp(wrongKey)}: E_SIGNATURE: no signature of .* verifies: .*the bundle names another key`),
    );
    expect(second).toMatch(/^E_[A-Z]+: no signature for /);
    expect(message).not.toContain(`${app}:`);
    expect(answer.response.patch).toBeUndefined();
  });

  it('denies a tag the registry does not have', async () => {
    const missing = `${registry.host}/signet/app:no-such-tag`;
    const { review: answer } = await postReview(server, tls.cert, '/mutate', pod(app, missing));
    expect(answer.response).toMatchObject({ uid: '0d5b7a4e-2f0c-4b8e-9a51-7c1e3f6b2a01', allowed: false, status: { code: 403 } });
    expect(answer.response.status?.message).toBe(`${missing}: E_INPUT: ${missing} does not exist on ${registry.host}`);
  });

  it('pins a Deployment’s pod template', async () => {
    const { review: answer } = await postReview(server, tls.cert, '/mutate', review('deployment-create'));
    expect(answer.response).toMatchObject({ uid: '9a3c5e71-4b2d-4f6e-8c0a-2e4f6a8b0d13', allowed: true });
    expect(decodePatch(answer)).toEqual([{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: `${app}@${digest}` }]);
  });

  it('pins a CronJob’s pod template, leaving the image given by digest alone', async () => {
    const { review: answer } = await postReview(server, tls.cert, '/mutate', review('cronjob-create'));
    expect(answer.response).toMatchObject({ uid: 'c2e4a6b8-0d1f-4a3c-9e5b-7d9f1b3d5e24', allowed: true });
    expect(decodePatch(answer)).toEqual([
      { op: 'replace', path: '/spec/jobTemplate/spec/template/spec/containers/0/image', value: `${app}@${digest}` },
    ]);
  });

  it('checks the ephemeral container kubectl debug adds, and pins it', async () => {
    const { review: answer } = await postReview(server, tls.cert, '/mutate', review('pod-ephemeralcontainers'));
    expect(answer.response).toMatchObject({ uid: 'e4f6a8c0-2b3d-4c5e-8f7a-9b1d3f5a7c46', allowed: true });
    expect(decodePatch(answer)).toEqual([{ op: 'replace', path: '/spec/ephemeralContainers/0/image', value: `${app}@${digest}` }]);

    const { review: refused } = await postReview(
      server,
      tls.cert,
      '/mutate',
      review('pod-ephemeralcontainers', { 'signet/app:v1"': 'signet/unsigned:v1"' }),
    );
    expect(refused.response).toMatchObject({ uid: 'e4f6a8c0-2b3d-4c5e-8f7a-9b1d3f5a7c46', allowed: false, status: { code: 403 } });
    expect(refused.response.status?.message).toMatch(new RegExp(`^${escapeRegExp(unsigned)}: `));
  });

  it('pins a respelled reference in its canonical spelling, and answers another spelling of a verified digest from the cache', async () => {
    const port = registry.host.split(':')[1] as string;
    const canonical = `${registry.host}/signet/app@${digest}`;
    // A leading-zero port names the same registry; the patch writes the one spelling the rule was chosen by.
    const first = await postReview(server, tls.cert, '/mutate', pod(`127.0.0.1:0${port}/signet/app:v1`, canonical));
    expect(first.review.response.allowed).toBe(true);
    expect(decodePatch(first.review)).toEqual([{ op: 'replace', path: '/spec/initContainers/0/image', value: `${app}@${digest}` }]);
    const respelled = `127.0.0.1:00${port}/signet/app@${digest}`;
    const second = await postReview(server, tls.cert, '/mutate', pod(respelled, canonical));
    expect(decodePatch(second.review)).toEqual([{ op: 'replace', path: '/spec/initContainers/0/image', value: canonical }]);
    expect(logged[1]).toMatchObject({
      images: expect.arrayContaining([expect.objectContaining({ image: respelled, pinned: canonical, cached: true })]),
    });
  });

  it('checks and pins an image volume as it does a container image', async () => {
    const body = JSON.parse(review('pod-create', { 'signet/app:v1': `signet/app@${digest}` }));
    body.request.object.spec.volumes.push({ name: 'assets', image: { reference: app, pullPolicy: 'IfNotPresent' } });
    const { review: answer } = await postReview(server, tls.cert, '/mutate', JSON.stringify(body));
    expect(answer.response.allowed).toBe(true);
    expect(decodePatch(answer)).toEqual([{ op: 'replace', path: '/spec/volumes/1/image/reference', value: `${app}@${digest}` }]);

    body.request.object.spec.volumes[1].image.reference = unsigned;
    const { review: refused } = await postReview(server, tls.cert, '/validate', JSON.stringify(body));
    expect(refused.response).toMatchObject({ allowed: false, status: { code: 403 } });
    expect(refused.response.status?.message).toMatch(new RegExp(`^${escapeRegExp(unsigned)}: E_UNSIGNED: `));
  });

  it('on a Deployment UPDATE, checks only the images that changed', async () => {
    // The web container keeps signet/legacy:v0, which the registry does not even have.
    const { review: answer } = await postReview(server, tls.cert, '/mutate', review('deployment-update'));
    expect(answer.response).toMatchObject({ uid: 'a7c9e1b3-5d7f-4a9c-b1e3-5f7a9c1e3d79', allowed: true });
    expect(decodePatch(answer)).toEqual([{ op: 'replace', path: '/spec/template/spec/containers/1/image', value: `${app}@${digest}` }]);
  });

  describe('POST /validate', () => {
    it('admits signed images by tag without a patch', async () => {
      const { review: answer } = await postReview(server, tls.cert, '/validate', review('pod-create'));
      expect(answer.response).toEqual({ uid: '0d5b7a4e-2f0c-4b8e-9a51-7c1e3f6b2a01', allowed: true });
    });

    it('admits what /mutate pinned, from the cache of verified digests', async () => {
      await postReview(server, tls.cert, '/mutate', review('deployment-create'));
      const pinned = review('deployment-create', { 'signet/app:v1': `signet/app:v1@${digest}` });
      const { review: answer } = await postReview(server, tls.cert, '/validate', pinned);
      expect(answer.response).toEqual({ uid: '9a3c5e71-4b2d-4f6e-8c0a-2e4f6a8b0d13', allowed: true });
      expect(logged[1]).toMatchObject({ endpoint: 'validate', images: [{ image: `${app}@${digest}`, ok: true, cached: true }] });
    });

    it('denies a tag that does not resolve to a signed digest', async () => {
      const { review: answer } = await postReview(server, tls.cert, '/validate', pod(app, unsigned));
      expect(answer.response).toMatchObject({ uid: '0d5b7a4e-2f0c-4b8e-9a51-7c1e3f6b2a01', allowed: false, status: { code: 403 } });
      expect(answer.response.status?.message).toMatch(new RegExp(`^${escapeRegExp(unsigned)}: E_[A-Z]+: `));
      const { review: missing } = await postReview(server, tls.cert, '/validate', pod(app, `${registry.host}/signet/app:v2`));
      expect(missing.response).toMatchObject({ allowed: false, status: { code: 403 } });
    });
  });

  it('verifies a digest again every time with --cache-ttl 0', async () => {
    const { server: uncached, logged: lines } = await startServer({ cacheTtlMs: 0 });
    try {
      const pinned = review('deployment-create', { 'signet/app:v1': `signet/app:v1@${digest}` });
      for (let i = 0; i < 2; i++) {
        const { review: answer } = await postReview(uncached, tls.cert, '/validate', pinned);
        expect(answer.response.allowed).toBe(true);
      }
      expect(lines.map((line) => (line.images as { cached?: boolean }[])[0]?.cached)).toEqual([undefined, undefined]);
    } finally {
      await close(uncached);
    }
  });

  it('resolves a tag on every review, and answers the digest it names from the cache of verified digests', async () => {
    const { server: fresh, logged: lines } = await startServer();
    try {
      for (let i = 0; i < 2; i++) {
        const { review: answer } = await postReview(fresh, tls.cert, '/mutate', review('deployment-create'));
        expect(decodePatch(answer)).toEqual([{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: `${app}@${digest}` }]);
      }
      expect(lines.map((line) => (line.images as { image: string; pinned: string; cached?: boolean }[])[0])).toEqual([
        expect.objectContaining({ image: app, pinned: `${app}@${digest}`, cached: undefined }),
        expect.objectContaining({ image: app, pinned: `${app}@${digest}`, cached: true }),
      ]);
    } finally {
      await close(fresh);
    }
  });

  it('keeps at most cacheEntries verified digests, dropping the one least recently used', async () => {
    // Three more tags of the signed image: three cache entries (a tag is part of the key).
    const manifest = await fetch(`${registry.url}/v2/signet/app/manifests/v1`, {
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    const bytes = Buffer.from(await manifest.arrayBuffer());
    for (const tag of ['t1', 't2', 't3']) {
      const put = await fetch(`${registry.url}/v2/signet/app/manifests/${tag}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
        body: bytes,
      });
      expect(put.status).toBe(201);
    }
    const checker = new ImageChecker({ policy, trustedRoot, cacheEntries: 2 });
    const cached = async (tag: string) => {
      const verdict = await checker.check(`${registry.host}/signet/app:${tag}`, 5_000);
      expect(verdict).toMatchObject({ ok: true, pinned: `${registry.host}/signet/app:${tag}@${digest}` });
      return verdict.cached === true;
    };
    expect([await cached('t1'), await cached('t2'), await cached('t1')]).toEqual([false, false, true]);
    // t1 was used last: t3 takes t2's place.
    expect(await cached('t3')).toBe(false);
    expect([await cached('t1'), await cached('t3'), await cached('t2')]).toEqual([true, true, false]);
  });

  it('resolves a tag on every review: a tag moved to an unsigned image is denied', async () => {
    const moving = await push(registry, 'signet/moving', 'v1');
    await signImage(`${registry.host}/signet/moving@${moving.digest}`, release.signer);
    const first = await postReview(server, tls.cert, '/mutate', pod(moving.ref, moving.ref));
    expect(first.review.response.allowed).toBe(true);
    await push(registry, 'signet/moving', 'v1');
    const second = await postReview(server, tls.cert, '/mutate', pod(moving.ref, moving.ref));
    expect(second.review.response).toMatchObject({ allowed: false, status: { code: 403 } });
    // The digest that was verified still is.
    const pinned = `${moving.ref}@${moving.digest}`;
    expect((await postReview(server, tls.cert, '/validate', pod(pinned, pinned))).review.response.allowed).toBe(true);
  });
});

describe('a registry that does not answer', () => {
  let silent: net.Server;
  let host: string;
  const sockets = new Set<net.Socket>();
  /** Connections with a request on them still open (Node's fetch may also hold an idle one for a while), and requests received. */
  const waiting = new Set<net.Socket>();
  let requests = 0;

  beforeAll(async () => {
    // Accepts connections and never answers: a registry that hangs.
    silent = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('data', () => {
        requests++;
        waiting.add(socket);
      });
      socket.on('close', () => waiting.delete(socket));
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    host = `127.0.0.1:${(silent.address() as net.AddressInfo).port}`;
  });

  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  });

  it('denies an image not verified within the verify timeout, as timed out', async () => {
    const { server } = await startServer({ verifyTimeoutMs: 300 });
    try {
      const started = Date.now();
      const { review: answer } = await postReview(server, tls.cert, '/mutate', fixture('deployment-create', { [FIXTURE_REGISTRY]: host }));
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(answer.response).toEqual({
        uid: '9a3c5e71-4b2d-4f6e-8c0a-2e4f6a8b0d13',
        allowed: false,
        status: {
          code: 403,
          message: `${host}/signet/app:v1: E_PROVIDER: timed out: not verified within 300 ms (the registry or the key provider was too slow)`,
        },
      });
    } finally {
      await close(server);
    }
  });

  it('stops asking it once the review is answered as timed out: no connection left open, no retry', async () => {
    // The registry client would wait 30 s for an answer, and retry: the review's deadline stops it.
    const { server } = await startServer({ verifyTimeoutMs: 300, client: new RegistryClient({ timeoutMs: 30_000 }) });
    try {
      const before = requests;
      const { review: answer } = await postReview(server, tls.cert, '/mutate', fixture('deployment-create', { [FIXTURE_REGISTRY]: host }));
      expect(answer.response.status?.message).toContain('timed out: not verified within 300 ms');
      expect(requests).toBeGreaterThan(before);
      await sleep(300);
      expect(waiting.size).toBe(0);
      const sent = requests;
      await sleep(1_500);
      expect(requests).toBe(sent);
    } finally {
      await close(server);
    }
  });

  it('answers within the API server’s ?timeout= when that is shorter', async () => {
    const { server } = await startServer({ verifyTimeoutMs: 30_000 });
    try {
      const started = Date.now();
      const { review: answer } = await postReview(
        server,
        tls.cert,
        '/validate?timeout=1s',
        fixture('deployment-create', { [FIXTURE_REGISTRY]: host }),
      );
      expect(Date.now() - started).toBeLessThan(1_000);
      expect(answer.response.status?.message).toContain('timed out: not verified within 500 ms');
    } finally {
      await close(server);
    }
  });
});

describeWithRegistryTools(
  'a slow registry',
  () => {
    let registry: RunningReferrersRegistry;
    let image: string;

    beforeAll(async () => {
      registry = await startReferrersRegistry();
      const pushed = await push(registry, 'signet/app', 'v1');
      image = `${registry.host}/signet/app@${pushed.digest}`;
      await signImage(image, release.signer);
    });

    afterAll(() => registry.stop());

    it('goes on verifying a digest for a review that still waits when another gave up on it', async () => {
      const { server, logged } = await startServer({ verifyTimeoutMs: 5_000 });
      try {
        // Every read of the image's manifest takes 1.5 s: longer than the first review waits.
        registry.faults.add({ fault: { kind: 'latency', ms: 1_500 }, operation: 'manifest.get', times: Number.POSITIVE_INFINITY });
        const reads = () => registry.calls('manifest.get').filter((call) => call.path.endsWith(image.split('@')[1] as string)).length;
        const before = reads();
        const body = fixture('deployment-create', {
          [FIXTURE_REGISTRY]: registry.host,
          'signet/app:v1': image.slice(registry.host.length + 1),
        });
        const impatient = postReview(server, tls.cert, '/validate?timeout=1s', body);
        await sleep(100);
        const patient = postReview(server, tls.cert, '/validate', body);
        expect((await impatient).review.response.status?.message).toContain('timed out: not verified within 500 ms');
        expect((await patient).review.response).toMatchObject({ allowed: true });
        // One verification, shared: the manifest was read once.
        expect(reads() - before).toBe(1);
        expect(logged).toHaveLength(2);
      } finally {
        registry.faults.clear();
        await close(server);
      }
    });
  },
  { requires: ['skopeo'] },
);

describeWithRegistryTools(
  'a private registry',
  () => {
    let registry: RunningRegistry;
    const saved = process.env.DOCKER_CONFIG;

    beforeAll(async () => {
      registry = await startReferrersRegistry({ auth: 'bearer' });
    });

    afterAll(async () => {
      if (saved === undefined) delete process.env.DOCKER_CONFIG;
      else process.env.DOCKER_CONFIG = saved;
      await registry.stop();
    });

    it('is read with the credentials of the Docker config, as the Deployment mounts it', async () => {
      const { username, password } = registry.credentials as { username: string; password: string };
      const dockerConfig = fs.mkdtempSync(path.join(dir, 'docker-'));
      const auth = Buffer.from(`${username}:${password}`).toString('base64');
      fs.writeFileSync(path.join(dockerConfig, 'config.json'), JSON.stringify({ auths: { [registry.host]: { auth } } }));
      process.env.DOCKER_CONFIG = dockerConfig;

      const pushed = await push(registry, 'signet/app', 'v1');
      await signImage(`${registry.host}/signet/app@${pushed.digest}`, release.signer);
      const { server, logged } = await startServer();
      try {
        const { review: answer } = await postReview(
          server,
          tls.cert,
          '/mutate',
          fixture('deployment-create', { [FIXTURE_REGISTRY]: registry.host }),
        );
        expect(answer.response).toMatchObject({ uid: '9a3c5e71-4b2d-4f6e-8c0a-2e4f6a8b0d13', allowed: true });
        expect(decodePatch(answer)).toEqual([
          { op: 'replace', path: '/spec/template/spec/containers/0/image', value: `${pushed.ref}@${pushed.digest}` },
        ]);
        expect(JSON.stringify(logged)).not.toContain(password);
        expect(JSON.stringify(logged)).not.toContain(auth);
      } finally {
        await close(server);
      }
    });
  },
  { requires: ['skopeo'] },
);

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
