import type { LedgerRecord } from '@signet/core';
import type { logKeys } from './checkpoint';
import type { EntryError, EntryVerifier } from './entries';
import { entryVerifiers } from './entries';
import type { Fetcher } from './fetch';
import type { Watch } from './matchers';
import { hashLeaf } from './merkle';
import { type Alert, type AlertKind, alertId, type MonitorState, writeState } from './state';

/** What every log and registry scan shares in one run. */
export class ScanContext {
  private lastSave = Date.now();
  private entries = 0;
  private batches = 0;
  /** How long the last save in the background took (ms). */
  private lastSaveMs = 0;
  private saving: Promise<void> | undefined;
  private readonly leaves: Set<string>;
  private readonly indexes: Set<string>;
  readonly packages: Set<string>;

  constructor(
    readonly state: MonitorState,
    private readonly stateFile: string,
    ledger: readonly LedgerRecord[],
    readonly watch: Watch,
    readonly keys: ReturnType<typeof logKeys>,
    readonly fetcher: Fetcher,
    readonly now: Date,
    readonly stalledAfterMs: number,
    readonly since: { index?: number; date?: Date } | undefined,
    private readonly killAfter: number | undefined,
  ) {
    this.leaves = new Set([...ledger.flatMap((record) => (record.leaf ? [record.leaf] : [])), ...(state.expected ?? [])]);
    this.indexes = new Set(
      ledger.flatMap((record) => (record.log !== undefined && record.logIndex !== undefined ? [`${record.log}:${record.logIndex}`] : [])),
    );
    this.packages = new Set(ledger.flatMap((record) => (record.package ? [record.package] : [])));
  }

  /** Log entries (leaf hashes, hex) that are yours though the ledger does not name them; kept in the state for later runs. */
  expect(leaves: readonly string[]): void {
    for (const leaf of leaves) {
      if (this.leaves.has(leaf)) continue;
      this.leaves.add(leaf);
      this.state.expected = [...(this.state.expected ?? []), leaf];
    }
  }

  /** Records an alert, unless the same finding was already recorded or printed. */
  alert(kind: AlertKind, key: (string | number | undefined)[], fields: Omit<Alert, 'id' | 'kind' | 'found'>): void {
    const id = alertId(kind, ...key);
    if (this.state.reported.includes(id) || this.state.pending.some((alert) => alert.id === id)) return;
    this.state.pending.push({ id, kind, ...fields, found: this.now.toISOString() });
  }

  /**
   * Matches one log entry against the watch and the ledger: a watched signer's entry the
   * ledger does not hold is an alert, and so is an entry that cannot be read.
   */
  scanEntry(source: string, logId: string | undefined, index: number, body: Buffer, leafHash: Buffer = hashLeaf(body)): void {
    let verifiers: EntryVerifier[];
    try {
      verifiers = entryVerifiers(body);
    } catch (error) {
      this.alert('unreadable-entry', [source, index, leafHash.toString('hex')], {
        source,
        logIndex: index,
        reason: `entry ${index} cannot be read (${(error as EntryError).message}); it may hide a watched signer`,
      });
      return;
    }
    if (verifiers.length === 0) return;
    const found = this.watch.match(verifiers);
    if (!found) return;
    const leaf = leafHash.toString('hex');
    if (this.leaves.has(leaf) || (logId !== undefined && this.indexes.has(`${logId}:${index}`))) return;
    const who = found.signer.subject
      ? `${found.signer.subject} (issuer ${found.signer.issuer ?? 'unknown'}${found.signer.extensions?.sourceRepository ? `, run by ${found.signer.extensions.sourceRepository}` : ''}${found.signer.extensions?.sourceRepositoryRef ? ` at ${found.signer.extensions.sourceRepositoryRef}` : ''})`
      : `${found.signer.kind === 'certificate' ? 'certificate' : 'key'} ${found.signer.fingerprint}`;
    this.alert('unexpected-entry', [source, index, leaf], {
      source,
      logIndex: index,
      reason: `signed by ${who}, matching ${found.matched.map((m) => m.matcher).join(', ')}; not in the ledger`,
      matched: found.matched,
      signer: found.signer,
    });
  }

  /**
   * Called after each entry is handled (synchronously: an await per entry would cost more than
   * hashing it). For the kill-safety tests, SIGNET_MONITOR_TEST_KILL_AFTER=N kills the process
   * (SIGKILL: nothing runs after it) once it has handled N entries, wherever that falls.
   */
  entryDone(): void {
    this.entries += 1;
    if (this.killAfter !== undefined && this.entries >= this.killAfter) process.kill(process.pid, 'SIGKILL');
  }

  /**
   * Called at the end of a batch (`save`: 'batch' every so often, 'now' always): saves the
   * state, which holds the position and the alerts so far together.
   */
  async progress(save: 'batch' | 'now'): Promise<void> {
    if (save === 'now') return this.save();
    this.batches += 1;
    // A batch is an entry bundle (256 entries) of a tiled log: saved every 16th, or every
    // second. The write (and its sync, the most of it) goes on while the next batch is scanned,
    // and is awaited at that batch's end: the state saved is the state at this batch's end
    // (writeState serializes it before its first await), one save at a time, so an earlier
    // state never overwrites a later one, and a run killed after that next batch has always
    // saved this one. When syncs are slow next to a fast scan, a save after the first waits
    // until nine times the last one's duration has passed, so saving stays a tenth of the work.
    await this.settle();
    const sinceSave = Date.now() - this.lastSave;
    if ((this.batches % 16 === 0 && sinceSave >= 9 * this.lastSaveMs) || sinceSave > 1000) {
      const started = Date.now();
      this.lastSave = started;
      const saving = writeState(this.stateFile, this.state).then(() => {
        this.lastSaveMs = Date.now() - started;
      });
      // Its failure is thrown where it is awaited (settle).
      saving.catch(() => undefined);
      this.saving = saving;
    }
  }

  async save(): Promise<void> {
    await this.settle();
    await writeState(this.stateFile, this.state);
    this.lastSave = Date.now();
  }

  /** Waits for the save begun at the last batch's end, if any; throws its failure. */
  private async settle(): Promise<void> {
    const saving = this.saving;
    this.saving = undefined;
    await saving;
  }
}
