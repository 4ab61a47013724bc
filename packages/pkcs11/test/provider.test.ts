// The provider through the library API, against a real SoftHSM2 token: every algorithm a
// token offers, what reaches the token (a digest, in one C_Sign per signature), how
// sessions and the module are opened and released, and each failure's code and message.
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { algorithmInfo, openSigner, parseKeyRef, type SignatureAlgorithm, SignetError, signArtifacts } from '@signet/core';
import type * as Pkcs11js from 'pkcs11js';
import { createPkcs11Provider, type Pkcs11Provider } from '../src';
import { describeWithSoftHsm, directSession, softHsmUtil } from './softhsm';

const { instrument } = require('./fixtures/instrument-pkcs11') as {
  instrument(module: Pkcs11js.PKCS11, plan: { log?: (entry: Call) => void; faults?: Record<string, string[]> }): Pkcs11js.PKCS11;
};

interface Call {
  method: string;
  inputLength?: number;
  failed?: string;
}

/** Each algorithm `key generate` offers, what the key then signs with, and what C_Sign must receive. */
const MATRIX: [string, SignatureAlgorithm, (dataLength: number) => number][] = [
  ['ecdsa-p256', 'ecdsa-p256-sha256', () => 32],
  ['ecdsa-p384', 'ecdsa-p384-sha384', () => 48],
  ['ecdsa-p521', 'ecdsa-p521-sha512', () => 64],
  ['ed25519', 'ed25519', (length) => length],
  // DigestInfo (19 bytes, RFC 8017 §9.2) and the SHA-256 digest
  ['rsa-2048', 'rsa-pkcs1v15-sha256', () => 19 + 32],
  ['rsa-3072', 'rsa-pkcs1v15-sha256', () => 19 + 32],
  ['rsa-4096', 'rsa-pkcs1v15-sha256', () => 19 + 32],
  ['rsa-pss-2048', 'rsa-pss-sha256', () => 32],
  ['rsa-pss-3072', 'rsa-pss-sha256', () => 32],
  ['rsa-pss-4096', 'rsa-pss-sha256', () => 32],
];

/** node:crypto's own verdict, independent of Signet's verification code. */
function nodeVerifies(algorithm: SignatureAlgorithm, publicKey: string, data: Buffer, signature: Buffer): boolean {
  const info = algorithmInfo(algorithm);
  if (info.family === 'ed25519') return crypto.verify(null, data, publicKey, signature);
  if (info.family === 'rsa-pss') {
    return crypto.verify(info.hash, data, { key: publicKey, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, signature);
  }
  return crypto.verify(info.hash, data, publicKey, signature);
}

async function failure(promise: Promise<unknown>): Promise<SignetError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof SignetError) return error;
    throw error;
  }
  throw new Error('expected a SignetError, but the call succeeded');
}

/** Every text an error carries (its message and its causes'), to look for secrets in. */
function allText(error: unknown): string {
  const parts: string[] = [];
  for (let current = error as Error | undefined; current; current = (current as { cause?: Error }).cause) {
    parts.push(String(current.message), String(current.stack));
  }
  return parts.join('\n');
}

let calls: Call[] = [];
let faults: Record<string, string[]> = {};

function instrumented(modulePath: string): Pkcs11js.PKCS11 {
  const p11 = require('pkcs11js') as typeof Pkcs11js;
  const module = new p11.PKCS11();
  module.load(modulePath);
  return instrument(module, { log: (entry) => calls.push(entry), faults });
}

beforeEach(() => {
  calls = [];
  faults = {};
});

const count = (method: string) => calls.filter((call) => call.method === method).length;

describeWithSoftHsm('the pkcs11 provider (library API, SoftHSM2)', ({ token }) => {
  const ref = (object: string, extra = '') => parseKeyRef(`pkcs11:token=${token().label};object=${object}${extra}`);
  const env = () => ({ ...token().env });
  const provider = (settings: Parameters<typeof createPkcs11Provider>[0] = {}): Pkcs11Provider =>
    createPkcs11Provider({ loadModule: instrumented, baseDelayMs: 1, ...settings });

  describe.each(MATRIX)('%s', (name, algorithm, signedLength) => {
    test('generate, open, sign: node:crypto verifies, and only the digest reaches the token, in one C_Sign', async () => {
      const pkcs11 = provider();
      const pem = await pkcs11.create(ref(`matrix-${name}`), { algorithm: name, env: env() });
      expect(pem).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
      const signer = await pkcs11.open(ref(`matrix-${name}`), { env: env() });
      expect(signer.algorithm).toBe(algorithm);
      expect(signer.keyId).toBe(`pkcs11:token=${token().label};object=matrix-${name}`);
      expect(await signer.publicKey()).toBe(pem);

      const data = crypto.randomBytes(100_000);
      calls = [];
      const signature = await signer.sign(data);
      expect(nodeVerifies(algorithm, pem, data, signature)).toBe(true);
      expect(nodeVerifies(algorithm, pem, Buffer.concat([data, Buffer.of(0)]), signature)).toBe(false);
      const signs = calls.filter((call) => call.method === 'C_Sign' || call.method === 'C_SignAsync');
      expect(signs).toEqual([{ method: 'C_SignAsync', inputLength: signedLength(data.length) }]);
      // every conversation ends as it began: logged out, closed, finalised
      expect(count('C_Login')).toBe(1);
      expect(count('C_Logout')).toBe(1);
      expect(count('C_OpenSession')).toBe(count('C_CloseSession'));
      expect(count('C_Initialize')).toBe(count('C_Finalize'));

      if (signer.signDigest) {
        const digest = crypto.createHash(algorithmInfo(algorithm).hash).update(data).digest();
        expect(nodeVerifies(algorithm, pem, data, await signer.signDigest(digest))).toBe(true);
      } else {
        expect(algorithm).toBe('ed25519');
      }
    });
  });

  test('the private half is a token object: private, sensitive, never extractable, signing only; the public half is readable', async () => {
    await provider().create(ref('attributes'), { env: env() });
    const read = (module: Pkcs11js.PKCS11, session: Buffer, p11: typeof Pkcs11js, objectClass: number, types: number[]) => {
      module.C_FindObjectsInit(session, [
        { type: p11.CKA_CLASS, value: objectClass },
        { type: p11.CKA_LABEL, value: 'attributes' },
      ]);
      const [object] = module.C_FindObjects(session, 2);
      module.C_FindObjectsFinal(session);
      if (!object) throw new Error('not found');
      return module
        .C_GetAttributeValue(
          session,
          object,
          types.map((type) => ({ type })),
        )
        .map((attribute) => attribute.value[0]);
    };
    const [privateFlags, publicFlags] = directSession(token(), (module, session, p11) => [
      read(module, session, p11, p11.CKO_PRIVATE_KEY, [
        p11.CKA_TOKEN,
        p11.CKA_PRIVATE,
        p11.CKA_SENSITIVE,
        p11.CKA_EXTRACTABLE,
        p11.CKA_SIGN,
        p11.CKA_DERIVE,
      ]),
      read(module, session, p11, p11.CKO_PUBLIC_KEY, [p11.CKA_TOKEN, p11.CKA_PRIVATE, p11.CKA_VERIFY]),
    ]);
    expect(privateFlags).toEqual([1, 1, 1, 0, 1, 0]);
    expect(publicFlags).toEqual([1, 0, 1]);
  });

  test('key generate never replaces a key: a label in use is refused with E_EXISTS and the token keeps one key', async () => {
    const first = await provider().create(ref('taken'), { env: env() });
    const error = await failure(provider().create(ref('taken'), { algorithm: 'rsa-2048', env: env() }));
    expect(error.code).toBe('E_EXISTS');
    expect(error.message).toContain(`pkcs11:token=${token().label};object=taken`);
    expect(count('C_GenerateKeyPairAsync')).toBe(1);
    expect(await (await provider().open(ref('taken'), { env: env() })).publicKey()).toBe(first);
  });

  test('an algorithm no token makes is refused with E_INPUT naming those it can', async () => {
    const error = await failure(provider().create(ref('dsa'), { algorithm: 'dsa-2048', env: env() }));
    expect(error.code).toBe('E_INPUT');
    expect(error.message).toContain('ecdsa-p256, ecdsa-p384, ecdsa-p521, ed25519, rsa-2048');
    expect(calls).toEqual([]);
  });

  test('key generate needs object=LABEL', async () => {
    const error = await failure(provider().create(parseKeyRef(`pkcs11:token=${token().label};id=%01`), { env: env() }));
    expect(error.code).toBe('E_INPUT');
    expect(error.message).toContain('object=LABEL');
  });

  test('two signers in one process, interleaved: each conversation finalises the module, so the next initialises it afresh', async () => {
    const pkcs11 = provider();
    await pkcs11.create(ref('first'), { env: env() });
    await pkcs11.create(ref('second'), { algorithm: 'ecdsa-p384', env: env() });
    const first = await pkcs11.open(ref('first'), { env: env() });
    const second = await createPkcs11Provider().open(ref('second'), { env: env() });
    for (let round = 0; round < 2; round++) {
      const data = Buffer.from(`round ${round}`);
      expect(nodeVerifies(first.algorithm, await first.publicKey(), data, await first.sign(data))).toBe(true);
      expect(nodeVerifies(second.algorithm, await second.publicKey(), data, await second.sign(data))).toBe(true);
    }
    expect(count('C_Initialize')).toBeGreaterThan(0);
    expect(count('C_Initialize')).toBe(count('C_Finalize'));
    // nothing is left initialised: a fresh instance initialises without CKR_CRYPTOKI_ALREADY_INITIALIZED
    expect(directSession(token(), (module) => module.C_GetInfo().manufacturerID.trim())).toMatch(/SoftHSM/);
  });

  test('signatures requested together run one conversation at a time (a login belongs to the whole application)', async () => {
    const pkcs11 = provider();
    await pkcs11.create(ref('batch'), { env: env() });
    const signer = await pkcs11.open(ref('batch'), { env: env() });
    calls = [];
    const inputs = Array.from({ length: 6 }, (_, i) => ({ bytes: Buffer.from(`artifact ${i}\n`) }));
    const bundles = await signArtifacts(inputs, signer, { concurrency: 6 });
    expect(bundles).toHaveLength(6);
    expect(count('C_SignAsync')).toBe(6);
    let depth = 0;
    for (const call of calls) {
      if (call.method === 'C_Initialize') depth++;
      if (call.method === 'C_Finalize') depth--;
      expect(depth === 0 || depth === 1).toBe(true);
    }
    expect(depth).toBe(0);
  });

  test('an application that keeps the module initialised keeps it: Signet signs, and neither fails nor finalises it', async () => {
    const pkcs11 = provider();
    await pkcs11.create(ref('shared'), { env: env() });
    const signer = await pkcs11.open(ref('shared'), { env: env() });
    const p11 = require('pkcs11js') as typeof Pkcs11js;
    const theirs = new p11.PKCS11();
    theirs.load(token().modulePath);
    theirs.C_Initialize();
    calls = [];
    try {
      const data = Buffer.from('while another part of the process holds the module');
      expect(nodeVerifies(signer.algorithm, await signer.publicKey(), data, await signer.sign(data))).toBe(true);
      expect(count('C_Finalize')).toBe(0);
      expect(theirs.C_GetSlotList(true).length).toBeGreaterThan(0);
    } finally {
      theirs.C_Finalize();
      theirs.close();
    }
  });

  test('device errors are retried with backoff, on a fresh session, until the token answers', async () => {
    const pkcs11 = provider();
    await pkcs11.create(ref('flaky'), { env: env() });
    const signer = await pkcs11.open(ref('flaky'), { env: env() });
    calls = [];
    faults = { C_SignAsync: ['CKR_DEVICE_ERROR', 'CKR_SESSION_HANDLE_INVALID'] };
    const data = Buffer.from('recovered');
    expect(nodeVerifies(signer.algorithm, await signer.publicKey(), data, await signer.sign(data))).toBe(true);
    expect(calls.filter((call) => call.method === 'C_SignAsync')).toEqual([
      { method: 'C_SignAsync', inputLength: 32, failed: 'CKR_DEVICE_ERROR' },
      { method: 'C_SignAsync', inputLength: 32, failed: 'CKR_SESSION_HANDLE_INVALID' },
      { method: 'C_SignAsync', inputLength: 32 },
    ]);
    expect(count('C_OpenSession')).toBe(3);
  });

  test('a device that keeps failing: E_PROVIDER after the bounded attempts, naming the module, the key and what to check', async () => {
    const pkcs11 = provider({ attempts: 3 });
    await pkcs11.create(ref('broken'), { env: env() });
    const signer = await pkcs11.open(ref('broken'), { env: env() });
    calls = [];
    faults = { C_SignAsync: Array(10).fill('CKR_DEVICE_ERROR') };
    const error = await failure(signer.sign(Buffer.from('never signed')));
    expect(error.code).toBe('E_PROVIDER');
    expect(error.message).toContain(token().modulePath);
    expect(error.message).toContain(`pkcs11:token=${token().label};object=broken`);
    expect(error.message).toContain('CKR_DEVICE_ERROR');
    expect(error.message).toContain('check that the HSM is connected');
    expect(count('C_SignAsync')).toBe(3);
    expect(count('C_Initialize')).toBe(count('C_Finalize'));
  });

  test('a wrong PIN: E_PERMISSION at once (no retry: tokens lock PINs), and the PIN is in no message', async () => {
    await provider().create(ref('guarded'), { env: env() });
    const wrongPin = 'Wr0ng-PIN-7731';
    calls = [];
    const error = await failure(provider({ pin: wrongPin }).open(ref('guarded'), { env: env() }));
    expect(error.code).toBe('E_PERMISSION');
    expect(error.message).toContain('CKR_PIN_INCORRECT');
    expect(error.message).toContain('SIGNET_PKCS11_PIN');
    expect(count('C_Login')).toBe(1);
    expect(allText(error)).not.toContain(wrongPin);
    expect(JSON.stringify(calls)).not.toContain(wrongPin);
    // the same through the environment
    const fromEnv = await failure(provider().open(ref('guarded'), { env: { ...env(), SIGNET_PKCS11_PIN: wrongPin } }));
    expect(fromEnv.code).toBe('E_PERMISSION');
    expect(allText(fromEnv)).not.toContain(wrongPin);
  });

  test('without a PIN the public key still reads, and signing is refused with E_PERMISSION before the token is asked', async () => {
    const pem = await provider().create(ref('no-pin'), { env: env() });
    const signer = await provider().open(ref('no-pin'), { env: { ...env(), SIGNET_PKCS11_PIN: undefined } });
    expect(await signer.publicKey()).toBe(pem);
    calls = [];
    const error = await failure(signer.sign(Buffer.from('x')));
    expect(error.code).toBe('E_PERMISSION');
    expect(error.message).toContain('no user PIN was given');
    expect(calls).toEqual([]);
  });

  test('a PIN from pin-source=FILE, and from pin-value= with a warning that does not repeat it', async () => {
    await provider().create(ref('pin-sources'), { env: env() });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-pin-'));
    try {
      fs.writeFileSync(path.join(dir, 'pin'), `${token().pin}\n`);
      const noPin = { ...env(), SIGNET_PKCS11_PIN: undefined };
      const fromFile = await provider().open(ref('pin-sources', `?pin-source=file:${path.join(dir, 'pin')}`), { env: noPin });
      expect((await fromFile.sign(Buffer.from('a'))).length).toBeGreaterThan(0);

      const warnings: string[] = [];
      const fromUri = await provider().open(ref('pin-sources', `?pin-value=${token().pin}`), {
        env: noPin,
        onWarning: (w) => warnings.push(w),
      });
      expect((await fromUri.sign(Buffer.from('b'))).length).toBeGreaterThan(0);
      expect(fromUri.keyId).toBe(`pkcs11:token=${token().label};object=pin-sources`);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain('written in the URI as pin-value');
      expect(warnings[0]).not.toContain(`pin-value=${token().pin}`);

      const missing = await failure(provider().open(ref('pin-sources', `?pin-source=${path.join(dir, 'absent')}`), { env: noPin }));
      expect(missing.code).toBe('E_INPUT');
      expect(missing.message).toContain('cannot read the PIN from the file pin-source names (ENOENT)');
      // users put the PIN itself in pin-source often enough that its value is never quoted back
      expect(missing.message).not.toContain(path.join(dir, 'absent'));
      const mistaken = await failure(provider().open(ref('pin-sources', `?pin-source=${token().pin}`), { env: noPin }));
      expect(mistaken.code).toBe('E_INPUT');
      expect(mistaken.message).not.toContain(token().pin);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a key without CKA_SIGN: E_KEY_DISABLED, not retried', async () => {
    directSession(token(), (module, session, p11) =>
      module.C_GenerateKeyPair(
        session,
        { mechanism: p11.CKM_EC_KEY_PAIR_GEN },
        [
          { type: p11.CKA_TOKEN, value: true },
          { type: p11.CKA_LABEL, value: 'cannot-sign' },
          { type: p11.CKA_EC_PARAMS, value: Buffer.from('06082a8648ce3d030107', 'hex') },
        ],
        [
          { type: p11.CKA_TOKEN, value: true },
          { type: p11.CKA_LABEL, value: 'cannot-sign' },
          { type: p11.CKA_PRIVATE, value: true },
          { type: p11.CKA_SIGN, value: false },
        ],
      ),
    );
    const signer = await provider().open(ref('cannot-sign'), { env: env() });
    calls = [];
    const error = await failure(signer.sign(Buffer.from('refused')));
    expect(error.code).toBe('E_KEY_DISABLED');
    expect(error.message).toContain('CKR_KEY_FUNCTION_NOT_PERMITTED');
    expect(error.message).toContain('CKA_SIGN');
    expect(count('C_SignInit')).toBe(1);
  });

  test('no such key, no such token: E_KEY_NOT_FOUND, the second listing the tokens present', async () => {
    const key = await failure(provider().open(ref('absent'), { env: env() }));
    expect(key.code).toBe('E_KEY_NOT_FOUND');
    expect(key.message).toContain('object "absent"');
    const noToken = await failure(provider().open(parseKeyRef('pkcs11:token=no-such-token;object=absent'), { env: env() }));
    expect(noToken.code).toBe('E_KEY_NOT_FOUND');
    expect(noToken.message).toContain('token=no-such-token');
    expect(noToken.message).toContain(`tokens present: "${token().label}"`);
    expect(count('C_Initialize')).toBe(count('C_Finalize'));
  });

  test('a module that does not exist, or is not a PKCS#11 module: E_PROVIDER naming the path, without retrying', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-module-'));
    try {
      const bogus = path.join(dir, 'libnot-pkcs11.so');
      fs.writeFileSync(bogus, 'not a shared object\n');
      for (const modulePath of [path.join(dir, 'missing.so'), bogus]) {
        const error = await failure(createPkcs11Provider({ modulePath }).open(ref('any'), { env: env() }));
        expect(error.code).toBe('E_PROVIDER');
        expect(error.message).toContain(`cannot load the PKCS#11 module ${modulePath}`);
        expect(error.message).toContain('SIGNET_PKCS11_MODULE');
      }
      // no module configured at all is bad input
      const none = await failure(createPkcs11Provider().open(ref('any'), { env: { SIGNET_PKCS11_PIN: token().pin } }));
      expect(none.code).toBe('E_INPUT');
      expect(none.message).toContain('SIGNET_PKCS11_MODULE');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('keys made elsewhere (openssl, imported with softhsm2-util): found by id=, the same public key, signatures node:crypto verifies', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-import-'));
    try {
      for (const [name, args, id] of [
        ['ec', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384'], 'a1'],
        ['rsa', ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'], 'a2'],
      ] as const) {
        const keyFile = path.join(dir, `${name}.pem`);
        expect(spawnSync('openssl', ['genpkey', ...args, '-out', keyFile]).status).toBe(0);
        softHsmUtil(token().conf, [
          '--import',
          keyFile,
          '--token',
          token().label,
          '--label',
          `imported-${name}`,
          '--id',
          id,
          '--pin',
          token().pin,
        ]);
        const expected = crypto.createPublicKey(fs.readFileSync(keyFile)).export({ type: 'spki', format: 'pem' }).toString();
        const signer = await provider().open(parseKeyRef(`pkcs11:token=${token().label};id=%${id}`), { env: env() });
        expect(await signer.publicKey()).toBe(expected);
        expect(signer.algorithm).toBe(name === 'ec' ? 'ecdsa-p384-sha384' : 'rsa-pkcs1v15-sha256');
        const data = Buffer.from(`imported ${name}`);
        expect(nodeVerifies(signer.algorithm, expected, data, await signer.sign(data))).toBe(true);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a private key without its public key object: RSA exports from the modulus; EC says the public key is missing', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-import-'));
    try {
      for (const [name, args] of [
        ['rsa', ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048']],
        ['ec', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']],
      ] as const) {
        const keyFile = path.join(dir, `${name}.pem`);
        expect(spawnSync('openssl', ['genpkey', ...args, '-out', keyFile]).status).toBe(0);
        softHsmUtil(token().conf, [
          '--import',
          keyFile,
          '--token',
          token().label,
          '--label',
          `lonely-${name}`,
          '--id',
          name === 'rsa' ? 'b1' : 'b2',
          '--pin',
          token().pin,
          '--no-public-key',
        ]);
      }
      const rsa = await provider().open(ref('lonely-rsa'), { env: env() });
      expect(await rsa.publicKey()).toBe(
        crypto
          .createPublicKey(fs.readFileSync(path.join(dir, 'rsa.pem')))
          .export({ type: 'spki', format: 'pem' })
          .toString(),
      );
      const ec = await failure(provider().open(ref('lonely-ec'), { env: env() }));
      expect(ec.code).toBe('E_KEY_NOT_FOUND');
      expect(ec.message).toContain('no public key object');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('two keys under one label: refused with E_KEY until id= picks one', async () => {
    for (const id of ['c1', 'c2']) {
      directSession(token(), (module, session, p11) =>
        module.C_GenerateKeyPair(
          session,
          { mechanism: p11.CKM_EC_KEY_PAIR_GEN },
          [
            { type: p11.CKA_TOKEN, value: true },
            { type: p11.CKA_LABEL, value: 'twins' },
            { type: p11.CKA_ID, value: Buffer.from(id, 'hex') },
            { type: p11.CKA_EC_PARAMS, value: Buffer.from('06082a8648ce3d030107', 'hex') },
          ],
          [
            { type: p11.CKA_TOKEN, value: true },
            { type: p11.CKA_LABEL, value: 'twins' },
            { type: p11.CKA_ID, value: Buffer.from(id, 'hex') },
            { type: p11.CKA_PRIVATE, value: true },
            { type: p11.CKA_SIGN, value: true },
          ],
        ),
      );
    }
    const error = await failure(provider().open(ref('twins'), { env: env() }));
    expect(error.code).toBe('E_KEY');
    expect(error.message).toContain('add id= to the URI');
    const [one, two] = await Promise.all([
      provider().open(ref('twins', ';id=%c1'), { env: env() }),
      provider().open(ref('twins', ';id=%c2'), { env: env() }),
    ]);
    expect(await one.publicKey()).not.toBe(await two.publicKey());
  });

  test('with no PIN anywhere, a terminal prompt is asked once, for signing only, however many signatures run together', async () => {
    const pem = await provider().create(ref('prompted'), { env: env() });
    const questions: string[] = [];
    const signer = await provider().open(ref('prompted'), {
      env: { ...env(), SIGNET_PKCS11_PIN: undefined },
      promptPassphrase: async (question) => {
        questions.push(question);
        return token().pin;
      },
    });
    expect(questions).toEqual([]);
    const data = [Buffer.from('one'), Buffer.from('two'), Buffer.from('three')];
    const signatures = await Promise.all(data.map((bytes) => signer.sign(bytes)));
    data.forEach((bytes, i) => {
      expect(nodeVerifies(signer.algorithm, pem, bytes, signatures[i] as Buffer)).toBe(true);
    });
    expect(questions).toEqual([`User PIN for pkcs11:token=${token().label};object=prompted: `]);
  });

  test('tokens picked by serial= or slot-id=; a URI that matches two tokens is refused with E_KEY', async () => {
    const pem = await provider().create(ref('by-slot'), { env: env() });
    const [slotId, serial] = directSession(token(), (module) => {
      const slot = module.C_GetSlotList(true).find((candidate) => module.C_GetTokenInfo(candidate).label.trimEnd() === token().label);
      if (!slot) throw new Error('no slot');
      return [slot.readBigUInt64LE(), module.C_GetTokenInfo(slot).serialNumber.trimEnd()] as const;
    });
    for (const uri of [`pkcs11:slot-id=${slotId};object=by-slot`, `pkcs11:serial=${serial};object=by-slot`]) {
      expect(await (await provider().open(parseKeyRef(uri), { env: env() })).publicKey()).toBe(pem);
    }
    // a second token: a URI without token attributes no longer names one
    token().addToken('second-token', token().pin);
    const error = await failure(provider().open(parseKeyRef('pkcs11:object=by-slot'), { env: env() }));
    expect(error.code).toBe('E_KEY');
    expect(error.message).toContain('2 tokens match');
    expect(await (await provider().open(ref('by-slot'), { env: env() })).publicKey()).toBe(pem);
  });

  test("core's openSigner finds this package for pkcs11: references", async () => {
    await provider().create(ref('via-core'), { env: env() });
    const signer = await openSigner(`pkcs11:token=${token().label};object=via-core`, { env: env() });
    expect(signer.algorithm).toBe('ecdsa-p256-sha256');
  });
});
