// Preloaded (node -r) into a signet child process that must believe it is offline: any
// connection outside loopback fails at once, before a DNS query or a packet leaves the
// machine, as an unplugged network would (ENETUNREACH).
const net = require('node:net');

const LOOPBACK = /^(127(?:\.\d{1,3}){3}|::1|localhost|::ffff:127(?:\.\d{1,3}){3})$/;
const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function loopbackOnly(...callArgs) {
  const args = Array.isArray(callArgs[0]) ? callArgs[0] : callArgs;
  const options = typeof args[0] === 'object' && args[0] !== null ? args[0] : undefined;
  const host = options ? (options.host ?? 'localhost') : typeof args[1] === 'string' ? args[1] : 'localhost';
  if (!options?.path && !LOOPBACK.test(host)) {
    const error = Object.assign(new Error(`connect ENETUNREACH ${host}`), { code: 'ENETUNREACH' });
    process.nextTick(() => this.destroy(error));
    return this;
  }
  return connect.apply(this, callArgs);
};
