// Hashing a gate's artifacts on worker threads, one per core.
import { Worker } from 'node:worker_threads';
import type { HashAlgorithm } from './algorithms';
import { inputError } from './digest';
import { SignetError } from './errors';

export type Digests = Partial<Record<HashAlgorithm, Buffer>>;

/** A file's digests and first bytes, and the bytes themselves when it is small. */
export interface Hashed {
  digests: Digests;
  head: Buffer;
  bytes?: Buffer;
}

/** Files up to this size are hashed on the main thread; a worker's round trip would cost more. */
export const SMALL_FILE = 1024 * 1024;

/*
 * Node hashes on the thread that calls update(), so artifacts hashed "in parallel" on the
 * main thread only overlap their reads. Each worker reads a file into one reused buffer and
 * hashes it, so N workers hash N files on N cores. The source is inline so the worker runs
 * the same whether core is loaded from dist/ or bundled into the CLI.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const crypto = require('node:crypto');
const fs = require('node:fs');
const buffer = Buffer.allocUnsafe(${SMALL_FILE});
parentPort.on('message', ({ file, algorithms }) => {
  let fd;
  try {
    // Without blocking, and only a regular file: a FIFO swapped in since the gate looked would hang.
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    if (!fs.fstatSync(fd).isFile()) throw Object.assign(new Error('not a regular file'), { code: 'ENOTREG' });
    const hashes = algorithms.map((algorithm) => crypto.createHash(algorithm));
    let head;
    for (let n = fs.readSync(fd, buffer); n > 0; n = fs.readSync(fd, buffer)) {
      head ??= Buffer.from(buffer.subarray(0, Math.min(n, 4)));
      for (const hash of hashes) hash.update(buffer.subarray(0, n));
    }
    parentPort.postMessage({ digests: hashes.map((hash) => hash.digest('hex')), head: head ?? Buffer.alloc(0) });
  } catch (error) {
    parentPort.postMessage({ error: { code: error.code, message: error.message } });
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
});
`;

interface DigestJob {
  file: string;
  algorithms: HashAlgorithm[];
  resolve: (result: Hashed) => void;
  reject: (error: unknown) => void;
}

/** Up to `size` worker threads, started as work arrives, each hashing one file at a time. */
export class DigestPool {
  private readonly idle: Worker[] = [];
  private readonly busy = new Map<Worker, DigestJob>();
  private readonly queue: DigestJob[] = [];
  private closed = false;

  constructor(private readonly size: number) {}

  digest(file: string, algorithms: HashAlgorithm[]): Promise<Hashed> {
    return new Promise((resolve, reject) => {
      if (this.closed) {
        reject(new SignetError({ code: 'E_INTERNAL', message: 'the gate has finished' }));
        return;
      }
      this.queue.push({ file, algorithms, resolve, reject });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const job of [...this.queue.splice(0), ...this.busy.values()]) {
      job.reject(new SignetError({ code: 'E_INTERNAL', message: 'the gate has finished' }));
    }
    await Promise.all([...this.idle.splice(0), ...this.busy.keys()].map((worker) => worker.terminate()));
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      const worker = this.idle.pop() ?? (this.busy.size < this.size ? this.start() : undefined);
      if (!worker) return;
      const job = this.queue.shift() as DigestJob;
      this.busy.set(worker, job);
      worker.postMessage({ file: job.file, algorithms: job.algorithms });
    }
  }

  private start(): Worker {
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    worker.unref();
    worker.on('message', (message: { digests?: string[]; head?: Uint8Array; error?: { code?: string; message: string } }) => {
      const job = this.busy.get(worker);
      this.busy.delete(worker);
      if (!this.closed) this.idle.push(worker);
      if (job) {
        if (message.error) {
          job.reject(inputError(job.file, Object.assign(new Error(message.error.message), { code: message.error.code })));
        } else {
          const digests: Digests = {};
          job.algorithms.forEach((algorithm, i) => {
            digests[algorithm] = Buffer.from(message.digests?.[i] ?? '', 'hex');
          });
          job.resolve({ digests, head: Buffer.from(message.head ?? []) });
        }
      }
      this.dispatch();
    });
    worker.on('error', (cause) => {
      const job = this.busy.get(worker);
      this.busy.delete(worker);
      job?.reject(new SignetError({ code: 'E_INTERNAL', message: `hashing ${job.file} failed: ${cause.message}`, cause }));
      this.dispatch();
    });
    return worker;
  }
}
