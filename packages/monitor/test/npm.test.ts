// npm watching against a real registry: Verdaccio with npm's provenance in front of it
// (npm-registry.ts), published to by the real npm CLI (a token publish) and by
// `signet npm publish --ledger` (your releases).
import fs from 'node:fs';
import path from 'node:path';
import { SigstoreStack } from '@signet/emulators/sigstore';
import { generateKey, useTempDir } from '@signet/test-support';
import { ProvenanceRegistry } from './npm-registry';
import { monitor } from './support';

const stack = new SigstoreStack();
const npm = new ProvenanceRegistry(stack);
const tmp = useTempDir();
const NAME = '@acme/shop-lib';
const RELEASE = 'acme/shop/.github/workflows/release.yml@refs/tags/v1';

beforeAll(async () => {
  await stack.start();
  await npm.start();
}, 120_000);

afterAll(async () => {
  await npm.stop();
  await stack.stop();
});

const release = (dir: string, version: string, key: string) => npm.release(dir, NAME, version, key);
const tokenPublish = (dir: string, version: string) => npm.tokenPublish(dir, NAME, version);
const attachProvenance = (version: string, repository = 'acme/shop', workflow = RELEASE) =>
  npm.attachProvenance(NAME, version, repository, workflow);

function config() {
  return {
    logs: [],
    trustedRoot: stack.trustedRootPath,
    npm: {
      registry: npm.url,
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
