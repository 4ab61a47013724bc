/** Asks for a passphrase on the terminal without echoing it; only called when stdin is a TTY. */
export async function promptPassphrase(question: string): Promise<string> {
  const { read } = require('read') as typeof import('read');
  return read({ prompt: question, silent: true, replace: '', output: process.stderr });
}

/** The prompt to hand core, or none when nobody is at a terminal to answer it. */
export function passphrasePrompt(): ((question: string) => Promise<string>) | undefined {
  return process.stdin.isTTY && process.stderr.isTTY ? promptPassphrase : undefined;
}
