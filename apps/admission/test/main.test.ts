import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { publicKeyPem } from '@signet/core';
import { startAdmission } from '../src/main';
import { call, fixture, postReview, servingCertificate } from './support';

let dir: string;
let files: { policy: string; cert: string; key: string };
let tls: { key: string; cert: string };
const logged: Record<string, unknown>[] = [];
const log = (line: object) => logged.push(line as Record<string, unknown>);

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-admission-main-'));
  const { publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  fs.writeFileSync(path.join(dir, 'release.pub'), publicKeyPem(publicKey));
  files = { policy: path.join(dir, 'policy.yaml'), cert: path.join(dir, 'tls.crt'), key: path.join(dir, 'tls.key') };
  fs.writeFileSync(
    files.policy,
    "version: 1\nkeys:\n  release: { publicKey: release.pub }\nrules:\n  - { kind: image, match: '127.0.0.1:*/**', signers: [release] }\n",
  );
  tls = servingCertificate();
  fs.writeFileSync(files.cert, tls.cert);
  fs.writeFileSync(files.key, tls.key);
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const args = () => ['--policy', files.policy, '--tls-cert', files.cert, '--tls-key', files.key, '--port', '0', '--host', '127.0.0.1'];

it('serves the webhook with the policy and certificate it is given', async () => {
  const running = await startAdmission([...args(), '--cache-ttl', '30s', '--verify-timeout', '5s'], { log });
  try {
    expect(logged).toContainEqual(
      expect.objectContaining({ msg: 'listening', port: running.port, policy: files.policy, cacheTtlMs: 30_000, verifyTimeoutMs: 5_000 }),
    );
    expect((await call(running.server, tls.cert, 'GET', '/healthz')).status).toBe(200);
    const { review } = await postReview(running.server, tls.cert, '/validate', fixture('pod-delete'));
    expect(review.response).toEqual({ uid: 'f1a3c5e7-9b0d-4e2f-a4c6-e8a0c2e4f657', allowed: true });
  } finally {
    await running.close();
  }
});

it('serves a rotated certificate after a reload, and keeps the old one when the new pair is broken', async () => {
  const running = await startAdmission(args(), { log });
  const next = servingCertificate();
  try {
    fs.writeFileSync(files.cert, next.cert);
    fs.writeFileSync(files.key, next.key);
    running.reloadTls('test');
    expect((await call(running.server, next.cert, 'GET', '/healthz')).status).toBe(200);
    await expect(call(running.server, tls.cert, 'GET', '/healthz')).rejects.toThrow();

    // Half-way through a rotation: a new certificate beside the old key.
    fs.writeFileSync(files.cert, servingCertificate().cert);
    running.reloadTls('half-rotated');
    expect(logged).toContainEqual(expect.objectContaining({ msg: 'kept the TLS certificate in use', why: 'half-rotated' }));
    expect((await call(running.server, next.cert, 'GET', '/healthz')).status).toBe(200);
  } finally {
    await running.close();
    fs.writeFileSync(files.cert, tls.cert);
    fs.writeFileSync(files.key, tls.key);
  }
});

it('refuses a bad command line, saying what is wrong', async () => {
  const failure = (argv: string[]) =>
    startAdmission(argv, { log }).then(
      () => {
        throw new Error('expected a failure');
      },
      (error: { code: string; message: string }) => ({ code: error.code, line: error.message.split('\n')[0] }),
    );
  expect(await failure(['--tls-cert', files.cert, '--tls-key', files.key])).toEqual({ code: 'E_USAGE', line: '--policy is required' });
  expect(await failure([...args(), '--cache-ttl', 'a minute'])).toEqual({
    code: 'E_USAGE',
    line: '--cache-ttl must be a duration such as 60s, 500ms or 2m, not "a minute"',
  });
  expect(await failure([...args(), '--port', 'https'])).toEqual({ code: 'E_USAGE', line: '--port must be a port number, not "https"' });
  expect(await failure([...args(), '--verbose'])).toMatchObject({ code: 'E_USAGE', line: expect.stringContaining("'--verbose'") });
  expect(await failure([...args().slice(0, 4), '--tls-key', path.join(dir, 'missing.key')])).toMatchObject({
    code: 'E_INPUT',
    line: expect.stringContaining(`cannot read the TLS key ${path.join(dir, 'missing.key')}`),
  });
});

it('refuses a policy without an image rule, which would deny every image', async () => {
  const filesOnly = path.join(dir, 'files-only.yaml');
  fs.writeFileSync(filesOnly, 'version: 1\nkeys:\n  release: { publicKey: release.pub }\nrules:\n  - { kind: web, signers: [release] }\n');
  await expect(startAdmission([...args().slice(2), '--policy', filesOnly], { log })).rejects.toMatchObject({
    code: 'E_INPUT',
    message: `${filesOnly} has no kind: image rule, so every image would be denied; add one (see the admission README)`,
  });
});
