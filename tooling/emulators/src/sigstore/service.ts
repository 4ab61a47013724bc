import { HttpEmulator } from '../http-emulator';

/**
 * A service of the Sigstore stack. Its URL is written into the trusted root and the signing
 * config (and Rekor's into its checkpoints), so after stop() (a dead service) start() brings
 * it back on the same port, where every client and file still expects it.
 */
export abstract class SigstoreService extends HttpEmulator {
  private lastPort = 0;

  override async start(port = this.lastPort): Promise<string> {
    const url = await super.start(port);
    this.lastPort = this.port;
    return url;
  }
}
