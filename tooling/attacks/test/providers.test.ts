// Providers' failures reported as what they are. A machine with no credentials for a
// provider must hear "no credentials were found" (E_PERMISSION, exit 3, at once), not "the
// service is down" (E_PROVIDER, retried): the SDKs find out that nothing is configured by
// probing endpoints (instance metadata, managed identity, the GCE metadata server) that
// give no answer off their cloud, and that silence is not an outage. A real outage must
// still be one. Each case runs the real CLI, with the real SDK's default chain inside it,
// in an environment cleared of credentials, with every such endpoint at a closed 127.0.0.1
// port so nothing beyond this machine is asked.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { AwsKmsEmulator, envFor as awsEnv } from '@signet/emulators/aws-kms';
import { AzureKeyVaultEmulator } from '@signet/emulators/azure-keyvault';
import { GcpKmsEmulator, envFor as gcpEnv } from '@signet/emulators/gcp-kms';
import { VaultTransitEmulator } from '@signet/emulators/vault-transit';
import { type RunResult, signetAsync, singleErrorLine, useTempDir } from '@signet/test-support';
import { createSoftHsmToken } from '../../../packages/pkcs11/test/softhsm';

const tmp = useTempDir();

/** Nowhere to find credentials: every provider's variables removed, HOME and PATH empty (no CLI logins, no az/gcloud). */
let nothing: string;
let closed: string;
beforeAll(async () => {
  nothing = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-attacks-nothing-'));
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closed = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
afterAll(() => fs.rmSync(nothing, { recursive: true, force: true }));

const CREDENTIAL_VARIABLES =
  /^(AWS_|AZURE_|GOOGLE_|GCE_|CLOUDSDK_|VAULT_|IDENTITY_|MSI_|IMDS_|METADATA_SERVER_DETECTION$|SOFTHSM2_CONF$|PKCS11_)/;

/** The CLI in an environment with no credentials anywhere, plus `set`. */
function withoutCredentials(args: string[], set: Record<string, string | undefined>): Promise<RunResult> {
  const env: Record<string, string | undefined> = { HOME: nothing, PATH: nothing, USERPROFILE: undefined };
  for (const name of Object.keys(process.env)) if (CREDENTIAL_VARIABLES.test(name)) env[name] = undefined;
  return signetAsync(args, { cwd: tmp(), env: { ...env, ...set } });
}

/** One `signet: E_…` line, the exit status, and nothing on stdout. */
function refusal(result: RunResult): { status: number | null; code: string; message: string } {
  expect(result.stdout).toBe('');
  return { status: result.status, ...singleErrorLine(result.stderr) };
}

describe('Azure Key Vault through DefaultAzureCredential', () => {
  const vault = new AzureKeyVaultEmulator();
  beforeAll(async () => {
    await vault.start();
    vault.createKey('release');
  });
  afterAll(() => vault.stop());
  beforeEach(() => vault.reset());
  const reach = () => ({ NODE_EXTRA_CA_CERTS: vault.caFile, SIGNET_AZURE_DISABLE_CHALLENGE_RESOURCE_VERIFICATION: '1' });
  const challenges = () => vault.calls('Challenge').length;

  // Off Azure, the managed identity endpoint MSAL reads gives no answer.
  test.each([
    [
      'AZURE_POD_IDENTITY_AUTHORITY_HOST (AKS pod identity, no probe first)',
      () => ({ AZURE_POD_IDENTITY_AUTHORITY_HOST: `http://${closed}` }),
    ],
    ['MSI_ENDPOINT (Cloud Shell)', () => ({ MSI_ENDPOINT: `http://${closed}/msi/token` })],
    ['IDENTITY_ENDPOINT (App Service)', () => ({ IDENTITY_ENDPOINT: `http://${closed}/msi/token`, IDENTITY_HEADER: 'h' })],
  ])('no credential, %s unreachable: E_PERMISSION "no Azure credential was found", exit 3, not retried', async (_case, set) => {
    const error = refusal(await withoutCredentials(['key', 'public', '--key', vault.keyUri('release')], { ...reach(), ...set() }));
    expect([error.status, error.code]).toEqual([3, 'E_PERMISSION']);
    expect(error.message).toContain('no Azure credential was found');
    expect(error.message).not.toContain('Entra ID could not be reached');
    expect(challenges()).toBe(1);
    expect(vault.calls('Token')).toEqual([]);
  });

  test('credentials configured, Microsoft Entra ID unreachable: E_PROVIDER, exit 3, after retries', async () => {
    const error = refusal(
      await withoutCredentials(['key', 'public', '--key', vault.keyUri('release')], {
        ...reach(),
        AZURE_TENANT_ID: vault.tenantId,
        AZURE_CLIENT_ID: 'ci-app',
        AZURE_CLIENT_SECRET: 'some-secret-value',
        AZURE_AUTHORITY_HOST: `https://${closed}`,
        AZURE_POD_IDENTITY_AUTHORITY_HOST: `http://${closed}`,
        SIGNET_AZURE_DISABLE_INSTANCE_DISCOVERY: '1',
      }),
    );
    expect([error.status, error.code]).toEqual([3, 'E_PROVIDER']);
    expect(error.message).toContain('Microsoft Entra ID could not be reached');
    expect(challenges()).toBe(5);
  });
});

describe('AWS KMS through the SDK default credential chain', () => {
  const kms = new AwsKmsEmulator();
  beforeAll(async () => {
    await kms.start();
    await kms.createKey({ alias: 'alias/release' });
  });
  afterAll(() => kms.stop());
  const reach = () => ({ AWS_ENDPOINT_URL_KMS: kms.url, AWS_REGION: kms.region, AWS_EC2_METADATA_DISABLED: 'true' });

  test.each([
    ['nothing configured', () => ({})],
    [
      'instance metadata unreachable',
      () => ({ AWS_EC2_METADATA_DISABLED: 'false', AWS_EC2_METADATA_SERVICE_ENDPOINT: `http://${closed}` }),
    ],
    ['container credentials endpoint unreachable', () => ({ AWS_CONTAINER_CREDENTIALS_FULL_URI: `http://${closed}/creds` })],
    [
      'web identity token file missing',
      () => ({ AWS_WEB_IDENTITY_TOKEN_FILE: path.join(nothing, 'token'), AWS_ROLE_ARN: 'arn:aws:iam::111122223333:role/ci' }),
    ],
    ['a profile that does not exist', () => ({ AWS_PROFILE: 'release' })],
  ])('%s: E_PERMISSION, exit 3, before any KMS request', async (_case, set) => {
    const before = kms.requests.length;
    const error = refusal(await withoutCredentials(['key', 'public', '--key', 'awskms:///alias/release'], { ...reach(), ...set() }));
    expect([error.status, error.code]).toEqual([3, 'E_PERMISSION']);
    expect(error.message).toMatch(/no AWS credentials were found|the AWS credentials could not be loaded/);
    expect(kms.requests.length).toBe(before);
  });

  test('credentials, KMS unreachable: E_PROVIDER, exit 3', async () => {
    const error = refusal(
      await withoutCredentials(['key', 'public', '--key', 'awskms:///alias/release'], {
        ...awsEnv(kms),
        AWS_ENDPOINT_URL_KMS: `http://${closed}`,
      }),
    );
    expect([error.status, error.code]).toEqual([3, 'E_PROVIDER']);
  });
});

describe('GCP Cloud KMS through application default credentials', () => {
  const gcp = new GcpKmsEmulator();
  const key = 'gcpkms://projects/p/locations/global/keyRings/r/cryptoKeys/k';
  beforeAll(async () => {
    await gcp.start();
    await gcp.seedKey('projects/p/locations/global/keyRings/r/cryptoKeys/k');
  });
  afterAll(() => gcp.stop());
  const reach = () => {
    const { GOOGLE_APPLICATION_CREDENTIALS: _none, ...env } = gcpEnv(gcp);
    return env;
  };

  test.each([
    ['nothing configured, not on Google Cloud', () => ({ METADATA_SERVER_DETECTION: 'none' })],
    [
      'a metadata server taken to be there that does not answer',
      () => ({ METADATA_SERVER_DETECTION: 'assume-present', GCE_METADATA_HOST: closed }),
    ],
    ['GOOGLE_APPLICATION_CREDENTIALS naming no file', () => ({ GOOGLE_APPLICATION_CREDENTIALS: path.join(nothing, 'key.json') })],
  ])('%s: E_PERMISSION, exit 3, before any Cloud KMS request', async (_case, set) => {
    const before = gcp.requests.length;
    const error = refusal(await withoutCredentials(['key', 'public', '--key', key], { ...reach(), ...set() }));
    expect([error.status, error.code]).toEqual([3, 'E_PERMISSION']);
    expect(error.message).toMatch(
      /no application default credentials were found|the credentials file \(GOOGLE_APPLICATION_CREDENTIALS, or the key file given\) cannot be read/,
    );
    expect(gcp.requests.length).toBe(before);
  });
});

describe('Vault Transit', () => {
  const vault = new VaultTransitEmulator();
  beforeAll(async () => {
    await vault.start();
    vault.createKey('release');
  });
  afterAll(() => vault.stop());

  test.each([
    ['no VAULT_TOKEN and no ~/.vault-token', () => ({})],
    ['VAULT_TOKEN empty', () => ({ VAULT_TOKEN: '' })],
  ])('%s: E_PERMISSION, exit 3, before any request', async (_case, set) => {
    const before = vault.requests.length;
    const error = refusal(
      await withoutCredentials(['key', 'public', '--key', 'hashivault://release'], { VAULT_ADDR: vault.url, ...set() }),
    );
    expect([error.status, error.code]).toEqual([3, 'E_PERMISSION']);
    expect(error.message).toContain('no Vault token');
    expect(vault.requests.length).toBe(before);
  });

  test('a token, Vault unreachable: E_PROVIDER, exit 3', async () => {
    const error = refusal(
      await withoutCredentials(['key', 'public', '--key', 'hashivault://release'], {
        VAULT_ADDR: `http://${closed}`,
        VAULT_TOKEN: vault.rootToken,
      }),
    );
    expect([error.status, error.code]).toEqual([3, 'E_PROVIDER']);
  });
});

describe('PKCS#11 (SoftHSM2)', () => {
  test('no user PIN anywhere, and no terminal to ask on: E_PERMISSION, exit 3', async () => {
    const token = createSoftHsmToken({ label: 'no-pin' });
    try {
      const created = await signetAsync(['key', 'generate', '--key', 'pkcs11:token=no-pin;object=release'], {
        cwd: token.dir,
        env: token.env,
      });
      expect(created.status).toBe(0);
      fs.writeFileSync(path.join(tmp(), 'app.js'), 'x\n');
      const error = refusal(
        await withoutCredentials(['sign', 'app.js', '--key', 'pkcs11:token=no-pin;object=release'], {
          SOFTHSM2_CONF: token.conf,
          SIGNET_PKCS11_MODULE: token.modulePath,
        }),
      );
      expect([error.status, error.code]).toEqual([3, 'E_PERMISSION']);
      expect(error.message).toContain('no user PIN was given');
    } finally {
      token.remove();
    }
  });
});
