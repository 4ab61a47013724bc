// The distribution-spec client against the OCI 1.1 fixture: Bearer tokens, retries on what is
// transient, pagination, chunked uploads and the caps on what it downloads.
import http from 'node:http';
import zlib from 'node:zlib';
import { describeWithRegistryTools, FaultPlan, startReferrersRegistry } from '@signet/emulators/oci-registry';
import { environmentCredentials, parseImageReference, RegistryClient, signImage, verifyImage } from '../src';
import { attachBundle } from '../src/sign-image';
import { keyPair, pushedImage } from './helpers';

async function failure(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  return promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: { code: string; message: string }) => ({ code: error.code, message: error.message }),
  );
}

describeWithRegistryTools(
  'RegistryClient',
  () => {
    it('gets Bearer tokens from the realm with the credentials, and refuses a push with a pull-only token', async () => {
      const registry = await startReferrersRegistry({ auth: 'bearer', anonymousPull: true });
      try {
        const { username, password } = registry.credentials as { username: string; password: string };
        const { byDigest } = await pushedImage(registry);
        const { signer, policy } = keyPair();
        const anonymous = new RegistryClient({ credentials: async () => undefined });
        expect(await failure(signImage(byDigest, signer, { client: anonymous }))).toMatchObject({
          code: 'E_PERMISSION',
          message: expect.stringMatching(/could not start an upload to .* answered 401: UNAUTHORIZED insufficient scope.*docker login/),
        });
        const client = new RegistryClient({ credentials: async () => ({ username, password }) });
        await signImage(byDigest, signer, { client });
        // Anonymous pull is allowed here: verifying needs no credentials.
        expect((await verifyImage(byDigest, policy, { client: anonymous })).signatures).toHaveLength(1);
        const tokens = registry.requests.filter((r) => r.path.startsWith('/token'));
        expect(tokens.some((r) => r.path.includes(encodeURIComponent('repository:')) || r.path.includes('scope=repository'))).toBe(true);
        const wrong = new RegistryClient({ credentials: async () => ({ username, password: 'not-it' }) });
        const refused = await failure(signImage(byDigest, signer, { client: wrong }));
        expect(refused.code).toBe('E_PERMISSION');
        expect(refused.message).not.toContain('not-it');
      } finally {
        await registry.stop();
      }
    });

    it('retries 429 (honouring Retry-After) and 5xx, and gives up with E_PROVIDER', async () => {
      const faults = new FaultPlan();
      const registry = await startReferrersRegistry({ faults });
      try {
        const { byDigest } = await pushedImage(registry);
        const { signer, policy } = keyPair();
        const client = new RegistryClient();
        faults.add({ fault: { kind: 'throttle', retryAfterSeconds: 1 }, operation: 'manifest.get' });
        faults.add({ fault: { kind: 'status', status: 503 }, operation: 'blob.upload', times: 2 });
        const started = Date.now();
        await signImage(byDigest, signer, { client });
        expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
        expect(registry.requests.filter((r) => r.status === 429 || r.status === 503)).toHaveLength(3);
        faults.add({ fault: { kind: 'status', status: 502 }, operation: 'manifest.get', times: Number.POSITIVE_INFINITY });
        const down = await failure(verifyImage(byDigest, policy, { client: new RegistryClient({ attempts: 3 }) }));
        expect(down).toMatchObject({ code: 'E_PROVIDER', message: expect.stringContaining('answered 502') });
        faults.clear();
      } finally {
        await registry.stop();
      }
    });

    it('follows the referrers pages, and uploads a large blob in chunks', async () => {
      const registry = await startReferrersRegistry({ referrersPageSize: 2 });
      try {
        const { byDigest } = await pushedImage(registry);
        const signers = Array.from({ length: 5 }, (_, i) => keyPair(`k${i}`));
        for (const { signer } of signers) await signImage(byDigest, signer, { client: new RegistryClient() });
        const client = new RegistryClient();
        const ref = parseImageReference(byDigest);
        expect(await client.referrers(ref, ref.digest as string)).toHaveLength(5);
        expect(registry.requests.filter((r) => r.method === 'GET' && r.path.includes('/referrers/')).slice(-3)).toHaveLength(3);
        for (const { policy } of signers) expect((await verifyImage(byDigest, policy, { client })).signatures).toHaveLength(1);

        const large = Buffer.alloc(20 * 1024 * 1024, 7);
        const digest = await client.pushBlob(ref, large);
        expect(registry.requests.filter((r) => r.method === 'PATCH').length).toBeGreaterThanOrEqual(2);
        const roomy = new RegistryClient({ maxBlobBytes: 32 * 1024 * 1024 });
        expect((await roomy.blob(ref, digest, 'the large blob')).equals(large)).toBe(true);
      } finally {
        await registry.stop();
      }
    });

    it('refuses to download a "signature" larger than a signature could be', async () => {
      const registry = await startReferrersRegistry();
      try {
        const { byDigest, image, repo } = await pushedImage(registry);
        const client = new RegistryClient();
        // A referrer whose bundle layer is 20 MiB: never read, reported as what it is.
        await attachBundle(
          client,
          { registry: registry.host, repository: repo },
          image,
          { padding: 'x'.repeat(20 * 1024 * 1024) },
          'https://sigstore.dev/cosign/sign/v1',
        );
        // Something claimed to sign the image and nothing verifies: exit 1, saying why.
        const refused = await failure(verifyImage(byDigest, keyPair().policy, { client }));
        expect(refused.code).toBe('E_SIGNATURE');
        expect(refused.message).toMatch(/is 20(\.0)? MiB, over the 16 MiB Signet reads; refusing to download it/);
      } finally {
        await registry.stop();
      }
    });
  },
  { requires: ['skopeo'] },
);

/** A registry that misbehaves on purpose, answering each request with `answer`; records what it was sent. */
async function hostileRegistry(answer: (request: http.IncomingMessage, response: http.ServerResponse, port: number) => void) {
  const seen: { url: string; authorization?: string }[] = [];
  const server = http.createServer((request, response) => {
    seen.push({ url: request.url ?? '', authorization: request.headers.authorization });
    answer(request, response, (server.address() as { port: number }).port);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return { host: `127.0.0.1:${port}`, port, seen, close: () => new Promise((resolve) => server.close(resolve)) };
}

describe('RegistryClient against a hostile registry', () => {
  const digest = `sha256:${'b'.repeat(64)}`;

  it('counts a gzip body as it inflates: a small download cannot become a large manifest', async () => {
    const bomb = zlib.gzipSync(Buffer.alloc(64 * 1024 * 1024, 0x20));
    const registry = await hostileRegistry((_request, response) => {
      response.writeHead(200, {
        'content-type': 'application/vnd.oci.image.manifest.v1+json',
        'content-encoding': 'gzip',
        'content-length': bomb.length,
      });
      response.end(bomb);
    });
    try {
      const refused = await failure(new RegistryClient().manifest({ registry: registry.host, repository: 'shop' }, 'v1'));
      expect(refused).toMatchObject({ code: 'E_INPUT', message: expect.stringContaining('over the 4 MiB Signet reads') });
    } finally {
      await registry.close();
    }
  });

  it('sends credentials only to the registry itself, never to a host its links name', async () => {
    const elsewhere = await hostileRegistry((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/vnd.oci.image.index.v1+json' });
      response.end(JSON.stringify({ schemaVersion: 2, manifests: [] }));
    });
    const registry = await hostileRegistry((request, response) => {
      if (!request.headers.authorization) {
        response.writeHead(401, { 'www-authenticate': 'Basic realm="hostile"' });
        return response.end();
      }
      response.writeHead(200, {
        'content-type': 'application/vnd.oci.image.index.v1+json',
        link: `<http://localhost:${elsewhere.port}/v2/shop/referrers/${digest}?page=2>; rel="next"`,
      });
      response.end(JSON.stringify({ schemaVersion: 2, manifests: [] }));
    });
    try {
      const client = new RegistryClient({ credentials: async () => ({ username: 'ci', password: 'secret' }) });
      expect(await client.referrers({ registry: registry.host, repository: 'shop' }, digest)).toEqual([]);
      expect(registry.seen.at(-1)?.authorization).toMatch(/^Basic /);
      expect(elsewhere.seen).toEqual([{ url: expect.stringContaining('page=2'), authorization: undefined }]);
    } finally {
      await Promise.all([registry.close(), elsewhere.close()]);
    }
  });

  it('refuses to follow a registry to plain HTTP on another host', async () => {
    const registry = await hostileRegistry((request, response) => {
      if (request.method === 'HEAD') {
        response.writeHead(404);
        return response.end();
      }
      response.writeHead(202, { location: 'http://uploads.example.com/shop/blobs/uploads/1' });
      response.end();
    });
    try {
      const refused = await failure(new RegistryClient().pushBlob({ registry: registry.host, repository: 'shop' }, Buffer.from('{}')));
      expect(refused).toMatchObject({
        code: 'E_PROVIDER',
        message: expect.stringContaining('sent Signet to http://uploads.example.com, which is not HTTPS'),
      });
    } finally {
      await registry.close();
    }
  });

  it('refuses a redirect to an IPv4-mapped address (cloud metadata in disguise), and never reaches it', async () => {
    const metadata = await hostileRegistry((_request, response) => response.end('{"AccessKeyId":"AKIA"}'));
    const registry = await hostileRegistry((_request, response) => {
      response.writeHead(302, { location: `http://[::ffff:127.0.0.1]:${metadata.port}/latest/meta-data/iam/` });
      response.end();
    });
    try {
      const refused = await failure(new RegistryClient().manifest({ registry: registry.host, repository: 'shop' }, digest));
      expect(refused).toMatchObject({ code: 'E_PROVIDER', message: expect.stringContaining('redirected to http://[::ffff:7f00:1]') });
      expect(metadata.seen).toEqual([]);
    } finally {
      await Promise.all([registry.close(), metadata.close()]);
    }
  });

  it('drops the registry credentials on a redirect to another origin', async () => {
    const storage = await hostileRegistry((_request, response) => response.end('{}'));
    const registry = await hostileRegistry((request, response) => {
      if (!request.headers.authorization) {
        response.writeHead(401, { 'www-authenticate': 'Basic realm="hostile"' });
        return response.end();
      }
      response.writeHead(307, { location: `http://127.0.0.1:${storage.port}/blob` });
      response.end();
    });
    try {
      const client = new RegistryClient({ credentials: async () => ({ username: 'ci', password: 'secret' }) });
      await failure(client.blob({ registry: registry.host, repository: 'shop' }, digest));
      expect(registry.seen.at(-1)?.authorization).toMatch(/^Basic /);
      expect(storage.seen).toEqual([{ url: '/blob', authorization: undefined }]);
    } finally {
      await Promise.all([registry.close(), storage.close()]);
    }
  });

  it('reports a token service that answers something other than JSON as a provider failure, without echoing it', async () => {
    const registry = await hostileRegistry((request, response, port) => {
      if (request.url?.startsWith('/token')) {
        response.writeHead(200, { 'content-type': 'text/html' });
        return response.end('<html>upstream s3cret error page</html>');
      }
      response.writeHead(401, { 'www-authenticate': `Bearer realm="http://127.0.0.1:${port}/token",service="hostile"` });
      response.end();
    });
    try {
      const refused = await failure(
        new RegistryClient({ credentials: async () => undefined }).manifest({ registry: registry.host, repository: 'shop' }, 'v1'),
      );
      expect(refused).toEqual({ code: 'E_PROVIDER', message: `${registry.host}'s token response is not JSON` });
    } finally {
      await registry.close();
    }
  });

  it('stops requesting and retrying once the signal of withSignal aborts; the client itself goes on', async () => {
    // The first request hangs, every later one is a 503: retried, unless nobody waits any more.
    let answered = 0;
    const registry = await hostileRegistry((request, response) => {
      if (request.url?.includes('/manifests/hang')) return;
      answered++;
      if (request.url?.includes('/manifests/gone')) {
        response.writeHead(404, { 'content-type': 'application/json' });
        return response.end('{"errors":[{"code":"MANIFEST_UNKNOWN"}]}');
      }
      response.writeHead(503);
      response.end();
    });
    const repo = { registry: registry.host, repository: 'shop' };
    try {
      const client = new RegistryClient({ attempts: 20, timeoutMs: 30_000 });
      const waiting = new AbortController();
      const started = Date.now();
      const hung = failure(client.withSignal(waiting.signal).manifest(repo, 'hang'));
      setTimeout(() => waiting.abort(), 200);
      expect(await hung).toEqual({
        code: 'E_PROVIDER',
        message: `could not read the manifest ${registry.host}/shop:hang: stopped, nobody waits for the answer any more`,
      });
      expect(Date.now() - started).toBeLessThan(5_000);

      const retrying = new AbortController();
      const retried = failure(client.withSignal(retrying.signal).manifest(repo, 'flaky'));
      await new Promise((resolve) => setTimeout(resolve, 500));
      retrying.abort();
      expect((await retried).message).toContain('stopped, nobody waits for the answer any more');
      // A request already on the wire when the signal aborted can still reach the registry after
      // the promise settled (seen on a loaded machine): let it land, then count; none may follow.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const attempts = answered;
      expect(attempts).toBeGreaterThanOrEqual(2);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(answered).toBe(attempts);

      // The client without a signal, and a bound one already aborted, are unaffected by each other.
      expect(await client.manifest(repo, 'gone')).toBeUndefined();
      expect(await failure(client.withSignal(AbortSignal.abort()).manifest(repo, 'gone'))).toMatchObject({ code: 'E_PROVIDER' });
      expect(answered).toBe(attempts + 1);
    } finally {
      await registry.close();
    }
  });

  it('takes environment credentials only for the registry SIGNET_REGISTRY_HOST names', async () => {
    const env = { SIGNET_REGISTRY_USERNAME: 'ci', SIGNET_REGISTRY_PASSWORD: 'secret', DOCKER_CONFIG: '/nonexistent' };
    await expect(environmentCredentials(env)('ghcr.io')).rejects.toMatchObject({ code: 'E_USAGE' });
    const scoped = environmentCredentials({ ...env, SIGNET_REGISTRY_HOST: 'registry.internal' });
    expect(await scoped('registry.internal')).toEqual({ username: 'ci', password: 'secret' });
    expect(await scoped('ghcr.io')).toBeUndefined();
  });
});
