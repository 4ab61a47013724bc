import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** `npm run emulators`: the built command, as a developer starts it. */
describe('the emulators command', () => {
  let child: ChildProcess | undefined;
  afterEach(() => child?.kill('SIGTERM'));

  /** Starts the command with its own temporary folder; resolves with what it printed once it serves. */
  async function start(tmpdir: string): Promise<string> {
    child = spawn(process.execPath, [path.resolve(__dirname, '../bin/emulators.js')], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, TMPDIR: tmpdir },
    });
    let output = '';
    await new Promise<void>((resolve, reject) => {
      child?.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('# Serving on 127.0.0.1')) resolve();
      });
      child?.on('exit', (code) => reject(new Error(`exited ${code}: ${output}`)));
    });
    return output;
  }

  it.each(['SIGTERM', 'SIGINT'] as const)(
    'on %s, stops and leaves nothing in the temporary folder (the CA bundle included)',
    async (signal) => {
      const tmpdir = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-emulators-cli-'));
      try {
        const output = await start(tmpdir);
        const caBundle = /^export NODE_EXTRA_CA_CERTS="(.*)"$/m.exec(output)?.[1];
        expect(caBundle && fs.existsSync(caBundle)).toBe(true);
        const exited = new Promise<number | null>((resolve) => child?.once('exit', resolve));
        child?.kill(signal);
        expect(await exited).toBe(0);
        child = undefined;
        expect(fs.readdirSync(tmpdir)).toEqual([]);
      } finally {
        fs.rmSync(tmpdir, { recursive: true, force: true });
      }
    },
  );

  it('starts every emulator on 127.0.0.1 and prints the environment that reaches each', async () => {
    child = spawn(process.execPath, [path.resolve(__dirname, '../bin/emulators.js')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    await new Promise<void>((resolve, reject) => {
      child?.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('# Serving on 127.0.0.1')) resolve();
      });
      child?.on('exit', (code) => reject(new Error(`exited ${code}: ${output}`)));
    });
    const env = Object.fromEntries([...output.matchAll(/^export (\w+)="(.*)"$/gm)].map((m) => [m[1], m[2]]));
    for (const name of [
      'AWS_ENDPOINT_URL_KMS',
      'CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDKMS',
      'AZURE_AUTHORITY_HOST',
      'VAULT_ADDR',
      'VAULT_TOKEN',
    ]) {
      expect(env[name]).toBeDefined();
    }
    for (const url of [env.AWS_ENDPOINT_URL_KMS, env.CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDKMS, env.AZURE_AUTHORITY_HOST, env.VAULT_ADDR]) {
      expect(new URL(url as string).hostname).toBe('127.0.0.1');
    }
    // The Vault emulator answers with the printed token: it is really serving.
    const response = await fetch(`${env.VAULT_ADDR}/v1/transit/keys/nothing-here`, {
      headers: { 'x-vault-token': env.VAULT_TOKEN as string },
    });
    expect(response.status).toBe(404);
  });
});
