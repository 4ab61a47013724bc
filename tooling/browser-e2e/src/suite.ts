// The browser tests of one bundler's fixture app: a real build, served on 127.0.0.1, loaded in
// Chromium. The untouched site runs with no error; each tampering is the attack itself, and the
// service worker refuses it and says why, to the page and to the report URL.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { type Bundler, buildApp, workspace } from './builds';
import { describeInChromium, launchChromium } from './chromium';
import { type Report, SiteServer } from './server';

interface Loaded {
  page: Page;
  errors: string[];
}

export function browserSuite(bundler: Bundler): void {
  describeInChromium(`a signed ${bundler} build in Chromium`, () => {
    let dir: string;
    let current: string;
    let old: string;
    let reportOnly: string;
    let server: SiteServer;
    let origin: string;
    let browser: Browser;
    let context: BrowserContext;

    beforeAll(async () => {
      const ws = workspace();
      dir = ws.dir;
      current = path.join(dir, 'current');
      old = path.join(dir, 'old');
      // The old deployment: validly signed by the same key, a day earlier.
      await buildApp(bundler, { out: old, key: ws.key, variant: 'old', epoch: Math.floor(Date.now() / 1000) - 86_400 });
      await buildApp(bundler, { out: current, key: ws.key });
      reportOnly = path.join(dir, 'report-only');
      await buildApp(bundler, { out: reportOnly, key: ws.key, mode: 'report' });
      server = new SiteServer(current);
      origin = await server.start();
      browser = await launchChromium();
    }, 240_000);

    afterAll(async () => {
      await browser?.close();
      await server?.stop();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    beforeEach(async () => {
      server.reset(current);
      context = await browser.newContext();
    });

    afterEach(async () => {
      await context?.close();
    });

    /** Opens the site, waits for the worker to control the page, and opens it again (now through the worker). */
    async function visit(): Promise<Loaded> {
      const errors: string[] = [];
      const page = await context.newPage();
      page.on('console', (message) => {
        if (message.type() === 'error' || message.type() === 'warning') errors.push(`${message.type()}: ${message.text()}`);
      });
      page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
      await page.goto(`${origin}/`);
      await page.waitForFunction(() => navigator.serviceWorker.controller !== null, undefined, { timeout: 20_000 });
      return { page, errors };
    }

    async function reload(page: Page): Promise<void> {
      await page.reload();
    }

    const ready = (page: Page) => page.waitForSelector('body[data-state="ready"]', { timeout: 20_000 });
    const blockedEvents = (page: Page) =>
      page.evaluate(() => (window as unknown as { signet?: { blocked: { reason: string; path: string }[] } }).signet?.blocked ?? []);
    async function reported(reason: string, filePath?: string): Promise<Report> {
      for (let i = 0; i < 100; i++) {
        const found = server.reports.find((r) => r.reason === reason && (filePath === undefined || r.path === filePath));
        if (found) return found;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error(`no ${reason} report${filePath ? ` for ${filePath}` : ''}; reports: ${JSON.stringify(server.reports)}`);
    }

    /** The server gains a script and the page adds a tag for it, then waits for the worker's verdict. */
    async function addScript(page: Page, name: string): Promise<void> {
      const evil = 'window.evil = true;';
      server.add(name, evil);
      // Integrity-Policy refuses a script without integrity metadata; an attacker who adds a tag adds that too.
      const integrity = `sha384-${crypto.createHash('sha384').update(evil).digest('base64')}`;
      await page.evaluate(
        ([src, sri]) => {
          const script = document.createElement('script');
          script.src = src;
          script.integrity = sri;
          script.crossOrigin = 'anonymous';
          document.head.append(script);
        },
        [`/${name}`, integrity],
      );
      await page.waitForFunction(() => (window as unknown as { signet: { blocked: unknown[] } }).signet.blocked.length > 0, undefined, {
        timeout: 20_000,
      });
    }

    function lazyChunk(): string {
      const files = fs.readdirSync(current, { recursive: true }) as string[];
      const chunk = files.find((name) => /greeting[^/]*\.js$/.test(name));
      if (!chunk) throw new Error(`no greeting chunk in ${files.join(', ')}`);
      return chunk.split(path.sep).join('/');
    }

    test('the untouched site runs through the worker: lazy chunks, CSS, a web worker, the API passed through; no error, nothing blocked', async () => {
      const { page, errors } = await visit();
      await reload(page);
      await ready(page);
      const text = await page.textContent('#status');
      expect(text).toBe('hello from a lazy chunk, build current\ntotal 10\nworker 18\napi world');
      expect(await page.evaluate(() => getComputedStyle(document.querySelector('.banner') as Element).color)).toBe('rgb(12, 34, 56)');
      expect(await page.evaluate(() => navigator.serviceWorker.controller?.scriptURL)).toBe(`${origin}/signet-sw.js`);
      expect(await blockedEvents(page)).toEqual([]);
      expect(server.reports).toEqual([]);
      expect(errors).toEqual([]);
    }, 60_000);

    test('a modified lazy chunk is blocked, and the page is told why', async () => {
      const { page } = await visit();
      const chunk = lazyChunk();
      server.modify(chunk, 'window.tampered = true; export function greeting() { return "tampered"; }');
      await reload(page);
      await page.waitForFunction(() => (window as unknown as { signet: { blocked: unknown[] } }).signet.blocked.length > 0, undefined, {
        timeout: 20_000,
      });
      const events = await blockedEvents(page);
      expect(events).toEqual(expect.arrayContaining([expect.objectContaining({ reason: 'modified', path: chunk })]));
      expect(await page.evaluate(() => (window as unknown as { tampered?: boolean }).tampered)).toBeUndefined();
      expect(await page.getAttribute('body', 'data-state')).toBeNull();
      expect((await reported('modified', chunk)).message).toContain('is not the file the build signed');
    }, 60_000);

    test('an added script is blocked as a file the build never signed, even with its own integrity attribute', async () => {
      const { page } = await visit();
      await reload(page);
      await ready(page);
      await addScript(page, 'evil.js');
      expect(await blockedEvents(page)).toEqual([expect.objectContaining({ reason: 'unknown', path: 'evil.js' })]);
      expect(await page.evaluate(() => (window as unknown as { evil?: boolean }).evil)).toBeUndefined();
      await reported('unknown', 'evil.js');
    }, 60_000);

    test("a script served under the API's pass-through prefix is still checked, and blocked as unknown", async () => {
      const { page } = await visit();
      await reload(page);
      await ready(page);
      await addScript(page, 'api/evil.js');
      expect(await blockedEvents(page)).toEqual([expect.objectContaining({ reason: 'unknown', path: 'api/evil.js' })]);
      expect(await page.evaluate(() => (window as unknown as { evil?: boolean }).evil)).toBeUndefined();
      // The API's data still passes: the page's own call to /api/hello answered (the status says "api world").
      expect(await page.textContent('#status')).toContain('api world');
    }, 60_000);

    test('a deleted chunk is reported missing', async () => {
      const { page } = await visit();
      const chunk = lazyChunk();
      server.remove(chunk);
      await reload(page);
      await page.waitForFunction(() => (window as unknown as { signet: { blocked: unknown[] } }).signet.blocked.length > 0, undefined, {
        timeout: 20_000,
      });
      expect(await blockedEvents(page)).toEqual(expect.arrayContaining([expect.objectContaining({ reason: 'missing', path: chunk })]));
    }, 60_000);

    test('an older deployment (its manifest signed earlier by the same key) is refused as a rollback', async () => {
      const { page } = await visit();
      await reload(page);
      await ready(page);
      server.serve(old);
      await reload(page);
      await expect(page.getAttribute('#signet-reason', 'data-reason')).resolves.toBe('rollback');
      expect(await page.textContent('#signet-reason')).toContain('before the one this browser holds');
      expect((await reported('rollback', 'index.html')).url).toBe(`${origin}/`);
    }, 60_000);

    test("mode 'report': a modified chunk is let through, and reported", async () => {
      server.reset(reportOnly);
      // Installed on this visit: the chunks it loaded did not pass through the worker (which
      // would keep them, verified, and answer later requests with those bytes).
      const { page } = await visit();
      const chunk = (fs.readdirSync(reportOnly, { recursive: true }) as string[]).find((name) => /greeting[^/]*\.js$/.test(name)) as string;
      server.modify(chunk.split(path.sep).join('/'), 'window.tampered = true; export function greeting() { return "tampered"; }');
      // The import map's integrity would refuse it in the browser: load it as the worker sees it, by fetch.
      const body = await page.evaluate(async (url: string) => (await fetch(url)).text(), `/${chunk.split(path.sep).join('/')}`);
      expect(body).toContain('tampered');
      const report = await reported('modified', chunk.split(path.sep).join('/'));
      expect(report).toMatchObject({ mode: 'report' });
    }, 60_000);

    test('the old deployment alone, on a first visit, runs: the worker protects from the visit it was installed on', async () => {
      server.serve(old);
      const { page } = await visit();
      await reload(page);
      await ready(page);
      expect(await page.textContent('#status')).toContain('build old');
    }, 60_000);
  });
}
