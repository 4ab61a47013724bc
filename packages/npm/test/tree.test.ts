// `signet npm verify --lockfile` over an installed tree, beside the real `npm audit signatures`:
// the local registry (Verdaccio) signs every version and attests it (npm's publish attestation;
// SLSA provenance made through the local Sigstore stack from a CI token), and both tools check
// the same tree. Then what only Signet checks: who may publish each package (repository,
// workflow, ref), a release-age cooldown, and identities trusted on first use; each refusal is
// the attack itself, including the one npm audit signatures lets through (CVE-2026-45321: a
// new version with valid provenance from another workflow of the same repository).

import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type SigstoreCdn, startSigstoreCdn } from '@signet/emulators/npm-registry';
import { SigstoreStack } from '@signet/emulators/sigstore';
import { errorLines, type RunResult, signetAsync, singleErrorLine } from '@signet/test-support';
import { type LocalRegistry, makePackage, npm, startRegistry } from './support/verdaccio';

/** The OIDC token GitHub Actions gives a workflow FILE of acme/NAME run at REF. */
const ciToken = (name: string, file: string, ref: string) => ({
  subject: `repo:acme/${name}:ref:${ref}`,
  claims: {
    job_workflow_ref: `acme/${name}/.github/workflows/${file}@${ref}`,
    repository: `acme/${name}`,
    ref,
    workflow_ref: `acme/${name}/.github/workflows/${file}@${ref}`,
    event_name: 'push',
    sha: 'c0ffee0000000000000000000000000000000000',
  },
});

let stack: SigstoreStack;
let registry: LocalRegistry;
let cdn: SigstoreCdn;
let work: string;
let app: string;
let npmEnv: Record<string, string>;

beforeAll(async () => {
  stack = await new SigstoreStack().start();
  registry = await startRegistry({
    signing: {
      sigstore: { rekorURL: stack.rekor.url, fulcioURL: stack.fulcio.url },
      // gamma is published without provenance; alpha@1.1.0 from another workflow (ci.yml) of its repository.
      provenanceToken: async (name, version) => {
        if (name === 'gamma') return undefined;
        const file = name === 'alpha' && version === '1.1.0' ? 'ci.yml' : 'release.yml';
        return stack.mintToken(ciToken(name, file, `refs/tags/v${version}`));
      },
    },
  });
  cdn = await startSigstoreCdn(stack.tuf.url, stack.tuf.rootJson);
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-npm-tree-'));
  for (const [name, version] of [
    ['alpha', '1.0.0'],
    ['alpha', '1.1.0'],
    ['beta', '1.0.0'],
    ['gamma', '1.0.0'],
  ] as const) {
    const published = await npm(['publish'], { cwd: makePackage(work, { name, version }), env: registry.npmEnv(registry.home) });
    if (published.status !== 0) throw new Error(published.stderr);
  }
  app = path.join(work, 'app');
  fs.mkdirSync(app);
  fs.mkdirSync(path.join(work, 'npm-config'));
  fs.writeFileSync(
    path.join(app, 'package.json'),
    JSON.stringify({ name: 'app', version: '1.0.0', dependencies: { alpha: '1.0.0', beta: '1.0.0', gamma: '1.0.0' } }),
  );
  npmEnv = { ...registry.npmEnv(path.join(work, 'npm-config')), ...cdn.env };
  cdn.trustIn(npmEnv.npm_config_cache as string);
  const installed = await npm(['install', '--ignore-scripts'], { cwd: app, env: npmEnv });
  if (installed.status !== 0) throw new Error(installed.stderr);
  fs.writeFileSync(
    path.join(app, 'signet-policy.json'),
    JSON.stringify({
      provenanceIdentities: [{ issuer: stack.oidc.url, subjectRegExp: 'https://github\\.com/acme/.+' }],
      packages: [
        {
          name: 'alpha',
          provenance: { repository: 'acme/alpha', workflow: '.github/workflows/release.yml', ref: 'refs/tags/v*', issuer: stack.oidc.url },
        },
        {
          name: 'beta',
          provenance: { repository: 'acme/beta', issuer: stack.oidc.url },
          registrySignature: true,
          publishAttestation: true,
        },
        { name: '*', registrySignature: true, publishAttestation: true },
      ],
    }),
  );
}, 180_000);

afterAll(async () => {
  await cdn?.stop();
  await registry?.stop();
  await stack?.stop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

const verify = (...extra: string[]): Promise<RunResult> =>
  signetAsync(
    [
      'npm',
      'verify',
      '--lockfile',
      'package-lock.json',
      '--allow-unsigned',
      '--registry',
      registry.url,
      '--trusted-root',
      stack.trustedRootPath,
      ...extra,
    ],
    {
      cwd: app,
      env: Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name))) as Record<string, string>,
    },
  );

describe('an installed tree, checked by npm audit signatures and by signet npm verify --lockfile', () => {
  it('both verify every registry signature and attestation of the tree', async () => {
    const audit = await npm(['audit', 'signatures'], { cwd: app, env: npmEnv });
    expect(audit.stdout).toContain('3 packages have verified registry signatures');
    expect(audit.stdout).toContain('3 packages have verified attestations');
    expect(audit.status).toBe(0);

    const result = await verify('--policy', 'signet-policy.json');
    expect(result.stderr).toMatch(/^audited 3 packages in \d+\.\ds\n\n/);
    expect(result.stderr).toContain('3 packages have verified registry signatures\n');
    expect(result.stderr).toContain('2 packages have verified provenance\n');
    expect(result.stderr).toContain("3 packages have verified publish attestations (npm's key)\n");
    expect(result.stderr).toContain('3 packages verified, 0 failed\n');
    expect(result.stderr).toContain('Verified OK: 3 packages');
    expect(result.status).toBe(0);
  });

  it('--json reports every package with each check', async () => {
    const result = await verify('--policy', 'signet-policy.json', '--json');
    expect(result.status).toBe(0);
    const { ok, packages } = JSON.parse(result.stdout) as { ok: boolean; packages: Record<string, unknown>[] };
    expect(ok).toBe(true);
    expect(packages.map((p) => p.name)).toEqual(['alpha', 'beta', 'gamma']);
    expect(packages[0]).toMatchObject({
      rule: ['alpha'],
      registrySignature: { status: 'verified', keyid: registry.signing?.signingKey.keyid },
      provenance: {
        status: 'verified',
        repository: 'https://github.com/acme/alpha',
        ref: 'refs/tags/v1.0.0',
        workflowFile: 'https://github.com/acme/alpha/.github/workflows/release.yml',
        issuer: stack.oidc.url,
      },
      publishAttestation: { status: 'verified', keyid: registry.signing?.attestationKey.keyid },
    });
    expect(packages[2]).toMatchObject({ name: 'gamma', provenance: { status: 'missing' }, ok: true });
  });

  it('spread over worker threads (one a package), the reports are those of one thread', async () => {
    const one = await verify('--policy', 'signet-policy.json', '--json', '--threads', '1');
    const spread = await verify('--policy', 'signet-policy.json', '--json', '--threads', '3');
    expect(spread.status).toBe(0);
    expect(one.status).toBe(0);
    const reports = (result: RunResult) => (JSON.parse(result.stdout) as { packages: unknown[] }).packages;
    expect(reports(spread)).toHaveLength(3);
    expect(reports(spread)).toEqual(reports(one));
  });

  it('--threads takes a whole number of at least 1 (exit 2)', async () => {
    const result = await verify('--policy', 'signet-policy.json', '--threads', '0');
    expect(singleErrorLine(result.stderr)).toEqual({ code: 'E_USAGE', message: '--threads takes a whole number of at least 1, not "0"' });
    expect(result.status).toBe(2);
  });

  it('a registry signature that is not over this version and integrity fails (exit 1), naming the package and the reason', async () => {
    const key = registry.signing?.signingKey as { keyid: string; privateKey: crypto.KeyObject };
    const sig = crypto.sign('sha256', Buffer.from('beta@1.0.0:sha512-AAAA'), key.privateKey).toString('base64');
    registry.signing?.setSignatures('beta', '1.0.0', [{ keyid: key.keyid, sig }]);
    try {
      const result = await verify('--policy', 'signet-policy.json');
      expect(result.status).toBe(1);
      expect(result.stderr).toContain('1 package has invalid registry signatures\n');
      expect(result.stderr).toContain('FAIL beta@1.0.0\n');
      expect(result.stderr).toMatch(
        /problem: registry signature: the registry signature of beta@1\.0\.0 \(key SHA256:[^)]+\) does not verify/,
      );
      expect(errorLines(result.stderr)).toEqual([
        { code: 'E_SIGNATURE', message: expect.stringMatching(/^1 of 3 packages failed verification; beta@1\.0\.0: /) },
      ]);
    } finally {
      registry.signing?.setSignatures('beta', '1.0.0');
    }
  });
});

describe('the cooldown: --min-release-age', () => {
  it('refuses versions published less than the minimum ago; an exception by name installs one now', async () => {
    // alpha and beta published ten days ago, gamma just now.
    const tenDaysAgo = new Date(Date.now() - 10 * 86_400_000);
    registry.signing?.setPublished('alpha', '1.0.0', tenDaysAgo);
    registry.signing?.setPublished('beta', '1.0.0', tenDaysAgo);
    const young = await verify('--policy', 'signet-policy.json', '--min-release-age', '3d', '--json');
    expect(young.status).toBe(1);
    const failed = (JSON.parse(young.stdout).packages as { name: string; ok: boolean; releaseAge: { status: string } }[]).filter(
      (p) => !p.ok,
    );
    expect(failed).toEqual([expect.objectContaining({ name: 'gamma', releaseAge: { status: 'too-new', minimum: '3d' } })]);
    const human = await verify('--policy', 'signet-policy.json', '--min-release-age', '3d');
    expect(human.stderr).toMatch(/problem: gamma@1\.0\.0 was published \d+[sm] ago \([^)]+\), less than the minimum release age of 3d/);
    expect(human.stderr).toContain('2 packages have been public longer than the minimum release age; 1 not\n');
    const excepted = await verify('--policy', 'signet-policy.json', '--min-release-age', '3d', '--min-release-age-exclude', 'gamma');
    expect(excepted.status).toBe(0);
  });

  it('a duration it cannot read is a usage error (exit 2)', async () => {
    const result = await verify('--min-release-age', 'three days');
    expect(result.status).toBe(2);
    expect(singleErrorLine(result.stderr).code).toBe('E_USAGE');
  });
});

describe('who may publish: package rules and trust on first use', () => {
  let upgraded: string;

  beforeAll(async () => {
    // The same app, upgraded to alpha@1.1.0: published with valid provenance, from ci.yml.
    upgraded = path.join(work, 'upgraded');
    fs.cpSync(app, upgraded, { recursive: true });
    const installed = await npm(['install', '--ignore-scripts', 'alpha@1.1.0'], { cwd: upgraded, env: npmEnv });
    if (installed.status !== 0) throw new Error(installed.stderr);
  }, 120_000);

  const verifyIn = (cwd: string, ...extra: string[]) =>
    signetAsync(
      [
        'npm',
        'verify',
        '--lockfile',
        'package-lock.json',
        '--allow-unsigned',
        '--registry',
        registry.url,
        '--trusted-root',
        stack.trustedRootPath,
        ...extra,
      ],
      {
        cwd,
        env: Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name))) as Record<string, string>,
      },
    );

  it('npm audit signatures accepts alpha@1.1.0: its provenance is valid', async () => {
    const audit = await npm(['audit', 'signatures'], { cwd: upgraded, env: npmEnv });
    expect(audit.stdout).toContain('3 packages have verified attestations');
    expect(audit.status).toBe(0);
  });

  it('the policy naming release.yml refuses it: E_POLICY naming the workflow that built it', async () => {
    const result = await verifyIn(upgraded, '--policy', 'signet-policy.json');
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('FAIL alpha@1.1.0\n');
    expect(result.stderr).toMatch(
      /provenance: E_POLICY: alpha@1\.1\.0's provenance was built by https:\/\/github\.com\/acme\/alpha running https:\/\/github\.com\/acme\/alpha\/\.github\/workflows\/ci\.yml at refs\/tags\/v1\.1\.0/,
    );
  });

  it('trust on first use records each identity on the first run (to commit), and refuses the changed one on the next', async () => {
    const ledger = path.join(work, 'identities.json');
    const first = await verifyIn(app, '--trust-on-first-use', ledger, '--policy', path.join(app, 'signet-policy.json'));
    expect(first.status).toBe(0);
    expect(first.stderr).toContain(`recorded the provenance identity of 2 packages in ${ledger} for the first time: commit it`);
    const recorded = JSON.parse(fs.readFileSync(ledger, 'utf8'));
    expect(Object.keys(recorded.packages)).toEqual(['alpha', 'beta']);
    expect(recorded.packages.alpha.workflow).toBe('https://github.com/acme/alpha/.github/workflows/release.yml');

    // Without any package rule, only the ledger stands between the tree and the hijacked workflow.
    fs.writeFileSync(
      path.join(upgraded, 'loose-policy.json'),
      JSON.stringify({ provenanceIdentities: [{ issuer: stack.oidc.url, subjectRegExp: 'https://github\\.com/acme/.+' }] }),
    );
    const next = await verifyIn(upgraded, '--trust-on-first-use', ledger, '--policy', 'loose-policy.json');
    expect(next.status).toBe(1);
    expect(next.stderr).toMatch(
      /problem: trust on first use: alpha@1\.1\.0's provenance comes from https:\/\/github\.com\/acme\/alpha https:\/\/github\.com\/acme\/alpha\/\.github\/workflows\/ci\.yml/,
    );
    expect(JSON.parse(fs.readFileSync(ledger, 'utf8'))).toEqual(recorded);
  });
});
