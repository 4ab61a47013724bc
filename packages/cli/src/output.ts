import { inspect } from 'node:util';
import { redactSecrets, SignetError, VERIFICATION_CODES } from '@signet/core';

/** Exit statuses, the same for every command. */
export const EXIT = {
  OK: 0,
  /** Verification failed: the artifact, signature or signer is not acceptable. */
  VERIFICATION_FAILED: 1,
  /** Bad usage or bad input. */
  BAD_INPUT: 2,
  /** A key provider, KMS, log or network failed. */
  PROVIDER_FAILED: 3,
} as const;

export function exitCodeFor(error: SignetError): number {
  if (VERIFICATION_CODES.has(error.code)) return EXIT.VERIFICATION_FAILED;
  if (error.code === 'E_PROVIDER' || error.code === 'E_PERMISSION' || error.code === 'E_KEY_DISABLED') return EXIT.PROVIDER_FAILED;
  if (error.code === 'E_INTERNAL') return EXIT.VERIFICATION_FAILED;
  return EXIT.BAD_INPUT;
}

/** "1 file", "2 files": a number of things, as people write it. */
export function count(n: number, noun: string, plural = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : plural}`;
}

/** Where a command writes: data to stdout, people to stderr. */
export interface Output {
  json: boolean;
  /** A line for people (stderr, so stdout stays data). */
  info(line: string): void;
  warn(line: string): void;
  /** Machine-readable data (stdout). */
  data(value: unknown): void;
  /** Text that is the command's product, such as a PEM (stdout). */
  text(value: string): void;
}

/** Flags whose values are secrets; what follows them is redacted from every line Signet prints. */
const SECRET_FLAGS = ['--identity-token'];

const secretArguments: string[] = [];

/** Notes the secrets on this command line (an --identity-token) so that no line printed repeats them. */
export function keepSecretArguments(argv: readonly string[]): void {
  for (const [i, argument] of argv.entries()) {
    for (const flag of SECRET_FLAGS) {
      if (argument === flag && argv[i + 1] !== undefined) secretArguments.push(argv[i + 1] as string);
      else if (argument.startsWith(`${flag}=`)) secretArguments.push(argument.slice(flag.length + 1));
    }
  }
}

/**
 * A line for stderr, as every line Signet prints for people goes: through core's redaction,
 * the last guard for a secret some message let through (a PIN, a token, a provider's words).
 */
function printable(line: string): string {
  return redactSecrets(line, secretArguments);
}

export function createOutput(json: boolean, quiet = false): Output {
  return {
    json,
    info: (line) => {
      if (!quiet) process.stderr.write(`${printable(line)}\n`);
    },
    warn: (line) => process.stderr.write(`warning: ${printable(line)}\n`),
    data: (value) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`),
    text: (value) => process.stdout.write(value.endsWith('\n') ? value : `${value}\n`),
  };
}

/** Reports a failure as one line on stderr (and as JSON on stdout with --json); returns the exit status. */
export function reportError(error: unknown, json: boolean): number {
  const signetError =
    error instanceof SignetError
      ? error
      : new SignetError({ code: 'E_INTERNAL', message: `unexpected error: ${(error as Error)?.message ?? String(error)}`, cause: error });
  const message = printable(signetError.message).replace(/\s*\n\s*/g, ' ');
  process.stderr.write(`signet: ${signetError.code}: ${message}\n`);
  if (json) process.stdout.write(`${JSON.stringify({ ok: false, error: { code: signetError.code, message } })}\n`);
  if (signetError.code === 'E_INTERNAL' && process.env.SIGNET_DEBUG) process.stderr.write(`${printable(inspect(signetError.cause))}\n`);
  return exitCodeFor(signetError);
}
