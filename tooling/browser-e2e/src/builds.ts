// Real builds of the fixture apps, each in its own process, with a fresh signing key.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { SigstoreServices } from '@signet/core';
import { childEnv, generateKey } from '@signet/test-support';

export type Bundler = 'vite' | 'webpack';
export const FIXTURES = path.resolve(__dirname, '..', 'fixtures');

/** Keyless signing against a local Sigstore stack, for the browser's `identity` policy. */
export interface KeylessBuild {
  identityToken: string;
  sigstore: SigstoreServices;
  identity: { subject: string; issuer: string };
  /** The trusted root the worker embeds; none: the plugin's default. */
  trustedRoot?: string;
}

export interface BuildOptions {
  out: string;
  /** A key reference; ignored when keyless is given. */
  key: string;
  keyless?: KeylessBuild;
  /** Written into the app, so two builds differ. */
  variant?: string;
  mode?: 'enforce' | 'report';
  /** Unix seconds for the manifest's createdAt (SOURCE_DATE_EPOCH). */
  epoch?: number;
}

// The Vite the plugin is developed and tested with (Vite 8), as its own tests resolve it.
const VITE = pathToFileURL(createRequire(require.resolve('@signet/vite-plugin/package.json')).resolve('vite')).href;

const SCRIPTS: Record<Bundler, string> = {
  vite: `const v = await import(${JSON.stringify(VITE)}); await v.build({ root: process.cwd(), configFile: 'vite.config.mjs' });`,
  webpack:
    "const webpack = (await import('webpack')).default; const config = (await import('./webpack.config.js')).default; await new Promise((resolve, reject) => webpack(config, (error, stats) => { if (error) return reject(error); if (stats.hasErrors()) return reject(new Error(stats.toString('errors-only'))); resolve(); }));",
};

export function buildApp(bundler: Bundler, options: BuildOptions): Promise<void> {
  return buildOutput(bundler, options).then(({ status, output }) => {
    if (status !== 0 || !fs.existsSync(path.join(options.out, 'signet-sw.js')))
      throw new Error(`the ${bundler} build failed (${status}):\n${output}`);
  });
}

/** Runs the build and tells how it ended, for builds that must fail. */
export function buildOutput(bundler: Bundler, options: BuildOptions): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', SCRIPTS[bundler]], {
      cwd: path.join(FIXTURES, `${bundler}-app`),
      env: childEnv({
        SIGNET_KEY: options.key,
        SIGNET_E2E_OUT: options.out,
        SIGNET_E2E_VARIANT: options.variant ?? 'current',
        SIGNET_E2E_MODE: options.mode ?? 'enforce',
        SOURCE_DATE_EPOCH: options.epoch === undefined ? undefined : String(options.epoch),
        SIGSTORE_ID_TOKEN: options.keyless?.identityToken,
        SIGNET_E2E_KEYLESS: options.keyless
          ? JSON.stringify({
              sigstore: options.keyless.sigstore,
              identity: options.keyless.identity,
              trustedRoot: options.keyless.trustedRoot,
            })
          : undefined,
      }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, output }));
  });
}

/** A scratch folder with a signing key (an encrypted ECDSA P-256 key from `signet key generate`). */
export function workspace(): { dir: string; key: string; pub: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-browser-e2e-'));
  const { key, pub } = generateKey(dir, 'signing');
  return { dir, key: `file:${path.join(dir, key.slice('file:'.length))}`, pub: path.join(dir, pub) };
}
