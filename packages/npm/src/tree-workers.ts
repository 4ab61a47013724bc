// verifyLockfile's worker threads: the packages of a tree spread over the machine's cores.
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { type Policy, SignetError, serializeTrustedRoot, type TrustedKey, type TrustedRoot } from '@signet/core';
import type { LockedPackage } from './lockfile';
import type { PackageRule } from './package-policy';
import type { RegistryClient, RegistryOptions } from './registry';
import type { NpmVerifyOptions, PackageReport } from './verify';

/** What a worker verifies with: the options that cross threads (keys as PEM text), and its registry client's settings. */
export interface TreeWorkerData {
  options: Omit<NpmVerifyOptions, 'client' | 'identityLedger' | 'trustedRoot' | 'trustedRootOptions'>;
  registry: RegistryOptions;
}

/** From the main thread to a worker: a package to verify, or the trusted root it asked for. */
export type MainMessage =
  | { type: 'verify'; id: number; pkg: LockedPackage }
  | { type: 'trusted-root'; json?: unknown; error?: { code: string; message: string } };

/** From a worker: a package's report, or a request for the trusted root. */
export type WorkerMessage = { type: 'report'; id: number; report: PackageReport } | { type: 'trusted-root' };

export interface ThreadedVerification {
  packages: LockedPackage[];
  threads: number;
  /** Packages in flight on each thread. */
  concurrency: number;
  options: NpmVerifyOptions;
  client: RegistryClient;
  trustedRoot: () => Promise<TrustedRoot>;
  onReport: (index: number, report: PackageReport) => void;
}

/**
 * Verifies `packages` on `threads` worker threads, each with `concurrency` packages in flight,
 * a thread taking the next package as each of its own finishes. The trusted root is loaded
 * once, here, when a worker first needs it. A worker that dies fails the whole run.
 */
export async function verifyOnThreads(run: ThreadedVerification): Promise<void> {
  const { packages, options } = run;
  const workerData: TreeWorkerData = {
    options: {
      ...withoutUnclonable(options),
      policy: transferablePolicy(options.policy),
      ...(options.packages ? { packages: options.packages.map(transferableRule) } : {}),
    },
    registry: run.client.settings,
  };
  const workers = Array.from({ length: run.threads }, () => new Worker(workerFile(), { workerData }));
  let next = 0;
  let done = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      const dispatch = (worker: Worker) => {
        if (next >= packages.length) return;
        const id = next++;
        worker.postMessage({ type: 'verify', id, pkg: packages[id] as LockedPackage } satisfies MainMessage);
      };
      for (const worker of workers) {
        worker.on('message', (message: WorkerMessage) => {
          if (message.type === 'trusted-root') {
            run.trustedRoot().then(
              (root) => worker.postMessage({ type: 'trusted-root', json: serializeTrustedRoot(root) } satisfies MainMessage),
              (error: unknown) =>
                worker.postMessage({
                  type: 'trusted-root',
                  error: {
                    code: error instanceof SignetError ? error.code : 'E_TRUST_ROOT',
                    message: error instanceof Error ? error.message : String(error),
                  },
                } satisfies MainMessage),
            );
            return;
          }
          run.onReport(message.id, message.report);
          if (++done === packages.length) resolve();
          else dispatch(worker);
        });
        worker.on('error', (cause) =>
          reject(new SignetError({ code: 'E_INTERNAL', message: `a verification thread failed: ${cause.message}`, cause })),
        );
        worker.on('exit', (code) => {
          if (done < packages.length)
            reject(new SignetError({ code: 'E_INTERNAL', message: `a verification thread exited (${code}) before the tree was verified` }));
        });
        for (let i = 0; i < run.concurrency; i++) dispatch(worker);
      }
    });
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}

/** The compiled worker, beside this file in dist/ (from src/, under jest, the build's). */
function workerFile(): string {
  return path.join(__dirname, '..', 'dist', 'tree-worker.js');
}

function withoutUnclonable(options: NpmVerifyOptions): TreeWorkerData['options'] {
  const { client: _client, identityLedger: _ledger, trustedRoot: _root, trustedRootOptions: _rootOptions, ...rest } = options;
  // verifyLockfile's own options (onPackage: a function) stay here too.
  const { onPackage: _onPackage, ...clonable } = rest as typeof rest & { onPackage?: unknown };
  return clonable;
}

function transferablePolicy(policy: Policy): Policy {
  return policy.keys ? { ...policy, keys: policy.keys.map(pemKey) } : policy;
}

function transferableRule(rule: PackageRule): PackageRule {
  return rule.keys ? { ...rule, keys: rule.keys.map(pemKey) } : rule;
}

/** A trusted key as PEM text: what crosses to a thread as it is. */
function pemKey(key: TrustedKey): TrustedKey {
  return typeof key.publicKey === 'string' ? key : { ...key, publicKey: key.publicKey.export({ type: 'spki', format: 'pem' }) as string };
}
