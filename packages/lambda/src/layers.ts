import { type Policy, SignetError, type TrustedRoot, verifyDirectory } from '@signet/core';

export interface VerifiedLayersOptions {
  /** Who may have signed the layers' manifest. */
  policy: Policy;
  /** Where Lambda extracts layers (default /opt). */
  dir?: string;
  /** The manifest bundle (default DIR/.well-known/signet/manifest.sigstore.json, as `signet sign-dir` writes it). */
  bundlePath?: string;
  /** Globs of files under DIR that are not a failure (another team's layer, say). */
  allowExtra?: string[];
  trustedRoot?: TrustedRoot;
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
    const dir = options.dir ?? '/opt';
    const report = await verifyDirectory(dir, options.policy, {
      bundlePath: options.bundlePath,
      allowExtra: options.allowExtra,
      trustedRoot: options.trustedRoot,
    });
    if (!report.ok) {
      const parts = [
        ...report.modified.map((name) => `modified ${name}`),
        ...report.extra.map((name) => `extra ${name}`),
        ...report.missing.map((name) => `missing ${name}`),
      ];
      throw new SignetError({
        code: 'E_SIGNATURE',
        message: `the layers in ${dir} do not match their signed manifest: ${parts.join(', ')}`,
      });
    }
  };
  return async (event, context) => {
    check ??= verify();
    await check;
    return handler(event, context);
  };
}
