// Sums the jest results every package wrote to reports/jest.json (and reports/jest-nodeNN.json
// for the other Node.js lines CI runs) and prints the one plain line CI reads: "N passed, N failed". A package whose tests did not report
// (a crash before jest finished) counts as one failure, so nothing fails silently.
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const workspaces = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).workspaces;

let passed = 0;
let failed = 0;
let skipped = 0;
for (const pattern of workspaces) {
  const parent = path.join(root, pattern.replace(/\/\*$/, ''));
  if (!fs.existsSync(parent)) continue;
  for (const name of fs.readdirSync(parent)) {
    const dir = path.join(parent, name);
    const manifest = path.join(dir, 'package.json');
    if (!fs.existsSync(manifest) || !JSON.parse(fs.readFileSync(manifest, 'utf8')).scripts?.test) continue;
    if (!fs.existsSync(path.join(dir, 'reports/jest.json'))) {
      console.error(`${path.relative(root, dir)}: no test report (the test run did not finish)`);
      failed += 1;
      continue;
    }
    // reports/jest.json (the machine's Node.js), and jest-nodeNN.json for each other line CI ran.
    for (const name of fs.readdirSync(path.join(dir, 'reports')).filter((n) => /^jest(-node\d+)?\.json$/.test(n)).sort()) {
      const result = JSON.parse(fs.readFileSync(path.join(dir, 'reports', name), 'utf8'));
      const under = name === 'jest.json' ? '' : ` (Node.js ${name.slice('jest-node'.length, -'.json'.length)})`;
      passed += result.passed;
      failed += result.failed;
      skipped += result.skipped;
      for (const suite of result.failedSuites ?? []) console.error(`failed: ${path.relative(root, dir)}/${suite}${under}`);
    }
  }
}
if (skipped > 0) console.error(`${skipped} skipped (see the test output for the reason each gives)`);
console.log(`${passed} passed, ${failed} failed`);
