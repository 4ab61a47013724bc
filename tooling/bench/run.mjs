#!/usr/bin/env node
// Runs the benchmark suites (all, or those named) one after another, prints each one's
// table, writes results/<suite>.json and regenerates BENCHMARKS.md.
// Usage: node tooling/bench/run.mjs [suite…]   (npm run bench runs them all)
// Exits 1 when a target is missed, after writing the figures.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { benchDir, formatValue, machineInfo, printTable, revision } from './lib/harness.mjs';
import { writeBenchmarksMarkdown, writeResults } from './lib/report.mjs';

const suitesDir = path.join(benchDir, 'suites');
const available = fs
  .readdirSync(suitesDir)
  .filter((name) => name.endsWith('.mjs'))
  .map((name) => name.slice(0, -'.mjs'.length))
  .sort();
const requested = process.argv.slice(2);
const unknown = requested.filter((name) => !available.includes(name));
if (unknown.length > 0) {
  console.error(`unknown suite ${unknown.join(', ')}; the suites are: ${available.join(', ')}`);
  process.exit(2);
}

let missed = 0;
for (const name of requested.length > 0 ? requested : available) {
  const { default: suite } = await import(pathToFileURL(path.join(suitesDir, `${name}.mjs`)).href);
  console.log(`\n== ${name}: ${suite.title}`);
  const started = Date.now();
  // Other work on the machine moves the figures, even as ratios: record how busy it was.
  const loadBefore = os.loadavg()[0];
  if (loadBefore > 0.5)
    console.log(`   the load average is ${loadBefore.toFixed(2)}: other work on this machine makes the figures noisier`);
  const { checks, notes } = await suite.run({ log: (line) => console.log(`   ${line}`) });
  const result = {
    suite: name,
    title: suite.title,
    description: suite.description,
    date: new Date().toISOString(),
    revision: revision(),
    seconds: Math.round((Date.now() - started) / 1000),
    machine: machineInfo(),
    loadAverage: { before: round2(loadBefore), after: round2(os.loadavg()[0]) },
    checks,
    notes,
  };
  console.log('');
  printTable(
    ['figure', 'target', 'measured', 'result', 'detail'],
    checks.map((c) => [c.what, c.target, formatValue(c.value, c.unit), c.pass ? 'pass' : 'FAIL', c.detail.text ?? '']),
  );
  console.log(`\nwrote ${path.relative(process.cwd(), writeResults(result))} (${result.seconds} s)`);
  missed += checks.filter((c) => !c.pass).length;
}
console.log(`wrote ${path.relative(process.cwd(), writeBenchmarksMarkdown())}`);
if (missed > 0) {
  console.log(`${missed} target(s) missed`);
  process.exitCode = 1;
}

function round2(value) {
  return Math.round(value * 100) / 100;
}
