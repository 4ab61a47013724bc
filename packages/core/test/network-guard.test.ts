import http from 'node:http';
import net from 'node:net';

describe('the test network guard', () => {
  it('refuses a connection outside 127.0.0.1 before it leaves the machine', async () => {
    const socket = net.connect({ host: '192.0.2.1', port: 443 });
    const error = await new Promise<NodeJS.ErrnoException>((resolve) => socket.on('error', resolve));
    expect(error.code).toBe('ESIGNETNETGUARD');
    // The guard also fails the test that connected (in afterEach); clear what this one provoked.
    const { violations } = (globalThis as unknown as { __signetNetworkGuard: { violations: string[] } }).__signetNetworkGuard;
    expect(violations).toEqual(['192.0.2.1:443']);
    violations.length = 0;
  });

  it('lets loopback through', async () => {
    const server = http.createServer((_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    const body = await (await fetch(`http://127.0.0.1:${port}/`)).text();
    server.close();
    expect(body).toBe('ok');
  });
});
