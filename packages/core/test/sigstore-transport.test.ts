// @sigstore/sign's witnesses and Fulcio signer, speaking HTTP through Signet's transport: the
// network rules hold for Rekor, the TSA and Fulcio as for every other client.
import crypto from 'node:crypto';
import { endlessBody, type LocalServer, serveHttp } from '@signet/test-support';
import { RekorWitness } from '@sigstore/sign';
import { LocalSigner, openSigner, signArtifact } from '../src';
import { overRekor } from '../src/sigstore-transport';

const servers: LocalServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function server(handler: Parameters<typeof serveHttp>[0]): Promise<LocalServer> {
  const started = await serveHttp(handler);
  servers.push(started);
  return started;
}

const signer = new LocalSigner('release', crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
const FAKE_JWT = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJtZSJ9.c2lnbmF0dXJl';

describe('the Sigstore services through Signet’s transport', () => {
  it('Rekor redirecting to cloud metadata: refused on the hop, nothing reaches it', async () => {
    const metadata = await server((_request, response) => response.end('{}'));
    const rekor = await server((_request, response) => {
      response.writeHead(307, { location: `http://[::ffff:127.0.0.1]:${metadata.port}/latest/meta-data/` });
      response.end();
    });
    await expect(
      signArtifact({ bytes: Buffer.from('x') }, signer, { tlogUpload: true, services: { rekorURL: rekor.url, retries: 0 } }),
    ).rejects.toMatchObject({ code: 'E_PROVIDER', message: expect.stringContaining('loopback, link-local or metadata address') });
    expect(rekor.requests).toHaveLength(1);
    expect(metadata.requests).toEqual([]);
  });

  it('a timestamp authority answering without end: cut off, not read into memory', async () => {
    const tsa = await server((_request, response) => endlessBody(response));
    await expect(
      signArtifact({ bytes: Buffer.from('x') }, signer, {
        timestamp: true,
        services: { tsaURL: `${tsa.url}/api/v1/timestamp`, retries: 0 },
      }),
    ).rejects.toMatchObject({ code: 'E_INPUT', message: expect.stringContaining('over the 1 MiB Signet reads') });
  });

  it('Fulcio answering HTML: E_PROVIDER naming Fulcio, the page never echoed; 5xx retried a bounded number of times', async () => {
    let calls = 0;
    const fulcio = await server((_request, response) => {
      calls++;
      if (calls === 1) return response.writeHead(503).end('busy');
      response.end('<html>s3cret maintenance page</html>');
    });
    const keyless = await openSigner('keyless', { identityToken: FAKE_JWT, services: { fulcioURL: fulcio.url, retries: 2 } });
    const error = await (keyless.certificate as () => Promise<string>)().catch((e: Error) => e);
    expect(error).toMatchObject({ code: 'E_PROVIDER', message: `the answer of Fulcio (${fulcio.url}) is not JSON` });
    expect(JSON.stringify(error)).not.toContain('s3cret');
    expect(calls).toBe(2);
  });

  it('stops, rather than sign outside the rules, if @sigstore/sign moves the client it replaces', () => {
    const witness = new RekorWitness({ rekorBaseURL: 'https://rekor.example' });
    delete (witness as unknown as { tlogV1: Record<string, unknown> }).tlogV1.rekor;
    expect(() => overRekor(witness, 'https://rekor.example', { timeoutMs: 1000, retries: 0 })).toThrow(
      expect.objectContaining({ code: 'E_INTERNAL', message: expect.stringContaining('tlogV1.rekor') }),
    );
  });
});
