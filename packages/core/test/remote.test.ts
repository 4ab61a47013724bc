import crypto from 'node:crypto';
import { inspect } from 'node:util';
import { callRemote, ecdsaRawToDer, type Failure, failureFromStatus, isConnectionError, remoteError, SignetError } from '../src';

class Http extends Error {
  constructor(readonly status: number) {
    super(`HTTP ${status}`);
  }
}
const classify = (error: unknown): Failure => failureFromStatus((error as Http).status ?? 503, (error as Error).message);
const base = { service: 'Test KMS', keyRef: 'testkms://key', action: 'sign', classify, baseDelayMs: 1 };

describe('callRemote', () => {
  it('retries throttling and 5xx, then succeeds', async () => {
    const statuses = [429, 503, 500];
    const retries: string[] = [];
    const result = await callRemote(
      async () => {
        const status = statuses.shift();
        if (status) throw new Http(status);
        return 'signed';
      },
      { ...base, onRetry: (failure) => retries.push(failure.kind) },
    );
    expect(result).toBe('signed');
    expect(retries).toEqual(['throttled', 'unavailable', 'unavailable']);
  });

  it('stops after the attempts allowed, naming service, key and advice', async () => {
    let calls = 0;
    const error = await callRemote(
      async () => {
        calls++;
        throw new Http(503);
      },
      { ...base, attempts: 3 },
    ).catch((e) => e);
    expect(calls).toBe(3);
    expect(error).toBeInstanceOf(SignetError);
    expect(error.code).toBe('E_PROVIDER');
    expect(error.message).toMatch(/^Test KMS failed to sign with testkms:\/\/key \(HTTP 503\): check the endpoint/);
  });

  it.each([
    [403, 'E_PERMISSION'],
    [401, 'E_PERMISSION'],
    [404, 'E_KEY_NOT_FOUND'],
    [400, 'E_KEY'],
  ])('fails at once on %s with %s', async (status, code) => {
    let calls = 0;
    await expect(
      callRemote(async () => {
        calls++;
        throw new Http(status);
      }, base),
    ).rejects.toMatchObject({ code });
    expect(calls).toBe(1);
  });

  it('reports a disabled key with its own code', async () => {
    await expect(
      callRemote(
        async () => {
          throw new Error('KMSInvalidStateException');
        },
        { ...base, classify: () => ({ kind: 'disabled', detail: 'key is disabled' }) },
      ),
    ).rejects.toMatchObject({ code: 'E_KEY_DISABLED', message: expect.stringContaining('enable the key') });
  });

  it('gives up at the deadline, aborting the call in flight', async () => {
    let aborted = false;
    const started = Date.now();
    await expect(
      callRemote(
        (signal) =>
          new Promise((_, reject) =>
            signal.addEventListener('abort', () => {
              aborted = true;
              reject(new Error('aborted'));
            }),
          ),
        { ...base, deadlineMs: 100 },
      ),
    ).rejects.toMatchObject({ code: 'E_PROVIDER', message: expect.stringContaining('deadline') });
    expect(aborted).toBe(true);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('honours Retry-After', () => {
    expect(failureFromStatus(429, undefined, '2')).toEqual({ kind: 'throttled', detail: undefined, retryAfterMs: 2000 });
    expect(isConnectionError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isConnectionError(new Error('x'))).toBe(false);
  });
});

describe('remoteError: what every provider error says, and never', () => {
  const PIN = 'Pin-4711-secret';

  it('names the key by its display form, whatever the provider passed', () => {
    const error = remoteError(
      { kind: 'not-found', detail: 'no such object' },
      { service: 'PKCS#11', keyRef: `pkcs11:token=t;object=o;pin-value=${PIN}`, action: 'open the key' },
    );
    expect(error.message).toBe(
      'PKCS#11 refused to open the key with pkcs11:token=t;object=o;pin-value=[redacted] (no such object): check the key name, its version and the region or project',
    );
  });

  it("redacts the service's words, which SDKs fill with the request they sent", () => {
    const detail = `403 for https://kms.example.com/sign?X-Amz-Signature=${PIN} (Authorization: Bearer ${PIN})`;
    const error = remoteError({ kind: 'permission', detail }, { service: 'Test KMS', keyRef: 'testkms://key', action: 'sign' });
    expect(error.code).toBe('E_PERMISSION');
    expect(error.message).not.toContain(PIN);
  });

  it('keeps a cause that can be logged: name, code and status, and no secret', async () => {
    const sdkError = Object.assign(new Error(`refused the request (Authorization: Bearer ${PIN})`), {
      name: 'ServiceError',
      code: 'AccessDenied',
      statusCode: 403,
      request: { headers: { authorization: `Bearer ${PIN}` } },
    });
    const error = await callRemote(
      async () => {
        throw sdkError;
      },
      { ...base, keyRef: `testkms://user:${PIN}@host/key`, classify: () => ({ kind: 'permission', detail: sdkError.message }) },
    ).catch((e: SignetError) => e);
    expect(inspect(error, { depth: 10 })).not.toContain(PIN);
    expect(error.cause).toMatchObject({ name: 'ServiceError', code: 'AccessDenied', statusCode: 403 });
  });

  it('says that no usable credentials were found, rather than that the service refused', () => {
    const error = remoteError(
      { kind: 'unauthenticated', detail: 'no credentials were found' },
      { service: 'Test KMS', keyRef: 'testkms://key', action: 'sign' },
    );
    expect(error.code).toBe('E_PERMISSION');
    expect(error.message).toMatch(/^no usable credentials for Test KMS to sign with testkms:\/\/key \(no credentials were found\)/);
  });
});

describe('ecdsaRawToDer', () => {
  it.each([
    ['P-256', 'sha256'],
    ['P-384', 'sha384'],
    ['P-521', 'sha512'],
  ])('turns raw r||s on %s into DER that OpenSSL verifies, leading zeros included', (namedCurve, hash) => {
    const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve });
    // Sign until r or s has a leading zero byte, so fixed-width handling is exercised.
    for (let i = 0; i < 2000; i++) {
      const data = Buffer.from(`message ${i}`);
      const raw = crypto.sign(hash, data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
      const half = raw.length / 2;
      if (raw[0] !== 0 && raw[half] !== 0 && i < 1999) continue;
      expect(crypto.verify(hash, data, publicKey, ecdsaRawToDer(raw))).toBe(true);
      return;
    }
  });

  it('refuses a length that matches no curve', () => {
    expect(() => ecdsaRawToDer(Buffer.alloc(10))).toThrow(/no supported curve/);
  });
});
