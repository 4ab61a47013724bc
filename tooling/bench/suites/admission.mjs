// Suite "admission": the admission webhook under production load, as its Deployment runs it
// (`signet-admission --verify-timeout 10s`, the API server calling with ?timeout=15s), against
// Debian's docker-registry on 127.0.0.1.
//   1. 10,000 AdmissionReviews at 50 concurrent, with the cache of verified digests on (60 s)
//      and off (0): errors, p50/p99 latency, and the webhook process's peak RSS after 2,000 and
//      after 10,000 reviews (flat: the cache is bounded), under the Deployment's memory limit.
//   2. A registry that hangs (accepts, never answers): its reviews are denied, with the reason,
//      before the API server's timeoutSeconds, while the webhook goes on answering the other
//      reviews (their latency during the hang against just before it).

import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import { check, scratchDir } from '../lib/harness.mjs';

const require = createRequire(import.meta.url);
const core = require('@signet/core');
const oci = require('@signet/oci');
const registries = require('@signet/emulators/oci-registry');
const webhookBin = path.join(path.dirname(require.resolve('@signet/admission/package.json')), 'bin', 'signet-admission.js');

const REVIEWS = 10_000;
const CHECKPOINT = 2_000;
const CONCURRENCY = 50;
/** Images every Pod of the load names one of, by tag: a cluster's deployments, over and over. */
const HOT_IMAGES = 100;
/** One review in this many also brings a reference never seen before (a new tag): the cache keeps filling. */
const TAIL_EVERY = 4;
/** The webhook configurations' timeoutSeconds (deploy/webhooks.yaml) and the Deployment's --verify-timeout. */
const API_TIMEOUT_S = 15;
const VERIFY_TIMEOUT = '10s';
/** deploy/deployment.yaml's memory limit. */
const MEMORY_LIMIT_MIB = 256;
const HUNG_REVIEWS = 20;
const BASELINE_MS = 5_000;
const SERVICE = 'signet-admission.signet-system.svc';

export default {
  title: 'the admission webhook under load',
  description:
    'The webhook as deployed (a process, HTTPS, `--verify-timeout 10s`) answering 10,000 AdmissionReviews at 50 concurrent for images on a local docker-registry, with its cache of verified digests on and off; and a registry that hangs.',

  async run({ log }) {
    const dir = scratchDir('admission');
    const registry = await registries.startDockerRegistry();
    const silent = await startSilentRegistry();
    try {
      const images = await pushImages(dir, registry, log);
      const tls = certificate(dir);
      const { publicKey } = images;
      fs.writeFileSync(path.join(dir, 'release.pub'), core.publicKeyPem(publicKey));
      // One rule covers both registries (127.0.0.1 on any port): the hung one's image is judged, not refused unmatched.
      fs.writeFileSync(
        path.join(dir, 'policy.yaml'),
        "version: 1\nkeys:\n  release: { publicKey: release.pub }\nrules:\n  - { kind: image, match: '127.0.0.1:*/bench/**', signers: [release] }\n",
      );

      const runs = {};
      for (const [mode, cacheTtl] of [
        ['on', '60s'],
        ['off', '0'],
      ]) {
        const webhook = await startWebhook(dir, cacheTtl);
        try {
          const load = loadGenerator(webhook.port, tls.cert, images);
          log(`cache ${mode}: ${REVIEWS} reviews at ${CONCURRENCY} concurrent`);
          const requestsBefore = registryRequests(registry);
          const first = await load.run({ count: CHECKPOINT, concurrency: CONCURRENCY });
          const rssAt2k = webhook.memory();
          const rest = await load.run({ count: REVIEWS - CHECKPOINT, concurrency: CONCURRENCY });
          const rssAt10k = webhook.memory();
          const requests = registryRequests(registry) - requestsBefore;
          const latencies = [...first.latencies, ...rest.latencies];
          const errors = first.errors + rest.errors;
          const seconds = (first.ms + rest.ms) / 1000;
          runs[mode] = {
            errors,
            examples: [...first.examples, ...rest.examples].slice(0, 3),
            p50: percentile(latencies, 50),
            p99: percentile(latencies, 99),
            max: Math.max(...latencies),
            perSecond: Math.round(REVIEWS / seconds),
            rssAt2k,
            rssAt10k,
            requestsPerReview: requests / REVIEWS,
            logged: webhook.lines(),
          };
          log(
            `cache ${mode}: ${errors} errors, p50 ${runs[mode].p50.toFixed(1)} ms, p99 ${runs[mode].p99.toFixed(1)} ms, ${runs[mode].perSecond}/s, ` +
              `${runs[mode].requestsPerReview.toFixed(2)} registry requests a review; ` +
              `peak RSS ${mib(rssAt2k.peakKiB)} MiB after ${CHECKPOINT}, ${mib(rssAt10k.peakKiB)} MiB after ${REVIEWS}`,
          );
          if (mode === 'on') runs.hang = await hang(load, silent, log);
        } finally {
          await webhook.stop();
        }
      }
      return { checks: checks(runs), notes: notes(runs, registry) };
    } finally {
      await silent.stop();
      await registry.stop();
    }
  },
};

/**
 * HOT_IMAGES signed images (bench/hot:kN, N < HOT_IMAGES) and one more signed image under many
 * tags (bench/tail:tN): one image pushed with skopeo, the others its manifest with an annotation
 * of their own (so each is a digest of its own) PUT by tag, as a registry client pushes a manifest.
 */
async function pushImages(dir, registry, log) {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const signer = new core.LocalSigner('release', privateKey);
  const client = new oci.RegistryClient();
  const base = await registries.buildTestImage(path.join(dir, 'base'));
  await registries.pushImage(base, registry, 'bench/hot', 'base');
  await registries.pushImage(base, registry, 'bench/tail', 'base');
  const manifest = JSON.parse(fs.readFileSync(path.join(base.layoutDir, 'blobs', ...base.digest.split(':')), 'utf8'));
  const put = async (repository, tag, bytes) => {
    const response = await fetch(`${registry.url}/v2/${repository}/manifests/${tag}`, {
      method: 'PUT',
      headers: { 'content-type': base.mediaType },
      body: bytes,
    });
    await response.arrayBuffer();
    if (response.status !== 201) throw new Error(`PUT ${repository}:${tag} answered ${response.status}`);
  };
  const variant = (name) => Buffer.from(JSON.stringify({ ...manifest, annotations: { 'dev.signet.bench': name } }));
  const digestOf = (bytes) => `sha256:${crypto.createHash('sha256').update(bytes).digest('hex')}`;

  const hot = [];
  for (let i = 0; i < HOT_IMAGES; i++) {
    const bytes = variant(`hot ${i}`);
    await put('bench/hot', `k${i}`, bytes);
    await oci.signImage(`${registry.host}/bench/hot@${digestOf(bytes)}`, signer, { client });
    hot.push({ ref: `${registry.host}/bench/hot:k${i}`, digest: digestOf(bytes) });
  }
  const tail = variant('tail');
  // The load goes on during the hang (the cache-on webhook): tags for those reviews too.
  const tags = Math.ceil(REVIEWS / TAIL_EVERY) + 1_000;
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < tags) await put('bench/tail', `t${next++}`, tail);
    }),
  );
  await oci.signImage(`${registry.host}/bench/tail@${digestOf(tail)}`, signer, { client });
  log(`${HOT_IMAGES + 1} signed images on ${registry.host}, the last under ${tags} tags`);
  return { hot, tail: { name: `${registry.host}/bench/tail`, digest: digestOf(tail) }, publicKey };
}

/** The webhook as its Deployment runs it: a process, HTTPS, --verify-timeout 10s, the cache TTL given. */
async function startWebhook(dir, cacheTtl) {
  const child = spawn(
    process.execPath,
    [
      webhookBin,
      '--policy',
      path.join(dir, 'policy.yaml'),
      '--tls-cert',
      path.join(dir, 'tls.crt'),
      '--tls-key',
      path.join(dir, 'tls.key'),
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--verify-timeout',
      VERIFY_TIMEOUT,
      '--cache-ttl',
      cacheTtl,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH, HOME: process.env.HOME, SIGNET_OFFLINE: '1' } },
  );
  let buffered = '';
  let lines = 0;
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const port = await new Promise((resolve, reject) => {
    // The webhook writes one JSON line per review: read them all as they come (a full pipe would stall it).
    child.stdout.on('data', (chunk) => {
      buffered += chunk;
      const parts = buffered.split('\n');
      buffered = parts.pop();
      for (const line of parts) {
        lines++;
        if (line.includes('"listening"')) resolve(JSON.parse(line).port);
      }
    });
    child.once('exit', (status) => reject(new Error(`the webhook exited ${status} before listening: ${stderr}`)));
  });
  return {
    port,
    lines: () => lines,
    memory: () => memoryKiB(child.pid),
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

function memoryKiB(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? Number.NaN);
  return { peakKiB: field('VmHWM'), rssKiB: field('VmRSS') };
}

/**
 * Sends reviews as the API server does: HTTPS to the Service's name, keep-alive, /mutate with
 * ?timeout=15s. Review i is a Pod running bench/hot:k(i mod HOT_IMAGES) and, one review in
 * TAIL_EVERY, a second container with a tag never seen before; an answer counts only when it
 * admits the Pod and pins every container to its digest.
 */
function loadGenerator(port, ca, images) {
  const agent = new https.Agent({ keepAlive: true, maxSockets: CONCURRENCY + HUNG_REVIEWS, ca });
  let sent = 0;
  const podReview = (uid, containers) =>
    JSON.stringify({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: {
        uid,
        kind: { group: '', version: 'v1', kind: 'Pod' },
        resource: { group: '', version: 'v1', resource: 'pods' },
        operation: 'CREATE',
        namespace: 'shop',
        object: { apiVersion: 'v1', kind: 'Pod', metadata: { generateName: 'shop-' }, spec: { containers } },
      },
    });
  const one = async () => {
    const i = sent++;
    const hot = images.hot[i % images.hot.length];
    const containers = [{ name: 'app', image: hot.ref, digest: hot.digest }];
    if (i % TAIL_EVERY === 0) containers.push({ name: 'new', image: `${images.tail.name}:t${i / TAIL_EVERY}`, digest: images.tail.digest });
    const uid = `review-${i}`;
    const expected = containers.map(({ image, digest }, n) => ({
      op: 'replace',
      path: `/spec/containers/${n}/image`,
      value: `${image}@${digest}`,
    }));
    const started = performance.now();
    try {
      const { status, body } = await post(
        port,
        agent,
        `/mutate?timeout=${API_TIMEOUT_S}s`,
        podReview(
          uid,
          containers.map(({ name, image }) => ({ name, image })),
        ),
      );
      const ms = performance.now() - started;
      const response = JSON.parse(body).response;
      const patch = response?.patch ? JSON.parse(Buffer.from(response.patch, 'base64').toString('utf8')) : undefined;
      const ok = status === 200 && response?.uid === uid && response.allowed === true && JSON.stringify(patch) === JSON.stringify(expected);
      return { ms, error: ok ? undefined : `${status} ${JSON.stringify(response?.status ?? response ?? body).slice(0, 300)}` };
    } catch (error) {
      return { ms: performance.now() - started, error: error.message };
    }
  };
  return {
    port,
    agent,
    podReview,
    /** `count` reviews, `concurrency` at a time (or until `until()` is true); their latencies and errors. */
    async run({ count = Number.POSITIVE_INFINITY, concurrency, until = () => false }) {
      const latencies = [];
      const examples = [];
      let errors = 0;
      let started = 0;
      const begin = performance.now();
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (started < count && !until()) {
            started++;
            const { ms, error } = await one();
            latencies.push(ms);
            if (error) {
              errors++;
              if (examples.length < 3) examples.push(error);
            }
          }
        }),
      );
      return { latencies, errors, examples, ms: performance.now() - begin };
    },
  };
}

/**
 * HUNG_REVIEWS reviews of an image on a registry that accepts connections and never answers,
 * sent at once, while the other reviews go on at the rest of the concurrency; before it, the
 * same load alone for BASELINE_MS, for comparison.
 */
async function hang(load, silent, log) {
  const concurrency = CONCURRENCY - HUNG_REVIEWS;
  const baseline = await load.run({ concurrency, until: timer(BASELINE_MS) });
  const image = `${silent.host}/bench/hung:v1`;
  const requestsBefore = silent.requests();
  let answered = 0;
  const hungStarted = performance.now();
  const hung = Array.from({ length: HUNG_REVIEWS }, async (_, i) => {
    const uid = `hung-${i}`;
    const { status, body } = await post(
      load.port,
      load.agent,
      `/mutate?timeout=${API_TIMEOUT_S}s`,
      load.podReview(uid, [{ name: 'app', image }]),
    ).finally(() => answered++);
    return { ms: performance.now() - hungStarted, status, response: JSON.parse(body).response };
  });
  const during = await load.run({ concurrency, until: () => answered === HUNG_REVIEWS });
  const denials = await Promise.all(hung);
  const requestsAtAnswer = silent.requests();
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const waitingAfter1s = silent.waiting();
  await new Promise((resolve) => setTimeout(resolve, 4_000));
  const result = {
    baseline: {
      count: baseline.latencies.length,
      errors: baseline.errors,
      p50: percentile(baseline.latencies, 50),
      p99: percentile(baseline.latencies, 99),
    },
    during: {
      count: during.latencies.length,
      errors: during.errors,
      examples: during.examples,
      p50: percentile(during.latencies, 50),
      p99: percentile(during.latencies, 99),
    },
    denials: denials.map(({ ms, status, response }) => ({ ms, status, allowed: response?.allowed, message: response?.status?.message })),
    slowestDenialMs: Math.max(...denials.map(({ ms }) => ms)),
    requests: requestsAtAnswer - requestsBefore,
    waitingAfter1s,
    requestsAfter: silent.requests() - requestsAtAnswer,
  };
  log(
    `hang: ${HUNG_REVIEWS} reviews of ${image} denied within ${(result.slowestDenialMs / 1000).toFixed(2)} s; meanwhile ${result.during.count} other reviews, ` +
      `p99 ${result.during.p99.toFixed(1)} ms (${result.baseline.p99.toFixed(1)} ms just before); requests to the hung registry: ${result.requests} until the denials, ` +
      `${result.waitingAfter1s} still open 1 s after them, ${result.requestsAfter} sent in the 5 s after them`,
  );
  return result;
}

function checks(runs) {
  const { on, off, hang: h } = runs;
  const timedOut = h.denials.filter(
    (d) => d.status === 200 && d.allowed === false && /timed out/.test(d.message ?? '') && d.ms < API_TIMEOUT_S * 1000,
  ).length;
  return [
    ...['on', 'off'].map((mode) =>
      check({
        id: `errors-cache-${mode}`,
        what: `${REVIEWS} AdmissionReviews at ${CONCURRENCY} concurrent, cache ${mode}: reviews not answered 200 with the Pod admitted and every image pinned`,
        target: '0',
        comparator: '<=',
        limit: 0,
        value: runs[mode].errors,
        unit: 'errors',
        detail: {
          text: `p50 ${round(runs[mode].p50)} ms, p99 ${round(runs[mode].p99)} ms, max ${round(runs[mode].max)} ms; ${runs[mode].perSecond} reviews/s`,
          p50Ms: round(runs[mode].p50),
          p99Ms: round(runs[mode].p99),
          maxMs: round(runs[mode].max),
          perSecond: runs[mode].perSecond,
          examples: runs[mode].examples,
          logLines: runs[mode].logged,
        },
      }),
    ),
    check({
      id: 'registry-requests-cache-on-vs-off',
      what: 'registry requests per review, cache on ÷ cache off',
      target: '≤ 0.50×',
      comparator: '<=',
      limit: 0.5,
      value: on.requestsPerReview / off.requestsPerReview,
      unit: '×',
      detail: {
        text: `${on.requestsPerReview.toFixed(2)} vs ${off.requestsPerReview.toFixed(2)}; p50 ${round(on.p50)} vs ${round(off.p50)} ms, p99 ${round(on.p99)} vs ${round(off.p99)} ms`,
      },
    }),
    ...['on', 'off'].map((mode) =>
      check({
        id: `memory-flat-cache-${mode}`,
        what: `the webhook's peak RSS after ${REVIEWS} reviews ÷ after ${CHECKPOINT}, cache ${mode}`,
        target: '≤ 1.10×',
        comparator: '<=',
        limit: 1.1,
        value: runs[mode].rssAt10k.peakKiB / runs[mode].rssAt2k.peakKiB,
        unit: '×',
        detail: {
          text: `${mib(runs[mode].rssAt10k.peakKiB)} MiB vs ${mib(runs[mode].rssAt2k.peakKiB)} MiB (RSS now ${mib(runs[mode].rssAt10k.rssKiB)} MiB)`,
          at2k: runs[mode].rssAt2k,
          at10k: runs[mode].rssAt10k,
        },
      }),
    ),
    check({
      id: 'memory-limit',
      what: "the webhook's peak RSS over both runs, against the Deployment's memory limit",
      target: `< ${MEMORY_LIMIT_MIB} MiB`,
      comparator: '<',
      limit: MEMORY_LIMIT_MIB,
      value: Math.max(on.rssAt10k.peakKiB, off.rssAt10k.peakKiB) / 1024,
      unit: 'MiB',
      detail: { text: `cache on ${mib(on.rssAt10k.peakKiB)} MiB, off ${mib(off.rssAt10k.peakKiB)} MiB` },
    }),
    check({
      id: 'hung-registry-denied',
      what: `reviews of an image on a registry that never answers, denied as timed out before the API server's timeoutSeconds (${API_TIMEOUT_S} s)`,
      target: `${HUNG_REVIEWS} of ${HUNG_REVIEWS}`,
      comparator: '>=',
      limit: HUNG_REVIEWS,
      value: timedOut,
      unit: `of ${HUNG_REVIEWS}`,
      detail: {
        text: `the slowest after ${(h.slowestDenialMs / 1000).toFixed(2)} s: "${h.denials[0]?.message}"`,
        denials: h.denials.map((d) => ({ ...d, ms: round(d.ms) })),
      },
    }),
    check({
      id: 'hung-registry-others-answered',
      what: 'meanwhile, the other reviews: errors',
      target: '0',
      comparator: '<=',
      limit: 0,
      value: h.during.errors,
      unit: 'errors',
      detail: { text: `${h.during.count} answered during the hang`, examples: h.during.examples },
    }),
    check({
      id: 'hung-registry-others-p99',
      what: 'meanwhile, the other reviews: p99 latency during the hang ÷ just before it',
      target: '≤ 1.50×',
      comparator: '<=',
      limit: 1.5,
      value: h.during.p99 / h.baseline.p99,
      unit: '×',
      detail: {
        text: `${round(h.during.p99)} ms vs ${round(h.baseline.p99)} ms (p50 ${round(h.during.p50)} vs ${round(h.baseline.p50)} ms; ${h.during.count} vs ${h.baseline.count} reviews)`,
        during: h.during,
        baseline: h.baseline,
      },
    }),
    check({
      id: 'hung-registry-abandoned',
      what: 'requests to the hung registry still open 1 s after the denials, plus requests sent to it in the 5 s after them',
      target: '0',
      comparator: '<=',
      limit: 0,
      value: h.waitingAfter1s + h.requestsAfter,
      unit: 'requests',
      detail: {
        text: `${h.requests} sent until the denials; ${h.waitingAfter1s} still open 1 s after, ${h.requestsAfter} sent after`,
      },
    }),
  ];
}

function notes(runs, registry) {
  return [
    `Registry: Debian's docker-registry ${registryVersion()} on 127.0.0.1 (${registry.host} in this run), filesystem store in the OS temporary directory, no auth. One small image built as an OCI layout and pushed with skopeo; ${HOT_IMAGES} more images are its manifest with an annotation of their own (bench/hot:k0…k${HOT_IMAGES - 1}, each its own digest), and one more (bench/tail) is tagged t0, t1, … thousands of times, all PUT by tag; each digest signed once by @signet/oci's signImage with one ECDSA P-256 key (a cosign v3 bundle referrer in the sha256-<hex> index).`,
    `Webhook: \`node apps/admission/bin/signet-admission.js\` (dist/), one process, as the Deployment runs it: a policy with one \`kind: image\` rule trusting that key for \`127.0.0.1:*/bench/**\`, an openssl P-256 serving certificate for ${SERVICE}, \`--verify-timeout ${VERIFY_TIMEOUT}\`, and \`--cache-ttl 60s\` (on) or \`--cache-ttl 0\` (off), a fresh process for each. Its log (one JSON line per review) is read as it comes.`,
    `Load: this process, as the API server calls a webhook: HTTPS to ${SERVICE} (the certificate checked against its caBundle), keep-alive connections, POST /mutate?timeout=${API_TIMEOUT_S}s; ${CONCURRENCY} reviews in flight at all times until ${REVIEWS} are answered. Review i is a Pod CREATE running bench/hot:k(i mod ${HOT_IMAGES}) (a cluster's deployments and their replicas: tags seen before, and ${CONCURRENCY} different ones in flight at any time) and, in one review of ${TAIL_EVERY}, a second container bench/tail:t(i/${TAIL_EVERY}), a tag never seen before (${REVIEWS / TAIL_EVERY} of them, so the cache of verified digests, keyed by rule, reference and digest, keeps filling past its bound of 1,000 entries). An answer counts only when it is a 200 whose AdmissionReview admits the Pod (same uid) with exactly the JSON Patch pinning every container to its digest; anything else (a denial, a 5xx, a reset connection) is an error. Latency: from sending the request to the end of the answer, every review, nearest-rank percentiles. Registry requests: the lines of docker-registry's access log during the ${REVIEWS} reviews, per review. Memory: the webhook's VmHWM (peak RSS) and VmRSS from /proc after the first ${CHECKPOINT} reviews and after all ${REVIEWS}. Cache on ${runs.on.perSecond} reviews/s, off ${runs.off.perSecond} reviews/s: 2 cores shared by the registry, the webhook, the load and whatever else the machine runs (see the load average).`,
    `Hang: after the cache-on run, in the same webhook process: a TCP server on 127.0.0.1 that accepts connections, reads requests and never answers stands for a registry that hangs. First, for ${BASELINE_MS / 1000} s, ${CONCURRENCY - HUNG_REVIEWS} reviews in flight as above (the baseline); then ${HUNG_REVIEWS} reviews of a Pod naming \`<hung registry>/bench/hung:v1\` are sent at once, and the same ${CONCURRENCY - HUNG_REVIEWS}-in-flight load goes on until the last of them is answered. Each must be a 200 denying the Pod with a reason saying it timed out, sent before ${API_TIMEOUT_S} s (the webhook configurations' timeoutSeconds, after which the API server gives up with "context deadline exceeded" and failurePolicy decides). The other reviews' p99 during the hang is compared with the baseline's. Then the hung registry counts the requests still open on it 1 s after the last denial, and those it receives in the 5 s after it: work nobody waits for any more.`,
  ];
}

/**
 * A registry that hangs: it accepts connections, reads requests and never answers. Counts the
 * requests, and the connections with a request on them still open (Node's fetch may keep an idle
 * one a few seconds after an abort: that is no request).
 */
async function startSilentRegistry() {
  const sockets = new Set();
  const waiting = new Set();
  let requests = 0;
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('data', (chunk) => {
      requests += chunk.toString('latin1').match(/^(GET|HEAD|POST|PUT|PATCH|DELETE) /gm)?.length ?? 0;
      waiting.add(socket);
    });
    socket.on('close', () => {
      sockets.delete(socket);
      waiting.delete(socket);
    });
    socket.on('error', () => {});
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    host: `127.0.0.1:${server.address().port}`,
    requests: () => requests,
    waiting: () => waiting.size,
    stop: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

function post(port, agent, urlPath, body) {
  return new Promise((resolve, reject) => {
    const request = https.request(
      {
        host: '127.0.0.1',
        port,
        path: urlPath,
        method: 'POST',
        agent,
        servername: SERVICE,
        headers: { 'content-type': 'application/json' },
      },
      (response) => {
        const chunks = [];
        response.on('data', (chunk) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

function timer(ms) {
  const end = performance.now() + ms;
  return () => performance.now() >= end;
}

/** Nearest-rank percentile. */
function percentile(values, p) {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function certificate(dir) {
  const key = path.join(dir, 'tls.key');
  const cert = path.join(dir, 'tls.crt');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      `/CN=${SERVICE}`,
      '-addext',
      `subjectAltName=DNS:${SERVICE}`,
    ],
    { stdio: 'ignore' },
  );
  return { key: fs.readFileSync(key), cert: fs.readFileSync(cert) };
}

/** Requests docker-registry has answered so far: the lines of its access log. */
function registryRequests(registry) {
  return registry.log().match(/"(GET|HEAD|POST|PUT|PATCH|DELETE) \/v2\//g)?.length ?? 0;
}

function registryVersion() {
  try {
    return execFileSync('dpkg-query', ['-W', 'docker-registry'], { encoding: 'utf8' }).trim().split('\t')[1];
  } catch {
    return '(version unknown)';
  }
}

function mib(kib) {
  return (kib / 1024).toFixed(1);
}

function round(value) {
  return Math.round(value * 10) / 10;
}
