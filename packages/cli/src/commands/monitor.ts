import { SignetError } from '@signet/core';
import type * as SignetMonitor from '@signet/monitor';
import { createOutput, EXIT, reportError } from '../output';

/** @signet/monitor, loaded when `signet monitor` runs (and named when it is not installed). */
function signetMonitor(): typeof SignetMonitor {
  try {
    return require('@signet/monitor') as typeof SignetMonitor;
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw cause;
    throw new SignetError({
      code: 'E_PROVIDER_MISSING',
      message: 'signet monitor needs @signet/monitor: npm install -g @signet/monitor',
      cause,
    });
  }
}

interface MonitorFlags {
  config: string;
  state?: string;
  ledger?: string;
  since?: string;
  trustedRoot?: string;
  tufMirror?: string;
  tufRoot?: string;
  offline?: boolean;
  json?: boolean;
}

/**
 * `signet monitor --config monitor.yaml`: one run. Exit 0 when nothing unexpected was found,
 * 1 with alerts, 2 for a bad config, state or ledger, 3 when a log or registry could not be read.
 */
export async function monitor(_: string[], flags: MonitorFlags): Promise<number> {
  const out = createOutput(Boolean(flags.json));
  const { loadMonitorConfig, runMonitor, formatAlert } = signetMonitor();
  const since = parseSince(flags.since);
  const config = await loadMonitorConfig(flags.config);
  const result = await runMonitor({
    config,
    stateFile: flags.state,
    ledgerFile: flags.ledger,
    since,
    trust: { trustedRootPath: flags.trustedRoot, tufMirror: flags.tufMirror, tufRootPath: flags.tufRoot, offline: flags.offline },
    report: (alerts) => {
      if (!out.json) for (const alert of alerts) out.text(formatAlert(alert));
    },
  });
  for (const failure of result.failures)
    reportError(new SignetError({ code: failure.code as 'E_PROVIDER', message: failure.message }), false);
  const status = result.alerts.length > 0 ? EXIT.VERIFICATION_FAILED : result.failures.length > 0 ? EXIT.PROVIDER_FAILED : EXIT.OK;
  if (out.json) out.data({ ok: status === EXIT.OK, alerts: result.alerts, failures: result.failures });
  else if (status === EXIT.OK)
    out.info(`nothing unexpected in ${config.logs.length} log(s) and ${config.npm?.packages.length ?? 0} npm package(s)`);
  return status;
}

function parseSince(since: string | undefined): { index?: number; date?: Date } | undefined {
  if (since === undefined) return undefined;
  if (/^\d+$/.test(since) && Number.isSafeInteger(Number(since))) return { index: Number(since) };
  const date = /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(since) ? new Date(since) : undefined;
  if (!date || Number.isNaN(date.getTime())) {
    throw new SignetError({
      code: 'E_USAGE',
      message: `--since takes a log index (a number) or a date (2026-12-01 or an ISO 8601 time), not "${since}"`,
    });
  }
  return { date };
}
