import { SignetError } from './errors';
import { PROVIDER_PACKAGES } from './provider';
import { decodeName, REDACTED, redactSecrets } from './redact';

/**
 * A key reference, in cosign's URI syntax wherever cosign has one:
 * `file:./signing.key`, `env:SIGNET_PRIVATE_KEY`, `awskms:///alias/release`,
 * `gcpkms://projects/…`, `azurekms://vault.vault.azure.net/key`, `hashivault://key`,
 * `pkcs11:token=…;object=…`, or `keyless`. A plain path means `file:`.
 *
 * It carries no printable form of what the user wrote: a reference can hold a secret (a
 * PKCS#11 PIN, a `user:password@`), so messages, key ids and --json name it by `display`.
 */
export interface KeyRef {
  /** The scheme that picks the provider: `file`, `env`, `awskms`, …, `keyless`. */
  scheme: string;
  /** Everything after the scheme and its separator (`:` or `://`), for the provider to read. Never print it. */
  location: string;
  /** The reference as it may be printed: every secret in it replaced by [redacted]. */
  display: string;
}

const URI = /^([a-z][a-z0-9+.-]*):(\/\/)?(.*)$/s;

/** A private key pasted where its reference belongs (`--key "$(cat signing.key)"`), or anything multi-line. */
const KEY_MATERIAL = /-----BEGIN|PRIVATE KEY|\p{Cc}/u;

/** A bare base64 blob long enough to be a key (a DER key without its PEM lines), never a path one would type. */
const BASE64_BLOB = /^[A-Za-z0-9+][A-Za-z0-9+/]{59,}={0,2}$/;

/** A POSIX environment variable name; anything else after `env:` is likely the value itself. */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function parseKeyRef(raw: string): KeyRef {
  const value = raw.trim();
  if (value === '') {
    throw new SignetError({ code: 'E_INPUT', message: 'empty key reference; give a path or a URI such as file:signing.key' });
  }
  if (KEY_MATERIAL.test(value)) {
    throw new SignetError({
      code: 'E_INPUT',
      message:
        'the key reference holds key material, not a reference to a key: put the key in a file (file:PATH) or an environment variable (env:NAME) and give that',
    });
  }
  const display = displayKeyRef(value);
  if (value === 'keyless') return { scheme: 'keyless', location: '', display };
  const match = URI.exec(value);
  // A single letter before ':' is a Windows drive (C:\keys\signing.key), not a scheme.
  if (!match || match[1]?.length === 1) return { scheme: 'file', location: value, display };
  const [, scheme = '', , location = ''] = match;
  if (location === '') {
    throw new SignetError({ code: 'E_INPUT', message: `key reference ${display} names no key after "${scheme}:"` });
  }
  if (scheme === 'env' && !ENV_NAME.test(location)) {
    throw new SignetError({
      code: 'E_INPUT',
      message: `${display} does not name an environment variable: env: takes the variable's name (letters, digits and _), not its value`,
    });
  }
  return { scheme, location, display };
}

/**
 * The form of a key reference that may be printed, the only one Signet ever prints. Each
 * scheme's secrets are found by its grammar, then the text goes through redactSecrets for
 * what has a recognisable shape anywhere (a token, a private key). Never throws.
 */
export function displayKeyRef(ref: KeyRef | string): string {
  if (typeof ref !== 'string') return ref.display;
  const value = ref.trim();
  if (KEY_MATERIAL.test(value)) return REDACTED;
  const match = URI.exec(value);
  if (!match || match[1]?.length === 1 || match[1] === 'file') return BASE64_BLOB.test(value) ? REDACTED : redactSecrets(value);
  const [, scheme = '', slashes = '', location = ''] = match;
  if (scheme === 'env') return `env:${ENV_NAME.test(location) ? location : REDACTED}`;
  if (scheme === 'pkcs11') return redactSecrets(`pkcs11:${displayPkcs11(location)}`);
  if (slashes) return redactSecrets(`${scheme}://${displayUrlPart(location)}`);
  if (Object.hasOwn(PROVIDER_PACKAGES, scheme)) return redactSecrets(`${scheme}:${displayUrlPart(location)}`);
  // A scheme Signet does not know has no grammar to tell a name from a secret (`alice:s3cret`).
  return `${scheme}:${REDACTED}`;
}

/**
 * RFC 7512 attributes whose values name a token, a slot, a library or a key, and may be shown.
 * Any other attribute's value is redacted, whatever its name or spelling: `pin-value` and
 * `pin-source` (in the path, where users put them too, or the query), a misspelt or
 * percent-encoded PIN, an attribute Signet does not know.
 */
const SHOWN_PATH_ATTRIBUTES = new Set([
  'token',
  'manufacturer',
  'serial',
  'model',
  'library-manufacturer',
  'library-description',
  'library-version',
  'slot-manufacturer',
  'slot-description',
  'slot-id',
  'object',
  'id',
  'type',
]);
const SHOWN_QUERY_ATTRIBUTES = new Set(['module-name', 'module-path']);
/** Every name RFC 7512 defines; any other name is shown redacted too, since it may be a PIN typed in its place. */
const RFC_7512_NAMES = new Set([...SHOWN_PATH_ATTRIBUTES, ...SHOWN_QUERY_ATTRIBUTES, 'pin-source', 'pin-value']);

function displayPkcs11(location: string): string {
  const question = location.indexOf('?');
  const path = question < 0 ? location : location.slice(0, question);
  const shownPath = path
    .split(';')
    .map((item) => displayAttribute(item, SHOWN_PATH_ATTRIBUTES))
    .join(';');
  if (question < 0) return shownPath;
  const shownQuery = location
    .slice(question + 1)
    .split('&')
    .map((item) => displayAttribute(item, SHOWN_QUERY_ATTRIBUTES))
    .join('&');
  return `${shownPath}?${shownQuery}`;
}

function displayAttribute(item: string, shown: ReadonlySet<string>): string {
  if (item === '') return item;
  const equals = item.indexOf('=');
  if (equals <= 0) return REDACTED;
  const name = decodeName(item.slice(0, equals));
  const value = item.slice(equals + 1);
  // A value holding a separator smuggles another attribute (`object=o?pin-value=…`): not shown.
  if (shown.has(name) && !/[=?&;]/.test(value)) return item;
  return `${RFC_7512_NAMES.has(name) ? name : REDACTED}=${REDACTED}`;
}

/** `AUTHORITY/PATH?QUERY#FRAGMENT` after `scheme://`: no user information, no query or fragment values. */
function displayUrlPart(location: string): string {
  const hash = location.indexOf('#');
  const beforeHash = hash < 0 ? location : location.slice(0, hash);
  const question = beforeHash.indexOf('?');
  const beforeQuery = question < 0 ? beforeHash : beforeHash.slice(0, question);
  const slash = beforeQuery.indexOf('/');
  const authority = slash < 0 ? beforeQuery : beforeQuery.slice(0, slash);
  const path = slash < 0 ? '' : beforeQuery.slice(slash);
  // cosign lets a Vault key name hold "@"; such a name prints with its first part redacted,
  // the price of never printing a `user:token@`.
  const at = authority.lastIndexOf('@');
  let shown = at < 0 ? authority + path : `${REDACTED}@${authority.slice(at + 1)}${path}`;
  if (question >= 0) {
    const parameters = beforeHash.slice(question + 1).split('&');
    shown += `?${parameters.map((item) => (item === '' ? item : `${displayName(item.split('=')[0] ?? '')}=${REDACTED}`)).join('&')}`;
  }
  if (hash >= 0) shown += `#${REDACTED}`;
  return shown;
}

function displayName(name: string): string {
  const decoded = decodeName(name);
  return /^[a-z][a-z0-9_.-]*$/.test(decoded) ? decoded : REDACTED;
}
