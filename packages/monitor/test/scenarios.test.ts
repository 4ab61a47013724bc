// signet monitor against the local Sigstore stack (Rekor v1 and v2, Fulcio, a TSA) and the AWS
// KMS emulator, each scenario as a user meets it: sign with `signet` (with or without the ledger),
// then a scheduled `signet monitor` run. Your own releases are silent; everything else alerts.
import fs from 'node:fs';
import path from 'node:path';
import { AwsKmsEmulator, envFor } from '@signet/emulators/aws-kms';
import { SigstoreStack } from '@signet/emulators/sigstore';
import { signetAsync, useTempDir } from '@signet/test-support';
import { artifact, fingerprintOf, githubToken, logIndexesOf, monitor, ok } from './support';

const stack = new SigstoreStack();
const kms = new AwsKmsEmulator();
const tmp = useTempDir();
const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

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
      certIdentities: [
        {
          certSubject: `https://github\\.com/${escapeRegExp(SHOP)}/\\.github/workflows/release\\.yml@.*`,
          issuers: [escapeRegExp(stack.oidc.url)],
        },
      ],
    },
    ...extra,
  };
}

/** Signs a new file keyless as `repository` running `workflow`, in Rekor v1 or v2; returns the bundle's log index. */
async function signKeyless(
  dir: string,
  rekor: 1 | 2,
  options: { ledger: boolean; repository?: string; workflow?: string },
): Promise<number> {
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
        `^ALERT unexpected-entry ${escapeRegExp(stack.rekor.url)} #${index}: signed by https://github\\.com/${escapeRegExp(RELEASE)} \\(issuer ${escapeRegExp(stack.oidc.url)}, run by https://github\\.com/acme/shop at refs/tags/v1\\.0\\.0\\), matching certIdentities\\[0\\]; not in the ledger \\[[0-9a-f]{32}\\]$`,
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

describe('a KMS key', () => {
  test("your KMS key's fingerprint alerts on a signature the ledger does not hold, in Rekor v1 and v2; yours is silent", async () => {
    const dir = tmp();
    await kms.createKey({ alias: 'alias/release' });
    const env = envFor(kms);
    const pem = (await ok(dir, ['key', 'public', '--key', 'awskms:///alias/release'], env)).stdout;
    const fingerprints = { monitoredValues: { fingerprints: [fingerprintOf(pem)] } };
    expect((await monitor(dir, config(fingerprints))).status).toBe(0);

    const sign = async (rekor: 1 | 2, ledger: boolean) => {
      const file = artifact(dir, `kms-${rekor}-${ledger}.zip`);
      const where =
        rekor === 1 ? ['--rekor-url', stack.rekor.url] : ['--signing-config', stack.signingConfigRekorV2Path, '--rekor-version', '2'];
      await ok(
        dir,
        ['sign', file, '--key', 'awskms:///alias/release', '--tlog-upload', ...where, ...(ledger ? ['--ledger', 'ledger.jsonl'] : [])],
        env,
      );
      return logIndexesOf(dir, `${file}.sigstore.json`)[0] as number;
    };
    await sign(1, true);
    await sign(2, true);
    const stolenV1 = await sign(1, false);
    const stolenV2 = await sign(2, false);

    const run = await monitor(dir, config(fingerprints));
    expect(run.status).toBe(1);
    expect(run.alerts.map((alert) => [alert.source, alert.logIndex, alert.matched?.[0]?.matcher])).toEqual([
      [stack.rekor.url, stolenV1, 'fingerprints'],
      [stack.rekorV2.url, stolenV2, 'fingerprints'],
    ]);
    expect(run.alerts[0]?.reason).toBe(`signed by key sha256:${fingerprintOf(pem)}, matching fingerprints; not in the ledger`);
  });
});

describe('reusable workflows', () => {
  const WORKFLOWS = 'acme/release-workflows';
  const REUSABLE = `${WORKFLOWS}/.github/workflows/publish.yml@refs/heads/main`;
  const watching = () =>
    config({
      monitoredValues: {
        certIdentities: [{ certSubject: `https://github\\.com/${escapeRegExp(WORKFLOWS)}/\\.github/workflows/publish\\.yml@.*` }],
        oidMatchers: { fulcioExtensions: { 'source-repository-uri': [`https://github.com/${SHOP}`] } },
      },
    });

  test('your reusable workflow run by another repository alerts, naming that repository; your own run of it is silent', async () => {
    const dir = tmp();
    expect((await monitor(dir, watching())).status).toBe(0);
    await signKeyless(dir, 1, { ledger: true, workflow: REUSABLE });
    const other = await signKeyless(dir, 1, { ledger: false, repository: 'evil/app', workflow: REUSABLE });

    const run = await monitor(dir, watching());
    expect(run.status).toBe(1);
    expect(run.alerts).toHaveLength(1);
    expect(run.alerts[0]).toMatchObject({ kind: 'unexpected-entry', logIndex: other, matched: [{ matcher: 'certIdentities[0]' }] });
    expect(run.alerts[0]?.signer?.extensions?.sourceRepository).toBe('https://github.com/evil/app');
    expect(run.alerts[0]?.reason).toContain('run by https://github.com/evil/app');
  });

  test('under a source-repository matcher, your repository running a reusable workflow from another repository alerts', async () => {
    const dir = tmp();
    expect((await monitor(dir, watching())).status).toBe(0);
    const elsewhere = await signKeyless(dir, 2, { ledger: false, workflow: 'evil/workflows/.github/workflows/steal.yml@refs/heads/main' });
    const run = await monitor(dir, watching());
    expect(run.status).toBe(1);
    expect(run.alerts).toHaveLength(1);
    expect(run.alerts[0]).toMatchObject({
      source: stack.rekorV2.url,
      logIndex: elsewhere,
      matched: [{ matcher: 'oidMatchers source-repository-uri', detail: `source-repository-uri https://github.com/${SHOP}` }],
    });
    expect(run.alerts[0]?.signer?.subject).toBe('https://github.com/evil/workflows/.github/workflows/steal.yml@refs/heads/main');
  });
});

describe('the logs themselves', () => {
  test('a Rekor v1 checkpoint that does not verify with the log key alerts, and the state stays where it was', async () => {
    const dir = tmp();
    expect((await monitor(dir, config())).status).toBe(0);
    const before = fs.readFileSync(path.join(dir, 'state.json'), 'utf8');
    stack.rekor.faults.add({ fault: { kind: 'corrupt' }, operation: 'GetLogInfo' });
    const run = await monitor(dir, config());
    expect(run.status).toBe(1);
    expect(run.alerts).toMatchObject([{ kind: 'bad-checkpoint', source: stack.rekor.url }]);
    expect(run.alerts[0]?.reason).toMatch(/does not verify/);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8')).logs).toEqual(JSON.parse(before).logs);
  });

  test('a Rekor v2 checkpoint that does not verify alerts', async () => {
    const dir = tmp();
    expect((await monitor(dir, config())).status).toBe(0);
    stack.rekorV2.faults.add({ fault: { kind: 'corrupt' }, operation: 'ReadCheckpoint' });
    const run = await monitor(dir, config());
    expect(run.status).toBe(1);
    expect(run.alerts).toMatchObject([{ kind: 'bad-checkpoint', source: stack.rekorV2.url }]);
  });

  test('a log that stopped growing for longer than stalledAfter alerts, once per size', async () => {
    const dir = tmp();
    const stalling = config({ stalledAfter: '0s' });
    expect((await monitor(dir, stalling)).status).toBe(0);
    const run = await monitor(dir, stalling);
    expect(run.status).toBe(1);
    expect(run.alerts.map((alert) => [alert.kind, alert.source])).toEqual([
      ['log-stalled', stack.rekor.url],
      ['log-stalled', stack.rekorV2.url],
    ]);
    expect((await monitor(dir, stalling)).alerts).toEqual([]);
    // Rekor v1 grows, and v2 is still the stall already reported: nothing new.
    await signKeyless(dir, 1, { ledger: true });
    expect((await monitor(dir, stalling)).alerts).toEqual([]);
    // v1 stalls again at its new size: a new alert.
    const again = await monitor(dir, stalling);
    expect(again.alerts.map((alert) => [alert.kind, alert.source])).toEqual([['log-stalled', stack.rekor.url]]);
  });

  test('a log that cannot be read is exit 3, naming it; the other logs are still read', async () => {
    const dir = tmp();
    expect((await monitor(dir, config())).status).toBe(0);
    stack.rekorV2.faults.add({ fault: { kind: 'status', status: 503 }, operation: 'ReadCheckpoint', times: Infinity });
    try {
      const index = await signKeyless(dir, 1, { ledger: false });
      const failing = await monitor(dir, config());
      // The alert from the log that could be read comes first: exit 1, with the failure reported too.
      expect(failing.status).toBe(1);
      expect(failing.alerts.map((alert) => alert.logIndex)).toEqual([index]);
      expect(failing.failures).toMatchObject([{ source: stack.rekorV2.url, code: 'E_PROVIDER' }]);
      const quiet = await monitor(dir, config());
      expect(quiet.status).toBe(3);
      expect(quiet.stderr).toContain(`signet: E_PROVIDER: the Rekor v2 log ${stack.rekorV2.url} answered 503 for /checkpoint`);
    } finally {
      stack.rekorV2.faults.clear();
    }
  });
});

describe('bad input', () => {
  test.each([
    ['not YAML', 'logs: [', /monitor\.yaml: not valid YAML at line 1/],
    [
      'an unknown setting',
      'monitoredValues:\n  certIdentities:\n    - certSubject: a\n      issuer: b\n',
      /monitoredValues\.certIdentities\.0 \(line 3\) has no setting "issuer"/,
    ],
    [
      'an unknown Fulcio extension',
      'monitoredValues:\n  oidMatchers:\n    fulcioExtensions:\n      source-repo: [x]\n',
      /names a Fulcio extension that does not exist/,
    ],
    [
      'a bad pattern',
      'monitoredValues:\n  certIdentities:\n    - certSubject: "a("\n',
      /certIdentities\[0\]\.certSubject is not a valid regular expression/,
    ],
    ['nothing to watch', 'logs:\n  - url: https://rekor.example\n    version: 1\n', /watches logs but no identity/],
    ['SSH and PGP subjects', 'monitoredValues:\n  subjects: [me@example.com]\n', /subjects matches SSH and PGP keys/],
  ])('%s is exit 2 with one line naming the file and the setting', async (_, yaml, message) => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, 'monitor.yaml'), yaml);
    const result = await signetAsync(['monitor', '--config', 'monitor.yaml', '--state', 's.json'], { cwd: dir });
    expect(result.status).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/^signet: E_INPUT: monitor\.yaml: /);
    expect(result.stderr).toMatch(message);
  });

  test('--since that is neither an index nor a date is exit 2', async () => {
    const dir = tmp();
    const result = await monitor(dir, config(), ['--since', 'yesterday']);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('signet: E_USAGE: --since takes a log index (a number) or a date');
  });
});
