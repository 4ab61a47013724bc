import crypto from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { readRegularFile } from './digest';
import { SignetError, type SignetErrorCode } from './errors';
import { type RekorLog, type SigstoreServices, SUPPORTED_REKOR_VERSIONS } from './sigstore-services';
import { embeddedTufRoot, PUBLIC_GOOD_TUF_MIRROR, tufFailure } from './trusted-root';
import { fetchTufTarget } from './tuf';

/*
 * Which Fulcio, Rekor logs and timestamp authorities a signature uses, chosen from a Sigstore
 * signing config (protobuf-specs SigningConfig v0.2) by the rules sigstore-go (and so cosign)
 * applies: only services valid now (both ends of validFor inclusive), the highest API version
 * Signet speaks, the newest service first, at most one per operator, and as many logs and TSAs
 * as rekorTlogConfig and tsaConfig ask for (ANY: one, ALL: every operator's, EXACT: that many).
 */

export const SIGNING_CONFIG_MEDIA_TYPE = 'application/vnd.dev.sigstore.signingconfig.v0.2+json';
export const CLIENT_TRUST_CONFIG_MEDIA_TYPE = 'application/vnd.dev.sigstore.clienttrustconfig.v0.1+json';
/** The TUF target that holds the signing config (public-good and every private deployment built like it). */
export const SIGNING_CONFIG_TARGET = 'signing_config.v0.2.json';

/** One service of a signing config, checked. */
export interface ServiceEntry {
  url: string;
  majorApiVersion: number;
  /** Milliseconds since the epoch; undefined is unbounded. */
  start?: number;
  end?: number;
  operator: string;
}

export type ServiceSelector = { selector: 'ANY' } | { selector: 'ALL' } | { selector: 'EXACT'; count: number };

/** A signing config as read: every list and selector checked, nothing chosen yet. */
export interface SigningConfig {
  caUrls: ServiceEntry[];
  oidcUrls: ServiceEntry[];
  rekorTlogUrls: ServiceEntry[];
  rekorTlogConfig: ServiceSelector;
  tsaUrls: ServiceEntry[];
  tsaConfig: ServiceSelector;
}

export interface SelectServicesOptions {
  /** The Rekor API versions to choose among (default: 1 and 2; `--rekor-version` narrows it to one). */
  rekorVersions?: readonly (1 | 2)[];
  /** The time services must be valid at (default: now). */
  now?: Date;
  /** What the source is called in errors. */
  name?: string;
  /** The code of "too few services qualify": a file given is bad input, a served one a failed provider. */
  code?: SignetErrorCode;
  /** Refuse a config with no Fulcio valid now (keyless signing needs one). */
  requireCA?: boolean;
  /** Refuse a config with too few Rekor logs valid now (default: when it lists any; a signature that is not logged needs none). */
  requireLog?: boolean;
}

/** Reads a signing config v0.2, or the one inside a ClientTrustConfig, from a file. */
export async function readSigningConfigFile(file: string): Promise<SigningConfig> {
  const bytes = await readRegularFile(file);
  return parseSigningConfigJson(bytes.toString('utf8'), `signing config ${file}`, 'E_INPUT');
}

function parseSigningConfigJson(text: string, name: string, code: SignetErrorCode): SigningConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new SignetError({ code, message: `${name} is not valid JSON`, cause });
  }
  return parseSigningConfigDocument(json, name, code);
}

/** A signing config v0.2, or a ClientTrustConfig holding one, checked field by field. */
export function parseSigningConfigDocument(json: unknown, name = 'the signing config', code: SignetErrorCode = 'E_INPUT'): SigningConfig {
  const fail = (message: string): never => {
    throw new SignetError({ code, message: `${name} ${message}` });
  };
  if (!isObject(json)) return fail('is not a JSON object');
  let config: Record<string, unknown> = json;
  if (json.mediaType === CLIENT_TRUST_CONFIG_MEDIA_TYPE) {
    if (!isObject(json.signingConfig)) return fail('is a ClientTrustConfig without a signingConfig');
    config = json.signingConfig;
  }
  if (config.mediaType !== SIGNING_CONFIG_MEDIA_TYPE) {
    return fail(
      `is not a Sigstore signing config v0.2 (mediaType ${JSON.stringify(config.mediaType)}; expected ${SIGNING_CONFIG_MEDIA_TYPE})`,
    );
  }
  const services = (field: string): ServiceEntry[] => {
    const list = config[field] ?? [];
    if (!Array.isArray(list)) return fail(`has a ${field} that is not a list`);
    return list.map((entry, index) => parseService(entry, `${field}[${index}]`, fail));
  };
  return {
    caUrls: services('caUrls'),
    oidcUrls: services('oidcUrls'),
    rekorTlogUrls: services('rekorTlogUrls'),
    rekorTlogConfig: parseSelector(config.rekorTlogConfig, 'rekorTlogConfig', fail),
    tsaUrls: services('tsaUrls'),
    tsaConfig: parseSelector(config.tsaConfig, 'tsaConfig', fail),
  };
}

function parseService(entry: unknown, where: string, fail: (message: string) => never): ServiceEntry {
  if (!isObject(entry)) return fail(`has a ${where} that is not an object`);
  const { url, majorApiVersion, validFor, operator } = entry;
  if (typeof url !== 'string') return fail(`has a ${where} without a url`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return fail(`has a ${where}.url that is not a URL (${JSON.stringify(url)})`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return fail(`has a ${where}.url that is not http(s)`);
  if (typeof majorApiVersion !== 'number' || !Number.isInteger(majorApiVersion) || majorApiVersion < 1) {
    return fail(`has a ${where}.majorApiVersion that is not a positive integer`);
  }
  if (operator !== undefined && typeof operator !== 'string') return fail(`has a ${where}.operator that is not a string`);
  const time = (value: unknown, end: string): number | undefined => {
    if (value === undefined) return undefined;
    const ms = typeof value === 'string' ? Date.parse(value) : Number.NaN;
    if (Number.isNaN(ms)) return fail(`has a ${where}.validFor.${end} that is not an RFC 3339 time`);
    return ms;
  };
  if (validFor !== undefined && !isObject(validFor)) return fail(`has a ${where}.validFor that is not an object`);
  const start = time(validFor?.start, 'start');
  const endTime = time(validFor?.end, 'end');
  // As in the trusted root: a validity window names its start.
  if (validFor !== undefined && start === undefined) return fail(`has a ${where}.validFor without a start`);
  return { url, majorApiVersion, start, end: endTime, operator: operator ?? '' };
}

function parseSelector(value: unknown, where: string, fail: (message: string) => never): ServiceSelector {
  // Absent, a config asks for nothing in particular: one service.
  if (value === undefined) return { selector: 'ANY' };
  if (!isObject(value)) return fail(`has a ${where} that is not an object`);
  switch (value.selector) {
    case 'ANY':
    case 'ALL':
      return { selector: value.selector };
    case 'EXACT': {
      const count = value.count;
      if (typeof count !== 'number' || !Number.isInteger(count) || count < 1)
        return fail(`has a ${where} EXACT without a count of at least 1`);
      return { selector: 'EXACT', count };
    }
    default:
      return fail(`has a ${where}.selector ${JSON.stringify(value.selector)}; expected ANY, ALL or EXACT`);
  }
}

/** Whether a service is valid at a time: both ends of its window included. */
export function serviceValidAt(service: ServiceEntry, time: number): boolean {
  return !(service.start !== undefined && time < service.start) && !(service.end !== undefined && time > service.end);
}

/**
 * The services valid at `now` in the highest of `versions` any of them has, newest first, at most
 * one per operator (the newest): sigstore-go's SelectServices before the selector applies.
 */
function candidates(services: readonly ServiceEntry[], versions: readonly number[], now: number): ServiceEntry[] {
  const newestFirst = [...services].sort((a, b) => (b.start ?? 0) - (a.start ?? 0));
  for (const version of [...versions].sort((a, b) => b - a)) {
    const operators = new Set<string>();
    const chosen = newestFirst.filter((service) => {
      if (service.majorApiVersion !== version || !serviceValidAt(service, now) || operators.has(service.operator)) return false;
      operators.add(service.operator);
      return true;
    });
    if (chosen.length > 0) return chosen;
  }
  return [];
}

function applySelector(found: ServiceEntry[], config: ServiceSelector): ServiceEntry[] | undefined {
  switch (config.selector) {
    case 'ALL':
      return found;
    case 'ANY':
      return found.length === 0 ? [] : [found[crypto.randomInt(found.length)] as ServiceEntry];
    case 'EXACT': {
      if (found.length < config.count) return undefined;
      const pool = [...found];
      return Array.from({ length: config.count }, () => pool.splice(crypto.randomInt(pool.length), 1)[0] as ServiceEntry);
    }
  }
}

/**
 * The services to sign with: one Fulcio (the newest valid v1), the Rekor logs and the TSAs the
 * config's selectors ask for. A list the config fills but of which too few services qualify is an
 * error naming why; an empty list (a config without TSAs) selects nothing.
 */
export function selectServices(config: SigningConfig, options: SelectServicesOptions = {}): SigstoreServices {
  const now = (options.now ?? new Date()).getTime();
  const name = options.name ?? 'the signing config';
  const code = options.code ?? 'E_INPUT';
  const at = new Date(now).toISOString();
  const fail = (message: string): never => {
    throw new SignetError({ code, message: `${name} ${message}` });
  };

  const [ca] = candidates(config.caUrls, [1], now);
  if (options.requireCA && !ca) fail(`names no Fulcio (caUrls, API v1) valid at ${at}`);
  const rekorVersions = options.rekorVersions ?? SUPPORTED_REKOR_VERSIONS;
  const logs = candidates(config.rekorTlogUrls, rekorVersions, now);
  const selectedLogs = applySelector(logs, config.rekorTlogConfig);
  const requireLog = options.requireLog ?? config.rekorTlogUrls.length > 0;
  if (requireLog && (selectedLogs === undefined || selectedLogs.length === 0)) {
    const versions = rekorVersions.map((v) => `v${v}`).join(' or ');
    fail(
      logs.length === 0
        ? `names no Rekor log of API ${versions} valid at ${at}`
        : `asks for ${describe(config.rekorTlogConfig)} Rekor logs of distinct operators, and only ${logs.length} of API v${logs[0]?.majorApiVersion} ${logs.length === 1 ? 'is' : 'are'} valid at ${at}`,
    );
  }
  const tsas = candidates(config.tsaUrls, [1], now);
  const selectedTsas = applySelector(tsas, config.tsaConfig);
  if (config.tsaUrls.length > 0 && (selectedTsas === undefined || selectedTsas.length === 0)) {
    fail(
      tsas.length === 0
        ? `names no timestamp authority valid at ${at}`
        : `asks for ${describe(config.tsaConfig)} timestamp authorities of distinct operators, and only ${tsas.length} ${tsas.length === 1 ? 'is' : 'are'} valid at ${at}`,
    );
  }
  return {
    fulcioURL: ca?.url,
    rekorLogs: (requireLog ? (selectedLogs ?? []) : []).map((log): RekorLog => ({ url: log.url, version: log.majorApiVersion as 1 | 2 })),
    tsaURLs: (selectedTsas ?? []).map((tsa) => tsa.url),
  };
}

function describe(config: ServiceSelector): string {
  return config.selector === 'EXACT' ? `exactly ${config.count}` : config.selector === 'ALL' ? 'all' : 'one of the';
}

export interface LoadSigningConfigOptions {
  /** A signing config v0.2 or ClientTrustConfig file; else the TUF repository's. */
  signingConfigPath?: string;
  /** The TUF repository to fetch signing_config.v0.2.json from (default: public-good). */
  tufMirror?: string;
  /** The initial root.json of a TUF repository other than public-good. */
  tufRootPath?: string;
  /** That root.json's bytes, for a caller that ships it. */
  tufRoot?: Uint8Array;
  /** Where TUF metadata is cached (default: $XDG_CACHE_HOME/signet/tuf, shared with the trusted root). */
  cacheDir?: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * The signing config: the file given, else the TUF repository's `signing_config.v0.2.json`
 * (public-good, or a private deployment's mirror and root), refreshed as TUF says.
 */
export async function loadSigningConfig(
  options: LoadSigningConfigOptions = {},
): Promise<{ config: SigningConfig; name: string; code: SignetErrorCode }> {
  if (options.signingConfigPath) {
    return {
      config: await readSigningConfigFile(options.signingConfigPath),
      name: `signing config ${options.signingConfigPath}`,
      code: 'E_INPUT',
    };
  }
  const env = options.env ?? process.env;
  const mirror = options.tufMirror ?? PUBLIC_GOOD_TUF_MIRROR;
  const publicGood = mirror === PUBLIC_GOOD_TUF_MIRROR && !options.tufRootPath && !options.tufRoot;
  let mirrorUrl: URL;
  try {
    mirrorUrl = new URL(mirror);
  } catch (cause) {
    throw new SignetError({ code: 'E_USAGE', message: `--tuf-mirror ${mirror} is not a URL`, cause });
  }
  const initialRoot = options.tufRoot
    ? Buffer.from(options.tufRoot)
    : options.tufRootPath
      ? await readRegularFile(options.tufRootPath)
      : embeddedTufRoot();
  const cacheBase = options.cacheDir ?? path.join(env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'signet', 'tuf');
  let text: string;
  try {
    text = await fetchTufTarget(SIGNING_CONFIG_TARGET, {
      mirror,
      initialRoot,
      cacheDir: path.join(cacheBase, encodeURIComponent(mirrorUrl.host + mirrorUrl.pathname.replace(/\/+$/, ''))),
      timeoutMs: 10_000,
    });
  } catch (cause) {
    throw tufFailure(cause, mirror, publicGood, SIGNING_CONFIG_TARGET);
  }
  const name = `the ${SIGNING_CONFIG_TARGET} served by ${mirror}`;
  return { config: parseSigningConfigJson(text, name, 'E_PROVIDER'), name, code: 'E_PROVIDER' };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
