import { execFile } from 'node:child_process';
import { SignetError } from '@signet/core';

export interface NpmRunOptions {
  cwd: string;
  env?: NodeJS.ProcessEnv;
}

export interface NpmResult {
  stdout: string;
  stderr: string;
}

/**
 * Runs the npm CLI the user has (`npm`, or `npm_execpath` when Signet itself runs under
 * npm), so its configuration, auth and lifecycle scripts apply exactly as to a plain
 * `npm publish`. A failure is E_PROVIDER with npm's own last error lines, tokens removed.
 */
export function runNpm(args: string[], options: NpmRunOptions): Promise<NpmResult> {
  const env = options.env ?? process.env;
  const npmCli = env.npm_execpath?.endsWith('npm-cli.js') ? env.npm_execpath : undefined;
  const [file, argv] = npmCli ? [process.execPath, [npmCli, ...args]] : [process.platform === 'win32' ? 'npm.cmd' : 'npm', args];
  return new Promise((resolve, reject) => {
    execFile(
      file,
      argv,
      { cwd: options.cwd, env, maxBuffer: 64 * 1024 * 1024, shell: process.platform === 'win32' },
      (error, stdout, stderr) => {
        if (!error) return resolve({ stdout, stderr });
        const lines = scrubTokens(stderr)
          .split('\n')
          .map((line) => line.replace(/^npm (error|ERR!) ?/, '').trim())
          .filter((line) => line && !/^\d{3}$/.test(line) && !line.startsWith('A complete log of this run'));
        // npm's "code E404" line, then what it says about it.
        const code = lines.find((line) => /^code \S+$/.test(line))?.slice('code '.length);
        const said = lines.filter((line) => !line.startsWith('code ')).slice(0, 2);
        reject(
          new SignetError({
            code: 'E_PROVIDER',
            message: `npm ${args[0]} failed${code ? ` (${code})` : ''}: ${said.length > 0 ? said.join(' ') : error.message}`,
            cause: new NpmFailure(code, scrubTokens(stdout), scrubTokens(stderr)),
          }),
        );
      },
    );
  });
}

/** npm prints registry URLs and config lines; an auth token must never reach Signet's output. */
export function scrubTokens(text: string): string {
  return text.replace(/(_authToken|_auth|_password|token)(\s*[=:]\s*)\S+/gi, '$1$2***').replace(/\bnpm_[A-Za-z0-9]{20,}\b/g, 'npm_***');
}

/** What a failed npm run printed (tokens removed): the cause of the SignetError runNpm rejects with. */
export class NpmFailure extends Error {
  constructor(
    /** npm's error code (E404, EPUBLISHCONFLICT, …), when it printed one. */
    readonly npmCode: string | undefined,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(`npm failed${npmCode ? ` (${npmCode})` : ''}`);
  }
}
