// Deep imports: the package's index also loads nock, which would patch Node's http for the whole process.
import { tufHandlers } from '@tufjs/repo-mock/dist/handler';
import { KeyPair } from '@tufjs/repo-mock/dist/key';
import { createRootMeta, createSnapshotMeta, createTargetsMeta, createTimestampMeta } from '@tufjs/repo-mock/dist/metadata';
import type { HandlerFn, Target } from '@tufjs/repo-mock/dist/shared.types';
import { collectTargets } from '@tufjs/repo-mock/dist/target';
import type { Fault } from '../faults';
import type { EmulatorRequest, EmulatorResponse } from '../http-emulator';
import { SigstoreService } from './service';

export type { Target as TufTarget } from '@tufjs/repo-mock/dist/shared.types';

/*
 * A TUF repository as Sigstore's TUF CDN lays it out, built with @tufjs/repo-mock: signed
 * metadata at the root (`1.root.json`, `timestamp.json`, `snapshot.json`, `targets.json`;
 * `2.root.json` is 404, there is no newer root) and targets under `/targets/`. A client
 * starts from rootJson (the initial trusted root.json) and the URL as its mirror.
 *
 * Operations, for the log and for targeted faults: Root, Timestamp, Snapshot, Targets, Target, Unknown.
 */
export class TufRepositoryEmulator extends SigstoreService {
  readonly service = 'TUF repository';
  private routes = new Map<string, HandlerFn>();
  private root?: string;

  /**
   * Serves a new repository (new keys, version 1 of everything) holding these targets, as
   * @tufjs/repo-mock's initializeTUFRepo builds it; `timestampExpires` serves a timestamp.json
   * that expires then (in the past: a stale or frozen repository), the rest valid a year.
   */
  publish(targets: Target[], options: { timestampExpires?: Date } = {}): void {
    const keyPair = new KeyPair();
    const targetsMeta = createTargetsMeta(collectTargets(targets), keyPair);
    const snapshotMeta = createSnapshotMeta(targetsMeta, keyPair);
    const timestampMeta = createTimestampMeta(snapshotMeta, keyPair);
    if (options.timestampExpires) {
      (timestampMeta.signed as { expires: string }).expires = options.timestampExpires.toISOString();
      timestampMeta.sign((data) => keyPair.sign(data), false);
    }
    const repository = { rootMeta: createRootMeta(keyPair), snapshotMeta, timestampMeta, targetsMeta, targets };
    this.root = JSON.stringify(repository.rootMeta.toJSON());
    this.routes = new Map(tufHandlers(repository, { metadataPathPrefix: '', targetPathPrefix: '/targets' }).map((h) => [h.path, h.fn]));
  }

  /** The repository's root.json, the client's initial trust (available once published). */
  get rootJson(): string {
    if (!this.root) throw new Error('the TUF repository has published nothing yet');
    return this.root;
  }

  protected operationOf(request: EmulatorRequest): string {
    if (request.method !== 'GET') return 'Unknown';
    if (/^\/\d+\.root\.json$/.test(request.path)) return 'Root';
    if (request.path.startsWith('/targets/')) return 'Target';
    return { '/timestamp.json': 'Timestamp', '/snapshot.json': 'Snapshot', '/targets.json': 'Targets' }[request.path] ?? 'Unknown';
  }

  protected faultResponse(fault: Exclude<Fault, { kind: 'latency' | 'drop' }>): EmulatorResponse {
    if (fault.kind === 'throttle') {
      return {
        status: 429,
        headers: { 'retry-after': String(fault.retryAfterSeconds ?? 1), 'content-type': 'text/plain' },
        body: 'Too Many Requests',
      };
    }
    const status = fault.kind === 'status' ? fault.status : 500;
    return {
      status,
      headers: { 'content-type': 'text/plain' },
      body: fault.kind === 'status' && fault.message ? fault.message : 'injected fault',
    };
  }

  protected async handle(request: EmulatorRequest, _operation: string, fault?: Extract<Fault, { kind: 'corrupt' | 'custom' }>) {
    if (fault) return { status: 500, headers: { 'content-type': 'text/plain' }, body: `the TUF emulator has no ${fault.kind} fault` };
    const route = this.routes.get(request.path);
    if (!route) return { status: 404, headers: { 'content-type': 'text/plain' }, body: 'Not Found' };
    const { statusCode, response, contentType } = route();
    return { status: statusCode, headers: { 'content-type': contentType ?? 'application/octet-stream' }, body: response };
  }
}
