import { gate as checkArtifacts, type GateVerdict, loadGatePolicy, loadTrustedRoot } from '@signet/core';
import { createOutput, EXIT } from '../output';

interface GateFlags {
  policy: string;
  json?: boolean;
  trustedRoot?: string;
  offline?: boolean;
}

/**
 * `signet gate --policy FILE ARTIFACT…`: every artifact against the policy's rules, one row
 * each; exit 1 when any fails (an artifact no rule covers fails), 2 for a bad policy.
 */
export async function gate(artifacts: string[], flags: GateFlags): Promise<number> {
  const out = createOutput(Boolean(flags.json));
  const policy = await loadGatePolicy(flags.policy, { onWarning: out.warn });
  const verdicts = await checkArtifacts(artifacts, policy, {
    trustedRoot: () => loadTrustedRoot({ trustedRootPath: flags.trustedRoot, offline: flags.offline, onWarning: out.warn }),
  });
  const failed = verdicts.filter((v) => !v.ok).length;
  const summary = `${verdicts.length - failed} of ${verdicts.length} artifacts passed${failed > 0 ? `, ${failed} failed` : ''} (policy ${flags.policy})`;
  if (out.json) {
    out.data({ ok: failed === 0, policy: flags.policy, passed: verdicts.length - failed, failed, verdicts });
    out.info(summary);
  } else {
    out.text(`${table(verdicts)}\n${summary}`);
  }
  return failed > 0 ? EXIT.VERIFICATION_FAILED : EXIT.OK;
}

/** ARTIFACT, VERDICT, SIGNER, REASON: the first three padded, the reason left long. */
function table(verdicts: GateVerdict[]): string {
  const rows = [
    ['ARTIFACT', 'VERDICT', 'SIGNER', 'REASON'],
    ...verdicts.map((v) => [v.artifact, v.ok ? 'PASS' : 'FAIL', v.signer ?? '-', v.ok ? v.reason : `${v.code}: ${v.reason}`]),
  ];
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((row) => (row[i] as string).length)));
  return rows.map((row) => row.map((cell, i) => (i < 3 ? cell.padEnd(widths[i] as number) : cell)).join('  ')).join('\n');
}
