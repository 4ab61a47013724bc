// Trusted roots and TUF: a repository that cannot be reached or has gone stale must stop
// verification (exit 3) rather than quietly trust an old copy; a root read more strictly
// than protobuf-specs must not stop verification of what the rest of Sigstore signs; and a
// validity window without a start must never count as "valid since the beginning of time".
import fs from 'node:fs';
import path from 'node:path';
import { TufRepositoryEmulator } from '@signet/emulators/sigstore';
import { errorLines, type RunResult, signetAsync, singleErrorLine, useTempDir, vectorsDir } from '@signet/test-support';
import { X509Certificate } from '@sigstore/core';

const LOOPBACK_ONLY = path.join(__dirname, 'support/loopback-only.js');
const CONFORMANCE_IDENTITY = [
  '--certificate-identity',
  'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main',
  '--certificate-oidc-issuer',
  'https://token.actions.githubusercontent.com',
];

const tmp = useTempDir();
const vectors = vectorsDir();
const describeWithVectors = vectors ? describe : describe.skip;
if (!vectors) console.warn('trust-roots: no Sigstore vectors found (SIGNET_VECTORS, ../shared/vectors); the attacks on them are skipped');

/** A public-good keyless bundle (sigstore-conformance happy-path-v0.3) and its artifact. */
function publicGoodBundle(): { bundle: string; artifact: string } {
  const suite = path.join(vectors as string, 'sigstore-conformance-assets/bundle-verify');
  return { bundle: path.join(suite, 'happy-path-v0.3/bundle.sigstore.json'), artifact: path.join(suite, 'a.txt') };
}

describeWithVectors('the public-good trusted root', () => {
  it('cannot be refreshed: exit 3 naming the repository, not a silent fall back to the shipped (expired) copy', async () => {
    const { bundle, artifact } = publicGoodBundle();
    const result = await signetAsync(['verify', artifact, '--bundle', bundle, ...CONFORMANCE_IDENTITY], {
      cwd: tmp(),
      // Online (SIGNET_OFFLINE unset), with the network unplugged: nothing leaves the machine.
      env: { SIGNET_OFFLINE: undefined, XDG_CACHE_HOME: tmp() },
      nodeArgs: ['-r', LOOPBACK_ONLY],
    });
    expect(result.status).toBe(3);
    const error = singleErrorLine(result.stderr);
    expect(error.code).toBe('E_PROVIDER');
    expect(error.message).toContain('could not refresh trusted_root.json through TUF from https://tuf-repo-cdn.sigstore.dev');
    expect(error.message).toContain('ENETUNREACH');
    expect(error.message).toContain('--offline');
  });

  it('offline, the shipped copy is used, and said to have expired', async () => {
    const { bundle, artifact } = publicGoodBundle();
    const result = await signetAsync(['verify', artifact, '--bundle', bundle, ...CONFORMANCE_IDENTITY, '--offline'], {
      cwd: tmp(),
      env: { SIGNET_OFFLINE: undefined },
      nodeArgs: ['-r', LOOPBACK_ONLY],
    });
    expect(result.status).toBe(0);
    expect(result.stderr).toMatch(
      /^warning: the embedded public-good trusted root comes from TUF root v\d+, which expired \d{4}-\d\d-\d\d/m,
    );
  });
});

describeWithVectors('a TUF repository', () => {
  const tuf = new TufRepositoryEmulator();
  beforeAll(() => tuf.start());
  afterAll(() => tuf.stop());

  it('whose timestamp has expired (a frozen or stale mirror) is refused with exit 3', async () => {
    const publicGoodRoot = fs.readFileSync(path.join(vectors as string, 'public-good/trusted_root.json'), 'utf8');
    tuf.publish([{ name: 'trusted_root.json', content: publicGoodRoot }], { timestampExpires: new Date(Date.now() - 3600_000) });
    const dir = tmp();
    fs.writeFileSync(path.join(dir, 'tuf-root.json'), tuf.rootJson);
    const { bundle, artifact } = publicGoodBundle();
    const args = ['verify', artifact, '--bundle', bundle, ...CONFORMANCE_IDENTITY, '--tuf-mirror', tuf.url, '--tuf-root', 'tuf-root.json'];
    const result = await signetAsync(args, { cwd: dir, env: { XDG_CACHE_HOME: path.join(dir, 'cache') } });
    expect(result.status).toBe(3);
    const error = singleErrorLine(result.stderr);
    expect(error.code).toBe('E_PROVIDER');
    expect(error.message).toContain(`through TUF from ${tuf.url}`);
    expect(error.message).toContain('serves expired metadata');
  });
});

describeWithVectors('sigstore-conformance: trust-root-tlog-missing-validity-start_fail', () => {
  it('a log key whose validFor has no start is still refused, never read as valid since the beginning of time', async () => {
    const dir = path.join(vectors as string, 'sigstore-conformance-assets/bundle-verify/trust-root-tlog-missing-validity-start_fail');
    const result = await signetAsync(
      [
        'verify',
        path.join(dir, '../a.txt'),
        '--bundle',
        path.join(dir, 'bundle.sigstore.json'),
        ...CONFORMANCE_IDENTITY,
        '--trusted-root',
        path.join(dir, 'trusted_root.json'),
      ],
      { cwd: tmp() },
    );
    expect(result.status).toBe(2);
    const error = singleErrorLine(result.stderr);
    expect(error.code).toBe('E_TRUST_ROOT');
    expect(error.message).toContain('tlogs[1] (https://log2025-alpha1.rekor.sigstage.dev)');
  });
});

interface SerializedBundle {
  dsseEnvelope?: { payloadType: string };
  verificationMaterial: {
    publicKey?: { hint: string };
    certificate?: { rawBytes: string };
    x509CertificateChain?: { certificates: { rawBytes: string }[] };
    tlogEntries?: unknown[];
  };
}

/**
 * The sigstore-js fixtures, each verified against its own trusted root (`trusted_root.FAMILY_trust.json`
 * for `FAMILY_*` and `FAMILY.*` bundles), with what to trust read from the bundle itself: the
 * certificate's identity and issuer, or the family's public key; as many log entries as it carries.
 */
describeWithVectors('the sigstore-js fixtures, whose trusted roots give log keys no validFor', () => {
  const fixtures = path.join(vectors as string, 'sigstore-js-fixtures');
  const bundles = vectors ? fs.readdirSync(fixtures).filter((name) => name.endsWith('.sigstore.json')) : [];

  function args(name: string): string[] {
    const family = name.split(/[._]/)[0] as string;
    const bundle = JSON.parse(fs.readFileSync(path.join(fixtures, name), 'utf8')) as SerializedBundle;
    const material = bundle.verificationMaterial;
    const der = material.certificate?.rawBytes ?? material.x509CertificateChain?.certificates[0]?.rawBytes;
    let trust: string[];
    if (der) {
      const certificate = X509Certificate.parse(Buffer.from(der, 'base64'));
      const issuer = certificate.extension('1.3.6.1.4.1.57264.1.1')?.value.toString('utf8');
      trust = ['--certificate-identity', certificate.subjectAltName as string, '--certificate-oidc-issuer', issuer as string];
    } else {
      const key = fs.readdirSync(fixtures).find((file) => file.startsWith(`${family}.`) && file.endsWith('.pem')) as string;
      trust = ['--key', path.join(fixtures, key)];
    }
    return [
      'verify',
      path.join(fixtures, 'artifact.txt'),
      '--bundle',
      path.join(fixtures, name),
      ...trust,
      '--tlog-threshold',
      String(material.tlogEntries?.length ?? 0),
      '--trusted-root',
      path.join(fixtures, `trusted_root.${family}_trust.json`),
    ];
  }

  function payloadType(name: string): string | undefined {
    return (JSON.parse(fs.readFileSync(path.join(fixtures, name), 'utf8')) as SerializedBundle).dsseEnvelope?.payloadType;
  }

  it('finds every fixture', () => {
    expect(bundles.length).toBeGreaterThanOrEqual(15);
    expect(bundles.filter((name) => name.includes('invalid'))).toHaveLength(2);
  });

  // Message signatures, and DSSE envelopes whose text/plain payload is the artifact itself.
  it.each(bundles.filter((name) => !name.includes('invalid')))('%s verifies', async (name) => {
    const result: RunResult = await signetAsync(args(name), { cwd: tmp() });
    expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: expect.stringContaining('Verified OK') });
  });

  it('has DSSE fixtures among them, over a plain payload', () => {
    expect(bundles.filter((name) => !name.includes('invalid') && payloadType(name) === 'text/plain').length).toBeGreaterThanOrEqual(6);
  });

  it.each(bundles.filter((name) => name.includes('invalid')))('%s fails verification', async (name) => {
    const result = await signetAsync(args(name), { cwd: tmp() });
    expect(result.status).not.toBe(0);
    const errors = errorLines(result.stderr);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.code).not.toMatch(/^E_(TRUST_ROOT|INTERNAL)$/);
  });
});
