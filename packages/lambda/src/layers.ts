import { type Policy, type TrustedRoot, verifyDirectory } from '@signet/core';

export interface VerifiedLayersOptions {
  /** Who may have signed the layers' manifest. */
  policy: Policy;
  /** Where Lambda extracts layers (default /opt). */
  dir?: string;
  /** The manifest bundle (default DIR/.well-known/signet/manifest.sigstore.json, as `signet sign-dir` writes it). */
  bundlePath?: string;
  /** Globs of files under DIR that are not a failure (another team's layer, say). */
  allowExtra?: string[];
  trustedRoot?: TrustedRoot | (() => Promise<TrustedRoot>);
}

/**
 * Wraps a handler so that, at cold start, the layers it loads (the files under /opt) are
 * checked against a signed manifest before the first invocation runs. One check per
 * execution environment; while it fails, every invocation fails with the reason, so a
 * tampered layer never runs.
 */
export function withVerifiedLayers<E, C, R>(
  handler: (event: E, context: C) => Promise<R> | R,
  options: VerifiedLayersOptions,
): (event: E, context: C) => Promise<R> {
  let check: Promise<void> | undefined;
  const verify = async () => {
    // A mismatch throws DirectoryMismatchError (E_SIGNATURE) naming each file.
    await verifyDirectory(options.dir ?? '/opt', options.policy, {
      bundlePath: options.bundlePath,
      allowExtra: options.allowExtra,
      trustedRoot: options.trustedRoot,
    });
  };
  return async (event, context) => {
    check ??= verify();
    await check;
    return handler(event, context);
  };
}
