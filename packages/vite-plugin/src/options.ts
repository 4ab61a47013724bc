import { manifestOutputPaths, type SigstoreServices } from '@signet/core';
import { type BrowserOptions, checkBrowserOptions } from '@signet/verify-browser/build';

export interface SignetPluginOptions {
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
  /**
   * The Vite environments whose builds are signed, each into its own output folder:
   * `['client']` by default; `['client', 'ssr']` signs the server build too.
   */
  environments?: string[];
  /**
   * Make the browser refuse what the signed manifest does not cover: the build also emits a
   * service worker (`/signet-sw.js`) and a bootstrap that registers it, adds Subresource
   * Integrity and an import map to the pages, and writes the headers for the server
   * (`.well-known/signet/headers.txt`), all signed. `{ keys }` (default: the signing key's
   * public key) or `{ identity, trustedRoot? }` for keyless (default: public-good's trusted root, fetched through TUF at build time); `mode` 'enforce' or 'report';
   * `passThrough` path prefixes (an API); `reportUrl`. See @signet/verify-browser.
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
export interface ResolvedOptions extends Required<Omit<SignetPluginOptions, 'include' | 'exclude' | 'browser' | 'sigstore'>> {
  browser?: BrowserOptions;
  sigstore?: SigstoreServices;
  include: string[];
  exclude: string[];
  sha256sumsPath: string;
}

/**
 * Checks what can be checked when the config is read: a manifest path outside the output
 * folder is a mistake whatever is built. A missing key is reported when a build is signed
 * (the dev server never needs one).
 */
export function resolveOptions(options: SignetPluginOptions): ResolvedOptions {
  const { manifest: output, sha256sums: sha256sumsPath } = manifestOutputPaths('signet', options.output);
  if (options.browser !== undefined) checkBrowserOptions('signet', options.browser);
  return {
    key: options.key,
    output,
    include: options.include ?? [],
    exclude: options.exclude ?? [],
    sha256sums: options.sha256sums ?? false,
    failOnError: options.failOnError ?? true,
    provenance: options.provenance ?? false,
    environments: options.environments ?? ['client'],
    sha256sumsPath,
    ...(options.browser !== undefined && { browser: options.browser }),
    ...(options.sigstore !== undefined && { sigstore: options.sigstore }),
  };
}
