import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { FulcioSigner } from '@sigstore/sign';

/** `npm run emulators`: the Sigstore section, as a developer follows it for the demo. */
describe('the emulators command, Sigstore section', () => {
  let child: ChildProcess | undefined;
  afterEach(() => child?.kill('SIGTERM'));

  it('prints the services, the trust material and a token that Fulcio accepts', async () => {
    child = spawn(process.execPath, [path.resolve(__dirname, '../bin/emulators.js')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    await new Promise<void>((resolve, reject) => {
      child?.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('# Serving on 127.0.0.1')) resolve();
      });
      child?.on('exit', (code) => reject(new Error(`exited ${code}: ${output}`)));
    });
    const printed = Object.fromEntries(
      [...output.matchAll(/^# ([A-Za-z0-9 ]+): +(\S+)(?: \(.*\))?$/gm)].map((m) => [m[1], m[2] as string]),
    );
    for (const name of ['OIDC issuer', 'Fulcio', 'Rekor', 'Rekor v2', 'TSA', 'TUF mirror']) {
      expect(new URL(printed[name] as string).hostname).toBe('127.0.0.1');
    }
    const trustedRoot = JSON.parse(fs.readFileSync(printed['trusted root'] as string, 'utf8'));
    expect(trustedRoot.tlogs.map((log: { baseUrl: string }) => log.baseUrl)).toEqual([printed.Rekor, printed['Rekor v2']]);
    const signingConfig = JSON.parse(fs.readFileSync(printed['signing config'] as string, 'utf8'));
    expect(signingConfig.caUrls[0].url).toBe(printed.Fulcio);
    const signingConfigRekorV2 = JSON.parse(fs.readFileSync(printed['signing config with Rekor v2'] as string, 'utf8'));
    expect(signingConfigRekorV2.rekorTlogUrls[0]).toMatchObject({ url: printed['Rekor v2'], majorApiVersion: 2 });
    expect(JSON.parse(fs.readFileSync(printed['TUF root'] as string, 'utf8')).signed._type).toBe('root');

    const token = /^export SIGSTORE_ID_TOKEN="(.+)"$/m.exec(output)?.[1] ?? '';
    const signer = new FulcioSigner({ fulcioBaseURL: printed.Fulcio, identityProvider: { getToken: async () => token }, retry: 0 });
    expect((await signer.sign(Buffer.from('demo'))).key.$case).toBe('x509Certificate');

    const curl = /curl -s '([^']+)'/.exec(output)?.[1] ?? '';
    const minted = (await (await fetch(curl)).json()) as { value: string };
    expect(JSON.parse(Buffer.from(minted.value.split('.')[1] as string, 'base64url').toString()).email).toBe('you@example.com');
  });
});
