// Inputs built to exhaust memory or time: a YAML document whose aliases expand exponentially,
// files far larger than what they claim to be, nesting deep enough to overflow a parser's stack.
// Each is refused quickly, with its code, before the expansion happens.
import fs from 'node:fs';
import path from 'node:path';
import { generateKey, type RunResult, signetAsync, singleErrorLine, useTempDir, writeFile } from '@signet/test-support';

const tmp = useTempDir();
const QUICK = 15_000;

function run(dir: string, args: string[]): Promise<RunResult> {
  return signetAsync(args, { cwd: dir, timeoutMs: QUICK });
}

/** "Billion laughs": ten levels, each alias ten times the one before. */
function aliasBomb(): string {
  const lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i < 10; i++) lines.push(`a${i}: &a${i} [${Array.from({ length: 10 }, () => `*a${i - 1}`).join(',')}]`);
  return `version: 1\n${lines.join('\n')}\nrules:\n  - { kind: file, signers: [x] }\n`;
}

it('a gate policy that is a YAML alias bomb: refused at once, E_INPUT, exit 2 (it was E_INTERNAL)', async () => {
  const dir = tmp();
  writeFile(dir, 'policy.yaml', aliasBomb());
  writeFile(dir, 'art.txt', 'x');
  const started = Date.now();
  const result = await run(dir, ['gate', '--policy', 'policy.yaml', 'art.txt']);
  expect(result.status).toBe(2);
  expect(singleErrorLine(result.stderr)).toEqual({ code: 'E_INPUT', message: expect.stringContaining('alias') });
  expect(Date.now() - started).toBeLessThan(QUICK);
});

it('the same bomb for signet image verify --policy: E_INPUT, exit 2', async () => {
  const dir = tmp();
  writeFile(dir, 'policy.yaml', aliasBomb());
  const result = await run(dir, ['image', 'verify', `127.0.0.1:9/x@sha256:${'a'.repeat(64)}`, '--policy', 'policy.yaml']);
  expect([result.status, singleErrorLine(result.stderr).code]).toEqual([2, 'E_INPUT']);
});

it('a policy file of megabytes: refused unread, E_INPUT', async () => {
  const dir = tmp();
  writeFile(dir, 'policy.yaml', `version: 1\n# ${'x'.repeat(2 * 1024 * 1024)}\nrules: []\n`);
  writeFile(dir, 'art.txt', 'x');
  const result = await run(dir, ['gate', '--policy', 'policy.yaml', 'art.txt']);
  expect(result.status).toBe(2);
  expect(singleErrorLine(result.stderr)).toEqual({ code: 'E_INPUT', message: expect.stringContaining('a policy file is at most') });
});

it('a "bundle" of 20 MB: refused unread, E_BUNDLE', async () => {
  const dir = tmp();
  const { pub } = generateKey(dir, 'release');
  writeFile(dir, 'art.txt', 'x');
  fs.writeFileSync(path.join(dir, 'art.txt.sigstore.json'), Buffer.alloc(20 * 1024 * 1024, 0x20));
  const result = await run(dir, ['verify', 'art.txt', '--key', pub]);
  expect(result.status).toBe(2);
  expect(singleErrorLine(result.stderr)).toEqual({
    code: 'E_BUNDLE',
    message: expect.stringContaining('too large to be a Sigstore bundle'),
  });
});

it('a bundle nested a million arrays deep: E_BUNDLE, no stack overflow', async () => {
  const dir = tmp();
  const { pub } = generateKey(dir, 'release');
  writeFile(dir, 'art.txt', 'x');
  writeFile(dir, 'art.txt.sigstore.json', `${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}`);
  const result = await run(dir, ['verify', 'art.txt', '--key', pub]);
  expect(result.status).toBe(2);
  expect(singleErrorLine(result.stderr).code).toBe('E_BUNDLE');
});

it('a gate policy nested deep in YAML flow collections: E_INPUT, no stack overflow', async () => {
  const dir = tmp();
  writeFile(dir, 'policy.yaml', `version: 1\nrules: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`);
  writeFile(dir, 'art.txt', 'x');
  const result = await run(dir, ['gate', '--policy', 'policy.yaml', 'art.txt']);
  expect(result.status).toBe(2);
  expect(singleErrorLine(result.stderr).code).toBe('E_INPUT');
});
