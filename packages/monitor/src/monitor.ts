import { loadTrustedRoot, readLedger, SignetError, type TrustedRoot } from '@signet/core';
import { logKeys } from './checkpoint';
import type { MonitorConfig } from './config';
import { ScanContext } from './context';
import { DEFAULT_FETCHER, type Fetcher } from './fetch';
import { compileWatch } from './matchers';
import { watchPackage } from './npm';
import { followRekorV1 } from './rekor-v1';
import { followRekorV2 } from './rekor-v2';
import { type Alert, readState, writeState } from './state';

export interface MonitorOptions {
  config: MonitorConfig;
  /** The state file (default: the config's `state`). */
  stateFile?: string;
  /** The ledger (default: the config's `ledger`); without one, every match is an alert. */
  ledgerFile?: string;
  /** Where a log or package seen for the first time starts: an index (logs), or a date (Rekor v1 logs and npm). */
  since?: { index?: number; date?: Date };
  /** The trusted root's source, overriding the config's (a file, or a TUF repository). */
  trust?: { trustedRootPath?: string; tufMirror?: string; tufRootPath?: string; offline?: boolean };
  /**
   * Prints (or files) the alerts of this run before they are recorded as reported. A run
   * killed in between prints them again with the same IDs, so a notifier keyed on the ID
   * opens one issue per alert.
   */
  report: (alerts: readonly Alert[]) => Promise<void> | void;
  now?: Date;
  fetcher?: Fetcher;
}

export interface MonitorResult {
  alerts: Alert[];
  /** Logs and registries that could not be read (their state is where the last run left it). */
  failures: { source: string; code: string; message: string }[];
}

/**
 * One monitoring run: each log followed from where the last run stopped, each npm package
 * read, the alerts reported. Bad configuration or state throws (E_INPUT, E_USAGE); a log or
 * registry that cannot be read is a failure of its own and the others are still read.
 */
export async function runMonitor(options: MonitorOptions): Promise<MonitorResult> {
  const { config } = options;
  const stateFile = options.stateFile ?? config.state;
  if (!stateFile)
    throw new SignetError({ code: 'E_USAGE', message: 'signet monitor needs a state file: --state FILE, or state: in the config' });
  const state = await readState(stateFile);
  const ledgerFile = options.ledgerFile ?? config.ledger;
  const ledger = ledgerFile ? await readLedger(ledgerFile) : [];
  let root: Promise<TrustedRoot> | undefined;
  const trustedRoot = () => {
    root ??= loadTrustedRoot({
      trustedRootPath: options.trust?.trustedRootPath ?? config.trustedRoot,
      tufMirror: options.trust?.tufMirror ?? config.tufMirror,
      tufRootPath: options.trust?.tufRootPath ?? config.tufRoot,
      offline: options.trust?.offline,
    });
    return root;
  };
  const killAfter = Number(process.env.SIGNET_MONITOR_TEST_KILL_AFTER);
  const ctx = new ScanContext(
    state,
    stateFile,
    ledger,
    compileWatch(config.watch),
    config.logs.length > 0 ? logKeys(await trustedRoot()) : [],
    options.fetcher ?? DEFAULT_FETCHER,
    options.now ?? new Date(),
    config.stalledAfterMs,
    options.since,
    Number.isSafeInteger(killAfter) && killAfter > 0 ? killAfter : undefined,
  );
  const failures: MonitorResult['failures'] = [];
  const attempt = async (source: string, work: () => Promise<void>) => {
    try {
      await work();
    } catch (error) {
      if (!(error instanceof SignetError) || !['E_PROVIDER', 'E_PERMISSION'].includes(error.code)) throw error;
      failures.push({ source, code: error.code, message: error.message });
    }
    await ctx.save();
  };
  // npm first: the provenance of your releases it verifies names log entries that are yours.
  for (const pkg of config.npm?.packages ?? []) {
    await attempt(`${config.npm?.registry}/${pkg.name}`, () => watchPackage(ctx, config.npm?.registry as string, pkg, trustedRoot));
  }
  for (const log of config.logs) {
    await attempt(log.url, () => (log.version === 1 ? followRekorV1(ctx, log.url) : followRekorV2(ctx, log.url)));
  }
  const alerts = [...state.pending];
  await options.report(alerts);
  state.reported.push(...alerts.map((alert) => alert.id));
  state.pending = [];
  await writeState(stateFile, state);
  return { alerts, failures };
}

/** An alert as one line: what, where, why. */
export function formatAlert(alert: Alert): string {
  const where =
    alert.logIndex !== undefined
      ? `${alert.source} #${alert.logIndex}`
      : alert.version !== undefined
        ? `${alert.package}@${alert.version}`
        : alert.source;
  return `ALERT ${alert.kind} ${where}: ${alert.reason} [${alert.id}]`;
}
