import type { SignetWebpackPluginOptions } from '../../src';

/** One webpack build (or watch) of a fixture, run by child.js in its own process. */
export interface BuildJob {
  /** The fixture's folder, with its webpack.config.js. */
  fixture: string;
  /** Build this copy of the fixture's folder instead (the watch test edits its sources). */
  context?: string;
  outDir: string;
  mode?: 'production' | 'development';
  /** The plugin's options, in place of the config's own. */
  signet: SignetWebpackPluginOptions;
  realContentHash?: boolean;
  /** In place of the config's output.filename. */
  filename?: string;
  /** Also run a child compiler that is handed the plugin; it must not sign. */
  childCompilerWithPlugin?: boolean;
  /** Also run a plugin that changes and adds files at the REPORT stage, after the signing plugin. */
  lateAsset?: boolean;
  /** Add an entry that does not exist, so the build fails before signing. */
  brokenEntry?: boolean;
  /** Watch instead of building once: one report per build, until stdin closes. */
  watch?: boolean;
}

/** What the child prints, one JSON line per finished build. */
export interface BuildReport {
  /** 1 for the first build, then one more per rebuild. */
  build: number;
  hash: string;
  errors: Problem[];
  warnings: Problem[];
  /** Signers opened and signatures made in this process so far (a counting key provider). */
  opened: number;
  signatures: number;
}

export interface Problem {
  message: string;
  /** An instance of the running webpack's WebpackError. */
  webpackError: boolean;
}

/** A counting key reference wraps another: `counting:file:/tmp/signing.key`. */
export const COUNTING_SCHEME = 'counting';
