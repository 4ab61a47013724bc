// The Sigstore stack driven by sigstore-js itself: keyless bundles made with @sigstore/sign
// against the stack's Fulcio, Rekor and TSA verify with @sigstore/verify, with the stack's
// trusted root read directly or fetched through its TUF repository.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as x509 from '@peculiar/x509';
import { bundleFromJSON, bundleToJSON, type SerializedBundle } from '@sigstore/bundle';
import { RFC3161Timestamp } from '@sigstore/core';
import { SigningConfig, TrustedRoot } from '@sigstore/protobuf-specs';
import {
  bundleBuilderFromSigningConfig,
  DSSEBundleBuilder,
  FulcioSigner,
  MessageSignatureBundleBuilder,
  RekorWitness,
  TSAWitness,
} from '@sigstore/sign';
import { getTrustedRoot } from '@sigstore/tuf';
import { toSignedEntity, toTrustMaterial, type VerificationPolicy, Verifier } from '@sigstore/verify';
import { SigstoreStack, type TokenOptions, type TrustedRootJson } from '../src/sigstore';

const stack = new SigstoreStack();
const ARTIFACT = Buffer.from('an artifact Signet signs');
const STATEMENT = {
  _type: 'https://in-toto.io/Statement/v1',
  subject: [{ name: 'app.tgz', digest: { sha256: crypto.createHash('sha256').update(ARTIFACT).digest('hex') } }],
  predicateType: 'https://signet.dev/manifest/v1',
  predicate: {},
};
const ALICE: TokenOptions = { email: 'alice@example.com' };

let messageBundle: SerializedBundle;
let dsseBundle: SerializedBundle;

beforeAll(async () => {
  await stack.start();
  messageBundle = await signMessage(ARTIFACT, ALICE);
  dsseBundle = await signStatement(STATEMENT, ALICE);
});
afterAll(() => stack.stop());

function builderOptions(token: TokenOptions, entryType?: 'dsse' | 'intoto') {
  return {
    signer: new FulcioSigner({ fulcioBaseURL: stack.fulcio.url, identityProvider: stack.identityProvider(token), retry: 0 }),
    witnesses: [
      new RekorWitness({ rekorBaseURL: stack.rekor.url, entryType, retry: 0 }),
      new TSAWitness({ tsaBaseURL: stack.tsa.url, retry: 0 }),
    ],
  };
}

async function signMessage(data: Buffer, token: TokenOptions): Promise<SerializedBundle> {
  return bundleToJSON(await new MessageSignatureBundleBuilder(builderOptions(token)).create({ data }));
}

async function signStatement(statement: object, token: TokenOptions, entryType?: 'dsse' | 'intoto'): Promise<SerializedBundle> {
  const builder = new DSSEBundleBuilder(builderOptions(token, entryType));
  return bundleToJSON(await builder.create({ data: Buffer.from(JSON.stringify(statement)), type: 'application/vnd.in-toto+json' }));
}

function verify(
  bundle: SerializedBundle,
  artifact: Buffer | undefined,
  policy: VerificationPolicy,
  options: { trustedRoot?: TrustedRootJson; timestampThreshold?: number } = {},
) {
  const trustMaterial = toTrustMaterial(TrustedRoot.fromJSON(options.trustedRoot ?? stack.trustedRoot));
  return new Verifier(trustMaterial, { timestampThreshold: options.timestampThreshold }).verify(
    toSignedEntity(bundleFromJSON(bundle), artifact),
    policy,
  );
}

function aliceAt(issuer: string): VerificationPolicy {
  return { subjectAlternativeName: '^alice@example\\.com$', extensions: { issuer } };
}

function leafCertificate(bundle: SerializedBundle): x509.X509Certificate {
  const material = bundle.verificationMaterial;
  const raw = material.certificate?.rawBytes ?? material.x509CertificateChain?.certificates[0]?.rawBytes;
  return new x509.X509Certificate(Buffer.from(raw ?? '', 'base64'));
}

/** The parts of the stored entry bodies (dsse 0.0.1, intoto 0.0.2) these tests read. */
interface TlogBody {
  kind: string;
  spec: {
    proposedContent?: unknown;
    payloadHash?: { algorithm: string; value: string };
    signatures?: { signature: string; verifier: string }[];
    content?: { envelope: { payload?: string } };
  };
}

function tlogBody(bundle: SerializedBundle): TlogBody {
  return JSON.parse(Buffer.from(bundle.verificationMaterial.tlogEntries[0]?.canonicalizedBody ?? '', 'base64').toString('utf8'));
}

/** The GeneralizedTimes (tag 0x18, 4-digit year) in DER: in a timestamp response, only the TSTInfo's genTime. */
function generalizedTimes(der: Buffer): string[] {
  const times: string[] = [];
  for (let i = der.indexOf(0x18); i >= 0; i = der.indexOf(0x18, i + 1)) {
    const text = der.subarray(i + 2, i + 2 + (der[i + 1] ?? 0)).toString('latin1');
    if (/^\d{14}(\.\d+)?Z$/.test(text)) times.push(text);
  }
  return times;
}

describe('keyless bundles made with @sigstore/sign verify with @sigstore/verify', () => {
  it('a message signature: Fulcio certifies the email, Rekor and the TSA each give a verified timestamp', () => {
    expect(messageBundle.verificationMaterial.tlogEntries).toHaveLength(1);
    expect(messageBundle.verificationMaterial.timestampVerificationData?.rfc3161Timestamps).toHaveLength(1);
    // Two verified timestamps (the log's inclusion promise and the TSA's): the TSA's counts.
    const signer = verify(messageBundle, ARTIFACT, aliceAt(stack.oidc.url), { timestampThreshold: 2 });
    expect(signer.identity?.subjectAlternativeName).toBe('alice@example.com');
    expect(signer.identity?.extensions?.issuer).toBe(stack.oidc.url);
    expect(() => verify(messageBundle, Buffer.from('another artifact'), aliceAt(stack.oidc.url))).toThrow(/digest|signature/i);
  });

  it('the TSA stamps whole seconds, which sigstore-js parses (it reads three fractional digits or none, and DER drops trailing zeros)', () => {
    const stamp = Buffer.from(
      messageBundle.verificationMaterial.timestampVerificationData?.rfc3161Timestamps[0]?.signedTimestamp ?? '',
      'base64',
    );
    expect(generalizedTimes(stamp)).toEqual([expect.stringMatching(/^\d{14}Z$/)]);
    const signingTime = RFC3161Timestamp.parse(stamp).signingTime;
    expect(Math.abs(signingTime.getTime() - Date.now())).toBeLessThan(10 * 60 * 1000);
  });

  it('the certificate names the identity as an email SAN and the token issuer in the issuer extension', () => {
    const certificate = leafCertificate(messageBundle);
    const san = certificate.getExtension(x509.SubjectAlternativeNameExtension);
    expect(san?.names.toJSON()).toEqual([{ type: 'email', value: 'alice@example.com' }]);
    expect(Buffer.from(certificate.getExtension('1.3.6.1.4.1.57264.1.1')?.value ?? new ArrayBuffer(0)).toString()).toBe(stack.oidc.url);
  });

  it('a DSSE envelope: Rekor stores the dsse entry as Rekor does (hashes and verifiers, not the proposal), and it verifies', () => {
    const body = tlogBody(dsseBundle);
    expect(body.kind).toBe('dsse');
    expect(body.spec.proposedContent).toBeUndefined();
    const payload = Buffer.from(dsseBundle.dsseEnvelope?.payload ?? '', 'base64');
    expect(body.spec.payloadHash).toEqual({ algorithm: 'sha256', value: crypto.createHash('sha256').update(payload).digest('hex') });
    expect(body.spec.signatures?.[0]?.signature).toBe(dsseBundle.dsseEnvelope?.signatures[0]?.sig);
    expect(Buffer.from(body.spec.signatures?.[0]?.verifier ?? '', 'base64').toString()).toContain('BEGIN CERTIFICATE');

    const signer = verify(dsseBundle, undefined, aliceAt(stack.oidc.url), { timestampThreshold: 2 });
    expect(signer.identity?.subjectAlternativeName).toBe('alice@example.com');
  });

  it('an intoto entry (the older DSSE entry type) is stored without its payload, and verifies', async () => {
    const bundle = await signStatement(STATEMENT, ALICE, 'intoto');
    const body = tlogBody(bundle);
    expect(body.kind).toBe('intoto');
    expect(body.spec.content?.envelope).toBeDefined();
    expect(body.spec.content?.envelope.payload).toBeUndefined();
    expect(verify(bundle, undefined, aliceAt(stack.oidc.url)).identity?.subjectAlternativeName).toBe('alice@example.com');
  });

  it('a GitHub Actions-style token: the workflow is the URI SAN and the workflow claims become Fulcio extensions', async () => {
    const workflow = 'acme/app/.github/workflows/release.yml@refs/heads/main';
    const bundle = await signMessage(ARTIFACT, {
      subject: 'repo:acme/app:ref:refs/heads/main',
      claims: { job_workflow_ref: workflow, repository: 'acme/app', ref: 'refs/heads/main', event_name: 'push' },
    });
    const signer = verify(bundle, ARTIFACT, {
      subjectAlternativeName: `^https://github\\.com/${workflow.replace(/[.]/g, '\\.')}$`,
      extensions: { issuer: stack.oidc.url },
    });
    expect(signer.identity?.subjectAlternativeName).toBe(`https://github.com/${workflow}`);
    const certificate = leafCertificate(bundle);
    expect(certificate.getExtension(x509.SubjectAlternativeNameExtension)?.names.toJSON()).toEqual([
      { type: 'url', value: `https://github.com/${workflow}` },
    ]);
    // Source Repository URI (1.12), a DER UTF8String.
    expect(
      Buffer.from(certificate.getExtension('1.3.6.1.4.1.57264.1.12')?.value ?? new ArrayBuffer(0))
        .subarray(2)
        .toString(),
    ).toBe('https://github.com/acme/app');
  });

  it('a token without an email: its subject is certified as a URI SAN', async () => {
    const bundle = await signMessage(ARTIFACT, { subject: 'https://ci.example.com/pipelines/release' });
    const signer = verify(bundle, ARTIFACT, { subjectAlternativeName: '^https://ci\\.example\\.com/pipelines/release$' });
    expect(signer.identity?.subjectAlternativeName).toBe('https://ci.example.com/pipelines/release');
  });

  it('a wrong identity or a wrong issuer in the policy fails verification', () => {
    expect(() => verify(messageBundle, ARTIFACT, { subjectAlternativeName: '^mallory@example\\.com$' })).toThrow(
      /certificate identity error/,
    );
    expect(() => verify(messageBundle, ARTIFACT, aliceAt('https://accounts.google.com'))).toThrow(/invalid certificate extension/);
  });

  it('a tampered inclusion proof fails verification', async () => {
    // Entries already in the log give this one's proof a non-empty audit path.
    const bundle = await signMessage(ARTIFACT, ALICE);
    const proof = bundle.verificationMaterial.tlogEntries[0]?.inclusionProof;
    expect(proof?.hashes.length).toBeGreaterThan(0);
    expect(() => verify(bundle, ARTIFACT, aliceAt(stack.oidc.url))).not.toThrow();

    const tampered = structuredClone(bundle);
    const hashes = tampered.verificationMaterial.tlogEntries[0]?.inclusionProof?.hashes ?? [];
    const first = Buffer.from(hashes[0] ?? '', 'base64');
    first[0] = (first[0] as number) ^ 0xff;
    hashes[0] = first.toString('base64');
    expect(() => verify(tampered, ARTIFACT, aliceAt(stack.oidc.url))).toThrow(/calculated root hash does not match/);
  });

  it('a bundle from another Sigstore instance fails against this trusted root', async () => {
    const other = await new SigstoreStack().start();
    try {
      expect(() => verify(messageBundle, ARTIFACT, aliceAt(stack.oidc.url), { trustedRoot: other.trustedRoot })).toThrow(
        /certificate|timestamp/i,
      );
    } finally {
      await other.stop();
    }
  });

  it('the signing config leads bundleBuilderFromSigningConfig to the stack', async () => {
    const before = stack.services.map((service) => service.requests.length);
    const builder = bundleBuilderFromSigningConfig({
      signingConfig: SigningConfig.fromJSON(stack.signingConfig),
      identityProvider: stack.identityProvider(ALICE),
      bundleType: 'messageSignature',
    });
    const bundle = bundleToJSON(await builder.create({ data: ARTIFACT }));
    expect(verify(bundle, ARTIFACT, aliceAt(stack.oidc.url), { timestampThreshold: 2 }).identity?.subjectAlternativeName).toBe(
      'alice@example.com',
    );
    const after = stack.services.map((service) => service.requests.length);
    // OIDC issuer (tokens are minted in-process), Fulcio, Rekor, Rekor v2, TSA, TUF.
    expect(after.map((count, i) => count - (before[i] as number))).toEqual([0, 1, 1, 0, 1, 0]);
  });
});

describe("the stack's trust material", () => {
  it('@sigstore/tuf fetches the trusted root from the TUF repository, and it verifies the bundles', async () => {
    const cachePath = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-tuf-cache-'));
    try {
      const fetched = await getTrustedRoot({ mirrorURL: stack.tuf.url, rootPath: stack.tufRootPath, cachePath, retry: 0 });
      expect(TrustedRoot.toJSON(fetched)).toEqual(TrustedRoot.toJSON(TrustedRoot.fromJSON(stack.trustedRoot)));
      const trustedRoot = TrustedRoot.toJSON(fetched) as TrustedRootJson;
      expect(verify(messageBundle, ARTIFACT, aliceAt(stack.oidc.url), { trustedRoot }).identity?.subjectAlternativeName).toBe(
        'alice@example.com',
      );
      expect(verify(dsseBundle, undefined, aliceAt(stack.oidc.url), { trustedRoot }).identity?.subjectAlternativeName).toBe(
        'alice@example.com',
      );
      expect(stack.tuf.calls('Target').map((request) => request.path)).toEqual(['/targets/trusted_root.json']);
    } finally {
      fs.rmSync(cachePath, { recursive: true, force: true });
    }
  });

  it('trusted_root.json: Fulcio, CT log, Rekor and TSA, key ids as sigstore-js expects, valid since before now', () => {
    const root = stack.trustedRoot;
    expect(JSON.parse(fs.readFileSync(stack.trustedRootPath, 'utf8'))).toEqual(root);
    const rekorKeyId = crypto.createHash('sha256').update(stack.rekor.log.publicKey).digest('base64');
    expect(root.tlogs[0]).toMatchObject({ baseUrl: stack.rekor.url, logId: { keyId: rekorKeyId }, checkpointKeyId: { keyId: rekorKeyId } });
    // Rekor v2 as log2025-1 is in the public-good root: Ed25519, its log id the checkpoint key ID.
    const v2KeyId = crypto
      .createHash('sha256')
      .update(
        Buffer.concat([Buffer.from(`${new URL(stack.rekorV2.url).host}\n`), Buffer.of(0x01), stack.rekorV2.log.publicKey.subarray(-32)]),
      )
      .digest('base64');
    expect(root.tlogs[1]).toMatchObject({
      baseUrl: stack.rekorV2.url,
      hashAlgorithm: 'SHA2_256',
      publicKey: { rawBytes: stack.rekorV2.log.publicKey.toString('base64'), keyDetails: 'PKIX_ED25519' },
      logId: { keyId: v2KeyId },
      checkpointKeyId: { keyId: v2KeyId },
    });
    const ctKeyId = crypto.createHash('sha256').update(stack.fulcio.ca.ctLogPublicKey).digest('base64');
    expect(root.ctlogs[0]?.logId.keyId).toBe(ctKeyId);
    expect(root.certificateAuthorities[0]?.certChain.certificates).toEqual([
      { rawBytes: stack.fulcio.ca.rootCertificate.toString('base64') },
    ]);
    expect(root.timestampAuthorities[0]?.certChain.certificates).toHaveLength(2);
    for (const validFor of [
      root.tlogs[0]?.publicKey.validFor,
      root.tlogs[1]?.publicKey.validFor,
      root.certificateAuthorities[0]?.validFor,
      root.timestampAuthorities[0]?.validFor,
    ]) {
      expect(new Date(validFor?.start ?? '').getTime()).toBeLessThan(Date.now() - 60_000);
    }
  });

  it('the signing config names every service of the stack', () => {
    const config = stack.signingConfig;
    expect(JSON.parse(fs.readFileSync(stack.signingConfigPath, 'utf8'))).toEqual(config);
    expect(config.mediaType).toBe('application/vnd.dev.sigstore.signingconfig.v0.2+json');
    expect(config.caUrls[0]?.url).toBe(stack.fulcio.url);
    expect(config.oidcUrls[0]?.url).toBe(stack.oidc.url);
    expect(config.rekorTlogUrls[0]?.url).toBe(stack.rekor.url);
    expect(config.tsaUrls[0]?.url).toBe(`${stack.tsa.url}/api/v1/timestamp`);
    expect(SigningConfig.fromJSON(config).rekorTlogConfig?.selector).toBe(2 /* ServiceSelector.ANY */);
  });

  it('the Rekor v2 signing config lists the v2 log first and newest, then v1, as public-good does', () => {
    const config = stack.signingConfigRekorV2;
    expect(JSON.parse(fs.readFileSync(stack.signingConfigRekorV2Path, 'utf8'))).toEqual(config);
    expect(config).toMatchObject({
      caUrls: stack.signingConfig.caUrls,
      oidcUrls: stack.signingConfig.oidcUrls,
      tsaUrls: stack.signingConfig.tsaUrls,
      rekorTlogConfig: { selector: 'ANY' },
      tsaConfig: { selector: 'ANY' },
    });
    const [v2, v1] = config.rekorTlogUrls;
    expect([v2?.url, v2?.majorApiVersion, v1?.url, v1?.majorApiVersion]).toEqual([stack.rekorV2.url, 2, stack.rekor.url, 1]);
    expect(new Date(v2?.validFor.start ?? '').getTime()).toBeGreaterThan(new Date(v1?.validFor.start ?? '').getTime());
    expect(new Date(v2?.validFor.start ?? '').getTime()).toBeLessThan(Date.now() - 60_000);
  });
});
