// A worker thread of verifyLockfile: verifies the packages the main thread sends it, several at
// once, with its own registry client and verifiers. Signature checks run on the thread that
// calls them, so N workers verify a tree on N cores.
import { parentPort, workerData } from 'node:worker_threads';
import { parseTrustedRoot, SignetError, type SignetErrorCode, type TrustedRoot } from '@signet/core';
import { RegistryClient } from './registry';
import type { MainMessage, TreeWorkerData, WorkerMessage } from './tree-workers';
import { failedReport, verifyNpmPackage } from './verify';

const port = parentPort;
if (!port) throw new Error('tree-worker runs in a worker thread of verifyLockfile');
const { options, registry } = workerData as TreeWorkerData;
const client = new RegistryClient(registry);
const send = (message: WorkerMessage) => port.postMessage(message);

// The main thread's trusted root, asked for on first need: loaded once for the whole tree, and
// not at all for a tree verified by keys alone.
let root: Promise<TrustedRoot> | undefined;
let answer: ((message: Extract<MainMessage, { type: 'trusted-root' }>) => void) | undefined;
const trustedRoot = () => {
  root ??= new Promise<Extract<MainMessage, { type: 'trusted-root' }>>((resolve) => {
    answer = resolve;
    send({ type: 'trusted-root' });
  }).then(({ json, error }) => {
    if (error) throw new SignetError({ code: error.code as SignetErrorCode, message: error.message });
    return parseTrustedRoot(json);
  });
  return root;
};

port.on('message', (message: MainMessage) => {
  if (message.type === 'trusted-root') {
    answer?.(message);
    return;
  }
  const { id, pkg } = message;
  verifyNpmPackage(`${pkg.name}@${pkg.version}`, { ...options, client, trustedRoot, expectedIntegrity: pkg.integrity })
    .catch((error: unknown) => failedReport(pkg, error))
    .then((report) => send({ type: 'report', id, report }));
});
