// After tsc: the scripts the plugins emit, bundled for the browser by esbuild into dist/:
//   signet-sw.keys.js      the service worker for key-signed builds (the keyless part left out)
//   signet-sw.keyless.js   the same with the keyless part (a service worker cannot import() later)
//   signet-bootstrap.js    the page's bootstrap
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const dist = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const common = {
  bundle: true,
  minify: true,
  format: 'iife',
  platform: 'browser',
  target: 'es2022',
  legalComments: 'none',
  logLevel: 'warning',
};
const noKeyless = {
  name: 'no-keyless',
  setup(b) {
    b.onResolve({ filter: /\/keyless\.js$/ }, () => ({ path: 'keyless', namespace: 'no-keyless' }));
    b.onLoad({ filter: /.*/, namespace: 'no-keyless' }, () => ({
      contents:
        "export async function verifyKeyless() { throw Object.assign(new Error('this worker was built for keys'), { code: 'E_POLICY' }); }",
    }));
  },
};
await build({
  ...common,
  entryPoints: [path.join(dist, 'worker/service-worker.js')],
  outfile: path.join(dist, 'signet-sw.keys.js'),
  plugins: [noKeyless],
});
await build({ ...common, entryPoints: [path.join(dist, 'worker/service-worker.js')], outfile: path.join(dist, 'signet-sw.keyless.js') });
await build({ ...common, entryPoints: [path.join(dist, 'worker/bootstrap.js')], outfile: path.join(dist, 'signet-bootstrap.js') });
