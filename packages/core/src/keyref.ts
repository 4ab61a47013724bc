import { SignetError } from './errors';

/**
 * A key reference, in cosign's URI syntax wherever cosign has one:
 * `file:./signing.key`, `env:SIGNET_PRIVATE_KEY`, `awskms:///alias/release`,
 * `gcpkms://projects/…`, `azurekms://vault.vault.azure.net/key`, `hashivault://key`,
 * `pkcs11:token=…;object=…`, or `keyless`. A plain path means `file:`.
 */
export interface KeyRef {
  /** The scheme that picks the provider: `file`, `env`, `awskms`, …, `keyless`. */
  scheme: string;
  /** Everything after the scheme and its separator (`:` or `://`). */
  location: string;
  /** The reference as the user wrote it. */
  raw: string;
}

const URI = /^([a-z][a-z0-9+.-]*):(\/\/)?(.*)$/s;

export function parseKeyRef(raw: string): KeyRef {
  const value = raw.trim();
  if (value === '') {
    throw new SignetError({ code: 'E_INPUT', message: 'empty key reference; give a path or a URI such as file:signing.key' });
  }
  if (value === 'keyless') return { scheme: 'keyless', location: '', raw };
  const match = URI.exec(value);
  // A single letter before ':' is a Windows drive (C:\keys\signing.key), not a scheme.
  if (!match || match[1]?.length === 1) return { scheme: 'file', location: value, raw };
  const [, scheme = '', , location = ''] = match;
  if (location === '') {
    throw new SignetError({ code: 'E_INPUT', message: `key reference ${raw} names no key after "${scheme}:"` });
  }
  return { scheme, location, raw };
}

/**
 * The reference as it may be printed: a PKCS#11 URI can carry its PIN (`pin-value=`),
 * which must never reach output, errors or logs.
 */
export function displayKeyRef(ref: KeyRef | string): string {
  const raw = typeof ref === 'string' ? ref : ref.raw;
  return raw.replace(/(pin-value=)[^&;?]*/gi, '$1[redacted]');
}
