// Each service of the Sigstore stack over raw HTTP: what it answers beyond what the signing
// clients ask (lookups, discovery, certificate chains, TUF metadata), the faults tests use to
// fake a misbehaving log, request logs without tokens, and a clean stop.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { bundleFromJSON, bundleToJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { CIContextProvider, FulcioSigner, MessageSignatureBundleBuilder, RekorWitness } from '@sigstore/sign';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { SigstoreStack } from '../src/sigstore';

const stack = new SigstoreStack();
const ARTIFACT = Buffer.from('an artifact Signet signs');

beforeAll(() => stack.start());
afterAll(() => stack.stop());
afterEach(() => {
  for (const service of stack.services) service.faults.clear();
});

async function get(url: string): Promise<{ status: number; text: string; headers: Headers }> {
  const response = await fetch(url);
  return { status: response.status, text: await response.text(), headers: response.headers };
}

interface RekorEntry {
  body: string;
  integratedTime: number;
  logIndex: number;
  verification: { inclusionProof: { treeSize: number } };
}

/** The one entry of a Rekor answer, and its id. */
function entryOf(answer: unknown): [string, RekorEntry] {
  return Object.entries(answer as Record<string, RekorEntry>)[0] as [string, RekorEntry];
}

async function postEntry(proposal: unknown): Promise<{ status: number; body: unknown; location: string | null }> {
  const response = await fetch(`${stack.rekor.url}/api/v1/log/entries`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(proposal),
  });
  return { status: response.status, body: await response.json(), location: response.headers.get('location') };
}

/** A hashedrekord proposal for a fresh signature over `data`, as sigstore-js proposes one. */
function hashedRekord(data: Buffer) {
  const { publicKey, privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    apiVersion: '0.0.1',
    kind: 'hashedrekord',
    spec: {
      data: { hash: { algorithm: 'sha256', value: crypto.createHash('sha256').update(data).digest('hex') } },
      signature: {
        content: crypto.sign('sha256', data, privateKey).toString('base64'),
        publicKey: { content: Buffer.from(publicKey.export({ format: 'pem', type: 'spki' }) as string).toString('base64') },
      },
    },
  };
}

function keylessBuilder(token: () => Promise<string>) {
  return new MessageSignatureBundleBuilder({
    signer: new FulcioSigner({ fulcioBaseURL: stack.fulcio.url, identityProvider: { getToken: token }, retry: 0 }),
    witnesses: [new RekorWitness({ rekorBaseURL: stack.rekor.url, retry: 0 })],
  });
}

describe('OIDC issuer', () => {
  it('publishes a discovery document and keys that verify the tokens its /token endpoint mints', async () => {
    const discovery = JSON.parse((await get(`${stack.oidc.url}/.well-known/openid-configuration`)).text);
    expect(discovery).toMatchObject({ issuer: stack.oidc.url, jwks_uri: `${stack.oidc.url}/jwks` });
    const jwks = JSON.parse((await get(discovery.jwks_uri)).text);
    expect(jwks.keys.map((key: { kid: string }) => key.kid)).toEqual([stack.oidc.keyId]);

    const minted = JSON.parse((await get(`${stack.oidc.url}/token?email=dev@example.com&repository=acme/app`)).text);
    const { payload } = await jwtVerify(minted.value, createLocalJWKSet(jwks), { issuer: stack.oidc.url, audience: 'sigstore' });
    expect(payload).toMatchObject({ email: 'dev@example.com', email_verified: true, sub: 'dev@example.com', repository: 'acme/app' });
    expect(payload.exp).toBeGreaterThan(Date.now() / 1000 + 50 * 60);
  });

  it("serves GitHub Actions' token protocol, so CIContextProvider signs through it", async () => {
    const saved = { url: process.env.ACTIONS_ID_TOKEN_REQUEST_URL, token: process.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN };
    process.env.ACTIONS_ID_TOKEN_REQUEST_URL = `${stack.oidc.url}/token?email=ci@example.com`;
    process.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN = 'request-token';
    try {
      const signer = new FulcioSigner({ fulcioBaseURL: stack.fulcio.url, identityProvider: new CIContextProvider('sigstore'), retry: 0 });
      const signed = await signer.sign(ARTIFACT);
      expect(signed.key.$case === 'x509Certificate' && new crypto.X509Certificate(signed.key.certificate).subjectAltName).toBe(
        'email:ci@example.com',
      );
      const request = stack.oidc.calls('Token').at(-1);
      expect(request?.query).toContain('audience=sigstore');
      expect(request?.headers.authorization).toBe('[redacted]');
    } finally {
      for (const [name, value] of [
        ['ACTIONS_ID_TOKEN_REQUEST_URL', saved.url],
        ['ACTIONS_ID_TOKEN_REQUEST_TOKEN', saved.token],
      ] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });
});

describe('Rekor', () => {
  it('answers an entry by id, by UUID and by log index, with a proof against the current tree', async () => {
    const created = await postEntry(hashedRekord(Buffer.from('looked up')));
    expect(created.status).toBe(201);
    const [id, entry] = entryOf(created.body);
    expect(id).toMatch(/^[0-9a-f]{80}$/);
    expect(created.location).toBe(`/api/v1/log/entries/${id}`);
    // Another entry grows the tree, so a lookup proves inclusion in a bigger tree than the answer did.
    await postEntry(hashedRekord(Buffer.from('appended after')));

    for (const path of [
      `/api/v1/log/entries/${id}`,
      `/api/v1/log/entries/${id.slice(16)}`,
      `/api/v1/log/entries?logIndex=${entry.logIndex}`,
    ]) {
      const [foundId, found] = entryOf(JSON.parse((await get(`${stack.rekor.url}${path}`)).text));
      expect(foundId).toBe(id);
      expect(found).toMatchObject({ body: entry.body, logIndex: entry.logIndex, integratedTime: entry.integratedTime });
      expect(found.verification.inclusionProof.treeSize).toBe(stack.rekor.log.size);
    }
    expect((await get(`${stack.rekor.url}/api/v1/log/entries/${'0'.repeat(64)}`)).status).toBe(404);
    expect((await get(`${stack.rekor.url}/api/v1/log/entries?logIndex=${stack.rekor.log.size}`)).status).toBe(404);
  });

  it('answers 409 with the Location of an equivalent entry already in the log', async () => {
    const proposal = hashedRekord(Buffer.from('twice'));
    const first = await postEntry(proposal);
    const again = await postEntry(proposal);
    expect(again.status).toBe(409);
    expect(again.location).toBe(first.location);
    expect(again.body).toMatchObject({ code: 409, message: expect.stringMatching(/already exists/) });
  });

  it('refuses entries it cannot store: an unknown kind, a DSSE signature no verifier verifies', async () => {
    expect((await postEntry({ apiVersion: '0.0.1', kind: 'rekord', spec: {} })).status).toBe(400);
    const { publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const envelope = {
      payloadType: 'application/vnd.in-toto+json',
      payload: Buffer.from('{}').toString('base64'),
      signatures: [{ sig: 'AAAA', keyid: '' }],
    };
    const refused = await postEntry({
      apiVersion: '0.0.1',
      kind: 'dsse',
      spec: {
        proposedContent: {
          envelope: JSON.stringify(envelope),
          verifiers: [Buffer.from(publicKey.export({ format: 'pem', type: 'spki' }) as string).toString('base64')],
        },
      },
    });
    expect(refused).toMatchObject({ status: 400, body: { code: 400, message: expect.stringMatching(/does not verify/) } });
  });

  it('publishes its tree head as a checkpoint signed with the key /api/v1/log/publicKey serves', async () => {
    const info = JSON.parse((await get(`${stack.rekor.url}/api/v1/log`)).text);
    expect(info.treeSize).toBe(stack.rekor.log.size);
    const [note, signatureLine] = (info.signedTreeHead as string).split('\n\n') as [string, string];
    expect(note.split('\n').slice(0, 3)).toEqual([
      `${new URL(stack.rekor.url).host} - ${info.treeID}`,
      String(info.treeSize),
      Buffer.from(info.rootHash, 'hex').toString('base64'),
    ]);
    const signature = Buffer.from(signatureLine.split(' ')[2] as string, 'base64').subarray(4);
    const publicKey = (await get(`${stack.rekor.url}/api/v1/log/publicKey`)).text;
    expect(crypto.verify('sha256', Buffer.from(`${note}\n`), publicKey, signature)).toBe(true);
  });

  it("custom fault 'unlogged': the bundle verifies offline, but its entry is missing from the log", async () => {
    const size = stack.rekor.log.size;
    stack.rekor.faults.add({ fault: { kind: 'custom', name: 'unlogged' }, operation: 'CreateEntry' });
    const bundle = bundleToJSON(await keylessBuilder(() => stack.mintToken()).create({ data: ARTIFACT }));
    const verifier = new Verifier(toTrustMaterial(TrustedRoot.fromJSON(stack.trustedRoot)), { timestampThreshold: 1 });
    expect(() => verifier.verify(toSignedEntity(bundleFromJSON(bundle), ARTIFACT))).not.toThrow();

    const entry = bundle.verificationMaterial.tlogEntries[0];
    expect(entry?.logIndex).toBe(String(size));
    expect(stack.rekor.log.size).toBe(size);
    const leafHash = crypto
      .createHash('sha256')
      .update(Buffer.from([0]))
      .update(Buffer.from(entry?.canonicalizedBody ?? '', 'base64'))
      .digest('hex');
    expect((await get(`${stack.rekor.url}/api/v1/log/entries/${leafHash}`)).status).toBe(404);
    expect((await get(`${stack.rekor.url}/api/v1/log/entries?logIndex=${size}`)).status).toBe(404);
    // The next entry takes the index the log gave out twice.
    expect(entryOf((await postEntry(hashedRekord(Buffer.from('next')))).body)[1].logIndex).toBe(size);
  });
});

describe('Fulcio, the TSA and the TUF repository', () => {
  it("Fulcio's trust bundle and the TSA's certificate chain are the trusted root's", async () => {
    const bundle = JSON.parse((await get(`${stack.fulcio.url}/api/v2/trustBundle`)).text);
    const fulcioRoot = new crypto.X509Certificate(bundle.chains[0].certificates[0]);
    expect(fulcioRoot.raw.toString('base64')).toBe(stack.trustedRoot.certificateAuthorities[0]?.certChain.certificates[0]?.rawBytes);

    const chain =
      (await get(`${stack.tsa.url}/api/v1/timestamp/certchain`)).text.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ??
      [];
    expect(chain.map((pem) => new crypto.X509Certificate(pem).raw.toString('base64'))).toEqual(
      stack.trustedRoot.timestampAuthorities[0]?.certChain.certificates.map((certificate) => certificate.rawBytes),
    );
  });

  it('the TUF repository serves its signed metadata, no newer root, and its three targets', async () => {
    expect((await get(`${stack.tuf.url}/1.root.json`)).text).toBe(fs.readFileSync(stack.tufRootPath, 'utf8'));
    expect((await get(`${stack.tuf.url}/2.root.json`)).status).toBe(404);
    const targets = JSON.parse((await get(`${stack.tuf.url}/targets.json`)).text);
    expect(Object.keys(targets.signed.targets).sort()).toEqual([
      'signing_config.v0.2.json',
      'signing_config_rekor_v2.v0.2.json',
      'trusted_root.json',
    ]);
    expect(JSON.parse((await get(`${stack.tuf.url}/targets/signing_config.v0.2.json`)).text)).toEqual(stack.signingConfig);
    expect(JSON.parse((await get(`${stack.tuf.url}/targets/signing_config_rekor_v2.v0.2.json`)).text)).toEqual(stack.signingConfigRekorV2);
  });
});

describe('request logs', () => {
  it('never hold the OIDC token, whether Fulcio answered, failed or dropped the connection', async () => {
    const token = await stack.mintToken({ email: 'secret-holder@example.com' });
    stack.fulcio.faults.add({ fault: { kind: 'status', status: 503 }, operation: 'CreateSigningCertificate' });
    stack.fulcio.faults.add({ fault: { kind: 'drop' }, operation: 'CreateSigningCertificate' });
    const builder = keylessBuilder(async () => token);
    await expect(builder.create({ data: ARTIFACT })).rejects.toThrow();
    await expect(builder.create({ data: ARTIFACT })).rejects.toThrow();
    await builder.create({ data: ARTIFACT });

    const calls = stack.fulcio.calls('CreateSigningCertificate').slice(-3);
    expect(calls.map((call) => call.status)).toEqual([503, 0, 201]);
    for (const call of calls) expect(call.body).toMatchObject({ credentials: { oidcIdentityToken: '[redacted]' } });
    const everything = JSON.stringify(stack.services.map((service) => service.requests));
    expect(everything).not.toContain(token);
    expect(everything).not.toContain(token.split('.')[2]);
  });
});

describe('stop()', () => {
  it('closes every service and removes the trust material', async () => {
    const other = await new SigstoreStack().start();
    const urls = other.services.map((service) => service.url);
    const dir = other.dir;
    expect(fs.existsSync(other.trustedRootPath)).toBe(true);
    await other.stop();
    expect(fs.existsSync(dir)).toBe(false);
    for (const url of urls) await expect(fetch(url)).rejects.toThrow();
    expect(() => other.trustedRoot).toThrow(/not started/);
  });
});
