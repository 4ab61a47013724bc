import path from 'node:path';
import type { TarballFile } from './tarball';

/** A file in a package tarball that holds, or is named as holding, a key or a credential. */
export interface SecretFile {
  path: string;
  /** What it is, in words; never its content. */
  what: string;
}

/**
 * A PEM private key block: the BEGIN line, a body of base64 lines (and PEM headers such as
 * Proc-Type), the END line; with real or escaped (\\n, in JSON or JS strings) line breaks. A
 * mention of the BEGIN line, as code that detects keys holds, is not a key.
 */
const PEM_PRIVATE_KEY =
  /-----BEGIN ((?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?)-----(?:\r?\n|(?:\\r)?\\n)(?:(?:[A-Za-z0-9+/=]{4,}|[A-Za-z-]+: [^\r\n\\]*|)(?:\r?\n|(?:\\r)?\\n))+-----END \1-----/;
const SSH_PRIVATE_KEY = /^id_(?:rsa|dsa|ecdsa|ed25519)(?:_sk)?$/;
/** `NAME=value` with a value (not empty, not "" or ''), optionally after `export`. */
const ENV_ASSIGNMENT = /^[ \t]*(?:export[ \t]+)?[A-Za-z_][A-Za-z0-9_]*[ \t]*=[ \t]*(?!(?:""|'')?[ \t]*\r?$)\S/m;
/** Templates that are committed on purpose, holding placeholders. */
const ENV_TEMPLATE = /^\.env\.(?:example|sample|template)$/;
/** A registry credential written out, not a `${NPM_TOKEN}` reference to the environment. */
const NPMRC_CREDENTIAL = /_(?:authToken|auth|password)[ \t]*=[ \t]*(?!\$\{)\S/;

/**
 * The files of a tarball that look like private key material or credentials: a PEM private key
 * (in any file), a *.key, *.p12 or *.pfx file, an SSH private key, an .env file that sets values,
 * an .npmrc with a registry credential. A published tarball is public and permanent.
 */
export function secretFiles(files: readonly TarballFile[]): SecretFile[] {
  const found: SecretFile[] = [];
  for (const file of files) {
    const what = secretIn(file);
    if (what) found.push({ path: file.path, what });
  }
  return found;
}

function secretIn({ path: file, data }: TarballFile): string | undefined {
  const name = path.posix.basename(file);
  const text = data.toString('latin1');
  if (PEM_PRIVATE_KEY.test(text)) return 'a PEM private key';
  if (/\.key$/i.test(name)) return 'a .key file';
  if (/\.(?:p12|pfx)$/i.test(name)) return 'a PKCS#12 key store';
  if (SSH_PRIVATE_KEY.test(name)) return 'an SSH private key';
  if (/^\.env(?:\..+)?$/.test(name) && !ENV_TEMPLATE.test(name) && ENV_ASSIGNMENT.test(text)) return 'an .env file that sets values';
  if (name === '.npmrc' && NPMRC_CREDENTIAL.test(text)) return 'an .npmrc with a registry credential';
  return undefined;
}
