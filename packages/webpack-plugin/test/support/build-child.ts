// Builds a fixture with webpack's Node API, as a test's job says, and prints one JSON
// report per finished build. Exit status as webpack-cli's: 1 when the build has errors.
import path from 'node:path';
import { type KeyRef, openSigner, registerProvider, type Signer } from '@signet/core';
import webpack, { type Compiler, type Configuration, type Stats, type WebpackPluginInstance } from 'webpack';
import { SignetWebpackPlugin } from '../../src';
import { type BuildJob, type BuildReport, COUNTING_SCHEME, type Problem } from './job';

const job = JSON.parse(process.argv[2] ?? '') as BuildJob;
const counts = { opened: 0, signatures: 0 };

// A key provider that counts: one signer opened and one signature per build, however many files.
registerProvider({
  scheme: COUNTING_SCHEME,
  async open(ref: KeyRef, options) {
    counts.opened += 1;
    const inner = await openSigner(ref.location, options);
    const counted = <A extends unknown[]>(fn: (...args: A) => Promise<Buffer>) => {
      return (...args: A) => {
        counts.signatures += 1;
        return fn(...args);
      };
    };
    const signer: Signer = {
      keyId: inner.keyId,
      algorithm: inner.algorithm,
      publicKey: () => inner.publicKey(),
      sign: counted((data: Uint8Array) => inner.sign(data)),
    };
    if (inner.signDigest) signer.signDigest = counted(inner.signDigest.bind(inner));
    return signer;
  },
});

/** Hands the signing plugin to a child compiler too, as plugins such as workbox's let users do. */
class ChildCompilerWithPlugin implements WebpackPluginInstance {
  apply(compiler: Compiler): void {
    compiler.hooks.make.tapAsync('ChildCompilerWithPlugin', (compilation, callback) => {
      const child = compilation.createChildCompiler('child-with-plugin', { filename: 'child/[name].js' }, [
        new compiler.webpack.EntryPlugin(compiler.context, './src/about.js', { name: 'about' }),
        new SignetWebpackPlugin(job.signet),
      ]);
      child.runAsChild((error) => callback(error ?? undefined));
    });
  }
}

/** At the REPORT stage too, but after the signing plugin: changes a file it signed, and adds one. */
class LateAsset implements WebpackPluginInstance {
  apply(compiler: Compiler): void {
    const { Compilation, sources } = compiler.webpack;
    compiler.hooks.thisCompilation.tap('LateAsset', (compilation) => {
      compilation.hooks.processAssets.tap({ name: 'LateAsset', stage: Compilation.PROCESS_ASSETS_STAGE_REPORT }, () => {
        compilation.updateAsset('about.html', (source) => new sources.ConcatSource(source, '<!-- late -->\n'));
        compilation.emitAsset('late.txt', new sources.RawSource('added after signing\n'));
      });
    });
  }
}

function configuration(): Configuration {
  const config = require(path.join(job.fixture, 'webpack.config.js')) as Configuration;
  const plugins = (config.plugins ?? []).map((plugin) =>
    plugin instanceof SignetWebpackPlugin ? new SignetWebpackPlugin(job.signet) : plugin,
  );
  if (job.childCompilerWithPlugin) plugins.push(new ChildCompilerWithPlugin());
  if (job.lateAsset) plugins.push(new LateAsset());
  const entry = { ...(config.entry as Record<string, string>), ...(job.brokenEntry ? { broken: './src/missing.js' } : {}) };
  return {
    ...config,
    // A copy outside the repository still loads css-loader from the repository's node_modules.
    ...(job.context
      ? {
          context: job.context,
          resolveLoader: { modules: ['node_modules', path.dirname(path.dirname(require.resolve('css-loader/package.json')))] },
        }
      : {}),
    mode: job.mode ?? config.mode,
    entry,
    output: { ...config.output, path: job.outDir, ...(job.filename ? { filename: job.filename } : {}) },
    optimization: { ...config.optimization, ...(job.realContentHash === undefined ? {} : { realContentHash: job.realContentHash }) },
    plugins,
  };
}

function problems(list: Error[]): Problem[] {
  return list.map((error) => ({ message: error.message, webpackError: error instanceof webpack.WebpackError }));
}

let builds = 0;
function report(stats: Stats): void {
  builds += 1;
  const { compilation } = stats;
  const line: BuildReport = {
    build: builds,
    hash: stats.hash ?? '',
    errors: problems(compilation.errors),
    warnings: problems(compilation.warnings),
    ...counts,
  };
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

function fatal(error: Error): never {
  process.stderr.write(`${error.stack ?? error.message}\n`);
  process.exit(2);
}

const compiler = webpack(configuration());
if (job.watch) {
  const watching = compiler.watch({ aggregateTimeout: 50 }, (error, stats) => {
    if (error || !stats) fatal(error ?? new Error('no stats'));
    report(stats);
  });
  process.stdin.on('end', () => watching?.close(() => process.exit(0)));
  process.stdin.resume();
} else {
  compiler.run((error, stats) => {
    if (error || !stats) fatal(error ?? new Error('no stats'));
    report(stats);
    compiler.close(() => process.exit(stats.hasErrors() ? 1 : 0));
  });
}
