// SoftHSM2 tokens for tests: each in a fresh temporary directory named by SOFTHSM2_CONF,
// made with softhsm2-util (Debian package softhsm2, installed by .ci/run). Other suites
// (and `npm run emulators`) can reuse createSoftHsmToken: its `env` points the signet CLI
// at the token.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import Module from 'node:module';
import os from 'node:os';
import path from 'node:path';
import type * as Pkcs11js from 'pkcs11js';

/** Where Debian (and other distributions) put SoftHSM2's PKCS#11 module. */
const MODULE_CANDIDATES = [
  '/usr/lib/softhsm/libsofthsm2.so',
  `/usr/lib/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu/softhsm/libsofthsm2.so`,
  '/usr/local/lib/softhsm/libsofthsm2.so',
  '/usr/lib64/pkcs11/libsofthsm2.so',
];

/** The SoftHSM2 module path, or undefined when softhsm2 (the module and softhsm2-util) is not installed. */
export function softHsmModulePath(): string | undefined {
  const found = MODULE_CANDIDATES.find((candidate) => fs.existsSync(candidate));
  if (!found) return undefined;
  return spawnSync('softhsm2-util', ['--version'], { encoding: 'utf8' }).status === 0 ? found : undefined;
}

export interface SoftHsmToken {
  /** The temporary directory holding softhsm2.conf and the token store. */
  dir: string;
  /** The softhsm2.conf to name in SOFTHSM2_CONF. */
  conf: string;
  label: string;
  /** The user PIN. */
  pin: string;
  /** The security officer's PIN. */
  soPin: string;
  modulePath: string;
  /** Environment that points the signet CLI at this token. */
  env: { SOFTHSM2_CONF: string; SIGNET_PKCS11_MODULE: string; SIGNET_PKCS11_PIN: string };
  /** Adds another token (another label and PIN) in the same directory. */
  addToken(label: string, pin: string): void;
  /** Deletes the directory and every token in it. */
  remove(): void;
}

export interface SoftHsmTokenOptions {
  label?: string;
  pin?: string;
  soPin?: string;
}

/** Initialises a SoftHSM2 token in a new temporary directory. Throws if softhsm2 is not installed. */
export function createSoftHsmToken(options: SoftHsmTokenOptions = {}): SoftHsmToken {
  const modulePath = softHsmModulePath();
  if (!modulePath) throw new Error('softhsm2 is not installed (Debian package softhsm2)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-softhsm-'));
  const tokens = path.join(dir, 'tokens');
  fs.mkdirSync(tokens);
  const conf = path.join(dir, 'softhsm2.conf');
  fs.writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
  const soPin = options.soPin ?? 'SO-PIN-for-tests-5150';
  const initToken = (label: string, pin: string) =>
    softHsmUtil(conf, ['--init-token', '--free', '--label', label, '--so-pin', soPin, '--pin', pin]);
  const label = options.label ?? 'signet-test';
  // Recognisable, so a test can tell it never reached any output.
  const pin = options.pin ?? 'User-PIN-for-tests-8086';
  initToken(label, pin);
  return {
    dir,
    conf,
    label,
    pin,
    soPin,
    modulePath,
    env: { SOFTHSM2_CONF: conf, SIGNET_PKCS11_MODULE: modulePath, SIGNET_PKCS11_PIN: pin },
    addToken: initToken,
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

/** Runs softhsm2-util against the token directory of `conf`. */
export function softHsmUtil(conf: string, args: string[]): string {
  const result = spawnSync('softhsm2-util', args, { env: { ...process.env, SOFTHSM2_CONF: conf }, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`softhsm2-util ${args[0]} failed: ${result.stdout}${result.stderr}`);
  return result.stdout;
}

/**
 * SoftHSM2 reads SOFTHSM2_CONF with getenv() when it is initialised. Jest gives each test
 * file a copy of process.env, which native code never sees, so tests that load the module
 * in-process set the variable on the real process (and restore it afterwards).
 */
export function setProcessEnv(name: string, value: string | undefined): void {
  const real = (Module as unknown as { _load(request: string, parent: null, isMain: boolean): NodeJS.Process })._load(
    'process',
    null,
    false,
  );
  if (value === undefined) delete real.env[name];
  else real.env[name] = value;
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

export interface SoftHsmSuite {
  /** The token for the tests of this file (created in beforeAll). */
  token(): SoftHsmToken;
}

/**
 * describe() when softhsm2 is installed, describe.skip() with a warning naming the Debian
 * package when it is not. Inside, a token is created before the tests, SOFTHSM2_CONF is set
 * for in-process use, and both are undone after.
 */
export function describeWithSoftHsm(name: string, body: (suite: SoftHsmSuite) => void, options: SoftHsmTokenOptions = {}): void {
  if (!softHsmModulePath()) {
    console.warn(`${name}: skipped, SoftHSM2 is not installed (Debian package softhsm2: apt-get install softhsm2)`);
    describe.skip(name, () => body({ token: () => unavailable() }));
    return;
  }
  describe(name, () => {
    let token: SoftHsmToken | undefined;
    let previous: string | undefined;
    beforeAll(() => {
      token = createSoftHsmToken(options);
      previous = process.env.SOFTHSM2_CONF;
      setProcessEnv('SOFTHSM2_CONF', token.conf);
    });
    afterAll(() => {
      setProcessEnv('SOFTHSM2_CONF', previous);
      token?.remove();
    });
    body({
      token: () => {
        if (!token) throw new Error('the SoftHSM token exists only inside the tests');
        return token;
      },
    });
  });
}

function unavailable(): never {
  throw new Error('softhsm2 is not installed');
}

/**
 * A logged-in read-write session on the token, opened with pkcs11js directly (not through
 * the provider), for seeding keys the provider would not make and checking what it made.
 */
export function directSession<T>(
  token: SoftHsmToken,
  work: (module: Pkcs11js.PKCS11, session: Buffer, p11: typeof Pkcs11js) => T,
  label = token.label,
  pin = token.pin,
): T {
  const p11 = require('pkcs11js') as typeof Pkcs11js;
  const module = new p11.PKCS11();
  module.load(token.modulePath);
  module.C_Initialize();
  try {
    const slot = module.C_GetSlotList(true).find((candidate) => module.C_GetTokenInfo(candidate).label.trimEnd() === label);
    if (!slot) throw new Error(`no token ${label}`);
    const session = module.C_OpenSession(slot, p11.CKF_SERIAL_SESSION | p11.CKF_RW_SESSION);
    module.C_Login(session, p11.CKU_USER, pin);
    try {
      return work(module, session, p11);
    } finally {
      module.C_Logout(session);
      module.C_CloseSession(session);
    }
  } finally {
    module.C_Finalize();
    module.close();
  }
}
