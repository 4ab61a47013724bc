// Bundles the `signet` command into one file, dist/signet.cjs (signet-conformance into its own).
// `signet verify` runs in deploy steps and admission paths where start-up is the cost: one file loads faster than
// the ~100 small modules it is made of (see BENCHMARKS.md, cold start). What only signing,
// prompting or a key provider needs stays outside and loads on first use.
import { build } from 'esbuild';

const options = {
  bundle: true,
  platform: 'node',
  target: 'node20.19',
  format: 'cjs',
  sourcemap: true,
  legalComments: 'linked',
  logLevel: 'warning',
  external: [
    // Signing and keyless (make-fetch-happen, Fulcio/Rekor clients): loaded by `sign` only.
    '@sigstore/sign',
    '@sigstore/sign/*',
    // Fetching the public-good trusted root through TUF: only for keyless verification.
    '@sigstore/tuf',
    '@sigstore/tuf/*',
    'tuf-js',
    'tuf-js/*',
    // Large-file ECDSA and RSA-PSS, the passphrase prompt and progress bars: on demand.
    '@noble/curves',
    '@noble/curves/*',
    'node-forge',
    'read',
    'cli-progress',
    // Reading and checking gate policies (YAML, JSON Schema): only for `signet gate`.
    'yaml',
    'ajv',
    // npm publishing and verification: only for `signet npm`.
    '@signet/npm',
    // Lambda packaging and deploys (yazl, the AWS SDK clients): only for `signet lambda`.
    '@signet/lambda',
    // Registries and container images: only for `signet image` and `signet policy export`.
    '@signet/oci',
    // Watching logs and npm: only for `signet monitor`.
    '@signet/monitor',
  ],
};
await build({ ...options, entryPoints: ['src/main.ts'], outfile: 'dist/signet.cjs' });
// The sigstore-conformance protocol's entrypoint (signet-conformance): the same verifier, its own arguments.
await build({ ...options, entryPoints: ['src/conformance.ts'], outfile: 'dist/signet-conformance.cjs' });
