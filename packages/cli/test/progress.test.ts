// Long work shows progress on a terminal, and only there: a file over 64 MiB gets a
// "hashing" bar when stderr is a TTY; CI logs (no TTY) and small files stay clean.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { childEnv, generateKey, SIGNET, signet, signetOk, useTempDir } from '@signet/test-support';

const tmp = useTempDir();

const BIG = 65 * 1024 * 1024;

// Runs a command under a pseudo-terminal and exits with its status (128+N for signal N).
const UNDER_PTY = [
  'import os, pty, sys',
  'status = os.waitstatus_to_exitcode(pty.spawn(sys.argv[1:]))',
  'sys.exit(128 - status if status < 0 else status)',
].join('\n');

const python = spawnSync('python3', ['-c', 'import pty, os; os.waitstatus_to_exitcode'], { encoding: 'utf8' });
const hasPty = python.status === 0;
if (!hasPty)
  console.warn(
    `progress: python3 with the pty module is not available (${python.error?.message ?? python.stderr}); the TTY tests are skipped`,
  );

/** Runs `signet ARGS` with its stdin, stdout and stderr on a pseudo-terminal; returns the terminal's output. */
function signetOnTty(args: string[], cwd: string): { status: number | null; output: string } {
  const result = spawnSync('python3', ['-c', UNDER_PTY, process.execPath, SIGNET, ...args], {
    cwd,
    env: childEnv(),
    input: '',
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw result.error;
  return { status: result.status, output: result.stdout + result.stderr };
}

function setup(size: number): { dir: string; key: string; pub: string } {
  const dir = tmp();
  const { key, pub } = generateKey(dir, 'signing');
  fs.writeFileSync(path.join(dir, 'big.bin'), Buffer.alloc(size, 0x5a));
  return { dir, key, pub };
}

(hasPty ? describe : describe.skip)('on a terminal', () => {
  test('signing a file over 64 MiB shows a "hashing" progress bar, and the bundle verifies', () => {
    const { dir, key, pub } = setup(BIG);
    const result = signetOnTty(['sign', 'big.bin', '--key', key], dir);
    expect(result.output).toContain('hashing big.bin');
    expect(result.output).toContain('wrote big.bin.sigstore.json');
    expect(result.status).toBe(0);
    signetOk(['verify', 'big.bin', '--key', pub], { cwd: dir });
  });

  test('verifying a file over 64 MiB shows the bar too', () => {
    const { dir, key, pub } = setup(BIG);
    signetOk(['sign', 'big.bin', '--key', key], { cwd: dir });
    const result = signetOnTty(['verify', 'big.bin', '--key', pub], dir);
    expect(result.output).toContain('hashing big.bin');
    expect(result.output).toContain('Verified OK');
    expect(result.status).toBe(0);
  });

  test('a small file shows no bar', () => {
    const { dir, key } = setup(1024);
    const result = signetOnTty(['sign', 'big.bin', '--key', key], dir);
    expect(result.output).toContain('wrote big.bin.sigstore.json');
    expect(result.output).not.toContain('hashing');
    expect(result.status).toBe(0);
  });
});

test('without a terminal, signing a file over 64 MiB prints no progress', () => {
  const { dir, key, pub } = setup(BIG);
  const result = signet(['sign', 'big.bin', '--key', key], { cwd: dir });
  expect(result.status).toBe(0);
  expect(result.stderr).toContain('wrote big.bin.sigstore.json');
  expect(result.stderr).not.toContain('hashing');
  const verified = signet(['verify', 'big.bin', '--key', pub], { cwd: dir });
  expect(verified.status).toBe(0);
  expect(verified.stderr).not.toContain('hashing');
});
