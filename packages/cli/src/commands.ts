import { GENERATED_ALGORITHMS } from '@signet/core';
import type { CommandSpec, OptionSpec } from './command-line';

type Action = (positionals: string[], options: Record<string, unknown>) => Promise<number | undefined>;

/** Loads a command's module when it runs, so `signet verify` never pays for `signet sign`. */
function lazy(load: () => Record<string, unknown>, name: string): Action {
  return (positionals, options) => (load()[name] as Action)(positionals, options);
}

const json: OptionSpec = { type: 'boolean', description: 'print the result as JSON on stdout' };

/** What a verifying command trusts. */
const trustOptions: Record<string, OptionSpec> = {
  key: {
    type: 'string',
    valueName: 'ref',
    multiple: true,
    description: 'public key to trust: a PEM file or a key reference; repeat for "any of these keys"',
  },
  'certificate-identity': { type: 'string', valueName: 'id', description: 'keyless: the exact identity (certificate SAN) to trust' },
  'certificate-identity-regexp': { type: 'string', valueName: 're', description: 'keyless: a pattern the whole identity must match' },
  'certificate-oidc-issuer': { type: 'string', valueName: 'url', description: 'keyless: the exact OIDC issuer to trust' },
  'certificate-oidc-issuer-regexp': { type: 'string', valueName: 're', description: 'keyless: a pattern the whole issuer must match' },
  'github-repository': {
    type: 'string',
    valueName: 'owner/repo',
    description: "keyless: trust GitHub Actions workflows run by this repository (its certificates' source repository)",
  },
  'github-ref': { type: 'string', valueName: 'ref', description: 'with --github-repository: only runs at this ref, e.g. refs/tags/v1.2.0' },
  'github-workflow-repository': {
    type: 'string',
    valueName: 'owner/repo',
    description: 'with --github-repository: the workflow file is defined in this repository (a reusable workflow; default: the same one)',
  },
  'trusted-root': {
    type: 'string',
    valueName: 'file',
    description: 'a Sigstore trusted_root.json (default: public-good, through TUF)',
  },
  'tuf-mirror': { type: 'string', valueName: 'url', description: 'fetch trusted_root.json from this TUF repository' },
  'tuf-root': { type: 'string', valueName: 'file', description: "the TUF repository's initial root.json" },
  offline: { type: 'boolean', description: 'do not refresh the public-good trusted root; use the copy shipped with Signet' },
  'tlog-threshold': { type: 'string', valueName: 'n', description: 'transparency-log entries required (default 1 keyless, 0 with a key)' },
  'timestamp-threshold': { type: 'string', valueName: 'n', description: 'trusted timestamps required (default 1 keyless, 0 with a key)' },
  'ctlog-threshold': { type: 'string', valueName: 'n', description: 'certificate-transparency SCTs required (default 1)' },
  json,
};

/** Where a signature is made and witnessed. */
const signingOptions: Record<string, OptionSpec> = {
  key: {
    type: 'string',
    valueName: 'ref',
    required: true,
    description: 'signing key: file:PATH, env:NAME, a KMS URI (a plain path means file:), or keyless',
  },
  'identity-token': {
    type: 'string',
    valueName: 'jwt',
    description: 'keyless: the OIDC token (default: SIGSTORE_ID_TOKEN or GitHub Actions)',
  },
  'fulcio-url': { type: 'string', valueName: 'url', description: 'keyless: a private Fulcio (default: public-good)' },
  'rekor-url': { type: 'string', valueName: 'url', description: 'a private Rekor (default: public-good)' },
  'tsa-url': { type: 'string', valueName: 'url', description: 'add an RFC 3161 timestamp from this TSA' },
  'signing-config': {
    type: 'string',
    valueName: 'file',
    description: "a Sigstore signing config (or ClientTrustConfig) naming Fulcio, Rekor and TSA (default: the TUF repository's)",
  },
  'rekor-version': {
    type: 'string',
    valueName: 'n',
    choices: ['1', '2'],
    description: 'log in a Rekor of this API version only (default: the newest the signing config offers)',
  },
  'tuf-mirror': {
    type: 'string',
    valueName: 'url',
    description: 'read signing_config.v0.2.json from this TUF repository (default: public-good)',
  },
  'tuf-root': { type: 'string', valueName: 'file', description: "the TUF repository's initial root.json" },
  'tlog-upload': { type: 'boolean', description: 'record a key signature in Rekor too (keyless always is)' },
  ledger: {
    type: 'string',
    valueName: 'file',
    description: 'append what is signed (log entry, digest, signer) to this ledger for signet monitor (default: SIGNET_LEDGER)',
  },
};

/** How a command reaches registries. */
const registryOptions: Record<string, OptionSpec> = {
  'allow-http-registry': { type: 'boolean', description: 'speak plain HTTP to the registry (loopback registries always may)' },
  json,
};

const EXIT_STATUS = 'Exit status: 0 verified, 1 verification failed, 2 bad input, 3 a provider failed.';

export const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'key generate',
    summary: 'create a key pair: an encrypted PKCS#8 PEM file (and its .pub), or a key in a KMS',
    args: [],
    options: {
      key: { type: 'string', valueName: 'ref', required: true, description: 'where to create the key, e.g. file:signing.key' },
      algorithm: {
        type: 'string',
        valueName: 'name',
        choices: Object.keys(GENERATED_ALGORITHMS),
        default: 'ecdsa-p256',
        description: 'key algorithm (a KMS offers a subset)',
      },
      force: { type: 'boolean', description: 'replace an existing key file' },
    },
    help: `
The passphrase comes from SIGNET_PASSWORD or, on a terminal, a prompt.
SIGNET_PASSWORD="" writes an unencrypted key (with a warning).

Example:
  $ SIGNET_PASSWORD=… signet key generate --key file:signing.key
  wrote signing.key (mode 0600) and signing.pub`,
    run: lazy(() => require('./commands/key'), 'generateKey'),
  },
  {
    name: 'key public',
    summary: 'print the public key (PEM) of a key reference',
    args: [],
    options: {
      key: { type: 'string', valueName: 'ref', required: true, description: 'the key: a file, env: variable or KMS URI' },
      output: { type: 'string', valueName: 'file', description: 'write the PEM to a file instead of stdout' },
    },
    help: '\nExample:\n  $ signet key public --key file:signing.key > signing.pub',
    run: lazy(() => require('./commands/key'), 'publicKey'),
  },
  {
    name: 'sign',
    summary: 'sign artifacts, writing a Sigstore bundle beside each',
    args: [{ name: 'artifact', description: 'files to sign', variadic: true }],
    options: {
      ...signingOptions,
      bundle: {
        type: 'string',
        valueName: 'file',
        description: 'where to write the bundle (one artifact only; default ARTIFACT.sigstore.json)',
      },
      json,
    },
    help: `
Examples:
  $ signet sign dist/app.tgz --key file:signing.key
  wrote dist/app.tgz.sigstore.json
  $ signet sign dist/app.tgz --key keyless          # in CI: OIDC token → Fulcio → Rekor
  $ signet sign dist/app.tgz --key awskms:///alias/release --tlog-upload`,
    run: lazy(() => require('./commands/sign'), 'sign'),
  },
  {
    name: 'verify',
    summary: 'verify an artifact (a file or sha256:HEX) against its Sigstore bundle',
    args: [{ name: 'artifact', description: 'the file, or its digest as sha256:HEX' }],
    options: {
      bundle: { type: 'string', valueName: 'file', description: 'the bundle (default ARTIFACT.sigstore.json)' },
      ...trustOptions,
    },
    help: `
${EXIT_STATUS}

Examples:
  $ signet verify dist/app.tgz --key signing.pub
  $ signet verify sha256:4b1c… --bundle app.tgz.sigstore.json --key old.pub --key new.pub
  $ signet verify app.tgz --certificate-identity https://github.com/o/r/.github/workflows/release.yml@refs/tags/v1.0.0 \\
      --certificate-oidc-issuer https://token.actions.githubusercontent.com
  $ signet verify app.tgz --github-repository o/r --github-ref refs/tags/v1.0.0`,
    run: lazy(() => require('./commands/verify'), 'verify'),
  },
  {
    name: 'attest',
    summary: 'sign an in-toto attestation (SBOM, provenance, VEX, …) about one or more files',
    args: [{ name: 'subject', description: 'the files the attestation is about', variadic: true }],
    options: {
      predicate: { type: 'string', valueName: 'file', required: true, description: 'the predicate JSON (e.g. an SBOM)' },
      type: {
        type: 'string',
        valueName: 'type',
        required: true,
        description: 'cyclonedx, spdx, slsaprovenance (SLSA v1), openvex, or a predicate type URI',
      },
      ...signingOptions,
      bundle: { type: 'string', valueName: 'file', description: 'where to write the bundle (default SUBJECT.<type>.sigstore.json)' },
      json,
    },
    help: '\nExample:\n  $ signet attest dist/app.tgz --predicate sbom.cdx.json --type cyclonedx --key file:signing.key\n  wrote dist/app.tgz.cyclonedx.sigstore.json',
    run: lazy(() => require('./commands/attest'), 'attest'),
  },
  {
    name: 'verify-attestation',
    summary: 'verify an attestation bundle about a file and check its predicate type',
    args: [{ name: 'subject', description: 'the file (or sha256:HEX) the attestation must be about' }],
    options: {
      bundle: { type: 'string', valueName: 'file', required: true, description: 'the attestation bundle' },
      type: {
        type: 'string',
        valueName: 'type',
        required: true,
        description: 'the predicate type required: cyclonedx, spdx, slsaprovenance, openvex or a URI',
      },
      ...trustOptions,
    },
    help: `
${EXIT_STATUS}

Example:
  $ signet verify-attestation dist/app.tgz --bundle dist/app.tgz.cyclonedx.sigstore.json --type cyclonedx --key signing.pub --json`,
    run: lazy(() => require('./commands/verify'), 'verifyAttestation'),
  },
  {
    name: 'bundle inspect',
    summary: 'show what a Sigstore bundle contains: content, signer, log entries, timestamps (verifies nothing)',
    args: [{ name: 'bundle', description: 'the bundle file, e.g. app.tgz.sigstore.json' }],
    options: { json },
    help: `
Reads the bundle as signet verify does (the same errors for a file that is not one) and prints
what it claims: the signed content (a digest, or a DSSE envelope and its in-toto statement), the
signer (a key hint, or a certificate's identity, OIDC issuer and Fulcio extensions), each
transparency-log entry and each RFC 3161 timestamp. Nothing is checked, no trusted root is
needed and nothing is fetched: use signet verify to rely on any of it.

Examples:
  $ signet bundle inspect dist/app.tgz.sigstore.json
  $ signet bundle inspect provenance.sigstore.json --json | jq .signer.extensions`,
    run: lazy(() => require('./commands/bundle'), 'inspectBundle'),
  },
  {
    name: 'sign-dir',
    summary: 'sign every file of a folder (a build output) as one manifest bundle',
    args: [{ name: 'dir', description: 'the folder' }],
    options: {
      ...signingOptions,
      output: {
        type: 'string',
        valueName: 'path',
        description: 'where the bundle goes, inside the folder (default .well-known/signet/manifest.sigstore.json)',
      },
      sha256sums: { type: 'boolean', description: 'also write a plain SHA256SUMS beside the bundle' },
      include: { type: 'string', valueName: 'glob', multiple: true, description: 'sign only files matching' },
      exclude: { type: 'string', valueName: 'glob', multiple: true, description: 'leave out files matching' },
      provenance: { type: 'boolean', description: 'sign SLSA provenance v1 (with the lockfile digest) instead of the manifest predicate' },
      json,
    },
    help: '\nExample:\n  $ signet sign-dir dist --key file:signing.key\n  signed 42 files of dist: wrote .well-known/signet/manifest.sigstore.json',
    run: lazy(() => require('./commands/directory'), 'signDir'),
  },
  {
    name: 'verify-dir',
    summary: 'verify a folder against its signed manifest: every file, no file missing, no file added',
    args: [{ name: 'dir', description: 'the folder (a deployed build)' }],
    options: {
      bundle: {
        type: 'string',
        valueName: 'file',
        description: 'the manifest bundle (default DIR/.well-known/signet/manifest.sigstore.json)',
      },
      'allow-extra': { type: 'string', valueName: 'glob', multiple: true, description: 'extra files that are not a failure' },
      ...trustOptions,
    },
    help: `
An extra file is a failure (an added script is an attack) unless --allow-extra names it.
${EXIT_STATUS}

Examples:
  $ signet verify-dir dist --key signing.pub
  $ signet verify-dir /srv/www --key signing.pub --allow-extra 'uploads/**' --json`,
    run: lazy(() => require('./commands/directory'), 'verifyDir'),
  },
  {
    name: 'gate',
    summary: 'deploy gate: check artifacts against a policy of who must have signed what; exit 1 if any fails',
    args: [{ name: 'artifact', description: 'files and folders to check (a folder is a web build)', variadic: true }],
    options: {
      policy: { type: 'string', valueName: 'file', required: true, description: 'the gate policy (YAML or JSON)' },
      'trusted-root': trustOptions['trusted-root'] as OptionSpec,
      offline: trustOptions.offline as OptionSpec,
      json,
    },
    help: `
Each artifact is checked against the first rule of the policy that covers it (by kind and path
glob): its signature (ARTIFACT.sigstore.json beside it, or a folder's signed manifest), the
signer, a transparency-log entry if the rule requires one, and the attestations it requires
(ARTIFACT.<type>.sigstore.json beside it). An artifact no rule covers fails. See docs/gate.md.
Exit status: 0 all passed, 1 any failed, 2 bad policy or usage, 3 a provider failed.

Examples:
  $ signet gate --policy deploy-policy.yaml dist build/function.zip app-1.2.0.tgz
  $ signet gate --policy deploy-policy.yaml --json release/*.zip release/*.tgz > gate-report.json`,
    run: lazy(() => require('./commands/gate'), 'gate'),
  },
  {
    name: 'image sign',
    summary: 'sign a container image by digest, as cosign does, and attach the signature in its registry',
    args: [{ name: 'image', description: 'REGISTRY/REPOSITORY@sha256:DIGEST (a tag only with --resolve)' }],
    options: {
      ...signingOptions,
      resolve: { type: 'boolean', description: 'accept a tag: resolve it once, print the digest, and sign only that digest' },
      format: {
        type: 'string',
        valueName: 'format',
        choices: ['bundle', 'legacy', 'both'],
        default: 'bundle',
        description: "bundle: cosign v3's OCI referrer; legacy: cosign's sha256-<hex>.sig; both",
      },
      recursive: { type: 'boolean', description: 'for a multi-platform index: also sign each platform manifest' },
      ...registryOptions,
    },
    help: `
The signature is a Sigstore bundle (a DSSE in-toto statement naming the digest) pushed as an
OCI 1.1 referrer; on a registry without the referrers API it is listed in the sha256-<hex>
index. Registry credentials come from ~/.docker/config.json (docker login), or from
SIGNET_REGISTRY_USERNAME and SIGNET_REGISTRY_PASSWORD for the registry SIGNET_REGISTRY_HOST
names. Prints the image by digest.
Exit status: 0 signed, 2 bad input (a tag without --resolve), 3 the registry or key provider failed.

Examples:
  $ signet image sign ghcr.io/acme/shop@sha256:4f1c… --key awskms:///alias/release
  $ signet image sign ghcr.io/acme/shop:1.4.2 --resolve --recursive --key keyless`,
    run: lazy(() => require('./commands/image'), 'imageSign'),
  },
  {
    name: 'image verify',
    summary: "verify a container image's signatures in its registry (cosign v3 bundles and legacy .sig)",
    args: [{ name: 'image', description: 'REGISTRY/REPOSITORY[:TAG][@sha256:DIGEST]' }],
    options: {
      ...trustOptions,
      policy: {
        type: 'string',
        valueName: 'file',
        description: "judge by a gate policy's kind: image rules (as the admission webhook does)",
      },
      ...registryOptions,
    },
    help: `
Finds the image's signatures (referrers API, the sha256-<hex> index, and legacy .sig), checks
each one names this digest, and reports who signed. Other tools' referrers are ignored. A tag
is resolved once and the digest printed. REPO:TAG@DIGEST of a platform manifest also accepts a
signature on the index the tag names.
${EXIT_STATUS}

Examples:
  $ signet image verify ghcr.io/acme/shop@sha256:4f1c… --key release.pub
  $ signet image verify ghcr.io/acme/shop:1.4.2 --policy deploy/gate-policy.yaml`,
    run: lazy(() => require('./commands/image'), 'imageVerify'),
  },
  {
    name: 'image attest',
    summary: 'attach a signed attestation (SBOM, SLSA provenance, OpenVEX) to a container image',
    args: [{ name: 'image', description: 'REGISTRY/REPOSITORY@sha256:DIGEST (a tag only with --resolve)' }],
    options: {
      ...signingOptions,
      predicate: { type: 'string', valueName: 'file', required: true, description: 'the predicate (JSON): an SBOM, provenance, VEX' },
      type: { type: 'string', valueName: 'type', required: true, description: 'cyclonedx, spdx, slsaprovenance, openvex, … or a URI' },
      resolve: { type: 'boolean', description: 'accept a tag: resolve it once and attest that digest' },
      recursive: { type: 'boolean', description: 'for a multi-platform index: also attest each platform manifest' },
      ...registryOptions,
    },
    help: `
Example:
  $ signet image attest ghcr.io/acme/shop@sha256:4f1c… --predicate sbom.cdx.json --type cyclonedx --key release.key`,
    run: lazy(() => require('./commands/image'), 'imageAttest'),
  },
  {
    name: 'image verify-attestation',
    summary: "verify a container image's attestations of one predicate type; print their statements",
    args: [{ name: 'image', description: 'REGISTRY/REPOSITORY[:TAG][@sha256:DIGEST]' }],
    options: {
      ...trustOptions,
      type: {
        type: 'string',
        valueName: 'type',
        required: true,
        description: 'the predicate type: cyclonedx, spdx, slsaprovenance, … or a URI',
      },
      ...registryOptions,
    },
    help: `
${EXIT_STATUS}

Example:
  $ signet image verify-attestation ghcr.io/acme/shop@sha256:4f1c… --type cyclonedx --key release.pub`,
    run: lazy(() => require('./commands/image'), 'imageVerifyAttestation'),
  },
  {
    name: 'image copy',
    summary: 'copy a container image with its signatures and attestations, keeping every digest',
    args: [
      { name: 'source', description: 'REGISTRY/REPOSITORY[:TAG][@sha256:DIGEST]' },
      { name: 'destination', description: 'REGISTRY/REPOSITORY[:TAG] (default: the source tag)' },
    ],
    options: { ...registryOptions },
    help: `
A mirror that copies only the image loses its signatures. This copies the manifest (every
platform of an index), its blobs, each manifest's referrers, and cosign's .sig/.att/.sbom tags.

Example:
  $ signet image copy ghcr.io/acme/shop:1.4.2 registry.internal:5000/mirror/shop`,
    run: lazy(() => require('./commands/image'), 'imageCopy'),
  },
  {
    name: 'policy export',
    summary: "turn a gate policy's image rules into a Kyverno ImageValidatingPolicy or a Sigstore ClusterImagePolicy",
    args: [{ name: 'policy', description: 'the gate policy (YAML or JSON)' }],
    options: {
      kyverno: { type: 'boolean', description: 'a Kyverno ImageValidatingPolicy (policies.kyverno.io/v1, Kyverno 1.19 and later)' },
      'kyverno-clusterpolicy': {
        type: 'boolean',
        description: 'a Kyverno ClusterPolicy (verifyImages, type SigstoreBundle), for Kyverno before 1.20',
      },
      'policy-controller': { type: 'boolean', description: 'Sigstore policy-controller ClusterImagePolicies' },
      name: { type: 'string', valueName: 'name', description: 'the exported policy name (default signet-images)' },
      namespace: {
        type: 'string',
        valueName: 'namespace',
        description: 'with --kyverno: a NamespacedImageValidatingPolicy for this namespace only',
      },
      format: {
        type: 'string',
        valueName: 'format',
        choices: ['bundle', 'legacy'],
        description: 'the signature format the images are signed in (default bundle; an ImageValidatingPolicy reads both)',
      },
      out: { type: 'string', valueName: 'file', description: 'write the YAML to this file (default: stdout)' },
    },
    help: `
What the other controller cannot express (key validity windows, for one) is printed as a
warning on stderr. See docs/policy-export.md.

Examples:
  $ signet policy export deploy/gate-policy.yaml --kyverno > kyverno-policy.yaml
  $ signet policy export deploy/gate-policy.yaml --kyverno --namespace shop --out shop-policy.yaml
  $ signet policy export deploy/gate-policy.yaml --kyverno-clusterpolicy > kyverno-1.17-policy.yaml
  $ signet policy export deploy/gate-policy.yaml --policy-controller --out cip.yaml`,
    run: lazy(() => require('./commands/policy'), 'policyExport'),
  },
  {
    name: 'npm publish',
    summary: 'pack a package, sign the exact tarball, and publish that tarball with npm',
    args: [{ name: 'dir', description: 'the package folder (default .), or the workspace root with --workspaces', optional: true }],
    options: {
      ...signingOptions,
      key: { ...signingOptions.key, required: false } as OptionSpec,
      workspaces: { type: 'boolean', description: 'every public workspace package whose version is not on the registry yet' },
      'dry-run': { type: 'boolean', description: 'pack and show what would be signed and published; sign and publish nothing' },
      tag: { type: 'string', valueName: 'tag', description: 'npm publish --tag' },
      access: { type: 'string', valueName: 'level', choices: ['public', 'restricted'], description: 'npm publish --access' },
      otp: { type: 'string', valueName: 'code', description: 'npm publish --otp' },
      provenance: { type: 'boolean', description: "npm publish --provenance (npm's own provenance, in GitHub Actions or GitLab CI)" },
      registry: { type: 'string', valueName: 'url', description: 'npm publish --registry' },
      'npm-arg': { type: 'string', valueName: 'arg', multiple: true, description: 'any other argument for npm publish' },
      'allow-secret': {
        type: 'string',
        valueName: 'path',
        multiple: true,
        description: 'publish this file of the package although it looks like a private key or credential',
      },
      json,
    },
    help: `
A tarball that holds a private key or a credential (a PEM private key, a *.key, *.p12 or *.pfx
file, an SSH key, an .env file that sets values, an .npmrc with a token) is refused, dry run or
not, naming each such file; --allow-secret PATH publishes one anyway.

The tarball npm packs (prepack and prepare scripts run) is signed as an in-toto statement
whose subject is pkg:npm/NAME@VERSION with the tarball's sha512, the way npm provenance names
it; NAME-VERSION.tgz.sigstore.json is written beside it, then that tarball is published. If
signing fails nothing is published. Put "prepublishOnly": "signet npm guard" in package.json
to refuse a plain npm publish.

Examples:
  $ signet npm publish --key awskms:///alias/release
  $ signet npm publish . --workspaces --key file:signing.key --access public
  $ signet npm publish --dry-run`,
    run: lazy(() => require('./commands/npm'), 'npmPublish'),
  },
  {
    name: 'npm verify',
    summary: "verify packages from the registry: the maintainer's signature, npm's signatures and provenance",
    args: [{ name: 'spec', description: 'NAME@VERSION (or a range or tag); or give --lockfile', variadic: true, optional: true }],
    options: {
      lockfile: { type: 'string', valueName: 'file', description: 'every registry package of a package-lock.json, in parallel' },
      policy: {
        type: 'string',
        valueName: 'file',
        description:
          'a JSON policy: keys, identities, requireSignature, requireProvenance, packages (rules by name), minReleaseAge, trustOnFirstUse',
      },
      registry: { type: 'string', valueName: 'url', description: "the registry (default: npm's configured registry)" },
      'min-release-age': {
        type: 'string',
        valueName: 'duration',
        description: 'a version published less than this long ago fails (a cooldown): 3d, 12h, 30m, 2w',
      },
      'min-release-age-exclude': {
        type: 'string',
        valueName: 'name',
        multiple: true,
        description: 'exempt from --min-release-age: a package name (a glob) or NAME@VERSION',
      },
      'trust-on-first-use': {
        type: 'string',
        valueName: 'file',
        description: "record each package's provenance identity in FILE (commit it); a later version from another identity fails",
      },
      bundle: { type: 'string', valueName: 'file', description: "the maintainer's bundle for the package" },
      'bundle-dir': { type: 'string', valueName: 'dir', description: 'a folder of NAME-VERSION.tgz.sigstore.json bundles' },
      'require-provenance': { type: 'boolean', description: 'a package without valid npm provenance fails' },
      'allow-unsigned': { type: 'boolean', description: "check integrity and npm's signatures only; a Signet signature is not required" },
      'require-signature': {
        type: 'string',
        valueName: 'name',
        multiple: true,
        description:
          'require a Signet signature only of the packages this name (a glob, e.g. @my-org/*) matches; the rest as --allow-unsigned',
      },
      concurrency: {
        type: 'string',
        valueName: 'n',
        default: '8',
        description: 'packages verified at once on each thread with --lockfile',
      },
      threads: {
        type: 'string',
        valueName: 'n',
        description: 'worker threads a --lockfile tree is verified on (default: one per core; 1: this thread only)',
      },
      'bundle-host': {
        type: 'string',
        valueName: 'host',
        multiple: true,
        description: "a host a package's signet.bundle URL may point to, besides the registry's own",
      },
      'allow-unverified': {
        type: 'string',
        valueName: 'name',
        multiple: true,
        description: 'with --lockfile: accept this installed package (a glob) that has no registry release, e.g. a workspace link',
      },
      ...trustOptions,
    },
    help: `
Each tarball is checked against the registry's dist.integrity (and the lockfile's), the
maintainer's Signet bundle under the policy (found with --bundle, --bundle-dir, or at the URL
its package.json's signet.bundle names), the registry's signature and npm's provenance and
publish attestations when the registry serves them. A policy file's "packages" rules say, by
package name, where provenance must come from (repository, workflow, ref) and which signatures
are required; --min-release-age refuses versions published too recently; --trust-on-first-use
fails a package whose provenance identity changed since it was recorded.
${EXIT_STATUS}

Examples:
  $ signet npm verify left-pad@1.3.0 --key maintainer.pub --bundle-dir releases/
  $ signet npm verify --lockfile package-lock.json --policy signet-policy.json
  $ signet npm verify --lockfile package-lock.json --allow-unsigned --min-release-age 3d --trust-on-first-use .signet/npm-identities.json`,
    run: lazy(() => require('./commands/npm'), 'npmVerify'),
  },
  {
    name: 'npm guard',
    summary: 'for prepublishOnly: refuse a plain npm publish (signet npm publish runs no scripts)',
    args: [],
    options: {},
    help: '\nIn package.json: "scripts": { "prepublishOnly": "signet npm guard" }',
    run: lazy(() => require('./commands/npm'), 'npmGuard'),
  },
  {
    name: 'monitor',
    summary: 'watch transparency logs and npm for signatures and publishes made as you that your ledger does not hold',
    args: [],
    options: {
      config: {
        type: 'string',
        valueName: 'file',
        required: true,
        description: 'monitor.yaml: the logs, whose entries to watch, the npm packages',
      },
      state: { type: 'string', valueName: 'file', description: "where the last run stopped (default: the config's state)" },
      ledger: { type: 'string', valueName: 'file', description: "what you signed, as --ledger wrote it (default: the config's ledger)" },
      since: {
        type: 'string',
        valueName: 'index|date',
        description: 'where a log or package seen for the first time starts (default: now): a log index, or a date (Rekor v1 and npm)',
      },
      'trusted-root': trustOptions['trusted-root'] as OptionSpec,
      'tuf-mirror': trustOptions['tuf-mirror'] as OptionSpec,
      'tuf-root': trustOptions['tuf-root'] as OptionSpec,
      offline: trustOptions.offline as OptionSpec,
      json,
    },
    help: `
Each log's checkpoint is verified with its key from the trusted root and proven consistent with
the last one seen (Rekor v1: its consistency proof; Rekor v2: the new entries appended to the
stored compact range give its root); every new entry is read and matched. A watched identity,
extension or key in an entry your ledger does not hold is an alert; so are a fork, a checkpoint
that does not verify and a log that stopped growing. npm: a version not in the ledger, a version
without provenance where the package has had it, provenance by an unexpected identity.
One line per alert on stdout (or --json). See docs/monitor.md.
Exit status: 0 nothing unexpected, 1 alerts, 2 bad config, 3 a log or registry could not be read.

Examples:
  $ signet monitor --config monitor.yaml
  $ signet monitor --config monitor.yaml --since 2026-12-01 --json`,
    run: lazy(() => require('./commands/monitor'), 'monitor'),
  },
  {
    name: 'lambda package',
    summary: 'zip a function or layer folder deterministically (same tree, same bytes); sign it with --key',
    args: [{ name: 'dir', description: 'the folder to package' }],
    options: {
      out: { type: 'string', valueName: 'zip', required: true, description: 'the zip to write, e.g. function.zip' },
      ...signingOptions,
      key: { ...signingOptions.key, required: false, description: 'also sign the zip (ZIP.sigstore.json beside it)' } as OptionSpec,
      include: { type: 'string', valueName: 'glob', multiple: true, description: 'package only files matching' },
      exclude: { type: 'string', valueName: 'glob', multiple: true, description: 'leave out files matching' },
      json,
    },
    help: `
Entries are sorted, dated 1980-01-01 and given mode 0644 or 0755 (executable), so the zip's
sha256 depends only on the files' paths, contents and executable bits.

Example:
  $ signet lambda package build/ --out function.zip --key awskms:///alias/lambda-release`,
    run: lazy(() => require('./commands/lambda'), 'lambdaPackage'),
  },
  {
    name: 'lambda verify',
    summary: 'verify a Lambda zip against its bundle (ZIP.sigstore.json)',
    args: [{ name: 'zip', description: 'the function or layer zip' }],
    options: { bundle: { type: 'string', valueName: 'file', description: 'the bundle (default ZIP.sigstore.json)' }, ...trustOptions },
    help: `\n${EXIT_STATUS}\n\nExample:\n  $ signet lambda verify function.zip --key lambda-release.pub`,
    run: lazy(() => require('./commands/lambda'), 'lambdaVerify'),
  },
  {
    name: 'lambda deploy',
    summary: 'verify a Lambda zip, then upload exactly those bytes (UpdateFunctionCode or PublishLayerVersion)',
    args: [{ name: 'zip', description: 'the function or layer zip' }],
    options: {
      function: { type: 'string', valueName: 'name', description: 'the function to update' },
      layer: { type: 'string', valueName: 'name', description: 'the layer to publish a version of' },
      publish: { type: 'boolean', description: 'publish a new function version' },
      'signing-profile': {
        type: 'string',
        valueName: 'name',
        description: 'deploy through this AWS Signer profile (for Enforce code signing)',
      },
      bucket: { type: 'string', valueName: 'name', description: 'with --signing-profile: the versioned S3 bucket Signer signs from' },
      bundle: { type: 'string', valueName: 'file', description: 'the bundle (default ZIP.sigstore.json)' },
      ...trustOptions,
    },
    help: `
A zip that fails verification is never uploaded. AWS credentials and region come from the SDK's
default chain (AWS_PROFILE, AWS_REGION, ...).
${EXIT_STATUS}

Examples:
  $ signet lambda deploy function.zip --function checkout --key lambda-release.pub
  $ signet lambda deploy function.zip --function checkout --key lambda-release.pub --signing-profile release --bucket acme-lambda-code`,
    run: lazy(() => require('./commands/lambda'), 'lambdaDeploy'),
  },
];

export const OVERVIEW_FOOTER = `
Examples:
  $ signet key generate --key file:signing.key
  $ signet sign app.tgz --key file:signing.key
  $ signet verify app.tgz --key signing.pub

Run signet <command> --help for a command's flags and examples.
Exit status: 0 ok, 1 verification failed, 2 bad usage or input, 3 a provider failed.`;
