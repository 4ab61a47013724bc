// The stack's Rekor v2 log against rekor-tiles' own behaviour: what it logs and how, what it refuses
// and with which answer, and its C2SP tiles read as a monitor reads them. Entries are checked with
// @sigstore/verify's own functions, bundles with its Verifier.
import crypto, { type KeyObject } from 'node:crypto';
import { ed25519ph } from '@noble/curves/ed25519';
import { bundleFromJSON, bundleToJSON } from '@sigstore/bundle';
import { dsse } from '@sigstore/core';
import { SigningConfig, TransparencyLogEntry, TrustedRoot } from '@sigstore/protobuf-specs';
import { bundleBuilderFromSigningConfig, DSSEBundleBuilder, FulcioSigner, RekorWitness, TSAWitness } from '@sigstore/sign';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import { verifyTLogBody, verifyTLogInclusion } from '@sigstore/verify/dist/tlog';
import { verifyCheckpoint } from '@sigstore/verify/dist/tlog/checkpoint';
import { SigstoreStack, tilePath } from '../src/sigstore';
import { canonicalJson } from '../src/sigstore/log';
import { hashChildren, hashLeaf } from '../src/sigstore/merkle';

const stack = new SigstoreStack();
const EMAIL = 'alice@example.com';
const ARTIFACT = Buffer.from('an artifact Signet logs in Rekor v2');

type Hash = 'sha256' | 'sha384' | 'sha512';

/** A key of a type rekor-tiles accepts, signing as its algorithm does (over the digest of `hash`). */
interface TestKey {
  keyDetails: string;
  hash: Hash;
  publicKey: KeyObject;
  privateKey: KeyObject;
  sign(data: Buffer): Buffer;
}

function nodeKey(keyDetails: string, hash: Hash, pair: crypto.KeyPairKeyObjectResult): TestKey {
  return { keyDetails, hash, ...pair, sign: (data) => crypto.sign(hash, data, pair.privateKey) };
}

/** Ed25519ph (RFC 8032): the key signs SHA-512 of the message; Node only signs pure Ed25519, noble does ph. */
function ed25519phKey(): TestKey {
  const pair = crypto.generateKeyPairSync('ed25519');
  const seed = Buffer.from(pair.privateKey.export({ format: 'jwk' }).d ?? '', 'base64url');
  return { keyDetails: 'PKIX_ED25519_PH', hash: 'sha512', ...pair, sign: (data) => Buffer.from(ed25519ph.sign(data, seed)) };
}

const KEYS: Record<string, TestKey> = {};

function spki(key: KeyObject): Buffer {
  return key.export({ format: 'der', type: 'spki' });
}

function digest(hash: Hash, data: Buffer): Buffer {
  return crypto.createHash(hash).update(data).digest();
}

/** A Fulcio certificate for the key (DER), proving possession as Fulcio asks: a signature over the email. */
async function certify(key: TestKey): Promise<Buffer> {
  const proof = (email: Buffer) => crypto.sign(key.publicKey.asymmetricKeyType === 'ed25519' ? null : 'sha256', email, key.privateKey);
  const response = await fetch(`${stack.fulcio.url}/api/v2/signingCert`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      credentials: { oidcIdentityToken: await stack.mintToken({ email: EMAIL }) },
      publicKeyRequest: {
        publicKey: { content: key.publicKey.export({ format: 'pem', type: 'spki' }) },
        proofOfPossession: proof(Buffer.from(EMAIL)).toString('base64'),
      },
    }),
  });
  expect(response.status).toBe(201);
  const chain = ((await response.json()) as { signedCertificateEmbeddedSct: { chain: { certificates: string[] } } })
    .signedCertificateEmbeddedSct;
  return new crypto.X509Certificate(chain.chain.certificates[0] as string).raw;
}

type VerifierJson = { publicKey: { rawBytes: string } } | { x509Certificate: { rawBytes: string } };

/** A CreateEntryRequest for a signature over `data` by `key`, with its public key or a certificate as the verifier. */
function hashedRekordRequest(key: TestKey, data: Buffer, options: { certificate?: Buffer; keyDetails?: string; signature?: Buffer } = {}) {
  const verifier: VerifierJson = options.certificate
    ? { x509Certificate: { rawBytes: options.certificate.toString('base64') } }
    : { publicKey: { rawBytes: spki(key.publicKey).toString('base64') } };
  return {
    hashedRekordRequestV002: {
      digest: digest(key.hash, data).toString('base64'),
      signature: {
        content: (options.signature ?? key.sign(data)).toString('base64'),
        verifier: { ...verifier, keyDetails: options.keyDetails ?? key.keyDetails },
      },
    },
  };
}

interface Answer {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: the JSON answer, checked field by field
  json: any;
}

async function createEntry(request: unknown): Promise<Answer> {
  const response = await fetch(`${stack.rekorV2.url}/api/v2/log/entries`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: typeof request === 'string' ? request : JSON.stringify(request),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, json: text ? JSON.parse(text) : undefined };
}

/** The refusal rekor-tiles answers, and the reason it logs (the last serverLog entry, if one is expected). */
async function expectRefusal(request: unknown, message: string, reason?: string | RegExp): Promise<void> {
  const logged = stack.rekorV2.serverLog.length;
  const answer = await createEntry(request);
  expect(answer.status).toBe(400);
  expect(answer.json).toEqual({ code: 3, message, details: [] });
  const reasons = stack.rekorV2.serverLog.slice(logged).map((entry) => entry.error);
  if (reason === undefined) expect(reasons).toEqual([]);
  else expect(reasons).toEqual([expect.stringMatching(typeof reason === 'string' ? `^${escapeRegExp(reason)}$` : reason)]);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A TransparencyLogEntry as @sigstore/verify's tlog functions take it. */
function logEntry(json: unknown) {
  return TransparencyLogEntry.fromJSON(json) as Parameters<typeof verifyTLogInclusion>[0];
}

function trustMaterial(keys?: Parameters<typeof toTrustMaterial>[1]) {
  return toTrustMaterial(TrustedRoot.fromJSON(stack.trustedRoot), keys);
}

/** @sigstore/verify's SignatureContent for a message signature known by digest: what verifyTLogBody compares. */
function signedDigest(signature: Buffer, messageDigest: Buffer) {
  return {
    signature,
    compareSignature: (other: Buffer) => other.equals(signature),
    compareDigest: (other: Buffer) => other.equals(messageDigest),
    verifySignature: () => false,
  };
}

async function timestamp(signature: Buffer) {
  const witness = new TSAWitness({ tsaBaseURL: stack.tsa.url, retry: 0 });
  const content = {
    $case: 'messageSignature' as const,
    messageSignature: { messageDigest: { algorithm: 1, digest: Buffer.alloc(32) }, signature },
  };
  const { rfc3161Timestamps } = await witness.testify(content);
  return rfc3161Timestamps.map((stamp) => ({ signedTimestamp: stamp.signedTimestamp.toString('base64') }));
}

beforeAll(async () => {
  await stack.start();
  KEYS['ECDSA P-256'] = nodeKey('PKIX_ECDSA_P256_SHA_256', 'sha256', crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }));
  KEYS['ECDSA P-384'] = nodeKey('PKIX_ECDSA_P384_SHA_384', 'sha384', crypto.generateKeyPairSync('ec', { namedCurve: 'P-384' }));
  KEYS['ECDSA P-521'] = nodeKey('PKIX_ECDSA_P521_SHA_512', 'sha512', crypto.generateKeyPairSync('ec', { namedCurve: 'P-521' }));
  for (const bits of [2048, 3072, 4096]) {
    const pair = crypto.generateKeyPairSync('rsa', { modulusLength: bits });
    KEYS[`RSA-${bits} PKCS#1 v1.5`] = nodeKey(`PKIX_RSA_PKCS1V15_${bits}_SHA256`, 'sha256', pair);
  }
  KEYS.Ed25519ph = ed25519phKey();
}, 60_000);
afterAll(() => stack.stop());

describe('POST /api/v2/log/entries logs what rekor-tiles accepts', () => {
  const kinds = [
    'ECDSA P-256',
    'ECDSA P-384',
    'ECDSA P-521',
    'RSA-2048 PKCS#1 v1.5',
    'RSA-3072 PKCS#1 v1.5',
    'RSA-4096 PKCS#1 v1.5',
    'Ed25519ph',
  ];
  const cases = kinds.flatMap((kind) => [
    [kind, 'publicKey'],
    [kind, 'x509Certificate'],
  ]);

  it.each(cases)('%s, verifier %s: a hashedrekord 0.0.2 TransparencyLogEntry that @sigstore/verify accepts', async (kind, verifierKind) => {
    const key = KEYS[kind] as TestKey;
    const data = Buffer.from(`${ARTIFACT} (${kind}, ${verifierKind})`);
    const certificate = verifierKind === 'x509Certificate' ? await certify(key) : undefined;
    const request = hashedRekordRequest(key, data, { certificate });
    const answer = await createEntry(request);
    expect(answer.status).toBe(201);

    // As the gateway writes it: every field, int64 as strings, no integrated time, no promise.
    const index = Number(answer.json.logIndex);
    expect(answer.json).toEqual({
      logIndex: String(index),
      logId: { keyId: stack.rekorV2.log.logId.toString('base64') },
      kindVersion: { kind: 'hashedrekord', version: '0.0.2' },
      integratedTime: '0',
      inclusionPromise: null,
      inclusionProof: {
        logIndex: String(index),
        rootHash: expect.any(String),
        treeSize: String(index + 1),
        hashes: expect.any(Array),
        checkpoint: { envelope: expect.any(String) },
      },
      canonicalizedBody: expect.any(String),
    });
    // The entry rekor-tiles stores: the request's signature as sent, the digest with the hash the key details name.
    const body = Buffer.from(answer.json.canonicalizedBody, 'base64').toString('utf8');
    const algorithm = { sha256: 'SHA2_256', sha384: 'SHA2_384', sha512: 'SHA2_512' }[key.hash];
    const { digest: requestDigest, signature } = request.hashedRekordRequestV002;
    expect(body).toBe(
      canonicalJson({
        apiVersion: '0.0.2',
        kind: 'hashedrekord',
        spec: { hashedRekordV002: { data: { algorithm, digest: requestDigest }, signature } },
      }),
    );

    const entry = logEntry(answer.json);
    expect(() => verifyTLogInclusion(entry, trustMaterial().tlogs)).not.toThrow();
    const logged = Buffer.from(signature.content, 'base64');
    expect(() => verifyTLogBody(entry, signedDigest(logged, digest(key.hash, data)))).not.toThrow();
    expect(() => verifyTLogBody(entry, signedDigest(logged, digest(key.hash, Buffer.from('another artifact'))))).toThrow(/digest mismatch/);
  });

  it('a keyless P-256 message signature: sigstore-js signs with the Rekor v2 signing config, and its bundle verifies', async () => {
    const before = { v1: stack.rekor.calls('CreateEntry').length, v2: stack.rekorV2.calls('CreateEntry').length };
    const builder = bundleBuilderFromSigningConfig({
      signingConfig: SigningConfig.fromJSON(stack.signingConfigRekorV2),
      identityProvider: stack.identityProvider({ email: EMAIL }),
      bundleType: 'messageSignature',
    });
    const bundle = bundleToJSON(await builder.create({ data: ARTIFACT }));
    expect(stack.rekorV2.calls('CreateEntry').length - before.v2).toBe(1);
    expect(stack.rekor.calls('CreateEntry').length - before.v1).toBe(0);
    const [entry] = bundle.verificationMaterial.tlogEntries;
    expect(entry?.kindVersion).toEqual({ kind: 'hashedrekord', version: '0.0.2' });
    expect(entry?.inclusionPromise).toBeUndefined();
    // The log gives no verified time: the TSA's timestamp is the one the verifier counts.
    const signer = new Verifier(trustMaterial()).verify(toSignedEntity(bundleFromJSON(bundle), ARTIFACT), {
      subjectAlternativeName: `^${escapeRegExp(EMAIL)}$`,
      extensions: { issuer: stack.oidc.url },
    });
    expect(signer.identity?.subjectAlternativeName).toBe(EMAIL);
    expect(() => new Verifier(trustMaterial(), { timestampThreshold: 2 }).verify(toSignedEntity(bundleFromJSON(bundle), ARTIFACT))).toThrow(
      /expected 2 timestamps, got 1/,
    );
  });

  it('a P-256 public-key message signature with a TSA timestamp verifies with @sigstore/verify', async () => {
    const key = KEYS['ECDSA P-256'] as TestKey;
    const data = Buffer.from(`${ARTIFACT} (public key bundle)`);
    const request = hashedRekordRequest(key, data);
    const answer = await createEntry(request);
    expect(answer.status).toBe(201);
    const signature = Buffer.from(request.hashedRekordRequestV002.signature.content, 'base64');
    const hint = crypto.createHash('sha256').update(spki(key.publicKey)).digest('base64');
    const bundle = {
      mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
      verificationMaterial: {
        publicKey: { hint },
        tlogEntries: [answer.json],
        timestampVerificationData: { rfc3161Timestamps: await timestamp(signature) },
      },
      messageSignature: {
        messageDigest: { algorithm: 'SHA2_256', digest: request.hashedRekordRequestV002.digest },
        signature: signature.toString('base64'),
      },
    };
    const keys = { [hint]: { rawBytes: spki(key.publicKey), keyDetails: 5 /* PKIX_ECDSA_P256_SHA_256 */, validFor: undefined } };
    const verifier = new Verifier(trustMaterial(keys));
    expect(() => verifier.verify(toSignedEntity(bundleFromJSON(bundle), data))).not.toThrow();
    expect(() => verifier.verify(toSignedEntity(bundleFromJSON(bundle), Buffer.from('another artifact')))).toThrow();
  });

  it('a DSSE envelope, logged as a hashedrekord over SHA-256 of its PAE with its signature, verifies', async () => {
    const key = KEYS['ECDSA P-256'] as TestKey;
    const certificate = await certify(key);
    const payloadType = 'application/vnd.in-toto+json';
    const payload = Buffer.from(
      JSON.stringify({ _type: 'https://in-toto.io/Statement/v1', subject: [], predicateType: 'x', predicate: {} }),
    );
    const pae = dsse.preAuthEncoding(payloadType, payload);
    const sig = key.sign(pae);
    const answer = await createEntry(hashedRekordRequest(key, pae, { certificate, signature: sig }));
    expect(answer.status).toBe(201);
    const bundle = {
      mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
      verificationMaterial: {
        certificate: { rawBytes: certificate.toString('base64') },
        tlogEntries: [answer.json],
        timestampVerificationData: { rfc3161Timestamps: await timestamp(sig) },
      },
      dsseEnvelope: { payload: payload.toString('base64'), payloadType, signatures: [{ sig: sig.toString('base64'), keyid: '' }] },
    };
    const policy = { subjectAlternativeName: `^${escapeRegExp(EMAIL)}$`, extensions: { issuer: stack.oidc.url } };
    const verifier = new Verifier(trustMaterial());
    // @sigstore/verify 3.1 compares a DSSE entry's digest with the payload's; 4.1 (and Signet's
    // core) take the PAE's for a hashedrekord, which is what rekor-tiles now logs.
    expect(() => verifier.verify(toSignedEntity(bundleFromJSON(bundle)), policy)).toThrow(/digest mismatch/);
    const entity = toSignedEntity(bundleFromJSON(bundle));
    const envelope = entity.signature;
    entity.signature = {
      signature: envelope.signature,
      compareSignature: (other) => envelope.compareSignature(other),
      compareDigest: (other) => other.equals(digest('sha256', pae)),
      verifySignature: (publicKey) => envelope.verifySignature(publicKey),
    };
    expect(verifier.verify(entity, policy).identity?.subjectAlternativeName).toBe(EMAIL);
  });

  it('accepts the proto field names too (key_details, public_key, raw_bytes), as the gateway does', async () => {
    const key = KEYS['ECDSA P-256'] as TestKey;
    const data = Buffer.from(`${ARTIFACT} (snake_case)`);
    const answer = await createEntry({
      hashed_rekord_request_v002: {
        digest: digest('sha256', data).toString('base64'),
        signature: {
          content: key.sign(data).toString('base64'),
          verifier: { key_details: 'PKIX_ECDSA_P256_SHA_256', public_key: { raw_bytes: spki(key.publicKey).toString('base64') } },
        },
      },
    });
    expect(answer.status).toBe(201);
  });

  it('the same entry again: 409 with the index of the first, in x-log-index', async () => {
    const request = hashedRekordRequest(KEYS['ECDSA P-256'] as TestKey, Buffer.from(`${ARTIFACT} (twice)`));
    const first = await createEntry(request);
    const again = await createEntry(request);
    expect(again.status).toBe(409);
    expect(again.headers.get('x-log-index')).toBe(first.json.logIndex);
    expect(again.json).toEqual({
      code: 6,
      message: `an equivalent entry already exists in the transparency log with index ${first.json.logIndex}`,
      details: [],
    });
  });
});

describe('POST /api/v2/log/entries refuses as rekor-tiles does', () => {
  const P256 = () => KEYS['ECDSA P-256'] as TestKey;
  const data = Buffer.from(`${ARTIFACT} (refused)`);

  it('a dsseRequestV002 (the dsse type is gone since v2.3.0): 400 "invalid type, must be hashedrekord"', async () => {
    const key = P256();
    const pae = dsse.preAuthEncoding('text/plain', data);
    await expectRefusal(
      {
        dsseRequestV002: {
          envelope: {
            payload: data.toString('base64'),
            payloadType: 'text/plain',
            signatures: [{ sig: key.sign(pae).toString('base64'), keyid: '' }],
          },
          verifiers: [{ publicKey: { rawBytes: spki(key.publicKey).toString('base64') }, keyDetails: 'PKIX_ECDSA_P256_SHA_256' }],
        },
      },
      'invalid type, must be hashedrekord',
    );
  });

  it('a DSSE bundle from sigstore-js (it still sends dsseRequestV002) is refused the same way', async () => {
    const builder = new DSSEBundleBuilder({
      signer: new FulcioSigner({ fulcioBaseURL: stack.fulcio.url, identityProvider: stack.identityProvider({ email: EMAIL }), retry: 0 }),
      witnesses: [new RekorWitness({ rekorBaseURL: stack.rekorV2.url, majorApiVersion: 2, retry: 0 })],
    });
    await expect(builder.create({ data, type: 'text/plain' })).rejects.toThrow(/400|invalid type, must be hashedrekord/);
    expect(stack.rekorV2.calls('CreateEntry').at(-1)?.status).toBe(400);
  });

  it('no entry at all ({} or an empty body): 400 "invalid type, must be hashedrekord"', async () => {
    await expectRefusal({}, 'invalid type, must be hashedrekord');
    await expectRefusal('', 'invalid type, must be hashedrekord');
  });

  it('pure Ed25519 (PKIX_ED25519, refused since #927): 400 "invalid hashedrekord request"', async () => {
    const pair = crypto.generateKeyPairSync('ed25519');
    const key: TestKey = { keyDetails: 'PKIX_ED25519', hash: 'sha512', ...pair, sign: (d) => crypto.sign(null, d, pair.privateKey) };
    await expectRefusal(
      hashedRekordRequest(key, data),
      'invalid hashedrekord request',
      'unsupported entry algorithm for Ed25519 key, digest unknown hash value 0',
    );
  });

  it('a P-384 key labelled PKIX_ECDSA_P256_SHA_256: 400', async () => {
    const mislabelled = nodeKey('PKIX_ECDSA_P256_SHA_256', 'sha256', crypto.generateKeyPairSync('ec', { namedCurve: 'P-384' }));
    await expectRefusal(
      hashedRekordRequest(mislabelled, data),
      'invalid hashedrekord request',
      'unsupported entry algorithm for ECDSA key, curve P-384, digest SHA-256',
    );
  });

  it('an RSA key labelled as ECDSA with another hash (PKIX_ECDSA_P384_SHA_384): 400', async () => {
    const rsa = KEYS['RSA-2048 PKCS#1 v1.5'] as TestKey;
    await expectRefusal(
      hashedRekordRequest({ ...rsa, hash: 'sha384' }, data, { keyDetails: 'PKIX_ECDSA_P384_SHA_384' }),
      'invalid hashedrekord request',
      'unsupported entry algorithm for RSA key, size 2048, digest SHA-384',
    );
  });

  it('but, as in rekor-tiles, the key details only choose the hash: an RSA key labelled PKIX_ECDSA_P256_SHA_256 is logged', async () => {
    const rsa = KEYS['RSA-2048 PKCS#1 v1.5'] as TestKey;
    const answer = await createEntry(
      hashedRekordRequest(rsa, Buffer.from(`${ARTIFACT} (RSA as P-256)`), { keyDetails: 'PKIX_ECDSA_P256_SHA_256' }),
    );
    expect(answer.status).toBe(201);
    expect(Buffer.from(answer.json.canonicalizedBody, 'base64').toString()).toContain('"keyDetails":"PKIX_ECDSA_P256_SHA_256"');
  });

  it('an RSA-PSS signature (PKIX_RSA_PSS_2048_SHA256): 400, rekor-tiles checks RSA signatures as PKCS#1 v1.5', async () => {
    const pair = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pss: TestKey = {
      keyDetails: 'PKIX_RSA_PSS_2048_SHA256',
      hash: 'sha256',
      ...pair,
      sign: (d) => crypto.sign('sha256', d, { key: pair.privateKey, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }),
    };
    await expectRefusal(
      hashedRekordRequest(pss, data),
      'invalid hashedrekord request',
      'verifying signature: crypto/rsa: verification error',
    );
  });

  it('a signature that does not verify: 400', async () => {
    const key = P256();
    await expectRefusal(
      hashedRekordRequest(key, data, { signature: key.sign(Buffer.from('something else')) }),
      'invalid hashedrekord request',
      'verifying signature: invalid signature when validating ASN.1 encoded signature',
    );
    const ed = KEYS.Ed25519ph as TestKey;
    await expectRefusal(
      hashedRekordRequest(ed, data, { signature: ed.sign(Buffer.from('something else')) }),
      'invalid hashedrekord request',
      'verifying signature: ed25519: invalid signature',
    );
  });

  it('a digest of another length than the key details hash: 400 (P-384 takes SHA-384, 48 bytes)', async () => {
    const key = KEYS['ECDSA P-384'] as TestKey;
    const request = hashedRekordRequest(key, data);
    request.hashedRekordRequestV002.digest = digest('sha256', data).toString('base64');
    await expectRefusal(
      request,
      'invalid hashedrekord request',
      'digest length (32) does not match expected size (48) for algorithm SHA-384',
    );
  });

  it('a public key Go does not read (trailing bytes, a compressed EC point): 400', async () => {
    const key = P256();
    const request = hashedRekordRequest(key, data);
    const der = spki(key.publicKey);
    request.hashedRekordRequestV002.signature.verifier = {
      publicKey: { rawBytes: Buffer.concat([der, Buffer.of(0)]).toString('base64') },
      keyDetails: key.keyDetails,
    };
    await expectRefusal(
      request,
      'invalid hashedrekord request',
      'parsing verifier: parsing public key: x509: malformed or trailing data in public key',
    );
    const { x, y } = key.publicKey.export({ format: 'jwk' });
    const point = Buffer.concat([Buffer.of(4), Buffer.from(x ?? '', 'base64url'), Buffer.from(y ?? '', 'base64url')]);
    const compressed = crypto.ECDH.convertKey(point, 'prime256v1', undefined, undefined, 'compressed') as Buffer;
    // SubjectPublicKeyInfo { id-ecPublicKey, prime256v1 } with the 33-byte point.
    const compressedSpki = Buffer.concat([Buffer.from('3039301306072a8648ce3d020106082a8648ce3d030107032200', 'hex'), compressed]);
    expect(crypto.createPublicKey({ key: compressedSpki, format: 'der', type: 'spki' }).asymmetricKeyType).toBe('ec');
    request.hashedRekordRequestV002.signature.verifier = {
      publicKey: { rawBytes: compressedSpki.toString('base64') },
      keyDetails: key.keyDetails,
    };
    await expectRefusal(
      request,
      'invalid hashedrekord request',
      'parsing verifier: parsing public key: x509: failed to unmarshal elliptic curve point',
    );
  });

  it('a certificate that is not one: 400', async () => {
    await expectRefusal(
      hashedRekordRequest(P256(), data, { certificate: Buffer.from('not a certificate') }),
      'invalid hashedrekord request',
      /^parsing verifier: parsing certificate: /,
    );
  });

  it.each([
    ['no signature', (r: Record<string, unknown>) => delete r.signature, 'missing signature'],
    ['an empty signature', (r: { signature: { content: string } }) => (r.signature.content = ''), 'missing signature'],
    ['no verifier', (r: { signature: Record<string, unknown> }) => delete r.signature.verifier, 'missing verifier'],
    ['no digest', (r: Record<string, unknown>) => delete r.digest, 'missing digest'],
    [
      'a verifier with no key',
      (r: { signature: { verifier: Record<string, unknown> } }) => delete r.signature.verifier.publicKey,
      'invalid verifier: missing signature public key or X.509 certificate',
    ],
    [
      'an empty public key',
      (r: { signature: { verifier: { publicKey: { rawBytes: string } } } }) => (r.signature.verifier.publicKey.rawBytes = ''),
      'invalid verifier: missing public key raw bytes',
    ],
    [
      'no key details',
      (r: { signature: { verifier: Record<string, unknown> } }) => delete r.signature.verifier.keyDetails,
      'getting key algorithm details: could not find algorithm details for known signature algorithm: PUBLIC_KEY_DETAILS_UNSPECIFIED',
    ],
    [
      'key details no algorithm has (ML_DSA_65)',
      (r: { signature: { verifier: Record<string, unknown> } }) => (r.signature.verifier.keyDetails = 'ML_DSA_65'),
      'getting key algorithm details: could not find algorithm details for known signature algorithm: ML_DSA_65',
    ],
  ])('%s: 400 "invalid hashedrekord request"', async (_name, edit, reason) => {
    const request = hashedRekordRequest(P256(), data);
    (edit as (r: unknown) => void)(request.hashedRekordRequestV002);
    await expectRefusal(request, 'invalid hashedrekord request', reason);
  });

  it.each([
    ['cut short', '{"hashedRekordRequestV002":{"digest":', 'unexpected EOF'],
    ['not JSON', 'not json', "invalid character 'o' in literal null (expecting 'u')"],
    ['a missing colon', '{"hashedRekordRequestV002" {}}', "invalid character '{' after object key"],
    ['a trailing comma', '{"hashedRekordRequestV002":{},}', "invalid character '}' looking for beginning of object key string"],
    ['not an object', '[]', 'proto: syntax error (line 1:1): unexpected token ['],
    ['a number', ' 5', 'proto: syntax error (line 1:1): unexpected token 5'],
    ['an unknown field', '{"hashedRekordRequestV002":{},"extra":1}', 'proto: (line 1:31): unknown field "extra"'],
    ['a field twice', '{"hashedRekordRequestV002":{"digest":"","digest":""}}', 'proto: (line 1:41): duplicate field "digest"'],
    ['a message that is a string', '{"hashedRekordRequestV002":"x"}', 'proto: syntax error (line 1:28): unexpected token "x"'],
    ['digest not base64', '{"hashedRekordRequestV002":{"digest":"!!"}}', 'proto: (line 1:38): invalid value for bytes field digest: "!!"'],
    [
      'an unknown key details name',
      '{"hashedRekordRequestV002":{"signature":{"verifier":{"keyDetails":"PKIX_FOO"}}}}',
      'proto: (line 1:67): invalid value for enum field keyDetails: "PKIX_FOO"',
    ],
    [
      'both a public key and a certificate',
      '{"hashedRekordRequestV002":{"signature":{"verifier":{"publicKey":{},\n "x509Certificate":{}}}}}',
      'proto: (line 2:2): error parsing "x509Certificate", oneof dev.sigstore.rekor.v2.Verifier.verifier is already set',
    ],
    [
      'a DSSE and a hashedrekord request',
      '{"hashedRekordRequestV002":{},"dsseRequestV002":{}}',
      'proto: (line 1:31): error parsing "dsseRequestV002", oneof dev.sigstore.rekor.v2.CreateEntryRequest.spec is already set',
    ],
  ])("malformed: %s → 400 with the gateway decoder's message", async (_name, body, message) => {
    await expectRefusal(body, message);
  });

  it('a body over 4 MiB: 400 "http: request body too large"', async () => {
    await expectRefusal(`{"x":"${'a'.repeat(4 * 1024 * 1024)}"}`, 'http: request body too large');
  });

  it('other methods and paths answer as the gateway does', async () => {
    const get = await fetch(`${stack.rekorV2.url}/api/v2/log/entries`);
    expect([get.status, await get.json()]).toEqual([501, { code: 12, message: 'Method Not Allowed', details: [] }]);
    const unknown = await fetch(`${stack.rekorV2.url}/api/v2/log`);
    expect([unknown.status, await unknown.json()]).toEqual([404, { code: 5, message: 'Not Found', details: [] }]);
    const health = await fetch(`${stack.rekorV2.url}/healthz`);
    expect(await health.json()).toEqual({ status: 'SERVING' });
  });
});

/** A monitor's view of the log: the checkpoint, tiles and entry bundles, over HTTP. */
async function read(path: string): Promise<{ status: number; bytes: Buffer; type: string | null }> {
  const response = await fetch(`${stack.rekorV2.url}${path}`);
  return { status: response.status, bytes: Buffer.from(await response.arrayBuffer()), type: response.headers.get('content-type') };
}

function parseCheckpoint(text: string) {
  const [note, signatures] = text.split('\n\n') as [string, string];
  const [origin, size, root] = note.split('\n') as [string, string, string];
  const [, name, signature] = /^\u2014 (\S+) (\S+)\n$/.exec(signatures) ?? [];
  return {
    note: `${note}\n`,
    origin,
    size: Number(size),
    root: Buffer.from(root, 'base64'),
    name,
    signature: Buffer.from(signature ?? '', 'base64'),
  };
}

/** The root of a tree of `size` leaves, from tiles only: complete subtrees from tile hashes, the rest hashed up. */
async function rootFromTiles(size: number): Promise<Buffer> {
  const tiles = new Map<string, Buffer>();
  async function node(height: number, index: number): Promise<Buffer> {
    if (height % 8 !== 0) return hashChildren(await node(height - 1, 2 * index), await node(height - 1, 2 * index + 1));
    const level = height / 8;
    const tile = Math.floor(index / 256);
    // Hashes this level has in a tree of `size`: the tile is full, or partial that wide.
    const width = Math.min(256, Math.floor(size / 2 ** height) - tile * 256);
    const path = tilePath(level, tile, width);
    if (!tiles.has(path)) {
      let answer = await read(path);
      // A partial tile of a tile that has filled since: the full one starts with the same hashes.
      if (answer.status === 404 && width < 256) answer = await read(tilePath(level, tile));
      expect([path, answer.status]).toEqual([path, 200]);
      tiles.set(path, answer.bytes.subarray(0, width * 32));
    }
    const offset = (index % 256) * 32;
    return (tiles.get(path) as Buffer).subarray(offset, offset + 32);
  }
  async function subtree(start: number, end: number): Promise<Buffer> {
    const n = end - start;
    if ((n & (n - 1)) === 0) return node(Math.log2(n), start / n);
    let k = 1;
    while (k * 2 < n) k *= 2;
    return hashChildren(await subtree(start, start + k), await subtree(start + k, end));
  }
  return subtree(0, size);
}

function entriesOf(bundle: Buffer): Buffer[] {
  const entries: Buffer[] = [];
  for (let at = 0; at < bundle.length; ) {
    const length = bundle.readUInt16BE(at);
    entries.push(bundle.subarray(at + 2, at + 2 + length));
    at += 2 + length;
  }
  return entries;
}

describe('the tiles API (c2sp.org/tlog-tiles), at the root of the log URL as log2025-1 serves it', () => {
  const bodies = new Map<number, string>();
  let early: Answer;

  beforeAll(async () => {
    early = await createEntry(hashedRekordRequest(KEYS['ECDSA P-256'] as TestKey, Buffer.from('an early entry')));
    // Past one full tile, so that tile 0 is full, tile 1 partial, and level 1 has a hash.
    const key = KEYS['ECDSA P-256'] as TestKey;
    for (let batch = 0; stack.rekorV2.log.size < 300; batch++) {
      const answers = await Promise.all(
        Array.from({ length: 25 }, (_, i) => createEntry(hashedRekordRequest(key, Buffer.from(`entry ${batch}.${i}`)))),
      );
      for (const answer of answers) {
        expect(answer.status).toBe(201);
        bodies.set(Number(answer.json.logIndex), answer.json.canonicalizedBody);
      }
    }
  }, 60_000);

  it('/checkpoint: a C2SP checkpoint signed by the log key in the trusted root', async () => {
    const { status, bytes, type } = await read('/checkpoint');
    expect([status, type]).toEqual([200, 'text/plain; charset=utf-8']);
    const checkpoint = parseCheckpoint(bytes.toString('utf8'));
    const log = stack.trustedRoot.tlogs[1];
    expect(checkpoint.origin).toBe(new URL(stack.rekorV2.url).host);
    expect(checkpoint.name).toBe(checkpoint.origin);
    expect(checkpoint.size).toBe(stack.rekorV2.log.size);
    // Key ID: SHA-256(origin ‖ 0x0A ‖ 0x01 ‖ key)[:4], the trusted root's log id's first 4 bytes.
    expect(checkpoint.signature.subarray(0, 4)).toEqual(Buffer.from(log?.logId.keyId ?? '', 'base64').subarray(0, 4));
    const publicKey = crypto.createPublicKey({ key: Buffer.from(log?.publicKey.rawBytes ?? '', 'base64'), format: 'der', type: 'spki' });
    expect(crypto.verify(null, Buffer.from(checkpoint.note), publicKey, checkpoint.signature.subarray(4))).toBe(true);
    expect(() =>
      verifyCheckpoint({ inclusionProof: { checkpoint: { envelope: bytes.toString() } } } as never, trustMaterial().tlogs),
    ).not.toThrow();
  });

  it("the root recomputed from the tiles (levels 0 and 1, full and partial) is the checkpoint's", async () => {
    const checkpoint = parseCheckpoint((await read('/checkpoint')).bytes.toString('utf8'));
    expect(checkpoint.size).toBeGreaterThan(256);
    expect(await rootFromTiles(checkpoint.size)).toEqual(checkpoint.root);
    // Level 1's first hash is the root of level 0's first full tile.
    const level0 = (await read('/tile/0/000')).bytes;
    const level1 = (await read(tilePath(1, 0, 1))).bytes;
    let hashes = Array.from({ length: 256 }, (_, i) => level0.subarray(i * 32, i * 32 + 32));
    while (hashes.length > 1) hashes = hashes.flatMap((h, i) => (i % 2 === 0 ? [hashChildren(h, hashes[i + 1] as Buffer)] : []));
    expect(level1).toEqual(hashes[0]);
  });

  it('entry bundles hold the canonicalized bodies in log order; level-0 tiles their leaf hashes', async () => {
    const size = stack.rekorV2.log.size;
    const full = entriesOf((await read('/tile/entries/000')).bytes);
    const partial = entriesOf((await read(tilePath('entries', 1, size - 256))).bytes);
    const entries = [...full, ...partial];
    expect(entries).toHaveLength(size);
    for (const [index, body] of bodies) expect(entries[index]?.toString('base64')).toBe(body);
    const leaves = Buffer.concat([(await read('/tile/0/000')).bytes, (await read(tilePath(0, 1, size - 256))).bytes]);
    expect(leaves).toEqual(Buffer.concat(entries.map((entry) => hashLeaf(entry))));
  });

  it('partial tiles: any width up to what the tile has; none wider, and none once the tile is full', async () => {
    const width = stack.rekorV2.log.size - 256;
    const widest = (await read(tilePath(0, 1, width))).bytes;
    const { bytes, type } = await read(tilePath(0, 1, 3));
    expect([bytes, type]).toEqual([widest.subarray(0, 96), 'application/octet-stream']);
    expect(entriesOf((await read(tilePath('entries', 1, 2))).bytes)).toHaveLength(2);
    const missing = [
      tilePath(0, 1, width + 1),
      '/tile/0/001', // not full yet
      '/tile/entries/001',
      tilePath(0, 0, 5), // tile 0 is full: its partials are garbage-collected, as Tessera does
      '/tile/1/000', // level 1 has one hash
      '/tile/0/002',
      '/tile/0/000.p/0',
      '/tile/0/000.p/256',
      '/tile/0/x000/000',
      '/tile/0/0',
      '/tile/64/000',
    ];
    for (const path of missing) {
      const answer = await read(path);
      expect([path, answer.status, answer.bytes.toString()]).toEqual([path, 404, expect.stringContaining('<Code>NoSuchKey</Code>')]);
    }
  });

  it('tile paths: 3-digit groups, x-prefixed but the last', () => {
    expect([tilePath(0, 0), tilePath(0, 1234067), tilePath(2, 1000, 7), tilePath('entries', 5)]).toEqual([
      '/tile/0/000',
      '/tile/0/x001/x234/067',
      '/tile/2/x001/000.p/7',
      '/tile/entries/005',
    ]);
  });

  it('rekor-tiles itself does not serve tiles under /api/v2: 501', async () => {
    for (const [path, method] of [
      ['/api/v2/checkpoint', 'GetCheckpoint'],
      ['/api/v2/tile/0/000', 'GetTile'],
      ['/api/v2/tile/entries/000', 'GetEntryBundle'],
    ]) {
      const response = await fetch(`${stack.rekorV2.url}${path}`);
      expect([response.status, await response.json()]).toEqual([
        501,
        { code: 12, message: `method ${method} not implemented`, details: [] },
      ]);
    }
  });

  it('an inclusion proof is for the tree the entry was logged in, whose root the tiles still give', async () => {
    const late = await createEntry(hashedRekordRequest(KEYS['ECDSA P-256'] as TestKey, Buffer.from('a late entry')));
    for (const answer of [early, late]) {
      expect(() => verifyTLogInclusion(logEntry(answer.json), trustMaterial().tlogs)).not.toThrow();
      const { treeSize, rootHash } = answer.json.inclusionProof;
      expect(await rootFromTiles(Number(treeSize))).toEqual(Buffer.from(rootHash, 'base64'));
    }
    expect(Number(early.json.inclusionProof.treeSize)).toBeLessThan(256);
  });
});

describe('faults, request log, restart', () => {
  afterEach(() => stack.rekorV2.faults.clear());

  it("status and throttling faults answer in the gateway's format; the request log names the operation", async () => {
    stack.rekorV2.faults.add({ fault: { kind: 'status', status: 503, message: 'reached max pushback; retry' }, operation: 'CreateEntry' });
    stack.rekorV2.faults.add({ fault: { kind: 'throttle', retryAfterSeconds: 7 }, operation: 'CreateEntry' });
    const request = hashedRekordRequest(KEYS['ECDSA P-256'] as TestKey, Buffer.from('faulted'));
    const unavailable = await createEntry(request);
    expect([unavailable.status, unavailable.json]).toEqual([503, { code: 14, message: 'reached max pushback; retry', details: [] }]);
    const throttled = await createEntry(request);
    expect([throttled.status, throttled.headers.get('retry-after'), throttled.json.code]).toEqual([429, '7', 8]);
    expect((await createEntry(request)).status).toBe(201);
    expect(
      stack.rekorV2
        .calls('CreateEntry')
        .slice(-3)
        .map((call) => [call.status, call.fault]),
    ).toEqual([
      [503, 'status'],
      [429, 'throttle'],
      [201, undefined],
    ]);
  });

  it('corrupt tiles and checkpoints, for monitors: a flipped bit, a checkpoint its signature no longer covers', async () => {
    const good = (await read('/tile/0/000')).bytes;
    stack.rekorV2.faults.add({ fault: { kind: 'corrupt' }, operation: 'ReadTile' });
    const bad = (await read('/tile/0/000')).bytes;
    expect(bad.equals(good)).toBe(false);
    expect(bad.subarray(1)).toEqual(good.subarray(1));

    stack.rekorV2.faults.add({ fault: { kind: 'corrupt' }, operation: 'ReadCheckpoint' });
    const envelope = (await read('/checkpoint')).bytes.toString();
    expect(() => verifyCheckpoint({ inclusionProof: { checkpoint: { envelope } } } as never, trustMaterial().tlogs)).toThrow(
      /invalid checkpoint signature/,
    );
    stack.rekorV2.faults.add({ fault: { kind: 'status', status: 503 }, operation: 'ReadEntryBundle' });
    expect((await read('/tile/entries/000')).status).toBe(503);
  });

  it('stopped, it is dead; started again, it is back on the same URL with the same log and key', async () => {
    const url = stack.rekorV2.url;
    const checkpoint = (await read('/checkpoint')).bytes.toString();
    await stack.rekorV2.stop();
    await expect(fetch(`${url}/checkpoint`)).rejects.toThrow();
    await stack.rekorV2.start();
    expect(stack.rekorV2.url).toBe(url);
    const after = parseCheckpoint((await read('/checkpoint')).bytes.toString());
    expect(after.note).toBe(parseCheckpoint(checkpoint).note);
    expect(() =>
      verifyCheckpoint({ inclusionProof: { checkpoint: { envelope: checkpoint } } } as never, trustMaterial().tlogs),
    ).not.toThrow();
  });
});
