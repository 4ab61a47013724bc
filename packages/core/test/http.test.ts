import dns from 'node:dns/promises';
import zlib from 'node:zlib';
import { endlessBody, type LocalServer, serveHttp } from '@signet/test-support';
import { httpRequest, isLoopbackUrl, readJson } from '../src';

const servers: LocalServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function server(handler: Parameters<typeof serveHttp>[0]): Promise<LocalServer> {
  const started = await serveHttp(handler);
  servers.push(started);
  return started;
}

function redirectTo(location: string | (() => string), status = 302): Parameters<typeof serveHttp>[0] {
  return (_request, response) => {
    response.writeHead(status, { location: typeof location === 'string' ? location : location() });
    response.end('moved');
  };
}

const loopback = { service: 'the test service', allowHttp: isLoopbackUrl };

describe('httpRequest', () => {
  it('follows a redirect on the same host and returns the final answer', async () => {
    const target = await server((_request, response) => response.end('{"ok":true}'));
    const first = await server(redirectTo(`${target.url}/final`));
    const response = await httpRequest(`${first.url}/start`, loopback);
    expect(response.status).toBe(200);
    await expect(readJson(response, 'the answer')).resolves.toEqual({ ok: true });
    expect(target.requests.map((r) => r.url)).toEqual(['/final']);
  });

  it.each([
    ['an IPv4-mapped IPv6 loopback', 'http://[::ffff:127.0.0.1]:1/latest/meta-data/'],
    ['the cloud metadata address', 'http://169.254.169.254/latest/meta-data/'],
    ['an IPv4-mapped metadata address', 'http://[::ffff:169.254.169.254]/computeMetadata/v1/'],
    ['a NAT64 spelling of the metadata address', 'http://[64:ff9b::a9fe:a9fe]/'],
    ['GCP metadata by name', 'http://metadata.google.internal/computeMetadata/v1/'],
  ])('refuses a redirect from another host to %s, before connecting', async (_name, location) => {
    const first = await server(redirectTo(location));
    await expect(httpRequest(first.url, { ...loopback, allowHttp: () => true })).rejects.toMatchObject({
      code: 'E_PROVIDER',
      message: expect.stringContaining('loopback, link-local or metadata address'),
    });
  });

  it('refuses a loopback URL named by another host, and lets loopback lead to loopback', async () => {
    const local = await server((_request, response) => response.end('ok'));
    const localhost = `http://localhost:${local.port}/`;
    const namedBy = new URL('https://registry.example/pkg');
    await expect(httpRequest(localhost, { ...loopback, namedBy })).rejects.toMatchObject({
      code: 'E_PROVIDER',
      message: `the test service (https://registry.example/pkg) named http://localhost:${local.port}, a loopback, link-local or metadata address; refusing to follow`,
    });
    expect(local.requests).toHaveLength(0);
    const first = await server(redirectTo(localhost));
    expect(await (await httpRequest(first.url, loopback)).text()).toBe('ok');
  });

  it('refuses a host name another host names or redirects to when it resolves to loopback or metadata', async () => {
    const local = await server((_request, response) => response.end('ok'));
    // A name the attacker controls, resolving to this machine (as vm and runsc do in /etc/hosts here).
    const lookup = jest
      .spyOn(dns, 'lookup')
      .mockImplementation((async (host: string) =>
        host === 'internal.attacker.example'
          ? [{ address: '127.0.0.1', family: 4 }]
          : [{ address: '169.254.169.254', family: 4 }]) as never);
    try {
      const target = `http://internal.attacker.example:${local.port}/latest/meta-data/`;
      await expect(
        httpRequest(target, { ...loopback, allowHttp: () => true, namedBy: new URL('https://registry.example/') }),
      ).rejects.toMatchObject({
        code: 'E_PROVIDER',
        message: expect.stringContaining('whose name resolves to a loopback, link-local or metadata address (127.0.0.1)'),
      });
      const first = await server(redirectTo(`http://cloud.attacker.example:${local.port}/`));
      await expect(httpRequest(first.url, { ...loopback, allowHttp: () => true })).rejects.toMatchObject({
        message: expect.stringContaining('(169.254.169.254); refusing to follow'),
      });
      expect(local.requests).toHaveLength(0);
    } finally {
      lookup.mockRestore();
    }
  });

  it('refuses a redirect to plain HTTP that was not allowed for the target', async () => {
    const target = await server((_request, response) => response.end('secret'));
    const first = await server(redirectTo(`${target.url}/`));
    const onlyFirst = (url: URL) => url.port === String(first.port);
    await expect(httpRequest(first.url, { service: 'the test service', allowHttp: onlyFirst })).rejects.toMatchObject({
      code: 'E_PROVIDER',
      message: expect.stringContaining('over plain HTTP'),
    });
    expect(target.requests).toHaveLength(0);
  });

  it('refuses plain HTTP unless allowed, and other schemes always', async () => {
    const first = await server((_request, response) => response.end('x'));
    await expect(httpRequest(first.url, { service: 'the test service' })).rejects.toMatchObject({ code: 'E_PROVIDER' });
    expect(first.requests).toHaveLength(0);
    const toFile = await server(redirectTo('file:///etc/passwd'));
    await expect(httpRequest(toFile.url, loopback)).rejects.toMatchObject({
      code: 'E_PROVIDER',
      message: expect.stringContaining('not an HTTPS URL'),
    });
  });

  it('sends credential headers to their own origin only, never after a redirect elsewhere', async () => {
    const other = await server((_request, response) => response.end('ok'));
    const same = await server((request, response) => {
      if (request.url === '/elsewhere') redirectTo(`${other.url}/landed`)(request, response);
      else if (request.url === '/here') redirectTo('/again')(request, response);
      else response.end('ok');
    });
    const headers = { authorization: 'Bearer s3cret', Cookie: 'session=1', accept: 'text/plain' };
    await (await httpRequest(`${same.url}/here`, { ...loopback, headers })).text();
    expect(same.requests.map((r) => r.headers.authorization)).toEqual(['Bearer s3cret', 'Bearer s3cret']);
    await (await httpRequest(`${same.url}/elsewhere`, { ...loopback, headers })).text();
    expect(other.requests).toHaveLength(1);
    expect(other.requests[0]?.headers.authorization).toBeUndefined();
    expect(other.requests[0]?.headers.cookie).toBeUndefined();
    expect(other.requests[0]?.headers.accept).toBe('text/plain');
  });

  it('sends credentials to none but credentialsOrigin, even on the first request', async () => {
    const elsewhere = await server((_request, response) => response.end('ok'));
    const headers = { authorization: 'Bearer s3cret' };
    await (await httpRequest(elsewhere.url, { ...loopback, headers, credentialsOrigin: 'https://registry.example' })).text();
    expect(elsewhere.requests[0]?.headers.authorization).toBeUndefined();
  });

  it('stops after the redirect limit', async () => {
    const loop = await server(redirectTo('/again'));
    await expect(httpRequest(loop.url, { ...loopback, maxRedirects: 3 })).rejects.toMatchObject({
      code: 'E_PROVIDER',
      message: expect.stringContaining('redirected more than 3 times'),
    });
    expect(loop.requests).toHaveLength(4);
  });

  it('applies allowHost to every hop, and refuses credentials in a redirect URL', async () => {
    const other = await server((_request, response) => response.end('ok'));
    const first = await server(redirectTo(`${other.url}/`));
    const allowHost = (url: URL) => url.port === String(first.port);
    await expect(httpRequest(first.url, { ...loopback, allowHost, refusalCode: 'E_BUNDLE' })).rejects.toMatchObject({
      code: 'E_BUNDLE',
      message: expect.stringContaining('a host it may not use'),
    });
    expect(other.requests).toHaveLength(0);
    const withUser = await server(redirectTo(`http://user:pass@127.0.0.1:${other.port}/`));
    await expect(httpRequest(withUser.url, loopback)).rejects.toMatchObject({ code: 'E_PROVIDER' });
  });

  it('turns a POST answered with 303 into a GET without the body', async () => {
    const target = await server((_request, response) => response.end('done'));
    const first = await server(redirectTo(`${target.url}/result`, 303));
    await (await httpRequest(first.url, { ...loopback, method: 'POST', body: 'payload' })).text();
    expect(target.requests[0]?.method).toBe('GET');
  });

  it('cuts an endless body at the cap and hangs up', async () => {
    const endless = await server((_request, response) => endlessBody(response));
    const response = await httpRequest(endless.url, { ...loopback, maxBytes: 1024 * 1024 });
    await expect(response.arrayBuffer()).rejects.toMatchObject({ code: 'E_INPUT', message: expect.stringContaining('1 MiB') });
    await waitFor(() => endless.closedSockets() > 0);
  });

  it('counts a compressed body after decompression', async () => {
    const bomb = zlib.gzipSync(Buffer.alloc(8 * 1024 * 1024));
    const gzip = await server((_request, response) => {
      response.writeHead(200, { 'content-encoding': 'gzip', 'content-length': bomb.length });
      response.end(bomb);
    });
    expect(bomb.length).toBeLessThan(64 * 1024);
    const response = await httpRequest(gzip.url, { ...loopback, maxBytes: 1024 * 1024 });
    await expect(response.arrayBuffer()).rejects.toMatchObject({ code: 'E_INPUT' });
  });

  it('refuses a declared length over the cap before reading', async () => {
    const big = await server((_request, response) => {
      response.writeHead(200, { 'content-length': 10 * 1024 * 1024 });
      response.write(Buffer.alloc(1024));
    });
    await expect(httpRequest(big.url, { ...loopback, maxBytes: 1024 * 1024 })).rejects.toMatchObject({ code: 'E_INPUT' });
  });

  it('holds one deadline over answering and reading', async () => {
    const slow = await server((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.write('a');
    });
    const started = Date.now();
    const response = await httpRequest(slow.url, { ...loopback, timeoutMs: 500 });
    await expect(response.text()).rejects.toMatchObject({ code: 'E_PROVIDER', message: expect.stringContaining('within 0.5 s') });
    expect(Date.now() - started).toBeLessThan(5_000);
    const silent = await server(() => undefined);
    await expect(httpRequest(silent.url, { ...loopback, timeoutMs: 300 })).rejects.toMatchObject({
      code: 'E_PROVIDER',
      message: expect.stringContaining('did not answer within 0.3 s'),
    });
  });

  it('reports an unreachable service by name, and never echoes a body that is not JSON', async () => {
    const closed = await server(() => undefined);
    const url = closed.url;
    await closed.close();
    servers.splice(servers.indexOf(closed), 1);
    await expect(httpRequest(url, loopback)).rejects.toMatchObject({
      code: 'E_PROVIDER',
      message: expect.stringMatching(/^could not reach the test service at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)$/),
    });
    const html = await server((_request, response) => response.end('<html>token=s3cret</html>'));
    const error = await readJson(await httpRequest(html.url, loopback), 'the token response').catch((e: Error) => e);
    expect(error).toMatchObject({ code: 'E_PROVIDER', message: 'the token response is not JSON' });
    expect(JSON.stringify(error)).not.toContain('s3cret');
  });
});

async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 20));
  expect(condition()).toBe(true);
}
