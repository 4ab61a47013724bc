import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import { SignetError, writeFileAtomic } from '@signet/core';
import type { EntrySigner, Matched } from './matchers';

/*
 * The one state file: per log the last verified checkpoint with its compact range (and a scan
 * in progress), per npm package the versions seen, and the alerts found but not yet printed
 * with the IDs of those printed. Each save rewrites it atomically, the alerts of the entries
 * scanned so far in the same write as the position: a run killed at any point resumes from
 * its last save, finding again only what that save did not hold, and an alert's ID (the same
 * for the same finding) keeps it from being printed twice.
 */

export type AlertKind =
  /** A watched identity, extension or key signed an entry the ledger does not hold. */
  | 'unexpected-entry'
  /** An entry of a kind Signet reads could not be read (it may hide a watched signer). */
  | 'unreadable-entry'
  /** The log's history changed: an inconsistent checkpoint, entries that do not hash to its root, a shrunk tree, a lost shard. */
  | 'log-fork'
  /** The log's checkpoint does not verify with its key in the trusted root, or is not a checkpoint. */
  | 'bad-checkpoint'
  /** The log has not grown for longer than `stalledAfter`. */
  | 'log-stalled'
  /** A version on the registry that the ledger does not hold. */
  | 'npm-unexpected-version'
  /** A version without provenance, where the package requires or has had it. */
  | 'npm-provenance-missing'
  /** Provenance by an identity the package's policy does not expect. */
  | 'npm-provenance-identity'
  /** Provenance that does not verify. */
  | 'npm-provenance-invalid';

export interface Alert {
  /** The same for the same finding, in every run: what a notifier deduplicates on. */
  id: string;
  kind: AlertKind;
  /** Where: the log's URL, or the registry's. */
  source: string;
  logIndex?: number;
  package?: string;
  version?: string;
  /** Why, in one line. */
  reason: string;
  matched?: Matched[];
  signer?: EntrySigner;
  /** When it was found, ISO 8601. */
  found: string;
}

export interface CheckpointState {
  size: number;
  /** Hex. */
  root: string;
  text: string;
}

export interface RangeState {
  size: number;
  hashes: string[];
}

export interface LogState {
  version: 1 | 2;
  /** The checkpoint origin (for Rekor v1 it names the shard's tree too). */
  origin?: string;
  /** The ID (hex) of the log key that signs its checkpoints: the `log` of ledger records. */
  logId?: string;
  /** Rekor v1: the shard being followed, and the global index of its first entry. */
  treeId?: string;
  offset?: number;
  /** The last checkpoint proven consistent and fully scanned, with its compact range. */
  verified?: CheckpointState & { range: RangeState };
  /** A scan in progress: the checkpoint it heads for, and the compact range of what was scanned. */
  scan?: { target: CheckpointState; range: RangeState };
  /** When the log was last seen to grow, ISO 8601. */
  grewAt: string;
}

export interface PackageState {
  versions: string[];
  /** Whether any version seen had provenance. */
  hadProvenance: boolean;
}

export interface MonitorState {
  version: 1;
  logs: Record<string, LogState>;
  npm: Record<string, PackageState>;
  /**
   * Leaf hashes (hex) of log entries that are yours though the ledger does not name them: the
   * npm provenance of releases the ledger holds, which npm, not Signet, logged. Newest last.
   */
  expected?: string[];
  /** Found and not yet printed. */
  pending: Alert[];
  /** IDs of alerts printed, newest last. */
  reported: string[];
}

/** How many printed alert IDs are kept to deduplicate against. */
const REPORTED_KEPT = 10_000;

export function emptyState(): MonitorState {
  return { version: 1, logs: {}, npm: {}, pending: [], reported: [] };
}

export async function readState(file: string): Promise<MonitorState> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return emptyState();
    throw new SignetError({ code: 'E_INPUT', message: `cannot read the monitor state ${file}: ${(cause as Error).message}`, cause });
  }
  let state: MonitorState;
  try {
    state = JSON.parse(text);
  } catch (cause) {
    throw new SignetError({ code: 'E_INPUT', message: `the monitor state ${file} is not JSON`, cause });
  }
  if (state?.version !== 1 || typeof state.logs !== 'object' || !Array.isArray(state.pending) || !Array.isArray(state.reported)) {
    throw new SignetError({ code: 'E_INPUT', message: `${file} is not a signet monitor state file (version 1)` });
  }
  state.npm ??= {};
  return state;
}

export async function writeState(file: string, state: MonitorState): Promise<void> {
  if (state.reported.length > REPORTED_KEPT) state.reported = state.reported.slice(-REPORTED_KEPT);
  if (state.expected && state.expected.length > REPORTED_KEPT) state.expected = state.expected.slice(-REPORTED_KEPT);
  await writeFileAtomic(file, `${JSON.stringify(state)}\n`);
}

/** An alert's ID: the first 16 bytes (hex) of SHA-256 over what identifies the finding. */
export function alertId(...parts: (string | number | undefined)[]): string {
  return crypto
    .createHash('sha256')
    .update(parts.map((part) => String(part ?? '')).join('\u0000'))
    .digest('hex')
    .slice(0, 32);
}
