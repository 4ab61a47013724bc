// npm as the monitor's tests publish to it: Verdaccio, published to by the real npm CLI (a token
// publish) and by `signet npm publish --ledger` (your releases), with npm's provenance in front
// of it as registry.npmjs.org serves it: `dist.attestations` in the packument and
// `/-/npm/v1/attestations/NAME@VERSION`, the SLSA provenance signed keyless on the local Sigstore
// stack by a GitHub Actions identity, as npm's trusted publishing does.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createStatement, openSigner, serializeBundle, signStatement } from '@signet/core';
import { type LocalRegistry, startNpmRegistry } from '@signet/emulators/npm-registry';
import type { SigstoreStack } from '@signet/emulators/sigstore';
import { signetAsync } from '@signet/test-support';
import { githubToken } from './support';

export const SLSA = 'https://slsa.dev/provenance/v1';

export class ProvenanceRegistry {
  private registry?: LocalRegistry;
  private front?: http.Server;
  /** The registry as the monitor reads it (packuments with provenance), ending in /. */
  url = '';
  /** The provenance bundles npm would hold, by NAME@VERSION. */
  private readonly provenance = new Map<string, unknown>();

  constructor(private readonly stack: SigstoreStack) {}

  async start(): Promise<void> {
    const registry = await startNpmRegistry();
    this.registry = registry;
    this.front = http.createServer(async (request, response) => {
      const url = new URL(request.url ?? '/', 'http://front');
      const attestations = /^\/-\/npm\/v1\/attestations\/(.+)$/.exec(decodeURIComponent(url.pathname));
      if (attestations) {
        const bundle = this.provenance.get(attestations[1] as string);
        if (!bundle) return response.writeHead(404).end('{}');
        return response
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ attestations: [{ predicateType: SLSA, bundle }] }));
      }
      const upstream = await fetch(new URL(url.pathname.slice(1), registry.url));
      const body = await upstream.text();
      if (!upstream.ok) return response.writeHead(upstream.status).end(body);
      const packument = JSON.parse(body) as { name: string; versions: Record<string, { dist: Record<string, unknown> }> };
      for (const [version, manifest] of Object.entries(packument.versions ?? {})) {
        if (this.provenance.has(`${packument.name}@${version}`)) {
          manifest.dist.attestations = {
            url: `${this.url}-/npm/v1/attestations/${packument.name}@${version}`,
            provenance: { predicateType: SLSA },
          };
        }
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(packument));
    });
    await new Promise<void>((resolve) => this.front?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.front.address() as AddressInfo).port}/`;
  }

  async stop(): Promise<void> {
    await new Promise((resolve) => (this.front ? this.front.close(resolve) : resolve(undefined)));
    await this.registry?.stop();
  }

  /** Verdaccio itself, where packages are published. */
  private get upstream(): LocalRegistry {
    if (!this.registry) throw new Error('the registry is not started');
    return this.registry;
  }

  /** npm's environment for the test registry, and nothing of the npm running the tests. */
  npmEnv(): Record<string, string | undefined> {
    const cleared = Object.fromEntries(
      Object.keys(process.env)
        .filter((name) => /^npm_/i.test(name))
        .map((name) => [name, undefined]),
    );
    return { ...cleared, ...this.upstream.npmEnv(this.upstream.home) };
  }

  private makePackage(dir: string, name: string, version: string): string {
    const folder = path.join(dir, `pkg-${name.replace(/[@/]/g, '_')}-${version}`);
    fs.mkdirSync(folder, { recursive: true });
    fs.writeFileSync(path.join(folder, 'package.json'), JSON.stringify({ name, version, main: 'index.js', license: 'MIT' }));
    fs.writeFileSync(path.join(folder, 'index.js'), `module.exports = ${JSON.stringify(version)};\n`);
    return folder;
  }

  /** Your release: `signet npm publish --ledger ledger.jsonl` (or the ledger named), from `dir`. */
  async release(dir: string, name: string, version: string, key: string, ledger = 'ledger.jsonl'): Promise<void> {
    const result = await signetAsync(
      ['npm', 'publish', this.makePackage(dir, name, version), '--key', key, '--registry', this.upstream.url, '--ledger', ledger],
      { cwd: dir, env: this.npmEnv() },
    );
    if (result.status !== 0) throw new Error(`signet npm publish failed: ${result.stderr}`);
  }

  /** A publish with a stolen token: plain `npm publish`, no signature, no ledger. */
  async tokenPublish(dir: string, name: string, version: string): Promise<void> {
    // Asynchronously: Verdaccio answers from this very process.
    const env = Object.fromEntries(
      Object.entries({ ...process.env, ...this.npmEnv() }).filter(([, value]) => value !== undefined),
    ) as NodeJS.ProcessEnv;
    await new Promise<void>((resolve, reject) =>
      execFile(
        'npm',
        ['publish', '--registry', this.upstream.url],
        { cwd: this.makePackage(dir, name, version), env },
        (error, _stdout, stderr) => (error ? reject(new Error(`npm publish failed: ${stderr}`)) : resolve()),
      ),
    );
  }

  /** npm provenance for the version as published, signed keyless by `repository` running `workflow`. */
  async attachProvenance(name: string, version: string, repository: string, workflow: string): Promise<void> {
    const packument = (await (await fetch(new URL(name.replace('/', '%2f'), this.upstream.url))).json()) as {
      versions: Record<string, { dist: { integrity: string } }>;
    };
    const integrity = packument.versions[version]?.dist.integrity as string;
    const sha512 = Buffer.from(integrity.slice('sha512-'.length), 'base64').toString('hex');
    const services = { fulcioURL: this.stack.fulcio.url, rekorLogs: [{ url: this.stack.rekor.url, version: 1 as const }] };
    const signer = await openSigner('keyless', { identityToken: await githubToken(this.stack, repository, workflow), services });
    const statement = createStatement([{ name: `pkg:npm/${name.replace(/^@/, '%40')}@${version}`, digest: { sha512 } }], SLSA, {
      buildDefinition: { buildType: 'https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1', externalParameters: {} },
      runDetails: { builder: { id: 'https://github.com/actions/runner/github-hosted' } },
    });
    this.provenance.set(`${name}@${version}`, serializeBundle(await signStatement(statement, signer, { services })));
  }
}
