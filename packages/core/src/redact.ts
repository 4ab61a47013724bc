/*
 * The one place that decides what of a text is secret. Key references are displayed through
 * it (keyref.ts), providers' error details pass through it (remote.ts), and the CLI sends
 * every line it prints through it, so a secret that slips past one caller's care is still
 * caught before it reaches a terminal, a CI log or a --json consumer.
 */

/** What a secret is replaced with. */
export const REDACTED = '[redacted]';

/** A PEM private key block, whole or cut off, with its line breaks kept or folded into spaces. */
const PRIVATE_KEY_PEM = /-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----[\s\S]*?(?:-----END \1PRIVATE KEY-----|$)/g;

/** Tokens recognisable by their shape alone. */
const TOKEN_SHAPES: readonly RegExp[] = [
  // a JWT: an OIDC identity token, an Entra ID or GCP access token
  /\beyJ[\w-]+\.eyJ[\w-]+\.[\w-]*/g,
  // Vault service, batch and recovery tokens, and the older s./b./r. ones
  /\bhv[sbr]\.[\w-]{20,}/g,
  /\b[sbr]\.[A-Za-z0-9]{24}\b/g,
  // GitHub and npm tokens, which CI jobs signing releases hold
  /\bgh[pousr]_[A-Za-z0-9]{30,}/g,
  /\bgithub_pat_\w{30,}/g,
  /\bnpm_[A-Za-z0-9]{30,}/g,
];

/** `Authorization: Bearer …`, `X-Vault-Token: …` and their kin, as SDK errors quote request headers. */
const CREDENTIAL_HEADER =
  /\b(authorization|proxy-authorization|x-vault-token|x-amz-security-token|x-goog-api-key|x-api-key|api-key|cookie)(["']?\s*[:=]\s*["']?)(?:(?:Bearer|Basic|Token)\s+)?[^\s"',;]+/gi;
/** A bearer or basic credential outside a header (long enough not to be a word: "Basic constraints"). */
const AUTH_SCHEME = /\b(Bearer|Basic)\s+[\w.~+/-]{16,}=*/g;

/** `scheme://user:password@host`: the user information of a URL. */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@]+@/gi;

/** The start of `name=value` wherever it stands, with the character before it (`?`, `&`, `;`, …). */
const ASSIGNMENT = /(^|[^\w%.-])([\w%.-]+)=/g;
/** Where a query parameter's value ends. */
const QUERY_VALUE_END = /[\s&;#"'<>]/;
/** Where a PIN's value ends: it may hold `;` or `?`, so only what cannot be in a URI ends it. */
const PIN_VALUE_END = /[\s&"'<>]/;

/** A PKCS#11 PIN (RFC 7512), which users write in a URI's path as often as in its query. */
const PIN_ATTRIBUTE = /^pin-value$/;

/** A URL query parameter that carries a credential (`?token=`, `&X-Amz-Signature=`, `&sig=`, `?client_secret=`). */
const SECRET_QUERY_PARAMETER =
  /(^|[-_.])(token|secret|password|passwd|pwd|passphrase|pin|sig|signature|credential|key|apikey|auth|authorization|code)s?($|[-_.])/;

/** Environment variables whose values are secrets: tokens, passwords, PINs, private keys. */
const SECRET_VARIABLE = /TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|(^|_)PIN$|PRIVATE_KEY|API_KEY|ACCESS_KEY|CREDENTIAL|AUTH/i;
/** …except those that only say where a secret is, or name it. */
const LOCATOR_VARIABLE = /_(FILE|PATH|DIR|URL|URI|HOST|ENDPOINT|ID)$/i;
/** Shorter values cannot be told from ordinary words and digits in a message. */
const MIN_SECRET_LENGTH = 6;

/**
 * `text` with every secret in it replaced by [redacted]: private keys, tokens, credentials
 * in URLs and headers, PKCS#11 PINs in any spelling (`pin-value`, `PIN-VALUE`, `pin%2Dvalue`,
 * `%70in-value`), the values of the environment's secret variables (VAULT_TOKEN,
 * AWS_SECRET_ACCESS_KEY, AZURE_CLIENT_SECRET, SIGNET_PASSWORD, …), and `secrets` given by
 * the caller (a token passed on the command line).
 */
export function redactSecrets(text: string, secrets: readonly string[] = []): string {
  // Known values first, before the patterns below rewrite part of one and it no longer matches.
  // The caller's are secrets whatever their length; the environment's are guessed at by name.
  const values = [...secrets.filter((secret) => secret !== ''), ...secretValuesOfEnvironment()];
  let result = text;
  // Longest first, so a secret that contains another is replaced whole.
  for (const secret of values.sort((a, b) => b.length - a.length)) result = result.split(secret).join(REDACTED);
  result = result.replace(PRIVATE_KEY_PEM, `${REDACTED} private key`);
  for (const shape of TOKEN_SHAPES) result = result.replace(shape, REDACTED);
  return redactAssignments(
    result.replace(CREDENTIAL_HEADER, `$1$2${REDACTED}`).replace(AUTH_SCHEME, `$1 ${REDACTED}`).replace(URL_USERINFO, `$1${REDACTED}@`),
  );
}

/** Replaces the value of each secret `name=value`: a PIN wherever it is, a credential in a URL's query. */
function redactAssignments(text: string): string {
  let redacted = '';
  let copied = 0;
  ASSIGNMENT.lastIndex = 0;
  for (let match = ASSIGNMENT.exec(text); match !== null; match = ASSIGNMENT.exec(text)) {
    const [whole, before = '', name = ''] = match;
    const decoded = decodeName(name);
    const pin = PIN_ATTRIBUTE.test(decoded);
    // Elsewhere `token=` is a PKCS#11 token's label and `key=` a word in a sentence: only a query's are secret.
    if (!pin && !((before === '?' || before === '&') && SECRET_QUERY_PARAMETER.test(decoded))) continue;
    const start = match.index + whole.length;
    const end = endOf(text, start, pin ? PIN_VALUE_END : QUERY_VALUE_END);
    if (end === start || text.startsWith(REDACTED, start)) continue;
    redacted += `${text.slice(copied, start)}${REDACTED}`;
    copied = end;
    ASSIGNMENT.lastIndex = end;
  }
  return redacted + text.slice(copied);
}

function endOf(text: string, start: number, end: RegExp): number {
  const rest = text.slice(start).search(end);
  return rest < 0 ? text.length : start + rest;
}

/** An attribute or parameter name as it is meant: percent-escapes decoded (repeatedly), in lower case. */
export function decodeName(name: string): string {
  let decoded = name;
  for (let round = 0; round < 3 && decoded.includes('%'); round++) {
    try {
      decoded = decodeURIComponent(decoded);
    } catch {
      break;
    }
  }
  return decoded.toLowerCase();
}

function secretValuesOfEnvironment(): string[] {
  const values: string[] = [];
  for (const [name, value] of Object.entries(process.env)) {
    const secret = value?.trim() ?? '';
    if (secret.length >= MIN_SECRET_LENGTH && SECRET_VARIABLE.test(name) && !LOCATOR_VARIABLE.test(name)) values.push(secret);
  }
  return values;
}
