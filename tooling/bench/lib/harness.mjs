// The bench harness: run things side by side with a reference, summarize, print, record.
// Every figure is a ratio against a reference measured in the same run, interleaved with
// it, so a slower or busier machine moves both sides alike; absolute times are kept as
// detail only.

import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const benchDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const repoRoot = path.resolve(benchDir, '../..');

const GNU_TIME = '/usr/bin/time';

/** A temporary directory removed when the process exits, however it exits. */
export function scratchDir(label) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `signet-bench-${label}-`));
  const remove = () => fs.rmSync(dir, { recursive: true, force: true });
  process.once('exit', remove);
  return dir;
}

// Children get only these from our environment (plus what a command sets), so figures do
// not depend on how the bench was started: NODE_OPTIONS or NODE_EXTRA_CA_CERTS (which alone
// costs Node ~50 ms at every start) would otherwise apply to one side of a comparison only.
const INHERITED_ENV = ['PATH', 'HOME', 'LANG', 'TMPDIR'];

function childEnv(env) {
  const base = Object.fromEntries(INHERITED_ENV.filter((name) => process.env[name] !== undefined).map((name) => [name, process.env[name]]));
  return { ...base, ...env };
}

let rssFiles;

/**
 * Runs one command to completion: wall time (from spawn to exit, measured here) and
 * peak RSS (max resident set, KiB) from GNU time, or by polling /proc/PID/status
 * (VmHWM) where GNU time is missing. Throws when the command fails.
 */
export async function runCommand({ cmd, args = [], env = {}, cwd }) {
  const useTime = fs.existsSync(GNU_TIME);
  rssFiles ??= scratchDir('rss');
  const rssFile = path.join(rssFiles, 'maxrss');
  const [file, argv] = useTime ? [GNU_TIME, ['-f', '%M', '-o', rssFile, cmd, ...args]] : [cmd, args];
  const start = process.hrtime.bigint();
  const child = spawn(file, argv, { cwd, env: childEnv(env), stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  let polledKiB = 0;
  const poll = useTime ? undefined : setInterval(() => (polledKiB = Math.max(polledKiB, vmHwmKiB(child.pid))), 2);
  const [code, wallMs] = await new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (status) => resolve([status, Number(process.hrtime.bigint() - start) / 1e6]));
  });
  if (poll) clearInterval(poll);
  await new Promise((resolve) => (child.stderr.readableEnded ? resolve() : child.stderr.on('end', resolve)));
  if (code !== 0) throw new Error(`${[cmd, ...args].join(' ')} exited ${code}: ${stderr.trim()}`);
  const peakRssKiB = useTime ? Number(fs.readFileSync(rssFile, 'utf8').trim().split('\n').pop()) : polledKiB;
  return { wallMs, peakRssKiB };
}

function vmHwmKiB(pid) {
  try {
    return Number(/VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/**
 * Runs commands interleaved: `warmups` rounds first (discarded: page cache, disk, CPU
 * frequency), then `runs` rounds, each command once per round, with the order rotated
 * every round so no command always runs first. Returns, by name, the median wall time
 * and the highest peak RSS seen.
 */
export async function compareCommands(commands, { runs, warmups = 1 }) {
  for (let round = 0; round < warmups; round++) {
    for (const command of commands) await runCommand(command);
  }
  const samples = new Map(commands.map((command) => [command.name, []]));
  for (let round = 0; round < runs; round++) {
    for (let i = 0; i < commands.length; i++) {
      const command = commands[(round + i) % commands.length];
      samples.get(command.name).push(await runCommand(command));
    }
  }
  return Object.fromEntries(
    [...samples].map(([name, runs]) => [
      name,
      {
        medianMs: round1(median(runs.map((run) => run.wallMs))),
        peakRssKiB: Math.max(...runs.map((run) => run.peakRssKiB)),
        wallMs: runs.map((run) => round1(run.wallMs)),
      },
    ]),
  );
}

/**
 * Operations per second of (possibly async) functions, interleaved: a warm-up for the
 * JIT, then `rounds` rounds in which each function runs for `roundMs`, order rotated
 * each round. Returns, by name, the median rate over the rounds.
 */
export async function compareRates(cases, { rounds, roundMs, warmupMs = roundMs }) {
  for (const { fn } of cases) await opsPerSecond(fn, warmupMs);
  const samples = new Map(cases.map(({ name }) => [name, []]));
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < cases.length; i++) {
      const { name, fn } = cases[(round + i) % cases.length];
      samples.get(name).push(await opsPerSecond(fn, roundMs));
    }
  }
  return Object.fromEntries(
    [...samples].map(([name, rates]) => [
      name,
      { medianPerSecond: Math.round(median(rates)), perSecond: rates.map((rate) => Math.round(rate)) },
    ]),
  );
}

async function opsPerSecond(fn, ms) {
  const batch = 32;
  const start = process.hrtime.bigint();
  let ops = 0;
  let elapsedMs = 0;
  do {
    for (let i = 0; i < batch; i++) await fn();
    ops += batch;
    elapsedMs = Number(process.hrtime.bigint() - start) / 1e6;
  } while (elapsedMs < ms);
  return ops / (elapsedMs / 1000);
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function round1(value) {
  return Math.round(value * 10) / 10;
}

const COMPARE = {
  '<=': (value, limit) => value <= limit,
  '<': (value, limit) => value < limit,
  '>=': (value, limit) => value >= limit,
};

/**
 * One measured figure against its target: `value` (in `unit`) is compared to `limit`
 * with `comparator`. `detail.text` is the line BENCHMARKS.md shows beside it; the rest
 * of `detail` (raw samples) goes to the results file.
 */
export function check({ id, what, target, comparator, limit, value, unit, detail = {} }) {
  if (!COMPARE[comparator]) throw new Error(`unknown comparator ${comparator}`);
  return { id, what, target, comparator, limit, value: Number(value.toFixed(3)), unit, pass: COMPARE[comparator](value, limit), detail };
}

export function formatValue(value, unit) {
  if (unit === '×') return `${value.toFixed(2)}×`;
  if (unit === 'MiB') return `${value.toFixed(1)} MiB`;
  return `${value} ${unit}`;
}

/** Prints rows (arrays of strings) as an aligned table. */
export function printTable(header, rows) {
  const widths = header.map((cell, i) => Math.max(cell.length, ...rows.map((row) => String(row[i]).length)));
  const line = (row) => row.map((cell, i) => String(cell).padEnd(widths[i])).join('  ');
  console.log(line(header));
  console.log(widths.map((width) => '-'.repeat(width)).join('  '));
  for (const row of rows) console.log(line(row));
}

/** The commit measured, marked when packages/ had uncommitted changes. */
export function revision() {
  const commit = commandOutput('git', ['-C', repoRoot, 'rev-parse', '--short', 'HEAD']);
  const dirty = commandOutput('git', ['-C', repoRoot, 'status', '--porcelain', '--', 'packages']);
  return dirty === '' ? commit : `${commit} + uncommitted changes in packages/`;
}

/** What the figures were measured on. */
export function machineInfo() {
  const cpuinfo = readOr('/proc/cpuinfo', '');
  return {
    cpu: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown',
    cores: os.availableParallelism(),
    ramGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    nodeOpenssl: process.versions.openssl,
    openssl: commandOutput('openssl', ['version']),
  };
}

function readOr(file, fallback) {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
}

function commandOutput(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8' }).trim();
  } catch {
    return 'unavailable';
  }
}
