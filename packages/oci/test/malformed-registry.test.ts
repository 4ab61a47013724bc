// A registry that answers what it likes: manifests and referrer lists of the wrong shape are
// refused with a code, never a crash (E_INTERNAL) and never a signature.
import crypto from 'node:crypto';
import { type LocalServer, serveHttp } from '@signet/test-support';
import { RegistryClient, verifyImage } from '../src';

const { publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
const policy = { keys: [{ publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(), name: 'release' }] };

/** An image manifest that exists, so that what is looked up next is the referrers. */
const IMAGE = Buffer.from(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${'c'.repeat(64)}`, size: 2 },
    layers: [],
  }),
);
const DIGEST = `sha256:${crypto.createHash('sha256').update(IMAGE).digest('hex')}`;

let server: LocalServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** A registry whose referrers API (or fallback tag, or legacy .sig) answers `document`. */
async function registry(where: 'referrers' | 'fallback' | 'legacy' | 'manifest', document: unknown): Promise<string> {
  server = await serveHttp((request, response) => {
    const url = request.url ?? '';
    const json = (value: unknown, type = 'application/vnd.oci.image.index.v1+json') => {
      response.writeHead(200, { 'content-type': type });
      response.end(JSON.stringify(value));
    };
    if (url === '/v2/') return json({});
    if (url.endsWith(`/manifests/${DIGEST}`)) {
      if (where === 'manifest') return json(document, 'application/vnd.oci.image.manifest.v1+json');
      response.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' });
      return response.end(IMAGE);
    }
    if (url.includes('/referrers/')) {
      if (where === 'referrers') return json(document);
      response.writeHead(404);
      return response.end();
    }
    if (url.endsWith(`/manifests/${DIGEST.replace(':', '-')}`) && where === 'fallback') return json(document);
    if (url.endsWith(`/manifests/${DIGEST.replace(':', '-')}.sig`) && where === 'legacy')
      return json(document, 'application/vnd.oci.image.manifest.v1+json');
    response.writeHead(404);
    response.end();
  });
  return `127.0.0.1:${server.port}/app@${DIGEST}`;
}

describe('a registry answering documents of the wrong shape', () => {
  it.each([
    ['referrers', 'null', null],
    ['referrers', 'manifests that are a number', { manifests: 5 }],
    ['referrers', 'a descriptor that is null', { manifests: [null] }],
    ['referrers', 'an artifactType that is a number', { manifests: [{ mediaType: 'x', digest: DIGEST, size: 1, artifactType: 5 }] }],
    ['fallback', 'a descriptor that is null', { schemaVersion: 2, manifests: [null] }],
    ['legacy', 'layers that are an object', { schemaVersion: 2, config: {}, layers: {} }],
    ['legacy', 'a layer that is null', { schemaVersion: 2, layers: [null] }],
    ['manifest', 'an image manifest that is null', null],
  ] as const)('%s: %s is refused with a code, not E_INTERNAL', async (where, _what, document) => {
    const image = await registry(where, document);
    const error = await verifyImage(image, policy, { client: new RegistryClient() }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: expect.stringMatching(/^E_(INPUT|SIGNATURE|BUNDLE|UNSIGNED)$/) });
    expect((error as Error).message).not.toMatch(/Cannot read|is not a function|iterable/);
  });
});
