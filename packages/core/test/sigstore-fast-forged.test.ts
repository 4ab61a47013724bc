// Leaf certificates a trusted CA signed over a malformed public key: OpenSSL (and so
// @sigstore/verify, which imports the key from its DER) refuses them, and the fast path must not
// accept them from the curve point (found by review: a SubjectPublicKeyInfo tagged SET, an
// AlgorithmIdentifier tagged SET, an OID padded with 0x80 were accepted). Each case is a whole
// trusted root of the test's own (CA, CT log, @sigstore/mock's TSA) and a bundle signed under it.
import crypto from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { ASN1Obj } from '@sigstore/core';
import { createVerifier, parseBundle, parseTrustedRoot, SignetError } from '../src/index';

const { initializeTSA } = require('@sigstore/mock/dist/timestamp') as {
  initializeTSA(
    key: crypto.KeyPairKeyObjectResult,
    clock?: Date,
  ): Promise<{
    rootCertificate: Buffer;
    intCertificate: Buffer;
    timestamp(request: object): Promise<Buffer>;
  }>;
};

x509.cryptoProvider.set(crypto.webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
const ISSUER = 'https://issuer.example';
const SAN = 'https://forged.example/id';
const artifact = Buffer.from('hello\n');
type Node = { toDER(): Buffer };
const Obj = ASN1Obj as unknown as new (tag: unknown, value: Buffer, subs: Node[]) => ASN1Obj;

// Forged DER for the attack itself (a test's hand, not a parser): tag, length, content.
function tlv(tag: number, content: Buffer): Buffer {
  const n = content.length;
  const length = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return Buffer.concat([Buffer.from([tag, ...length]), content]);
}
const raw = (der: Buffer): Node => ({ toDER: () => der });
const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);

const ec = () => crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
const webKey = (key: crypto.KeyObject, usage: 'sign' | 'verify') =>
  crypto.webcrypto.subtle.importKey(
    usage === 'sign' ? 'pkcs8' : 'spki',
    key.export({ format: 'der', type: usage === 'sign' ? 'pkcs8' : 'spki' }),
    { name: 'ECDSA', namedCurve: 'P-256' },
    true,
    [usage],
  );

let world: {
  ca: crypto.KeyPairKeyObjectResult;
  ct: crypto.KeyPairKeyObjectResult;
  caCert: x509.X509Certificate;
  tsa: Awaited<ReturnType<typeof initializeTSA>>;
  root: ReturnType<typeof parseTrustedRoot>;
};
let leafKeys: crypto.KeyPairKeyObjectResult;
// The mock stamps its clock's time, and pkijs writes milliseconds in as few digits as they take
// (".5"), which @sigstore/core does not read (three digits or none): so the clock shows whole
// seconds, set before each stamp, as the emulators' TSA does.
const tsaClock = new Date();
let base: Buffer;

beforeAll(async () => {
  const ca = ec();
  const ct = ec();
  const caCert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=forged-test-ca',
    notBefore: new Date('2020-01-01T00:00:00Z'),
    notAfter: new Date('2040-01-01T00:00:00Z'),
    keys: { privateKey: await webKey(ca.privateKey, 'sign'), publicKey: await webKey(ca.publicKey, 'verify') },
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true),
      await x509.SubjectKeyIdentifierExtension.create(await webKey(ca.publicKey, 'verify'), false),
    ],
  });
  const tsa = await initializeTSA(ec(), tsaClock);
  const ctSpki = ct.publicKey.export({ format: 'der', type: 'spki' });
  const start = '2000-01-01T00:00:00Z';
  const root = parseTrustedRoot({
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [],
    certificateAuthorities: [
      {
        subject: { commonName: 'forged-test-ca' },
        uri: 'https://ca.example',
        certChain: { certificates: [{ rawBytes: Buffer.from(caCert.rawData).toString('base64') }] },
        validFor: { start },
      },
    ],
    ctlogs: [
      {
        baseUrl: 'https://ct.example',
        hashAlgorithm: 'SHA2_256',
        publicKey: { rawBytes: ctSpki.toString('base64'), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start } },
        logId: { keyId: crypto.createHash('sha256').update(ctSpki).digest('base64') },
      },
    ],
    timestampAuthorities: [
      {
        subject: { commonName: 'tsa' },
        uri: 'https://tsa.example',
        certChain: {
          certificates: [tsa.intCertificate, tsa.rootCertificate].map((c) => ({ rawBytes: Buffer.from(c).toString('base64') })),
        },
        validFor: { start },
      },
    ],
  });
  world = { ca, ct, caCert, tsa, root };
  leafKeys = ec();
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: '1234',
    subject: '',
    issuer: caCert.subject,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 9 * 60_000),
    publicKey: await webKey(leafKeys.publicKey, 'verify'),
    signingKey: await webKey(ca.privateKey, 'sign'),
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: [
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.codeSigning]),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: SAN }], true),
      await x509.AuthorityKeyIdentifierExtension.create(caCert, false),
      new x509.Extension('1.3.6.1.4.1.57264.1.8', false, tlv(0x0c, Buffer.from(ISSUER))),
    ],
  });
  base = Buffer.from(leaf.rawData);
});

/** The leaf with its TBS children edited, an SCT over that precertificate added, signed by the CA. */
function reissue(edit: (subs: Node[]) => Node[]): Buffer {
  const cert = ASN1Obj.parseBuffer(Buffer.from(base));
  const tbs = cert.subs[0] as ASN1Obj;
  let subs = edit(tbs.subs.slice());
  const precert = new Obj(tbs.tag, tbs.value, subs).toDER();
  const time = Buffer.alloc(8);
  time.writeBigUInt64BE(BigInt(Date.now()));
  const issuerId = crypto.createHash('sha256').update(Buffer.from(world.caCert.publicKey.rawData)).digest();
  const signed = Buffer.concat([
    Buffer.from([0, 0]),
    time,
    u16(1),
    issuerId,
    Buffer.from([0, precert.length >> 8, precert.length & 0xff]),
    precert,
    u16(0),
  ]);
  const sctSignature = crypto.sign('sha256', signed, world.ct.privateKey);
  const logId = crypto
    .createHash('sha256')
    .update(world.ct.publicKey.export({ format: 'der', type: 'spki' }))
    .digest();
  const sct = Buffer.concat([Buffer.from([0]), logId, time, u16(0), Buffer.from([4, 3]), u16(sctSignature.length), sctSignature]);
  const list = Buffer.concat([u16(sct.length + 2), u16(sct.length), sct]);
  const extension = tlv(0x30, Buffer.concat([Buffer.from('060a2b06010401d679020402', 'hex'), tlv(0x04, tlv(0x04, list))]));
  const at = subs.findIndex((s) => (s as ASN1Obj).tag?.isContextSpecific(3));
  const wrapper = subs[at] as ASN1Obj;
  const sequence = wrapper.subs[0] as ASN1Obj;
  subs = subs.slice();
  subs[at] = new Obj(wrapper.tag, wrapper.value, [new Obj(sequence.tag, sequence.value, [...sequence.subs, raw(extension)])]);
  const finalTbs = new Obj(tbs.tag, tbs.value, subs).toDER();
  const signature = crypto.sign('sha256', finalTbs, world.ca.privateKey);
  return tlv(0x30, Buffer.concat([finalTbs, (cert.subs[1] as ASN1Obj).toDER(), tlv(0x03, Buffer.concat([Buffer.from([0]), signature]))]));
}

async function verdict(leaf: Buffer): Promise<string> {
  const signature = crypto.sign('sha256', artifact, leafKeys.privateKey);
  tsaClock.setTime(Math.floor(Date.now() / 1000) * 1000);
  const token = await world.tsa.timestamp({
    artifactHash: crypto.createHash('sha256').update(signature).digest(),
    hashAlgorithmOID: '2.16.840.1.101.3.4.2.1',
    nonce: 1,
    policyOID: '1.2.3.4',
    certReq: false,
  });
  const bundle = parseBundle({
    mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
    verificationMaterial: {
      certificate: { rawBytes: leaf.toString('base64') },
      tlogEntries: [],
      timestampVerificationData: { rfc3161Timestamps: [{ signedTimestamp: Buffer.from(token).toString('base64') }] },
    },
    messageSignature: {
      messageDigest: { algorithm: 'SHA2_256', digest: crypto.createHash('sha256').update(artifact).digest('base64') },
      signature: signature.toString('base64'),
    },
  });
  const verifier = createVerifier({
    policy: { identities: [{ subject: SAN, issuer: ISSUER }], tlogThreshold: 0 },
    trustedRoot: world.root,
  });
  return verifier.verify(bundle, { bytes: artifact }).then(
    () => 'verified',
    (error: unknown) => (error instanceof SignetError ? `${error.code}: ${error.message}` : `not a SignetError: ${error}`),
  );
}

const retag =
  (tag: number, inner = false) =>
  (subs: Node[]) => {
    const der = Buffer.from((subs[6] as ASN1Obj).toDER());
    der[inner ? 2 : 0] = tag;
    subs[6] = raw(der);
    return subs;
  };
const padOid = (which: 0 | 1) => (subs: Node[]) => {
  const spki = subs[6] as ASN1Obj;
  const algorithm = spki.subs[0] as ASN1Obj;
  const oid = algorithm.subs[which] as ASN1Obj;
  const padded = tlv(0x06, Buffer.concat([oid.value.subarray(0, 1), Buffer.from([0x80]), oid.value.subarray(1)]));
  const algorithmSubs: Node[] = algorithm.subs.slice();
  algorithmSubs[which] = raw(padded);
  subs[6] = new Obj(spki.tag, spki.value, [new Obj(algorithm.tag, algorithm.value, algorithmSubs), spki.subs[1] as ASN1Obj]);
  return subs;
};

test('the genuine leaf, re-issued as the forgeries are, verifies', async () => {
  expect(await verdict(reissue((subs) => subs))).toBe('verified');
});

test.each([
  ['its SubjectPublicKeyInfo tagged SET', retag(0x31)],
  ['its SubjectPublicKeyInfo tagged [0]', retag(0xa0)],
  ['its AlgorithmIdentifier tagged SET', retag(0x31, true)],
  ['id-ecPublicKey padded with 0x80', padOid(0)],
  ['the P-256 OID padded with 0x80', padOid(1)],
])('a leaf the trusted CA signed over a public key with %s is refused', async (_name, edit) => {
  expect(await verdict(reissue(edit))).not.toBe('verified');
});
