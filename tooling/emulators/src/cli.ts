/*
 * `npm run emulators`: every KMS emulator on 127.0.0.1, for manual trials and the demo.
 * Prints each endpoint and the environment that points `signet` at it, then serves until
 * interrupted. Keys are created through the API, e.g. `signet key generate --key awskms:///alias/demo`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AwsKmsEmulator, envFor as awsEnv } from './aws-kms';
import { AzureKeyVaultEmulator, envFor as azureEnv } from './azure-keyvault';
import { GcpKmsEmulator, envFor as gcpEnv } from './gcp-kms';
import { VaultTransitEmulator, envFor as vaultEnv } from './vault-transit';

async function main(): Promise<void> {
  const aws = new AwsKmsEmulator();
  const gcp = new GcpKmsEmulator({ project: 'signet-test' });
  const azure = new AzureKeyVaultEmulator();
  const vault = new VaultTransitEmulator();
  await Promise.all([aws.start(), gcp.start(), azure.start(), vault.start()]);

  const sections: [string, string, Record<string, string | undefined>][] = [
    ['AWS KMS', 'awskms:///alias/NAME', awsEnv(aws)],
    ['GCP Cloud KMS', 'gcpkms://projects/signet-test/locations/global/keyRings/RING/cryptoKeys/NAME', gcpEnv(gcp)],
    ['Azure Key Vault', `azurekms://127.0.0.1:${azure.port}/NAME`, azureEnv(azure)],
    ['Vault Transit', 'hashivault://NAME', vaultEnv(vault)],
  ];
  // GCP and Azure each serve TLS with their own test CA; one shell needs one bundle of both.
  const caBundle = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'signet-emulators-')), 'ca-bundle.pem');
  fs.writeFileSync(caBundle, [gcp.caFile, azure.caFile].map((file) => fs.readFileSync(file, 'utf8')).join('\n'));
  for (const [service, uri, env] of sections) {
    console.log(`\n# ${service}: keys as ${uri}`);
    if (env.NODE_EXTRA_CA_CERTS) env.NODE_EXTRA_CA_CERTS = caBundle;
    for (const [name, value] of Object.entries(env)) {
      console.log(value === undefined ? `unset ${name}` : `export ${name}=${JSON.stringify(value)}`);
    }
  }
  console.log('\n# Serving on 127.0.0.1; Ctrl-C stops every emulator.');
  const stop = async () => {
    await Promise.all([aws.stop(), gcp.stop(), azure.stop(), vault.stop()]);
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(`emulators: ${(error as Error).message}`);
  process.exit(1);
});
