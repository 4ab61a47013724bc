// Kill-safety: a monitor run killed (SIGKILL, nothing runs after it) at many points, then run
// again until one finishes, reports every alert exactly once: none missed, none twice. The
// state file is written atomically with the position and the alerts found so far, so a killed
// run loses only work that the next run redoes, finding the same alerts under the same IDs.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { hashedRekordV2Body, RekorEmulator, SigstoreStack, TiledLog, writeTilesDirectory } from '@signet/emulators/sigstore';
import { generateKey, useTempDir } from '@signet/test-support';
import type { Alert } from '../src';
import { artifact, fingerprintOf, monitor, ok, trustedRootWith } from './support';

const stack = new SigstoreStack();
const rekor = new RekorEmulator();
const tmp = useTempDir();
let fixture: string;
let config: object;
let expected: string[];

const V1_ENTRIES = 32;
const V2_ENTRIES = 6000;

beforeAll(async () => {
  await Promise.all([stack.start(), rekor.start()]);
  fixture = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-monitor-kill-'));
  const { key, pub } = generateKey(fixture, 'release');
  const spki = crypto.createPublicKey(fs.readFileSync(path.join(fixture, pub), 'utf8')).export({ format: 'der', type: 'spki' });
  const other = generateKey(fixture, 'other').key;
  // Rekor v1: every third entry by the watched key, outside the ledger.
  for (let i = 0; i < V1_ENTRIES; i++) {
    const file = artifact(fixture, `v1-${i}.txt`);
    await ok(fixture, ['sign', file, '--key', i % 3 === 0 ? key : other, '--tlog-upload', '--rekor-url', rekor.url]);
  }
  // Rekor v2 tiles: the watched key now and then, across 24 entry bundles.
  const log = new TiledLog('kill.test/log');
  for (let i = 0; i < V2_ENTRIES; i++) {
    const signer =
      i % 499 === 7 ? spki : crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'der', type: 'spki' });
    log.append(
      hashedRekordV2Body({ publicKey: signer }, crypto.createHash('sha256').update(`v2 ${i}`).digest(), Buffer.from(`signature ${i}`)),
    );
  }
  writeTilesDirectory(log, path.join(fixture, 'tiles'));
  const root = trustedRootWith(stack.trustedRoot, [
    { baseUrl: rekor.url, publicKey: rekor.log.publicKey, logId: rekor.log.logId, keyDetails: 'PKIX_ECDSA_P256_SHA_256' },
    { baseUrl: 'https://kill.test/log', publicKey: log.publicKey, logId: log.logId, keyDetails: 'PKIX_ED25519' },
  ]);
  fs.writeFileSync(path.join(fixture, 'trusted_root.json'), JSON.stringify(root));
  config = {
    logs: [
      { url: rekor.url, version: 1 },
      { url: pathToFileURL(path.join(fixture, 'tiles')).href, version: 2 },
    ],
    trustedRoot: path.join(fixture, 'trusted_root.json'),
    monitoredValues: { fingerprints: [fingerprintOf(fs.readFileSync(path.join(fixture, pub), 'utf8'))] },
  };
  // What one uninterrupted run reports.
  const whole = await monitor(fs.mkdtempSync(path.join(fixture, 'whole-')), config, ['--since', '0']);
  expect(whole.status).toBe(1);
  expected = whole.alerts.map(describe);
  expect(expected).toHaveLength(Math.ceil(V1_ENTRIES / 3) + Math.ceil((V2_ENTRIES - 7) / 499));
}, 300_000);

afterAll(async () => {
  await Promise.all([stack.stop(), rekor.stop()]);
  fs.rmSync(fixture, { recursive: true, force: true });
});

function describe(alert: Alert): string {
  return `${alert.kind} ${alert.source} #${alert.logIndex}`;
}

/** Runs, killed after each of `kills` entries in turn, then once to the end; every alert printed by any run. */
async function killedRuns(kills: number[]): Promise<{ printed: Alert[]; killed: number; midway: number }> {
  const dir = tmp();
  const printed: Alert[] = [];
  let killed = 0;
  let midway = 0;
  for (const after of kills) {
    const run = await monitor(dir, config, ['--since', '0'], { SIGNET_MONITOR_TEST_KILL_AFTER: String(after) });
    if (run.status === null) killed += 1;
    printed.push(...run.alerts);
    // Killed with a scan saved part of the way: the next run resumes there.
    const state = fs.existsSync(path.join(dir, 'state.json'))
      ? JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8'))
      : undefined;
    if (Object.values(state?.logs ?? {}).some((log) => (log as { scan?: { range: { size: number } } }).scan?.range.size)) midway += 1;
  }
  const last = await monitor(dir, config, ['--since', '0']);
  printed.push(...last.alerts);
  // And a run after that finds nothing new.
  expect((await monitor(dir, config, ['--since', '0'])).alerts).toEqual([]);
  return { printed, killed, midway };
}

test.each([
  ['inside the first Rekor v1 batches', [1, 4, 9, 10, 11, 19, 23]],
  ['at every few entries of Rekor v1, then in the tiles', [3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 600, 2000, 4100, 5000]],
  ['once v1 is done, across the entry bundles and the saves every 16 of them', [40, 300, 4096, 4097, 5999]],
])(
  'killed %s: every alert reported exactly once',
  async (_, kills) => {
    const { printed, killed, midway } = await killedRuns(kills);
    expect(killed).toBeGreaterThan(0);
    expect(midway).toBeGreaterThan(0);
    const ids = printed.map((alert) => alert.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(printed.map(describe).sort()).toEqual([...expected].sort());
  },
  300_000,
);
