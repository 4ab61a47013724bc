import { type KeyRef, SignetError } from '@signet/core';

/**
 * A PKCS#11 URI (RFC 7512) as cosign and p11tool write it:
 * `pkcs11:token=T;object=O[;id=%01%02][;slot-id=N]?module-path=/usr/lib/…so&pin-source=file:/run/pin`.
 * The path names the token and the key; the query says how to reach them.
 */
export interface Pkcs11Uri {
  /** Token label (CKA_LABEL of the token, blank padding removed). */
  token?: string;
  /** Token serial number. */
  serial?: string;
  /** Token manufacturer ID. */
  manufacturer?: string;
  /** Token model. */
  model?: string;
  /** Slot ID, when the token has no label to go by. */
  slotId?: bigint;
  /** The key's label (CKA_LABEL). */
  object?: Buffer;
  /** The key's CKA_ID, as bytes. */
  id?: Buffer;
  /** The PKCS#11 library (query `module-path`). */
  modulePath?: string;
  /** Where to read the user PIN (query `pin-source`): a file path or `file:` URI. */
  pinSource?: string;
  /** The user PIN itself (query `pin-value`): works, but puts a secret on the command line. */
  pinValue?: string;
  /** The reference as it is safe to print (KeyRef.display): every PIN in it redacted. */
  display: string;
  /** The key as key ids name it: the display's path (token and object), without how the token is reached. */
  keyName: string;
}

const PATH_ATTRIBUTES = new Set(['token', 'serial', 'manufacturer', 'model', 'slot-id', 'object', 'id', 'type']);
const QUERY_ATTRIBUTES = new Set(['module-path', 'pin-source', 'pin-value']);
/** `type` names an object class; Signet uses the key pair, so either half names it. */
const KEY_TYPES = new Set(['private', 'public']);

/** The query attributes that carry the PIN, which RFC 7512 puts in the query and users also write in the path. */
const PIN_ATTRIBUTES = new Set(['pin-source', 'pin-value']);

/** Parses the part of a `pkcs11:` reference after the scheme. */
export function parsePkcs11Uri(ref: KeyRef): Pkcs11Uri {
  const display = ref.display;
  const fail = (why: string) =>
    new SignetError({
      code: 'E_INPUT',
      message: `${display} is not a usable PKCS#11 URI: ${why}; write it as pkcs11:token=TOKEN;object=LABEL`,
    });

  const [pathPart = '', queryPart, ...rest] = ref.location.split('?');
  if (rest.length > 0) throw fail('it has more than one "?"');
  const uri: Pkcs11Uri = { display, keyName: display.split('?')[0] ?? display };
  const seen = new Set<string>();
  const attributes = (part: string, separator: string) =>
    part
      .split(separator)
      .filter((item) => item !== '')
      .map((item) => {
        const equals = item.indexOf('=');
        if (equals <= 0) throw fail(`an attribute is not name=value`);
        // Names are read as core's display reads them (percent-escapes decoded, any case), so a
        // PIN the display redacts is the PIN this parser uses, and no spelling slips between them.
        const name = percentDecode(item.slice(0, equals), 'an attribute name', fail).toString('utf8').toLowerCase();
        if (seen.has(name)) throw fail(`${printable(name)} appears twice`);
        seen.add(name);
        return { name, value: percentDecode(item.slice(equals + 1), printable(name), fail) };
      });

  for (const { name, value } of attributes(pathPart, ';')) {
    if (PIN_ATTRIBUTES.has(name)) {
      throw fail(
        `${name} belongs in the query, after "?" (better still, keep the PIN off the command line: pin-source=FILE or SIGNET_PKCS11_PIN)`,
      );
    }
    if (!PATH_ATTRIBUTES.has(name)) {
      throw fail(`Signet does not support ${printable(name)} in the path (it reads ${[...PATH_ATTRIBUTES].join(', ')})`);
    }
    const text = value.toString('utf8');
    if (name === 'token') uri.token = text;
    else if (name === 'serial') uri.serial = text;
    else if (name === 'manufacturer') uri.manufacturer = text;
    else if (name === 'model') uri.model = text;
    else if (name === 'object') uri.object = value;
    else if (name === 'id') uri.id = value;
    else if (name === 'slot-id') {
      if (!/^\d+$/.test(text)) throw fail(`slot-id must be a decimal number, not "${text}"`);
      uri.slotId = BigInt(text);
    } else if (name === 'type' && !KEY_TYPES.has(text)) {
      throw fail(`type=${text} names no key pair (use type=private, or leave it out)`);
    }
  }
  for (const { name, value } of attributes(queryPart ?? '', '&')) {
    if (!QUERY_ATTRIBUTES.has(name)) {
      const hint = name === 'module-name' ? '; give the library itself with module-path=' : '';
      throw fail(`Signet does not support ${printable(name)} in the query${hint}`);
    }
    const text = value.toString('utf8');
    if (name === 'module-path') uri.modulePath = text;
    else if (name === 'pin-source') uri.pinSource = text;
    else uri.pinValue = text;
  }
  if (!uri.object && !uri.id) throw fail('it names no key (add object=LABEL or id=%XX…)');
  return uri;
}

/** RFC 7512 values are percent-encoded bytes (UTF-8 text for labels, raw bytes for id). */
function percentDecode(value: string, name: string, fail: (why: string) => SignetError): Buffer {
  const parts = value.split(/(%[0-9a-fA-F]{2})/).map((part) => {
    if (/^%[0-9a-fA-F]{2}$/.test(part)) return Buffer.of(Number.parseInt(part.slice(1), 16));
    if (part.includes('%')) throw fail(`${name} has a "%" that is not a percent-escape`);
    return Buffer.from(part, 'utf8');
  });
  return Buffer.concat(parts);
}

/** Every attribute name RFC 7512 defines, whether Signet reads it or not. */
const RFC_7512_NAMES = new Set([
  ...PATH_ATTRIBUTES,
  ...QUERY_ATTRIBUTES,
  'library-manufacturer',
  'library-description',
  'library-version',
  'slot-manufacturer',
  'slot-description',
  'module-name',
]);

/** An attribute name as a message may quote it: one RFC 7512 defines, never what may be a PIN typed in its place. */
function printable(name: string): string {
  return RFC_7512_NAMES.has(name) ? `"${name}"` : 'an attribute RFC 7512 does not define';
}

/** An object's label or id for messages: the label as text, an id as percent-escaped bytes. */
export function describeObject(uri: Pick<Pkcs11Uri, 'object' | 'id'>): string {
  if (uri.object) return `object "${uri.object.toString('utf8')}"`;
  return `id ${[...(uri.id ?? [])].map((byte) => `%${byte.toString(16).padStart(2, '0')}`).join('')}`;
}
