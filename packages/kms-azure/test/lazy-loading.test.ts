// `signet sign --key azurekms://…` loads this package and the Azure SDK, and no other
// provider package or cloud SDK.
import fs from 'node:fs';
import path from 'node:path';
import { AzureKeyVaultEmulator, envFor } from '@signet/emulators/azure-keyvault';
import { signetAsync, useTempDir, writeFile } from '@signet/test-support';

const tmp = useTempDir();
const emulator = new AzureKeyVaultEmulator();
beforeAll(() => emulator.start());
afterAll(() => emulator.stop());

const RECORDER = path.resolve(__dirname, '../../cli/test/fixtures/record-modules.js');
const OTHER_PROVIDERS = [
  `${path.sep}kms-aws${path.sep}`,
  `${path.sep}kms-gcp${path.sep}`,
  `${path.sep}kms-vault${path.sep}`,
  `packages${path.sep}pkcs11${path.sep}`,
  '@aws-sdk',
  '@google-cloud',
  'node-vault',
  'pkcs11js',
];

test('signet sign --key azurekms:// loads @signet/kms-azure and no other provider', async () => {
  emulator.createKey('lazy');
  const dir = tmp();
  writeFile(dir, 'app.js', 'console.log("lazy")\n');
  const modulesFile = path.join(dir, '..', `${path.basename(dir)}-modules.json`);
  const result = await signetAsync(['sign', 'app.js', '--key', emulator.keyUri('lazy')], {
    cwd: dir,
    nodeArgs: ['-r', RECORDER],
    env: { ...envFor(emulator), SIGNET_TEST_MODULES_FILE: modulesFile },
  });
  expect(result.stderr).toBe('wrote app.js.sigstore.json\n');
  expect(result.status).toBe(0);
  const modules = JSON.parse(fs.readFileSync(modulesFile, 'utf8')) as string[];
  fs.rmSync(modulesFile);
  expect(modules.some((file) => file.includes(`${path.sep}kms-azure${path.sep}dist${path.sep}`))).toBe(true);
  expect(modules.some((file) => file.includes(`@azure${path.sep}keyvault-keys`))).toBe(true);
  expect(modules.filter((file) => OTHER_PROVIDERS.some((name) => file.includes(name)))).toEqual([]);
  expect(emulator.calls('Sign')).toHaveLength(1);
});
