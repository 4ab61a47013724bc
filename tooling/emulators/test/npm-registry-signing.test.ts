import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  type LocalRegistry,
  NPM_PUBLISH_V01,
  type SigstoreCdn,
  SLSA_PROVENANCE_V1,
  startNpmRegistry,
  startSigstoreCdn,
} from '../src/npm-registry';
import { SigstoreStack } from '../src/sigstore';

/*
 * The local registry serving what registry.npmjs.org serves (keys, registry signatures,
 * provenance and publish attestations), checked by the real npm CLI: `npm audit signatures`,
 * reaching Sigstore's TUF CDN through the local proxy, must verify all of it, and must fail
 * when a signature or an attestation is not genuine.
 */

const run = promisify(execFile);
const npm = async (args: string[], cwd: string, env: Record<string, string>) =>
  run('npm', args, { cwd, env, timeout: 120_000 }).then(
    ({ stdout, stderr }) => ({ status: 0, stdout, stderr }),
    (error: { code?: number; stdout?: string; stderr?: string }) => ({
      status: error.code ?? 1,
      stdout: error.stdout ?? '',
      stderr: error.stderr ?? '',
    }),
  );

/** What GitHub Actions puts in the OIDC token of a release workflow run by acme/NAME at v1.0.0. */
const workflowToken = (name: string) => ({
  subject: `repo:acme/${name}:ref:refs/tags/v1.0.0`,
  claims: {
    job_workflow_ref: `acme/${name}/.github/workflows/release.yml@refs/tags/v1.0.0`,
    repository: `acme/${name}`,
    ref: 'refs/tags/v1.0.0',
    workflow_ref: `acme/${name}/.github/workflows/release.yml@refs/tags/v1.0.0`,
    event_name: 'push',
    sha: 'c0ffee0000000000000000000000000000000000',
  },
});

describe('local npm registry with npm signatures and attestations', () => {
  let stack: SigstoreStack;
  let registry: LocalRegistry;
  let cdn: SigstoreCdn;
  let root: string;
  let app: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    stack = await new SigstoreStack().start();
    registry = await startNpmRegistry({
      signing: {
        sigstore: { rekorURL: stack.rekor.url, fulcioURL: stack.fulcio.url },
        provenanceToken: async (name) => (name === 'no-provenance' ? undefined : stack.mintToken(workflowToken(name))),
      },
    });
    cdn = await startSigstoreCdn(stack.tuf.url, stack.tuf.rootJson);
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-npm-signing-'));
    for (const name of ['alpha', 'beta', 'no-provenance']) {
      const dir = path.join(root, name);
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', license: 'MIT' }));
      fs.writeFileSync(path.join(dir, 'index.js'), `module.exports = ${JSON.stringify(name)};\n`);
      const published = await npm(['publish'], dir, registry.npmEnv(registry.home));
      expect(published.stderr).not.toMatch(/ERR/);
    }
    app = path.join(root, 'app');
    fs.mkdirSync(path.join(root, 'npm-config'), { recursive: true });
    fs.mkdirSync(app);
    fs.writeFileSync(
      path.join(app, 'package.json'),
      JSON.stringify({ name: 'app', version: '1.0.0', dependencies: { alpha: '1.0.0', beta: '1.0.0', 'no-provenance': '1.0.0' } }),
    );
    env = { ...registry.npmEnv(path.join(root, 'npm-config')), ...cdn.env };
    cdn.trustIn(env.npm_config_cache as string);
    const installed = await npm(['install', '--ignore-scripts'], app, env);
    expect(installed.status).toBe(0);
  }, 180_000);

  afterAll(async () => {
    await cdn?.stop();
    await registry?.stop();
    await stack?.stop();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it('serves its keys at /-/npm/v1/keys: the registry key and the attestation key, as npm lists them', async () => {
    const { keys } = (await (await fetch(`${registry.url}-/npm/v1/keys`)).json()) as { keys: Record<string, unknown>[] };
    expect(keys).toHaveLength(2);
    for (const key of keys) {
      expect(key).toEqual({
        expires: null,
        keyid: expect.stringMatching(/^SHA256:[A-Za-z0-9+/]{43}$/),
        keytype: 'ecdsa-sha2-nistp256',
        scheme: 'ecdsa-sha2-nistp256',
        key: expect.any(String),
      });
      const der = Buffer.from(key.key as string, 'base64');
      expect(key.keyid).toBe(`SHA256:${crypto.createHash('sha256').update(der).digest('base64').replace(/=+$/, '')}`);
    }
  });

  it('signs every version in its package documents (NAME@VERSION:INTEGRITY with the registry key) and links its attestations', async () => {
    const packument = (await (await fetch(`${registry.url}alpha`)).json()) as {
      versions: Record<
        string,
        { dist: { integrity: string; signatures: { keyid: string; sig: string }[]; attestations: { url: string; provenance?: unknown } } }
      >;
    };
    const { dist } = packument.versions['1.0.0'] as (typeof packument.versions)[string];
    const key = registry.signing?.signingKey;
    expect(dist.signatures).toEqual([{ keyid: key?.keyid, sig: expect.any(String) }]);
    const message = Buffer.from(`alpha@1.0.0:${dist.integrity}`);
    expect(
      crypto.verify('sha256', message, key?.publicKey as crypto.KeyObject, Buffer.from(dist.signatures[0]?.sig as string, 'base64')),
    ).toBe(true);
    expect(dist.attestations).toEqual({
      url: `${registry.url}-/npm/v1/attestations/alpha@1.0.0`,
      provenance: { predicateType: SLSA_PROVENANCE_V1 },
    });
    const document = (await (await fetch(dist.attestations.url)).json()) as {
      attestations: { predicateType: string; bundle: { verificationMaterial: Record<string, unknown> } }[];
    };
    expect(document.attestations.map((a) => a.predicateType)).toEqual([SLSA_PROVENANCE_V1, NPM_PUBLISH_V01]);
    // Provenance is keyless (a Fulcio certificate); the publish attestation names the attestation key.
    expect(Object.keys(document.attestations[0]?.bundle.verificationMaterial ?? {})).toContain('certificate');
    expect(document.attestations[1]?.bundle.verificationMaterial.publicKey).toEqual({ hint: registry.signing?.attestationKey.keyid });
  });

  it('the real `npm audit signatures` verifies every registry signature and attestation, through the local Sigstore stack only', async () => {
    const audit = await npm(['audit', 'signatures'], app, env);
    // npm reads a registry's keys from Sigstore's TUF repository when it lists them there (only
    // registry.npmjs.org's are), else from the registry, and says so.
    expect(audit.stderr.trim()).toBe(`npm warn Fetching verification keys using TUF failed.  Fetching directly from ${registry.url}.`);
    expect(audit.stdout).toMatch(/3 packages have verified registry signatures/);
    // Every package has npm's publish attestation; no-provenance has no provenance beside it.
    expect(audit.stdout).toMatch(/3 packages have verified attestations/);
    expect(audit.status).toBe(0);
    expect(cdn.refused).toEqual([]);
  });

  it('`npm audit signatures` fails when an attestation is of another package', async () => {
    const beta = (await (await fetch(`${registry.url}-/npm/v1/attestations/beta@1.0.0`)).json()) as unknown;
    registry.signing?.setAttestations('alpha', '1.0.0', beta);
    try {
      const audit = await npm(['audit', 'signatures'], app, env);
      expect(audit.status).toBe(1);
      expect(`${audit.stdout}${audit.stderr}`).toMatch(/alpha@1\.0\.0/);
    } finally {
      registry.signing?.setAttestations('alpha', '1.0.0');
    }
  });

  it('`npm audit signatures` fails when a registry signature is not over this version and integrity', async () => {
    const key = registry.signing?.signingKey as { keyid: string; privateKey: crypto.KeyObject };
    const sig = crypto.sign('sha256', Buffer.from('alpha@1.0.0:sha512-AAAA'), key.privateKey).toString('base64');
    registry.signing?.setSignatures('alpha', '1.0.0', [{ keyid: key.keyid, sig }]);
    try {
      const audit = await npm(['audit', 'signatures'], app, env);
      expect(audit.status).toBe(1);
      expect(`${audit.stdout}${audit.stderr}`).toMatch(/invalid registry signature/i);
    } finally {
      registry.signing?.setSignatures('alpha', '1.0.0');
    }
  });
});
