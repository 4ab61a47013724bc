// Debian's Chromium, driven by playwright-core. Where it is not installed the browser tests skip
// with one line saying so (.ci/run installs it).
import fs from 'node:fs';
import type { Browser } from 'playwright-core';

const CANDIDATES = [process.env.SIGNET_CHROMIUM, '/usr/bin/chromium', '/usr/lib/chromium/chromium'].filter(Boolean) as string[];

/** The Chromium executable, or undefined (with the reason printed once) when there is none. */
export function chromiumPath(): string | undefined {
  return CANDIDATES.find((candidate) => fs.existsSync(candidate));
}

let warned = false;

/** `describe` when Chromium is installed, else `describe.skip` after one warning line. */
export function describeInChromium(name: string, fn: () => void): void {
  if (chromiumPath()) {
    describe(name, fn);
    return;
  }
  if (!warned) {
    warned = true;
    console.warn('browser tests skipped: Chromium is not installed (apt-get install chromium; .ci/run installs it)');
  }
  describe.skip(name, fn);
}

export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    // As root (CI here), Chromium's sandbox cannot start.
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
}
