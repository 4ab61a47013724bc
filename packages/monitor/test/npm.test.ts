// npm watching against a real registry: Verdaccio, published to by the real npm CLI (a token
// publish) and by `signet npm publish --ledger` (your releases), with npm's provenance in front
// of it as registry.npmjs.org serves it: `dist.attestations` in the packument and
// `/-/npm/v1/attestations/NAME@VERSION`, the SLSA provenance signed keyless on the local Sigstore
// stack by a GitHub Actions identity, as npm's trusted publishing does.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createStatement, openSigner, serializeBundle, signStatement } from '@signet/core';
import { type LocalRegistry, startNpmRegistry } from '@signet/emulators/npm-registry';
import { SigstoreStack } from '@signet/emulators/sigstore';
import { generateKey, signetAsync, useTempDir } from '@signet/test-support';
import { githubToken, monitor } from './support';

const stack = new SigstoreStack();
const tmp = useTempDir();
const NAME = '@acme/shop-lib';
const SLSA = 'https://slsa.dev/provenance/v1';
const RELEASE = 'acme/shop/.github/workflows/release.yml@refs/tags/v1';
let registry: LocalRegistry;
let front: http.Server;
let frontUrl: string;
/** The provenance bundles npm would hold, by NAME@VERSION. */
const provenance = new Map<string, unknown>();

beforeAll(async () => {
  await stack.start();
  registry = await startNpmRegistry();
  // registry.npmjs.org's read side: Verdaccio's packuments with dist.attestations where there is provenance.
  front = http.createServer(async (request, response) => {
    const url = new URL(request.url ?? '/', 'http://front');
    const attestations = /^\/-\/npm\/v1\/attestations\/(.+)$/.exec(decodeURIComponent(url.pathname));
    if (attestations) {
      const bundle = provenance.get(attestations[1] as string);
      if (!bundle) return response.writeHead(404).end('{}');
      return response
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ attestations: [{ predicateType: SLSA, bundle }] }));
    }
    const upstream = await fetch(new URL(url.pathname.slice(1), registry.url));
    const body = await upstream.text();
    if (!upstream.ok) return response.writeHead(upstream.status).end(body);
    const packument = JSON.parse(body) as { name: string; versions: Record<string, { dist: Record<string, unknown> }> };
    for (const [version, manifest] of Object.entries(packument.versions ?? {})) {
      if (provenance.has(`${packument.name}@${version}`)) {
        manifest.dist.attestations = {
          url: `${frontUrl}-/npm/v1/attestations/${packument.name}@${version}`,
          provenance: { predicateType: SLSA },
        };
      }
    }
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(packument));
  });
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  frontUrl = `http://127.0.0.1:${(front.address() as AddressInfo).port}/`;
}, 120_000);

afterAll(async () => {
  await new Promise((resolve) => front?.close(resolve));
  await registry?.stop();
  await stack.stop();
});

/** npm's environment for the test registry, and nothing of the npm running the tests. */
function npmEnv(): Record<string, string | undefined> {
  const cleared = Object.fromEntries(
    Object.keys(process.env)
      .filter((name) => /^npm_/i.test(name))
      .map((name) => [name, undefined]),
  );
  return { ...cleared, ...registry.npmEnv(registry.home) };
}

function makePackage(dir: string, version: string): string {
  const folder = path.join(dir, `pkg-${version}`);
  fs.mkdirSync(folder, { recursive: true });
  fs.writeFileSync(path.join(folder, 'package.json'), JSON.stringify({ name: NAME, version, main: 'index.js', license: 'MIT' }));
  fs.writeFileSync(path.join(folder, 'index.js'), `module.exports = ${JSON.stringify(version)};\n`);
  return folder;
}

/** Your release: `signet npm publish --ledger`. */
async function release(dir: string, version: string, key: string): Promise<void> {
  const result = await signetAsync(
    ['npm', 'publish', makePackage(dir, version), '--key', key, '--registry', registry.url, '--ledger', 'ledger.jsonl'],
    {
      cwd: dir,
      env: npmEnv(),
    },
  );
  if (result.status !== 0) throw new Error(`signet npm publish failed: ${result.stderr}`);
}

/** A publish with a stolen token: plain `npm publish`, no signature, no ledger. */
async function tokenPublish(dir: string, version: string): Promise<void> {
  // Asynchronously: Verdaccio answers from this very process.
  const { execFile } = await import('node:child_process');
  const env = Object.fromEntries(
    Object.entries({ ...process.env, ...npmEnv() }).filter(([, value]) => value !== undefined),
  ) as NodeJS.ProcessEnv;
  await new Promise<void>((resolve, reject) =>
    execFile('npm', ['publish', '--registry', registry.url], { cwd: makePackage(dir, version), env }, (error, _stdout, stderr) =>
      error ? reject(new Error(`npm publish failed: ${stderr}`)) : resolve(),
    ),
  );
}

/** npm provenance for the version as published, signed keyless by `repository` running `workflow`. */
async function attachProvenance(version: string, repository = 'acme/shop', workflow = RELEASE): Promise<void> {
  const packument = (await (await fetch(new URL(NAME.replace('/', '%2f'), registry.url))).json()) as {
    versions: Record<string, { dist: { integrity: string } }>;
  };
  const integrity = packument.versions[version]?.dist.integrity as string;
  const sha512 = Buffer.from(integrity.slice('sha512-'.length), 'base64').toString('hex');
  const services = { fulcioURL: stack.fulcio.url, rekorLogs: [{ url: stack.rekor.url, version: 1 as const }] };
  const signer = await openSigner('keyless', { identityToken: await githubToken(stack, repository, workflow), services });
  const statement = createStatement([{ name: `pkg:npm/%40acme/shop-lib@${version}`, digest: { sha512 } }], SLSA, {
    buildDefinition: { buildType: 'https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1', externalParameters: {} },
    runDetails: { builder: { id: 'https://github.com/actions/runner/github-hosted' } },
  });
  provenance.set(`${NAME}@${version}`, serializeBundle(await signStatement(statement, signer, { services })));
}

function config() {
  return {
    logs: [],
    trustedRoot: stack.trustedRootPath,
    npm: {
      registry: frontUrl,
      packages: [
        {
          name: NAME,
          identities: [
            {
              issuer: stack.oidc.url,
              subjectRegExp: 'https://github\\.com/acme/shop/\\.github/workflows/release\\.yml@.*',
              sourceRepository: 'https://github.com/acme/shop',
            },
          ],
        },
      ],
    },
  };
}

test('your releases with the expected provenance are silent; a token publish without provenance, and provenance by another identity, alert', async () => {
  const dir = tmp();
  const key = `file:${path.join(dir, generateKey(dir, 'maintainer').key.slice('file:'.length))}`;

  await release(dir, '1.0.0', key);
  await attachProvenance('1.0.0');
  const baseline = await monitor(dir, config());
  expect(baseline.stderr).toBe('');
  expect(baseline.status).toBe(0);

  // Your next release: in the ledger, provenance from your release workflow.
  await release(dir, '1.1.0', key);
  await attachProvenance('1.1.0');
  const silent = await monitor(dir, config());
  expect(silent.status).toBe(0);
  expect(silent.alerts).toEqual([]);
  const ledger = fs.readFileSync(path.join(dir, 'ledger.jsonl'), 'utf8');
  expect(ledger).toContain(`"package":"${NAME}@1.1.0"`);

  // A leaked token: published with plain npm, no provenance, not in the ledger.
  await tokenPublish(dir, '1.1.1');
  const token = await monitor(dir, config());
  expect(token.status).toBe(1);
  expect(token.alerts.map((alert) => [alert.kind, alert.package, alert.version])).toEqual([
    ['npm-unexpected-version', NAME, '1.1.1'],
    ['npm-provenance-missing', NAME, '1.1.1'],
  ]);
  expect(token.alerts[1]?.reason).toContain('has no provenance, where earlier versions had it');

  // A hijacked workflow elsewhere: valid provenance, by an identity the policy does not expect.
  await release(dir, '1.2.0', key);
  await attachProvenance('1.2.0', 'evil/fork', 'evil/fork/.github/workflows/release.yml@refs/heads/main');
  const changed = await monitor(dir, config());
  expect(changed.status).toBe(1);
  expect(changed.alerts.map((alert) => [alert.kind, alert.version])).toEqual([['npm-provenance-identity', '1.2.0']]);
  expect(changed.alerts[0]?.reason).toContain(
    'signed by https://github.com/evil/fork/.github/workflows/release.yml@refs/heads/main (run by https://github.com/evil/fork)',
  );

  // Each once.
  expect((await monitor(dir, config())).alerts).toEqual([]);
}, 300_000);

test('provenance required: the first version without it alerts; --since DATE checks versions published after it', async () => {
  const dir = tmp();
  const required = config();
  (required.npm.packages[0] as { provenance?: string }).provenance = 'required';
  const run = await monitor(dir, required, ['--since', '2000-01-01']);
  // Every version so far is after 2000: 1.1.1 has no provenance and is not in this test's (empty) ledger.
  expect(run.alerts.map((alert) => `${alert.kind} ${alert.version}`).sort()).toEqual(
    [
      'npm-provenance-missing 1.1.1',
      'npm-provenance-identity 1.2.0',
      'npm-unexpected-version 1.0.0',
      'npm-unexpected-version 1.1.0',
      'npm-unexpected-version 1.1.1',
      'npm-unexpected-version 1.2.0',
    ].sort(),
  );
}, 120_000);
