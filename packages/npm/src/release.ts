import crypto from 'node:crypto';
import { createStatement, NPM_RELEASE_PREDICATE_TYPE, type Statement } from '@signet/core';

/** The predicate of a Signet-signed npm release: which package, and the tarball's integrity as npm records it. */
export const RELEASE_PREDICATE_TYPE = NPM_RELEASE_PREDICATE_TYPE;

export interface ReleasePredicate {
  name: string;
  version: string;
  /** The tarball's `dist.integrity`: `sha512-BASE64`. */
  integrity: string;
}

/**
 * The package URL npm provenance names a release by (`pkg:npm/%40scope/name@1.2.3`): the
 * scope's `@` percent-encoded, as the purl spec and npm's own attestations write it.
 */
export function npmPurl(name: string, version: string): string {
  return `pkg:npm/${name.startsWith('@') ? `%40${name.slice(1)}` : name}@${version}`;
}

/** The file name npm gives a package's tarball: `name-1.2.3.tgz`, `scope-name-1.2.3.tgz`. */
export function tarballFileName(name: string, version: string): string {
  return `${name.replace(/^@/, '').replace('/', '-')}-${version}.tgz`;
}

export function sha512Integrity(tarball: Uint8Array): string {
  return `sha512-${crypto.createHash('sha512').update(tarball).digest('base64')}`;
}

/**
 * The in-toto statement a release is signed as: one subject, the package URL with the
 * tarball's sha512, exactly as npm provenance names it, so any Sigstore verifier that
 * checks npm provenance checks this too.
 */
export function releaseStatement(name: string, version: string, tarball: Uint8Array): Statement<ReleasePredicate> {
  const sha512 = crypto.createHash('sha512').update(tarball).digest();
  return createStatement([{ name: npmPurl(name, version), digest: { sha512: sha512.toString('hex') } }], RELEASE_PREDICATE_TYPE, {
    name,
    version,
    integrity: `sha512-${sha512.toString('base64')}`,
  });
}
