// Secrets in key references, tokens and errors never reach output. Each attack puts a
// recognisable secret where users (or a script around Signet) put one: a PKCS#11 PIN in any
// spelling of its URI, credentials in a KMS URI, a private key or an environment variable's
// value where a reference belongs, a token on the command line, a credential a service
// echoes in its error. Every case runs the real CLI and asserts that the secret appears
// nowhere in stdout or stderr (nor in any file written), with --json and without, and that
// the command ends with the code and exit status it should.
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { AwsKmsEmulator, envFor as awsEnv } from '@signet/emulators/aws-kms';
import { AzureKeyVaultEmulator, envFor as azureEnv } from '@signet/emulators/azure-keyvault';
import { GcpKmsEmulator, envFor as gcpEnv } from '@signet/emulators/gcp-kms';
import { VaultTransitEmulator, envFor as vaultEnv } from '@signet/emulators/vault-transit';
import { type RunResult, signetAsync, singleErrorLine, useTempDir, writeFile } from '@signet/test-support';
import { createSoftHsmToken, type SoftHsmToken } from '../../../packages/pkcs11/test/softhsm';

const tmp = useTempDir();

/** Runs signet in the test's directory; asynchronous, since the emulators answer from this process. */
function run(args: string[], env: Record<string, string | undefined> = {}): Promise<RunResult> {
  return signetAsync(args, { cwd: tmp(), env });
}

/** The secret nowhere: not in stdout, not in stderr, not in any file the command left behind. */
function expectNowhere(result: RunResult, secrets: readonly string[]): void {
  const files = fs
    .readdirSync(tmp())
    .filter((name) => fs.statSync(path.join(tmp(), name)).isFile())
    .map((name) => fs.readFileSync(path.join(tmp(), name), 'latin1'));
  for (const secret of secrets) {
    expect(result.stdout).not.toContain(secret);
    expect(result.stderr).not.toContain(secret);
    for (const content of files) expect(content).not.toContain(secret);
  }
}

/** A refusal: one `signet: E_…` line (after any warnings), its exit status, and with --json the same code on stdout. */
function expectRefusal(result: RunResult, code: string, status: number, json: boolean): string {
  const lines = result.stderr.split('\n').filter((line) => line !== '' && !line.startsWith('warning: '));
  const error = singleErrorLine(`${lines.join('\n')}\n`);
  expect([result.status, error.code]).toEqual([status, code]);
  if (json) expect(JSON.parse(result.stdout)).toEqual({ ok: false, error: { code, message: error.message } });
  else expect(result.stdout).toBe('');
  return error.message;
}

/** Every way a secret could be spelt in output: as written, percent-encoded, in either case. */
function spellings(secret: string): string[] {
  const encoded = [...Buffer.from(secret)].map((byte) => `%${byte.toString(16).padStart(2, '0')}`).join('');
  return [secret, secret.toLowerCase(), secret.toUpperCase(), encoded, encoded.toUpperCase()];
}

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('a PKCS#11 PIN in the key reference, in every spelling (SoftHSM2)', () => {
  const PIN = `Attack-PIN-${crypto.randomBytes(4).toString('hex')}`;
  let token: SoftHsmToken;
  /** The token and module, but no PIN: the reference is the only place the PIN is. */
  let env: Record<string, string | undefined>;
  const key = () => `pkcs11:token=${token.label};object=release`;

  beforeAll(async () => {
    token = createSoftHsmToken({ label: 'attacks', pin: PIN });
    env = { SOFTHSM2_CONF: token.conf, SIGNET_PKCS11_MODULE: token.modulePath, SIGNET_PKCS11_PIN: undefined };
    const created = await signetAsync(['key', 'generate', '--key', key()], { cwd: token.dir, env: token.env });
    if (created.status !== 0) throw new Error(`key generate failed: ${created.stderr}`);
  });
  afterAll(() => token.remove());

  const encodedPin = () => [...Buffer.from(PIN)].map((byte) => `%${byte.toString(16)}`).join('');

  // The reference works: the PIN is where RFC 7512 puts it, however the name and value are spelt.
  const accepted: [string, () => string][] = [
    ['?pin-value=', () => `${key()}?pin-value=${PIN}`],
    ['?PIN-VALUE=', () => `${key()}?PIN-VALUE=${PIN}`],
    ['?Pin-Value=', () => `${key()}?Pin-Value=${PIN}`],
    ['?pin%2Dvalue=', () => `${key()}?pin%2Dvalue=${PIN}`],
    ['?%70in-value=', () => `${key()}?%70in-value=${PIN}`],
    ['?pin-value= percent-encoded', () => `${key()}?pin-value=${encodedPin()}`],
    ['?module-path=…&pin-value=', () => `${key()}?module-path=${token.modulePath}&pin-value=${PIN}`],
  ];

  describe.each(accepted)('%s: signs, and the PIN is nowhere', (_spelling, reference) => {
    test.each([false, true])('sign (--json: %s), verify and key public', async (json) => {
      writeFile(tmp(), 'app.js', 'console.log(1)\n');
      const sign = await run(['sign', 'app.js', '--key', reference(), ...(json ? ['--json'] : [])], env);
      expect(sign.status).toBe(0);
      // the warning about a PIN on the command line names the key without it
      expect(sign.stderr).toMatch(
        /^warning: pkcs11:token=attacks;object=release\?.*pin-value=\[redacted\].*written in the URI as pin-value/m,
      );
      if (json) expect((JSON.parse(sign.stdout) as { key: string }).key).toBe(key());
      expectNowhere(sign, spellings(PIN));

      const verify = await run(['verify', 'app.js', '--key', reference(), ...(json ? ['--json'] : [])], env);
      expect(verify.status).toBe(0);
      expectNowhere(verify, spellings(PIN));

      const pub = await run(['key', 'public', '--key', reference()], env);
      expect(pub.status).toBe(0);
      expect(pub.stdout).toContain('-----BEGIN PUBLIC KEY-----');
      expectNowhere(pub, spellings(PIN));
    });
  });

  // Refused: the PIN is somewhere RFC 7512 does not put it, or the URI is malformed around it.
  const refused: [string, () => string, string, number][] = [
    ['in the path', () => `${key()};pin-value=${PIN}`, 'E_INPUT', 2],
    ['in the path, upper case', () => `${key()};PIN-VALUE=${PIN}`, 'E_INPUT', 2],
    ['in the path, percent-encoded name', () => `${key()};pin%2dvalue=${PIN}`, 'E_INPUT', 2],
    ['first in the path', () => `pkcs11:pin-value=${PIN};token=attacks;object=release`, 'E_INPUT', 2],
    ['as pin-source, mistaken for the PIN', () => `${key()}?pin-source=${PIN}`, 'E_INPUT', 2],
    ['as pin-source in the path', () => `${key()};pin-source=${PIN}`, 'E_INPUT', 2],
    ['behind a second "?"', () => `${key()}?module-path=/x.so?pin-value=${PIN}`, 'E_INPUT', 2],
    ['as an attribute without a name', () => `${key()};${PIN}`, 'E_INPUT', 2],
    ['as an attribute name', () => `${key()}?${PIN}=1`, 'E_INPUT', 2],
    ['with a key that does not exist', () => `pkcs11:token=attacks;object=missing?pin-value=${PIN}`, 'E_KEY_NOT_FOUND', 2],
    ['with a token that does not exist', () => `pkcs11:token=elsewhere;object=release?pin-value=${PIN}`, 'E_KEY_NOT_FOUND', 2],
  ];

  describe.each(refused)('%s: refused, and the PIN is nowhere', (_case, reference, code, status) => {
    test.each([false, true])('sign (--json: %s), verify and key public', async (json) => {
      writeFile(tmp(), 'app.js', 'console.log(1)\n');
      const flags = json ? ['--json'] : [];
      const runs = [
        ['sign', 'app.js', '--key', reference(), ...flags],
        ['key', 'public', '--key', reference()],
      ];
      // generating reads the reference as signing does; a well-formed one would create the key
      if (code === 'E_INPUT') runs.push(['key', 'generate', '--key', reference()]);
      for (const args of runs) {
        const result = await run(args, env);
        expectRefusal(result, code, status, json && args[0] === 'sign');
        expectNowhere(result, spellings(PIN));
      }
    });
  });

  test('a wrong PIN in the URI: E_PERMISSION (exit 3), and that PIN is nowhere either', async () => {
    const wrong = `Wrong-PIN-${crypto.randomBytes(4).toString('hex')}`;
    writeFile(tmp(), 'app.js', 'console.log(1)\n');
    const result = await run(['sign', 'app.js', '--key', `${key()}?pin-value=${wrong}`, '--json'], env);
    expectRefusal(result, 'E_PERMISSION', 3, true);
    expectNowhere(result, [...spellings(wrong), ...spellings(PIN)]);
  });
});

describe('credentials in the other schemes', () => {
  const SECRET = `Attack-Secret-${crypto.randomBytes(4).toString('hex')}`;

  test.each([
    ['awskms:// user information', `awskms://AKIAATTACK:${SECRET}@127.0.0.1:1/alias/release`],
    ['azurekms:// user information', `azurekms://app:${SECRET}@vault.vault.azure.net/release`],
    ['hashivault:// user information', `hashivault://user:${SECRET}@release`],
    ['gcpkms:// user information', `gcpkms://user:${SECRET}@projects/p/locations/l/keyRings/r/cryptoKeys/k`],
    ['env: with the value instead of the name', `env:SIGNET_KEY=${SECRET}`],
    ['env: with the value alone', `env:${SECRET}!`],
  ])('%s: E_INPUT, and the secret is nowhere', async (_case, reference) => {
    writeFile(tmp(), 'app.js', 'x\n');
    for (const json of [false, true]) {
      const result = await run(['sign', 'app.js', '--key', reference, ...(json ? ['--json'] : [])]);
      const message = expectRefusal(result, 'E_INPUT', 2, json);
      expect(message).toContain('[redacted]');
      expectNowhere(result, spellings(SECRET));
    }
  });

  describe('against the services themselves', () => {
    const vault = new VaultTransitEmulator();
    const gcp = new GcpKmsEmulator();
    beforeAll(async () => {
      await Promise.all([vault.start(), gcp.start()]);
      vault.createKey('release');
    });
    afterAll(() => Promise.all([vault.stop(), gcp.stop()]));

    test('a Vault key named with a token before "@": the name reaches Vault, the token no output', async () => {
      const result = await run(['key', 'public', '--key', `hashivault://${SECRET}@release`], vaultEnv(vault));
      const message = expectRefusal(result, 'E_KEY_NOT_FOUND', 2, false);
      expect(message).toContain('hashivault://[redacted]@release');
      expectNowhere(result, spellings(SECRET));
    });

    test('a Vault key named by a token (hvs.…): nowhere in output', async () => {
      const token = `hvs.${crypto.randomBytes(24).toString('base64url')}`;
      const result = await run(['key', 'public', '--key', `hashivault://${token}`], vaultEnv(vault));
      expectRefusal(result, 'E_KEY_NOT_FOUND', 2, false);
      expectNowhere(result, [token]);
    });

    test('a Cloud KMS name carrying a query token, which the service echoes in its NOT_FOUND: nowhere in output', async () => {
      writeFile(tmp(), 'app.js', 'x\n');
      const reference = `gcpkms://projects/p/locations/global/keyRings/r/cryptoKeys/k?access_token=${SECRET}`;
      const result = await run(['sign', 'app.js', '--key', reference, '--json'], gcpEnv(gcp));
      const message = expectRefusal(result, 'E_KEY_NOT_FOUND', 2, true);
      expect(message).toContain('access_token=[redacted]');
      expectNowhere(result, spellings(SECRET));
    });
  });
});

describe('key material where its reference belongs', () => {
  const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const body = pem.split('\n')[1] as string;
  const der = privateKey.export({ type: 'pkcs8', format: 'der' }).toString('base64');

  test.each([
    ['a PEM private key', () => pem],
    ['a PEM private key on one line', () => pem.replace(/\n/g, ' ')],
    ['a PEM private key after env:', () => `env:${pem}`],
    ['a PEM private key after file:', () => `file:${pem}`],
  ])('%s: E_INPUT for sign, verify and key public, the key nowhere', async (_case, reference) => {
    writeFile(tmp(), 'app.js', 'x\n');
    for (const args of [
      ['sign', 'app.js', `--key=${reference()}`, '--json'],
      ['verify', 'app.js', `--key=${reference()}`, '--json'],
      ['key', 'public', `--key=${reference()}`],
    ]) {
      const result = await run(args);
      const message = expectRefusal(result, 'E_INPUT', 2, args.includes('--json'));
      expect(message).toContain('holds key material');
      expectNowhere(result, [body, der.slice(0, 40)]);
    }
  });

  test('a bare base64 DER private key: read as a file name that does not exist, and never printed', async () => {
    writeFile(tmp(), 'app.js', 'x\n');
    const result = await run(['sign', 'app.js', `--key=${der}`, '--json']);
    const message = expectRefusal(result, 'E_KEY_NOT_FOUND', 2, true);
    expect(message).toContain('[redacted]');
    expectNowhere(result, [der.slice(0, 40), der.slice(-40)]);
  });
});

describe('tokens and passwords given to Signet', () => {
  test('an identity token on the command line: nowhere in output when Fulcio cannot be reached', async () => {
    const port = await closedPort();
    const claims = Buffer.from(JSON.stringify({ iss: 'https://issuer.example', sub: 'me', aud: 'sigstore', exp: 4_000_000_000 })).toString(
      'base64url',
    );
    const jwt = `eyJhbGciOiJSUzI1NiJ9.${claims}.${crypto.randomBytes(32).toString('base64url')}`;
    const notJwt = `not-a-jwt-${crypto.randomBytes(8).toString('hex')}`;
    writeFile(tmp(), 'app.js', 'x\n');
    const services = ['--fulcio-url', `http://127.0.0.1:${port}`, '--rekor-url', `http://127.0.0.1:${port}`, '--json'];
    const cases = [
      { token: jwt, code: 'E_PROVIDER', status: 3 },
      { token: notJwt, code: 'E_INPUT', status: 2 },
    ].flatMap((c) => [
      { ...c, flags: ['--identity-token', c.token] },
      { ...c, flags: [`--identity-token=${c.token}`] },
    ]);
    const results = await Promise.all(cases.map((c) => run(['sign', 'app.js', '--key', 'keyless', ...c.flags, ...services])));
    for (const [i, result] of results.entries()) {
      const { token, code, status } = cases[i] as (typeof cases)[number];
      expectRefusal(result, code, status, true);
      expectNowhere(result, [token, ...token.split('.').slice(2)]);
    }
  });

  test('a wrong passphrase for an encrypted key file: E_KEY, the passphrase nowhere', async () => {
    const generated = await run(['key', 'generate', '--key', 'file:signing.key'], { SIGNET_PASSWORD: 'the-right-passphrase' });
    expect(generated.status).toBe(0);
    writeFile(tmp(), 'app.js', 'x\n');
    const wrong = `wrong-passphrase-${crypto.randomBytes(4).toString('hex')}`;
    const result = await run(['sign', 'app.js', '--key', 'file:signing.key', '--json'], { SIGNET_PASSWORD: wrong });
    expect(expectRefusal(result, 'E_KEY', 2, true)).toContain('wrong passphrase');
    expectNowhere(result, [wrong, 'the-right-passphrase']);
  });

  test('a Vault token Vault refuses, and one its error repeats: E_PERMISSION, the token nowhere', async () => {
    const vault = new VaultTransitEmulator();
    await vault.start();
    try {
      vault.createKey('release');
      const refused = `hvs.${crypto.randomBytes(24).toString('base64url')}`;
      const denied = await run(['key', 'public', '--key', 'hashivault://release'], vaultEnv(vault, { token: refused }));
      expectRefusal(denied, 'E_PERMISSION', 3, false);
      expectNowhere(denied, [refused]);

      vault.faults.add({ fault: { kind: 'status', status: 403, message: `permission denied for token ${vault.rootToken}` } });
      const echoed = await run(['key', 'public', '--key', 'hashivault://release'], vaultEnv(vault));
      expectRefusal(echoed, 'E_PERMISSION', 3, false);
      expectNowhere(echoed, [vault.rootToken]);
    } finally {
      await vault.stop();
    }
  });
});

describe("credentials a service's error repeats, through the real SDKs", () => {
  test('AWS KMS: a secret access key and session token in the error message', async () => {
    const aws = new AwsKmsEmulator();
    await aws.start();
    try {
      await aws.createKey({ alias: 'alias/release' });
      const credentials = aws.addPrincipal('attacker', { sessionToken: true });
      aws.faults.add({
        fault: {
          kind: 'status',
          status: 403,
          message: `denied: secret ${credentials.secretAccessKey}, x-amz-security-token: ${credentials.sessionToken}`,
        },
      });
      const result = await run(['key', 'public', '--key', 'awskms:///alias/release'], awsEnv(aws, credentials));
      expectRefusal(result, 'E_PERMISSION', 3, false);
      expectNowhere(result, [credentials.secretAccessKey, credentials.sessionToken as string]);
    } finally {
      await aws.stop();
    }
  });

  test('GCP Cloud KMS: a bearer token in the error message', async () => {
    const gcp = new GcpKmsEmulator();
    await gcp.start();
    try {
      const keyName = 'projects/p/locations/global/keyRings/r/cryptoKeys/k';
      await gcp.seedKey(keyName);
      const token = `ya29.${crypto.randomBytes(24).toString('base64url')}`;
      gcp.faults.add({ fault: { kind: 'status', status: 403, message: `request with Authorization: Bearer ${token} denied` } });
      const result = await run(['key', 'public', '--key', `gcpkms://${keyName}`], gcpEnv(gcp, { transport: 'rest' }));
      expectRefusal(result, 'E_PERMISSION', 3, false);
      expectNowhere(result, [token]);
    } finally {
      await gcp.stop();
    }
  });

  test('Azure Key Vault: the client secret and a bearer token in the error message', async () => {
    const azure = new AzureKeyVaultEmulator();
    await azure.start();
    try {
      azure.createKey('release');
      const bearer = `eyJ0eXAiOiJKV1QifQ.${crypto.randomBytes(24).toString('base64url')}`;
      azure.faults.add({
        fault: { kind: 'status', status: 403, message: `denied for client_secret=${azure.clientSecret}; Authorization: Bearer ${bearer}` },
        operation: 'GetKey',
      });
      const result = await run(['key', 'public', '--key', azure.keyUri('release')], azureEnv(azure));
      expectRefusal(result, 'E_PERMISSION', 3, false);
      expectNowhere(result, [azure.clientSecret, bearer]);
    } finally {
      await azure.stop();
    }
  });
});
