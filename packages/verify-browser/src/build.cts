// @signet/verify-browser/build: what the Vite and webpack plugins emit for a `browser` build,
// made in Node at build time: the service worker with its policy, the bootstrap that registers
// it, Subresource Integrity and an import map on the pages, and the headers for the server.
// The browser entries (`.` and `./keyless`) import none of this.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** The plugins' `browser` option. */
export interface BrowserOptions {
  /** Public keys (PEM text or a .pub file) the browser trusts; default: the signing key's own. */
  keys?: string[];
  /** Keyless: the identities the browser trusts (issuer and subject, exact or `…RegExp`), instead of keys. */
  identity?: BrowserIdentity | BrowserIdentity[];
  /** Keyless: a trusted_root.json file; default: the public-good root shipped with Signet. */
  trustedRoot?: string;
  /** 'enforce' (default): block what the manifest does not cover; 'report': let it through, and report it. */
  mode?: 'enforce' | 'report';
  /** Path prefixes the worker lets through unchecked (an API), e.g. ['/api/']; never a signed file. */
  passThrough?: string[];
  /** Where the worker POSTs a JSON report of each refusal (same origin, or one allowing it by CORS). */
  reportUrl?: string;
  /** Log entries the browser requires (default 0 for keys, 1 for keyless). */
  tlogThreshold?: number;
}

export interface BrowserIdentity {
  issuer?: string;
  issuerRegExp?: string;
  subject?: string;
  subjectRegExp?: string;
  sourceRepository?: string;
  sourceRepositoryRef?: string;
}

export const SERVICE_WORKER = 'signet-sw.js';
export const BOOTSTRAP = 'signet-bootstrap.js';
export const HEADERS = '.well-known/signet/headers.txt';

/** The service worker's configuration, embedded in the worker script (itself a signed file). */
export interface WorkerConfig {
  manifest: string;
  base: string;
  mode: 'enforce' | 'report';
  passThrough: string[];
  reportUrl?: string;
  policy: {
    keys?: { jwk: crypto.JsonWebKey; name: string }[];
    identities?: BrowserIdentity[];
    tlogThreshold?: number;
    trustedRoot?: unknown;
  };
}

function usage(label: string, message: string): Error {
  return Object.assign(new Error(`${label}: browser: ${message}`), { code: 'E_USAGE' });
}

/** Checks the option as given: one of keys or identity, a known mode, plain path prefixes. */
export function checkBrowserOptions(label: string, options: BrowserOptions): void {
  if (typeof options !== 'object' || options === null) throw usage(label, 'give an object: { keys } or { identity }');
  if (options.keys && options.identity) throw usage(label, 'give keys or identity, not both');
  if (options.mode !== undefined && options.mode !== 'enforce' && options.mode !== 'report') {
    throw usage(label, `mode is 'enforce' or 'report', not ${JSON.stringify(options.mode)}`);
  }
  for (const prefix of options.passThrough ?? []) {
    // Ending in "/": "/api" would also pass "/api-docs.html" through.
    if (typeof prefix !== 'string' || !prefix.startsWith('/') || !prefix.endsWith('/') || prefix.length < 3) {
      throw usage(label, `passThrough ${JSON.stringify(prefix)} must be a folder prefix such as "/api/" (starting and ending with "/")`);
    }
  }
  for (const rule of [options.identity ?? []].flat()) {
    const subjects = [rule.subject, rule.subjectRegExp].filter((v) => v);
    const issuers = [rule.issuer, rule.issuerRegExp].filter((v) => v);
    if (subjects.length !== 1 || issuers.length !== 1)
      throw usage(label, 'an identity needs one of subject/subjectRegExp and one of issuer/issuerRegExp');
  }
}

/** A PEM public key (text or file) as the JWK the browser imports. */
export function browserKey(label: string, key: string, name?: string): { jwk: crypto.JsonWebKey; name: string } {
  const pem = key.includes('-----BEGIN') ? key : fs.readFileSync(key, 'utf8');
  let object: crypto.KeyObject;
  try {
    object = crypto.createPublicKey(pem);
  } catch (cause) {
    throw Object.assign(new Error(`${label}: browser: ${name ?? 'a key'} is not a readable public key`, { cause }), { code: 'E_KEY' });
  }
  if (!['ec', 'ed25519', 'rsa'].includes(object.asymmetricKeyType ?? '')) {
    throw Object.assign(
      new Error(
        `${label}: browser: a ${object.asymmetricKeyType} key cannot be verified by WebCrypto; sign browser builds with an ECDSA, Ed25519 or RSA key`,
      ),
      { code: 'E_KEY' },
    );
  }
  const der = object.export({ type: 'spki', format: 'der' });
  return { jwk: object.export({ format: 'jwk' }), name: name ?? `sha256:${crypto.createHash('sha256').update(der).digest('hex')}` };
}

/** The worker and bootstrap scripts for a build whose files are served under `base`. */
export function browserScripts(config: WorkerConfig): { [SERVICE_WORKER]: string; [BOOTSTRAP]: string } {
  const keyless = Boolean(config.policy.identities?.length);
  const worker = fs.readFileSync(path.join(__dirname, keyless ? 'signet-sw.keyless.js' : 'signet-sw.keys.js'), 'utf8');
  const bootstrap = fs.readFileSync(path.join(__dirname, 'signet-bootstrap.js'), 'utf8');
  return {
    [SERVICE_WORKER]: `self.SIGNET_CONFIG = ${JSON.stringify(config)};\n${worker}`,
    [BOOTSTRAP]: `window.SIGNET_SW = ${JSON.stringify({ url: `${config.base}${SERVICE_WORKER}`, scope: config.base })};\n${bootstrap}`,
  };
}

/** `sha384-…`: Subresource Integrity metadata for these bytes. */
export function sri(data: string | Uint8Array): string {
  return `sha384-${crypto.createHash('sha384').update(data).digest('base64')}`;
}

const TAG = /<(script|link)\b([^>]*)>/gi;
const ATTRIBUTE = (name: string) => new RegExp(`\\s${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)'|([^\\s"'>]+))`, 'i');

/**
 * A page of the build with integrity metadata: each <script src> and <link href> naming a file
 * of the build gets `integrity` (and `crossorigin`, which an integrity-checked request needs);
 * the head starts with an import map giving every script file's integrity (module imports and
 * lazy `import()` are checked against it), then the bootstrap that registers the worker.
 */
export function pageWithIntegrity(
  html: string,
  page: string,
  base: string,
  files: ReadonlyMap<string, string | Uint8Array>,
): { html: string; importMap: string } {
  const fileFor = (url: string): string | undefined => {
    if (/^[a-z][a-z0-9+.-]*:|^\/\//i.test(url)) return undefined;
    const clean = url.split(/[?#]/)[0] as string;
    const resolved = clean.startsWith('/')
      ? clean.startsWith(base)
        ? clean.slice(base.length)
        : undefined
      : path.posix.normalize(path.posix.join(path.posix.dirname(page), clean));
    return resolved !== undefined && files.has(resolved) ? resolved : undefined;
  };
  let out = html.replace(TAG, (tag, name: string, attributes: string) => {
    const url = ATTRIBUTE(name.toLowerCase() === 'script' ? 'src' : 'href').exec(attributes);
    if (!url || /\sintegrity\s*=/i.test(attributes)) return tag;
    if (name.toLowerCase() === 'link' && !/\srel\s*=\s*["']?(stylesheet|modulepreload|preload)\b/i.test(attributes)) return tag;
    const file = fileFor(url[1] ?? url[2] ?? url[3] ?? '');
    if (!file) return tag;
    const crossorigin = /\scrossorigin\b/i.test(attributes) ? '' : ' crossorigin="anonymous"';
    const selfClosing = tag.endsWith('/>');
    const body = selfClosing ? attributes.replace(/\s*\/$/, '') : attributes;
    return `<${name}${body} integrity="${sri(files.get(file) as string | Uint8Array)}"${crossorigin}${selfClosing ? ' />' : '>'}`;
  });
  const integrity: Record<string, string> = {};
  for (const [file, data] of [...files].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (/\.m?js$/.test(file) && file !== SERVICE_WORKER && file !== BOOTSTRAP) integrity[`${base}${file}`] = sri(data);
  }
  const importMap = JSON.stringify({ integrity });
  const head = `<script type="importmap">${importMap}</script><script src="${base}${BOOTSTRAP}" integrity="${sri(files.get(BOOTSTRAP) ?? '')}" crossorigin="anonymous"></script>`;
  // After <meta charset> (which must come in the first 1024 bytes), else at the start of <head>.
  const at = /<meta\s+charset\s*=[^>]*>/i.exec(out) ?? /<head\b[^>]*>/i.exec(out);
  out = at ? `${out.slice(0, at.index + at[0].length)}${head}${out.slice(at.index + at[0].length)}` : `${head}${out}`;
  return { html: out, importMap };
}

/**
 * The response headers for the server, as lines: a Content-Security-Policy that allows the
 * site's own scripts and the inline import map (by hash), and Integrity-Policy, enforced where
 * every script the bundler loads carries integrity (`enforceIntegrity`), reported only where
 * its lazy chunks do not.
 */
export function headersSnippet(importMaps: readonly string[], enforceIntegrity: boolean): string {
  const hashes = [...new Set(importMaps)].map((map) => `'sha256-${crypto.createHash('sha256').update(map).digest('base64')}'`);
  const csp = [
    "default-src 'self'",
    `script-src 'self' ${hashes.join(' ')}`.trim(),
    "style-src 'self' 'unsafe-inline'",
    "worker-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
  ].join('; ');
  return [
    '# Response headers for every page of this build (from @signet/verify-browser, written at build time).',
    `Content-Security-Policy: ${csp}`,
    `${enforceIntegrity ? 'Integrity-Policy' : 'Integrity-Policy-Report-Only'}: blocked-destinations=(script)`,
    '# For /signet-sw.js, so that a new deploy reaches browsers at once:',
    '# Cache-Control: no-cache',
    '',
  ].join('\n');
}

export interface BrowserBuildInput {
  /** The plugin's name, for messages. */
  label: string;
  options: BrowserOptions;
  /** The public path the files are served under: '/' or '/app/'. */
  base: string;
  /** The manifest bundle's path in the output folder. */
  manifestPath: string;
  /** The signing key's public key (PEM), trusted by default; absent for keyless signing. */
  signerPublicKey?: string;
  /** Every file of the output so far, by name, as it will be written. */
  files: ReadonlyMap<string, string | Uint8Array>;
  /** Whether every script the bundler loads carries integrity (then Integrity-Policy is enforced). */
  enforceIntegrity: boolean;
  /** The trusted root (JSON) to embed for keyless when the options name none: public-good's, fetched at build time. */
  defaultTrustedRoot?: unknown;
}

/** When a browser build is signed (its manifest's createdAt): SOURCE_DATE_EPOCH when set (reproducible builds), else now. */
export function buildTime(env: Record<string, string | undefined> = process.env): Date {
  const epoch = env.SOURCE_DATE_EPOCH;
  return epoch && /^\d+$/.test(epoch) ? new Date(Number(epoch) * 1000) : new Date();
}

/** What a `browser` build adds to the output (worker, bootstrap, headers) and the pages it rewrites. */
export function browserBuild(input: BrowserBuildInput): { added: Map<string, string>; changed: Map<string, string> } {
  const { label, options } = input;
  checkBrowserOptions(label, options);
  if (!input.base.startsWith('/') || !input.base.endsWith('/')) {
    throw usage(
      label,
      `the service worker checks files served from this origin: the public base must be a path such as "/" or "/app/", not ${JSON.stringify(input.base)}`,
    );
  }
  for (const prefix of options.passThrough ?? []) {
    const covered = [...input.files.keys()].find((name) => `${input.base}${name}`.startsWith(prefix));
    if (covered) throw usage(label, `passThrough ${JSON.stringify(prefix)} would let ${covered}, a signed file, through unchecked`);
  }
  const identities = options.identity ? [options.identity].flat() : undefined;
  let policy: WorkerConfig['policy'];
  if (identities) {
    const trustedRoot = options.trustedRoot ? JSON.parse(fs.readFileSync(options.trustedRoot, 'utf8')) : input.defaultTrustedRoot;
    if (!trustedRoot)
      throw usage(
        label,
        'keyless needs trustedRoot: a trusted_root.json file for the browser to check certificates and log entries against',
      );
    policy = {
      identities,
      trustedRoot,
      tlogThreshold: options.tlogThreshold ?? 1,
    };
  } else {
    const keys = options.keys ?? (input.signerPublicKey ? [input.signerPublicKey] : []);
    if (keys.length === 0) throw usage(label, 'give keys (the public keys the browser trusts) or identity (keyless)');
    policy = { keys: keys.map((key, i) => browserKey(label, key, options.keys ? undefined : i === 0 ? 'the signing key' : undefined)) };
    if (options.tlogThreshold) policy.tlogThreshold = options.tlogThreshold;
  }
  const config: WorkerConfig = {
    manifest: `${input.base}${input.manifestPath}`,
    base: input.base,
    mode: options.mode ?? 'enforce',
    passThrough: options.passThrough ?? [],
    ...(options.reportUrl && { reportUrl: options.reportUrl }),
    policy,
  };
  const scripts = browserScripts(config);
  const added = new Map<string, string>(Object.entries(scripts));
  for (const name of added.keys()) if (input.files.has(name)) throw usage(label, `the build itself emits ${name}`);
  const files = new Map<string, string | Uint8Array>([...input.files, ...added]);
  const changed = new Map<string, string>();
  const importMaps: string[] = [];
  for (const [name, data] of input.files) {
    if (!name.endsWith('.html')) continue;
    const page = pageWithIntegrity(typeof data === 'string' ? data : Buffer.from(data).toString('utf8'), name, input.base, files);
    changed.set(name, page.html);
    importMaps.push(page.importMap);
  }
  added.set(HEADERS, headersSnippet(importMaps, input.enforceIntegrity));
  return { added, changed };
}
