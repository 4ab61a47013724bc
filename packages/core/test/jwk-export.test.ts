// exportJwk and Node 20's deadlock: `key.export({ format: 'jwk' })` of an EC key holds the
// key's mutex while it allocates; a garbage collection there can free the job that generated
// the key, whose destructor takes the same mutex. The process then hangs for good, beyond the
// reach of any timer (it hung a CI run of the Azure emulator's signing). Plain export hangs
// within a few thousand freshly generated keys on Node 20; exportJwk must never.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import path from 'node:path';
import { exportJwk } from '../src';

test('the JWK of a private and a public key, as Node exports it', () => {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-384' });
  expect(exportJwk(privateKey)).toEqual(privateKey.export({ format: 'jwk' }));
  expect(exportJwk(publicKey)).toEqual(publicKey.export({ format: 'jwk' }));
  expect(exportJwk(privateKey).d).toBeDefined();
  expect(exportJwk(publicKey).d).toBeUndefined();
});

test('exporting the JWKs of 12,000 freshly generated keys never deadlocks', async () => {
  // In a child process (a deadlocked jest could not even report it), through the built
  // package, which `npm test` builds first. A deadlock is no progress at all: the child reports
  // every 500 keys, and is killed only when 30 s pass without a report, so a machine loaded by
  // other work slows the test down without failing it.
  const dist = path.resolve(__dirname, '../dist/index.js');
  const script = `
    const crypto = require('node:crypto');
    const { exportJwk } = require(${JSON.stringify(dist)});
    for (let i = 1; i <= 12000; i++) {
      const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
      if (!exportJwk(privateKey).d || !exportJwk(publicKey).x) throw new Error('no JWK');
      if (i % 500 === 0) console.log(i);
    }`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let last = 0;
  let stderr = '';
  let stalled = false;
  let watchdog = setTimeout(() => undefined, 0);
  const arm = () => {
    clearTimeout(watchdog);
    watchdog = setTimeout(() => {
      stalled = true;
      child.kill('SIGKILL');
    }, 30_000);
  };
  arm();
  child.stdout.setEncoding('utf8').on('data', (text: string) => {
    last = Number(text.trim().split('\n').pop());
    arm();
  });
  child.stderr.setEncoding('utf8').on('data', (text: string) => {
    stderr += text;
  });
  const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearTimeout(watchdog);
  expect({ stalled, status, last, stderr }).toEqual({ stalled: false, status: 0, last: 12000, stderr: '' });
}, 900_000);
