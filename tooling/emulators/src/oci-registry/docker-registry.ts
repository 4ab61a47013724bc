// Debian's docker-registry (distribution 2.8) as a child process on 127.0.0.1, with a
// throw-away filesystem store: the real registry, for tests that must not trust our own fixture.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { INSTALL_HINT, requireRegistryTool } from './tools';
import type { RunningRegistry } from './types';

export interface DockerRegistryOptions {
  /** htpasswd basic auth with this user (the file is made with `htpasswd -Bbn`). */
  auth?: { username: string; password: string };
  /** How long to wait for /v2/ to answer (default 15 s). */
  startTimeoutMs?: number;
}

export interface RunningDockerRegistry extends RunningRegistry {
  /** The temporary directory holding config.yml, the store, htpasswd and registry.log. */
  dir: string;
  /** The registry's log (with its access log), for a test's failure message. */
  log(): string;
}

/**
 * The registry runs under a small sh that reads its stdin until EOF and then stops it: stop()
 * closes that pipe, and so does the kernel when the jest worker dies, so no registry outlives
 * the tests. The sh also exits when the registry does (a failed start), which spawn() reports.
 */
const SUPERVISOR = `exec 3<&0
"$0" serve "$1" </dev/null &
registry=$!
{ read -r _ <&3; kill "$registry" 2>/dev/null; } &
watcher=$!
wait "$registry"
status=$?
kill "$watcher" 2>/dev/null
exit "$status"`;

/**
 * Starts Debian's docker-registry 2.8 on 127.0.0.1 with a temporary filesystem store (removed
 * on stop), deletion enabled, and optionally htpasswd basic auth. Waits until /v2/ answers.
 */
export async function startDockerRegistry(options: DockerRegistryOptions = {}): Promise<RunningDockerRegistry> {
  const binary = requireRegistryTool('dockerRegistry');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-docker-registry-'));
  try {
    if (options.auth) {
      const htpasswd = requireRegistryTool('htpasswd');
      // -B: bcrypt, the only hash distribution's htpasswd accepts.
      const line = execFileSync(htpasswd, ['-Bbn', options.auth.username, options.auth.password], { encoding: 'utf8' });
      fs.writeFileSync(path.join(dir, 'htpasswd'), line);
    }
    // Another process may take the port between our probe and the registry's bind: retry then.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const started = await launch(binary, dir, port, options);
      if (started.ok) return started.registry;
      if (attempt >= 3 || !/address already in use/.test(started.log)) {
        throw new Error(
          `docker-registry did not start on 127.0.0.1:${port}: ${started.reason}. Its log (${path.join(dir, 'registry.log')}):\n` +
            `${started.log.trim() || '(empty)'}\nIs the Debian package installed and working? (${INSTALL_HINT})`,
        );
      }
    }
  } catch (error) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

type Launch = { ok: true; registry: RunningDockerRegistry } | { ok: false; reason: string; log: string };

async function launch(binary: string, dir: string, port: number, options: DockerRegistryOptions): Promise<Launch> {
  const configPath = path.join(dir, 'config.yml');
  const logPath = path.join(dir, 'registry.log');
  fs.writeFileSync(configPath, registryConfig(dir, port, options));
  const logFd = fs.openSync(logPath, 'w');
  let child: ChildProcess;
  try {
    child = spawn('/bin/sh', ['-c', SUPERVISOR, binary, configPath], {
      cwd: dir,
      stdio: ['pipe', logFd, logFd],
      // The registry lets REGISTRY_* variables override its config file (REGISTRY_HTTP_ADDR…):
      // none from the caller's environment may leak in.
      env: Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('REGISTRY_'))),
    });
  } finally {
    fs.closeSync(logFd);
  }
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => resolve(signal ? `it was killed by ${signal}` : `it exited with status ${code}`));
    child.once('error', (error) => resolve(`it could not be run: ${error.message}`));
  });
  let exitReason: string | undefined;
  void exited.then((reason) => {
    exitReason = reason;
  });
  const log = () => (fs.existsSync(logPath) ? fs.readFileSync(logPath, 'utf8') : '');
  const url = `http://127.0.0.1:${port}`;

  const stop = async () => {
    if (exitReason === undefined) {
      child.stdin?.end();
      if (!(await within(exited, 5_000))) {
        child.kill('SIGKILL');
        await exited;
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + (options.startTimeoutMs ?? 15_000);
  while (Date.now() < deadline) {
    if (exitReason !== undefined) return { ok: false, reason: exitReason, log: log() };
    try {
      const response = await fetch(`${url}/v2/`, { signal: AbortSignal.timeout(1_000) });
      await response.arrayBuffer();
      // 401 is an answer too: with auth on, /v2/ wants credentials.
      if (response.status === 200 || response.status === 401) {
        return {
          ok: true,
          registry: {
            url,
            host: `127.0.0.1:${port}`,
            ...(options.auth ? { credentials: { ...options.auth } } : {}),
            requests: [],
            dir,
            log,
            stop,
          },
        };
      }
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  const reason = exitReason ?? `/v2/ did not answer within ${options.startTimeoutMs ?? 15_000} ms`;
  child.stdin?.end();
  if (!(await within(exited, 5_000))) child.kill('SIGKILL');
  return { ok: false, reason, log: log() };
}

/** config.yml: JSON is valid YAML, so no YAML writer is needed. */
function registryConfig(dir: string, port: number, options: DockerRegistryOptions): string {
  const config = {
    version: 0.1,
    log: { level: 'info', formatter: 'text' },
    storage: {
      filesystem: { rootdirectory: path.join(dir, 'store') },
      delete: { enabled: true },
      // The purger is a background timer that would only ever delete the test's own uploads.
      maintenance: { uploadpurging: { enabled: false } },
    },
    http: {
      addr: `127.0.0.1:${port}`,
      // A fixed secret silences the "No HTTP secret provided" warning; uploads' state tokens are signed with it.
      secret: randomBytes(16).toString('hex'),
      headers: { 'X-Content-Type-Options': ['nosniff'] },
    },
    ...(options.auth ? { auth: { htpasswd: { realm: 'signet-test', path: path.join(dir, 'htpasswd') } } } : {}),
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

/** Whether the promise settles within ms; the timer is cleared, so it never holds the process open. */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A port nobody listens on right now (the OS's pick for port 0). */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
