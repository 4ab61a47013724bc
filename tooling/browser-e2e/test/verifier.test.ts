// @signet/verify-browser in Chromium, judging the same manifest bundles as @signet/core in Node:
// key-signed ones, one logged in Rekor (SET, inclusion proof, checkpoint), a keyless one (its
// own lazily loaded part: Fulcio certificate, SCT, Rekor, timestamp) from a local Sigstore
// stack, and mutants of them from the attack suite's mutation fuzz. Same verdict, same code.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import {
  isSignetError,
  LocalSigner,
  loadTrustedRoot,
  openSigner,
  parseBundle,
  parseTrustedRoot,
  type SigstoreServices,
  signBuild,
  type TrustedRoot,
  verifyManifestBundle,
} from '@signet/core';
import { SigstoreStack } from '@signet/emulators/sigstore';
import type { Browser, Page } from 'playwright-core';
import { describeInChromium, launchChromium } from '../src/chromium';

const { mutateOne, prng } = require('@signet/attacks/fuzz/mutation-fuzz') as typeof import('@signet/attacks/fuzz/mutation-fuzz');

type Outcome = { accepted: true; signer: string; files: [string, string][] } | { accepted: false; code: string };
interface Case {
  name: string;
  json: Record<string, unknown>;
  artifact: Buffer;
  core: Parameters<typeof verifyManifestBundle>[1];
  browser: Record<string, unknown>;
  root?: TrustedRoot;
}

const FILES = [
  { name: 'index.html', data: '<!doctype html><script type="module" src="/app.js"></script>' },
  { name: 'app.js', data: 'console.log(1)' },
];

describeInChromium('@signet/verify-browser in Chromium against @signet/core', () => {
  const stack = new SigstoreStack();
  let browser: Browser;
  let page: Page;
  let server: http.Server;
  const cases: Case[] = [];
  let repositoryManifest: Record<string, unknown>;
  let p256Key: crypto.KeyObject;

  beforeAll(async () => {
    await stack.start();
    const root = await loadTrustedRoot({ trustedRootPath: stack.trustedRootPath });
    const rootJson = JSON.parse(fs.readFileSync(stack.trustedRootPath, 'utf8'));
    const services: SigstoreServices = {
      fulcioURL: stack.fulcio.url,
      rekorURL: stack.rekor.url,
      tsaURL: stack.tsa.url,
      retries: 1,
      timeoutMs: 5_000,
    };
    const info = { bundler: { name: 'test', version: '1' }, outputDir: 'dist', createdAt: new Date(Date.UTC(2026, 5, 1)) };
    for (const [name, type, options] of [
      ['ecdsa-p256', 'ec', { namedCurve: 'P-256' }],
      ['ed25519', 'ed25519', {}],
      ['rsa-3072', 'rsa', { modulusLength: 3072 }],
    ] as const) {
      const { privateKey, publicKey } = crypto.generateKeyPairSync(
        type as 'ec',
        options as crypto.ECKeyPairOptions<'pem', 'pem'>,
      ) as unknown as crypto.KeyPairKeyObjectResult;
      const signer = new LocalSigner(name, privateKey);
      if (name === 'ecdsa-p256') p256Key = privateKey;
      const core = { keys: [{ publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(), name }] };
      const keys = [{ jwk: publicKey.export({ format: 'jwk' }), name }];
      const plain = await signBuild(FILES, info, signer);
      cases.push({ name: `${name} manifest`, json: JSON.parse(plain.bundleJson), artifact: Buffer.alloc(0), core, browser: { keys } });
      if (name === 'ecdsa-p256') {
        // Logged in Rekor v1 (no timestamp authority): the browser checks SET, proof and checkpoint.
        const logged = await signBuild(FILES, info, signer, {
          tlogUpload: true,
          timestamp: false,
          services: { rekorURL: stack.rekor.url, retries: 1, timeoutMs: 5_000 },
        });
        cases.push({
          name: 'logged manifest',
          json: JSON.parse(logged.bundleJson),
          artifact: Buffer.alloc(0),
          core: { ...core, tlogThreshold: 1 },
          browser: { keys, tlogThreshold: 1, trustedRoot: rootJson },
          root,
        });
      }
    }
    const identityToken = await stack.mintToken({ email: 'release@example.com' });
    const keyless = await signBuild(FILES, info, await openSigner('keyless', { identityToken, services }), { services });
    const identities = [{ subject: 'release@example.com', issuer: stack.oidc.url }];
    const fromRepository = await stack.mintToken({ email: 'release@example.com', claims: { repository: 'acme/web' } });
    repositoryManifest = JSON.parse(
      (await signBuild(FILES, info, await openSigner('keyless', { identityToken: fromRepository, services }), { services })).bundleJson,
    );
    cases.push({
      name: 'keyless manifest',
      json: JSON.parse(keyless.bundleJson),
      artifact: Buffer.alloc(0),
      core: { identities },
      browser: { identities, trustedRoot: rootJson },
      root,
    });

    // verify-browser as a page would load it: bundled by esbuild, served from 127.0.0.1.
    const { build } = await import('esbuild');
    const entry = require.resolve('@signet/verify-browser');
    const bundled = await build({ entryPoints: [entry], bundle: true, format: 'esm', platform: 'browser', write: false, minify: true });
    const script = bundled.outputFiles[0]?.text ?? '';
    server = http.createServer((request, response) => {
      if (request.url === '/verify.js') response.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
      else
        response
          .writeHead(200, { 'content-type': 'text/html' })
          .end(
            '<!doctype html><title>verify</title><script type="module">import * as v from "/verify.js"; window.verify = v; window.loaded = true;</script>',
          );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    browser = await launchChromium();
    page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    await page.waitForFunction(() => (window as unknown as { loaded?: boolean }).loaded === true);
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    server?.closeAllConnections();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    stack.stop();
  });

  async function inNode(json: unknown, c: Case): Promise<Outcome> {
    try {
      const { verified, files } = await verifyManifestBundle(parseBundle(json), c.core, { ...(c.root && { trustedRoot: c.root }) });
      return {
        accepted: true,
        signer: verified.signer.kind === 'key' ? verified.signer.fingerprint : verified.signer.subject,
        files: [...files],
      };
    } catch (error) {
      if (!isSignetError(error)) throw error;
      return { accepted: false, code: error.code };
    }
  }

  function inChromium(items: { json: unknown; policy: Record<string, unknown> }[]): Promise<Outcome[]> {
    return page.evaluate(async (list) => {
      const v = (
        window as unknown as {
          verify: {
            verifyManifest: (
              b: unknown,
              p: unknown,
            ) => Promise<{ signer: { kind: string; fingerprint?: string; subject?: string }; files: Map<string, string> }>;
          };
        }
      ).verify;
      const out = [];
      for (const { json, policy } of list) {
        try {
          const verified = await v.verifyManifest(json, policy);
          out.push({
            accepted: true,
            signer: (verified.signer.kind === 'key' ? verified.signer.fingerprint : verified.signer.subject) as string,
            files: [...verified.files],
          });
        } catch (error) {
          out.push({ accepted: false, code: String((error as { code?: string }).code ?? `crash: ${error}`) });
        }
      }
      return out;
    }, items) as Promise<Outcome[]>;
  }

  test('each kind of manifest is accepted in Chromium as in Node: keys (ECDSA, Ed25519, RSA), a Rekor entry, keyless', async () => {
    const browserSide = await inChromium(cases.map((c) => ({ json: c.json, policy: c.browser })));
    const nodeSide = await Promise.all(cases.map((c) => inNode(c.json, c)));
    expect(browserSide.map((o, i) => ({ case: cases[i]?.name, ...o }))).toEqual(nodeSide.map((o, i) => ({ case: cases[i]?.name, ...o })));
    expect(nodeSide.every((o) => o.accepted)).toBe(true);
  }, 60_000);

  test('a keyless manifest of another identity, and a logged one whose entry is not in the trusted log, are refused in both', async () => {
    const keyless = cases.find((c) => c.name === 'keyless manifest') as Case;
    const logged = cases.find((c) => c.name === 'logged manifest') as Case;
    const otherIdentity = [{ subject: 'attacker@example.com', issuer: stack.oidc.url }];
    const noLog = { ...(logged.browser.trustedRoot as Record<string, unknown>), tlogs: [] };
    const checks = [
      {
        json: keyless.json,
        policy: { ...keyless.browser, identities: otherIdentity },
        core: { identities: otherIdentity },
        root: keyless.root,
      },
      {
        json: logged.json,
        policy: { ...logged.browser, trustedRoot: noLog },
        core: logged.core,
        root: { ...(logged.root as TrustedRoot), tlogs: [] },
      },
    ];
    const browserSide = await inChromium(checks.map((c) => ({ json: c.json, policy: c.policy })));
    const nodeSide = await Promise.all(checks.map((c) => inNode(c.json, { ...keyless, core: c.core, root: c.root })));
    expect(browserSide.every((o) => !o.accepted)).toBe(true);
    expect(nodeSide.every((o) => !o.accepted)).toBe(true);
    expect(browserSide.map((o) => (o as { code: string }).code)).toEqual(['E_POLICY', 'E_TLOG']);
  }, 60_000);

  test('a keyless manifest with no verified time (SET and timestamps removed, the inclusion proof kept) is refused in Chromium as in Node', async () => {
    const keyless = cases.find((c) => c.name === 'keyless manifest') as Case;
    const json = structuredClone(keyless.json) as {
      verificationMaterial: { tlogEntries: Record<string, unknown>[]; timestampVerificationData?: unknown };
    };
    const entry = json.verificationMaterial.tlogEntries[0] as Record<string, unknown>;
    expect(entry.inclusionProof).toBeDefined();
    delete entry.inclusionPromise;
    const variants = [
      { ...json, verificationMaterial: { ...json.verificationMaterial, timestampVerificationData: undefined } },
      { ...json, verificationMaterial: { ...json.verificationMaterial, timestampVerificationData: {} } },
      { ...json, verificationMaterial: { ...json.verificationMaterial, timestampVerificationData: { rfc3161Timestamps: [] } } },
    ].map((v) => JSON.parse(JSON.stringify(v)));
    const browserSide = await inChromium(variants.map((v) => ({ json: v, policy: keyless.browser })));
    const nodeSide = await Promise.all(variants.map((v) => inNode(v, keyless)));
    expect(nodeSide.map((o) => o.accepted)).toEqual([false, false, false]);
    expect(browserSide).toEqual(nodeSide);
    // Its RFC 3161 timestamp alone is a trusted time: without the SET it still verifies, in both.
    const timestamped = JSON.parse(JSON.stringify(json));
    const [inBrowser] = await inChromium([{ json: timestamped, policy: keyless.browser }]);
    expect(inBrowser).toEqual(await inNode(timestamped, keyless));
    expect(inBrowser?.accepted).toBe(true);
  }, 60_000);

  // Found by review, each accepted in Chromium before: log entries counted twice, a checkpoint
  // line that is not a pattern, a trusted root's empty end or checkpoint key ID, a BOM, a
  // repository rule looser than core's, a rule with two subjects.
  describe('log entries, checkpoints, roots and identities, as core judges them', () => {
    type Json = Record<string, unknown>;
    type Entry = Json & {
      logIndex: string;
      integratedTime: string;
      logId: { keyId: string };
      inclusionProof: { checkpoint: { envelope: string } };
    };
    const entriesOf = (json: Json) => (json.verificationMaterial as { tlogEntries: Entry[] }).tlogEntries;
    const named = (name: string) => cases.find((c) => c.name === name) as Case;

    /** Both sides' verdicts on each variant: 'accepted' or the code. */
    async function verdicts(items: { json: Json; c: Case; browser?: Record<string, unknown>; core?: Case['core']; root?: TrustedRoot }[]) {
      const browserSide = await inChromium(items.map((i) => ({ json: i.json, policy: i.browser ?? i.c.browser })));
      const nodeSide = await Promise.all(items.map((i) => inNode(i.json, { ...i.c, core: i.core ?? i.c.core, root: i.root ?? i.c.root })));
      const verdict = (o: Outcome) => (o.accepted ? 'accepted' : o.code);
      return items.map((_, i) => ({ browser: verdict(browserSide[i] as Outcome), core: verdict(nodeSide[i] as Outcome) }));
    }

    function withCopy(c: Case, edit: (entry: Entry) => void): Json {
      const json = structuredClone(c.json);
      const copy = structuredClone(entriesOf(json)[0] as Entry);
      edit(copy);
      entriesOf(json).push(JSON.parse(JSON.stringify(copy)));
      return json;
    }

    test('a copy of the one log entry is not a second entry (exact, its SET removed, its time or index spelled 0N)', async () => {
      const edits: ((entry: Entry) => void)[] = [
        () => undefined,
        (entry) => delete entry.inclusionPromise,
        (entry) => (entry.integratedTime = `0${entry.integratedTime}`),
        (entry) => (entry.logIndex = `0${entry.logIndex}`),
      ];
      const logged = named('logged manifest');
      const keyless = named('keyless manifest');
      const twice = { ...logged.browser, tlogThreshold: 2 };
      const results = await verdicts([
        ...edits.map((edit) => ({ json: withCopy(logged, edit), c: logged, browser: twice, core: { ...logged.core, tlogThreshold: 2 } })),
        ...edits.map((edit) => ({ json: withCopy(keyless, edit), c: keyless })),
      ]);
      for (const result of results) {
        expect(result.browser).not.toBe('accepted');
        expect(result.core).not.toBe('accepted');
      }
      // A respelled number is malformed to the browser, a second copy to core.
      expect(results.map((r) => r.browser)).toEqual([
        'E_TLOG',
        'E_TLOG',
        'E_BUNDLE',
        'E_BUNDLE',
        'E_TLOG',
        'E_TLOG',
        'E_BUNDLE',
        'E_BUNDLE',
      ]);
    }, 60_000);

    test('a checkpoint line whose name is not a pattern, put before the genuine signature, is refused (E_BUNDLE), key and keyless', async () => {
      const items = ['logged manifest', 'keyless manifest'].map((name) => {
        const c = named(name);
        const json = structuredClone(c.json);
        const entry = entriesOf(json)[0] as Entry;
        const envelope = entry.inclusionProof.checkpoint.envelope;
        const split = envelope.indexOf('\n\n') + 2;
        const hint = Buffer.from(entry.logId.keyId, 'base64').subarray(0, 4);
        const line = `\u2014 ( ${Buffer.concat([hint, Buffer.from([1, 2, 3])]).toString('base64')}\n`;
        entry.inclusionProof.checkpoint.envelope = envelope.slice(0, split) + line + envelope.slice(split);
        return { json, c };
      });
      expect(await verdicts(items)).toEqual([
        { browser: 'E_BUNDLE', core: 'E_BUNDLE' },
        { browser: 'E_BUNDLE', core: 'E_BUNDLE' },
      ]);
    }, 60_000);

    test('a trusted root whose log has an empty validFor.end, or names another checkpoint key ID, does not vouch for the entry', async () => {
      const logged = named('logged manifest');
      const emptyEnd = structuredClone(logged.browser.trustedRoot) as {
        tlogs: { publicKey: { validFor?: { start?: string; end?: string } } }[];
      };
      for (const log of emptyEnd.tlogs)
        log.publicKey.validFor = { start: log.publicKey.validFor?.start ?? '2000-01-01T00:00:00Z', end: '' };
      const otherKeyId = structuredClone(logged.browser.trustedRoot) as { tlogs: Json[] };
      (otherKeyId.tlogs[0] as Json).checkpointKeyId = { keyId: Buffer.alloc(32, 7).toString('base64') };
      const results = await verdicts(
        [emptyEnd, otherKeyId].map((root) => ({
          json: logged.json,
          c: logged,
          browser: { ...logged.browser, trustedRoot: root },
          root: parseTrustedRoot(root),
        })),
      );
      expect(results).toEqual([
        { browser: 'E_TRUST_ROOT', core: 'E_TRUST_ROOT' },
        { browser: 'E_TLOG', core: 'E_TLOG' },
      ]);
    }, 60_000);

    test('a validly signed payload that starts with a byte order mark is not JSON (E_BUNDLE)', async () => {
      const c = named('ecdsa-p256 manifest');
      const json = structuredClone(c.json) as { dsseEnvelope: { payload: string; payloadType: string; signatures: { sig: string }[] } };
      const payload = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(json.dsseEnvelope.payload, 'base64')]);
      const type = json.dsseEnvelope.payloadType;
      const pae = Buffer.concat([Buffer.from(`DSSEv1 ${Buffer.byteLength(type)} ${type} ${payload.length} `), payload]);
      json.dsseEnvelope.payload = payload.toString('base64');
      json.dsseEnvelope.signatures[0] = { sig: crypto.sign('sha256', pae, p256Key).toString('base64') };
      expect(await verdicts([{ json: json as unknown as Json, c }])).toEqual([{ browser: 'E_BUNDLE', core: 'E_BUNDLE' }]);
    }, 60_000);

    test("a sourceRepository rule matches the certificate's one value exactly, as in core", async () => {
      const keyless = named('keyless manifest');
      const rule = (sourceRepository: string) => [{ subject: 'release@example.com', issuer: stack.oidc.url, sourceRepository }];
      const results = await verdicts(
        ['https://github.com/acme/web', 'acme/web', 'https://github.com/https://github.com/acme/web'].map((repository) => ({
          json: repositoryManifest,
          c: keyless,
          browser: { ...keyless.browser, identities: rule(repository) },
          core: { identities: rule(repository) },
        })),
      );
      expect(results).toEqual([
        { browser: 'accepted', core: 'accepted' },
        { browser: 'E_POLICY', core: 'E_POLICY' },
        { browser: 'E_POLICY', core: 'E_POLICY' },
      ]);
    }, 60_000);

    test('an identity rule with both a subject and a subject pattern is refused (E_USAGE)', async () => {
      const keyless = named('keyless manifest');
      const identities = [{ subject: 'someone@example.com', subjectRegExp: '.*', issuer: stack.oidc.url }];
      const [browser] = await inChromium([{ json: keyless.json, policy: { ...keyless.browser, identities } }]);
      expect(browser).toEqual({ accepted: false, code: 'E_USAGE' });
    }, 60_000);
  });

  test('1,000 mutants of the key-signed and logged manifests: the same verdict and code in Chromium as in Node', async () => {
    const random = prng(20261208);
    const seeds = cases.filter((c) => c.name !== 'keyless manifest');
    const mutants = Array.from({ length: 1000 }, () => mutateOne(seeds, random));
    const browserSide = await inChromium(mutants.map((m) => ({ json: m.json, policy: m.seed.browser })));
    const differences: string[] = [];
    for (const [i, m] of mutants.entries()) {
      const node = await inNode(m.json, m.seed);
      if (JSON.stringify(node) !== JSON.stringify(browserSide[i])) {
        differences.push(
          `${m.seed.name}: ${m.applied.join('; ')} => node ${JSON.stringify(node).slice(0, 120)} / chromium ${JSON.stringify(browserSide[i]).slice(0, 120)}`,
        );
      }
    }
    expect(differences.slice(0, 10)).toEqual([]);
  }, 240_000);

  test('300 mutants of the keyless manifest: Chromium accepts none that Node refuses, and where it accepts, with the same claims (sigstore-browser is stricter on a few: a proof whose tree size or root disagrees with its checkpoint)', async () => {
    const random = prng(20261209);
    const seeds = cases.filter((c) => c.name === 'keyless manifest');
    const mutants = Array.from({ length: 300 }, () => mutateOne(seeds, random));
    const browserSide = await inChromium(mutants.map((m) => ({ json: m.json, policy: m.seed.browser })));
    const looser: string[] = [];
    const stricter: string[] = [];
    for (const [i, m] of mutants.entries()) {
      const node = await inNode(m.json, m.seed);
      const chromium = browserSide[i] as Outcome;
      const label = `${m.applied.join('; ')} => node ${JSON.stringify(node).slice(0, 100)} / chromium ${JSON.stringify(chromium).slice(0, 100)}`;
      if (chromium.accepted && JSON.stringify(chromium) !== JSON.stringify(node)) looser.push(label);
      if (node.accepted && !chromium.accepted) stricter.push(label);
    }
    expect(looser).toEqual([]);
    console.log(`keyless mutants Chromium refuses and Node accepts: ${stricter.length}\n${stricter.slice(0, 5).join('\n')}`);
  }, 240_000);
});

void path;
