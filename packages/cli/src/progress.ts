import type { ProgressListener } from '@signet/core';

/** Inputs above this size show a progress bar when stderr is a terminal. */
const THRESHOLD = 64 * 1024 * 1024;

/**
 * A progress listener for hashing `label`, drawing a bar on stderr for large inputs on
 * a TTY and doing nothing otherwise (CI logs stay clean). Call the returned `stop` when done.
 */
export function hashingProgress(label: string): { onProgress?: ProgressListener; stop(): void } {
  if (!process.stderr.isTTY) return { stop() {} };
  let bar: import('cli-progress').SingleBar | undefined;
  return {
    onProgress(done, total) {
      if (total < THRESHOLD) return;
      if (!bar) {
        const { SingleBar, Presets } = require('cli-progress') as typeof import('cli-progress');
        bar = new SingleBar(
          { format: `hashing ${label} [{bar}] {percentage}% | {value}/{total} MiB`, stream: process.stderr, hideCursor: true },
          Presets.shades_classic,
        );
        bar.start(Math.ceil(total / 2 ** 20), 0);
      }
      bar.update(Math.floor(done / 2 ** 20));
    },
    stop() {
      bar?.stop();
    },
  };
}
