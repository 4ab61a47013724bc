import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { loadGatePolicy, publicKeyPem } from '@signet/core';
import { createAdmissionServer, MAX_BODY_BYTES } from '../src';
import { call, close, fixture, listen, postReview, SERVICE_HOST, servingCertificate } from './support';

/*
 * The server's HTTP side, for everything that needs no registry: routes, bad bodies, the
 * requests it lets through unchecked, and what it logs. Verification is in e2e.test.ts.
 */

let dir: string;
let server: https.Server;
let ca: string;
const logged: Record<string, unknown>[] = [];

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-admission-server-'));
  const { publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  fs.writeFileSync(path.join(dir, 'release.pub'), publicKeyPem(publicKey));
  const policyFile = path.join(dir, 'policy.yaml');
  fs.writeFileSync(
    policyFile,
    "version: 1\nkeys:\n  release: { publicKey: release.pub }\nrules:\n  - { kind: image, match: '127.0.0.1:*/**', signers: [release] }\n",
  );
  const tls = servingCertificate();
  ca = tls.cert;
  server = createAdmissionServer({
    policy: await loadGatePolicy(policyFile),
    tls,
    log: (line) => logged.push(line as Record<string, unknown>),
  });
  await listen(server);
});

afterAll(async () => {
  await close(server);
  fs.rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  logged.length = 0;
});

it('answers the readiness probe', async () => {
  const answer = await call(server, ca, 'GET', '/healthz');
  expect(answer).toMatchObject({ status: 200, text: 'ok\n' });
});

it('serves only its routes, each with its method', async () => {
  expect(await call(server, ca, 'GET', '/')).toMatchObject({ status: 404, text: expect.stringContaining('POST /mutate') });
  const wrongMethod = await call(server, ca, 'GET', '/mutate');
  expect(wrongMethod).toMatchObject({ status: 405, headers: expect.objectContaining({ allow: 'POST' }) });
  expect(await call(server, ca, 'POST', '/healthz', '{}')).toMatchObject({ status: 405 });
});

it('answers a body that is not JSON with 400 and says what it expected', async () => {
  const { status, review } = await postReview(server, ca, '/mutate', '<AdmissionReview/>');
  expect(status).toBe(400);
  expect(review).toEqual({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    response: {
      uid: '',
      allowed: false,
      status: {
        code: 400,
        message: expect.stringMatching(/^the body is not JSON \(.+\); expected an admission\.k8s\.io\/v1 AdmissionReview$/),
      },
    },
  });
  expect(logged).toEqual([
    expect.objectContaining({ endpoint: 'mutate', uid: null, allowed: false, error: expect.stringContaining('not JSON') }),
  ]);
});

// The API server reads an answer only from a 200, so a review it sent is denied in one (code 400 inside).
it('denies another AdmissionReview version in a 200 with code 400, echoing the uid', async () => {
  const { status, review } = await postReview(server, ca, '/validate', fixture('pod-create-v1beta1'));
  expect(status).toBe(200);
  expect(review.response).toEqual({
    uid: 'd3f5b7d9-1a2c-4e4f-a6b8-d0f2b4d6f89b',
    allowed: false,
    status: { code: 400, message: expect.stringContaining('expected apiVersion admission.k8s.io/v1 and kind AdmissionReview') },
  });
});

it('denies an object not shaped like its kind in a 200 with code 400, echoing the uid', async () => {
  const review = JSON.parse(fixture('pod-create'));
  review.request.object.spec.containers = { web: { image: 'nginx' } };
  const answer = await postReview(server, ca, '/mutate', JSON.stringify(review));
  expect(answer).toEqual({
    status: 200,
    review: expect.objectContaining({
      response: {
        uid: '0d5b7a4e-2f0c-4b8e-9a51-7c1e3f6b2a01',
        allowed: false,
        status: { code: 400, message: '/spec/containers must be a list of containers' },
      },
    }),
  });
});

it(`refuses a body over ${MAX_BODY_BYTES} bytes with 413, by its length or as it streams`, async () => {
  const answer = await call(server, ca, 'POST', '/mutate', Buffer.alloc(MAX_BODY_BYTES + 1, ' '));
  expect(answer.status).toBe(413);

  const { port } = server.address() as AddressInfo;
  const streamed = await new Promise<number>((resolve, reject) => {
    const request = https.request(
      {
        host: '127.0.0.1',
        port,
        path: '/validate',
        method: 'POST',
        ca,
        servername: SERVICE_HOST,
        headers: { 'transfer-encoding': 'chunked' },
      },
      (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      },
    );
    // The server may close the connection while the rest is still being written.
    request.on('error', (error) => (error.message.includes('EPIPE') || error.message.includes('ECONNRESET') ? undefined : reject(error)));
    const chunk = Buffer.alloc(1024 * 1024, ' ');
    for (let i = 0; i < 4; i++) request.write(chunk);
    request.end();
  });
  expect(streamed).toBe(413);
  // Still serving afterwards.
  expect((await call(server, ca, 'GET', '/healthz')).status).toBe(200);
});

it('lets a DELETE, a scale and a kind it does not check through, with no patch', async () => {
  for (const [name, uid] of [
    ['pod-delete', 'f1a3c5e7-9b0d-4e2f-a4c6-e8a0c2e4f657'],
    ['deployment-scale', 'b8d0f2a4-6c8e-4f0a-92c4-e6a8c0e2f48a'],
  ]) {
    for (const endpoint of ['/mutate', '/validate']) {
      const { status, review } = await postReview(server, ca, endpoint, fixture(name as string));
      expect({ status, response: review.response }).toEqual({ status: 200, response: { uid, allowed: true } });
    }
  }
  expect(logged[0]).toEqual({
    time: expect.any(String),
    endpoint: 'mutate',
    uid: 'f1a3c5e7-9b0d-4e2f-a4c6-e8a0c2e4f657',
    operation: 'DELETE',
    namespace: 'shop',
    kind: 'Pod',
    name: 'shop-web-7f9c6d5b8-x8k2p',
    allowed: true,
    skipped: 'not a pod or workload CREATE or UPDATE',
    images: [],
    ms: expect.any(Number),
  });
  expect(logged[2]).toMatchObject({ kind: 'Scale/scale', name: 'shop-web' });
});

it('logs no user information', async () => {
  await postReview(server, ca, '/mutate', fixture('pod-delete'));
  expect(JSON.stringify(logged)).not.toContain('replicaset-controller');
  expect(JSON.stringify(logged)).not.toContain('system:serviceaccounts');
});
