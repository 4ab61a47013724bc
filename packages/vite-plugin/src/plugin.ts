import path from 'node:path';
import {
  type BuildFile,
  fileFilter,
  isSignetError,
  loadTrustedRoot,
  openSigner,
  redactSecrets,
  type Signer,
  SignetError,
  type SigstoreServices,
  serializeTrustedRoot,
  signBuild,
} from '@signet/core';
import { browserBuild, buildTime } from '@signet/verify-browser/build';
import { type ResolvedOptions, resolveOptions, type SignetPluginOptions } from './options';
import { publicFiles } from './public-dir';
import type { Plugin, PluginContext } from './vite-types';

const PLUGIN_NAME = 'signet';

type Context = Pick<PluginContext, 'error' | 'warn'>;

/** One environment's build (or watch rebuild): the signer, and each output folder's files so far. */
interface Build {
  /** The signer, opened once per build; undefined when opening failed and failOnError is false. */
  signer?: Promise<Signer | undefined>;
  folders: Map<string, Folder>;
}

interface Folder {
  /** The outputs of this build already generated into the folder, by format and file names. */
  outputs: Set<string>;
  /** The files the manifest covers, by name: the bytes Rollup/Rolldown writes. */
  files: Map<string, string | Uint8Array>;
  /** Signed, or refused (reported): either way, done for this build. */
  done: boolean;
}

interface EnvironmentState {
  /** How many outputs Vite writes into each output folder (library mode: one per format). */
  outputsPerFolder: Map<string, number>;
  build: Build;
  /** A source changed: the next build opens the key afresh. */
  changed: boolean;
}

/**
 * Signs every file a Vite build emits as one Sigstore bundle (a DSSE in-toto statement,
 * one signing operation per build), emitted into the output folder at
 * `.well-known/signet/manifest.sigstore.json`. Verify the deployed folder with
 * `signet verify-dir dist --key signing.pub`.
 *
 * Works with Vite 7 (Rollup) and Vite 8 (Rolldown), in `vite build` only: never in the dev
 * server.
 */
export function signet(options: SignetPluginOptions): Plugin {
  const resolved = resolveOptions(options);
  const selected = fileFilter(resolved.include, resolved.exclude);
  const covers = (name: string) => name !== resolved.output && !(resolved.sha256sums && name === resolved.sha256sumsPath) && selected(name);
  // Keyed by environment: a plugin object can serve several environments' builds.
  const states = new WeakMap<object, EnvironmentState>();
  const stateOf = (environment: object): EnvironmentState => {
    let state = states.get(environment);
    if (!state) {
      state = { outputsPerFolder: new Map(), build: newBuild(), changed: false };
      states.set(environment, state);
    }
    return state;
  };

  /**
   * A `browser` build's own files (the worker, its bootstrap, the headers) emitted, and each
   * page given integrity metadata and the bootstrap, before anything is hashed: all are signed.
   * Vite's pages import every script as a module, lazy chunks with import(): the import map's
   * integrity covers them, so Integrity-Policy is enforced.
   */
  const browserFiles = async (
    context: { emitFile: PluginContext['emitFile'] },
    bundle: Record<string, { type: string; fileName: string; code?: string; source?: string | Uint8Array }>,
    folder: Folder,
    base: string,
    signer: Signer | undefined,
  ) => {
    const files = new Map<string, string | Uint8Array>();
    for (const item of Object.values(bundle)) {
      if (covers(item.fileName)) files.set(item.fileName, (item.type === 'chunk' ? item.code : item.source) ?? '');
    }
    const { added, changed } = browserBuild({
      label: 'signet',
      options: resolved.browser ?? {},
      base,
      manifestPath: resolved.output,
      signerPublicKey: signer && !signer.certificate ? await signer.publicKey() : undefined,
      files,
      enforceIntegrity: true,
      // Keyless without a trusted root named: public-good's, through TUF, as signing keyless
      // reaches it; never when the build signs with other services (that root could not verify it).
      defaultTrustedRoot:
        resolved.browser?.identity && !resolved.browser.trustedRoot && !resolved.sigstore
          ? serializeTrustedRoot(await loadTrustedRoot())
          : undefined,
    });
    for (const [name, html] of changed) {
      const item = bundle[name];
      if (item) item.source = html;
      folder.files.set(name, html);
    }
    for (const [name, text] of added) {
      context.emitFile({ type: 'asset', fileName: name, source: text });
      folder.files.set(name, text);
    }
  };

  const plugin: Plugin = {
    name: PLUGIN_NAME,
    apply: 'build',
    // Among the last plugins, so that its generateBundle (order 'post') runs after theirs.
    enforce: 'post',
    applyToEnvironment: (environment) => resolved.environments.includes(environment.name),

    // A build starts: Rollup calls `options` once per build and per watch rebuild, and it
    // resets everything. Rolldown's watcher calls it only once, and `watchChange` when a source
    // changes, which can be in the middle of a build (an editor's save can arrive as two
    // events): so a change only asks for the key to be opened again at the next build, and a
    // folder's state ends when its outputs are all in (see generateBundle).
    options(inputOptions) {
      const state = stateOf(this.environment);
      const { root, build } = this.environment.config;
      state.outputsPerFolder = new Map();
      // Vite hands the bundler its input options with the outputs it will write (one per
      // library format, or build.rollupOptions.output): the only full list a plugin sees.
      const planned = (inputOptions as { output?: { dir?: string } | { dir?: string }[] }).output;
      const outputs = planned === undefined ? [{}] : [planned].flat();
      for (const output of outputs) {
        const folder = path.resolve(root, output.dir ?? build.outDir);
        state.outputsPerFolder.set(folder, (state.outputsPerFolder.get(folder) ?? 0) + 1);
      }
      state.build = newBuild();
      state.changed = false;
    },
    watchChange() {
      stateOf(this.environment).changed = true;
    },

    // The key is opened once per build, before anything is written: a bad key fails the
    // build while the previous output is still untouched. (Rolldown calls buildStart once
    // per output; the first opens.)
    async buildStart() {
      const state = stateOf(this.environment);
      // Between builds (no folder half generated), a change since the last build means a new build.
      if (state.changed && state.build.folders.size === 0) {
        state.build = newBuild();
        state.changed = false;
      }
      const build = state.build;
      if (!build.signer) {
        const late = pluginsAfter(this.environment.plugins, plugin);
        if (late.length > 0) {
          // Their generateBundle would run after the files are hashed, and a change there
          // would leave a manifest the output does not match: refused before anything is written.
          const them = late.length === 1 ? 'it' : 'them';
          report(
            this,
            resolved,
            new SignetError({
              code: 'E_USAGE',
              message: `${late.join(', ')} ${late.length === 1 ? 'runs' : 'run'} after signet in generateBundle (order 'post') and could change files after they are signed; put signet() after ${them} in plugins`,
            }),
          );
          build.signer = Promise.resolve(undefined);
        } else {
          build.signer = openKey(resolved.key, resolved.sigstore, (message) => this.warn(message)).catch((error: unknown) => {
            report(this, resolved, error);
            return undefined;
          });
        }
      }
      await build.signer;
    },

    // order 'post', in the last plugin to have one (checked in buildStart): every other
    // plugin, Vite's own included, has finished with the chunks (import analysis,
    // minification, source map comments, HTML, Vite's manifest), so these are the bytes
    // written to disk.
    generateBundle: {
      order: 'post',
      async handler(outputOptions, bundle) {
        const state = stateOf(this.environment);
        const { config } = this.environment;
        const folderPath = path.resolve(config.root, outputOptions.dir ?? config.build.outDir);
        // An output already seen in this folder means the build it belonged to was cut short by
        // a rebuild: start the folder over, so a manifest never mixes two builds' files.
        const outputKey = JSON.stringify([outputOptions.format, String(outputOptions.entryFileNames), outputOptions.file ?? null]);
        let folder = state.build.folders.get(folderPath);
        if (!folder || folder.outputs.has(outputKey)) {
          folder = { outputs: new Set(), files: new Map(), done: false };
          state.build.folders.set(folderPath, folder);
        }
        for (const item of Object.values(bundle)) {
          if (item.fileName === resolved.output || item.fileName === resolved.sha256sumsPath) {
            report(
              this,
              resolved,
              new SignetError({ code: 'E_INPUT', message: `the build itself emits ${item.fileName}; give signet another output` }),
            );
            folder.done = true;
          }
          // A later output writing the same name (a library's CSS, once per format) overwrites it on disk.
          if (covers(item.fileName)) folder.files.set(item.fileName, item.type === 'chunk' ? item.code : item.source);
        }
        if (resolved.browser && !folder.done) {
          try {
            await browserFiles(this, bundle as never, folder, config.base, await state.build.signer);
          } catch (error) {
            report(this, resolved, error);
            folder.done = true;
          }
        }
        folder.outputs.add(outputKey);
        if (folder.outputs.size < (state.outputsPerFolder.get(folderPath) ?? 1)) return;
        // The folder's last output: this build is done with it, whatever happens next.
        state.build.folders.delete(folderPath);
        if (folder.done) return;
        folder.done = true;
        const signer = await state.build.signer;
        if (!signer) return;
        try {
          const files: BuildFile[] = [];
          for (const file of await publicFiles(config)) {
            if (!folder.files.has(file.name) && covers(file.name)) files.push(file);
          }
          for (const [name, data] of folder.files) files.push({ name, data });
          folder.files.clear();
          const signed = await signBuild(
            files,
            {
              bundler: { name: 'vite', version: this.meta.viteVersion },
              root: config.root,
              outputDir: folderPath,
              provenance: resolved.provenance,
              sha256sums: resolved.sha256sums ? resolved.sha256sumsPath : undefined,
              ...(resolved.browser && { createdAt: buildTime() }),
              onWarning: (message) => this.warn(message),
            },
            signer,
            { services: resolved.sigstore },
          );
          this.emitFile({ type: 'asset', fileName: resolved.output, source: signed.bundleJson });
          if (resolved.sha256sums) this.emitFile({ type: 'asset', fileName: resolved.sha256sumsPath, source: signed.sha256sums });
        } catch (error) {
          report(this, resolved, error);
        }
      },
    },
  };
  return plugin;
}

async function openKey(
  key: string | undefined,
  services: SigstoreServices | undefined,
  onWarning: (message: string) => void,
): Promise<Signer> {
  if (!key)
    throw new SignetError({
      code: 'E_USAGE',
      message: 'no key: give the plugin a key reference, e.g. signet({ key: "file:signing.key" })',
    });
  return openSigner(key, { onWarning, services });
}

function newBuild(): Build {
  return { folders: new Map() };
}

/** The names of the plugins after `own` whose generateBundle also runs last (order 'post'). */
function pluginsAfter(plugins: readonly Plugin[], own: Plugin): string[] {
  const index = plugins.includes(own) ? plugins.indexOf(own) : plugins.findLastIndex((p) => p.name === own.name);
  return plugins
    .slice(index + 1)
    .filter((p) => typeof p.generateBundle === 'object' && p.generateBundle.order === 'post')
    .map((p) => p.name);
}

/**
 * Fails the build (failOnError) or warns, with the error's code; Rollup and Rolldown put
 * the plugin's name before the message ("[plugin signet] E_KEY_NOT_FOUND: …").
 */
function report(context: Context, options: ResolvedOptions, error: unknown): void {
  // @signet/verify-browser/build depends on no core: its option errors carry only their code.
  const code = isSignetError(error) ? error.code : (error as { code?: unknown } | null)?.code === 'E_USAGE' ? 'E_USAGE' : 'E_INTERNAL';
  // Bundlers print what a plugin reports: no secret a provider repeated may reach the build log.
  const reason = redactSecrets(error instanceof Error ? error.message : String(error));
  if (options.failOnError) context.error(`${code}: ${reason}`);
  context.warn(`${code}: ${reason} (failOnError is false: the build goes on unsigned)`);
}
