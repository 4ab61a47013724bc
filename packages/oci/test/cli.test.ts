// `signet image …` as users run it: the built CLI against Debian's docker-registry (with and
// without htpasswd auth, credentials from a Docker config file) and the OCI 1.1 fixture,
// signing with a local key and with a KMS key from the AWS KMS emulator.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { AwsKmsEmulator, envFor } from '@signet/emulators/aws-kms';
import {
  describeWithRegistryTools,
  type RunningRegistry,
  startDockerRegistry,
  startReferrersRegistry,
} from '@signet/emulators/oci-registry';
import { RekorEmulator } from '@signet/emulators/sigstore';
import { type RunResult, signetAsync, singleErrorLine, useTempDir } from '@signet/test-support';
import { pushedImage } from './helpers';

const tmp = useTempDir();

function keyFiles(dir: string): { key: string; pub: string } {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  fs.writeFileSync(path.join(dir, 'release.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
  fs.writeFileSync(path.join(dir, 'release.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
  return { key: 'env:SIGNET_TEST_KEY', pub: path.join(dir, 'release.pub') };
}

function run(dir: string, args: string[], env: Record<string, string | undefined> = {}): Promise<RunResult> {
  const key = fs.existsSync(path.join(dir, 'release.key')) ? fs.readFileSync(path.join(dir, 'release.key'), 'utf8') : undefined;
  return signetAsync(args, { cwd: dir, env: { DOCKER_CONFIG: path.join(dir, 'docker'), SIGNET_TEST_KEY: key, ...env } });
}

async function ok(dir: string, args: string[], env: Record<string, string | undefined> = {}): Promise<RunResult> {
  const result = await run(dir, args, env);
  if (result.status !== 0) throw new Error(`signet ${args.join(' ')} exited ${result.status}\n${result.stdout}\n${result.stderr}`);
  return result;
}

async function fails(dir: string, args: string[], env: Record<string, string | undefined> = {}) {
  const result = await run(dir, args, env);
  // The test key is an unencrypted env: key, which signet rightly warns about.
  const { code, message } = singleErrorLine(result.stderr.replace(/^warning: env:SIGNET_TEST_KEY is not encrypted.*\n/m, ''));
  return { status: result.status, code, message };
}

describeWithRegistryTools('signet image', () => {
  let registry: RunningRegistry;
  let secured: RunningRegistry;
  let fixture: RunningRegistry;
  beforeAll(async () => {
    [registry, secured, fixture] = await Promise.all([
      startDockerRegistry(),
      startDockerRegistry({ auth: { username: 'ci', password: crypto.randomBytes(12).toString('hex') } }),
      startReferrersRegistry(),
    ]);
  });
  afterAll(() => Promise.all([registry, secured, fixture].map((r) => r?.stop())));

  it('signs by digest, verifies, and prints the image by digest; exit 1 with what was found when unsigned', async () => {
    const dir = tmp();
    const { pub } = keyFiles(dir);
    const { byDigest, ref } = await pushedImage(registry);
    const unsigned = await fails(dir, ['image', 'verify', byDigest, '--key', pub]);
    expect(unsigned).toMatchObject({ status: 1, code: 'E_UNSIGNED' });
    expect(unsigned.message).toContain(`no signature for ${byDigest}`);

    const signed = await ok(dir, ['image', 'sign', byDigest, '--key', 'env:SIGNET_TEST_KEY', '--format', 'both']);
    expect(signed.stdout.trim()).toBe(byDigest);
    const verified = await ok(dir, ['image', 'verify', ref, '--key', pub, '--json']);
    const json = JSON.parse(verified.stdout);
    expect(json).toMatchObject({ ok: true, reference: byDigest, referrersSource: 'fallback-tag' });
    expect(json.signatures.map((s: { format: string }) => s.format)).toEqual(['bundle']);
  });

  it('with --ledger, records the log entry of the signature it pushed, for signet monitor', async () => {
    const rekor = new RekorEmulator();
    await rekor.start();
    try {
      const dir = tmp();
      keyFiles(dir);
      const { byDigest } = await pushedImage(registry);
      await ok(dir, [
        'image',
        'sign',
        byDigest,
        '--key',
        'env:SIGNET_TEST_KEY',
        '--tlog-upload',
        '--rekor-url',
        rekor.url,
        '--ledger',
        'ledger.jsonl',
      ]);
      const lines = fs
        .readFileSync(path.join(dir, 'ledger.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line));
      expect(rekor.log.size).toBe(1);
      expect(lines).toEqual([
        {
          log: rekor.log.logId.toString('hex'),
          logIndex: 0,
          leaf: rekor.log.at(0)?.leafHash.toString('hex'),
          digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
          signer: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
          time: expect.any(String),
        },
      ]);
    } finally {
      await rekor.stop();
    }
  });

  it('judges an image by a gate policy with --policy: the pinned reference, or exit 1 with the reason', async () => {
    const dir = tmp();
    keyFiles(dir);
    fs.writeFileSync(
      path.join(dir, 'policy.yaml'),
      `version: 1\nkeys:\n  release: { publicKey: release.pub }\nrules:\n  - { kind: image, match: '${registry.host}/shop/*', signers: [release] }\n`,
    );
    const { ref, byDigest, image } = await pushedImage(registry);
    expect(await fails(dir, ['image', 'verify', ref, '--policy', 'policy.yaml'])).toMatchObject({ status: 1, code: 'E_UNSIGNED' });
    await ok(dir, ['image', 'sign', byDigest, '--key', 'env:SIGNET_TEST_KEY']);
    const passed = await ok(dir, ['image', 'verify', ref, '--policy', 'policy.yaml']);
    expect(passed.stdout.trim()).toBe(`${ref}@${image.digest}`);
    expect(passed.stderr).toContain('signed by key release');
    const outside = await fails(dir, ['image', 'verify', `${registry.host}/other/app@${image.digest}`, '--policy', 'policy.yaml']);
    expect(outside).toMatchObject({ status: 1, code: 'E_POLICY' });
  });

  it('refuses a tag without --resolve (exit 2), and with it prints the digest it signs', async () => {
    const dir = tmp();
    keyFiles(dir);
    const { ref, byDigest } = await pushedImage(registry);
    expect(await fails(dir, ['image', 'sign', ref, '--key', 'env:SIGNET_TEST_KEY'])).toMatchObject({ status: 2, code: 'E_USAGE' });
    const signed = await ok(dir, ['image', 'sign', ref, '--resolve', '--key', 'env:SIGNET_TEST_KEY']);
    expect(signed.stderr).toContain(`resolved ${ref} to ${byDigest}`);
    expect(signed.stdout.trim()).toBe(byDigest);
  });

  it('uses the credentials of a Docker config file, and says what to do without them (exit 3), never printing the password', async () => {
    const dir = tmp();
    const { pub } = keyFiles(dir);
    const { username, password } = secured.credentials as { username: string; password: string };
    const { byDigest } = await pushedImage(secured);
    const missing = await fails(dir, ['image', 'sign', byDigest, '--key', 'env:SIGNET_TEST_KEY']);
    expect(missing).toMatchObject({ status: 3, code: 'E_PERMISSION' });
    expect(missing.message).toContain(`run docker login ${secured.host}`);

    fs.mkdirSync(path.join(dir, 'docker'));
    const auth = Buffer.from(`${username}:${password}`).toString('base64');
    fs.writeFileSync(path.join(dir, 'docker', 'config.json'), JSON.stringify({ auths: { [secured.host]: { auth } } }));
    await ok(dir, ['image', 'sign', byDigest, '--key', 'env:SIGNET_TEST_KEY']);
    const verified = await ok(dir, ['image', 'verify', byDigest, '--key', pub]);
    expect(verified.stdout + verified.stderr).not.toContain(password);

    fs.writeFileSync(
      path.join(dir, 'docker', 'config.json'),
      JSON.stringify({ auths: { [secured.host]: { username, password: 'wrong' } } }),
    );
    const refused = await run(dir, ['image', 'verify', byDigest, '--key', pub]);
    expect(refused.status).toBe(3);
    expect(refused.stderr).not.toContain('wrong');
  });

  it('copies an image with its signatures and attestations to a registry with the referrers API', async () => {
    const dir = tmp();
    const { pub } = keyFiles(dir);
    const { byDigest, repo, image } = await pushedImage(registry);
    await ok(dir, ['image', 'sign', byDigest, '--key', 'env:SIGNET_TEST_KEY', '--format', 'both']);
    fs.writeFileSync(path.join(dir, 'vex.json'), JSON.stringify({ '@context': 'https://openvex.dev/ns/v0.2.0', statements: [] }));
    await ok(dir, ['image', 'attest', byDigest, '--predicate', 'vex.json', '--type', 'openvex', '--key', 'env:SIGNET_TEST_KEY']);

    const destination = `${fixture.host}/mirror/${repo}:stable`;
    const copied = JSON.parse((await ok(dir, ['image', 'copy', byDigest, destination, '--json'])).stdout);
    expect(copied).toMatchObject({ ok: true, digest: image.digest, referrers: 2, legacyTags: 1 });
    const mirrored = `${fixture.host}/mirror/${repo}:stable`;
    const verified = JSON.parse((await ok(dir, ['image', 'verify', mirrored, '--key', pub, '--json'])).stdout);
    expect(verified).toMatchObject({ digest: image.digest, referrersSource: 'referrers-api' });
    expect(verified.signatures).toEqual([expect.objectContaining({ format: 'bundle' })]);
    // The legacy signature came along, byte for byte.
    const sigTag = `/v2/mirror/${repo}/manifests/${image.digest.replace(':', '-')}.sig`;
    const accept = { accept: 'application/vnd.oci.image.manifest.v1+json' };
    const [sourceSig, mirroredSig] = await Promise.all([
      fetch(`${registry.url}/v2/${repo}/manifests/${image.digest.replace(':', '-')}.sig`, { headers: accept }).then((r) => r.text()),
      fetch(`${fixture.url}${sigTag}`, { headers: accept }).then((r) => r.text()),
    ]);
    expect(mirroredSig).toBe(sourceSig);
    const attested = JSON.parse(
      (await ok(dir, ['image', 'verify-attestation', mirrored, '--type', 'openvex', '--key', pub, '--json'])).stdout,
    );
    expect(attested.statements[0].predicateType).toBe('https://openvex.dev/ns');
  });

  describe('with a KMS key', () => {
    const kms = new AwsKmsEmulator();
    beforeAll(() => kms.start());
    afterAll(() => kms.stop());

    it('signs with awskms:// and verifies with the KMS public key', async () => {
      const dir = tmp();
      await kms.createKey({ alias: 'alias/images' });
      const { byDigest } = await pushedImage(fixture);
      const env = { ...envFor(kms), AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: '1' };
      await ok(dir, ['image', 'sign', byDigest, '--key', 'awskms:///alias/images'], env);
      const verified = await ok(dir, ['image', 'verify', byDigest, '--key', 'awskms:///alias/images'], env);
      expect(verified.stderr).toMatch(/verified bundle signature sha256:[0-9a-f]{64} of sha256:[0-9a-f]{64} by key/);
      expect((await fails(dir, ['image', 'verify', byDigest, '--key', path.join(dir, 'none.pub')])).status).toBe(2);
    });
  });
});
