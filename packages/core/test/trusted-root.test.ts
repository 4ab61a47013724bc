import fs from 'node:fs';
import path from 'node:path';
import { TufRepositoryEmulator } from '@signet/emulators/sigstore';
import { embeddedTrustedRoot, loadTrustedRoot, parseTrustedRoot, readTrustedRoot } from '../src';
import { useTmpDir } from './helpers/tmp';

const tmp = useTmpDir();

const root = {
  mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
  tlogs: [
    {
      baseUrl: 'https://rekor.example',
      hashAlgorithm: 'SHA2_256',
      publicKey: {
        rawBytes:
          'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE2G2Y+2tabdTV5BcGiBIx0a9fAFwrkBbmLSGtks4L3qX6yYY0zufBnhC8Ur/iy55GhWP/9A/bY2LhC30M9+RYtw==',
        keyDetails: 'PKIX_ECDSA_P256_SHA_256',
        validFor: { start: '2021-01-12T11:53:27Z' },
      },
      logId: { keyId: 'wNI9atQGlz+VWfO6LRygH4QUfY/8W4RFwiT5i5WRgB0=' },
    },
  ],
  certificateAuthorities: [],
  ctlogs: [],
  timestampAuthorities: [],
};

describe('trusted roots', () => {
  it('reads a well-formed root', () => {
    expect(parseTrustedRoot(root).tlogs).toHaveLength(1);
  });

  it('refuses a log without the start of its validity (sigstore-js would treat it as valid forever)', () => {
    const broken = structuredClone(root);
    const log = broken.tlogs[0] as (typeof broken.tlogs)[number];
    log.publicKey.validFor = {} as { start: string };
    expect(() => parseTrustedRoot(broken)).toThrow(
      expect.objectContaining({ code: 'E_TRUST_ROOT', message: expect.stringContaining('tlogs[0] (https://rekor.example)') }),
    );
  });

  it('reads a log key without validFor as valid without bounds (protobuf-specs: optional)', () => {
    const unbounded = structuredClone(root) as { tlogs: { publicKey: { validFor?: unknown } }[] };
    delete unbounded.tlogs[0]?.publicKey.validFor;
    expect(parseTrustedRoot(unbounded).tlogs[0]?.publicKey?.validFor).toBeUndefined();
  });

  it("starts a CA's or TSA's validity without a start where its certificate chain starts", () => {
    const publicGood = embeddedTrustedRoot();
    const ca = publicGood.certificateAuthorities[1];
    const json = JSON.parse(JSON.stringify({ ...root, certificateAuthorities: [{ ...ca, validFor: {} }] }));
    json.certificateAuthorities[0].certChain = {
      certificates: ca?.certChain?.certificates.map((c) => ({ rawBytes: Buffer.from(c.rawBytes).toString('base64') })),
    };
    const parsed = parseTrustedRoot(json).certificateAuthorities[0];
    // Fulcio's intermediate, the later of the chain's two notBefore dates.
    expect(parsed?.validFor?.start?.toISOString()).toBe('2022-04-13T20:06:15.000Z');
    json.certificateAuthorities[0].certChain = { certificates: [] };
    expect(() => parseTrustedRoot(json)).toThrow(
      expect.objectContaining({ code: 'E_TRUST_ROOT', message: expect.stringContaining('no certificates') }),
    );
  });

  it('refuses something that is not a trusted root', async () => {
    expect(() => parseTrustedRoot({ mediaType: 'application/json' })).toThrow(expect.objectContaining({ code: 'E_TRUST_ROOT' }));
    const file = path.join(tmp(), 'root.json');
    fs.writeFileSync(file, '{');
    await expect(readTrustedRoot(file)).rejects.toMatchObject({ code: 'E_TRUST_ROOT' });
    await expect(readTrustedRoot(path.join(tmp(), 'missing.json'))).rejects.toMatchObject({ code: 'E_INPUT' });
  });
});

describe('loadTrustedRoot through TUF', () => {
  const tuf = new TufRepositoryEmulator();
  const trustedRoot = JSON.stringify(root);
  beforeAll(() => tuf.start());
  afterAll(() => tuf.stop());

  function options(dir: string) {
    fs.writeFileSync(path.join(dir, 'tuf-root.json'), tuf.rootJson);
    return { tufMirror: tuf.url, tufRootPath: path.join(dir, 'tuf-root.json'), cacheDir: path.join(dir, 'cache') };
  }

  it('fetches and caches the root, and refreshes it every time', async () => {
    tuf.publish([{ name: 'trusted_root.json', content: trustedRoot }]);
    const dir = tmp();
    expect((await loadTrustedRoot(options(dir))).tlogs[0]?.baseUrl).toBe('https://rekor.example');
    const timestamps = tuf.calls('Timestamp').length;
    await loadTrustedRoot(options(dir));
    expect(tuf.calls('Timestamp').length).toBe(timestamps + 1);
  });

  it('refuses a repository whose timestamp has expired (a frozen repository): E_PROVIDER', async () => {
    tuf.publish([{ name: 'trusted_root.json', content: trustedRoot }], { timestampExpires: new Date(Date.now() - 60_000) });
    await expect(loadTrustedRoot(options(tmp()))).rejects.toMatchObject({
      code: 'E_PROVIDER',
      message: expect.stringMatching(
        /could not refresh trusted_root\.json through TUF from http:\/\/127\.0\.0\.1:\d+: .*serves expired metadata/,
      ),
    });
  });

  it('never falls back to a cached root whose metadata has expired since', async () => {
    tuf.publish([{ name: 'trusted_root.json', content: trustedRoot }]);
    const dir = tmp();
    await loadTrustedRoot(options(dir));
    // Thirteen months on, every piece of metadata (cached and served) has expired.
    jest.useFakeTimers({
      now: Date.now() + 400 * 24 * 3600_000,
      doNotFake: [
        'nextTick',
        'setImmediate',
        'setTimeout',
        'setInterval',
        'clearTimeout',
        'clearInterval',
        'clearImmediate',
        'queueMicrotask',
        'hrtime',
        'performance',
      ],
    });
    try {
      await expect(loadTrustedRoot(options(dir))).rejects.toMatchObject({
        code: 'E_PROVIDER',
        message: expect.stringContaining('expired'),
      });
    } finally {
      jest.useRealTimers();
    }
  });

  it('fails with E_PROVIDER naming the mirror when it cannot be reached, with a cache or without', async () => {
    tuf.publish([{ name: 'trusted_root.json', content: trustedRoot }]);
    const dir = tmp();
    const fromTuf = options(dir);
    await loadTrustedRoot(fromTuf);
    const url = tuf.url;
    await tuf.stop();
    try {
      await expect(loadTrustedRoot(fromTuf)).rejects.toMatchObject({
        code: 'E_PROVIDER',
        message: expect.stringContaining(`could not refresh trusted_root.json through TUF from ${url}: could not reach`),
      });
    } finally {
      await tuf.start();
    }
  });

  it('refuses a mirror over plain HTTP that is not loopback, before connecting', async () => {
    await expect(loadTrustedRoot({ tufMirror: 'http://tuf.example', tufRootPath: path.join(tmp(), 'none.json') })).rejects.toMatchObject({
      code: 'E_INPUT',
    });
    fs.writeFileSync(path.join(tmp(), 'root.json'), tuf.rootJson);
    await expect(
      loadTrustedRoot({ tufMirror: 'http://tuf.example', tufRootPath: path.join(tmp(), 'root.json'), cacheDir: path.join(tmp(), 'c') }),
    ).rejects.toMatchObject({ code: 'E_PROVIDER', message: expect.stringContaining('over plain HTTP') });
  });
});
