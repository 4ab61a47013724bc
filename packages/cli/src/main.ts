import fs from 'node:fs';
import path from 'node:path';
import { SignetError } from '@signet/core';
import { overviewHelp, parseCommandLine } from './command-line';
import { COMMANDS, OVERVIEW_FOOTER } from './commands';
import { EXIT, keepSecretArguments, reportError } from './output';

/** Runs the CLI on `argv` (without node and the script) and returns its exit status. */
export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<number> {
  const json = argv.includes('--json');
  keepSecretArguments(argv);
  try {
    const parsed = parseCommandLine(argv, COMMANDS, overviewHelp(COMMANDS, OVERVIEW_FOOTER));
    switch (parsed.kind) {
      case 'help':
        process.stdout.write(parsed.text);
        return EXIT.OK;
      case 'version':
        process.stdout.write(`${installedVersion()}\n`);
        return EXIT.OK;
      case 'run':
        return (await parsed.command.run(parsed.positionals, parsed.options)) ?? EXIT.OK;
    }
  } catch (error) {
    if (error instanceof SignetError && error.code === 'E_USAGE' && argv.length === 0) {
      process.stderr.write(overviewHelp(COMMANDS, OVERVIEW_FOOTER));
    }
    return reportError(error, json);
  }
}

/**
 * The version of the package as installed, read when asked rather than bundled at build time:
 * a dist/ built before `changeset version` would otherwise print the version before the bump.
 * The bundle (dist/signet.cjs) and the sources (src/main.ts) both sit one folder below package.json.
 */
function installedVersion(): string {
  return (JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;
}

export function run(): void {
  // Output piped into `head` that closes early is not an error of ours.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw error;
    });
  }
  // Node would print a stray error (an SDK's socket failing after the call gave up) as it is,
  // stack and request included: it goes the way Signet's own errors go, one redacted line.
  process.on('uncaughtException', (error) => process.exit(reportError(error, process.argv.includes('--json'))));
  main().then(
    (status) => {
      process.exitCode = status;
    },
    (error) => {
      process.exitCode = reportError(error, false);
    },
  );
}
