// What Signet signs verifies with other implementations (OpenSSL, @sigstore/verify),
// and keys and signatures made by OpenSSL work with Signet.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type RunResult, readJson, signet, signetOk, tool, toolStatus, useTempDir, writeFile } from '@signet/test-support';
import { bundleFromJSON } from '@sigstore/bundle';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';

const tmp = useTempDir();

interface KeyKind {
  label: string;
  genpkey: string[];
  /** How OpenSSL verifies this key's signatures: a digest and options, or Ed25519's raw mode. */
  verify: { hash: 'sha256' | 'sha384'; sigopts?: string[] } | 'ed25519';
  password?: string;
}

const KINDS: KeyKind[] = [
  { label: 'EC P-256', genpkey: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'], verify: { hash: 'sha256' } },
  { label: 'EC P-384', genpkey: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384'], verify: { hash: 'sha384' } },
  { label: 'Ed25519', genpkey: ['-algorithm', 'ed25519'], verify: 'ed25519' },
  { label: 'RSA 3072', genpkey: ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:3072'], verify: { hash: 'sha256' } },
  {
    label: 'RSA-PSS 3072',
    genpkey: ['-algorithm', 'RSA-PSS', '-pkeyopt', 'rsa_keygen_bits:3072'],
    verify: { hash: 'sha256', sigopts: ['-sigopt', 'rsa_padding_mode:pss'] },
  },
  {
    label: 'RSA-PSS 3072 restricted to SHA-384 (salt 48)',
    genpkey: [
      '-algorithm',
      'RSA-PSS',
      '-pkeyopt',
      'rsa_keygen_bits:3072',
      '-pkeyopt',
      'rsa_pss_keygen_md:sha384',
      '-pkeyopt',
      'rsa_pss_keygen_mgf1_md:sha384',
      '-pkeyopt',
      'rsa_pss_keygen_saltlen:48',
    ],
    verify: { hash: 'sha384', sigopts: ['-sigopt', 'rsa_padding_mode:pss'] },
  },
  {
    label: 'EC P-256, encrypted (AES-256)',
    genpkey: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-aes256', '-pass', 'pass:secret'],
    verify: { hash: 'sha256' },
    password: 'secret',
  },
];

/** Makes key.pem (and key.pub, its SPKI PEM) with openssl genpkey. */
function opensslKey(dir: string, kind: KeyKind): void {
  tool('openssl', ['genpkey', ...kind.genpkey, '-out', 'key.pem'], dir);
  tool(
    'openssl',
    ['pkey', '-in', 'key.pem', ...(kind.password ? ['-passin', `pass:${kind.password}`] : []), '-pubout', '-out', 'key.pub'],
    dir,
  );
}

/** openssl's verdict on a signature over `data` by key.pub. */
function opensslVerify(dir: string, kind: KeyKind, data: string, signature: string): RunResult {
  if (kind.verify === 'ed25519') {
    return toolStatus('openssl', ['pkeyutl', '-verify', '-pubin', '-inkey', 'key.pub', '-rawin', '-in', data, '-sigfile', signature], dir);
  }
  return toolStatus(
    'openssl',
    ['dgst', `-${kind.verify.hash}`, '-verify', 'key.pub', ...(kind.verify.sigopts ?? []), '-signature', signature, data],
    dir,
  );
}

/** The DSSE pre-authentication encoding: "DSSEv1" SP len(type) SP type SP len(body) SP body. */
function pae(payloadType: string, payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`DSSEv1 ${Buffer.byteLength(payloadType)} ${payloadType} ${payload.length} `), payload]);
}

interface DsseBundle {
  dsseEnvelope: { payload: string; payloadType: string; signatures: { sig: string }[] };
}

const CYCLONEDX = JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.5', version: 1 });

describe.each(KINDS)('a key from openssl genpkey: $label', (kind) => {
  const env = kind.password ? { SIGNET_PASSWORD: kind.password } : {};
  // The key is made once per kind (RSA generation is slow); each test copies it into its own directory.
  let keyDir: string;
  beforeAll(() => {
    keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-cli-openssl-key-'));
    opensslKey(keyDir, kind);
  });
  afterAll(() => {
    if (keyDir) fs.rmSync(keyDir, { recursive: true, force: true });
  });
  function withKey(): string {
    const dir = tmp();
    for (const file of ['key.pem', 'key.pub']) fs.copyFileSync(path.join(keyDir, file), path.join(dir, file));
    return dir;
  }

  test('signs with signet sign; openssl verifies the message signature; signet verifies with the openssl .pub', () => {
    const dir = withKey();
    writeFile(dir, 'artifact.tgz', crypto.randomBytes(4096));
    signetOk(['sign', 'artifact.tgz', '--key', 'file:key.pem'], { cwd: dir, env });

    const bundle = readJson(dir, 'artifact.tgz.sigstore.json') as { messageSignature: { signature: string } };
    fs.writeFileSync(path.join(dir, 'sig.bin'), Buffer.from(bundle.messageSignature.signature, 'base64'));
    const verdict = opensslVerify(dir, kind, 'artifact.tgz', 'sig.bin');
    expect(verdict.stdout + verdict.stderr).toMatch(/Verified OK|Signature Verified Successfully/);
    expect(verdict.status).toBe(0);

    // the control: openssl rejects the same signature over other bytes
    writeFile(dir, 'other.tgz', crypto.randomBytes(4096));
    expect(opensslVerify(dir, kind, 'other.tgz', 'sig.bin').status).not.toBe(0);

    const verified = signet(['verify', 'artifact.tgz', '--key', 'key.pub'], { cwd: dir });
    expect(verified.stderr).toContain('Verified OK');
    expect(verified.status).toBe(0);

    // and `key public` gives the same SPKI as openssl
    expect(signetOk(['key', 'public', '--key', 'file:key.pem'], { cwd: dir, env }).stdout).toBe(
      fs.readFileSync(path.join(dir, 'key.pub'), 'utf8'),
    );
  });

  test('signet attest: openssl verifies the DSSE signature over the pre-authentication encoding', () => {
    const dir = withKey();
    writeFile(dir, 'artifact.tgz', 'a release\n');
    writeFile(dir, 'bom.json', CYCLONEDX);
    signetOk(['attest', 'artifact.tgz', '--predicate', 'bom.json', '--type', 'cyclonedx', '--key', 'file:key.pem'], { cwd: dir, env });

    const bundle = readJson(dir, 'artifact.tgz.cyclonedx.sigstore.json') as unknown as DsseBundle;
    const { payload, payloadType, signatures } = bundle.dsseEnvelope;
    expect(payloadType).toBe('application/vnd.in-toto+json');
    expect(signatures).toHaveLength(1);
    fs.writeFileSync(path.join(dir, 'pae.bin'), pae(payloadType, Buffer.from(payload, 'base64')));
    fs.writeFileSync(path.join(dir, 'sig.bin'), Buffer.from(signatures[0]?.sig ?? '', 'base64'));
    const verdict = opensslVerify(dir, kind, 'pae.bin', 'sig.bin');
    expect(verdict.stdout + verdict.stderr).toMatch(/Verified OK|Signature Verified Successfully/);
    expect(verdict.status).toBe(0);

    // the control: the signature does not cover the bare payload
    fs.writeFileSync(path.join(dir, 'payload.bin'), Buffer.from(payload, 'base64'));
    expect(opensslVerify(dir, kind, 'payload.bin', 'sig.bin').status).not.toBe(0);

    const verified = signet(
      ['verify-attestation', 'artifact.tgz', '--bundle', 'artifact.tgz.cyclonedx.sigstore.json', '--type', 'cyclonedx', '--key', 'key.pub'],
      {
        cwd: dir,
      },
    );
    expect(verified.stderr).toContain('Verified OK');
    expect(verified.status).toBe(0);
  });

  test('a signature made by openssl, put in a Signet bundle, verifies with signet verify', () => {
    const dir = withKey();
    writeFile(dir, 'artifact.tgz', 'signed twice\n');
    signetOk(['sign', 'artifact.tgz', '--key', 'file:key.pem'], { cwd: dir, env });
    const passin = kind.password ? ['-passin', `pass:${kind.password}`] : [];
    if (kind.verify === 'ed25519') {
      tool('openssl', ['pkeyutl', '-sign', '-inkey', 'key.pem', ...passin, '-rawin', '-in', 'artifact.tgz', '-out', 'openssl.sig'], dir);
    } else {
      // OpenSSL signs PSS with the longest salt by default, where Signet uses the digest's length
      tool(
        'openssl',
        [
          'dgst',
          `-${kind.verify.hash}`,
          '-sign',
          'key.pem',
          ...passin,
          ...(kind.verify.sigopts ?? []),
          '-out',
          'openssl.sig',
          'artifact.tgz',
        ],
        dir,
      );
    }
    const file = path.join(dir, 'artifact.tgz.sigstore.json');
    const bundle = JSON.parse(fs.readFileSync(file, 'utf8')) as { messageSignature: { signature: string } };
    const ours = bundle.messageSignature.signature;
    bundle.messageSignature.signature = fs.readFileSync(path.join(dir, 'openssl.sig')).toString('base64');
    if (kind.verify === 'ed25519') expect(bundle.messageSignature.signature).toBe(ours); // Ed25519 is deterministic
    fs.writeFileSync(file, JSON.stringify(bundle));
    const verified = signet(['verify', 'artifact.tgz', '--key', 'key.pub'], { cwd: dir });
    expect(verified.stderr).toContain('Verified OK');
    expect(verified.status).toBe(0);
  });
});

describe('@sigstore/verify, used directly, verifies Signet’s P-256 bundles', () => {
  const emptyRoot = {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [],
    ctlogs: [],
    certificateAuthorities: [],
    timestampAuthorities: [],
  };

  function sigstoreVerify(dir: string, bundleFile: string, artifact: Buffer | undefined): void {
    const publicKey = crypto.createPublicKey(fs.readFileSync(path.join(dir, 'key.pub')));
    const trust = toTrustMaterial(emptyRoot as unknown as Parameters<typeof toTrustMaterial>[0], () => ({
      publicKey,
      validFor: () => true,
    }));
    const bundle = bundleFromJSON(readJson(dir, bundleFile));
    new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 }).verify(toSignedEntity(bundle, artifact));
  }

  test('a message signature', () => {
    const dir = tmp();
    opensslKey(dir, KINDS[0] as KeyKind);
    const artifact = crypto.randomBytes(10_000);
    writeFile(dir, 'artifact.bin', artifact);
    signetOk(['sign', 'artifact.bin', '--key', 'file:key.pem'], { cwd: dir });
    expect(() => sigstoreVerify(dir, 'artifact.bin.sigstore.json', artifact)).not.toThrow();
    // the control: another artifact does not verify
    expect(() => sigstoreVerify(dir, 'artifact.bin.sigstore.json', crypto.randomBytes(10_000))).toThrow();
  });

  test('a DSSE attestation', () => {
    const dir = tmp();
    opensslKey(dir, KINDS[0] as KeyKind);
    writeFile(dir, 'artifact.bin', 'attested\n');
    writeFile(dir, 'bom.json', CYCLONEDX);
    signetOk(['attest', 'artifact.bin', '--predicate', 'bom.json', '--type', 'cyclonedx', '--key', 'file:key.pem'], { cwd: dir });
    expect(() => sigstoreVerify(dir, 'artifact.bin.cyclonedx.sigstore.json', undefined)).not.toThrow();
    // the control: a changed payload does not verify
    const file = path.join(dir, 'artifact.bin.cyclonedx.sigstore.json');
    const bundle = JSON.parse(fs.readFileSync(file, 'utf8')) as DsseBundle;
    const statement = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8')) as { predicate: { version: number } };
    statement.predicate.version = 2;
    bundle.dsseEnvelope.payload = Buffer.from(JSON.stringify(statement)).toString('base64');
    fs.writeFileSync(file, JSON.stringify(bundle));
    expect(() => sigstoreVerify(dir, 'artifact.bin.cyclonedx.sigstore.json', undefined)).toThrow();
  });
});
