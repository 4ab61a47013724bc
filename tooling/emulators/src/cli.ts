/*
 * `npm run emulators`: every KMS emulator and a private Sigstore stack on 127.0.0.1, for manual
 * trials and the demo. Prints each endpoint and the environment that points `signet` at it, then
 * serves until interrupted. Keys are created through the API, e.g. `signet key generate --key awskms:///alias/demo`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AwsKmsEmulator, envFor as awsEnv } from './aws-kms';
import { AzureKeyVaultEmulator, envFor as azureEnv } from './azure-keyvault';
import { GcpKmsEmulator, envFor as gcpEnv } from './gcp-kms';
import { DEFAULT_EMAIL, SigstoreStack } from './sigstore';
import { VaultTransitEmulator, envFor as vaultEnv } from './vault-transit';

async function main(): Promise<void> {
  const aws = new AwsKmsEmulator();
  const gcp = new GcpKmsEmulator({ project: 'signet-test' });
  const azure = new AzureKeyVaultEmulator();
  const vault = new VaultTransitEmulator();
  const sigstore = new SigstoreStack();
  await Promise.all([aws.start(), gcp.start(), azure.start(), vault.start(), sigstore.start()]);

  const sections: [string, string, Record<string, string | undefined>][] = [
    ['AWS KMS', 'awskms:///alias/NAME', awsEnv(aws)],
    ['GCP Cloud KMS', 'gcpkms://projects/signet-test/locations/global/keyRings/RING/cryptoKeys/NAME', gcpEnv(gcp)],
    ['Azure Key Vault', `azurekms://127.0.0.1:${azure.port}/NAME`, azureEnv(azure)],
    ['Vault Transit', 'hashivault://NAME', vaultEnv(vault)],
  ];
  // GCP and Azure each serve TLS with their own test CA; one shell needs one bundle of both.
  // It goes when the process does (Ctrl-C, SIGTERM), as the emulators' own files do.
  const caDir = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-emulators-'));
  process.once('exit', () => fs.rmSync(caDir, { recursive: true, force: true }));
  const caBundle = path.join(caDir, 'ca-bundle.pem');
  fs.writeFileSync(caBundle, [gcp.caFile, azure.caFile].map((file) => fs.readFileSync(file, 'utf8')).join('\n'));
  for (const [service, uri, env] of sections) {
    console.log(`\n# ${service}: keys as ${uri}`);
    if (env.NODE_EXTRA_CA_CERTS) env.NODE_EXTRA_CA_CERTS = caBundle;
    for (const [name, value] of Object.entries(env)) {
      console.log(value === undefined ? `unset ${name}` : `export ${name}=${JSON.stringify(value)}`);
    }
  }
  await printSigstore(sigstore);
  const stop = async () => {
    await Promise.all([aws.stop(), gcp.stop(), azure.stop(), vault.stop(), sigstore.stop()]);
    process.exit(0);
  };
  // Before the line that says so: a signal sent on reading it must find the handlers.
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  console.log('\n# Serving on 127.0.0.1; Ctrl-C stops every emulator.');
}

async function printSigstore(stack: SigstoreStack): Promise<void> {
  const lines = [
    '',
    '# Sigstore (keyless): a private instance; trust it with the trusted root, sign with the signing config',
    `# OIDC issuer:    ${stack.oidc.url}`,
    `# Fulcio:         ${stack.fulcio.url}`,
    `# Rekor:          ${stack.rekor.url}`,
    `# Rekor v2:       ${stack.rekorV2.url} (tiles at ${stack.rekorV2.url}/checkpoint, …/tile/…)`,
    `# TSA:            ${stack.tsa.url}/api/v1/timestamp`,
    `# TUF mirror:     ${stack.tuf.url}`,
    `# TUF root:       ${stack.tufRootPath}`,
    `# trusted root:   ${stack.trustedRootPath}`,
    `# signing config: ${stack.signingConfigPath}`,
    `# signing config with Rekor v2: ${stack.signingConfigRekorV2Path}`,
    `# A token for another identity (any other parameter becomes a claim): curl -s '${stack.oidc.url}/token?email=you@example.com'`,
    `# In GitHub Actions style: ACTIONS_ID_TOKEN_REQUEST_URL='${stack.oidc.url}/token?email=you@example.com' ACTIONS_ID_TOKEN_REQUEST_TOKEN=any`,
    `# An ID token for ${DEFAULT_EMAIL}, valid for an hour:`,
    `export SIGSTORE_ID_TOKEN=${JSON.stringify(await stack.mintToken())}`,
  ];
  console.log(lines.join('\n'));
}

main().catch((error: unknown) => {
  console.error(`emulators: ${(error as Error).message}`);
  process.exit(1);
});
