import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SigstoreStack } from '@signet/emulators/sigstore';
import { verifyBundle } from '@signet/test-support';
import {
  type Bundle,
  createStatement,
  LocalSigner,
  loadTrustedRoot,
  openSigner,
  type Policy,
  parseBundle,
  publicKeyPem,
  readSigningConfig,
  type SigstoreServices,
  serializeBundle,
  signArtifact,
  signStatement,
  type TrustedRoot,
} from '../src';

/** Keyless signing and verification through a local Sigstore stack, with sigstore-js clients underneath. */
const stack = new SigstoreStack();
let trustedRoot: TrustedRoot;
let services: SigstoreServices;
const EMAIL = 'release@example.com';
const artifact = Buffer.from('the artifact, signed keylessly');

beforeAll(async () => {
  await stack.start();
  trustedRoot = await loadTrustedRoot({ trustedRootPath: stack.trustedRootPath });
  services = { fulcioURL: stack.fulcio.url, rekorURL: stack.rekor.url, tsaURL: stack.tsa.url, retries: 1, timeoutMs: 5_000 };
});
afterAll(() => stack.stop());

async function keyless(options: { email?: string; subject?: string; services?: SigstoreServices } = {}) {
  const identityToken = await stack.mintToken({ email: options.email ?? EMAIL, subject: options.subject });
  return openSigner('keyless', { identityToken, services: options.services ?? services });
}

const byEmail = (email = EMAIL, issuer = stack.oidc.url): Policy => ({ identities: [{ subject: email, issuer }] });

/** The bundle changed as an attacker would, through its JSON (any member, at any depth). */
// biome-ignore lint/suspicious/noExplicitAny: the edits reach into the JSON at any depth
type BundleJson = Record<string, any>;
function edited(bundle: Bundle, edit: (json: BundleJson) => void): Bundle {
  const json = serializeBundle(bundle) as BundleJson;
  edit(json);
  return parseBundle(json);
}

describe('keyless round trips', () => {
  it('signs a blob: Fulcio certificate, Rekor entry and timestamp, verified by identity', async () => {
    const signsBefore = stack.fulcio.requests.length;
    const bundle = await signArtifact({ bytes: artifact }, await keyless(), { services });
    expect(bundle.verificationMaterial.content.$case).toBe('certificate');
    expect(bundle.verificationMaterial.tlogEntries).toHaveLength(1);
    expect(bundle.verificationMaterial.timestampVerificationData?.rfc3161Timestamps).toHaveLength(1);
    expect(stack.fulcio.requests.length - signsBefore).toBe(1);

    const verified = await verifyBundle(bundle, { bytes: artifact }, byEmail(), { trustedRoot });
    expect(verified.signer).toEqual({
      kind: 'certificate',
      subject: EMAIL,
      issuer: stack.oidc.url,
      extensions: { issuer: stack.oidc.url },
    });
    expect(verified.timestamps.map((t) => t.source).sort()).toEqual(['timestamp-authority', 'transparency-log']);
  });

  it('signs an attestation as DSSE, logged and verified by identity', async () => {
    const digest = crypto.createHash('sha256').update(artifact).digest('hex');
    const statement = createStatement([{ name: 'artifact', digest: { sha256: digest } }], 'https://cyclonedx.org/bom', {
      bomFormat: 'CycloneDX',
    });
    const bundle = await signStatement(statement, await keyless(), { services });
    const verified = await verifyBundle(
      bundle,
      { bytes: artifact },
      { ...byEmail(), predicateTypes: ['https://cyclonedx.org/bom'] },
      { trustedRoot },
    );
    expect(verified.statement?.predicateType).toBe('https://cyclonedx.org/bom');
    expect(verified.tlogEntries).toBe(1);
  });

  it('verifies with the trusted root fetched through the stack’s TUF repository', async () => {
    const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-tuf-'));
    try {
      const fromTuf = await loadTrustedRoot({ tufMirror: stack.tuf.url, tufRootPath: stack.tufRootPath, cacheDir });
      const bundle = await signArtifact({ bytes: artifact }, await keyless(), { services });
      await expect(verifyBundle(bundle, { bytes: artifact }, byEmail(), { trustedRoot: fromTuf })).resolves.toBeDefined();
    } finally {
      fs.rmSync(cacheDir, { recursive: true, force: true });
    }
  });

  it('takes its services from a Sigstore signing config', async () => {
    const fromConfig = await readSigningConfig(stack.signingConfigPath);
    expect(fromConfig.fulcioURL).toBe(stack.fulcio.url);
    const bundle = await signArtifact({ bytes: artifact }, await keyless({ services: fromConfig }), { services: fromConfig });
    await expect(verifyBundle(bundle, { bytes: artifact }, byEmail(), { trustedRoot })).resolves.toBeDefined();
  });

  it('records a key signature in Rekor with --tlog-upload, and its entry is checked', async () => {
    const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const bundle = await signArtifact({ bytes: artifact }, new LocalSigner('k', privateKey), { services, tlogUpload: true });
    expect(bundle.verificationMaterial.tlogEntries).toHaveLength(1);
    const policy: Policy = { keys: [{ publicKey: publicKeyPem(publicKey) }], tlogThreshold: 1 };
    const verified = await verifyBundle(bundle, { bytes: artifact }, policy, { trustedRoot });
    expect(verified.timestamps.map((t) => t.source)).toContain('transparency-log');
    const tampered = edited(bundle, (json) => {
      json.verificationMaterial.tlogEntries[0].integratedTime = String(
        Number(json.verificationMaterial.tlogEntries[0].integratedTime) + 60,
      );
    });
    await expect(verifyBundle(tampered, { bytes: artifact }, policy, { trustedRoot })).rejects.toMatchObject({ code: 'E_TLOG' });
  });
});

describe('what keyless verification refuses, each with its own code', () => {
  let bundle: Bundle;
  beforeAll(async () => {
    // Two entries, so the second has an audit path to tamper with.
    await signArtifact({ bytes: Buffer.from('padding') }, await keyless(), { services });
    bundle = await signArtifact({ bytes: artifact }, await keyless(), { services });
  });

  it('another identity: E_POLICY', async () => {
    await expect(verifyBundle(bundle, { bytes: artifact }, byEmail('mallory@example.com'), { trustedRoot })).rejects.toMatchObject({
      code: 'E_POLICY',
      message: expect.stringContaining(`signed by ${EMAIL}`),
    });
  });

  it('another issuer: E_POLICY', async () => {
    await expect(
      verifyBundle(bundle, { bytes: artifact }, byEmail(EMAIL, 'https://accounts.google.com'), { trustedRoot }),
    ).rejects.toMatchObject({
      code: 'E_POLICY',
    });
  });

  it('an identity pattern that matches only a substring: E_POLICY', async () => {
    const substring: Policy = { identities: [{ subjectRegExp: 'release@', issuer: stack.oidc.url }] };
    await expect(verifyBundle(bundle, { bytes: artifact }, substring, { trustedRoot })).rejects.toMatchObject({ code: 'E_POLICY' });
    const whole: Policy = { identities: [{ subjectRegExp: 'release@example\\.(com|org)', issuer: stack.oidc.url }] };
    await expect(verifyBundle(bundle, { bytes: artifact }, whole, { trustedRoot })).resolves.toBeDefined();
  });

  it('a certificate that had expired when the log saw the signature: E_CERTIFICATE', async () => {
    stack.fulcio.ca.leafWindow = { startOffsetMs: -20 * 60_000, lifetimeMs: 10 * 60_000 };
    try {
      const expired = await signArtifact({ bytes: artifact }, await keyless(), { services });
      await expect(verifyBundle(expired, { bytes: artifact }, byEmail(), { trustedRoot })).rejects.toMatchObject({ code: 'E_CERTIFICATE' });
    } finally {
      stack.fulcio.ca.leafWindow = { startOffsetMs: 0, lifetimeMs: 10 * 60_000 };
    }
  });

  it.each([
    ['for TLS servers, not code signing', { extendedKeyUsages: ['1.3.6.1.5.5.7.3.1'], ca: false }],
    ['with no extended key usage', { extendedKeyUsages: [], ca: false }],
    ['a CA certificate', { extendedKeyUsages: ['1.3.6.1.5.5.7.3.3'], ca: true }],
  ])('a certificate the trusted CA mis-issued, %s: E_CERTIFICATE', async (_name, profile) => {
    const genuine = stack.fulcio.ca.leafProfile;
    stack.fulcio.ca.leafProfile = profile;
    try {
      const misissued = await signArtifact({ bytes: artifact }, await keyless(), { services });
      await expect(verifyBundle(misissued, { bytes: artifact }, byEmail(), { trustedRoot })).rejects.toMatchObject({
        code: 'E_CERTIFICATE',
      });
    } finally {
      stack.fulcio.ca.leafProfile = genuine;
    }
  });

  it('the log entry missing: E_TLOG', async () => {
    const unlogged = edited(bundle, (json) => {
      json.verificationMaterial.tlogEntries = [];
    });
    await expect(verifyBundle(unlogged, { bytes: artifact }, byEmail(), { trustedRoot })).rejects.toMatchObject({ code: 'E_TLOG' });
  });

  it('a tampered inclusion proof: E_TLOG', async () => {
    const tampered = edited(bundle, (json) => {
      const proof = json.verificationMaterial.tlogEntries[0].inclusionProof;
      const hash = Buffer.from(proof.hashes[0], 'base64');
      hash.writeUInt8((hash[0] ?? 0) ^ 1, 0);
      proof.hashes[0] = hash.toString('base64');
    });
    await expect(verifyBundle(tampered, { bytes: artifact }, byEmail(), { trustedRoot })).rejects.toMatchObject({ code: 'E_TLOG' });
  });

  it('a bundle from another Sigstore instance (its CA, log and TSA unknown to the trusted root)', async () => {
    const other = new SigstoreStack();
    await other.start();
    try {
      const foreign = await loadTrustedRoot({ trustedRootPath: other.trustedRootPath });
      await expect(verifyBundle(bundle, { bytes: artifact }, byEmail(), { trustedRoot: foreign })).rejects.toMatchObject({
        // The first check to fail names it: here the timestamp, signed by an unknown TSA.
        code: expect.stringMatching(/^E_(TIMESTAMP|CERTIFICATE|TLOG)$/),
      });
    } finally {
      await other.stop();
    }
  });
});

describe('when a service fails, signing fails naming it, and returns no bundle', () => {
  it('Fulcio down: E_PROVIDER naming Fulcio', async () => {
    const fulcioURL = stack.fulcio.url;
    await stack.fulcio.stop();
    try {
      await expect(signArtifact({ bytes: artifact }, await keyless(), { services })).rejects.toMatchObject({
        code: 'E_PROVIDER',
        message: expect.stringContaining(`Fulcio (${fulcioURL})`),
      });
    } finally {
      await stack.fulcio.start();
    }
  });

  it('Rekor answering 5xx past the retries: E_PROVIDER naming Rekor', async () => {
    stack.rekor.faults.add({ fault: { kind: 'status', status: 503 }, times: 10 });
    try {
      await expect(signArtifact({ bytes: artifact }, await keyless(), { services })).rejects.toMatchObject({
        code: 'E_PROVIDER',
        message: expect.stringContaining(`Rekor (${stack.rekor.url})`),
      });
    } finally {
      stack.rekor.faults.clear();
    }
  });

  it('a forged or expired token: E_PERMISSION, the token never in the message', async () => {
    for (const token of [await stack.mintToken({ email: EMAIL, forged: true }), await stack.mintToken({ email: EMAIL, expiresIn: -60 })]) {
      const signer = await openSigner('keyless', { identityToken: token, services });
      const error = await signArtifact({ bytes: artifact }, signer, { services }).catch((e) => e);
      expect(error.code).toBe('E_PERMISSION');
      expect(`${error.message} ${error.cause?.message}`).not.toContain(token);
    }
  });
});
