import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { HttpEmulator } from '../http-emulator';
import { FulcioEmulator } from './fulcio';
import { OidcIssuerEmulator, type TokenOptions } from './oidc';
import { RekorEmulator } from './rekor';
import { RekorV2Emulator } from './rekor-v2';
import { type SigningConfigJson, signingConfigOf, signingConfigRekorV2Of, type TrustedRootJson, trustedRootOf } from './trust';
import { TimestampAuthorityEmulator } from './tsa';
import { TufRepositoryEmulator } from './tuf';

/** How far in the past the trust material's validity starts (see trustedRootOf). */
const VALIDITY_MARGIN_MS = 24 * 60 * 60 * 1000;

interface Started {
  dir: string;
  trustedRoot: TrustedRootJson;
  signingConfig: SigningConfigJson;
  signingConfigRekorV2: SigningConfigJson;
}

/**
 * A private Sigstore instance on 127.0.0.1: an OIDC issuer, Fulcio (trusting that issuer),
 * Rekor v1, a Rekor v2 log, a timestamp authority, and a TUF repository serving the stack's
 * trusted root and both signing configs (Rekor v1, and the opt-in Rekor v2 one). Each service is its own HttpEmulator, with its own port, request log and
 * faults; stop one for a dead service, start it again to bring it back on the same port.
 */
export class SigstoreStack {
  readonly oidc = new OidcIssuerEmulator();
  readonly fulcio = new FulcioEmulator();
  readonly rekor = new RekorEmulator();
  readonly rekorV2 = new RekorV2Emulator();
  readonly tsa = new TimestampAuthorityEmulator();
  readonly tuf = new TufRepositoryEmulator();
  private started?: Started;

  /** Every service, for loops over logs and faults. */
  get services(): HttpEmulator[] {
    return [this.oidc, this.fulcio, this.rekor, this.rekorV2, this.tsa, this.tuf];
  }

  /** Starts every service, then writes the trust material to a temporary directory. */
  async start(): Promise<this> {
    if (this.started) throw new Error('the Sigstore stack is already started');
    await Promise.all(this.services.map((service) => service.start()));
    this.fulcio.trustIssuer(this.oidc.url);
    const validFrom = new Date(Date.now() - VALIDITY_MARGIN_MS);
    const trustedRoot = trustedRootOf(this, validFrom);
    const signingConfig = signingConfigOf(this, validFrom);
    const signingConfigRekorV2 = signingConfigRekorV2Of(this, validFrom);
    // Target names as public-good's TUF repository has them.
    this.tuf.publish([
      { name: 'trusted_root.json', content: JSON.stringify(trustedRoot) },
      { name: 'signing_config.v0.2.json', content: JSON.stringify(signingConfig) },
      { name: 'signing_config_rekor_v2.v0.2.json', content: JSON.stringify(signingConfigRekorV2) },
    ]);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-sigstore-'));
    fs.writeFileSync(path.join(dir, 'trusted_root.json'), JSON.stringify(trustedRoot, null, 2));
    fs.writeFileSync(path.join(dir, 'signing_config.json'), JSON.stringify(signingConfig, null, 2));
    fs.writeFileSync(path.join(dir, 'signing_config_rekor_v2.json'), JSON.stringify(signingConfigRekorV2, null, 2));
    fs.writeFileSync(path.join(dir, 'tuf-root.json'), this.tuf.rootJson);
    this.started = { dir, trustedRoot, signingConfig, signingConfigRekorV2 };
    return this;
  }

  /** Stops every service and removes the temporary directory. */
  async stop(): Promise<void> {
    await Promise.all(this.services.map((service) => service.stop()));
    if (this.started) fs.rmSync(this.started.dir, { recursive: true, force: true });
    this.started = undefined;
  }

  /** trusted_root.json's content: Fulcio's CA, the CT log, Rekor v1 and v2 (tlogs, in that order) and the TSA. */
  get trustedRoot(): TrustedRootJson {
    return this.state.trustedRoot;
  }

  /** The signing config's content (v0.2): Fulcio, the OIDC issuer, Rekor v1 and the TSA. */
  get signingConfig(): SigningConfigJson {
    return this.state.signingConfig;
  }

  /** The Rekor v2 signing config's content (v0.2): as signingConfig, with the v2 log listed (first) besides v1. */
  get signingConfigRekorV2(): SigningConfigJson {
    return this.state.signingConfigRekorV2;
  }

  /** The temporary directory holding the files below; removed by stop(). */
  get dir(): string {
    return this.state.dir;
  }

  get trustedRootPath(): string {
    return path.join(this.state.dir, 'trusted_root.json');
  }

  get signingConfigPath(): string {
    return path.join(this.state.dir, 'signing_config.json');
  }

  get signingConfigRekorV2Path(): string {
    return path.join(this.state.dir, 'signing_config_rekor_v2.json');
  }

  /** The TUF repository's initial root.json, to seed a TUF client with `tuf.url` as its mirror. */
  get tufRootPath(): string {
    return path.join(this.state.dir, 'tuf-root.json');
  }

  /** A token from the stack's OIDC issuer (see TokenOptions for the bad ones). */
  mintToken(options: TokenOptions = {}): Promise<string> {
    return this.oidc.mintToken(options);
  }

  /** An identity provider for @sigstore/sign's FulcioSigner: a fresh token per call. */
  identityProvider(options: TokenOptions = {}): { getToken: () => Promise<string> } {
    return { getToken: () => this.oidc.mintToken(options) };
  }

  private get state(): Started {
    if (!this.started) throw new Error('the Sigstore stack is not started');
    return this.started;
  }
}
