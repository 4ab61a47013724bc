// describeBundle reads what a bundle claims and checks none of it. It is held against bundles
// Signet signs here and against other projects' bundles (../shared/vectors, read in place), and
// every expected value is read from the bundle by other means: its JSON, its certificate through
// @peculiar/x509 and node:crypto, its timestamps through `openssl ts`.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { certificateFacts, fulcioExtensions, opensslTimestamp, sameSerial, vectorsDir } from '@signet/test-support';
import {
  type BundleDescription,
  createStatement,
  describeBundle,
  LocalSigner,
  parseBundle,
  publicKeyFingerprint,
  publicKeyHint,
  readBundle,
  type SignetError,
  type Subject,
  serializeBundle,
  signArtifact,
  signStatement,
} from '../src';

const vectors = vectorsDir();
if (!vectors) console.warn('shared vectors not found (set SIGNET_VECTORS=…/shared/vectors); the vector tests are not run');
const describeVectors = vectors ? describe : describe.skip;

interface TlogEntryJson {
  logIndex: string;
  logId: { keyId: string };
  kindVersion: { kind: string; version: string };
  integratedTime?: string;
  inclusionPromise?: { signedEntryTimestamp: string };
  inclusionProof?: { logIndex: string; rootHash: string; treeSize: string; hashes?: string[]; checkpoint?: { envelope: string } };
}

interface BundleJson {
  mediaType: string;
  verificationMaterial: {
    publicKey?: { hint: string };
    certificate?: { rawBytes: string };
    x509CertificateChain?: { certificates: { rawBytes: string }[] };
    tlogEntries?: TlogEntryJson[];
    timestampVerificationData?: { rfc3161Timestamps: { signedTimestamp: string }[] };
  };
  messageSignature?: { messageDigest: { algorithm: string; digest: string } };
  dsseEnvelope?: { payload: string; payloadType: string; signatures: unknown[] };
}

const hex = (base64: string) => Buffer.from(base64, 'base64').toString('hex');

const VERSIONS: Record<string, string> = {
  'application/vnd.dev.sigstore.bundle+json;version=0.1': '0.1',
  'application/vnd.dev.sigstore.bundle+json;version=0.2': '0.2',
  'application/vnd.dev.sigstore.bundle+json;version=0.3': '0.3',
  'application/vnd.dev.sigstore.bundle.v0.3+json': '0.3',
};

/** The description a bundle should get, read from its JSON and, for its certificate, by @peculiar/x509 and node:crypto. */
function expectedDescription(json: BundleJson): Omit<BundleDescription, 'timestamps'> {
  const material = json.verificationMaterial;
  let content: BundleDescription['content'];
  if (json.messageSignature) {
    const { algorithm, digest } = json.messageSignature.messageDigest;
    content = { kind: 'messageSignature', digest: { algorithm: algorithm.replace(/^SHA2_/, 'sha'), hex: hex(digest) } };
  } else {
    const envelope = json.dsseEnvelope as NonNullable<BundleJson['dsseEnvelope']>;
    const payload = Buffer.from(envelope.payload, 'base64');
    content = {
      kind: 'dsseEnvelope',
      payloadType: envelope.payloadType,
      payloadBytes: payload.length,
      signatures: envelope.signatures.length,
    };
    if (envelope.payloadType === 'application/vnd.in-toto+json') {
      const statement = JSON.parse(payload.toString('utf8'));
      content.statement = { type: statement._type, predicateType: statement.predicateType, subjects: statement.subject };
    }
  }
  const certificates = material.x509CertificateChain?.certificates ?? (material.certificate ? [material.certificate] : []);
  let signer: BundleDescription['signer'];
  if (material.publicKey) {
    const { hint } = material.publicKey;
    // A hint that is a base64 SHA-256 (of the key's SPKI, as Signet and cosign write) stands for a fingerprint.
    const digest = Buffer.from(hint, 'base64');
    signer =
      digest.length === 32 && digest.toString('base64') === hint
        ? { kind: 'publicKey', hint, fingerprint: `sha256:${digest.toString('hex')}` }
        : { kind: 'publicKey', hint };
  } else {
    const facts = certificateFacts(Buffer.from(certificates[0]?.rawBytes ?? '', 'base64'));
    const extensions = fulcioExtensions(facts);
    signer = {
      kind: 'certificate',
      subject: facts.subject,
      issuer: extensions.issuer,
      issuedBy: facts.issuerName,
      serialNumber: facts.serialNumber,
      notBefore: facts.notBefore.toISOString(),
      notAfter: facts.notAfter.toISOString(),
      extensions,
      chainLength: certificates.length,
    };
  }
  return {
    verified: false,
    mediaType: json.mediaType,
    version: VERSIONS[json.mediaType] as BundleDescription['version'],
    content,
    signer,
    tlogEntries: (material.tlogEntries ?? []).map((entry) => {
      const integratedTime = entry.integratedTime ?? '0';
      const proof = entry.inclusionProof;
      return {
        logId: hex(entry.logId.keyId),
        logIndex: entry.logIndex ?? '0', // proto JSON leaves out zeros
        kind: entry.kindVersion.kind,
        version: entry.kindVersion.version,
        integratedTime,
        ...(integratedTime === '0' ? {} : { integratedAt: new Date(Number(integratedTime) * 1000).toISOString() }),
        inclusionPromise: entry.inclusionPromise !== undefined,
        ...(proof
          ? {
              inclusionProof: {
                logIndex: proof.logIndex ?? '0',
                treeSize: proof.treeSize ?? '0',
                rootHash: hex(proof.rootHash),
                hashes: (proof.hashes ?? []).length,
                ...(proof.checkpoint ? { checkpoint: { origin: proof.checkpoint.envelope.split('\n')[0] as string } } : {}),
              },
            }
          : {}),
      };
    }),
  };
}

/** What openssl reads from each RFC 3161 timestamp, in the description's terms (the serial as a number). */
function expectedTimestamps(json: BundleJson) {
  return (json.verificationMaterial.timestampVerificationData?.rfc3161Timestamps ?? []).map(({ signedTimestamp }) => {
    const read = opensslTimestamp(Buffer.from(signedTimestamp, 'base64'));
    return {
      signingTime: read.time.toISOString(),
      serialNumber: read.serialNumber,
      // DirName:/O=sigstore.dev/CN=sigstore-tsa, as the description writes names: O=sigstore.dev, CN=sigstore-tsa
      ...(read.tsa
        ? {
            tsaName: read.tsa
              .replace(/^DirName:\//, '')
              .split('/')
              .join(', '),
          }
        : {}),
    };
  });
}

/** Checks a description against the bundle's JSON read independently. */
function expectDescribes(description: BundleDescription, json: BundleJson): void {
  const { timestamps, ...rest } = description;
  expect(rest).toEqual(expectedDescription(json));
  const expected = expectedTimestamps(json);
  expect(timestamps).toHaveLength(expected.length);
  timestamps.forEach(({ serialNumber, ...rest }, i) => {
    const { serialNumber: opensslSerial, ...expectedRest } = expected[i] as (typeof expected)[number];
    expect(rest).toEqual(expectedRest);
    expect([serialNumber, sameSerial(serialNumber ?? '', opensslSerial)]).toEqual([serialNumber, true]);
  });
}

describe('bundles Signet signs', () => {
  const artifact = Buffer.from('describeBundle: the bytes signed\n');

  test.each([
    ['P-256', 'prime256v1', 'sha256'],
    ['P-384', 'secp384r1', 'sha384'],
  ])('a %s key signature: the digest and its algorithm, the key hint and fingerprint, nothing witnessed', async (_name, curve, hash) => {
    const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: curve });
    const bundle = await signArtifact({ bytes: artifact }, new LocalSigner('release', privateKey));
    const description = describeBundle(bundle);
    expect(description).toEqual({
      verified: false,
      mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
      version: '0.3',
      content: { kind: 'messageSignature', digest: { algorithm: hash, hex: crypto.createHash(hash).update(artifact).digest('hex') } },
      signer: { kind: 'publicKey', hint: publicKeyHint(publicKey), fingerprint: publicKeyFingerprint(publicKey) },
      tlogEntries: [],
      timestamps: [],
    });
    expectDescribes(description, serializeBundle(bundle) as unknown as BundleJson);
    // Plain JSON: what --json prints is the description itself.
    expect(JSON.parse(JSON.stringify(description))).toEqual(description);
  });

  test('a signed statement: payload type, statement type, predicate type, each subject with its digests', async () => {
    const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const subjects: Subject[] = [
      { name: 'app.tgz', digest: { sha256: crypto.createHash('sha256').update('app').digest('hex') } },
      { name: 'app.js', digest: { sha512: crypto.createHash('sha512').update('js').digest('hex') } },
    ];
    const bundle = await signStatement(
      createStatement(subjects, 'https://cyclonedx.org/bom', { bomFormat: 'CycloneDX', specVersion: '1.5' }),
      new LocalSigner('release', privateKey),
    );
    const description = describeBundle(bundle);
    expect(description.content).toEqual({
      kind: 'dsseEnvelope',
      payloadType: 'application/vnd.in-toto+json',
      payloadBytes: (bundle.content as { dsseEnvelope: { payload: Buffer } }).dsseEnvelope.payload.length,
      signatures: 1,
      statement: { type: 'https://in-toto.io/Statement/v1', predicateType: 'https://cyclonedx.org/bom', subjects },
    });
    expectDescribes(description, serializeBundle(bundle) as unknown as BundleJson);
  });

  test('what verification would refuse to read is E_BUNDLE here too: an in-toto payload that is no statement, a certificate that is not DER', async () => {
    const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const signer = new LocalSigner('release', privateKey);
    const subject = { name: 'app.tgz', digest: { sha256: crypto.createHash('sha256').update('app').digest('hex') } };
    const statement = serializeBundle(await signStatement(createStatement([subject], 'https://example.com/p', {}), signer));
    const notAStatement = structuredClone(statement) as unknown as BundleJson;
    (notAStatement.dsseEnvelope as { payload: string }).payload = Buffer.from('{"_type":"something else"}').toString('base64');
    expect(() => describeBundle(parseBundle(notAStatement))).toThrow(expect.objectContaining({ code: 'E_BUNDLE' }) as SignetError);

    const message = serializeBundle(await signArtifact({ bytes: Buffer.from('x') }, signer)) as unknown as BundleJson;
    const material = message.verificationMaterial;
    material.certificate = { rawBytes: Buffer.from('not a certificate').toString('base64') };
    delete material.publicKey;
    expect(() => describeBundle(parseBundle(message))).toThrow(
      expect.objectContaining({ code: 'E_BUNDLE', message: "the bundle's certificate is not a readable X.509 certificate" }) as SignetError,
    );
  });
});

describeVectors('other projects’ bundles (../shared/vectors)', () => {
  const dir = vectors as string;
  const read = (file: string) => JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as BundleJson;
  const conformance = (name: string) => `sigstore-conformance-assets/bundle-verify/${name}/bundle.sigstore.json`;

  test.each([
    ...fs
      .readdirSync(path.join(dir, 'npm-provenance'))
      .filter((name) => name.endsWith('.sigstore.json'))
      .map((name) => `npm-provenance/${name}`),
    'cosign/oci-attestation.sigstore.json',
    conformance('happy-path-v0.1'),
    conformance('happy-path-v0.2'),
    conformance('happy-path-v0.3'),
    conformance('happy-path-intoto-in-dsse-v3'),
    conformance('managed-key-happy-path'),
    conformance('intoto-with-custom-trust-root'),
    conformance('rekor2-happy-path'),
    conformance('rekor2-dsse-happy-path'),
    conformance('rekor2-timestamp-with-embedded-cert'),
    'sigstore-js-fixtures/verify.V3.DSSE.WITH_SIGNING_CERT.TLOG_DSSEV002.sigstore.json',
    'sigstore-js-fixtures/client_valid.v1.dsse.withPublicKey.sigstore.json',
  ])('%s', async (file) => {
    expectDescribes(describeBundle(await readBundle(path.join(dir, file))), read(file));
  });

  test('GitHub Actions provenance: the workflow, the repository, its ref and commit, from the Fulcio extensions', async () => {
    const file = 'npm-provenance/sigstore@2.0.0.provenance.sigstore.json';
    const { signer } = describeBundle(await readBundle(path.join(dir, file)));
    const facts = certificateFacts(
      Buffer.from(read(file).verificationMaterial.x509CertificateChain?.certificates[0]?.rawBytes ?? '', 'base64'),
    );
    expect(signer).toMatchObject({
      kind: 'certificate',
      subject: facts.subject,
      issuer: facts.fulcio[8],
      extensions: {
        buildSignerURI: facts.fulcio[9],
        runnerEnvironment: facts.fulcio[11],
        sourceRepository: facts.fulcio[12],
        sourceRepositoryDigest: facts.fulcio[13],
        sourceRepositoryRef: facts.fulcio[14],
        buildTrigger: facts.fulcio[20],
        runInvocationURI: facts.fulcio[21],
      },
    });
    // Not vacuous: the certificate has them.
    expect(Object.keys(facts.fulcio).map(Number)).toEqual(expect.arrayContaining([8, 9, 11, 12, 13, 14, 20, 21]));
  });

  test('a key hint that is a SHA-256 is shown as the fingerprint of the key it names', async () => {
    const caseDir = path.join(dir, 'sigstore-conformance-assets/bundle-verify/managed-key-happy-path');
    const { signer } = describeBundle(await readBundle(path.join(caseDir, 'bundle.sigstore.json')));
    const spki = crypto.createPublicKey(fs.readFileSync(path.join(caseDir, 'key.pub'))).export({ type: 'spki', format: 'der' });
    expect(signer).toMatchObject({ kind: 'publicKey', fingerprint: `sha256:${crypto.createHash('sha256').update(spki).digest('hex')}` });
  });

  test('a Rekor v2 entry records no time: integratedTime "0" and no integratedAt; its time is the TSA’s', async () => {
    const { tlogEntries, timestamps } = describeBundle(await readBundle(path.join(dir, conformance('rekor2-happy-path'))));
    expect(tlogEntries).toEqual([
      expect.objectContaining({ kind: 'hashedrekord', version: '0.0.2', integratedTime: '0', inclusionPromise: false }),
    ]);
    expect(tlogEntries[0]).not.toHaveProperty('integratedAt');
    expect(tlogEntries[0]?.inclusionProof?.checkpoint?.origin).toMatch(/rekor/);
    expect(timestamps).toHaveLength(1);
  });

  test('every conformance bundle that reads as a bundle is described (a failing case fails verification, not description)', async () => {
    const cases = fs.readdirSync(path.join(dir, 'sigstore-conformance-assets/bundle-verify'), { withFileTypes: true });
    let described = 0;
    for (const entry of cases.filter((e) => e.isDirectory())) {
      const bundle = await readBundle(path.join(dir, conformance(entry.name))).catch(() => undefined);
      if (!bundle) continue;
      expect(describeBundle(bundle).verified).toBe(false);
      described++;
    }
    expect(described).toBeGreaterThan(50);
  });
});
