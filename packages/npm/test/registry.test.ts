// RegistryClient's network rules: where a package document may send it, what it reads, and
// where the registry token goes.
import { endlessBody, type LocalServer, serveHttp } from '@signet/test-support';
import { RegistryClient } from '../src';

const servers: LocalServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function server(handler: Parameters<typeof serveHttp>[0]): Promise<LocalServer> {
  const started = await serveHttp(handler);
  servers.push(started);
  return started;
}

const BUNDLE = JSON.stringify({ mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json' });

describe('RegistryClient.signetBundle', () => {
  it("reads a bundle from the registry's own host", async () => {
    const registry = await server((_request, response) => response.end(BUNDLE));
    const client = new RegistryClient({ registry: registry.url });
    await expect(client.signetBundle(`${registry.url}/bundles/pkg-1.0.0.tgz.sigstore.json`)).resolves.toBe(BUNDLE);
  });

  it('refuses a bundle URL on another host unless bundleHosts names it', async () => {
    const registry = await server((_request, response) => response.end('{}'));
    const elsewhere = await server((_request, response) => response.end(BUNDLE));
    // localhost is another host name than the registry's 127.0.0.1.
    const url = `http://localhost:${elsewhere.port}/pkg.sigstore.json`;
    const refused = new RegistryClient({ registry: registry.url });
    await expect(refused.signetBundle(url)).rejects.toMatchObject({
      code: 'E_BUNDLE',
      message: expect.stringContaining('a host it may not use'),
    });
    expect(elsewhere.requests).toHaveLength(0);
    const allowed = new RegistryClient({ registry: registry.url, bundleHosts: [`localhost:${elsewhere.port}`] });
    await expect(allowed.signetBundle(url)).resolves.toBe(BUNDLE);
    const otherPort = new RegistryClient({ registry: registry.url, bundleHosts: ['localhost:1'] });
    await expect(otherPort.signetBundle(url)).rejects.toMatchObject({ code: 'E_BUNDLE' });
  });

  it('refuses a redirect from the registry to a host the list does not name', async () => {
    const elsewhere = await server((_request, response) => response.end(BUNDLE));
    const registry = await server((_request, response) => {
      response.writeHead(302, { location: `http://localhost:${elsewhere.port}/pkg.sigstore.json` });
      response.end();
    });
    await expect(new RegistryClient({ registry: registry.url }).signetBundle(`${registry.url}/b.json`)).rejects.toMatchObject({
      code: 'E_BUNDLE',
    });
    expect(elsewhere.requests).toHaveLength(0);
  });

  it('stops reading an endless bundle at 4 MiB', async () => {
    const registry = await server((_request, response) => endlessBody(response));
    const started = Date.now();
    await expect(new RegistryClient({ registry: registry.url }).signetBundle(`${registry.url}/b.json`)).rejects.toMatchObject({
      code: 'E_INPUT',
      message: expect.stringContaining('over the 4 MiB Signet reads'),
    });
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('reports a bundle that is not JSON as E_BUNDLE without echoing it; 404 is no bundle', async () => {
    const registry = await server((request, response) => {
      if (request.url === '/missing.json') return response.writeHead(404).end();
      response.end('<html>s3cret session page</html>');
    });
    const client = new RegistryClient({ registry: registry.url });
    const error = await client.signetBundle(`${registry.url}/b.json`).catch((e: Error) => e);
    expect(error).toMatchObject({ code: 'E_BUNDLE', message: `the Signet bundle at ${registry.url}/b.json is not JSON` });
    expect((error as Error).message).not.toContain('s3cret');
    await expect(client.signetBundle(`${registry.url}/missing.json`)).resolves.toBeUndefined();
  });
});

describe('RegistryClient', () => {
  it('sends the token to the registry only, not to a tarball host elsewhere', async () => {
    const cdn = await server((_request, response) => response.end('tarball'));
    const registry = await server((_request, response) => response.end('{"keys":[]}'));
    const client = new RegistryClient({ registry: registry.url, token: 'npm_s3cret' });
    await client.registryKeys();
    await client.tarball(`http://localhost:${cdn.port}/pkg.tgz`);
    expect(registry.requests[0]?.headers.authorization).toBe('Bearer npm_s3cret');
    expect(cdn.requests[0]?.headers.authorization).toBeUndefined();
  });

  it('refuses a tarball URL the package document points at cloud metadata', async () => {
    const registry = await server((_request, response) => response.end('{}'));
    await expect(new RegistryClient({ registry: registry.url }).tarball('http://169.254.169.254/latest/meta-data/')).rejects.toMatchObject({
      code: 'E_PROVIDER',
    });
  });

  it('reports a package document that is not JSON as a provider failure, naming the package', async () => {
    const registry = await server((_request, response) => response.end('<html>maintenance</html>'));
    await expect(new RegistryClient({ registry: registry.url }).packument('left-pad')).rejects.toMatchObject({
      code: 'E_PROVIDER',
      message: `left-pad's package document from ${registry.url}/ is not JSON`,
    });
  });
});
