import { GENERATED_ALGORITHMS, SignetError } from '@signet/core';
import { Command, CommanderError, Option } from 'commander';
import { EXIT, reportError } from './output';

const VERSION: string = require('../package.json').version;

/** Flags shared by every command that verifies: what to trust. */
function trustOptions(command: Command): Command {
  return command
    .option('--key <ref>', 'public key to trust: a PEM file or a key reference (repeat for "any of these keys")', collect, [])
    .option('--certificate-identity <id>', 'keyless: the exact identity (certificate SAN) to trust')
    .option('--certificate-identity-regexp <re>', 'keyless: a pattern the whole identity must match')
    .option('--certificate-oidc-issuer <url>', 'keyless: the exact OIDC issuer to trust')
    .option('--certificate-oidc-issuer-regexp <re>', 'keyless: a pattern the whole OIDC issuer must match')
    .option('--trusted-root <file>', 'a Sigstore trusted_root.json for certificates, logs and timestamps')
    .option('--json', 'print the result as JSON on stdout');
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function createProgram(): Command {
  const program = new Command('signet')
    .description('Sign and verify software artifacts as standard Sigstore bundles.')
    .version(VERSION, '-v, --version')
    .addHelpText(
      'after',
      `
Examples:
  $ signet key generate --key file:signing.key
  $ signet sign app.tgz --key file:signing.key
  $ signet verify app.tgz --key signing.pub

Exit status: 0 ok, 1 verification failed, 2 bad usage or input, 3 a provider failed.`,
    )
    .showHelpAfterError(false)
    .configureOutput({ outputError: () => undefined })
    .exitOverride();

  const key = program
    .command('key')
    .description('create keys and export public keys')
    .addHelpText('after', '\nExample:\n  $ signet key generate --key file:signing.key && signet key public --key file:signing.key');
  key
    .command('generate')
    .description('create a key pair: an encrypted PKCS#8 PEM file (and its .pub), or a key in a KMS')
    .requiredOption('--key <ref>', 'where to create the key, e.g. file:signing.key or awskms:///alias/release')
    .addOption(new Option('--algorithm <name>', 'key algorithm').choices(Object.keys(GENERATED_ALGORITHMS)).default('ecdsa-p256'))
    .option('--force', 'replace an existing key file')
    .addHelpText(
      'after',
      `
The passphrase comes from SIGNET_PASSWORD or, on a terminal, a prompt.
SIGNET_PASSWORD="" writes an unencrypted key (with a warning).

Example:
  $ SIGNET_PASSWORD=… signet key generate --key file:signing.key
  wrote signing.key (mode 0600) and signing.pub`,
    )
    .action(lazy('./commands/key', 'generateKey'));
  key
    .command('public')
    .description('print the public key (PEM) of a key reference')
    .requiredOption('--key <ref>', 'the key: a file, env: variable or KMS URI')
    .option('--output <file>', 'write the PEM to a file instead of stdout')
    .addHelpText('after', '\nExample:\n  $ signet key public --key file:signing.key > signing.pub')
    .action(lazy('./commands/key', 'publicKey'));

  program
    .command('sign')
    .description('sign artifacts, writing a Sigstore bundle beside each')
    .argument('<artifact...>', 'files to sign')
    .requiredOption('--key <ref>', 'signing key: file:PATH, env:NAME, a KMS URI, … (a plain path means file:)')
    .option('--bundle <file>', 'where to write the bundle (one artifact only; default ARTIFACT.sigstore.json)')
    .option('--json', 'print what was written as JSON on stdout')
    .addHelpText('after', '\nExample:\n  $ signet sign dist/app.tgz --key file:signing.key\n  wrote dist/app.tgz.sigstore.json')
    .action(lazy('./commands/sign', 'sign'));

  trustOptions(
    program
      .command('verify')
      .description('verify an artifact (a file or sha256:HEX) against its Sigstore bundle')
      .argument('<artifact>', 'the file, or its digest as sha256:HEX')
      .option('--bundle <file>', 'the bundle (default ARTIFACT.sigstore.json)'),
  )
    .addHelpText(
      'after',
      `
Exit status: 0 verified, 1 verification failed, 2 bad input, 3 a provider failed.

Examples:
  $ signet verify dist/app.tgz --key signing.pub
  $ signet verify sha256:4b1c… --bundle app.tgz.sigstore.json --key old.pub --key new.pub
  $ signet verify app.tgz --certificate-identity https://github.com/o/r/.github/workflows/release.yml@refs/tags/v1.0.0 \\
      --certificate-oidc-issuer https://token.actions.githubusercontent.com --trusted-root trusted_root.json`,
    )
    .action(lazy('./commands/verify', 'verify'));

  program
    .command('attest')
    .description('sign an in-toto attestation (SBOM, provenance, VEX, …) about one or more files')
    .argument('<subject...>', 'the files the attestation is about')
    .requiredOption('--predicate <file>', 'the predicate JSON (e.g. an SBOM)')
    .requiredOption('--type <type>', 'cyclonedx, spdx, slsaprovenance (SLSA v1), openvex, or a predicate type URI')
    .requiredOption('--key <ref>', 'signing key')
    .option('--bundle <file>', 'where to write the bundle (default SUBJECT.<type>.sigstore.json)')
    .option('--json', 'print what was written as JSON on stdout')
    .addHelpText(
      'after',
      '\nExample:\n  $ signet attest dist/app.tgz --predicate sbom.cdx.json --type cyclonedx --key file:signing.key\n  wrote dist/app.tgz.cyclonedx.sigstore.json',
    )
    .action(lazy('./commands/attest', 'attest'));

  trustOptions(
    program
      .command('verify-attestation')
      .description('verify an attestation bundle about a file and check its predicate type')
      .argument('<subject>', 'the file (or sha256:HEX) the attestation must be about')
      .requiredOption('--bundle <file>', 'the attestation bundle')
      .requiredOption('--type <type>', 'the predicate type required: cyclonedx, spdx, slsaprovenance, openvex or a URI'),
  )
    .addHelpText(
      'after',
      '\nExample:\n  $ signet verify-attestation dist/app.tgz --bundle dist/app.tgz.cyclonedx.sigstore.json --type cyclonedx --key signing.pub --json',
    )
    .action(lazy('./commands/verify', 'verifyAttestation'));

  return program;
}

/**
 * An action that loads its command module only when it runs, so `signet verify` never
 * pays for what `signet sign` needs.
 */
function lazy(modulePath: string, exportName: string) {
  return async (...args: unknown[]) => {
    const module = require(modulePath) as Record<string, (...a: unknown[]) => Promise<void>>;
    const action = module[exportName];
    if (!action) throw new Error(`missing command ${exportName}`);
    await action(...args);
  };
}

/** Runs the CLI and returns its exit status. */
export async function main(argv: readonly string[] = process.argv): Promise<number> {
  const program = createProgram();
  const json = argv.includes('--json');
  try {
    await program.parseAsync(argv as string[]);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.OK;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return EXIT.OK;
      // `signet` alone (commander.help) printed the help: there was nothing to do.
      if (error.code === 'commander.help') return EXIT.BAD_INPUT;
      return reportError(
        new SignetError({ code: 'E_USAGE', message: `${error.message.replace(/^error: /, '')} (see signet --help)` }),
        json,
      );
    }
    return reportError(error, json);
  }
}

export function run(): void {
  main().then(
    (status) => {
      process.exitCode = status;
    },
    (error) => {
      process.exitCode = reportError(error, false);
    },
  );
}
