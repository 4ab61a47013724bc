// Suite "build": what signing costs a production build, and what verifying its output costs.
//   1. `vite build` (Vite 8) of a generated app that emits over 2,000 files, with
//      @signet/vite-plugin and without it, whole process, interleaved: ratio of the medians.
//   2. `signet verify-dir` of that output vs `sha256sum -c` of the SHA256SUMS the plugin wrote
//      beside the manifest (the same files), whole process against whole process.

import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { check, compareCommands, median, runCommand, scratchDir } from '../lib/harness.mjs';

const require = createRequire(import.meta.url);
const core = require('@signet/core');
const cliBin = path.join(path.dirname(require.resolve('@signet/cli/package.json')), 'bin', 'signet.js');
// The plugin as a project installs it (dist/), and the Vite it is developed and tested with.
const pluginDir = path.dirname(require.resolve('@signet/vite-plugin/package.json'));
const pluginEntry = require.resolve('@signet/vite-plugin');
const requireFromPlugin = createRequire(path.join(pluginDir, 'package.json'));
const viteEntry = requireFromPlugin.resolve('vite');
const viteVersion = requireFromPlugin('vite/package.json').version;

const node = process.execPath;
const PASSWORD = 'bench-passphrase';
const MODULES = 2000;
const BUILD_RUNS = 15;
const VERIFY_RUNS = 11;
const PROFILE_RUNS = 7;
const MANIFEST = '.well-known/signet/manifest.sigstore.json';
const SHA256SUMS = '.well-known/signet/SHA256SUMS';

export default {
  title: 'signing a Vite build and verifying its output',
  description:
    'What @signet/vite-plugin adds to a production Vite build that emits over 2,000 files, and how fast `signet verify-dir` ' +
    'checks that output against `sha256sum -c` over the same files.',

  async run({ log }) {
    const dir = scratchDir('build');
    await runCommand({ cmd: node, args: [cliBin, 'key', 'generate', '--key', `file:${path.join(dir, 'signing.key')}`], env: env() });
    const key = { private: `file:${path.join(dir, 'signing.key')}`, public: path.join(dir, 'signing.pub') };
    const app = path.join(dir, 'app');
    const sourceBytes = generateApp(app);
    const builds = await buildTime(app, key, log);
    const out = path.join(app, 'dist-on');
    const verify = await verifyTime(dir, out, key, log);
    const profile = await verifyProfile(out, key, log);
    const files = fs.readFileSync(path.join(out, SHA256SUMS), 'utf8').trim().split('\n').length;
    const outputBytes = fs
      .readFileSync(path.join(out, SHA256SUMS), 'utf8')
      .trim()
      .split('\n')
      .reduce((sum, line) => sum + fs.statSync(path.join(out, line.slice(66))).size, 0);
    return {
      checks: [builds.check, verify.check],
      notes: [
        `The app: generated in the OS temporary directory: index.html and src/main.js, which loads ${MODULES} modules lazily through \`import.meta.glob('./routes/*.js')\`, so each is a chunk of its own; each module is a table of 20 to 59 rows and a render function (${(sourceBytes / 2 ** 20).toFixed(1)} MiB of source in all). Vite ${viteVersion} (Rolldown) builds it to ${files} files (${(outputBytes / 2 ** 20).toFixed(1)} MiB), minified, without source maps, with \`logLevel: 'warn'\` and \`build.reportCompressedSize: false\` (so the gzip size report, which a build with many files spends time on, does not pad the reference).`,
        `Build: one script, \`node build.mjs on|off\`, runs \`build()\` from the vite package @signet/vite-plugin resolves; \`on\` adds \`signet({ key: 'file:signing.key', sha256sums: true })\` (an encrypted ECDSA P-256 key from \`signet key generate\`, SIGNET_PASSWORD set for both sides), importing @signet/vite-plugin (dist/) and so @signet/core only on that side. Each side writes its own output folder (\`dist-on\`, \`dist-off\`), emptied by Vite at each build. One warm-up round, then ${BUILD_RUNS} rounds, the order rotated each round; wall time from spawn to exit, median. The plugin's output is checked with \`signet verify-dir\` before timing. The \`on\` side also records, for context, how long importing the plugin took and how long its hooks ran (each hook timed from call to settlement, by wrapping it; medians over the rounds): the plugin's own share of the build, which the side-by-side figure measures through the noise of two whole builds.`,
        `Verify: in the \`dist-on\` output of the last build, \`node packages/cli/bin/signet.js verify-dir dist-on --key signing.pub\` (recomputes every file's sha256, walks the folder for extra files, checks the DSSE signature) vs \`sha256sum -c --quiet ${SHA256SUMS}\` run in the output folder (GNU coreutils; the same ${files} files and digests). Both are checked first to pass on the output and to fail on a copy with one changed byte. Two warm-up rounds (page cache), then ${VERIFY_RUNS} rounds, order rotated; median wall time. For context, \`node -e 0\` and \`signet --version\` run in the same rounds: ${verify.context}.`,
        `Where verify-dir's time goes: starting Node (\`node -e 0\`, ${verify.nodeMs} ms) and loading the CLI (\`signet --version\`, ${verify.versionMs} ms in all) before any work; then, measured in this process after the timed rounds (median of ${PROFILE_RUNS}, warm), @signet/core's \`verifyDirectory(out, { keys })\`, the whole check, ${profile.verifyDirectory} ms, of which reading and hashing the ${files} files takes ${profile.files} ms (\`fs.readFileSync\` and sha256, one after another); the rest of the process is loading and warming the verification code (sigstore-js) for its one signature. sha256sum starts in about a millisecond: on an output this small, Node's start alone takes as long as sha256sum's whole run, so no Node process can meet this target here; the figure is kept to track what Signet adds.`,
      ],
    };
  },
};

function env(extra = {}) {
  return { SIGNET_PASSWORD: PASSWORD, ...extra };
}

/** The app: a page whose script loads MODULES route modules lazily. Returns the bytes of source written. */
function generateApp(app) {
  const routes = path.join(app, 'src', 'routes');
  fs.mkdirSync(routes, { recursive: true });
  let bytes = 0;
  const write = (file, text) => {
    fs.writeFileSync(file, text);
    bytes += Buffer.byteLength(text);
  };
  write(
    path.join(app, 'index.html'),
    '<!doctype html>\n<html lang="en">\n  <body>\n    <ul id="list"></ul>\n    <script type="module" src="/src/main.js"></script>\n  </body>\n</html>\n',
  );
  write(
    path.join(app, 'src', 'main.js'),
    [
      "const routes = import.meta.glob('./routes/*.js');",
      'export async function show(name, filter) {',
      "  const { default: render } = await routes['./routes/' + name + '.js']();",
      "  document.querySelector('#list').innerHTML = render(filter);",
      '}',
      "show(location.hash.slice(1) || 'route-0000', '');",
      '',
    ].join('\n'),
  );
  for (let i = 0; i < MODULES; i++) {
    const rows = Array.from(
      { length: 20 + (i % 40) },
      (_, j) => `  { id: ${i * 100 + j}, label: 'Item ${i}-${j}', price: ${(i * 31 + j * 7) % 1000} },`,
    );
    write(
      path.join(routes, `route-${String(i).padStart(4, '0')}.js`),
      `const rows = [\n${rows.join('\n')}\n];\n\nexport default function render(filter) {\n` +
        '  return rows\n    .filter((row) => row.label.includes(filter))\n' +
        `    .map((row) => '<li data-id="' + row.id + '">' + row.label + ': ' + row.price + '</li>')\n` +
        "    .join('');\n}\n",
    );
  }
  write(path.join(app, 'build.mjs'), buildScript());
  return bytes;
}

/**
 * `node build.mjs off` or `node build.mjs on KEY TIMES`: vite build without or with the
 * plugin. With it, the script also appends to TIMES (JSON lines) how long importing the
 * plugin took and how long its hooks ran (each hook timed from call to settlement; buildStart
 * runs beside other plugins' buildStart, so this is an upper bound of its own work).
 */
function buildScript() {
  return `const { build } = await import(${JSON.stringify(pathToFileURL(viteEntry).href)});
import fs from 'node:fs';
const [mode, key, times] = process.argv.slice(2);
const plugins = [];
let loadMs = 0;
let hookMs = 0;
if (mode === 'on') {
  const started = performance.now();
  const { signet } = await import(${JSON.stringify(pathToFileURL(pluginEntry).href)});
  loadMs = performance.now() - started;
  const plugin = signet({ key, sha256sums: true });
  for (const name of ['options', 'watchChange', 'buildStart', 'renderStart', 'generateBundle', 'writeBundle', 'closeBundle']) {
    const hook = plugin[name];
    if (!hook) continue;
    const handler = typeof hook === 'function' ? hook : hook.handler;
    const timed = function (...args) {
      const started = performance.now();
      const result = handler.apply(this, args);
      if (!(result instanceof Promise)) {
        hookMs += performance.now() - started;
        return result;
      }
      return result.finally(() => {
        hookMs += performance.now() - started;
      });
    };
    plugin[name] = typeof hook === 'function' ? timed : { ...hook, handler: timed };
  }
  plugins.push(plugin);
}
await build({
  root: import.meta.dirname,
  configFile: false,
  logLevel: 'warn',
  plugins,
  build: { outDir: mode === 'on' ? 'dist-on' : 'dist-off', reportCompressedSize: false },
});
if (times) fs.appendFileSync(times, JSON.stringify({ loadMs, hookMs }) + '\\n');
`;
}

async function buildTime(app, key, log) {
  const command = (name, args) => ({ name, cmd: node, args: [path.join(app, 'build.mjs'), ...args], cwd: app, env: env() });
  const times = path.join(app, 'plugin-times.jsonl');
  const on = command('on', ['on', key.private, times]);
  const off = command('off', ['off']);
  log(`building the generated app once each way (Vite ${viteVersion}) and checking the signed output`);
  await runCommand(on);
  await runCommand(off);
  const emitted = fs.readdirSync(path.join(app, 'dist-off'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).length;
  if (emitted < 2000) throw new Error(`the app emits ${emitted} files, not the 2,000 the benchmark is about`);
  await runCommand({ cmd: node, args: [cliBin, 'verify-dir', path.join(app, 'dist-on'), '--key', key.public], env: env() });

  log(`${BUILD_RUNS} rounds of vite build with and without the plugin, interleaved`);
  fs.rmSync(times, { force: true });
  const m = await compareCommands([off, on], { runs: BUILD_RUNS, warmups: 1 });
  // The timed rounds' plugin times (the warm-up's first line dropped).
  const own = fs
    .readFileSync(times, 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => JSON.parse(line));
  const loadMs = median(own.map((t) => t.loadMs));
  const hookMs = median(own.map((t) => t.hookMs));
  return {
    check: check({
      id: 'vite-build-overhead',
      what: `\`vite build\` (Vite ${viteVersion}) of an app emitting ${emitted} files: wall time with @signet/vite-plugin ÷ without`,
      target: '≤ 1.05×',
      comparator: '<=',
      limit: 1.05,
      value: m.on.medianMs / m.off.medianMs,
      unit: '×',
      detail: {
        text: `${seconds(m.on.medianMs)} vs ${seconds(m.off.medianMs)} (median of ${BUILD_RUNS}); the plugin's own time: ${Math.round(loadMs)} ms to import, ${Math.round(hookMs)} ms in its hooks (${(((loadMs + hookMs) / m.off.medianMs) * 100).toFixed(1)}% of the build)`,
        medianMs: m.on.medianMs,
        referenceMedianMs: m.off.medianMs,
        wallMs: m.on.wallMs,
        referenceWallMs: m.off.wallMs,
        emittedFiles: emitted,
        pluginImportMs: own.map((t) => Math.round(t.loadMs * 10) / 10),
        pluginHookMs: own.map((t) => Math.round(t.hookMs * 10) / 10),
      },
    }),
  };
}

async function verifyTime(dir, out, key, log) {
  const verifyDir = (folder) => ({
    name: 'verify-dir',
    cmd: node,
    args: [cliBin, 'verify-dir', folder, '--key', key.public],
    cwd: folder,
    env: env(),
  });
  const sha256sum = (folder) => ({ name: 'sha256sum', cmd: 'sha256sum', args: ['-c', '--quiet', SHA256SUMS], cwd: folder });

  // Both must really check: pass on the output, fail on one changed byte.
  const tampered = path.join(dir, 'tampered');
  fs.cpSync(out, tampered, { recursive: true });
  const victim = fs.readFileSync(path.join(out, SHA256SUMS), 'utf8').split('\n')[0].slice(66);
  const bytes = fs.readFileSync(path.join(tampered, victim));
  bytes[0] ^= 1;
  fs.writeFileSync(path.join(tampered, victim), bytes);
  for (const command of [verifyDir(out), sha256sum(out)]) await runCommand(command);
  for (const command of [verifyDir(tampered), sha256sum(tampered)]) {
    if (
      await runCommand(command).then(
        () => true,
        () => false,
      )
    )
      throw new Error(`${command.name} passed a changed file: the benchmark would measure nothing`);
  }
  fs.rmSync(tampered, { recursive: true, force: true });
  if (!fs.existsSync(path.join(out, MANIFEST))) throw new Error('the signed output has no manifest');

  log(`${VERIFY_RUNS} rounds of signet verify-dir and sha256sum -c over the signed output, interleaved`);
  const m = await compareCommands(
    [
      sha256sum(out),
      verifyDir(out),
      { name: 'node', cmd: node, args: ['-e', '0'] },
      { name: 'version', cmd: node, args: [cliBin, '--version'] },
    ],
    { runs: VERIFY_RUNS, warmups: 2 },
  );
  const ms = (name) => `${Math.round(m[name].medianMs)} ms`;
  return {
    context: `\`node -e 0\` ${ms('node')}, \`signet --version\` ${ms('version')} (medians)`,
    nodeMs: Math.round(m.node.medianMs),
    versionMs: Math.round(m.version.medianMs),
    check: check({
      id: 'verify-dir-time',
      what: '`signet verify-dir` of that output, whole process ÷ `sha256sum -c` of its SHA256SUMS',
      target: '≤ 1.00×',
      comparator: '<=',
      limit: 1,
      value: m['verify-dir'].medianMs / m.sha256sum.medianMs,
      unit: '×',
      detail: {
        text: `${ms('verify-dir')} vs ${ms('sha256sum')} (median of ${VERIFY_RUNS}); \`node -e 0\`: ${ms('node')}, \`signet --version\`: ${ms('version')}`,
        medianMs: m['verify-dir'].medianMs,
        referenceMedianMs: m.sha256sum.medianMs,
        wallMs: m['verify-dir'].wallMs,
        referenceWallMs: m.sha256sum.wallMs,
        emptyNodeMedianMs: m.node.medianMs,
        cliVersionMedianMs: m.version.medianMs,
      },
    }),
  };
}

/** In-process timings that explain the verify-dir figure (see the notes). */
async function verifyProfile(out, key, log) {
  log('profiling verifyDirectory in process');
  const names = fs
    .readFileSync(path.join(out, SHA256SUMS), 'utf8')
    .trim()
    .split('\n')
    .map((line) => line.slice(66));
  const policy = { keys: [{ publicKey: fs.readFileSync(key.public, 'utf8') }] };
  const hash = (bytes) => crypto.createHash('sha256').update(bytes).digest('hex');
  const cases = {
    verifyDirectory: async () => {
      // A folder that does not match throws.
      await core.verifyDirectory(out, policy);
    },
    // The files alone, read as sha256sum reads them: open, stat, read, close, then sha256.
    files: async () => {
      for (const name of names) hash(fs.readFileSync(path.join(out, name)));
    },
  };
  const samples = Object.fromEntries(Object.keys(cases).map((name) => [name, []]));
  for (let round = 0; round <= PROFILE_RUNS; round++) {
    for (const [name, fn] of Object.entries(cases)) {
      const start = performance.now();
      await fn();
      // The first round warms up (JIT, page cache) and is not kept.
      if (round > 0) samples[name].push(performance.now() - start);
    }
  }
  return Object.fromEntries(Object.entries(samples).map(([name, ms]) => [name, Math.round(median(ms))]));
}

function seconds(ms) {
  return `${(ms / 1000).toFixed(2)} s`;
}
