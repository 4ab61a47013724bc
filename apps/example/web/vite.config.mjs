// The store's web app: every file of the build signed as one manifest with the release key
// (held in AWS KMS), at dist/.well-known/signet/manifest.sigstore.json.
import { fileURLToPath } from 'node:url';
import { signet } from '@signet/vite-plugin';

export default {
  root: fileURLToPath(new URL('.', import.meta.url)),
  logLevel: 'warn',
  resolve: { alias: { '@acme/greet': fileURLToPath(new URL('../library/index.js', import.meta.url)) } },
  build: { sourcemap: true, outDir: process.env.EXAMPLE_WEB_OUT, emptyOutDir: true },
  plugins: [signet({ key: process.env.SIGNET_KEY })],
};
