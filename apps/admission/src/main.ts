import fs from 'node:fs';
import type https from 'node:https';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { loadGatePolicy, readTrustedRoot, SignetError } from '@signet/core';
import { parseDuration } from './duration';
import { DEFAULT_CACHE_TTL_MS } from './image-checker';
import { createAdmissionServer, DEFAULT_VERIFY_TIMEOUT_MS } from './server';

/*
 * signet-admission: the webhook as a process. It loads the policy once (a changed policy is a
 * rollout of the Deployment, as for any configuration), serves HTTPS, reloads the serving
 * certificate when its files change or on SIGHUP (cert-manager and Secret updates rotate it
 * in place), and on SIGTERM stops taking connections and finishes the reviews under way.
 */

const USAGE = `usage: signet-admission --policy FILE --tls-cert FILE --tls-key FILE [options]

  --policy FILE           the Signet gate policy; its kind: image rules say who must sign which images
  --tls-cert FILE         the serving certificate (PEM), SAN SERVICE.NAMESPACE.svc
  --tls-key FILE          its private key (PEM)
  --port N                the HTTPS port (default 8443)
  --host ADDRESS          the address to listen on (default: every address)
  --cache-ttl DURATION    how long a verified digest is trusted without verifying it again (default 60s; 0 keeps none)
  --verify-timeout DURATION
                          how long one image may take before it is denied as timed out (default 10s);
                          keep it under the webhook's timeoutSeconds
  --trusted-root FILE     a Sigstore trusted_root.json (default: the public-good root, via TUF;
                          SIGNET_OFFLINE=1 uses the copy shipped with Signet)

Endpoints: POST /mutate (verify and pin tags to digests), POST /validate (verify), GET /healthz.
Registry credentials: the Docker config ($DOCKER_CONFIG/config.json, else ~/.docker/config.json).`;

/** Exit statuses, as the signet CLI's: 2 bad usage or input, 3 a key provider failed. */
const EXIT_USAGE = 2;
const EXIT_PROVIDER = 3;
const TLS_POLL_MS = 10_000;

export interface RunningAdmission {
  server: https.Server;
  port: number;
  /** Reads the certificate and key again (as on SIGHUP); keeps the ones in use when that fails. */
  reloadTls(why: string): void;
  /** Stops watching the certificate and closes the server once the reviews under way are answered. */
  close(): Promise<void>;
}

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  let running: RunningAdmission;
  try {
    running = await startAdmission(argv);
  } catch (error) {
    const code = (error as SignetError).code;
    process.stderr.write(`signet-admission: ${(error as Error).message}\n`);
    process.exitCode = code === 'E_PROVIDER' || code === 'E_PERMISSION' ? EXIT_PROVIDER : EXIT_USAGE;
    return;
  }
  process.on('SIGHUP', () => running.reloadTls('SIGHUP'));
  const shutdown = () => {
    log({ msg: 'stopping: answering the reviews under way' });
    void running.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

/** Parses the command line, loads the policy and the certificate, and listens. */
export async function startAdmission(argv: readonly string[], options: { log?: (line: object) => void } = {}): Promise<RunningAdmission> {
  const write = options.log ?? log;
  let values: ReturnType<typeof parse>['values'];
  try {
    ({ values } = parse(argv));
  } catch (error) {
    throw usage((error as Error).message);
  }
  for (const flag of ['policy', 'tls-cert', 'tls-key'] as const) {
    if (!values[flag]) throw usage(`--${flag} is required`);
  }
  const port = Number(values.port);
  // 0: any free port, for tests.
  if (!/^\d+$/.test(values.port ?? '') || port > 65535) throw usage(`--port must be a port number, not "${values.port}"`);
  const cacheTtlMs = duration(values['cache-ttl'], '--cache-ttl');
  const verifyTimeoutMs = duration(values['verify-timeout'], '--verify-timeout');
  if (verifyTimeoutMs <= 0) throw usage('--verify-timeout must be more than 0');

  const policyFile = values.policy as string;
  const certFile = values['tls-cert'] as string;
  const keyFile = values['tls-key'] as string;
  const policy = await loadGatePolicy(policyFile);
  if (!policy.rules.some((rule) => rule.kind === 'image')) {
    throw new SignetError({
      code: 'E_INPUT',
      message: `${policyFile} has no kind: image rule, so every image would be denied; add one (see the admission README)`,
    });
  }
  const trustedRootFile = values['trusted-root'];
  const trustedRoot = trustedRootFile ? await readTrustedRoot(trustedRootFile) : undefined;
  const server = createAdmissionServer({
    policy,
    tls: readTls(certFile, keyFile),
    verifyTimeoutMs,
    cacheTtlMs,
    ...(trustedRoot ? { trustedRoot: async () => trustedRoot } : {}),
    ...(options.log ? { log: options.log } : {}),
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, ...(values.host ? { host: values.host } : {}) }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const listening = (server.address() as AddressInfo).port;
  write({ msg: 'listening', port: listening, policy: policyFile, rules: policy.rules.length, cacheTtlMs, verifyTimeoutMs });

  const reloadTls = (why: string) => {
    try {
      server.setSecureContext(readTls(certFile, keyFile));
      write({ msg: 'reloaded the TLS certificate', why });
    } catch (error) {
      write({ msg: 'kept the TLS certificate in use', why, error: (error as Error).message });
    }
  };
  // Polled rather than fs.watch: a Secret volume is updated by swapping a symlink, which
  // inotify on the file itself does not see. A half-rotated pair (the new certificate, the old
  // key) fails to load and is tried again at the next change; the server keeps the old pair.
  const watched = (current: fs.Stats, previous: fs.Stats) => {
    if (current.mtimeMs !== previous.mtimeMs || current.ino !== previous.ino) reloadTls('the certificate or key file changed');
  };
  for (const file of [certFile, keyFile]) fs.watchFile(file, { interval: TLS_POLL_MS, persistent: false }, watched);

  return {
    server,
    port: listening,
    reloadTls,
    close: async () => {
      for (const file of [certFile, keyFile]) fs.unwatchFile(file, watched);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
    },
  };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      policy: { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      port: { type: 'string', default: '8443' },
      host: { type: 'string' },
      'cache-ttl': { type: 'string', default: `${DEFAULT_CACHE_TTL_MS / 1000}s` },
      'verify-timeout': { type: 'string', default: `${DEFAULT_VERIFY_TIMEOUT_MS / 1000}s` },
      'trusted-root': { type: 'string' },
    },
  });
}

function readTls(certFile: string, keyFile: string): { cert: Buffer; key: Buffer } {
  const read = (file: string, what: string) => {
    try {
      return fs.readFileSync(file);
    } catch (cause) {
      throw new SignetError({ code: 'E_INPUT', message: `cannot read the ${what} ${file}: ${(cause as Error).message}`, cause });
    }
  };
  return { cert: read(certFile, 'TLS certificate'), key: read(keyFile, 'TLS key') };
}

function duration(text: string | undefined, flag: string): number {
  const ms = parseDuration(text ?? '');
  if (ms === undefined) throw usage(`${flag} must be a duration such as 60s, 500ms or 2m, not "${text}"`);
  return ms;
}

function usage(message: string): SignetError {
  return new SignetError({ code: 'E_USAGE', message: `${message}\n${USAGE}` });
}

function log(line: object): void {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...line })}\n`);
}
