// Running the real tools (npm, changesets, turbo, the signet CLI) as child processes, each
// with the network guard preloaded and an environment that carries nothing of the npm or
// turbo run the test itself may be part of.
import { execFile } from 'node:child_process';
import path from 'node:path';

export const NETWORK_GUARD = path.join(__dirname, 'network-guard.cjs');

export interface CommandResult {
  status: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Resolves (never rejects) with the command's exit status, output and duration. */
export function command(
  file: string,
  args: readonly string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<CommandResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { cwd: options.cwd, env: options.env, timeout: options.timeoutMs ?? 180_000, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
      (error, stdout, stderr) => {
        const status = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({
          status,
          stdout,
          stderr: error?.killed ? `${stderr}\n(killed after ${options.timeoutMs} ms)` : stderr,
          ms: Date.now() - started,
        });
      },
    );
  });
}

/**
 * The environment for the rehearsal's commands: this process's, less npm's and turbo's
 * per-run variables, Signet's own settings and any NODE_OPTIONS; plus the network guard
 * (logging to GUARD_LOG), no turbo telemetry, and EXTRA.
 */
export function commandEnv(guardLog: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value === undefined || /^(npm_|SIGNET_|TURBO_)/i.test(name) || name === 'NODE_OPTIONS' || name === 'INIT_CWD') continue;
    env[name] = value;
  }
  return {
    ...env,
    NODE_OPTIONS: `--require ${NETWORK_GUARD}`,
    SIGNET_NETWORK_GUARD_LOG: guardLog,
    TURBO_TELEMETRY_DISABLED: '1',
    DO_NOT_TRACK: '1',
    NO_COLOR: '1',
    ...extra,
  };
}

/** Text to show when a command failed: its status and the end of its output. */
export function failure(result: CommandResult): string {
  return `exit ${result.status}\n${result.stdout.slice(-3000)}\n${result.stderr.slice(-3000)}`;
}
