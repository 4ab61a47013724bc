import { SignetError } from '@signet/core';
import { type Checkpoint, CheckpointError, verifyCheckpoint } from './checkpoint';
import type { ScanContext } from './context';
import { fetchJson } from './fetch';
import { type Batch, follow } from './follow';
import { CompactRange, consistencyFailure, hashLeaf, rangeFromInclusionProof } from './merkle';
import type { LogState } from './state';

/*
 * A Rekor v1 log through its API: `GET /api/v1/log` (the active shard's signed checkpoint, and
 * the inactive shards, oldest first), `GET /api/v1/log/proof?firstSize&lastSize&treeID` (the
 * consistency proof between the last verified checkpoint and the new one), `POST
 * /api/v1/log/entries/retrieve` (ten entries by global index at a time) and `GET
 * /api/v1/log/entries?logIndex=N`. A global index is the sizes of the shards before plus the
 * index in the shard. When the log rotates, the monitor finishes the shard it was following
 * (up to its final checkpoint) and then reads each newer shard from its first entry.
 */

interface ShardInfo {
  treeId: string;
  size: number;
  rootHash: string;
  signedTreeHead: string;
  offset: number;
}

interface LogEntryJson {
  body: string;
  integratedTime?: number;
  logIndex: number;
  verification?: { inclusionProof?: { logIndex: number; treeSize: number; hashes: string[] } };
}

const RETRIEVE_LIMIT = 10;

// Rekor's /api/v1/log answer, checked field by field in shardsOf.
// biome-ignore lint/suspicious/noExplicitAny: see above
type LogInfoJson = Record<string, any>;

export async function followRekorV1(ctx: ScanContext, url: string): Promise<void> {
  const service = `the Rekor log ${url}`;
  const info = (await fetchJson(ctx.fetcher, `${url}/api/v1/log`, { service })) as LogInfoJson;
  const shards = shardsOf(info, url);
  let state = ctx.state.logs[url];
  let position: number;
  if (state) {
    position = shards.findIndex((shard) => shard.treeId === state?.treeId);
    if (position < 0) {
      ctx.alert('log-fork', [url, 'shard', state.treeId], {
        source: url,
        reason: `the shard it was following (tree ${state.treeId}) is neither active nor listed as inactive`,
      });
      return;
    }
  } else {
    position = await firstShard(ctx, url, shards);
  }
  for (let i = position; i < shards.length; i++) {
    const shard = shards[i] as ShardInfo;
    let checkpoint: Checkpoint;
    let logId: string;
    try {
      ({ checkpoint, logId } = verifyCheckpoint(shard.signedTreeHead, ctx.keys));
      if (checkpoint.size !== shard.size || checkpoint.root.toString('hex') !== shard.rootHash) {
        throw new CheckpointError(`it says ${checkpoint.size} entries, where the log info says ${shard.size}`);
      }
    } catch (error) {
      if (!(error instanceof CheckpointError)) throw error;
      ctx.alert('bad-checkpoint', [url, shard.treeId, shard.signedTreeHead], {
        source: url,
        reason: `the checkpoint of tree ${shard.treeId} is refused: ${error.message}`,
      });
      return;
    }
    state = ctx.state.logs[url];
    if (!state || state.treeId !== shard.treeId) {
      state = await startShard(ctx, url, shard, checkpoint, logId, state === undefined);
      if (!state) return;
      ctx.state.logs[url] = state;
    } else if (state.origin !== checkpoint.origin) {
      ctx.alert('bad-checkpoint', [url, checkpoint.origin], {
        source: url,
        reason: `its checkpoint names ${checkpoint.origin}, not ${state.origin} as before`,
      });
      return;
    }
    const followed = await follow(ctx, state, checkpoint, {
      source: url,
      offset: shard.offset,
      logId,
      save: 'now',
      read: (from, to) => readShard(ctx, url, shard.offset, from, to),
      consistency: async (from, to) => {
        if (from.size === 0) return undefined;
        const proof = (await fetchJson(
          ctx.fetcher,
          `${url}/api/v1/log/proof?firstSize=${from.size}&lastSize=${to.size}&treeID=${shard.treeId}`,
          {
            service,
          },
        )) as { hashes?: unknown };
        const hashes = Array.isArray(proof?.hashes) ? proof.hashes.map((hash) => Buffer.from(String(hash), 'hex')) : undefined;
        if (!hashes) return 'the log answered no proof';
        return consistencyFailure(from.size, to.size, hashes, Buffer.from(from.root, 'hex'), to.root);
      },
    });
    if (!followed) {
      if (!state.verified) delete ctx.state.logs[url];
      return;
    }
  }
}

function shardsOf(info: LogInfoJson, url: string): ShardInfo[] {
  const bad = () =>
    new SignetError({ code: 'E_PROVIDER', message: `the Rekor log ${url} answered /api/v1/log with something that is not log info` });
  const one = (shard: LogInfoJson): Omit<ShardInfo, 'offset'> => {
    if (!shard || typeof shard.signedTreeHead !== 'string' || !Number.isSafeInteger(shard.treeSize) || typeof shard.rootHash !== 'string')
      throw bad();
    return { treeId: String(shard.treeID), size: shard.treeSize, rootHash: shard.rootHash, signedTreeHead: shard.signedTreeHead };
  };
  const all = [...(Array.isArray(info?.inactiveShards) ? info.inactiveShards : []), info].map(one);
  let offset = 0;
  return all.map((shard) => {
    const withOffset = { ...shard, offset };
    offset += shard.size;
    return withOffset;
  });
}

/** Where a first run starts: the shard holding --since (an index, or the first entry at or after a date), else the active one. */
async function firstShard(ctx: ScanContext, url: string, shards: ShardInfo[]): Promise<number> {
  const total = shards.reduce((sum, shard) => sum + shard.size, 0);
  let since = ctx.since?.index;
  if (ctx.since?.date) since = await firstIndexAt(ctx, url, total, ctx.since.date);
  if (since === undefined) return shards.length - 1;
  const index = Math.min(since, total);
  const found = shards.findIndex((shard) => index < shard.offset + shard.size);
  return found < 0 ? shards.length - 1 : found;
}

/** Binary search for the first entry integrated at or after `date` (Rekor v1 records a time with each entry). */
async function firstIndexAt(ctx: ScanContext, url: string, total: number, date: Date): Promise<number> {
  let low = 0;
  let high = total;
  while (low < high) {
    const middle = Math.floor((low + high) / 2);
    const entry = await entryAt(ctx, url, middle);
    if ((entry.integratedTime ?? 0) * 1000 >= date.getTime()) high = middle;
    else low = middle + 1;
  }
  return low;
}

/** The state for following a shard from its start (a newer shard), or, on a first run, from --since or its current size. */
async function startShard(
  ctx: ScanContext,
  url: string,
  shard: ShardInfo,
  checkpoint: Checkpoint,
  logId: string,
  firstRun: boolean,
): Promise<LogState | undefined> {
  const base = {
    version: 1 as const,
    origin: checkpoint.origin,
    logId,
    treeId: shard.treeId,
    offset: shard.offset,
    grewAt: ctx.now.toISOString(),
  };
  let start = 0;
  if (firstRun) {
    const since = ctx.since?.date ? await firstIndexAt(ctx, url, shard.offset + shard.size, ctx.since.date) : ctx.since?.index;
    start = since === undefined ? checkpoint.size : Math.max(0, Math.min(since - shard.offset, checkpoint.size));
  }
  let range = new CompactRange();
  if (start > 0) {
    // The inclusion proof of the entry before the start holds, as its left siblings, the compact range up to it.
    const entry = await entryAt(ctx, url, shard.offset + start - 1);
    const proof = entry.verification?.inclusionProof;
    if (!proof || proof.logIndex !== start - 1 || !Array.isArray(proof.hashes)) {
      throw new SignetError({
        code: 'E_PROVIDER',
        message: `the Rekor log ${url} answered entry ${shard.offset + start - 1} without its inclusion proof`,
      });
    }
    try {
      range = rangeFromInclusionProof(
        start - 1,
        proof.treeSize,
        hashLeaf(Buffer.from(entry.body, 'base64')),
        proof.hashes.map((hash) => Buffer.from(hash, 'hex')),
      );
    } catch (cause) {
      throw new SignetError({
        code: 'E_PROVIDER',
        message: `the Rekor log ${url} answered entry ${shard.offset + start - 1} with a malformed inclusion proof`,
        cause,
      });
    }
  }
  const rangeState = range.toJSON();
  if (start === checkpoint.size) {
    if (!range.root().equals(checkpoint.root)) {
      ctx.alert('log-fork', [url, logId, 'first', checkpoint.root.toString('hex')], {
        source: url,
        reason: `its entries do not hash to the root of its checkpoint of ${checkpoint.size} entries`,
      });
      return undefined;
    }
    return {
      ...base,
      verified: { size: checkpoint.size, root: checkpoint.root.toString('hex'), text: checkpoint.text, range: rangeState },
    };
  }
  return { ...base, scan: { target: { size: start, root: range.root().toString('hex'), text: '' }, range: rangeState } };
}

async function entryAt(ctx: ScanContext, url: string, index: number): Promise<LogEntryJson> {
  const answer = (await fetchJson(ctx.fetcher, `${url}/api/v1/log/entries?logIndex=${index}`, {
    service: `the Rekor log ${url}`,
  })) as Record<string, LogEntryJson>;
  const entry = answer && typeof answer === 'object' ? Object.values(answer)[0] : undefined;
  if (!entry || typeof entry.body !== 'string')
    throw new SignetError({ code: 'E_PROVIDER', message: `the Rekor log ${url} has no entry ${index}` });
  return entry;
}

/** Entries [from, to) of the shard, ten at a time. */
async function* readShard(ctx: ScanContext, url: string, offset: number, from: number, to: number): AsyncGenerator<Batch> {
  for (let start = from; start < to; start += RETRIEVE_LIMIT) {
    const indexes = Array.from({ length: Math.min(RETRIEVE_LIMIT, to - start) }, (_, i) => offset + start + i);
    const answer = await fetchJson(ctx.fetcher, `${url}/api/v1/log/entries/retrieve`, {
      service: `the Rekor log ${url}`,
      method: 'POST',
      body: JSON.stringify({ logIndexes: indexes }),
    });
    const byIndex = new Map<number, string>();
    for (const item of Array.isArray(answer) ? answer : []) {
      for (const entry of Object.values(item as Record<string, LogEntryJson>)) {
        if (entry && typeof entry.body === 'string' && Number.isSafeInteger(entry.logIndex)) byIndex.set(entry.logIndex, entry.body);
      }
    }
    const entries: Batch['entries'] = [];
    for (const index of indexes) {
      const body = byIndex.get(index);
      if (body === undefined)
        throw new SignetError({
          code: 'E_PROVIDER',
          message: `the Rekor log ${url} did not return entry ${index}, which its checkpoint includes`,
        });
      entries.push({ index: index - offset, body: Buffer.from(body, 'base64') });
    }
    yield { entries };
  }
}
