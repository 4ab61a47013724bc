// What sigstore-js sees when the stack refuses or fails: Fulcio refusing tokens it cannot
// trust, and dead, failing, slow or throttled services.
import crypto from 'node:crypto';
import { HashAlgorithm } from '@sigstore/protobuf-specs';
import { FulcioSigner, InternalError, MessageSignatureBundleBuilder, RekorWitness, type SignatureBundle, TSAWitness } from '@sigstore/sign';
import { SigstoreStack, type TokenOptions } from '../src/sigstore';

const stack = new SigstoreStack();
const ARTIFACT = Buffer.from('an artifact Signet signs');

beforeAll(() => stack.start());
afterAll(() => stack.stop());
afterEach(() => {
  for (const service of stack.services) service.faults.clear();
});

/** Clients find the services through the signing config, which holds while a service is down. */
function fulcioSigner(token: TokenOptions = {}, retry: number | { retries: number; minTimeout: number } = 0): FulcioSigner {
  return new FulcioSigner({ fulcioBaseURL: stack.signingConfig.caUrls[0]?.url, identityProvider: stack.identityProvider(token), retry });
}

/** The error a promise rejects with (fails the test if it resolves). */
async function rejection(
  promise: Promise<unknown>,
): Promise<InternalError & { cause?: { statusCode?: number; message?: string; code?: string } }> {
  const outcome = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  if (!(outcome instanceof InternalError)) throw new Error(`expected an InternalError, got ${String(outcome)}`);
  return outcome;
}

/** A keyless signature and its certificate, for the witnesses. */
async function signature(): Promise<{ content: SignatureBundle; publicKey: string }> {
  const signed = await fulcioSigner().sign(ARTIFACT);
  const digest = crypto.createHash('sha256').update(ARTIFACT).digest();
  return {
    content: {
      $case: 'messageSignature',
      messageSignature: { messageDigest: { algorithm: HashAlgorithm.SHA2_256, digest }, signature: signed.signature },
    },
    publicKey: signed.key.$case === 'x509Certificate' ? signed.key.certificate : '',
  };
}

describe('Fulcio refuses tokens it cannot trust, with 401 as the real one does', () => {
  it.each<[string, TokenOptions, RegExp]>([
    ['a forged token (signed by a key the issuer never published)', { forged: true }, /signature verification failed/],
    ['an expired token', { expiresIn: -60 }, /"exp" claim timestamp check failed/],
    ['a token for another audience', { audience: 'not-sigstore' }, /unexpected "aud" claim value/],
    [
      'a token from an issuer Fulcio does not trust',
      { issuer: 'https://issuer.example.com' },
      /issuer https:\/\/issuer\.example\.com is not trusted/,
    ],
  ])('%s', async (_name, token, reason) => {
    const error = await rejection(fulcioSigner(token).sign(ARTIFACT));
    expect(error.code).toBe('CA_CREATE_SIGNING_CERTIFICATE_ERROR');
    expect(error.cause?.statusCode).toBe(401);
    expect(error.cause?.message).toMatch(reason);
    expect(stack.fulcio.calls('CreateSigningCertificate').at(-1)?.status).toBe(401);
  });

  it('a valid token from the same issuer is certified (the refusals above are about the token)', async () => {
    const signed = await fulcioSigner().sign(ARTIFACT);
    expect(signed.key.$case).toBe('x509Certificate');
  });

  it('answers 400 for a proof of possession made with another key, and 401 for an unverified email', async () => {
    const post = async (token: string, proof?: string) => {
      const { publicKey, privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const pem = publicKey.export({ format: 'pem', type: 'spki' }) as string;
      const subject = JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString()).email;
      const proofOfPossession = proof ?? crypto.sign('sha256', Buffer.from(subject), privateKey).toString('base64');
      const response = await fetch(`${stack.fulcio.url}/api/v2/signingCert`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          credentials: { oidcIdentityToken: token },
          publicKeyRequest: { publicKey: { algorithm: 'ECDSA', content: pem }, proofOfPossession },
        }),
      });
      return { status: response.status, body: (await response.json()) as { code: number; message: string } };
    };
    const token = await stack.mintToken({ email: 'alice@example.com' });
    expect((await post(token)).status).toBe(201);

    const otherKey = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const wrongProof = crypto.sign('sha256', Buffer.from('alice@example.com'), otherKey).toString('base64');
    expect(await post(token, wrongProof)).toEqual({
      status: 400,
      body: { code: 3, message: 'The signature supplied in the request could not be verified', details: [] },
    });

    const unverified = await stack.mintToken({ email: 'bob@example.com', claims: { email_verified: false } });
    const refused = await post(unverified);
    expect(refused.status).toBe(401);
    expect(refused.body.message).toMatch(/email bob@example\.com is not verified/);
  });
});

describe('Fulcio down or failing', () => {
  it('a dead Fulcio makes FulcioSigner fail; started again, on the same URL, it certifies again', async () => {
    const url = stack.fulcio.url;
    await stack.fulcio.stop();
    try {
      const error = await rejection(fulcioSigner().sign(ARTIFACT));
      expect(error.code).toBe('CA_CREATE_SIGNING_CERTIFICATE_ERROR');
      // Refused, or reset when the client had kept a connection open to the service that died.
      expect(['ECONNREFUSED', 'ECONNRESET']).toContain(error.cause?.code);
    } finally {
      await stack.fulcio.start();
    }
    expect(stack.fulcio.url).toBe(url);
    expect((await fulcioSigner().sign(ARTIFACT)).key.$case).toBe('x509Certificate');
  });

  it('a 5xx fails FulcioSigner without retries; with a retry it gets through', async () => {
    stack.fulcio.faults.add({ fault: { kind: 'status', status: 503 }, operation: 'CreateSigningCertificate' });
    const error = await rejection(fulcioSigner().sign(ARTIFACT));
    expect(error.cause?.statusCode).toBe(503);

    const before = stack.fulcio.calls('CreateSigningCertificate').length;
    stack.fulcio.faults.add({ fault: { kind: 'status', status: 503 }, operation: 'CreateSigningCertificate' });
    expect((await fulcioSigner({}, { retries: 1, minTimeout: 10 }).sign(ARTIFACT)).key.$case).toBe('x509Certificate');
    expect(
      stack.fulcio
        .calls('CreateSigningCertificate')
        .slice(before)
        .map((call) => call.status),
    ).toEqual([503, 201]);
  });

  it('throttling (429 with Retry-After) and a dropped connection fail FulcioSigner', async () => {
    stack.fulcio.faults.add({ fault: { kind: 'throttle', retryAfterSeconds: 3 }, operation: 'CreateSigningCertificate' });
    expect((await rejection(fulcioSigner().sign(ARTIFACT))).cause?.statusCode).toBe(429);

    stack.fulcio.faults.add({ fault: { kind: 'drop' }, operation: 'CreateSigningCertificate' });
    const dropped = await rejection(fulcioSigner().sign(ARTIFACT));
    expect(dropped.code).toBe('CA_CREATE_SIGNING_CERTIFICATE_ERROR');
    expect(stack.fulcio.calls('CreateSigningCertificate').at(-1)?.fault).toBe('drop');
  });
});

describe('Rekor and the TSA down or failing', () => {
  it('a dead Rekor makes RekorWitness fail; started again, its log goes on where it was', async () => {
    const { content, publicKey } = await signature();
    const size = stack.rekor.log.size;
    await stack.rekor.stop();
    try {
      const error = await rejection(
        new RekorWitness({ rekorBaseURL: stack.signingConfig.rekorTlogUrls[0]?.url, retry: 0 }).testify(content, publicKey),
      );
      expect(error.code).toBe('TLOG_CREATE_ENTRY_ERROR');
      expect(['ECONNREFUSED', 'ECONNRESET']).toContain(error.cause?.code);
    } finally {
      await stack.rekor.start();
    }
    const { tlogEntries } = await new RekorWitness({ rekorBaseURL: stack.rekor.url, retry: 0 }).testify(content, publicKey);
    expect(tlogEntries[0]?.logIndex).toBe(String(size));
  });

  it('Rekor answering 500 or dropping the connection makes RekorWitness fail', async () => {
    const { content, publicKey } = await signature();
    const witness = new RekorWitness({ rekorBaseURL: stack.rekor.url, retry: 0 });
    stack.rekor.faults.add({ fault: { kind: 'status', status: 500 }, operation: 'CreateEntry' });
    expect((await rejection(witness.testify(content, publicKey))).cause?.statusCode).toBe(500);
    stack.rekor.faults.add({ fault: { kind: 'drop' }, operation: 'CreateEntry' });
    expect((await rejection(witness.testify(content, publicKey))).code).toBe('TLOG_CREATE_ENTRY_ERROR');
  });

  it('a TSA slower than the client waits makes TSAWitness fail', async () => {
    const { content } = await signature();
    stack.tsa.faults.add({ fault: { kind: 'latency', ms: 5_000 }, operation: 'Timestamp' });
    const error = await rejection(new TSAWitness({ tsaBaseURL: stack.tsa.url, retry: 0, timeout: 100 }).testify(content));
    expect(error.code).toBe('TSA_CREATE_TIMESTAMP_ERROR');
    expect(String(error.cause?.message)).toMatch(/timeout/i);
  });

  it('one failing service leaves the others alone: with the TSA down, a bundle without a timestamp is still made', async () => {
    await stack.tsa.stop();
    try {
      const builder = new MessageSignatureBundleBuilder({
        signer: fulcioSigner(),
        witnesses: [
          new RekorWitness({ rekorBaseURL: stack.rekor.url, retry: 0 }),
          new TSAWitness({ tsaBaseURL: stack.signingConfig.tsaUrls[0]?.url ?? '', retry: 0 }),
        ],
      });
      const error = await rejection(builder.create({ data: ARTIFACT }));
      expect(error.code).toBe('TSA_CREATE_TIMESTAMP_ERROR');
      const withoutTsa = new MessageSignatureBundleBuilder({
        signer: fulcioSigner(),
        witnesses: [new RekorWitness({ rekorBaseURL: stack.rekor.url, retry: 0 })],
      });
      const bundle = await withoutTsa.create({ data: ARTIFACT });
      expect(bundle.verificationMaterial.tlogEntries).toHaveLength(1);
      expect(bundle.verificationMaterial.timestampVerificationData?.rfc3161Timestamps ?? []).toHaveLength(0);
    } finally {
      await stack.tsa.start();
    }
  });
});
