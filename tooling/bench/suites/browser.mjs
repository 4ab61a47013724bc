// Suite "browser": what verifying in the browser costs.
//   1. the size of @signet/verify-browser's key path, bundled and minified by esbuild, gzipped
//      (the keyless part, loaded only for a certificate, left out as the import() leaves it out);
//   2. a warm page load, in Debian's Chromium, of a Vite app that imports 200 lazy chunks, with
//      the service worker checking every response and without it, the same build, interleaved;
//   3. verifying a manifest of 2,000 files in Chromium (key import, bundle, signature, manifest).

import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import zlib from 'node:zlib';
import { check, median, scratchDir } from '../lib/harness.mjs';

const require = createRequire(import.meta.url);
const core = require('@signet/core');
const verifyBrowserEntry = require.resolve('@signet/verify-browser');
const viteEntry = createRequire(require.resolve('@signet/vite-plugin/package.json')).resolve('vite');
const pluginEntry = require.resolve('@signet/vite-plugin');
const { chromium } = require('playwright-core');
const { build: esbuild } = require('esbuild');

const CHUNKS = 200;
const LOAD_ROUNDS = 41;
const VERIFY_RUNS = 31;
const SUBJECTS = 2000;
const KEY_PATH_BUDGET = 15 * 1024;
const CHROMIUM = ['/usr/bin/chromium', '/usr/lib/chromium/chromium'].find((file) => fs.existsSync(file));

export default {
  title: 'verifying in the browser',
  description:
    'The size of the browser verifier, what its service worker adds to a warm page load of an app with 200 lazy chunks in Chromium, and how long Chromium takes to verify a manifest of 2,000 files.',

  async run({ log }) {
    if (!CHROMIUM) throw new Error('Chromium is not installed (apt-get install chromium): the browser suite measures in it');
    const dir = scratchDir('browser');
    const size = await keyPathSize(log);
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
    try {
      const load = await warmLoad(dir, browser, log);
      const verify = await verifyInChromium(browser, log);
      return {
        checks: [size.check, load.check, verify.check],
        notes: [
          `Size: \`esbuild\` bundles @signet/verify-browser's entry (dist/index.js) for the browser (\`bundle, minify, format: 'esm', platform: 'browser'\`), with its \`import('./keyless.js')\` left external, as the key path never loads it; the output is gzipped (level 9). For context, the keyless part bundled on its own (with @freedomofpress/sigstore-browser) is ${kib(size.keylessGzip)} gzipped, and the service worker the plugins emit for keys ${kib(size.workerGzip)}.`,
          `Warm load: a Vite app generated in the OS temporary directory, whose one page imports ${CHUNKS} modules with \`import()\` (each its own chunk, 20 to 59 rows of data) and marks the time when all have run; built once with @signet/vite-plugin and \`browser: {}\` (an ECDSA P-256 key), so both sides load the same files with the same integrity metadata. Two Node servers on 127.0.0.1 serve that one folder (\`cache-control: max-age=3600\` for the assets, \`no-cache\` for pages and the worker): one as built, one answering 404 for /signet-sw.js, so that no worker is installed. In one Chromium (headless, Debian's), each side has its own browser context: a first visit (the worker installed and in control), two warm-ups, then ${LOAD_ROUNDS} rounds, each reloading both pages once, order alternating; the figure is the median of the time from navigation start to the mark the page sets when every chunk has run (\`performance.now()\`), with the fastest of each side beside it: on a machine other work keeps busy, the worker's thread competes for the same cores, and single loads vary by a factor of several. The worker hashes every response it answers (SHA-256 of the body) before the page gets it; it keeps the bodies it verified in memory while it runs (by path and digest, up to 32 MiB, never a page), so a warm reload is answered from those at once, without fetching and hashing again. The same load with a worker that has just started pays one hash per chunk.`,
          `Verification: a manifest of ${SUBJECTS} files signed by @signet/core (ECDSA P-256), verified in a page on 127.0.0.1 by @signet/verify-browser bundled by esbuild: \`verifyManifest(bundleJson, { keys: [{ jwk }] })\`, timed in the page with performance.now(), ${VERIFY_RUNS} runs after 5 warm-ups, median; for context, @signet/core's verifyManifestBundle of the same bundle in Node: ${verify.nodeMs} ms (median).`,
        ],
      };
    } finally {
      await browser.close();
    }
  },
};

function kib(bytes) {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

async function gzipSize(text) {
  return zlib.gzipSync(text, { level: 9 }).length;
}

async function keyPathSize(log) {
  log('bundling the key path with esbuild');
  const external = {
    name: 'keyless-external',
    setup: (b) => b.onResolve({ filter: /\/keyless\.js$/ }, (args) => ({ path: args.path, external: true })),
  };
  const keys = await esbuild({
    entryPoints: [verifyBrowserEntry],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    write: false,
    plugins: [external],
  });
  const keyless = await esbuild({
    entryPoints: [path.join(path.dirname(verifyBrowserEntry), 'keyless.js')],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    write: false,
  });
  const keysText = keys.outputFiles[0].text;
  if (!keysText.includes('./keyless.js')) throw new Error('the key path bundle does not leave the keyless part to import()');
  const gzip = await gzipSize(keysText);
  const worker = fs.readFileSync(path.join(path.dirname(verifyBrowserEntry), 'signet-sw.keys.js'), 'utf8');
  return {
    keylessGzip: await gzipSize(keyless.outputFiles[0].text),
    workerGzip: await gzipSize(worker),
    check: check({
      id: 'key-path-size',
      what: '@signet/verify-browser key path, esbuild minified, gzipped',
      target: '≤ 15 KB',
      comparator: '<=',
      limit: KEY_PATH_BUDGET,
      value: gzip,
      unit: 'bytes',
      detail: { text: `${kib(gzip)} gzipped (${kib(keysText.length)} minified)`, minifiedBytes: keysText.length },
    }),
  };
}

function generateApp(app) {
  const chunks = path.join(app, 'src', 'chunks');
  fs.mkdirSync(chunks, { recursive: true });
  fs.writeFileSync(
    path.join(app, 'index.html'),
    '<!doctype html>\n<html lang="en">\n<head><meta charset="utf-8"><title>200 chunks</title></head>\n<body><ul id="list"></ul><script type="module" src="/src/main.js"></script></body>\n</html>\n',
  );
  fs.writeFileSync(
    path.join(app, 'src', 'main.js'),
    [
      "const chunks = import.meta.glob('./chunks/*.js');",
      'const modules = await Promise.all(Object.values(chunks).map((load) => load()));',
      "document.querySelector('#list').innerHTML = modules.map((m) => m.default('')).join('');",
      'window.loadedAt = performance.now();',
      '',
    ].join('\n'),
  );
  for (let i = 0; i < CHUNKS; i++) {
    const rows = Array.from(
      { length: 20 + (i % 40) },
      (_, j) => `  { id: ${i * 100 + j}, label: 'Item ${i}-${j}', price: ${(i * 31 + j * 7) % 1000} },`,
    );
    fs.writeFileSync(
      path.join(chunks, `chunk-${String(i).padStart(3, '0')}.js`),
      `const rows = [\n${rows.join('\n')}\n];\nexport default function render(filter) {\n  return rows.filter((row) => row.label.includes(filter)).map((row) => '<li>' + row.label + '</li>').join('');\n}\n`,
    );
  }
}

function buildApp(app, key) {
  const script = `const { build } = await import(${JSON.stringify(new URL(`file://${viteEntry}`).href)});
const { signet } = await import(${JSON.stringify(new URL(`file://${pluginEntry}`).href)});
await build({ root: ${JSON.stringify(app)}, configFile: false, logLevel: 'warn', build: { outDir: 'dist', reportCompressedSize: false }, plugins: [signet({ key: ${JSON.stringify(key)}, browser: {} })] });`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      cwd: app,
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('close', (status) => (status === 0 ? resolve() : reject(new Error(`the app's build failed: ${stderr}`))));
  });
}

function serve(root, { worker }) {
  const server = http.createServer((request, response) => {
    let name = decodeURIComponent(new URL(request.url, 'http://x').pathname.slice(1)) || 'index.html';
    if (name.endsWith('/')) name += 'index.html';
    const file = path.join(root, name);
    if ((!worker && name === 'signet-sw.js') || !file.startsWith(root) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      response.writeHead(404).end();
      return;
    }
    const type = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.json': 'application/json', '.txt': 'text/plain' }[
      path.extname(name)
    ];
    const fresh = name.endsWith('.html') || name === 'signet-sw.js';
    response
      .writeHead(200, { 'content-type': type ?? 'application/octet-stream', 'cache-control': fresh ? 'no-cache' : 'max-age=3600' })
      .end(fs.readFileSync(file));
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ server, origin: `http://127.0.0.1:${server.address().port}` })),
  );
}

async function warmLoad(dir, browser, log) {
  const app = path.join(dir, 'app');
  generateApp(app);
  const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  fs.writeFileSync(path.join(dir, 'signing.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
  log(`building a Vite app with ${CHUNKS} lazy chunks, signed for the browser`);
  await buildApp(app, `file:${path.join(dir, 'signing.pem')}`);
  const out = path.join(app, 'dist');
  const chunkFiles = fs.readdirSync(path.join(out, 'assets')).filter((name) => name.endsWith('.js')).length;
  if (chunkFiles < CHUNKS) throw new Error(`the app emits ${chunkFiles} scripts, not ${CHUNKS} lazy chunks`);
  const sides = {};
  for (const [name, worker] of [
    ['with', true],
    ['without', false],
  ]) {
    const { server, origin } = await serve(out, { worker });
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${origin}/`);
    await page.waitForFunction(() => window.loadedAt !== undefined);
    if (worker) {
      await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
    } else if (await page.evaluate(() => navigator.serviceWorker.controller !== null)) {
      throw new Error('the side without the worker has one');
    }
    sides[name] = { server, context, page, samples: [] };
  }
  const once = async (side) => {
    await side.page.reload();
    await side.page.waitForFunction(() => window.loadedAt !== undefined);
    return side.page.evaluate(() => window.loadedAt);
  };
  // The worker must have checked the chunks: its side reports nothing blocked, and it controls the page.
  log(`${LOAD_ROUNDS} rounds of warm reloads with and without the worker, alternating`);
  for (let i = 0; i < 2; i++) for (const side of Object.values(sides)) await once(side);
  for (let round = 0; round < LOAD_ROUNDS; round++) {
    const order = round % 2 === 0 ? ['with', 'without'] : ['without', 'with'];
    for (const name of order) sides[name].samples.push(await once(sides[name]));
  }
  const controlled = await sides.with.page.evaluate(() => navigator.serviceWorker.controller?.scriptURL ?? null);
  const blocked = await sides.with.page.evaluate(() => window.signet?.blocked?.length ?? -1);
  if (!controlled || blocked !== 0)
    throw new Error(`the worker side is not checked by the worker (controller ${controlled}, blocked ${blocked})`);
  for (const side of Object.values(sides)) {
    await side.context.close();
    side.server.close();
  }
  const withMs = median(sides.with.samples);
  const withoutMs = median(sides.without.samples);
  return {
    check: check({
      id: 'warm-load-worker',
      what: `warm page load in Chromium of an app with ${CHUNKS} lazy chunks: with the service worker ÷ without`,
      target: '≤ 1.05×',
      comparator: '<=',
      limit: 1.05,
      value: withMs / withoutMs,
      unit: '×',
      detail: {
        text: `${withMs.toFixed(1)} ms vs ${withoutMs.toFixed(1)} ms to the last chunk run (median of ${LOAD_ROUNDS}); fastest ${Math.min(...sides.with.samples).toFixed(1)} ms vs ${Math.min(...sides.without.samples).toFixed(1)} ms`,
        withMs: sides.with.samples.map((v) => Math.round(v * 10) / 10),
        withoutMs: sides.without.samples.map((v) => Math.round(v * 10) / 10),
      },
    }),
  };
}

async function verifyInChromium(browser, log) {
  log(`signing a manifest of ${SUBJECTS} files and verifying it in Chromium`);
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const signer = new core.LocalSigner('bench', privateKey);
  const files = Array.from({ length: SUBJECTS }, (_, i) => ({
    name: `assets/chunk-${String(i).padStart(4, '0')}-${crypto.randomBytes(4).toString('hex')}.js`,
    data: `export default ${i};`,
  }));
  const signed = await core.signBuild(
    files,
    { bundler: { name: 'bench', version: '1' }, outputDir: 'dist', createdAt: new Date() },
    signer,
  );
  const pem = publicKey.export({ type: 'spki', format: 'pem' });
  const nodeSamples = [];
  for (let i = 0; i < 15; i++) {
    const started = performance.now();
    await core.verifyManifestBundle(core.parseBundle(signed.bundleJson), { keys: [{ publicKey: pem }] });
    nodeSamples.push(performance.now() - started);
  }
  const bundled = await esbuild({
    entryPoints: [verifyBrowserEntry],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    write: false,
  });
  const server = http.createServer((request, response) => {
    if (request.url === '/verify.js') response.writeHead(200, { 'content-type': 'text/javascript' }).end(bundled.outputFiles[0].text);
    else if (request.url === '/manifest.json') response.writeHead(200, { 'content-type': 'application/json' }).end(signed.bundleJson);
    else
      response
        .writeHead(200, { 'content-type': 'text/html' })
        .end('<!doctype html><script type="module">import * as v from "/verify.js"; window.v = v; window.ready = true;</script>');
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`http://127.0.0.1:${server.address().port}/`);
  await page.waitForFunction(() => window.ready === true);
  const samples = await page.evaluate(
    async ({ jwk, runs }) => {
      const text = await (await fetch('/manifest.json')).text();
      const times = [];
      for (let i = 0; i < runs + 5; i++) {
        const started = performance.now();
        const verified = await window.v.verifyManifest(text, { keys: [{ jwk }] });
        const ms = performance.now() - started;
        if (verified.files.size !== 2000) throw new Error(`verified ${verified.files.size} files`);
        if (i >= 5) times.push(ms);
      }
      return times;
    },
    { jwk: publicKey.export({ format: 'jwk' }), runs: VERIFY_RUNS },
  );
  await context.close();
  server.close();
  const ms = median(samples);
  return {
    nodeMs: median(nodeSamples).toFixed(1),
    check: check({
      id: 'verify-2000-chromium',
      what: `verifying a manifest of ${SUBJECTS} files in Chromium (@signet/verify-browser)`,
      target: '≤ 50 ms',
      comparator: '<=',
      limit: 50,
      value: ms,
      unit: 'ms',
      detail: {
        text: `median of ${VERIFY_RUNS}; @signet/core in Node: ${median(nodeSamples).toFixed(1)} ms`,
        samplesMs: samples.map((v) => Math.round(v * 10) / 10),
      },
    }),
  };
}
