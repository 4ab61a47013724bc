import { parseImageName, SignetError } from '@signet/core';

/** An image reference, in the canonical spelling of its name (see @signet/core's parseImageName). */
export interface ImageReference {
  /** The registry host in lower case, with its port unless 443: `ghcr.io`, `127.0.0.1:5000`, `docker.io`. */
  registry: string;
  /** The repository: `acme/shop`, `library/nginx`. */
  repository: string;
  tag?: string;
  /** `sha256:<64 hex>`. */
  digest?: string;
}

// The distribution spec's grammar: tags up to 128 characters; sha256 digests only (what
// registries and cosign use).
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;

/**
 * Parses `[REGISTRY/]REPOSITORY[:TAG][@DIGEST]`, its name in the one spelling every rule is
 * matched against: as in Docker, the first component is a registry when it has a dot or a
 * port or is localhost, otherwise the image is on Docker Hub (docker.io/library/ for one
 * component); `GHCR.io:443/acme/shop` is `ghcr.io/acme/shop`. A reference with neither tag
 * nor digest means :latest to whoever reads it (see targetOf); it is returned without a tag.
 */
export function parseImageReference(value: string): ImageReference {
  const fail = (why: string): never => {
    throw new SignetError({ code: 'E_INPUT', message: `"${value}" is not an image reference: ${why}` });
  };
  if (value.length === 0 || value.length > 4096 || /\s/.test(value)) fail('expected REGISTRY/REPOSITORY[:TAG][@sha256:DIGEST]');
  let rest = value;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) fail(`the digest must be sha256: and 64 lower-case hex digits, not "${digest}"`);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.indexOf(':', lastSlash + 1);
  if (colon >= 0) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) fail(`"${tag}" is not a valid tag`);
  }
  const { registry, repository } = parseImageName(rest, value);
  const reference: ImageReference = { registry, repository };
  if (tag !== undefined) reference.tag = tag;
  if (digest !== undefined) reference.digest = digest;
  return reference;
}

/** What to ask the registry for: the digest, else the tag, else latest. */
export function targetOf(reference: ImageReference): string {
  return reference.digest ?? reference.tag ?? 'latest';
}

/** REGISTRY/REPOSITORY: what gate policies match and what signatures name. */
export function imageName(reference: Pick<ImageReference, 'registry' | 'repository'>): string {
  return `${reference.registry}/${reference.repository}`;
}

/** The reference as text, canonical: `REGISTRY/REPOSITORY[:TAG][@DIGEST]`. */
export function formatImageReference(reference: ImageReference): string {
  return `${imageName(reference)}${reference.tag ? `:${reference.tag}` : ''}${reference.digest ? `@${reference.digest}` : ''}`;
}

/** The same image, by digest only. */
export function byDigest(reference: ImageReference, digest: string): string {
  return `${imageName(reference)}@${digest}`;
}
