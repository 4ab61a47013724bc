// What the plugins emit for a `browser` build (the ./build entry, as they load it: dist/build.cjs).
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const build = require('../dist/build.cjs') as typeof import('../src/build.cjs');

const pem = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
const sri = (text: string) => `sha384-${crypto.createHash('sha384').update(text).digest('base64')}`;
const files = new Map<string, string>([
  [
    'index.html',
    '<!doctype html><html><head><meta charset="utf-8"><script type="module" crossorigin src="/assets/app.js"></script><link rel="stylesheet" href="/assets/app.css"><link rel="icon" href="/favicon.svg"><script src="https://cdn.example/x.js"></script></head><body></body></html>',
  ],
  ['assets/app.js', 'import("./lazy.js")'],
  ['assets/lazy.js', 'export default 1'],
  ['assets/app.css', 'body{}'],
  ['favicon.svg', '<svg/>'],
]);
const input = {
  label: 'signet',
  options: {},
  base: '/',
  manifestPath: '.well-known/signet/manifest.sigstore.json',
  signerPublicKey: pem,
  files,
  enforceIntegrity: true,
};

test('refuses options that cannot work: keys and identity, an unknown mode, a pass-through that is not a folder, an identity without issuer', () => {
  for (const [options, message] of [
    [{ keys: [pem], identity: { subject: 's', issuer: 'i' } }, 'keys or identity, not both'],
    [{ mode: 'block' }, "mode is 'enforce' or 'report'"],
    [{ passThrough: ['api'] }, 'must be a folder prefix'],
    // "/api" would also let "/api-docs.html" through.
    [{ passThrough: ['/api'] }, 'must be a folder prefix'],
    [{ identity: { subject: 's' } }, 'one of issuer/issuerRegExp'],
  ] as const) {
    expect(() => build.checkBrowserOptions('signet', options as never)).toThrow(
      expect.objectContaining({ code: 'E_USAGE', message: expect.stringContaining(message) }),
    );
  }
});

test('refuses a pass-through prefix that covers a signed file, a base that is not a same-origin path, and keyless without a trusted root', () => {
  expect(() => build.browserBuild({ ...input, options: { passThrough: ['/assets/'] } })).toThrow(
    /would let assets\/app.js, a signed file, through unchecked/,
  );
  expect(() => build.browserBuild({ ...input, base: 'https://cdn.example/' })).toThrow(/must be a path such as "\/"/);
  expect(() => build.browserBuild({ ...input, options: { identity: { subject: 's', issuer: 'i' } } })).toThrow(/keyless needs trustedRoot/);
  expect(() => build.browserBuild({ ...input, signerPublicKey: undefined })).toThrow(/give keys/);
});

test('keyless without a trusted root named embeds the one the plugin fetched at build time (public-good), a named one wins', () => {
  const fetched = {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [{ baseUrl: 'https://rekor.sigstore.dev' }],
  };
  const identity = { subject: 's', issuer: 'i' };
  const configOf = (worker: string) => JSON.parse(/^self\.SIGNET_CONFIG = (.*);$/m.exec(worker)?.[1] ?? '{}');
  const embedded = build.browserBuild({ ...input, options: { identity }, defaultTrustedRoot: fetched });
  expect(configOf(embedded.added.get('signet-sw.js') as string).policy).toMatchObject({ identities: [identity], trustedRoot: fetched });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-root-'));
  const named = { mediaType: fetched.mediaType, tlogs: [] };
  fs.writeFileSync(path.join(dir, 'root.json'), JSON.stringify(named));
  const chosen = build.browserBuild({
    ...input,
    options: { identity, trustedRoot: path.join(dir, 'root.json') },
    defaultTrustedRoot: fetched,
  });
  expect(configOf(chosen.added.get('signet-sw.js') as string).policy.trustedRoot).toEqual(named);
  fs.rmSync(dir, { recursive: true });
});

test('emits the worker with its policy, the bootstrap and the headers, and gives the page integrity, an import map and the bootstrap', () => {
  const { added, changed } = build.browserBuild({
    ...input,
    options: { passThrough: ['/api/'], reportUrl: '/api/report', mode: 'report' },
  });
  expect([...added.keys()].sort()).toEqual(['.well-known/signet/headers.txt', 'signet-bootstrap.js', 'signet-sw.js']);
  const worker = added.get('signet-sw.js') as string;
  const config = JSON.parse(/^self\.SIGNET_CONFIG = (.*);$/m.exec(worker)?.[1] ?? '{}');
  expect(config).toMatchObject({
    manifest: '/.well-known/signet/manifest.sigstore.json',
    base: '/',
    mode: 'report',
    passThrough: ['/api/'],
    reportUrl: '/api/report',
  });
  expect(config.policy.keys[0].jwk).toMatchObject({ kty: 'EC', crv: 'P-256' });
  const html = changed.get('index.html') as string;
  expect(html).toContain(`<script type="module" crossorigin src="/assets/app.js" integrity="${sri('import("./lazy.js")')}">`);
  expect(html).toContain(`<link rel="stylesheet" href="/assets/app.css" integrity="${sri('body{}')}" crossorigin="anonymous">`);
  // Not a script or style: no integrity. Another origin: not this build's.
  expect(html).toContain('<link rel="icon" href="/favicon.svg">');
  expect(html).toContain('<script src="https://cdn.example/x.js"></script>');
  // The import map, then the bootstrap, right after <meta charset>, before any module script.
  const map = JSON.parse(/<script type="importmap">(.*?)<\/script>/.exec(html)?.[1] ?? '{}');
  expect(map.integrity).toEqual({ '/assets/app.js': sri('import("./lazy.js")'), '/assets/lazy.js': sri('export default 1') });
  expect(html.indexOf('<meta charset="utf-8">')).toBeLessThan(html.indexOf('importmap'));
  expect(html.indexOf('signet-bootstrap.js')).toBeLessThan(html.indexOf('src="/assets/app.js"'));
  const headers = added.get('.well-known/signet/headers.txt') as string;
  const mapText = /<script type="importmap">(.*?)<\/script>/.exec(html)?.[1] as string;
  expect(headers).toContain(`script-src 'self' 'sha256-${crypto.createHash('sha256').update(mapText).digest('base64')}'`);
  expect(headers).toMatch(/^Integrity-Policy: blocked-destinations=\(script\)$/m);
  expect(build.browserBuild({ ...input, enforceIntegrity: false }).added.get('.well-known/signet/headers.txt')).toMatch(
    /^Integrity-Policy-Report-Only: blocked-destinations=\(script\)$/m,
  );
});

test('the manifest time: SOURCE_DATE_EPOCH when set, else now', () => {
  expect(build.buildTime({ SOURCE_DATE_EPOCH: '1767225600' }).toISOString()).toBe('2026-01-01T00:00:00.000Z');
  expect(Math.abs(build.buildTime({}).getTime() - Date.now())).toBeLessThan(5_000);
});
