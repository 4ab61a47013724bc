// signet monitor against the local Sigstore stack (Rekor v1 and v2, Fulcio, a TSA) and the AWS
// KMS emulator, each scenario as a user meets it: sign with `signet` (with or without the ledger),
// then a scheduled `signet monitor` run. Your own releases are silent; everything else alerts.
import fs from 'node:fs';
import path from 'node:path';
import { AwsKmsEmulator, envFor } from '@signet/emulators/aws-kms';
import { SigstoreStack } from '@signet/emulators/sigstore';
import { useTempDir } from '@signet/test-support';
import { artifact, fingerprintOf, githubToken, logIndexesOf, monitor, ok } from './support';

const stack = new SigstoreStack();
const kms = new AwsKmsEmulator();
const tmp = useTempDir();
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const SHOP = 'acme/shop';
const RELEASE = `${SHOP}/.github/workflows/release.yml@refs/tags/v1.0.0`;

beforeAll(async () => {
  await Promise.all([stack.start(), kms.start()]);
});
afterAll(async () => {
  await Promise.all([stack.stop(), kms.stop()]);
});

/** Watches both of the stack's logs for acme/shop's release workflow. */
function config(extra: object = {}) {
  return {
    logs: [
      { url: stack.rekor.url, version: 1 },
      { url: stack.rekorV2.url, version: 2 },
    ],
    trustedRoot: stack.trustedRootPath,
    monitoredValues: {
      certIdentities: [{ certSubject: `https://github\\.com/${escape(SHOP)}/\\.github/workflows/release\\.yml@.*`, issuers: [escape(stack.oidc.url)] }],
    },
    ...extra,
  };
}

/** Signs a new file keyless as `repository` running `workflow`, in Rekor v1 or v2; returns the bundle's log index. */
async function signKeyless(dir: string, rekor: 1 | 2, options: { ledger: boolean; repository?: string; workflow?: string }): Promise<number> {
  const file = artifact(dir, `release-${rekor}-${Date.now()}.tgz`);
  const token = await githubToken(stack, options.repository ?? SHOP, options.workflow ?? RELEASE);
  await ok(
    dir,
    [
      'sign',
      file,
      '--key',
      'keyless',
      '--signing-config',
      rekor === 1 ? stack.signingConfigPath : stack.signingConfigRekorV2Path,
      ...(options.ledger ? ['--ledger', 'ledger.jsonl'] : []),
    ],
    { SIGSTORE_ID_TOKEN: token },
  );
  return logIndexesOf(dir, `${file}.sigstore.json`)[0] as number;
}

describe('keyless signatures in Rekor v1 and v2', () => {
  test('your own releases, recorded in the ledger, give no alert', async () => {
    const dir = tmp();
    const first = await monitor(dir, config());
    expect(first.status).toBe(0);
    expect(first.alerts).toEqual([]);

    await signKeyless(dir, 1, { ledger: true });
    await signKeyless(dir, 2, { ledger: true });
    expect(fs.readFileSync(path.join(dir, 'ledger.jsonl'), 'utf8').trim().split('\n')).toHaveLength(2);

    const second = await monitor(dir, config());
    expect(second.stderr).toBe('');
    expect(second.status).toBe(0);
    expect(second.alerts).toEqual([]);
    // The runs did read the logs: the state holds both, verified up to their current size.
    const state = JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8'));
    expect(state.logs[stack.rekor.url].verified.size).toBe(stack.rekor.log.size);
    expect(state.logs[stack.rekorV2.url].verified.size).toBe(stack.rekorV2.log.size);
  });

  test('without --json, one line per alert on stdout: what, where (log and index), why, and its ID', async () => {
    const dir = tmp();
    expect((await monitor(dir, config())).status).toBe(0);
    const index = await signKeyless(dir, 1, { ledger: false });
    const run = await monitor(dir, config(), [], {}, false);
    expect(run.status).toBe(1);
    const lines = run.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(
        `^ALERT unexpected-entry ${escape(stack.rekor.url)} #${index}: signed by https://github\\.com/${escape(RELEASE)} \\(issuer ${escape(stack.oidc.url)}, run by https://github\\.com/acme/shop at refs/tags/v1\\.0\\.0\\), matching certIdentities\\[0\\]; not in the ledger \\[[0-9a-f]{32}\\]$`,
      ),
    );
  });

  test('a signature by your identity that is not in the ledger alerts, once, with where and why', async () => {
    const dir = tmp();
    expect((await monitor(dir, config())).status).toBe(0);
    const own = await signKeyless(dir, 1, { ledger: true });
    const v1 = await signKeyless(dir, 1, { ledger: false });
    const v2 = await signKeyless(dir, 2, { ledger: false });

    const run = await monitor(dir, config());
    expect(run.status).toBe(1);
    expect(run.alerts.map((alert) => [alert.kind, alert.source, alert.logIndex])).toEqual([
      ['unexpected-entry', stack.rekor.url, v1],
      ['unexpected-entry', stack.rekorV2.url, v2],
    ]);
    expect(own).not.toBe(v1);
    expect(run.alerts[0]?.reason).toContain(`signed by https://github.com/${RELEASE}`);
    expect(run.alerts[0]?.reason).toContain('matching certIdentities[0]; not in the ledger');

    // Reported once: the next run is quiet.
    const again = await monitor(dir, config());
    expect(again.alerts).toEqual([]);
  });
});
