import { isatty } from 'node:tty';

/** Asks for a passphrase on the terminal without echoing it; only called when stdin is a TTY. */
export async function promptPassphrase(question: string): Promise<string> {
  const { read } = require('read') as typeof import('read');
  const passphrase = await read({ prompt: question, silent: true, replace: '', output: process.stderr });
  // A silent read swallows the Enter too; without this newline the next line follows the prompt.
  process.stderr.write('\n');
  return passphrase;
}

/**
 * The prompt to hand core, or none when nobody is at a terminal to answer it. Asks the
 * file descriptors rather than process.stdin, whose stream costs start-up time to create.
 */
export function passphrasePrompt(): ((question: string) => Promise<string>) | undefined {
  return isatty(0) && isatty(2) ? promptPassphrase : undefined;
}
