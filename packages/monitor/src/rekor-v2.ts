import { SignetError } from '@signet/core';
import { type Checkpoint, CheckpointError, verifyCheckpoint } from './checkpoint';
import type { ScanContext } from './context';
import { type Batch, follow } from './follow';
import { compactRangeFromTiles, readEntries, tileSource } from './tiles';

/*
 * A Rekor v2 log (rekor-tiles): its checkpoint verified with its Ed25519 key from the trusted
 * root, then every entry bundle from the last size to the new one, appended to the stored
 * compact range, whose root must be the checkpoint's. The first run starts at the current size
 * (or --since INDEX), its compact range read from the tiles and checked against the checkpoint.
 */

export async function followRekorV2(ctx: ScanContext, url: string): Promise<void> {
  const source = tileSource(url, ctx.fetcher);
  const text = await source.read('/checkpoint');
  if (!text) throw new SignetError({ code: 'E_PROVIDER', message: `the Rekor v2 log ${url} serves no checkpoint` });
  let checkpoint: Checkpoint;
  let logId: string;
  try {
    ({ checkpoint, logId } = verifyCheckpoint(text.toString('utf8'), ctx.keys));
  } catch (error) {
    if (!(error instanceof CheckpointError)) throw error;
    ctx.alert('bad-checkpoint', [url, text.toString('base64')], { source: url, reason: `its checkpoint is refused: ${error.message}` });
    return;
  }
  let state = ctx.state.logs[url];
  if (state && state.origin !== checkpoint.origin) {
    ctx.alert('bad-checkpoint', [url, checkpoint.origin], {
      source: url,
      reason: `its checkpoint names the log ${checkpoint.origin}, not ${state.origin} as before`,
    });
    return;
  }
  if (!state) {
    if (ctx.since?.date) {
      throw new SignetError({
        code: 'E_USAGE',
        message: `--since DATE cannot start ${url}: a Rekor v2 log records no time with its entries; give --since INDEX`,
      });
    }
    const start = Math.min(ctx.since?.index ?? checkpoint.size, checkpoint.size);
    const range = await compactRangeFromTiles(source, start, checkpoint.size);
    const rangeState = range.toJSON();
    state = { version: 2, origin: checkpoint.origin, logId, grewAt: ctx.now.toISOString() };
    if (start === checkpoint.size) {
      if (!range.root().equals(checkpoint.root)) {
        ctx.alert('log-fork', [url, logId, 'first', checkpoint.root.toString('hex')], {
          source: url,
          reason: `its tiles do not hash to the root of its checkpoint of ${checkpoint.size} entries`,
        });
        return;
      }
      state.verified = { size: checkpoint.size, root: checkpoint.root.toString('hex'), text: checkpoint.text, range: rangeState };
    } else {
      state.scan = { target: { size: start, root: range.root().toString('hex'), text: '' }, range: rangeState };
    }
    ctx.state.logs[url] = state;
  }
  const followed = await follow(ctx, state, checkpoint, {
    source: url,
    offset: 0,
    logId,
    save: 'batch',
    read: (from, to) => batches(readEntries(source, from, to, checkpoint.size)),
  });
  if (!followed && !state.verified) delete ctx.state.logs[url];
}

/** Each entry bundle a batch. */
async function* batches(bundles: AsyncIterable<Batch['entries']>): AsyncGenerator<Batch> {
  for await (const entries of bundles) yield { entries };
}
