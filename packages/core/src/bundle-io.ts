import {
  BUNDLE_V01_MEDIA_TYPE,
  BUNDLE_V02_MEDIA_TYPE,
  BUNDLE_V03_LEGACY_MEDIA_TYPE,
  BUNDLE_V03_MEDIA_TYPE,
  type Bundle,
  bundleFromJSON,
  bundleToJSON,
  type SerializedBundle,
  ValidationError,
} from '@sigstore/bundle';
import { readRegularFile } from './digest';
import { SignetError } from './errors';
import { writeFileAtomic } from './fs-atomic';

export type { Bundle, SerializedBundle };

/** The media type of every bundle Signet writes. */
export const BUNDLE_MEDIA_TYPE = BUNDLE_V03_MEDIA_TYPE;

const KNOWN_MEDIA_TYPES = new Set([BUNDLE_V01_MEDIA_TYPE, BUNDLE_V02_MEDIA_TYPE, BUNDLE_V03_LEGACY_MEDIA_TYPE, BUNDLE_V03_MEDIA_TYPE]);

/** Bundles are a few kilobytes; anything this large is not one, and is not read into memory. */
const MAX_BUNDLE_BYTES = 16 * 1024 * 1024;

/** Reads and validates a bundle file, with one E_INPUT/E_BUNDLE error per way it can be wrong. */
export async function readBundle(path: string): Promise<Bundle> {
  const bytes = await readRegularFile(path, {
    bytes: MAX_BUNDLE_BYTES,
    error: (size) => new SignetError({ code: 'E_BUNDLE', message: `${path} is ${size} bytes, too large to be a Sigstore bundle` }),
  });
  return parseBundle(bytes.toString('utf8'), path);
}

/** Parses bundle JSON (text or an already-parsed value) into a validated bundle. */
export function parseBundle(json: string | unknown, name = 'the bundle'): Bundle {
  let value: unknown = json;
  if (typeof json === 'string') {
    if (json.trim() === '') throw new SignetError({ code: 'E_BUNDLE', message: `${name} is empty` });
    try {
      value = JSON.parse(json);
    } catch (cause) {
      throw new SignetError({ code: 'E_BUNDLE', message: `${name} is not valid JSON (truncated or corrupt?)`, cause });
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new SignetError({ code: 'E_BUNDLE', message: `${name} is not a Sigstore bundle (expected a JSON object)` });
  }
  const mediaType = (value as { mediaType?: unknown }).mediaType;
  if (typeof mediaType !== 'string' || !KNOWN_MEDIA_TYPES.has(mediaType)) {
    throw new SignetError({
      code: 'E_BUNDLE',
      message: `${name} has ${typeof mediaType === 'string' ? `unsupported media type ${mediaType}` : 'no mediaType'}; Signet reads Sigstore bundles v0.1 to v0.3`,
    });
  }
  try {
    return bundleFromJSON(value);
  } catch (cause) {
    const fields = cause instanceof ValidationError && cause.fields?.length ? ` (${cause.fields.join(', ')})` : '';
    throw new SignetError({
      code: 'E_BUNDLE',
      message: `${name} is not a valid Sigstore bundle${fields}`,
      cause,
    });
  }
}

export function serializeBundle(bundle: Bundle): SerializedBundle {
  return bundleToJSON(bundle);
}

/** Writes a bundle atomically: a reader never sees half a bundle. */
export async function writeBundle(path: string, bundle: Bundle | SerializedBundle, options: { overwrite?: boolean } = {}): Promise<void> {
  const json = 'content' in bundle ? bundleToJSON(bundle as Bundle) : bundle;
  await writeFileAtomic(path, `${JSON.stringify(json, null, 2)}\n`, { overwrite: options.overwrite ?? true });
}
