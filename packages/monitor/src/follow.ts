import type { Checkpoint } from './checkpoint';
import type { ScanContext } from './context';
import { CompactRange, hashLeaf } from './merkle';
import type { LogState } from './state';

/*
 * Following one log (or one shard of a Rekor v1 log) from its last verified checkpoint to a new
 * one, the same for both Rekor versions: every entry in between is read, matched, and appended
 * to the compact range, whose root must then be the new checkpoint's. Equal roots prove that
 * the log only appended since the last run, and that the entries read are exactly its entries.
 */

export interface Batch {
  /** Indexes within the log (the shard), from its first entry. */
  entries: { index: number; body: Buffer }[];
}

export interface FollowOptions {
  /** The log's URL, for alerts. */
  source: string;
  /** The global index of the first entry (a Rekor v1 shard after others), 0 otherwise. */
  offset: number;
  logId: string;
  /** Reads entries [from, to) in batches. */
  read(from: number, to: number): AsyncIterable<Batch>;
  /** Save after every batch ('now', for slow logs) or now and then ('batch'). */
  save: 'now' | 'batch';
  /** Rekor v1: the log's consistency proof between the verified checkpoint and the new one, checked; why it fails. */
  consistency?: (from: LogState['verified'] & object, to: Checkpoint) => Promise<string | undefined>;
}

/** Follows the log to `target`; false when it alerted that the log forked (the state then stays at its last verified checkpoint). */
export async function follow(ctx: ScanContext, state: LogState, target: Checkpoint, options: FollowOptions): Promise<boolean> {
  const { source } = options;
  const verified = state.verified;
  const fork = (reason: string) => {
    ctx.alert('log-fork', [source, options.logId, verified?.size ?? 'first', verified?.root ?? state.scan?.target.root], {
      source,
      reason: `${reason}: the log's history is not the one it showed before (a fork or a rewritten log)`,
    });
    delete state.scan;
    return false;
  };
  if (verified) {
    const root = Buffer.from(verified.root, 'hex');
    if (target.size < verified.size)
      return fork(`its checkpoint has ${target.size} entries, fewer than the ${verified.size} of the last one verified`);
    if (target.size === verified.size && !target.root.equals(root))
      return fork(`two checkpoints of ${target.size} entries with different roots`);
    if (options.consistency && target.size > verified.size) {
      const failure = await options.consistency(verified, target);
      if (failure) return fork(`its consistency proof from ${verified.size} to ${target.size} entries fails (${failure})`);
    }
  }
  // The scan a killed run left, if it heads where this one can go; else from the verified checkpoint.
  let range: CompactRange;
  let check: { size: number; root: Buffer } | undefined;
  if (state.scan && state.scan.range.size <= target.size) {
    range = CompactRange.fromJSON(state.scan.range);
    if (state.scan.target.size > target.size)
      return fork(`its checkpoint has ${target.size} entries, fewer than the ${state.scan.target.size} of one seen before`);
    check = { size: state.scan.target.size, root: Buffer.from(state.scan.target.root, 'hex') };
  } else if (verified) {
    range = CompactRange.fromJSON(verified.range);
  } else {
    throw new Error('a log state without a verified checkpoint or a scan');
  }

  const previous = state.scan?.target.size ?? verified?.size;
  if (previous !== undefined && target.size === previous) {
    if (ctx.now.getTime() - Date.parse(state.grewAt) > ctx.stalledAfterMs) {
      ctx.alert('log-stalled', [source, options.logId, target.size], {
        source,
        reason: `the log has had ${target.size} entries since ${state.grewAt}, longer than stalledAfter allows: it stopped growing, or shows a frozen view`,
      });
    }
  } else {
    state.grewAt = ctx.now.toISOString();
  }

  const targetState = { size: target.size, root: target.root.toString('hex'), text: target.text };
  state.scan = { target: targetState, range: range.toJSON() };
  if (check && range.size === check.size && !range.root().equals(check.root))
    return fork(`the entries up to ${check.size} do not hash to the root of its checkpoint of that size`);
  for await (const batch of options.read(range.size, target.size)) {
    for (const { index, body } of batch.entries) {
      if (index !== range.size) throw new Error(`entry ${index} read where ${range.size} was expected`);
      const leafHash = hashLeaf(body);
      range.append(leafHash);
      ctx.scanEntry(source, options.logId, options.offset + index, body, leafHash);
      if (check && range.size === check.size && !range.root().equals(check.root)) {
        return fork(`the entries up to ${check.size} do not hash to the root of its checkpoint of that size`);
      }
      ctx.entryDone();
    }
    state.scan.range = range.toJSON();
    await ctx.progress(options.save);
  }
  if (range.size !== target.size) throw new Error(`read ${range.size} entries of ${target.size}`);
  if (!range.root().equals(target.root)) return fork(`its entries do not hash to the root of its checkpoint of ${target.size} entries`);
  state.verified = { ...targetState, range: range.toJSON() };
  delete state.scan;
  return true;
}
