// Runs one real Vite build (or watch, or dev server) of a fixture copy, in its own process:
//   node build.mjs '<spec as JSON>'
// Vite is ESM and heavy; a child process per build keeps it out of jest. The plugin comes
// from '@signet/vite-plugin', i.e. the built dist/, exactly as a user's config loads it.
// The spec:
//   vite       '7' (Rollup) or '8' (Rolldown)
//   root       the fixture copy
//   configFile true: Vite loads root/vite.config.mjs itself (the plugin as that file configures it)
//   signet     otherwise: the plugin's options; the fixture's config is used with this plugin instead
//   config     merged over the fixture's config
//   mode       'build' (default), 'app' (createBuilder + buildApp: every environment),
//              'watch' (prints "@@start" and "@@end N" around each build; closing stdin closes it)
//              or 'serve' (dev server on 127.0.0.1: requests the page, prints "@@status N")
//   spy        a file: registers the key scheme `spy:PATH`, which opens file:PATH and appends
//              a line to this file for each open and each signature
//   spyFails   the spy key opens, but signing fails as a KMS outage would (E_PROVIDER)
//   rewrite    'normal' or 'post': a plugin listed after signet(), with that enforce, appends
//              a comment to every chunk in its generateBundle (order 'post')
// Prints "@@result {json}" on success; a failure goes to stderr and exits 1.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { openSigner, registerProvider, SignetError } from '@signet/core';
import { signet } from '@signet/vite-plugin';

const spec = JSON.parse(process.argv[2]);
const vite = await import(spec.vite === '7' ? 'vite7' : 'vite');

if (spec.spy) {
  const record = (line) => {
    fs.appendFileSync(spec.spy, `${line}\n`);
    if (line === 'sign' && spec.spyFails) throw new SignetError({ code: 'E_PROVIDER', message: 'the key service is unavailable' });
  };
  registerProvider({
    scheme: 'spy',
    async open(ref, options) {
      record('open');
      const signer = await openSigner(`file:${ref.location}`, options);
      return {
        keyId: signer.keyId,
        algorithm: signer.algorithm,
        publicKey: () => signer.publicKey(),
        sign: (data) => {
          record('sign');
          return signer.sign(data);
        },
        ...(signer.signDigest && {
          signDigest: (digest) => {
            record('sign');
            return signer.signDigest(digest);
          },
        }),
      };
    },
  });
}

const rewrite = {
  name: 'rewrite-chunks',
  ...(spec.rewrite === 'post' && { enforce: 'post' }),
  generateBundle: {
    order: 'post',
    handler(_options, bundle) {
      for (const item of Object.values(bundle)) if (item.type === 'chunk') item.code += '\n/* rewritten */\n';
    },
  },
};

async function inlineConfig() {
  const common = { root: spec.root, logLevel: 'warn', clearScreen: false };
  if (spec.configFile) return vite.mergeConfig({ ...common, configFile: path.join(spec.root, 'vite.config.mjs') }, spec.config ?? {});
  const file = path.join(spec.root, 'vite.config.mjs');
  const { plugins: _fixturePlugins, ...fixture } = fs.existsSync(file) ? (await import(pathToFileURL(file).href)).default : {};
  const plugins = [signet(spec.signet), ...(spec.rewrite ? [rewrite] : [])];
  return { ...vite.mergeConfig(fixture, spec.config ?? {}), ...common, configFile: false, plugins };
}

const config = await inlineConfig();
try {
  if (spec.mode === 'app') {
    const builder = await vite.createBuilder({ ...config, builder: {} });
    await builder.buildApp();
  } else if (spec.mode === 'watch') {
    // A short build delay folds an editor's two events for one save (truncate, write) into one
    // rebuild, as a developer's watcher would, so the number of builds does not depend on load.
    const watcher = await vite.build(vite.mergeConfig(config, { build: { watch: { buildDelay: 200 } } }));
    let builds = 0;
    watcher.on('event', (event) => {
      if (event.code === 'START') console.log('@@start');
      if (event.code === 'END') console.log(`@@end ${++builds}`);
      if (event.code === 'ERROR') console.log(`@@error ${event.error.message}`);
    });
    process.stdin.resume().once('end', () => watcher.close());
    await new Promise((resolve) => watcher.on('close', resolve));
  } else if (spec.mode === 'serve') {
    const server = await vite.createServer({ ...config, server: { host: '127.0.0.1', port: 0, strictPort: false, hmr: false } });
    await server.listen();
    const { port } = server.httpServer.address();
    const response = await fetch(`http://127.0.0.1:${port}/`);
    const page = await response.text();
    const script = await fetch(`http://127.0.0.1:${port}/src/main.js`);
    await server.close();
    console.log(`@@status ${response.status} ${script.status} ${page.includes('Signed with Signet')}`);
  } else {
    await vite.build(config);
  }
} catch (error) {
  console.error(`@@failed ${error.message}`);
  process.exit(1);
}
console.log('@@result ok');
