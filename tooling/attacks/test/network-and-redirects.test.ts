// Redirects, hosts, plain HTTP, unbounded and echoed bodies. Every server here is on
// 127.0.0.1; the "cloud metadata service" is a local server reached through an IPv4-mapped
// IPv6 spelling of loopback ([::ffff:127.0.0.1]), the disguise that slipped past host checks
// made on the first URL only. Each attack asserts the refusal, its code, and that the
// forbidden server saw nothing.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { RegistryClient } from '@signet/npm';
import {
  endlessBody,
  generateKey,
  type LocalServer,
  serveHttp,
  signetAsync,
  singleErrorLine,
  useTempDir,
  vectorsDir,
} from '@signet/test-support';

const LOOPBACK_ONLY = path.join(__dirname, 'support/loopback-only.js');
const tmp = useTempDir();
const servers: LocalServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function server(handler: Parameters<typeof serveHttp>[0]): Promise<LocalServer> {
  const started = await serveHttp(handler);
  servers.push(started);
  return started;
}

/** A stand-in for 169.254.169.254: whatever reaches it has been led somewhere it must never go. */
async function metadataService(): Promise<{ server: LocalServer; disguised: (pathname: string) => string }> {
  const metadata = await server((_request, response) => response.end('{"AccessKeyId":"ASIA-LEAKED","Token":"s3cret"}'));
  return { server: metadata, disguised: (pathname) => `http://[::ffff:127.0.0.1]:${metadata.port}${pathname}` };
}

function redirectingTo(location: string): Parameters<typeof serveHttp>[0] {
  return (_request, response) => {
    response.writeHead(302, { location });
    response.end();
  };
}

describe('OCI registries', () => {
  it('a registry redirecting to cloud metadata: refused on the hop, exit 3, nothing reaches it', async () => {
    const metadata = await metadataService();
    const registry = await server(redirectingTo(metadata.disguised('/latest/meta-data/iam/security-credentials/')));
    const dir = tmp();
    const { pub } = generateKey(dir, 'release');
    const image = `127.0.0.1:${registry.port}/shop@sha256:${'a'.repeat(64)}`;
    const result = await signetAsync(['image', 'verify', image, '--key', pub], { cwd: dir });
    expect(result.status).toBe(3);
    const error = singleErrorLine(result.stderr);
    expect(error.code).toBe('E_PROVIDER');
    expect(error.message).toContain('redirected to http://[::ffff:7f00:1]');
    expect(metadata.server.requests).toEqual([]);
    expect(result.stderr).not.toContain('s3cret');
  });

  it('--allow-http-registry allows plain HTTP to the registry named, not to a host it redirects to', async () => {
    const registry = await server(redirectingTo('http://blobs.example/shop/manifest'));
    const dir = tmp();
    const { pub } = generateKey(dir, 'release');
    const image = `127.0.0.1:${registry.port}/shop@sha256:${'a'.repeat(64)}`;
    const result = await signetAsync(['image', 'verify', image, '--key', pub, '--allow-http-registry'], {
      cwd: dir,
      nodeArgs: ['-r', LOOPBACK_ONLY],
    });
    expect(result.status).toBe(3);
    const error = singleErrorLine(result.stderr);
    expect(error.code).toBe('E_PROVIDER');
    expect(error.message).toContain('redirected to http://blobs.example/shop/manifest over plain HTTP, which is not allowed for it');
  });

  it('a token service answering HTML: E_PROVIDER with exit 3 in one line, the page never echoed', async () => {
    const registry = await server((request, response) => {
      if (request.url?.startsWith('/token')) {
        response.writeHead(200, { 'content-type': 'text/html' });
        return response.end('<html><body>Gateway login for s3cret-tenant</body></html>');
      }
      response.writeHead(401, { 'www-authenticate': `Bearer realm="http://127.0.0.1:${registry.port}/token",service="hostile"` });
      response.end();
    });
    const dir = tmp();
    const { pub } = generateKey(dir, 'release');
    const result = await signetAsync(['image', 'verify', `127.0.0.1:${registry.port}/shop:1.0`, '--key', pub], { cwd: dir });
    expect(result.status).toBe(3);
    expect(singleErrorLine(result.stderr)).toEqual({
      code: 'E_PROVIDER',
      message: `127.0.0.1:${registry.port}'s token response is not JSON`,
    });
    expect(result.stderr).not.toContain('s3cret');
  });
});

/** A registry serving one release of `victim` whose package.json names `bundle` as its signet.bundle. */
async function npmRegistry(bundle: (registryUrl: string) => string, extra?: Parameters<typeof serveHttp>[0]): Promise<LocalServer> {
  const tarball = Buffer.from('not really a tarball, but its integrity is right');
  const integrity = `sha512-${crypto.createHash('sha512').update(tarball).digest('base64')}`;
  const registry: LocalServer = await server((request, response) => {
    if (request.url === '/victim') {
      response.writeHead(200, { 'content-type': 'application/json' });
      return response.end(
        JSON.stringify({
          name: 'victim',
          'dist-tags': { latest: '1.0.0' },
          versions: {
            '1.0.0': {
              name: 'victim',
              version: '1.0.0',
              dist: { tarball: `${registry.url}/victim-1.0.0.tgz`, integrity },
              signet: { bundle: bundle(registry.url) },
            },
          },
        }),
      );
    }
    if (request.url === '/victim-1.0.0.tgz') return response.end(tarball);
    if (extra) return extra(request, response);
    response.writeHead(404).end();
  });
  return registry;
}

describe('npm: where signet.bundle may point, and how much of it is read', () => {
  function verify(registry: LocalServer, dir: string) {
    const { pub } = generateKey(dir, 'maintainer');
    return signetAsync(['npm', 'verify', 'victim@1.0.0', '--registry', `${registry.url}/`, '--key', pub], { cwd: dir });
  }

  it('a bundle URL on a host that is neither the registry nor allowed is never fetched', async () => {
    const elsewhere = await server((_request, response) => response.end('{}'));
    // localhost is another host than the registry's 127.0.0.1.
    const registry = await npmRegistry(() => `http://localhost:${elsewhere.port}/{filename}.sigstore.json`);
    const result = await verify(registry, tmp());
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('a host it may not use');
    expect(elsewhere.requests).toEqual([]);
  });

  it('a bundle URL leading to cloud metadata is never followed', async () => {
    const metadata = await metadataService();
    const registry = await npmRegistry(() => metadata.disguised('/latest/meta-data/'));
    const result = await verify(registry, tmp());
    expect(result.status).toBe(1);
    expect(metadata.server.requests).toEqual([]);
    expect(result.stderr).not.toContain('s3cret');
  });

  it('an endless bundle is cut off, not read until memory runs out', async () => {
    const registry = await npmRegistry(
      (url) => `${url}/bundles/{filename}.sigstore.json`,
      (_request, response) => endlessBody(response),
    );
    const started = Date.now();
    const result = await verify(registry, tmp());
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/is more than \d+ MiB, over the \d+ MiB Signet reads; refusing to download it/);
    expect(Date.now() - started).toBeLessThan(20_000);
  }, 30_000);

  it('a bundle that is not JSON is E_BUNDLE, its body never echoed', async () => {
    const registry = await npmRegistry(
      (url) => `${url}/b.json`,
      (_request, response) => response.end('<html>session=s3cret</html>'),
    );
    const client = new RegistryClient({ registry: `${registry.url}/` });
    const error = await client.signetBundle(`${registry.url}/b.json`).catch((e: Error) => e);
    expect(error).toMatchObject({ code: 'E_BUNDLE', message: `the Signet bundle at ${registry.url}/b.json is not JSON` });
    expect((error as Error).message).not.toContain('s3cret');
  });
});

const vectors = vectorsDir();
(vectors ? describe : describe.skip)('TUF', () => {
  it('a mirror redirecting to cloud metadata: refused on the hop, exit 3', async () => {
    const metadata = await metadataService();
    const mirror = await server(redirectingTo(metadata.disguised('/computeMetadata/v1/')));
    const dir = tmp();
    fs.copyFileSync(path.join(vectors as string, 'public-good/tuf-root.json'), path.join(dir, 'tuf-root.json'));
    const suite = path.join(vectors as string, 'sigstore-conformance-assets/bundle-verify');
    const result = await signetAsync(
      [
        'verify',
        path.join(suite, 'a.txt'),
        '--bundle',
        path.join(suite, 'happy-path-v0.3/bundle.sigstore.json'),
        '--certificate-identity-regexp',
        '.*',
        '--certificate-oidc-issuer-regexp',
        '.*',
        '--tuf-mirror',
        mirror.url,
        '--tuf-root',
        'tuf-root.json',
      ],
      { cwd: dir, env: { XDG_CACHE_HOME: path.join(dir, 'cache') } },
    );
    expect(result.status).toBe(3);
    const error = singleErrorLine(result.stderr);
    expect(error.code).toBe('E_PROVIDER');
    expect(error.message).toContain('loopback, link-local or metadata address');
    expect(mirror.requests.length).toBeGreaterThan(0);
    expect(metadata.server.requests).toEqual([]);
  });
});

describe('the Sigstore services', () => {
  it('a Rekor redirecting to cloud metadata: refused on the hop, exit 3, no bundle written', async () => {
    const metadata = await metadataService();
    const rekor = await server(redirectingTo(metadata.disguised('/latest/meta-data/iam/security-credentials/')));
    const dir = tmp();
    const { key } = generateKey(dir, 'release');
    fs.writeFileSync(path.join(dir, 'app.txt'), 'release');
    const result = await signetAsync(['sign', 'app.txt', '--key', key, '--tlog-upload', '--rekor-url', rekor.url], {
      cwd: dir,
      nodeArgs: ['-r', LOOPBACK_ONLY],
    });
    expect(result.status).toBe(3);
    const error = singleErrorLine(result.stderr);
    expect(error.code).toBe('E_PROVIDER');
    expect(error.message).toContain(`Rekor (${rekor.url}/api/v1/log/entries) redirected to http://[::ffff:7f00:1]`);
    expect(metadata.server.requests).toEqual([]);
    expect(fs.existsSync(path.join(dir, 'app.txt.sigstore.json'))).toBe(false);
  });
});

describe('the GitHub Actions OIDC token endpoint', () => {
  it('redirecting to cloud metadata: the runner token goes nowhere, exit 3, and is never printed', async () => {
    const metadata = await metadataService();
    const runner = await server(redirectingTo(metadata.disguised('/computeMetadata/v1/instance/service-accounts/default/token')));
    const dir = tmp();
    fs.writeFileSync(path.join(dir, 'app.txt'), 'release');
    const result = await signetAsync(
      ['sign', 'app.txt', '--key', 'keyless', '--fulcio-url', 'http://127.0.0.1:9', '--rekor-url', 'http://127.0.0.1:9'],
      {
        cwd: dir,
        env: { ACTIONS_ID_TOKEN_REQUEST_URL: `${runner.url}/token`, ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'runner-s3cret' },
        nodeArgs: ['-r', LOOPBACK_ONLY],
      },
    );
    expect(result.status).toBe(3);
    const error = singleErrorLine(result.stderr);
    expect(error.code).toBe('E_PROVIDER');
    expect(error.message).toContain("GitHub Actions' OIDC token endpoint");
    expect(error.message).toContain('loopback, link-local or metadata address');
    expect(runner.requests.map((r) => r.headers.authorization)).toEqual(['Bearer runner-s3cret']);
    expect(metadata.server.requests).toEqual([]);
    expect(result.stderr).not.toContain('runner-s3cret');
    expect(fs.existsSync(path.join(dir, 'app.txt.sigstore.json'))).toBe(false);
  });
});
