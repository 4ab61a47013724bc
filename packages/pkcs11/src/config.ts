import fs from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { SignetError } from '@signet/core';
import type { Pkcs11Uri } from './uri';

/*
 * Where the module and the PIN come from, most specific first: the library API's options,
 * the URI's query, then the environment (SIGNET_PKCS11_MODULE or PKCS11_MODULE_PATH,
 * SIGNET_PKCS11_PIN). The PIN is never put in a message.
 */

export function modulePathFor(explicit: string | undefined, uri: Pkcs11Uri, env: NodeJS.ProcessEnv): string {
  const path = [explicit, uri.modulePath, env.SIGNET_PKCS11_MODULE, env.PKCS11_MODULE_PATH].find(
    (value) => value !== undefined && value !== '',
  );
  if (path) return path;
  throw new SignetError({
    code: 'E_INPUT',
    message:
      `${uri.display} names no PKCS#11 module: set SIGNET_PKCS11_MODULE to your HSM's PKCS#11 library ` +
      '(e.g. /usr/lib/softhsm/libsofthsm2.so) or add ?module-path=… to the URI',
  });
}

export interface PinSources {
  explicit?: string;
  uri: Pkcs11Uri;
  env: NodeJS.ProcessEnv;
  onWarning?: (message: string) => void;
}

/** The user PIN, if one was given anywhere; undefined means "ask, or go without". */
export async function pinFor({ explicit, uri, env, onWarning }: PinSources): Promise<string | undefined> {
  if (explicit !== undefined) return explicit;
  if (uri.pinSource !== undefined) return readPinSource(uri.pinSource, uri.display);
  if (uri.pinValue !== undefined) {
    onWarning?.(
      `${uri.display}: the PIN is written in the URI as pin-value, where the process list and shell history show it; ` +
        'use pin-source=FILE or SIGNET_PKCS11_PIN instead',
    );
    return uri.pinValue;
  }
  const fromEnv = env.SIGNET_PKCS11_PIN;
  return fromEnv === undefined || fromEnv === '' ? undefined : fromEnv;
}

/**
 * RFC 7512's pin-source: a file (a path or a file: URI) whose content is the PIN. Its value
 * is never quoted back: users put the PIN itself there (pin-source=1234) often enough.
 */
async function readPinSource(source: string, display: string): Promise<string> {
  if (source.startsWith('|')) {
    throw new SignetError({ code: 'E_INPUT', message: `${display}: pin-source=|COMMAND is not supported; give a file holding the PIN` });
  }
  let path: string;
  try {
    path = source.startsWith('file://') ? fileURLToPath(source) : source.replace(/^file:/, '');
  } catch {
    throw new SignetError({ code: 'E_INPUT', message: `${display}: pin-source is not a file path or a file:/// URI` });
  }
  let text: string;
  try {
    text = await fs.readFile(path, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new SignetError({ code: 'E_INPUT', message: `${display}: cannot read the PIN from the file pin-source names (${code})` });
  }
  const pin = text.replace(/\r?\n$/, '');
  if (pin === '') throw new SignetError({ code: 'E_INPUT', message: `${display}: the file pin-source names is empty` });
  return pin;
}
