/**
 * Sources of the tiny Node programs that run inside namespaces (a process cannot switch its own
 * namespace from Node, so every probe is a child started with `ip netns exec`). Each takes one
 * JSON argument and exits when its stdin closes, so a crashed test run leaves no processes behind.
 * They are plain JavaScript strings because they run in a bare `node -e`, not through ts-jest.
 */

/** Shared prelude: parse the JSON config, die with the parent. */
const PRELUDE = [
  "const cfg = JSON.parse(process.argv[1]);",
  "process.stdin.on('end', () => process.exit(0));",
  "process.stdin.on('error', () => process.exit(0));",
  "process.stdin.resume();",
  "const report = (obj) => process.stdout.write(JSON.stringify(obj) + '\\n');",
  // Dual-stack sockets see IPv4 peers as ::ffff:a.b.c.d; report the plain address.
  "const plain = (addr) => String(addr).replace(/^::ffff:(?=\\d+\\.)/, '');",
].join("\n");

/**
 * Echo server. cfg: { proto: "tcp"|"udp", port, host, ipv6Only }. Reports {listening: port},
 * then {peer: address} for each TCP connection or UDP datagram.
 */
export const ECHO_SERVER_SCRIPT = `${PRELUDE}
const fail = (err) => { process.stderr.write(String(err && err.message || err) + '\\n'); process.exit(1); };
if (cfg.proto === 'tcp') {
  const server = require('net').createServer((sock) => {
    report({ peer: plain(sock.remoteAddress) });
    sock.on('error', () => {});
    sock.pipe(sock);
  });
  server.on('error', fail);
  server.listen({ port: cfg.port, host: cfg.host, ipv6Only: cfg.ipv6Only }, () => report({ listening: server.address().port }));
} else {
  const sock = require('dgram').createSocket({ type: cfg.host.includes(':') ? 'udp6' : 'udp4', ipv6Only: cfg.ipv6Only });
  sock.on('error', fail);
  sock.on('message', (msg, rinfo) => {
    report({ peer: plain(rinfo.address) });
    sock.send(msg, rinfo.port, rinfo.address);
  });
  sock.bind(cfg.port, cfg.host, () => report({ listening: sock.address().port }));
}
`;

/**
 * One TCP or UDP exchange. cfg: { proto, host, port, timeoutMs, payload }. Sends the payload
 * line, expects it echoed, reports {ok, error?} and exits. The timeout starts once Node is up, so
 * process start-up never counts against the network.
 */
export const EXCHANGE_SCRIPT = `${PRELUDE}
let done = false;
let sock;
const finish = (ok, error) => {
  if (done) return;
  done = true;
  report(ok ? { ok } : { ok, error });
  try { sock.destroy ? sock.destroy() : sock.close(); } catch (e) {}
  process.exit(0);
};
setTimeout(() => finish(false, 'timeout after ' + cfg.timeoutMs + ' ms'), cfg.timeoutMs);
const line = cfg.payload + '\\n';
const check = (received) => received === line ? finish(true) : finish(false, 'unexpected reply ' + JSON.stringify(received));
if (cfg.proto === 'tcp') {
  let buffer = '';
  sock = require('net').connect({ host: cfg.host, port: cfg.port });
  sock.on('connect', () => sock.write(line));
  sock.on('data', (data) => {
    buffer += data;
    if (buffer.includes('\\n')) check(buffer);
  });
  sock.on('error', (err) => finish(false, err.code || err.message));
  sock.on('close', () => finish(false, 'closed before the echo'));
} else {
  sock = require('dgram').createSocket(cfg.host.includes(':') ? 'udp6' : 'udp4');
  sock.on('error', (err) => finish(false, err.code || err.message));
  sock.on('message', (msg) => check(msg.toString()));
  // Connected, so an ICMP unreachable surfaces as ECONNREFUSED instead of a silent timeout.
  sock.connect(cfg.port, cfg.host, () => sock.send(line));
}
`;

/**
 * A held TCP connection. cfg: { host, port, timeoutMs }. Connects, checks one echo and reports
 * {ready: true} (or {ok: false, error}); then for each stdin line "<id> <timeoutMs>" sends a
 * line on the same connection and reports {id, ok, error?}. Reports {closed: reason} if the
 * connection goes away.
 */
export const HOLD_TCP_SCRIPT = `${PRELUDE}
let buffer = '';
let pending;
let ready = false;
let closedReason;
const settle = (result) => {
  if (!pending) return;
  clearTimeout(pending.timer);
  const id = pending.id;
  pending = undefined;
  report(Object.assign({ id }, result));
};
const sock = require('net').connect({ host: cfg.host, port: cfg.port });
const startTimer = setTimeout(() => { report({ ok: false, error: 'timeout after ' + cfg.timeoutMs + ' ms' }); process.exit(0); }, cfg.timeoutMs);
sock.on('connect', () => sock.write('hold-ready\\n'));
sock.on('data', (data) => {
  buffer += data;
  let nl;
  while ((nl = buffer.indexOf('\\n')) >= 0) {
    const got = buffer.slice(0, nl);
    buffer = buffer.slice(nl + 1);
    if (!ready && got === 'hold-ready') {
      ready = true;
      clearTimeout(startTimer);
      report({ ready: true });
    } else if (pending && got === 'hold-' + pending.id) {
      settle({ ok: true });
    } else if (pending) {
      settle({ ok: false, error: 'unexpected reply ' + JSON.stringify(got) });
    }
  }
});
const onGone = (reason) => {
  if (closedReason) return;
  closedReason = reason;
  if (!ready) { report({ ok: false, error: reason }); process.exit(0); }
  settle({ ok: false, error: reason });
  report({ closed: reason });
};
sock.on('error', (err) => onGone(err.code || err.message));
sock.on('close', () => onGone('connection closed'));
let input = '';
process.stdin.on('data', (data) => {
  input += data;
  let nl;
  while ((nl = input.indexOf('\\n')) >= 0) {
    const [id, timeoutMs] = input.slice(0, nl).split(' ');
    input = input.slice(nl + 1);
    if (closedReason) { report({ id, ok: false, error: closedReason }); continue; }
    pending = { id, timer: setTimeout(() => settle({ ok: false, error: 'timeout after ' + timeoutMs + ' ms' }), Number(timeoutMs)) };
    sock.write('hold-' + id + '\\n');
  }
});
`;
