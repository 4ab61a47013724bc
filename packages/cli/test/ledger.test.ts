// The ledger `signet monitor` reads: every signing command given --ledger FILE (or SIGNET_LEDGER)
// appends one line per log entry it made, naming the log, the index and the leaf hash the log
// holds, against a real Rekor emulator on 127.0.0.1. (npm publish: packages/monitor/test/npm.test.ts;
// image sign: packages/oci/test/cli.test.ts.)
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { RekorEmulator } from '@signet/emulators/sigstore';
import { generateKey, signetAsync, useTempDir, writeFile } from '@signet/test-support';

const tmp = useTempDir();
const rekor = new RekorEmulator();

beforeAll(() => rekor.start());
afterAll(() => rekor.stop());

interface TlogEntry {
  /** Absent for 0, as protobuf JSON leaves default values out. */
  logIndex?: string;
  logId: { keyId: string };
  canonicalizedBody: string;
}

/** The bundles a command wrote: every *.sigstore.json under `dir` (sign-dir writes into the folder) not in `before`. */
function newBundles(dir: string, before: Set<string>): { name: string; entries: TlogEntry[] }[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[])
    .filter((name) => name.endsWith('.sigstore.json') && !before.has(name))
    .map((name) => ({
      name,
      entries: JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8')).verificationMaterial.tlogEntries as TlogEntry[],
    }));
}

function ledgerLines(file: string): Record<string, unknown>[] {
  return fs
    .readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
}

/** What the ledger must say about a log entry: the log's ID, its index, the leaf hash of the body the log holds at that index. */
function recordOf(entry: TlogEntry) {
  const body = Buffer.from(entry.canonicalizedBody, 'base64');
  return {
    log: rekor.log.logId.toString('hex'),
    logIndex: Number(entry.logIndex ?? 0),
    leaf: crypto
      .createHash('sha256')
      .update(Buffer.from([0]))
      .update(body)
      .digest('hex'),
  };
}

test.each([
  { command: 'sign', args: ['sign', 'app.tgz'] },
  { command: 'attest', args: ['attest', 'app.tgz', '--predicate', 'results.json', '--type', 'https://example.com/test-results/v1'] },
  { command: 'sign-dir', args: ['sign-dir', 'dist'] },
  { command: 'lambda package', args: ['lambda', 'package', 'fn', '--out', 'fn.zip'] },
])('signet $command --ledger appends the log entry it made: log, index, leaf hash, digest, signer, time', async ({ args }) => {
  const dir = tmp();
  const { key } = generateKey(dir, 'release');
  writeFile(dir, 'app.tgz', 'the release tarball\n');
  writeFile(dir, 'results.json', JSON.stringify({ passed: 120, failed: 0 }));
  writeFile(dir, 'dist/index.html', '<!doctype html>\n');
  writeFile(dir, 'fn/index.js', 'exports.handler = async () => 1;\n');
  // A line from an earlier release: kept, the new one after it.
  writeFile(
    dir,
    'ledger.jsonl',
    `${JSON.stringify({ digest: `sha256:${'0'.repeat(64)}`, signer: 'earlier', time: '2026-01-01T00:00:00.000Z' })}\n`,
  );
  const before = new Set(fs.readdirSync(dir, { recursive: true }) as string[]);

  const result = await signetAsync([...args, '--key', key, '--tlog-upload', '--rekor-url', rekor.url, '--ledger', 'ledger.jsonl'], {
    cwd: dir,
  });
  expect(result.stderr).toContain('recorded in the ledger ledger.jsonl');
  expect(result.status).toBe(0);

  const bundles = newBundles(dir, before);
  expect(bundles).toHaveLength(1);
  const [entry] = (bundles[0] as { entries: TlogEntry[] }).entries;
  const lines = ledgerLines(path.join(dir, 'ledger.jsonl'));
  expect(lines).toHaveLength(2);
  expect(lines[0]).toMatchObject({ signer: 'earlier' });
  expect(lines[1]).toMatchObject(recordOf(entry as TlogEntry));
  expect(lines[1]?.digest).toMatch(/^sha(256|512):[0-9a-f]+$/);
  expect(lines[1]?.signer).toMatch(/^sha256:[0-9a-f]{64}$/);
  expect(Date.parse(lines[1]?.time as string)).not.toBeNaN();
  // The leaf hash is the one the log holds at that index.
  expect(rekor.log.at((lines[1] as { logIndex: number }).logIndex)?.leafHash.toString('hex')).toBe(lines[1]?.leaf);
});

test('SIGNET_LEDGER names the ledger when --ledger is not given; without either, nothing is written', async () => {
  const dir = tmp();
  const { key } = generateKey(dir, 'release');
  writeFile(dir, 'a.txt', 'a\n');
  writeFile(dir, 'b.txt', 'b\n');
  const viaEnv = await signetAsync(['sign', 'a.txt', '--key', key, '--tlog-upload', '--rekor-url', rekor.url], {
    cwd: dir,
    env: { SIGNET_LEDGER: 'from-env.jsonl' },
  });
  expect(viaEnv.status).toBe(0);
  const [record] = ledgerLines(path.join(dir, 'from-env.jsonl'));
  const bundle = JSON.parse(fs.readFileSync(path.join(dir, 'a.txt.sigstore.json'), 'utf8'));
  expect(record).toMatchObject(recordOf(bundle.verificationMaterial.tlogEntries[0]));

  const without = await signetAsync(['sign', 'b.txt', '--key', key, '--tlog-upload', '--rekor-url', rekor.url], { cwd: dir });
  expect(without.status).toBe(0);
  expect(fs.readdirSync(dir).filter((name) => name.endsWith('.jsonl'))).toEqual(['from-env.jsonl']);
  expect(ledgerLines(path.join(dir, 'from-env.jsonl'))).toHaveLength(1);
});
