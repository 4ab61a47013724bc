// exportJwk and Node 20's deadlock: `key.export({ format: 'jwk' })` of an EC key holds the
// key's mutex while it allocates; a garbage collection there can free the job that generated
// the key, whose destructor takes the same mutex. The process then hangs for good, beyond the
// reach of any timer (it hung a CI run of the Azure emulator's signing). Plain export hangs
// within a few thousand freshly generated keys on Node 20; exportJwk must never.
import { spawnSync } from 'node:child_process';
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

test('exporting the JWKs of 12,000 freshly generated keys never deadlocks', () => {
  // In a child process (a deadlocked jest could not even report it), through the built
  // package, which `npm test` builds first.
  const dist = path.resolve(__dirname, '../dist/index.js');
  const script = `
    const crypto = require('node:crypto');
    const { exportJwk } = require(${JSON.stringify(dist)});
    for (let i = 0; i < 12000; i++) {
      const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
      if (!exportJwk(privateKey).d || !exportJwk(publicKey).x) throw new Error('no JWK');
    }
    console.log('done');`;
  const result = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 100_000, killSignal: 'SIGKILL' });
  expect({ signal: result.signal, status: result.status, stdout: result.stdout.trim(), stderr: result.stderr }).toEqual({
    signal: null,
    status: 0,
    stdout: 'done',
    stderr: '',
  });
}, 120_000);
