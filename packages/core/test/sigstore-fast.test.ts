import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ASN1Obj, X509Certificate } from '@sigstore/core';
import { TrustedRoot as TrustedRootCodec } from '@sigstore/protobuf-specs';
import { type Signer, toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import { type Bundle, createVerifier, parseBundle, readTrustedRoot, SignetError, type TrustedRoot } from '../src';
import { canonical, clearCompiledTrust, compiledTrust, fastVerify } from '../src/sigstore-fast';

/*
 * The fast path of keyless verification (src/sigstore-fast.ts) against @sigstore/verify itself:
 * on every bundle both see, the fast path may accept only what @sigstore/verify accepts, with the
 * same signer; and its caches, keyed by the trusted root's content, never let another root, a
 * changed certificate or an expired authority through.
 */

const { vectorsDir } = require('@signet/jest-config/vectors') as { vectorsDir(): string | undefined };
const vectors = vectorsDir();
const FIXTURES = path.join(__dirname, '__fixtures__');
const fixture = (name: string) => fs.readFileSync(path.join(FIXTURES, name));

interface Case {
  name: string;
  json: Record<string, unknown>;
  artifact: Buffer;
  root: TrustedRoot;
}

const THRESHOLDS = { tlogThreshold: 1, timestampThreshold: 1, ctlogThreshold: 1 };

function compile(root: TrustedRoot) {
  return compiledTrust(
    root,
    (r) => toTrustMaterial(r),
    (r) => TrustedRootCodec.toJSON(r),
  );
}

/** What each path decides for a bundle over an artifact: the reference's signer or error, the fast path's signer or nothing. */
function decide(bundle: Bundle, artifact: Buffer, root: TrustedRoot): { reference: Signer | Error; fast?: Signer } {
  const trust = compile(root);
  const entity = () => toSignedEntity(bundle, artifact);
  let reference: Signer | Error;
  try {
    reference = new Verifier(trust.material, THRESHOLDS).verify(entity());
  } catch (error) {
    reference = error as Error;
  }
  let fast: Signer | undefined;
  try {
    const leaf = bundle.verificationMaterial.content;
    const der =
      leaf.$case === 'certificate'
        ? leaf.certificate.rawBytes
        : leaf.$case === 'x509CertificateChain'
          ? leaf.x509CertificateChain.certificates[0]?.rawBytes
          : undefined;
    const timestamps = bundle.verificationMaterial.timestampVerificationData?.rfc3161Timestamps ?? [];
    fast = fastVerify(trust, entity(), THRESHOLDS, {
      leaf: der?.length ?? -1,
      timestamps: timestamps.map((t) => t.signedTimestamp.length),
    });
  } catch {
    fast = undefined; // toSignedEntity refused the bundle: the reference refused it too
  }
  return { reference, fast };
}

function sameSigner(a: Signer, b: Signer): boolean {
  const der = (s: Signer) => s.key.export({ type: 'spki', format: 'der' });
  return (
    der(a).equals(der(b)) &&
    a.identity?.subjectAlternativeName === b.identity?.subjectAlternativeName &&
    a.identity?.extensions?.issuer === b.identity?.extensions?.issuer &&
    JSON.stringify(a.identity?.oids) === JSON.stringify(b.identity?.oids)
  );
}

async function keylessCases(): Promise<Case[]> {
  const cases: Case[] = [
    {
      name: 'message.keyless (local stack: TSA and Rekor)',
      json: JSON.parse(fixture('message.keyless.sigstore.json').toString('utf8')),
      artifact: fixture('artifact.txt'),
      root: await readTrustedRoot(path.join(FIXTURES, 'trusted_root.json')),
    },
  ];
  if (!vectors) return cases;
  const publicGood = await readTrustedRoot(path.join(vectors, 'public-good/trusted_root.json'));
  for (const name of fs.readdirSync(path.join(vectors, 'npm-provenance')).filter((n) => n.endsWith('.provenance.sigstore.json'))) {
    cases.push({
      name: `npm provenance ${name}`,
      json: JSON.parse(fs.readFileSync(path.join(vectors, 'npm-provenance', name), 'utf8')),
      artifact: Buffer.alloc(0), // DSSE: the envelope is what is signed
      root: publicGood,
    });
  }
  const base = path.join(vectors, 'sigstore-conformance-assets/bundle-verify');
  for (const name of fs.readdirSync(base).sort()) {
    const dir = path.join(base, name);
    if (!fs.statSync(dir).isDirectory() || fs.existsSync(path.join(dir, 'key.pub'))) continue;
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(fs.readFileSync(path.join(dir, 'bundle.sigstore.json'), 'utf8'));
    } catch {
      continue; // not JSON: refused before verification
    }
    const artifact = fs.readFileSync(fs.existsSync(path.join(dir, 'artifact')) ? path.join(dir, 'artifact') : path.join(base, '../a.txt'));
    const rootPath = fs.existsSync(path.join(dir, 'trusted_root.json'))
      ? path.join(dir, 'trusted_root.json')
      : path.join(vectors, 'public-good/trusted_root.json');
    let root: TrustedRoot;
    try {
      root = await readTrustedRoot(rootPath);
    } catch {
      continue; // a malformed root is refused before any bundle is looked at
    }
    cases.push({ name: `conformance ${name}`, json, artifact, root });
  }
  return cases;
}

/** A small deterministic PRNG (mulberry32), so a failure names a case that can be run again. */
function prng(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { int: (n: number) => Math.floor(next() * n), pick: <T>(list: T[]) => list[Math.floor(next() * list.length)] as T };
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
function base64Slots(value: unknown, found: [Record<string, string>, string][] = []): [Record<string, string>, string][] {
  if (value && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      if (typeof inner === 'string' && inner.length >= 4 && BASE64.test(inner)) found.push([value as Record<string, string>, key]);
      base64Slots(inner, found);
    }
  }
  return found;
}

describe('the fast path decides as @sigstore/verify does', () => {
  let cases: Case[];
  beforeAll(async () => {
    cases = await keylessCases();
  });

  it('accepts every genuine keyless bundle the reference accepts, with the same signer, and refuses (leaves to it) every other', () => {
    const leftToReference: string[] = [];
    let accepted = 0;
    for (const c of cases) {
      const bundle = parseBundleOrUndefined(c.json);
      if (!bundle) continue;
      const { reference, fast } = decide(bundle, c.artifact, c.root);
      if (fast) {
        expect({ case: c.name, referenceAccepted: !(reference instanceof Error) }).toEqual({ case: c.name, referenceAccepted: true });
        expect(sameSigner(fast, reference as Signer)).toBe(true);
        accepted++;
      } else if (!(reference instanceof Error)) leftToReference.push(c.name);
    }
    // Every bundle that verifies, verifies through the fast path: none is silently left to the reference.
    expect(leftToReference).toEqual([]);
    expect(accepted).toBeGreaterThanOrEqual(vectors ? 10 : 1);
  });

  it('never accepts a mutant the reference refuses, nor with another signer (1,000 bit flips in certificates, timestamps, log entries, signatures and artifacts)', () => {
    const random = prng(20261207);
    const genuine = cases.filter((c) => {
      const bundle = parseBundleOrUndefined(c.json);
      return bundle && decide(bundle, c.artifact, c.root).fast !== undefined;
    });
    expect(genuine.length).toBeGreaterThan(0);
    let fastAccepts = 0;
    let referenceAccepts = 0;
    for (let i = 0; i < 1000; i++) {
      const seed = random.pick(genuine);
      const json = structuredClone(seed.json);
      let artifact = seed.artifact;
      const flips = 1 + random.int(2);
      for (let f = 0; f < flips; f++) {
        const slots = base64Slots(json);
        if (random.int(10) === 0 && artifact.length > 0) {
          const changed = Buffer.from(artifact);
          const at = random.int(changed.length);
          changed[at] = (changed[at] as number) ^ (1 << random.int(8));
          artifact = changed;
          continue;
        }
        const [holder, key] = random.pick(slots);
        const bytes = Buffer.from(holder[key] as string, 'base64');
        const at = random.int(bytes.length);
        bytes[at] = (bytes[at] as number) ^ (1 << random.int(8));
        holder[key] = bytes.toString('base64');
      }
      const bundle = parseBundleOrUndefined(json);
      if (!bundle) continue;
      const { reference, fast } = decide(bundle, artifact, seed.root);
      if (!(reference instanceof Error)) referenceAccepts++;
      if (!fast) continue;
      fastAccepts++;
      expect({ mutant: i, seed: seed.name, referenceAccepted: !(reference instanceof Error) }).toEqual({
        mutant: i,
        seed: seed.name,
        referenceAccepted: true,
      });
      expect(sameSigner(fast, reference as Signer)).toBe(true);
    }
    // Flips in unsigned fields (a log entry's proof hashes beside its SET, say) still verify: both paths must see them.
    expect(fastAccepts).toBeLessThanOrEqual(referenceAccepts);
  });
});

function flip(bytes: Buffer, at: number): void {
  bytes[at] = (bytes[at] as number) ^ 1;
}

function parseBundleOrUndefined(json: unknown): Bundle | undefined {
  try {
    return parseBundle(JSON.stringify(json));
  } catch {
    return undefined;
  }
}

describe('canonical: a parsed tree is used as its own encoding only when it is exactly what toDER writes', () => {
  const der = (json: Record<string, unknown>) =>
    Buffer.from((json.verificationMaterial as { certificate: { rawBytes: string } }).certificate.rawBytes, 'base64');
  const leaf = der(JSON.parse(fixture('message.keyless.sigstore.json').toString('utf8')));

  it('a DER certificate is canonical', () => {
    const cert = X509Certificate.parse(Buffer.from(leaf));
    expect(canonical(cert.root, leaf.length)).toBe(true);
  });

  it('trailing bytes, or a length written in more bytes than it needs, are not', () => {
    const withTrailing: Buffer = Buffer.concat([leaf, Buffer.from([0])]);
    expect(canonical(X509Certificate.parse(Buffer.from(withTrailing)).root, withTrailing.length)).toBe(false);
    const longForm = nonMinimalLength(leaf);
    expect(canonical(X509Certificate.parse(Buffer.from(longForm)).root, longForm.length)).toBe(false);
  });
});

/**
 * The certificate with its version field's length written in long form (0x81 0x03 for 3): the
 * same certificate to @sigstore/core, which re-encodes it before checking the CA's signature,
 * but not the bytes the CA signed. Built with @sigstore/core's own encoder.
 */
function nonMinimalLength(der: Buffer): Buffer {
  const root = ASN1Obj.parseBuffer(Buffer.from(der));
  const tbs = root.subs[0] as ASN1Obj;
  const version = tbs.subs[0] as ASN1Obj;
  const versionDer = version.toDER();
  const longVersion = {
    toDER: () => Buffer.concat([versionDer.subarray(0, 1), Buffer.from([0x81, versionDer[1] as number]), versionDer.subarray(2)]),
  };
  const Obj = ASN1Obj as unknown as new (tag: unknown, value: Buffer, subs: unknown[]) => ASN1Obj;
  const newTbs = new Obj(tbs.tag, tbs.value, [longVersion, ...tbs.subs.slice(1)]);
  return new Obj(root.tag, root.value, [newTbs, ...root.subs.slice(1)]).toDER();
}

/** The parts of trusted_root.json these cases edit. */
interface RootJson {
  certificateAuthorities: [{ certChain: unknown; validFor: unknown }];
  timestampAuthorities: [{ certChain: unknown; validFor: unknown }];
  ctlogs: [{ publicKey: { validFor: unknown } }];
}

describe('the caches never let through what they must not (each case after a genuine verification warmed them)', () => {
  const artifact = fixture('artifact.txt');
  const issuer = fixture('oidc-issuer.txt').toString('utf8').trim();
  const policy = { identities: [{ subjectRegExp: '^https://github\\.com/my-org/.+', issuer }] };
  const json = () => JSON.parse(fixture('message.keyless.sigstore.json').toString('utf8'));
  const rootJson = () => JSON.parse(fixture('trusted_root.json').toString('utf8'));
  const root = async (edit?: (json: RootJson) => void) => {
    const value = rootJson();
    edit?.(value);
    const file = path.join(fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'signet-fast-')), 'trusted_root.json');
    fs.writeFileSync(file, JSON.stringify(value));
    return readTrustedRoot(file);
  };
  const verify = async (bundleJson: Record<string, unknown>, trustedRoot: TrustedRoot, bytes = artifact) =>
    createVerifier({ policy, trustedRoot }).verify(parseBundle(JSON.stringify(bundleJson)), { bytes });
  const refusal = async (promise: Promise<unknown>) =>
    promise.then(
      () => 'verified',
      (error: unknown) => (error instanceof SignetError ? error.code : `not a SignetError: ${error}`),
    );

  beforeEach(async () => {
    clearCompiledTrust();
    await verify(json(), await root());
  });

  it('another trusted root, whose CA is not the one that issued the certificate: E_CERTIFICATE', async () => {
    // Another authority's certificates (the TSA's chain, a real CA of another key) in the CA's place.
    const other = await root((r) => {
      r.certificateAuthorities[0].certChain = r.timestampAuthorities[0].certChain;
    });
    expect(await refusal(verify(json(), other))).toBe('E_CERTIFICATE');
  });

  it('the same root object changed in place after a verification (its CA replaced): E_CERTIFICATE', async () => {
    const trustedRoot = await root();
    await verify(json(), trustedRoot);
    const [ca] = trustedRoot.certificateAuthorities;
    const [tsa] = trustedRoot.timestampAuthorities;
    if (!ca || !tsa) throw new Error('the fixture root has a CA and a TSA');
    ca.certChain = tsa.certChain;
    expect(await refusal(verify(json(), trustedRoot))).toBe('E_CERTIFICATE');
  });

  it('a certificate whose CA signature is changed (a tampered chain): E_CERTIFICATE', async () => {
    const bundle = json();
    const der = Buffer.from(bundle.verificationMaterial.certificate.rawBytes, 'base64');
    flip(der, der.length - 3);
    bundle.verificationMaterial.certificate.rawBytes = der.toString('base64');
    expect(await refusal(verify(bundle, await root()))).toMatch(/^E_(CERTIFICATE|BUNDLE)$/);
  });

  it('a certificate re-issued by an attacker CA with the real CA name and key identifier: E_CERTIFICATE', async () => {
    const bundle = json();
    const der = Buffer.from(bundle.verificationMaterial.certificate.rawBytes, 'base64');
    const forged = resignedBy(der, crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
    bundle.verificationMaterial.certificate.rawBytes = forged.toString('base64');
    expect(await refusal(verify(bundle, await root()))).toBe('E_CERTIFICATE');
  });

  it('the CA expired before the signature was made (its validFor ends earlier): E_CERTIFICATE', async () => {
    const expired = await root((r) => {
      r.certificateAuthorities[0].validFor = { start: '2000-01-01T00:00:00Z', end: '2001-01-01T00:00:00Z' };
    });
    expect(await refusal(verify(json(), expired))).toBe('E_CERTIFICATE');
  });

  it('the TSA expired, and the log entry alone does not rescue a bad timestamp: E_TIMESTAMP', async () => {
    const expired = await root((r) => {
      r.timestampAuthorities[0].validFor = { start: '2000-01-01T00:00:00Z', end: '2001-01-01T00:00:00Z' };
    });
    expect(await refusal(verify(json(), expired))).toBe('E_TIMESTAMP');
  });

  it('the CT log expired before the SCT: E_CERTIFICATE', async () => {
    const expired = await root((r) => {
      r.ctlogs[0].publicKey.validFor = { start: '2000-01-01T00:00:00Z', end: '2001-01-01T00:00:00Z' };
    });
    expect(await refusal(verify(json(), expired))).toBe('E_CERTIFICATE');
  });

  it('another artifact: E_SIGNATURE; the genuine one still verifies after it', async () => {
    const changed = Buffer.from(artifact);
    flip(changed, 0);
    const trustedRoot = await root();
    expect(await refusal(verify(json(), trustedRoot, changed))).toBe('E_SIGNATURE');
    expect(await refusal(verify(json(), trustedRoot))).toBe('verified');
  });

  it('a certificate encoded with a needlessly long length: the fast path leaves it to @sigstore/verify, which decides', async () => {
    const bundle = json();
    const der = Buffer.from(bundle.verificationMaterial.certificate.rawBytes, 'base64');
    bundle.verificationMaterial.certificate.rawBytes = nonMinimalLength(der).toString('base64');
    const parsed = parseBundle(JSON.stringify(bundle));
    const { reference, fast } = decide(parsed, artifact, await root());
    expect(fast).toBeUndefined();
    const outcome = await refusal(verify(bundle, await root()));
    if (reference instanceof Error) expect(outcome).not.toBe('verified');
    else expect(outcome).toBe('verified');
  });
});

/** The certificate's TBS signed again by `key` (same issuer name, same AKID): what an attacker CA would issue. */
function resignedBy(der: Buffer, key: crypto.KeyObject): Buffer {
  const root = ASN1Obj.parseBuffer(Buffer.from(der));
  const tbs = (root.subs[0] as ASN1Obj).toDER();
  const signature = crypto.sign('sha256', tbs, key);
  const bits = root.subs[2] as ASN1Obj;
  const Obj = ASN1Obj as unknown as new (tag: unknown, value: Buffer, subs: unknown[]) => ASN1Obj;
  const newBits = new Obj(bits.tag, Buffer.concat([Buffer.from([0]), signature]), []);
  return new Obj(root.tag, root.value, [root.subs[0], root.subs[1], newBits]).toDER();
}
