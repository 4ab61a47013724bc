// Preloaded into every Node process the rehearsal starts (NODE_OPTIONS=--require): npm,
// changesets, the signet CLI and whatever they start in turn. jest's own guard sees only the
// test's process; this one refuses a connection anywhere but loopback in the children too,
// and appends it to SIGNET_NETWORK_GUARD_LOG, which the test asserts is empty.
const fs = require('node:fs');
const net = require('node:net');

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost', '::ffff:127.0.0.1']);
const log = process.env.SIGNET_NETWORK_GUARD_LOG;

const originalConnect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function guardedConnect(...callArgs) {
  const args = Array.isArray(callArgs[0]) ? callArgs[0] : callArgs;
  const options = typeof args[0] === 'object' && args[0] !== null && !Array.isArray(args[0]) ? args[0] : undefined;
  const path = options ? options.path : typeof args[0] === 'string' && Number.isNaN(Number(args[0])) ? args[0] : undefined;
  if (!path) {
    const host = options ? (options.host ?? 'localhost') : typeof args[1] === 'string' ? args[1] : 'localhost';
    if (!LOOPBACK.has(host)) {
      const port = options ? options.port : args[0];
      const line = `${host}:${port} from ${process.argv.slice(1).join(' ')}\n`;
      if (log) fs.appendFileSync(log, line);
      const error = new Error(`network guard: the rehearsal may only connect to 127.0.0.1, not ${host}:${port}`);
      error.code = 'ESIGNETNETGUARD';
      process.nextTick(() => this.destroy(error));
      return this;
    }
  }
  return originalConnect.apply(this, callArgs);
};
