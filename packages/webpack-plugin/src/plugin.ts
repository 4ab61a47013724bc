import {
  type BuildFile,
  fileFilter,
  isSignetError,
  loadTrustedRoot,
  openSigner,
  redactSecrets,
  SignetError,
  serializeTrustedRoot,
  signBuild,
} from '@signet/core';
import { browserBuild, buildTime } from '@signet/verify-browser/build';
import type { Compilation, Compiler, sources } from 'webpack';
import { type ResolvedOptions, resolveOptions, type SignetWebpackPluginOptions } from './options';

const PLUGIN_NAME = 'SignetWebpackPlugin';

/**
 * Signs every file a webpack 5 build emits as one Sigstore bundle (a DSSE in-toto
 * statement, one signing operation per build), emitted into the output folder at
 * `.well-known/signet/manifest.sigstore.json`. Verify the deployed folder with
 * `signet verify-dir DIR --key signing.pub`.
 *
 * webpack's classes come from `compiler.webpack`, never from an import of webpack, so
 * the plugin runs with whichever webpack 5 loads it.
 */
export class SignetWebpackPlugin {
  private readonly options: ResolvedOptions;
  private readonly selected: (name: string) => boolean;

  constructor(options: SignetWebpackPluginOptions) {
    this.options = resolveOptions(options);
    this.selected = fileFilter(this.options.include, this.options.exclude);
  }

  apply(compiler: Compiler): void {
    if (this.options.enabled === false) return;
    // thisCompilation, not compilation: child compilers (html-webpack-plugin's, for one)
    // do not inherit it, and their files reach this compilation's assets anyway.
    compiler.hooks.thisCompilation.tap(PLUGIN_NAME, (compilation) => {
      if (compilation.compiler.isChild()) return;
      if (compilation.compiler.options.mode === 'development' && this.options.enabled !== true) return;
      let covered: Map<string, sources.Source> | undefined;
      compilation.hooks.processAssets.tapPromise(
        // REPORT is the last stage: minification (OPTIMIZE_SIZE), source maps (DEV_TOOLING),
        // HTML (OPTIMIZE_INLINE) and real content hashes (OPTIMIZE_HASH) have all run, so
        // these are the bytes webpack writes.
        { name: PLUGIN_NAME, stage: compiler.webpack.Compilation.PROCESS_ASSETS_STAGE_REPORT },
        async () => {
          covered = await this.sign(compilation);
        },
      );
      compilation.hooks.afterProcessAssets.tap(PLUGIN_NAME, () => {
        if (covered) this.checkUnchanged(compilation, covered);
      });
    });
  }

  /** Signs the compilation's assets and emits the bundle; returns the assets the manifest covers, or undefined when unsigned. */
  private async sign(compilation: Compilation): Promise<Map<string, sources.Source> | undefined> {
    // A failed build is not written (production) or not worth a signature, a KMS call and a log entry.
    if (compilation.errors.length > 0) return undefined;
    const { compiler } = compilation;
    const onWarning = (message: string) => compilation.warnings.push(new compiler.webpack.WebpackError(`${PLUGIN_NAME}: ${message}`));
    try {
      if (!this.options.key) {
        throw new SignetError({ code: 'E_USAGE', message: 'no key: give the plugin a key reference, e.g. { key: "file:signing.key" }' });
      }
      const signer = await openSigner(this.options.key, { onWarning, services: this.options.sigstore });
      if (this.options.browser) await this.browserFiles(compilation, signer.certificate ? undefined : await signer.publicKey());
      const covered = new Map<string, sources.Source>();
      const files: BuildFile[] = [];
      for (const asset of compilation.getAssets()) {
        const name = diskName(asset.name);
        if (!this.covers(name)) continue;
        covered.set(asset.name, asset.source);
        files.push({ name, data: asset.source.buffer() });
      }
      const signed = await signBuild(
        files,
        {
          bundler: { name: 'webpack', version: compiler.webpack.version },
          root: compiler.context,
          outputDir: compilation.outputOptions.path ?? compiler.outputPath,
          provenance: this.options.provenance,
          sha256sums: this.options.sha256sums ? this.options.sha256sumsPath : undefined,
          ...(this.options.browser && { createdAt: buildTime() }),
          onWarning,
        },
        signer,
        { services: this.options.sigstore },
      );
      const { RawSource } = compiler.webpack.sources;
      compilation.emitAsset(this.options.output, new RawSource(signed.bundleJson));
      if (this.options.sha256sums) compilation.emitAsset(this.options.sha256sumsPath, new RawSource(signed.sha256sums));
      return covered;
    } catch (error) {
      this.report(compilation, error);
      return undefined;
    }
  }

  /**
   * A `browser` build's own files (the worker, its bootstrap, the headers) emitted, and each
   * page given integrity metadata and the bootstrap, before anything is hashed: all are signed.
   * Integrity-Policy is enforced only where webpack loads chunks as ES modules (an import map
   * carries their integrity); JSONP chunks get no integrity from webpack, so it is report-only.
   */
  private async browserFiles(compilation: Compilation, signerPublicKey: string | undefined): Promise<void> {
    const { RawSource } = compilation.compiler.webpack.sources;
    const publicPath = compilation.outputOptions.publicPath;
    const files = new Map<string, Uint8Array>();
    for (const asset of compilation.getAssets()) {
      const name = diskName(asset.name);
      if (this.covers(name)) files.set(name, asset.source.buffer());
    }
    const { added, changed } = browserBuild({
      label: PLUGIN_NAME,
      options: this.options.browser ?? {},
      base: typeof publicPath === 'string' && publicPath !== 'auto' ? publicPath : String(publicPath),
      manifestPath: this.options.output,
      signerPublicKey,
      files,
      enforceIntegrity: compilation.outputOptions.chunkLoading === 'import',
      // Keyless without a trusted root named: public-good's, through TUF, as signing keyless
      // reaches it; never when the build signs with other services (that root could not verify it).
      defaultTrustedRoot:
        this.options.browser?.identity && !this.options.browser.trustedRoot && !this.options.sigstore
          ? serializeTrustedRoot(await loadTrustedRoot())
          : undefined,
    });
    // Already minified: marked so, the minimizers (which also run on assets added later) leave them as signed.
    for (const [name, html] of changed) compilation.updateAsset(name, new RawSource(html), { minimized: true });
    for (const [name, text] of added) compilation.emitAsset(name, new RawSource(text), { minimized: true });
  }

  /**
   * A plugin that changes or adds files after this one signed (a later tap at the REPORT
   * stage) would leave a manifest that the output does not match: the build is then
   * reported, and left unsigned rather than signed wrongly. (webpack forbids changing
   * assets after processAssets.)
   */
  private checkUnchanged(compilation: Compilation, covered: Map<string, sources.Source>): void {
    const changed = compilation
      .getAssets()
      .filter((asset) => this.covers(diskName(asset.name)) && covered.get(asset.name) !== asset.source)
      .map((asset) => asset.name);
    for (const name of covered.keys()) if (!compilation.getAsset(name)) changed.push(name);
    if (changed.length === 0) return;
    compilation.deleteAsset(this.options.output);
    if (this.options.sha256sums) compilation.deleteAsset(this.options.sha256sumsPath);
    this.report(
      compilation,
      new SignetError({
        code: 'E_INPUT',
        message: `${changed.sort().join(', ')} changed after the build was signed (by a plugin at processAssets stage REPORT that runs after SignetWebpackPlugin; move it to an earlier stage); the output is left unsigned`,
      }),
    );
  }

  /** Whether the manifest names a file: not the plugin's own, and selected by include/exclude. */
  private covers(name: string): boolean {
    return name !== this.options.output && !(this.options.sha256sums && name === this.options.sha256sumsPath) && this.selected(name);
  }

  /** On compilation.errors (the build fails), or with failOnError false on compilation.warnings. */
  private report(compilation: Compilation, error: unknown): void {
    // @signet/verify-browser/build depends on no core: its option errors carry only their code.
    const code = isSignetError(error) ? error.code : (error as { code?: unknown } | null)?.code === 'E_USAGE' ? 'E_USAGE' : 'E_INTERNAL';
    // Bundlers print what a plugin reports: no secret a provider repeated may reach the build log.
    const reason = redactSecrets(error instanceof Error ? error.message : String(error));
    const suffix = this.options.failOnError ? '' : ' (failOnError is false: the build goes on unsigned)';
    const problem = new compilation.compiler.webpack.WebpackError(`${PLUGIN_NAME}: ${code}: ${reason}${suffix}`, { cause: error });
    problem.hideStack = true;
    (this.options.failOnError ? compilation.errors : compilation.warnings).push(problem);
  }
}

/** The file webpack writes for an asset: it drops a query string or fragment from the name. */
function diskName(assetName: string): string {
  const end = assetName.search(/[?#]/);
  return end >= 0 ? assetName.slice(0, end) : assetName;
}
