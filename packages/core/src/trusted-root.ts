import fs from 'node:fs/promises';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { inputError } from './digest';
import { SignetError } from './errors';

export type { TrustedRoot };

const MEDIA_TYPE = /^application\/vnd\.dev\.sigstore\.trustedroot(\+json;version=0\.[12]|\.v0\.[12]\+json)$/;

/** A trusted root with nothing in it: verification by public keys only, fully offline. */
export function emptyTrustedRoot(): TrustedRoot {
  return {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [],
    certificateAuthorities: [],
    ctlogs: [],
    timestampAuthorities: [],
  };
}

export async function readTrustedRoot(path: string): Promise<TrustedRoot> {
  let text: string;
  try {
    text = await fs.readFile(path, 'utf8');
  } catch (cause) {
    throw inputError(path, cause);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new SignetError({ code: 'E_TRUST_ROOT', message: `${path} is not valid JSON`, cause });
  }
  return parseTrustedRoot(json, path);
}

/**
 * Parses a trusted_root.json and refuses what @sigstore/verify would quietly accept:
 * a log, CA or TSA without the start of its validity window would otherwise count
 * as valid since the beginning of time (sigstore-conformance:
 * trust-root-tlog-missing-validity-start_fail).
 */
export function parseTrustedRoot(json: unknown, name = 'the trusted root'): TrustedRoot {
  const mediaType = (json as { mediaType?: unknown } | null)?.mediaType;
  if (typeof mediaType !== 'string' || !MEDIA_TYPE.test(mediaType)) {
    throw new SignetError({
      code: 'E_TRUST_ROOT',
      message: `${name} is not a Sigstore trusted root (mediaType ${JSON.stringify(mediaType)})`,
    });
  }
  let root: TrustedRoot;
  try {
    root = TrustedRoot.fromJSON(json);
  } catch (cause) {
    throw new SignetError({ code: 'E_TRUST_ROOT', message: `${name} is malformed`, cause });
  }
  const missing: string[] = [];
  root.tlogs.forEach((log, i) => {
    if (!log.publicKey?.validFor?.start) missing.push(`tlogs[${i}] (${log.baseUrl})`);
  });
  root.ctlogs.forEach((log, i) => {
    if (!log.publicKey?.validFor?.start) missing.push(`ctlogs[${i}] (${log.baseUrl})`);
  });
  root.certificateAuthorities.forEach((ca, i) => {
    if (!ca.validFor?.start) missing.push(`certificateAuthorities[${i}] (${ca.uri})`);
  });
  root.timestampAuthorities.forEach((tsa, i) => {
    if (!tsa.validFor?.start) missing.push(`timestampAuthorities[${i}] (${tsa.uri})`);
  });
  if (missing.length > 0) {
    throw new SignetError({
      code: 'E_TRUST_ROOT',
      message: `${name} gives no start of validity for ${missing.join(', ')}; every key in a trusted root needs one`,
    });
  }
  return root;
}
