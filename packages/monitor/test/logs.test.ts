// A misbehaving or changing log: a Rekor v1 log that rewrites its history (a fork), one that
// rotates to a new shard, a Rekor v2 log whose tiles show another history, and where a first run
// starts (--since). Each log is its own emulator (or tiles folder), so forking it spoils no
// other test; the stack's trusted root lists it.
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { hashedRekordV2Body, RekorEmulator, SigstoreStack, TiledLog, tilePath, writeTilesDirectory } from '@signet/emulators/sigstore';
import { generateKey, useTempDir } from '@signet/test-support';
import { artifact, fingerprintOf, logIndexesOf, monitor, ok, trustedRootWith } from './support';

const stack = new SigstoreStack();
const tmp = useTempDir();

beforeAll(() => stack.start());
afterAll(() => stack.stop());

/** A Rekor v1 log of its own, listed in a trusted root written to `dir`. */
async function ownRekor(dir: string): Promise<RekorEmulator> {
  const rekor = new RekorEmulator();
  await rekor.start();
  const root = trustedRootWith(stack.trustedRoot, [
    { baseUrl: rekor.url, publicKey: rekor.log.publicKey, logId: rekor.log.logId, keyDetails: 'PKIX_ECDSA_P256_SHA_256' },
  ]);
  fs.writeFileSync(path.join(dir, 'trusted_root.json'), JSON.stringify(root));
  return rekor;
}

/** A signing key in `dir` and the config watching its fingerprint in `logs`. */
function keyAndConfig(dir: string, logs: { url: string; version: number }[]) {
  const { key, pub } = generateKey(dir, 'release');
  const config = {
    logs,
    trustedRoot: 'trusted_root.json',
    monitoredValues: { fingerprints: [fingerprintOf(fs.readFileSync(path.join(dir, pub), 'utf8'))] },
  };
  return { key, config };
}

async function signTo(dir: string, rekor: RekorEmulator, key: string, ledger: boolean): Promise<number> {
  const file = artifact(dir, `a-${crypto.randomUUID()}.txt`);
  await ok(dir, ['sign', file, '--key', key, '--tlog-upload', '--rekor-url', rekor.url, ...(ledger ? ['--ledger', 'ledger.jsonl'] : [])]);
  return logIndexesOf(dir, `${file}.sigstore.json`)[0] as number;
}

describe('Rekor v1', () => {
  test('a log that rewrites an entry it had shown is a fork: its consistency proof fails; alerted once', async () => {
    const dir = tmp();
    const rekor = await ownRekor(dir);
    try {
      const { key, config } = keyAndConfig(dir, [{ url: rekor.url, version: 1 }]);
      for (let i = 0; i < 3; i++) await signTo(dir, rekor, key, true);
      expect((await monitor(dir, config)).status).toBe(0);
      await signTo(dir, rekor, key, true);
      expect((await monitor(dir, config)).status).toBe(0);

      rekor.log.rewrite(1, Buffer.from('{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{"forged":true}}'));
      await signTo(dir, rekor, key, true);
      const forked = await monitor(dir, config);
      expect(forked.status).toBe(1);
      expect(forked.alerts).toMatchObject([{ kind: 'log-fork', source: rekor.url }]);
      expect(forked.alerts[0]?.reason).toMatch(/consistency proof from 4 to 5 entries fails/);
      // The state stays at the last checkpoint it could verify; the fork is not alerted again.
      const state = JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8'));
      expect(state.logs[rekor.url].verified.size).toBe(4);
      expect((await monitor(dir, config)).alerts).toEqual([]);
    } finally {
      await rekor.stop();
    }
  });

  test('a rotated shard: the old shard is finished and the new one read from its start, at global indexes; nothing missed or repeated', async () => {
    const dir = tmp();
    const rekor = await ownRekor(dir);
    try {
      const { key, config } = keyAndConfig(dir, [{ url: rekor.url, version: 1 }]);
      await signTo(dir, rekor, key, true);
      expect((await monitor(dir, config)).status).toBe(0);
      const beforeRotation = await signTo(dir, rekor, key, false);
      await signTo(dir, rekor, key, true);
      rekor.rotateShard();
      const afterRotation = await signTo(dir, rekor, key, false);
      await signTo(dir, rekor, key, true);
      expect(afterRotation).toBe(3);

      const run = await monitor(dir, config);
      expect(run.status).toBe(1);
      expect(run.alerts.map((alert) => [alert.kind, alert.logIndex])).toEqual([
        ['unexpected-entry', beforeRotation],
        ['unexpected-entry', afterRotation],
      ]);
      const state = JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8'));
      expect(state.logs[rekor.url]).toMatchObject({ treeId: String(rekor.log.treeId), offset: 3, verified: { size: 2 } });
      expect((await monitor(dir, config)).alerts).toEqual([]);

      // A shard the monitor followed that the log no longer lists at all is a fork.
      rekor.rotateShard();
      (rekor.inactiveShards as unknown as unknown[]).length = 0;
      const lost = await monitor(dir, config);
      expect(lost.alerts).toMatchObject([{ kind: 'log-fork' }]);
      expect(lost.alerts[0]?.reason).toContain(
        `the shard it was following (tree ${state.logs[rekor.url].treeId}) is neither active nor listed as inactive`,
      );
    } finally {
      await rekor.stop();
    }
  });

  test('--since INDEX starts a first run there; --since DATE at the first entry integrated then', async () => {
    const dir = tmp();
    const rekor = await ownRekor(dir);
    try {
      const { key, config } = keyAndConfig(dir, [{ url: rekor.url, version: 1 }]);
      const early = await signTo(dir, rekor, key, false);
      // Rekor records whole seconds: the next second starts after the first entry.
      await new Promise((resolve) => setTimeout(resolve, 1100));
      const between = new Date(Math.floor(Date.now() / 1000) * 1000);
      const late = await signTo(dir, rekor, key, false);
      const fromIndex = await monitor(dir, config, ['--since', String(late)]);
      expect(fromIndex.alerts.map((alert) => alert.logIndex)).toEqual([late]);
      fs.rmSync(path.join(dir, 'state.json'));
      const fromDate = await monitor(dir, config, ['--since', between.toISOString()]);
      expect(fromDate.alerts.map((alert) => alert.logIndex)).toEqual([late]);
      fs.rmSync(path.join(dir, 'state.json'));
      const fromStart = await monitor(dir, config, ['--since', '2000-01-01']);
      expect(fromStart.alerts.map((alert) => alert.logIndex)).toEqual([early, late]);
    } finally {
      await rekor.stop();
    }
  });
});

describe('Rekor v2 tiles', () => {
  const key = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const watched = key.publicKey.export({ format: 'der', type: 'spki' });
  const other = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'der', type: 'spki' });
  const entry = (i: number, signer: Buffer) =>
    hashedRekordV2Body({ publicKey: signer }, crypto.createHash('sha256').update(`artifact ${i}`).digest(), crypto.randomBytes(70));

  function setup(dir: string, origin = 'tiles.test/log') {
    const log = new TiledLog(origin);
    const root = trustedRootWith(stack.trustedRoot, [
      { baseUrl: `https://${origin}`, publicKey: log.publicKey, logId: log.logId, keyDetails: 'PKIX_ED25519' },
    ]);
    fs.writeFileSync(path.join(dir, 'trusted_root.json'), JSON.stringify(root));
    const tiles = path.join(dir, 'tiles');
    const config = {
      logs: [{ url: pathToFileURL(tiles).href, version: 2 }],
      trustedRoot: 'trusted_root.json',
      monitoredValues: { fingerprints: [crypto.createHash('sha256').update(watched).digest('hex')] },
    };
    return { log, tiles, config };
  }

  test('the watched key across partial and full entry bundles, from --since; then a history that changed is a fork', async () => {
    const dir = tmp();
    const { log, tiles, config } = setup(dir);
    const bodies: Buffer[] = [];
    for (let i = 0; i < 300; i++) bodies.push(entry(i, i % 97 === 5 ? watched : other));
    for (const body of bodies) log.append(body);
    writeTilesDirectory(log, tiles);

    const first = await monitor(dir, config, ['--since', '0']);
    expect(first.status).toBe(1);
    expect(first.alerts.map((alert) => alert.logIndex)).toEqual([5, 102, 199, 296]);

    for (let i = 300; i < 600; i++) log.append(entry(i, i === 520 ? watched : other));
    fs.rmSync(tiles, { recursive: true });
    writeTilesDirectory(log, tiles);
    const grown = await monitor(dir, config);
    expect(grown.alerts.map((alert) => alert.logIndex)).toEqual([520]);

    // The same log key and origin, another history from entry 100 on: signed, but a fork.
    const fork = new TiledLog('tiles.test/log', log.signingKey);
    for (let i = 0; i < 700; i++) fork.append(i < 100 ? (bodies[i] as Buffer) : entry(i + 10_000, other));
    fs.rmSync(tiles, { recursive: true });
    writeTilesDirectory(fork, tiles);
    const forked = await monitor(dir, config);
    expect(forked.status).toBe(1);
    expect(forked.alerts).toMatchObject([{ kind: 'log-fork' }]);
    expect(forked.alerts[0]?.reason).toMatch(/do not hash to the root of its checkpoint of 700 entries/);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8')).logs[config.logs[0]?.url as string].verified.size).toBe(600);
  });

  test('an entry bundle changed under a valid checkpoint is caught: the entries do not hash to its root', async () => {
    const dir = tmp();
    const { log, tiles, config } = setup(dir);
    for (let i = 0; i < 20; i++) log.append(entry(i, other));
    writeTilesDirectory(log, tiles);
    expect((await monitor(dir, config)).status).toBe(0);
    for (let i = 20; i < 40; i++) log.append(entry(i, other));
    writeTilesDirectory(log, tiles);
    const bundle = path.join(tiles, 'tile', 'entries', '000.p', '40');
    const bytes = fs.readFileSync(bundle);
    bytes[bytes.length - 3] = (bytes[bytes.length - 3] as number) ^ 1;
    fs.writeFileSync(bundle, bytes);
    const run = await monitor(dir, config);
    // The damaged entry no longer parses (an alert of its own), and the bundle no longer hashes to the root.
    expect(run.alerts.map((alert) => [alert.kind, alert.logIndex])).toEqual([
      ['unreadable-entry', 39],
      ['log-fork', undefined],
    ]);
  });

  // The hash tiles a first run builds its compact range from are only as good as the root they
  // hash to: each of these lies, and each must be a fork, never a silent start.
  function honestLog(dir: string, size: number) {
    const setUp = setup(dir);
    const bodies: Buffer[] = [];
    for (let i = 0; i < size; i++) bodies.push(entry(i, other));
    for (const body of bodies) setUp.log.append(body);
    writeTilesDirectory(setUp.log, setUp.tiles);
    return { ...setUp, bodies };
  }
  const flipByte = (file: string, at: number) => {
    const bytes = fs.readFileSync(file);
    bytes[at] = (bytes[at] as number) ^ 1;
    fs.writeFileSync(file, bytes);
  };
  const logState = (dir: string, url: string) => JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8')).logs[url];

  test('a level-0 hash tile that disagrees with its entries is a fork: a run starting after it does not hash to the checkpoint', async () => {
    const dir = tmp();
    const { tiles, config } = honestLog(dir, 300);
    // Hash 50 of the first level-0 tile: inside the compact range [0, 100) a run from --since 100 reads.
    flipByte(path.join(tiles, tilePath(0, 0)), 50 * 32 + 7);
    const run = await monitor(dir, config, ['--since', '100']);
    expect(run.status).toBe(1);
    expect(run.alerts).toMatchObject([{ kind: 'log-fork' }]);
    expect(run.alerts[0]?.reason).toMatch(/do not hash to the root of its checkpoint of 300 entries/);
    expect(logState(dir, config.logs[0]?.url as string)).toBeUndefined();
  });

  test('a level-1 hash tile changed is a fork: a first run at the current size does not start on it', async () => {
    const dir = tmp();
    const { tiles, config } = honestLog(dir, 600);
    // 600 entries: the subtree of the first 512 is hashed from the level-1 tile's 2 hashes.
    const level1 = path.join(tiles, tilePath(1, 0, 2));
    expect(fs.existsSync(level1)).toBe(true);
    flipByte(level1, 40);
    const run = await monitor(dir, config);
    expect(run.status).toBe(1);
    expect(run.alerts).toMatchObject([{ kind: 'log-fork' }]);
    expect(run.alerts[0]?.reason).toMatch(/its tiles do not hash to the root of its checkpoint of 600 entries/);
    expect(logState(dir, config.logs[0]?.url as string)).toBeUndefined();
  });

  test('an entry bundle changed together with its level-0 tile is caught: the checkpoint binds the tiles above them', async () => {
    const dir = tmp();
    const { log, tiles, config, bodies } = honestLog(dir, 300);
    expect((await monitor(dir, config)).status).toBe(0);
    for (let i = 300; i < 600; i++) {
      const body = entry(i, other);
      bodies.push(body);
      log.append(body);
    }
    writeTilesDirectory(log, tiles);
    // Entry 400 replaced by another of the same signer and size; its bundle and level-0 tile
    // rewritten to agree with it, the checkpoint and the level-1 tile left as the log signed them.
    const forged = new TiledLog('tiles.test/log', log.signingKey);
    for (let i = 0; i < 600; i++) forged.append(i === 400 ? entry(10_400, other) : (bodies[i] as Buffer));
    fs.writeFileSync(path.join(tiles, tilePath('entries', 1)), forged.entryBundle(1) as Buffer);
    fs.writeFileSync(path.join(tiles, tilePath(0, 1)), forged.tile(0, 1) as Buffer);
    expect(forged.tile(0, 1)?.equals(log.tile(0, 1) as Buffer)).toBe(false);
    const run = await monitor(dir, config);
    expect(run.status).toBe(1);
    expect(run.alerts).toMatchObject([{ kind: 'log-fork' }]);
    expect(run.alerts[0]?.reason).toMatch(/do not hash to the root of its checkpoint of 600 entries/);
    expect(logState(dir, config.logs[0]?.url as string).verified.size).toBe(300);
  });

  test('a tiles folder holding something other than a regular file: the log cannot be read (exit 3), the run does not hang', async () => {
    const dir = tmp();
    const { tiles, config } = honestLog(dir, 300);
    const bundle = path.join(tiles, tilePath('entries', 0));
    fs.rmSync(bundle);
    execFileSync('mkfifo', [bundle]);
    const run = await monitor(dir, config, ['--since', '0']);
    expect(run.status).toBe(3);
    expect(run.stderr).toContain('is not a regular file');
  });

  test('--since DATE cannot start a Rekor v2 log, which records no time: exit 2', async () => {
    const dir = tmp();
    const { log, tiles, config } = setup(dir);
    log.append(entry(0, other));
    writeTilesDirectory(log, tiles);
    const run = await monitor(dir, config, ['--since', '2026-01-01']);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('signet: E_USAGE: --since DATE cannot start');
  });
});
