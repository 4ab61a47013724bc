import { manifestOutputPaths, type SigstoreServices } from '@signet/core';
import { type BrowserOptions, checkBrowserOptions } from '@signet/verify-browser/build';

export interface SignetWebpackPluginOptions {
  /**
   * The signing key, as a key reference: `file:signing.key`, `env:NAME`, `awskms://…`,
   * `gcpkms://…`, `azurekms://…`, `hashivault://…`, `pkcs11:…` or `keyless`. A key file's
   * passphrase comes from SIGNET_PASSWORD.
   */
  key: string;
  /** Where the manifest bundle goes, relative to the output folder (default `.well-known/signet/manifest.sigstore.json`). */
  output?: string;
  /** Globs (over posix names relative to the output folder) of the files to sign; default every file. */
  include?: string[];
  /** Globs of files to leave out of the manifest (`signet verify-dir` then needs `--allow-extra` for them). */
  exclude?: string[];
  /** Also emit a plain `SHA256SUMS` beside the bundle. */
  sha256sums?: boolean;
  /** A build whose signing fails fails (default); false: a warning, and the build goes on unsigned. */
  failOnError?: boolean;
  /** Sign SLSA provenance v1 (with the lockfile's digest) instead of Signet's manifest predicate. */
  provenance?: boolean;
  /** true: sign in development mode too; false: never sign; default: sign unless the mode is development. */
  enabled?: boolean;
  /**
   * Make the browser refuse what the signed manifest does not cover: the build also emits a
   * service worker (`/signet-sw.js`) and a bootstrap that registers it, adds Subresource
   * Integrity (and, for ES module output, an import map) to the pages, and writes the headers
   * for the server (`.well-known/signet/headers.txt`), all signed. Needs an absolute
   * `output.publicPath` ('/'). `{ keys }` (default: the signing key's public key) or
   * `{ identity, trustedRoot? }` for keyless (default: public-good's trusted root, fetched through TUF at build time); `mode`, `passThrough`, `reportUrl`.
   */
  browser?: BrowserOptions;
  /**
   * The Sigstore services keyless signing uses (Fulcio, Rekor, TSA): public-good's unless
   * given, e.g. a private deployment's `await readSigningConfig('signing_config.json')` from
   * @signet/core. With `browser: { identity }` a private deployment also needs
   * `browser.trustedRoot`: public-good's root is only embedded when public-good signs.
   */
  sigstore?: SigstoreServices;
}

/** The options with their defaults, and the names of the files the plugin itself emits. */
export interface ResolvedOptions
  extends Required<Omit<SignetWebpackPluginOptions, 'enabled' | 'include' | 'exclude' | 'browser' | 'sigstore'>> {
  browser?: BrowserOptions;
  sigstore?: SigstoreServices;
  enabled: boolean | undefined;
  include: string[];
  exclude: string[];
  sha256sumsPath: string;
}

/**
 * Checks what can be checked before a build: a missing key is reported when a build is
 * signed (a development config may leave it unset), but a manifest path outside the
 * output folder is a mistake in any mode.
 */
export function resolveOptions(options: SignetWebpackPluginOptions): ResolvedOptions {
  const { manifest: output, sha256sums: sha256sumsPath } = manifestOutputPaths('SignetWebpackPlugin', options.output);
  if (options.browser !== undefined) checkBrowserOptions('SignetWebpackPlugin', options.browser);
  return {
    key: options.key,
    output,
    include: options.include ?? [],
    exclude: options.exclude ?? [],
    sha256sums: options.sha256sums ?? false,
    failOnError: options.failOnError ?? true,
    provenance: options.provenance ?? false,
    enabled: options.enabled,
    sha256sumsPath,
    ...(options.browser !== undefined && { browser: options.browser }),
    ...(options.sigstore !== undefined && { sigstore: options.sigstore }),
  };
}
