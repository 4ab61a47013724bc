// Choosing Fulcio, Rekor logs and TSAs from a signing config as sigstore-go (and so cosign) does:
// validity windows at both ends, the highest API version, one service per operator, ANY / ALL /
// EXACT, and a clear refusal when too few qualify. And the config itself, through TUF.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SigstoreStack } from '@signet/emulators/sigstore';
import {
  CLIENT_TRUST_CONFIG_MEDIA_TYPE,
  loadSigningConfig,
  parseSigningConfigDocument,
  readSigningConfigFile,
  SIGNING_CONFIG_MEDIA_TYPE,
  selectServices,
} from '../src';

const NOW = new Date('2026-06-01T12:00:00Z');

function service(url: string, fields: { version?: number; start?: string; end?: string; operator?: string } = {}) {
  return {
    url,
    majorApiVersion: fields.version ?? 1,
    validFor: { start: fields.start ?? '2025-01-01T00:00:00Z', ...(fields.end ? { end: fields.end } : {}) },
    operator: fields.operator ?? 'sigstore.dev',
  };
}

function config(fields: Record<string, unknown> = {}) {
  return {
    mediaType: SIGNING_CONFIG_MEDIA_TYPE,
    caUrls: [service('https://fulcio.example')],
    oidcUrls: [service('https://oauth2.example')],
    rekorTlogUrls: [service('https://rekor.example')],
    rekorTlogConfig: { selector: 'ANY' },
    tsaUrls: [service('https://tsa.example/api/v1/timestamp')],
    tsaConfig: { selector: 'ANY' },
    ...fields,
  };
}

const select = (json: unknown, options: Parameters<typeof selectServices>[1] = {}) =>
  selectServices(parseSigningConfigDocument(json), { now: NOW, ...options });

describe('validity windows', () => {
  it('count both ends: a service is valid at its start and at its end, and not a millisecond outside', () => {
    const window = (start: string, end: string) => config({ caUrls: [service('https://fulcio.example', { start, end })] });
    expect(select(window(NOW.toISOString(), '2027-01-01T00:00:00Z'), { requireCA: true }).fulcioURL).toBe('https://fulcio.example');
    expect(select(window('2025-01-01T00:00:00Z', NOW.toISOString()), { requireCA: true }).fulcioURL).toBe('https://fulcio.example');
    expect(() => select(window('2026-06-01T12:00:00.001Z', '2027-01-01T00:00:00Z'), { requireCA: true })).toThrow(/no Fulcio/);
    expect(() => select(window('2025-01-01T00:00:00Z', '2026-06-01T11:59:59.999Z'), { requireCA: true })).toThrow(/no Fulcio/);
  });

  it('choose the newest of the services valid now', () => {
    const caUrls = [
      service('https://old-fulcio.example', { start: '2023-01-01T00:00:00Z' }),
      service('https://new-fulcio.example', { start: '2026-01-01T00:00:00Z' }),
      service('https://future-fulcio.example', { start: '2027-01-01T00:00:00Z' }),
    ];
    expect(select(config({ caUrls })).fulcioURL).toBe('https://new-fulcio.example');
  });
});

describe('Rekor API versions', () => {
  const rekorTlogUrls = [
    service('https://rekor.example', { version: 1, start: '2021-01-01T00:00:00Z' }),
    service('https://log2026.rekor.example', { version: 2, start: '2025-10-01T00:00:00Z' }),
  ];

  it('takes the highest version Signet speaks, and --rekor-version narrows it', () => {
    expect(select(config({ rekorTlogUrls })).rekorLogs).toEqual([{ url: 'https://log2026.rekor.example', version: 2 }]);
    expect(select(config({ rekorTlogUrls }), { rekorVersions: [1] }).rekorLogs).toEqual([{ url: 'https://rekor.example', version: 1 }]);
  });

  it('never mixes versions, and skips one Signet does not speak', () => {
    const withV3 = [...rekorTlogUrls, service('https://v3.example', { version: 3 })];
    expect(select(config({ rekorTlogUrls: withV3, rekorTlogConfig: { selector: 'ALL' } })).rekorLogs).toEqual([
      { url: 'https://log2026.rekor.example', version: 2 },
    ]);
  });

  it('refuses --rekor-version 2 when the config offers no v2 log valid now', () => {
    expect(() => select(config(), { rekorVersions: [2] })).toThrow(
      expect.objectContaining({
        code: 'E_INPUT',
        message: expect.stringContaining('names no Rekor log of API v2 valid at 2026-06-01T12:00:00.000Z'),
      }),
    );
  });
});

describe('selectors and operators', () => {
  const logs = [
    service('https://a1.example', { operator: 'a', start: '2025-01-01T00:00:00Z' }),
    service('https://a2.example', { operator: 'a', start: '2026-01-01T00:00:00Z' }),
    service('https://b.example', { operator: 'b' }),
    service('https://c.example', { operator: 'c', end: '2026-01-01T00:00:00Z' }),
  ];

  it('ALL: every operator with a log valid now, the newest of each', () => {
    const chosen = select(config({ rekorTlogUrls: logs, rekorTlogConfig: { selector: 'ALL' } })).rekorLogs?.map((log) => log.url);
    expect(chosen?.sort()).toEqual(['https://a2.example', 'https://b.example']);
  });

  it('ANY: one of them', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const chosen = select(config({ rekorTlogUrls: logs, rekorTlogConfig: { selector: 'ANY' } })).rekorLogs ?? [];
      expect(chosen).toHaveLength(1);
      seen.add(chosen[0]?.url as string);
    }
    // Never an older log of an operator, never an expired one.
    expect([...seen].every((url) => url === 'https://a2.example' || url === 'https://b.example')).toBe(true);
  });

  it('an absent selector is ANY', () => {
    expect(select(config({ rekorTlogUrls: logs, rekorTlogConfig: undefined })).rekorLogs).toHaveLength(1);
  });

  it('EXACT: that many distinct operators, or a clear refusal', () => {
    const two = select(config({ rekorTlogUrls: logs, rekorTlogConfig: { selector: 'EXACT', count: 2 } })).rekorLogs?.map((log) => log.url);
    expect(two?.sort()).toEqual(['https://a2.example', 'https://b.example']);
    expect(() => select(config({ rekorTlogUrls: logs, rekorTlogConfig: { selector: 'EXACT', count: 3 } }))).toThrow(
      'the signing config asks for exactly 3 Rekor logs of distinct operators, and only 2 of API v1 are valid at 2026-06-01T12:00:00.000Z',
    );
  });

  it('applies to timestamp authorities too', () => {
    const tsaUrls = [service('https://tsa1.example/t', { operator: 'x' }), service('https://tsa2.example/t', { operator: 'y' })];
    expect(select(config({ tsaUrls, tsaConfig: { selector: 'ALL' } })).tsaURLs?.sort()).toEqual([
      'https://tsa1.example/t',
      'https://tsa2.example/t',
    ]);
    expect(() => select(config({ tsaUrls, tsaConfig: { selector: 'EXACT', count: 3 } }))).toThrow(/exactly 3 timestamp authorities/);
    expect(select(config({ tsaUrls: [] })).tsaURLs).toEqual([]);
  });

  it('a signature that is not logged needs no log: requireLog false selects none', () => {
    const expired = [service('https://old.example', { end: '2025-06-01T00:00:00Z' })];
    expect(() => select(config({ rekorTlogUrls: expired }))).toThrow(/no Rekor log/);
    expect(select(config({ rekorTlogUrls: expired }), { requireLog: false }).rekorLogs).toEqual([]);
  });
});

describe('the document', () => {
  it('may be a ClientTrustConfig holding the signing config', () => {
    const wrapped = { mediaType: CLIENT_TRUST_CONFIG_MEDIA_TYPE, trustedRoot: {}, signingConfig: config() };
    expect(select(wrapped, { requireCA: true }).fulcioURL).toBe('https://fulcio.example');
  });

  it.each([
    [
      'another media type',
      { ...config(), mediaType: 'application/vnd.dev.sigstore.signingconfig.v0.1+json' },
      /not a Sigstore signing config v0.2/,
    ],
    ['a ClientTrustConfig without one', { mediaType: CLIENT_TRUST_CONFIG_MEDIA_TYPE }, /without a signingConfig/],
    [
      'a window without a start',
      config({ caUrls: [{ url: 'https://f.example', majorApiVersion: 1, validFor: { end: '2027-01-01T00:00:00Z' } }] }),
      /validFor without a start/,
    ],
    ['a time that is not one', config({ caUrls: [service('https://f.example', { start: 'yesterday' })] }), /not an RFC 3339 time/],
    ['a URL that is not one', config({ caUrls: [service('not a url')] }), /not a URL/],
    ['a URL that is not http(s)', config({ caUrls: [service('file:///etc/passwd')] }), /not http/],
    [
      'a version that is not a positive integer',
      config({ caUrls: [{ ...service('https://f.example'), majorApiVersion: 0 }] }),
      /majorApiVersion/,
    ],
    ['EXACT without a count', config({ rekorTlogConfig: { selector: 'EXACT' } }), /EXACT without a count/],
    ['an unknown selector', config({ tsaConfig: { selector: 'SOME' } }), /expected ANY, ALL or EXACT/],
    ['a list that is not one', config({ tsaUrls: 'https://tsa.example' }), /tsaUrls that is not a list/],
  ])('refuses %s (E_INPUT)', (_name, json, message) => {
    expect(() => parseSigningConfigDocument(json)).toThrow(
      expect.objectContaining({ code: 'E_INPUT', message: expect.stringMatching(message) }),
    );
  });

  it('from a file: not JSON, or not a regular file, is one clear line', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-signing-config-'));
    fs.writeFileSync(path.join(dir, 'bad.json'), '{');
    await expect(readSigningConfigFile(path.join(dir, 'bad.json'))).rejects.toMatchObject({
      code: 'E_INPUT',
      message: expect.stringContaining('not valid JSON'),
    });
    await expect(readSigningConfigFile(dir)).rejects.toMatchObject({ code: 'E_INPUT' });
    fs.rmSync(dir, { recursive: true });
  });
});

describe('through TUF', () => {
  const stack = new SigstoreStack();
  let cacheDir: string;
  beforeAll(async () => {
    await stack.start();
    cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-tuf-cache-'));
  }, 60_000);
  afterAll(async () => {
    await stack.stop();
    fs.rmSync(cacheDir, { recursive: true, force: true });
  });

  it("reads a private deployment's signing_config.v0.2.json with nothing but its mirror and root", async () => {
    const { config: loaded, code } = await loadSigningConfig({ tufMirror: stack.tuf.url, tufRootPath: stack.tufRootPath, cacheDir });
    expect(code).toBe('E_PROVIDER');
    expect(selectServices(loaded, { requireCA: true })).toMatchObject({
      fulcioURL: stack.fulcio.url,
      rekorLogs: [{ url: stack.rekor.url, version: 1 }],
    });
    expect(stack.tuf.calls('Target').map((call) => call.path)).toContain('/targets/signing_config.v0.2.json');
  });

  it('a mirror that is down is a failed provider naming the target', async () => {
    await expect(
      loadSigningConfig({
        tufMirror: 'http://127.0.0.1:9',
        tufRootPath: stack.tufRootPath,
        cacheDir: fs.mkdtempSync(path.join(os.tmpdir(), 'signet-tuf-')),
      }),
    ).rejects.toMatchObject({
      code: 'E_PROVIDER',
      message: expect.stringContaining('could not refresh signing_config.v0.2.json through TUF from http://127.0.0.1:9'),
    });
  });
});
