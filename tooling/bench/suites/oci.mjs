// Suite "oci": verifying a signed container image on a local registry (Debian's
// docker-registry 2.8 on 127.0.0.1, which has no referrers API: the sha256-<hex> index path).
//   1. @signet/oci's verifyImage() in process vs fetching the same objects with plain HTTP
//      requests (the image manifest, the referrers index, the referrer manifest, the bundle):
//      Signet's overhead over the round trips it cannot avoid.
//   2. The admission webhook answering a Pod of 5 containers (5 images, each signed) over
//      HTTPS, with its digest cache off, vs the same plain fetches for those 5 images, made
//      at once as a plain client would.

import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { check, median, scratchDir } from '../lib/harness.mjs';

const require = createRequire(import.meta.url);
const core = require('@signet/core');
const oci = require('@signet/oci');
const admission = require('@signet/admission');
const registries = require('@signet/emulators/oci-registry');

const ROUNDS = 300;
const WEBHOOK_ROUNDS = 100;
const SERVICE = 'signet-admission.signet-system.svc';

export default {
  title: 'container image verification',
  description:
    '`verifyImage` of a signed image on a local docker-registry, against plain HTTP fetches of the objects it reads; and the admission webhook answering a 5-container Pod.',

  async run({ log }) {
    const dir = scratchDir('oci');
    const registry = await registries.startDockerRegistry();
    try {
      const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const signer = new core.LocalSigner('release', privateKey);
      const client = new oci.RegistryClient();
      const images = [];
      for (let i = 0; i < 5; i++) {
        const image = await registries.buildTestImage(path.join(dir, `image-${i}`));
        const ref = await registries.pushImage(image, registry, `bench/app${i}`, 'v1');
        await oci.signImage(`${registry.host}/bench/app${i}@${image.digest}`, signer, { client });
        images.push({ ref, digest: image.digest, repo: `bench/app${i}` });
      }
      log(`5 images pushed with skopeo and signed on ${registry.host}`);
      const [first] = images;
      const pinned = `${registry.host}/${first.repo}@${first.digest}`;
      const policy = { keys: [{ publicKey, name: 'release' }] };

      const raw = () => rawFetches(registry.url, first);
      const verify = () => oci.verifyImage(pinned, policy, { client });
      for (let i = 0; i < 20; i++) {
        await raw();
        await verify();
      }
      const rawMs = [];
      const verifyMs = [];
      for (let i = 0; i < ROUNDS; i++) {
        rawMs.push(await timed(raw));
        verifyMs.push(await timed(verify));
      }
      const rawMedian = median(rawMs);
      const verifyMedian = median(verifyMs);
      log(`plain fetches ${rawMedian.toFixed(2)} ms, verifyImage ${verifyMedian.toFixed(2)} ms`);

      // The webhook, over HTTPS, with a policy file as operators write it.
      fs.writeFileSync(path.join(dir, 'release.pub'), core.publicKeyPem(publicKey));
      fs.writeFileSync(
        path.join(dir, 'policy.yaml'),
        `version: 1\nkeys:\n  release: { publicKey: release.pub }\nrules:\n  - { kind: image, match: '${registry.host}/bench/*', signers: [release] }\n`,
      );
      const gatePolicy = await core.loadGatePolicy(path.join(dir, 'policy.yaml'));
      const tls = certificate(dir);
      const server = admission.createAdmissionServer({ policy: gatePolicy, tls, client, cacheTtlMs: 0, log: () => {} });
      await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
      const port = server.address().port;
      const review = JSON.stringify({
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        request: {
          uid: 'bench',
          kind: { group: '', version: 'v1', kind: 'Pod' },
          resource: { group: '', version: 'v1', resource: 'pods' },
          operation: 'CREATE',
          namespace: 'shop',
          object: {
            apiVersion: 'v1',
            kind: 'Pod',
            metadata: { name: 'shop' },
            spec: { containers: images.map((image, i) => ({ name: `c${i}`, image: image.ref })) },
          },
        },
      });
      const agent = new https.Agent({ keepAlive: true, ca: tls.cert });
      const post = () => postReview(port, agent, review);
      const answer = JSON.parse(await post());
      if (!answer.response?.allowed) throw new Error(`the webhook denied the benchmark Pod: ${JSON.stringify(answer.response?.status)}`);
      for (let i = 0; i < 10; i++) await post();
      const rawPod = () => Promise.all(images.map((image) => rawFetches(registry.url, image)));
      const webhookMs = [];
      const rawAgain = [];
      for (let i = 0; i < WEBHOOK_ROUNDS; i++) {
        webhookMs.push(await timed(post));
        rawAgain.push(await timed(rawPod));
      }
      server.close();
      agent.destroy();
      const webhookMedian = median(webhookMs);
      const rawMedian2 = median(rawAgain);
      log(`webhook, 5 containers: ${webhookMedian.toFixed(2)} ms; plain fetches for the 5 images ${rawMedian2.toFixed(2)} ms`);

      return {
        checks: [
          check({
            id: 'verify-vs-fetch',
            what: '`verifyImage` of a signed image vs fetching its objects with plain HTTP',
            target: '≤ 1.2×',
            comparator: '<=',
            limit: 1.2,
            value: verifyMedian / rawMedian,
            unit: '×',
            detail: {
              verifyMs: round(verifyMedian),
              fetchMs: round(rawMedian),
              rounds: ROUNDS,
              text: `${round(verifyMedian)} ms vs ${round(rawMedian)} ms`,
            },
          }),
          check({
            id: 'webhook-5-containers',
            what: "the admission webhook answering a 5-container Pod vs fetching its 5 images' objects",
            target: '< 2×',
            comparator: '<',
            limit: 2,
            value: webhookMedian / rawMedian2,
            unit: '×',
            detail: {
              webhookMs: round(webhookMedian),
              fetchMs: round(rawMedian2),
              rounds: WEBHOOK_ROUNDS,
              text: `${round(webhookMedian)} ms vs ${round(rawMedian2)} ms`,
            },
          }),
        ],
        notes: [
          `Registry: Debian's docker-registry ${registryVersion()} on 127.0.0.1, filesystem store in the OS temporary directory, no auth; 5 small images built as OCI layouts and pushed with skopeo, each signed by @signet/oci's signImage with one ECDSA P-256 key (a cosign v3 bundle referrer, listed in the sha256-<hex> index since this registry has no referrers API).`,
          `Plain fetches: Node's fetch, one keep-alive connection pool, sequentially the four objects a verifier must read: GET the image manifest by digest (with the OCI Accept list), GET the index at sha256-<hex>, GET the referrer manifest, GET the bundle blob. Each body read whole; nothing parsed or checked.`,
          `verifyImage: the same image by digest, in process, one RegistryClient (its pooled connections, as the webhook keeps one): it also asks once whether the registry has the referrers API (404 here, remembered), checks every digest, the referrer's subject and layer, and the DSSE signature (the legacy .sig tag is read only when no bundle verifies, as cosign does). Given a digest, it reads the manifest and looks up the referrers at the same time, where the plain fetches go one after another. ${ROUNDS} rounds alternating with the plain fetches after 20 warm-ups; medians.`,
          `Webhook: createAdmissionServer from apps/admission over HTTPS on 127.0.0.1 (an openssl P-256 certificate for ${SERVICE}, a keep-alive client), the digest cache off (cacheTtlMs 0) so every review verifies all 5 images, each named by tag (so each is resolved, verified and pinned in the patch). The reference is the plain fetches above for the same 5 images, all 5 at once (the fastest a plain client gets them). ${WEBHOOK_ROUNDS} rounds alternating after 10 warm-ups; medians. This machine has ${os.availableParallelism()} cores, shared by the registry, the webhook and the client: 5 fetch sequences at once take about 3.5 times one, so the reference is not one image's time.`,
        ],
      };
    } finally {
      await registry.stop();
    }
  },
};

async function rawFetches(base, image) {
  const accept = 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json';
  const get = async (url, headers = {}) => {
    const response = await fetch(`${base}${url}`, { headers });
    return Buffer.from(await response.arrayBuffer());
  };
  await get(`/v2/${image.repo}/manifests/${image.digest}`, { accept });
  const index = JSON.parse(await get(`/v2/${image.repo}/manifests/${image.digest.replace(':', '-')}`, { accept }));
  const referrer = JSON.parse(await get(`/v2/${image.repo}/manifests/${index.manifests[0].digest}`, { accept }));
  await get(`/v2/${image.repo}/blobs/${referrer.layers[0].digest}`);
}

async function timed(fn) {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

function postReview(port, agent, body) {
  return new Promise((resolve, reject) => {
    const request = https.request(
      {
        host: '127.0.0.1',
        port,
        path: '/mutate',
        method: 'POST',
        agent,
        servername: SERVICE,
        headers: { 'content-type': 'application/json' },
      },
      (response) => {
        const chunks = [];
        response.on('data', (chunk) => chunks.push(chunk));
        response.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      },
    );
    request.on('error', reject);
    request.end(body);
  });
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

function registryVersion() {
  try {
    // "docker-registry\t2.8.2+ds1-1"
    return execFileSync('dpkg-query', ['-W', 'docker-registry'], { encoding: 'utf8' }).trim().split('\t')[1];
  } catch {
    return '(version unknown)';
  }
}

function round(value) {
  return Math.round(value * 100) / 100;
}
