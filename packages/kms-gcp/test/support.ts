// Shared by the provider's tests: one emulator per test file, and SDK options that reach it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { envFor, GcpKmsEmulator } from '@signet/emulators/gcp-kms';
import { type RunResult, signetAsync } from '@signet/test-support';
import { googleAuthLibrary, grpc } from 'google-gax';
import type { GcpKmsProviderOptions } from '../src';

// Nothing in these tests may probe the GCE metadata server for credentials.
process.env.METADATA_SERVER_DETECTION = 'none';

export const KEY_RING = 'projects/signet-test/locations/global/keyRings/signet';

export function keyName(id: string): string {
  return `${KEY_RING}/cryptoKeys/${id}`;
}

/** A gcpkms:// URI for a key (and version). */
export function uri(id: string, version?: number): string {
  return `gcpkms://${keyName(id)}${version === undefined ? '' : `/cryptoKeyVersions/${version}`}`;
}

/** Starts an emulator for the calling file's tests and stops it after them. */
export function useEmulator(): GcpKmsEmulator {
  const emulator = new GcpKmsEmulator();
  beforeAll(() => emulator.start());
  afterAll(() => emulator.stop());
  return emulator;
}

export type Transport = 'grpc' | 'rest';

/**
 * A service account's credentials as the Cloud KMS client uses them: signing its own JWTs
 * (useJWTAccessWithScope) rather than exchanging them at oauth2.googleapis.com. Given native
 * fetch because gaxios otherwise loads node-fetch with a dynamic import(), which jest's
 * module sandbox refuses (ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING_FLAG); a real process does not need it.
 */
export function serviceAccountAuth(keyFilename: string): InstanceType<typeof googleAuthLibrary.JWT> {
  const key = JSON.parse(fs.readFileSync(keyFilename, 'utf8')) as { client_email: string; private_key: string; private_key_id: string };
  const jwt = new googleAuthLibrary.JWT({
    email: key.client_email,
    key: key.private_key,
    keyId: key.private_key_id,
    scopes: ['https://www.googleapis.com/auth/cloudkms'],
    transporterOptions: { fetchImplementation: fetch },
  });
  jwt.useJWTAccessWithScope = true;
  jwt.defaultServicePath = 'cloudkms.googleapis.com';
  return jwt;
}

/**
 * The real SDK against the emulator, as `keyFilename`'s service account. REST goes over plain
 * HTTP. gRPC goes over the emulator's HTTPS front, trusting its test CA: `sslCreds` replaces
 * the SDK's channel credentials, so it carries the call credentials too.
 */
export function clientOptions(
  emulator: GcpKmsEmulator,
  transport: Transport,
  keyFilename = emulator.credentialsFile,
): GcpKmsProviderOptions {
  const auth = serviceAccountAuth(keyFilename);
  if (transport === 'rest') return { apiEndpoint: '127.0.0.1', port: emulator.port, fallback: true, protocol: 'http', authClient: auth };
  const callCredentials = grpc.credentials.createFromMetadataGenerator(async ({ service_url }, callback) => {
    try {
      const metadata = new grpc.Metadata();
      for (const [name, value] of await auth.getRequestHeaders(service_url)) metadata.set(name, value);
      callback(null, metadata);
    } catch (error) {
      callback(error as Error);
    }
  });
  const sslCreds = grpc.credentials.combineChannelCredentials(grpc.credentials.createSsl(Buffer.from(emulator.caPem)), callCredentials);
  return { apiEndpoint: '127.0.0.1', port: emulator.tlsPort, sslCreds };
}

/** Fast retries for tests that provoke them through the library. */
export const QUICK = { attempts: 3, baseDelayMs: 5, deadlineMs: 10_000 } as const;

/**
 * `signet ARGS` in `dir`, pointed at the emulator as a user's shell would be (see envFor).
 * Asynchronous: the emulator answers from this process, which must not block while the CLI runs.
 */
export function cli(
  emulator: GcpKmsEmulator,
  dir: string,
  args: readonly string[],
  options: { transport?: Transport; env?: Record<string, string | undefined>; nodeArgs?: string[] } = {},
): Promise<RunResult> {
  return signetAsync(args, {
    cwd: dir,
    env: { ...envFor(emulator, { transport: options.transport }), ...options.env },
    nodeArgs: options.nodeArgs,
  });
}

/** Like cli(), but the command must succeed. */
export async function cliOk(emulator: GcpKmsEmulator, dir: string, args: readonly string[], options: Parameters<typeof cli>[3] = {}) {
  const result = await cli(emulator, dir, args, options);
  if (result.status !== 0) {
    throw new Error(`signet ${args.join(' ')} exited ${result.status}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  }
  return result;
}

/** A temporary directory per test, for tests that run concurrently (useTempDir is per file). */
export async function withDir<T>(run: (dir: string) => Promise<T>): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-gcpkms-test-'));
  try {
    return await run(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
