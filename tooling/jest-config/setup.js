// Runs in every test file before its tests.
//
// Network guard: tests reach only 127.0.0.1 (the emulators, Verdaccio, registries they
// start themselves). A connection anywhere else is refused on the spot and fails the
// test that made it, even when the code under test swallows the error and retries.
const net = require('node:net');

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost', '::ffff:127.0.0.1']);
const violations = [];
// Visible to the guard's own test, which must clear what it provoked.
globalThis.__signetNetworkGuard = { violations };

const originalConnect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function guardedConnect(...callArgs) {
  // net.connect() passes its already-normalised [options, callback] as one array.
  const args = Array.isArray(callArgs[0]) ? callArgs[0] : callArgs;
  const options = typeof args[0] === 'object' && args[0] !== null && !Array.isArray(args[0]) ? args[0] : undefined;
  const path = options ? options.path : typeof args[0] === 'string' && Number.isNaN(Number(args[0])) ? args[0] : undefined;
  if (!path) {
    const host = options ? (options.host ?? 'localhost') : typeof args[1] === 'string' ? args[1] : 'localhost';
    if (!LOOPBACK.has(host)) {
      const port = options ? options.port : args[0];
      violations.push(`${host}:${port}`);
      const error = new Error(`network guard: tests may only connect to 127.0.0.1, not ${host}:${port}`);
      error.code = 'ESIGNETNETGUARD';
      process.nextTick(() => this.destroy(error));
      return this;
    }
  }
  return originalConnect.apply(this, callArgs);
};

afterEach(() => {
  if (violations.length > 0) {
    const seen = violations.splice(0).join(', ');
    throw new Error(`this test opened connections outside 127.0.0.1: ${seen}`);
  }
});
