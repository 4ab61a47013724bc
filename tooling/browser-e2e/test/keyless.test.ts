// Keyless builds for the browser, end to end: each plugin signs its build with a Fulcio
// certificate from a local Sigstore stack (its `sigstore` option), the worker embeds the
// identity and the stack's trusted root, and Chromium runs the site through it. A deployment
// signed keyless by another identity of the same CA is the attack: the worker refuses it.
import fs from 'node:fs';
import path from 'node:path';
import { isSignetError, loadTrustedRoot, parseBundle, type SigstoreServices, verifyManifestBundle } from '@signet/core';
import { SigstoreStack } from '@signet/emulators/sigstore';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { type Bundler, buildApp, buildOutput, type KeylessBuild, workspace } from '../src/builds';
import { describeInChromium, launchChromium } from '../src/chromium';
import { SiteServer } from '../src/server';

const RELEASE = 'release@example.com';
const MALLORY = 'mallory@example.com';

describeInChromium('keyless builds in Chromium', () => {
  const stack = new SigstoreStack();
  let dir: string;
  let browser: Browser;
  let sigstore: SigstoreServices;

  /** How a build signs as `email`, with a worker that accepts only `release@example.com`. */
  async function keyless(email: string, trustedRoot: string | null = stack.trustedRootPath): Promise<KeylessBuild> {
    return {
      identityToken: await stack.mintToken({ email }),
      sigstore,
      identity: { subject: RELEASE, issuer: stack.oidc.url },
      trustedRoot: trustedRoot ?? undefined,
    };
  }

  beforeAll(async () => {
    await stack.start();
    sigstore = { fulcioURL: stack.fulcio.url, rekorURL: stack.rekor.url, tsaURL: stack.tsa.url, retries: 1, timeoutMs: 10_000 };
    dir = workspace().dir;
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await stack.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  describe.each<Bundler>(['vite', 'webpack'])('%s', (bundler) => {
    let current: string;
    let forged: string;
    let server: SiteServer;
    let origin: string;
    let context: BrowserContext;

    beforeAll(async () => {
      current = path.join(dir, `${bundler}-current`);
      forged = path.join(dir, `${bundler}-forged`);
      await buildApp(bundler, { out: current, key: '', keyless: await keyless(RELEASE) });
      // The attacker's deployment: a valid certificate from the same CA, for another identity,
      // signed a minute later so that it is not a rollback.
      await buildApp(bundler, {
        out: forged,
        key: '',
        variant: 'forged',
        keyless: await keyless(MALLORY),
        epoch: Math.floor(Date.now() / 1000) + 60,
      });
      server = new SiteServer(current);
      origin = await server.start();
    }, 240_000);

    afterAll(async () => {
      await server?.stop();
    });

    beforeEach(async () => {
      server.reset(current);
      context = await browser.newContext();
    });

    afterEach(async () => {
      await context?.close();
    });

    async function visit(): Promise<{ page: Page; errors: string[] }> {
      const errors: string[] = [];
      const page = await context.newPage();
      page.on('console', (message) => {
        if (message.type() === 'error' || message.type() === 'warning') errors.push(`${message.type()}: ${message.text()}`);
      });
      page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
      await page.goto(`${origin}/`);
      await page.waitForFunction(() => navigator.serviceWorker.controller !== null, undefined, { timeout: 20_000 });
      await page.reload();
      return { page, errors };
    }

    test("the manifest is signed by the build's identity, logged and timestamped by the stack; the worker embeds that identity and the stack's root", async () => {
      const json = JSON.parse(fs.readFileSync(path.join(current, '.well-known/signet/manifest.sigstore.json'), 'utf8'));
      const root = await loadTrustedRoot({ trustedRootPath: stack.trustedRootPath });
      const identities = [{ subject: RELEASE, issuer: stack.oidc.url }];
      const { verified } = await verifyManifestBundle(parseBundle(json), { identities, tlogThreshold: 1 }, { trustedRoot: root });
      expect(verified.signer).toMatchObject({ kind: 'certificate', subject: RELEASE, issuer: stack.oidc.url });
      const worker = fs.readFileSync(path.join(current, 'signet-sw.js'), 'utf8');
      const config = JSON.parse(/^self\.SIGNET_CONFIG = (.*);$/m.exec(worker)?.[1] ?? '{}');
      expect(config.policy.identities).toEqual(identities);
      expect(config.policy.trustedRoot).toEqual(JSON.parse(fs.readFileSync(stack.trustedRootPath, 'utf8')));
      // Node refuses the forged one for this identity, as the worker must.
      const forgedJson = JSON.parse(fs.readFileSync(path.join(forged, '.well-known/signet/manifest.sigstore.json'), 'utf8'));
      const refusal = await verifyManifestBundle(parseBundle(forgedJson), { identities }, { trustedRoot: root }).catch(
        (error: unknown) => error,
      );
      expect(isSignetError(refusal) && refusal.code).toBe('E_POLICY');
      expect((refusal as Error).message).toContain(MALLORY);
    }, 60_000);

    test('the site runs through the worker, which verified the keyless manifest: nothing blocked, no error', async () => {
      const { page, errors } = await visit();
      await page.waitForSelector('body[data-state="ready"]', { timeout: 20_000 });
      expect(await page.textContent('#status')).toContain('build current');
      expect(await page.evaluate(() => (window as unknown as { signet?: { blocked: unknown[] } }).signet?.blocked)).toEqual([]);
      expect(server.reports).toEqual([]);
      expect(errors).toEqual([]);
    }, 60_000);

    test('a deployment signed keyless by another identity of the same CA is refused, and reported', async () => {
      const { page } = await visit();
      await page.waitForSelector('body[data-state="ready"]', { timeout: 20_000 });
      server.serve(forged);
      await page.reload();
      await expect(page.getAttribute('#signet-reason', 'data-reason')).resolves.toBe('manifest');
      expect(await page.textContent('#signet-reason')).toContain('does not verify');
      expect(await page.evaluate(() => document.body.textContent)).not.toContain('build forged');
      for (let i = 0; i < 100 && !server.reports.some((r) => r.reason === 'manifest'); i++) await new Promise((r) => setTimeout(r, 100));
      expect(server.reports).toEqual(
        expect.arrayContaining([expect.objectContaining({ reason: 'manifest', message: expect.stringContaining(MALLORY) })]),
      );
    }, 60_000);
  });

  test.each<Bundler>(['vite', 'webpack'])(
    '%s: keyless with private Sigstore services and no trusted root for the worker fails the build, rather than embedding public-good',
    async (bundler) => {
      const out = path.join(dir, `${bundler}-no-root`);
      const { status, output } = await buildOutput(bundler, { out, key: '', keyless: await keyless(RELEASE, null) });
      expect(status).not.toBe(0);
      expect(output).toMatch(/E_USAGE: .*keyless needs trustedRoot/);
      expect(fs.existsSync(path.join(out, '.well-known/signet/manifest.sigstore.json'))).toBe(false);
    },
    120_000,
  );
});
