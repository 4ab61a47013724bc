import { displayKeyRef, type KeyRef, SignetError } from '@signet/core';

/** A Transit key named by `hashivault://KEY` (its newest version) or `hashivault://KEY/versions/N`. */
export interface TransitKeyRef {
  name: string;
  /** A pinned key version; absent means the key's latest version. */
  version?: number;
  /** The reference as it may be printed (KeyRef.display). */
  display: string;
  /** The key's name as it may be printed: cosign lets it hold "@", so what precedes one is redacted as user information would be. */
  shownName: string;
}

// Vault's own rule for key names (framework.GenericNameRegex), which cosign's is a subset of.
const NAME = /^\w(?:[\w.@-]*\w)?$/;
const VERSIONED = /^(.+)\/versions\/([1-9][0-9]*)$/;

export function parseTransitKeyRef(ref: KeyRef): TransitKeyRef {
  const versioned = VERSIONED.exec(ref.location);
  const name = versioned ? (versioned[1] as string) : ref.location;
  if (!NAME.test(name)) {
    throw new SignetError({
      code: 'E_INPUT',
      message: `${ref.display} is not a Vault Transit key reference; write hashivault://KEY or hashivault://KEY/versions/N (KEY: letters, digits, "_", "-", "." or "@")`,
    });
  }
  const shownName = displayKeyRef(`hashivault://${name}`).slice('hashivault://'.length);
  return versioned ? { name, version: Number(versioned[2]), display: ref.display, shownName } : { name, display: ref.display, shownName };
}

/** The reference naming one version exactly, as signatures record it and messages print it. */
export function versionedRef(name: string, version: number): string {
  return displayKeyRef(`hashivault://${name}/versions/${version}`);
}
