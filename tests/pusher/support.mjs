// Harness of the Pusher end-to-end suite (not a test file: node --test runs
// only *.test.mjs). It starts the real bin/frankenphp with a generated
// Caddyfile (the layout of SPEC §8: a named matcher for /ws /app/* /apps/*
// in front of php_server), private valkey-servers for the two-node tests,
// and builds clients: pusher-js 8.6.0, laravel-echo 2.5.0, the `pusher`
// 5.3.4 server SDK, raw `ws` sockets speaking the Pusher protocol, and raw
// `ws` sockets speaking the native protocol (SPEC §4).
//
// Every wait is bounded and waits for a condition; the only timers are
// poll intervals and, for "X must not happen" checks that have no sentinel
// (pusher-js not reconnecting), an observation window longer than the delay
// after which the thing would happen.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, createHmac, randomBytes, randomInt } from 'node:crypto';
import { accessSync, constants, createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import { freePort } from '../common.mjs';

import Pusher from 'pusher-js';
import Echo from 'laravel-echo';
import PusherServer from 'pusher';
import WebSocket from 'ws';

export { Pusher, Echo, PusherServer, WebSocket, delay };
export { freePort };

// faye-websocket, which pusher-js's Node build bundles, arms a 30 s timer
// when pusher-js closes a socket the server already closed (4009, 4001...)
// and never clears it: harmless for an app, but it would keep each test
// process alive 30 s after its last test. Unref just that timer.
const realSetTimeout = globalThis.setTimeout;
globalThis.setTimeout = function setTimeoutUnrefFayeClose(fn, ms, ...args) {
  const t = realSetTimeout(fn, ms, ...args);
  if (ms === 30_000 && typeof fn === 'function' && fn.toString().includes('_beginClose')) t.unref?.();
  return t;
};

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = process.env.FRANKENPHP_BIN || join(ROOT, 'bin/frankenphp');
export const APP_ROOT = join(ROOT, 'tests/fixtures/app');
/** valkey-server (or redis-server) from $VALKEY_SERVER_BIN or PATH; null when there is none. */
export const VALKEY_BIN = process.env.VALKEY_SERVER_BIN || (() => {
  for (const dir of (process.env.PATH || '').split(':')) {
    for (const name of ['valkey-server', 'redis-server']) {
      try {
        accessSync(join(dir, name), constants.X_OK);
        return join(dir, name);
      } catch {
        // not here
      }
    }
  }
  return null;
})();

/** Default bound of one wait for a frame, an event or a state. */
export const WAIT = 10_000;
const READY_TIMEOUT = 30_000;
const STOP_TIMEOUT = 10_000;

const KEEP = process.env.KEEP_ARTIFACTS === '1';
const ARTIFACTS = mkdtempSync(join(tmpdir(), 'realtime-pusher-'));

// ---- process bookkeeping -----------------------------------------------------

/** Live child processes, killed on exit whatever happens. */
const children = new Set();
let failed = false;
process.once('exit', (code) => {
  for (const c of children) c.kill('SIGKILL');
  if (KEEP || code !== 0 || failed) {
    if (code !== 0 || failed) console.error(`server logs kept in ${ARTIFACTS}`);
  } else {
    rmSync(ARTIFACTS, { recursive: true, force: true });
  }
});
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    for (const c of children) c.kill('SIGKILL');
    process.exit(130);
  });
}


/** Polls cond() (sync or async) every `interval` ms until it is truthy; returns its value. */
export async function waitFor(cond, { timeout = WAIT, interval = 20, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await cond();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeout} ms waiting for ${what}${last ? `: ${last.message}` : ''}`);
    }
    await delay(interval);
  }
}

/** Rejects after ms with a message naming what was awaited. */
export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, fail) => {
    timer = setTimeout(() => fail(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function uid(prefix = '') {
  return prefix + randomBytes(5).toString('hex');
}

// ---- the FrankenPHP server ---------------------------------------------------

/** The test app's credentials (random per run; the secret also reaches PHP through the environment). */
export const APP = {
  id: String(randomInt(100_000, 999_999)),
  key: 'key' + randomBytes(8).toString('hex'),
  secret: randomBytes(16).toString('hex'),
};

let serverCount = 0;

/**
 * One bin/frankenphp process on its own loopback port.
 *
 * options: realtime lines (array of strings) besides pusher_app, e.g.
 * ['presence_grace 500ms', 'pusher_activity_timeout 1s']; admin: enable the
 * admin API on another free loopback port; env: extra environment;
 * matcher: the paths of the @realtime named matcher.
 */
export class Server {
  constructor({ options = [], admin = false, env = {}, app = APP, name, matcher = '/ws /app/* /apps/*' } = {}) {
    this.options = options;
    this.matcher = matcher;
    this.admin = admin;
    this.env = env;
    this.app = app;
    this.name = name || `server-${++serverCount}`;
    this.dir = mkdtempSync(join(ARTIFACTS, `${this.name}-`));
    this.logPath = join(this.dir, 'server.log');
    this.token = randomBytes(12).toString('hex');
    this.child = null;
  }

  static async start(opts) {
    const s = new Server(opts);
    await s.start();
    return s;
  }

  caddyfile() {
    const realtime = [
      // The SPEC §8 form, environment placeholders included.
      'pusher_app {$PUSHER_TEST_APP_ID} {$PUSHER_TEST_APP_KEY} {$PUSHER_TEST_APP_SECRET}',
      ...this.options,
    ].map((l) => `\t\t\t${l}`).join('\n');
    return [
      '{',
      this.adminPort ? `\tadmin 127.0.0.1:${this.adminPort}` : '\tadmin off',
      '\tfrankenphp',
      '\tauto_https off',
      '}',
      '',
      `http://127.0.0.1:${this.port} {`,
      '\tbind 127.0.0.1',
      `\troot * ${APP_ROOT}`,
      '\thandle /__test-server-id {',
      `\t\trespond "${this.token}" 200`,
      '\t}',
      `\t@realtime path ${this.matcher}`,
      '\thandle @realtime {',
      '\t\trealtime {',
      realtime,
      '\t\t}',
      '\t}',
      '\tphp_server',
      '}',
      '',
    ].join('\n');
  }

  /** Starts on fresh ports (or on the same ones again when keepPorts). */
  async start({ keepPorts = false } = {}) {
    try {
      accessSync(BIN, constants.X_OK);
    } catch {
      throw new Error(`${BIN} not found or not executable: build it first (make build) or set FRANKENPHP_BIN`);
    }
    for (let attempt = 1; ; attempt++) {
      if (!keepPorts || !this.port) {
        this.port = await freePort();
        this.adminPort = this.admin ? await freePort() : null;
      }
      writeFileSync(join(this.dir, 'Caddyfile'), this.caddyfile());
      this.launch();
      try {
        await this.waitReady();
        return this;
      } catch (err) {
        await this.stop();
        // A port found free can be taken before Caddy binds it: retry.
        if (keepPorts || attempt >= 4 || !/address already in use|another server/.test(err.message + this.log())) {
          throw err;
        }
      }
    }
  }

  launch() {
    const log = createWriteStream(this.logPath, { flags: 'a' });
    const child = spawn(BIN, ['run', '--config', join(this.dir, 'Caddyfile'), '--adapter', 'caddyfile'], {
      cwd: this.dir,
      env: {
        ...process.env,
        XDG_DATA_HOME: join(this.dir, 'data'),
        XDG_CONFIG_HOME: join(this.dir, 'config'),
        REALTIME_TEST_DIR: this.dir,
        PUSHER_TEST_APP_ID: this.app.id,
        PUSHER_TEST_APP_KEY: this.app.key,
        PUSHER_TEST_APP_SECRET: this.app.secret,
        ...this.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.pipe(log, { end: false });
    child.stderr.pipe(log, { end: false });
    children.add(child);
    this.child = child;
    this.exitStatus = undefined;
    this.exited = new Promise((ok) => {
      child.once('exit', (code, signal) => {
        children.delete(child);
        this.exitStatus = signal ?? code;
        ok(this.exitStatus);
      });
      child.once('error', (err) => {
        children.delete(child);
        this.exitStatus = String(err);
        ok(this.exitStatus);
      });
    });
  }

  async waitReady() {
    const deadline = Date.now() + READY_TIMEOUT;
    let last = '';
    while (Date.now() < deadline) {
      if (this.exitStatus !== undefined) {
        throw new Error(this.diagnose(`the server exited during startup (${this.exitStatus})`));
      }
      try {
        const res = await fetch(this.url('/__test-server-id'), { signal: AbortSignal.timeout(1000) });
        const body = await res.text();
        if (res.status === 200 && body === this.token) {
          // PHP answers too (the fixtures are PHP): one page request.
          const php = await fetch(this.url('/pusher_call.php?ping=1'), { signal: AbortSignal.timeout(5000) });
          await php.text();
          return;
        }
        if (res.status === 200) throw new Error(`another server answers on port ${this.port}`);
        last = `HTTP ${res.status}`;
      } catch (err) {
        if (/another server/.test(err.message)) throw err;
        last = err.message;
      }
      await delay(50); // poll interval while the server starts
    }
    throw new Error(this.diagnose(`the server did not answer within ${READY_TIMEOUT} ms (${last})`));
  }

  /** SIGTERM, bounded wait, then SIGKILL. Resolves with the exit status. */
  async stop(timeout = STOP_TIMEOUT) {
    if (!this.child || this.exitStatus !== undefined) return this.exitStatus;
    this.child.kill('SIGTERM');
    const status = await Promise.race([this.exited, delay(timeout, 'timeout', { ref: false })]);
    if (status === 'timeout') {
      this.child.kill('SIGKILL');
      await this.exited;
      return 'killed after SIGTERM timeout';
    }
    return status;
  }

  url(path = '/') {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  wsUrl(path = '/ws') {
    return `ws://127.0.0.1:${this.port}${path}`;
  }

  pusherUrl(key = this.app.key) {
    return this.wsUrl(`/app/${key}?protocol=7&client=js&version=8.6.0&flash=false`);
  }

  adminUrl(path) {
    assert.ok(this.adminPort, 'this server runs without the admin API');
    return `http://127.0.0.1:${this.adminPort}${path}`;
  }

  log() {
    try {
      return readFileSync(this.logPath, 'utf8');
    } catch {
      return '';
    }
  }

  logTail(lines = 40) {
    return this.log().trimEnd().split('\n').slice(-lines).join('\n');
  }

  diagnose(message) {
    failed = true;
    return `${message}\n--- Caddyfile (${this.dir}) ---\n${this.caddyfile()}\n--- log tail ---\n${this.logTail()}`;
  }

  /** GET /realtime/stats of the admin API. */
  async stats() {
    const res = await this.admin_('GET', '/realtime/stats');
    assert.equal(res.status, 200, res.body);
    return JSON.parse(res.body);
  }

  /**
   * A request to the admin API with node:http (fetch adds Sec-Fetch-Mode:
   * cors, which Caddy's admin refuses without an allowed Origin).
   */
  admin_(method, path, body, contentType = 'application/json') {
    return new Promise((ok, fail) => {
      const req = httpRequest(this.adminUrl(path), {
        method, timeout: 10_000, headers: body === undefined ? {} : { 'content-type': contentType },
      }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => { text += d; });
        res.on('end', () => ok({ status: res.statusCode, body: text }));
      });
      req.on('timeout', () => req.destroy(new Error(`admin ${method} ${path} timed out`)));
      req.on('error', fail);
      req.end(body === undefined || typeof body === 'string' ? body : JSON.stringify(body));
    });
  }

  /** `caddy reload` through the admin API with new realtime options (same ports). */
  async reload(options) {
    this.options = options;
    writeFileSync(join(this.dir, 'Caddyfile'), this.caddyfile());
    const res = await this.admin_('POST', '/load', this.caddyfile(), 'text/caddyfile');
    assert.equal(res.status, 200, `reload: ${res.status} ${res.body}`);
  }

  /**
   * Calls a PHP function in the server through tests/fixtures/app/pusher_call.php.
   * Returns {status, body}; body is the parsed JSON ({result} or {class, message}) or null.
   */
  async php(fn, ...args) {
    const res = await fetch(this.url('/pusher_call.php'), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ fn, args: JSON.stringify(args) }),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  }

  /** Like php() but fails unless the call succeeded; returns its result. */
  async phpOk(fn, ...args) {
    const r = await this.php(fn, ...args);
    assert.ok(r.status === 200 || r.status === 204, `${fn}(${JSON.stringify(args)}) → ${r.status} ${JSON.stringify(r.body)}`);
    return r.body?.result;
  }

  /** The official Node server SDK, pointed at this server. */
  sdk(overrides = {}) {
    return new PusherServer({
      appId: this.app.id, key: this.app.key, secret: this.app.secret,
      host: '127.0.0.1', port: String(this.port), useTLS: false, timeout: 10_000,
      ...overrides,
    });
  }
}

// ---- valkey --------------------------------------------------------------------

/** A private valkey-server on a free loopback port, no persistence. */
export class Valkey {
  static async start() {
    if (!VALKEY_BIN) throw new Error('valkey-server not found: run scripts/install-valkey.sh (or set VALKEY_SERVER_BIN)');
    const v = new Valkey();
    v.port = await freePort();
    v.dir = mkdtempSync(join(ARTIFACTS, 'valkey-'));
    const log = createWriteStream(join(v.dir, 'valkey.log'));
    v.child = spawn(VALKEY_BIN, ['--port', String(v.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', v.dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    v.child.stdout.pipe(log);
    v.child.stderr.pipe(log);
    children.add(v.child);
    v.exited = new Promise((ok) => v.child.once('exit', (c, s) => { children.delete(v.child); v.status = s ?? c; ok(v.status); }));
    await waitFor(async () => {
      if (v.status !== undefined) throw new Error(`valkey-server exited (${v.status})`);
      return (await v.command('PING')) === 'PONG';
    }, { timeout: 10_000, interval: 50, what: 'valkey-server to answer PING' });
    return v;
  }

  get address() {
    return `127.0.0.1:${this.port}`;
  }

  /** One RESP command over a fresh connection; returns the first reply line's value. */
  command(...args) {
    return new Promise((ok, fail) => {
      import('node:net').then(({ connect }) => {
        const sock = connect(this.port, '127.0.0.1');
        let buf = '';
        sock.setTimeout(2000, () => { sock.destroy(); fail(new Error('valkey timeout')); });
        sock.on('error', fail);
        sock.on('data', (d) => {
          buf += d;
          if (buf.includes('\r\n')) {
            sock.end();
            ok(buf.slice(1, buf.indexOf('\r\n')));
          }
        });
        sock.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
      }, fail);
    });
  }

  async stop() {
    if (this.status !== undefined) return;
    this.child.kill('SIGTERM');
    await Promise.race([this.exited, delay(STOP_TIMEOUT, undefined, { ref: false })]);
    if (this.status === undefined) this.child.kill('SIGKILL');
  }
}

// ---- signatures (PUSHER.md §9) ---------------------------------------------------

export function hmac(secret, text) {
  return createHmac('sha256', secret).update(text).digest('hex');
}

/** auth value of a private / encrypted channel subscription. */
export function channelAuth(socketId, channel, app = APP) {
  return `${app.key}:${hmac(app.secret, `${socketId}:${channel}`)}`;
}

/** auth value of a presence subscription signed over the exact channel_data string. */
export function presenceAuth(socketId, channel, channelData, app = APP) {
  return `${app.key}:${hmac(app.secret, `${socketId}:${channel}:${channelData}`)}`;
}

/** auth value of pusher:signin. */
export function userAuth(socketId, userData, app = APP) {
  return `${app.key}:${hmac(app.secret, `${socketId}::user::${userData}`)}`;
}

/**
 * A hand-signed HTTP API request (for what the SDK cannot send: old
 * timestamps, tampered bodies, wrong secrets...). Returns {status, body, json}.
 */
export async function signedRequest(server, method, path, {
  query = {}, body, secret = server.app.secret, key = server.app.key,
  timestamp = Math.floor(Date.now() / 1000), sendBody, tamper, prefix = '',
} = {}) {
  const params = { auth_key: key, auth_timestamp: String(timestamp), auth_version: '1.0', ...query };
  if (body !== undefined && body !== '') params.body_md5 = createHash('md5').update(body).digest('hex');
  const sorted = Object.keys(params).sort().map((k) => `${k.toLowerCase()}=${params[k]}`).join('&');
  params.auth_signature = hmac(secret, `${method}\n${path}\n${sorted}`);
  if (tamper) tamper(params);
  const qs = new URLSearchParams(params).toString();
  // A route prefix (Echo's wsPath, the PHP SDK's `path`) is not signed.
  const res = await fetch(`${server.url(prefix + path)}?${qs}`, {
    method,
    headers: body !== undefined ? { 'content-type': 'application/json' } : {},
    body: sendBody ?? body,
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, body: text, json, headers: res.headers };
}

// ---- pusher-js and Echo --------------------------------------------------------

/**
 * Channel authorization the way Laravel's /broadcasting/auth answers,
 * computed with the official SDK (no network): user gives presence
 * channel_data {user_id, user_info}.
 */
export function sdkAuthorizer(server, { user, info, wrongSecret = false, omit = false } = {}) {
  const sdk = new PusherServer({ appId: server.app.id, key: server.app.key, secret: wrongSecret ? 'wrong-secret-123' : server.app.secret });
  return (params, callback) => {
    if (omit) return callback(null, { auth: '' });
    const { socketId, channelName } = params;
    if (channelName.startsWith('presence-')) {
      return callback(null, sdk.authorizeChannel(socketId, channelName, { user_id: user, user_info: info ?? { name: `user ${user}` } }));
    }
    return callback(null, sdk.authorizeChannel(socketId, channelName));
  };
}

/** User authentication for pusher:signin, signed with the SDK. */
export function sdkUserAuthenticator(server, { id, wrongSecret = false } = {}) {
  const sdk = new PusherServer({ appId: server.app.id, key: server.app.key, secret: wrongSecret ? 'wrong-secret-123' : server.app.secret });
  return (params, callback) => callback(null, sdk.authenticateUser(params.socketId, { id: String(id), user_info: { name: `user ${id}` } }));
}

const clients = new Set();

/**
 * Disconnects every pusher-js / Echo / ws client created since the last
 * call and waits (bounded) until their sockets are closed, so that a server
 * stopped next has no connection left to close over its 5 s spread.
 */
export async function closeClients() {
  const closing = [];
  for (const c of clients) {
    try {
      if (c instanceof RawPusher) {
        c.close();
        closing.push(c.closed);
      } else if (c.connection) {
        // pusher-js: its faye socket, if any, reaches readyState 3 once closed.
        const sock = c.connection.connection?.transport?.socket;
        c.disconnect();
        if (sock) closing.push(waitFor(() => sock.readyState === 3, { timeout: 2000, what: 'pusher-js socket closed' }).catch(() => {}));
      } else {
        c.disconnect?.();
      }
    } catch {
      // already gone
    }
  }
  clients.clear();
  await withTimeout(Promise.all(closing), 3000, 'clients to close').catch(() => {});
}

/** pusher-js options for this server, as Laravel's Echo stubs set them. */
export function pusherOptions(server, { user, info, auth, userAuth: ua, key, ...rest } = {}) {
  return {
    cluster: '',
    wsHost: '127.0.0.1',
    wsPort: server.port,
    wssPort: server.port,
    forceTLS: false,
    enabledTransports: ['ws'],
    disableStats: true,
    channelAuthorization: { customHandler: auth ?? sdkAuthorizer(server, { user, info }) },
    userAuthentication: { customHandler: ua ?? sdkUserAuthenticator(server, { id: user }) },
    ...rest,
  };
}

/**
 * A connected pusher-js client (resolves once `connected`), tracking the
 * close codes it saw in .closeCodes and its state changes in .states.
 */
export async function connectPusher(server, opts = {}) {
  const { waitConnected = true, ...rest } = opts;
  const p = new Pusher(rest.key ?? server.app.key, pusherOptions(server, rest));
  track(p);
  if (waitConnected) await waitState(p, 'connected');
  return p;
}

function track(p) {
  clients.add(p);
  p.closeCodes = [];
  p.errors = [];
  p.states = [p.connection.state];
  p.connection.bind('state_change', ({ current }) => p.states.push(current));
  p.connection.bind('error', (err) => {
    p.errors.push(err);
    const code = err?.error?.data?.code;
    if (code !== undefined) p.closeCodes.push(code);
  });
  return p;
}

export function waitState(p, state, timeout = WAIT) {
  return waitFor(() => p.connection.state === state, { timeout, what: `pusher-js state ${state} (now ${p.connection.state}, seen ${p.states?.join(' → ')})` });
}

/** Resolves with the first payload of `event` bound on a pusher-js channel / connection / user. */
export function nextEvent(target, event, timeout = WAIT, filter = () => true) {
  return nextEventWithMeta(target, event, timeout, filter).then((e) => e.data);
}

/** Like nextEvent, with pusher-js's metadata: resolves {data, meta}. */
export function nextEventWithMeta(target, event, timeout = WAIT, filter = () => true) {
  return withTimeout(new Promise((ok) => {
    const fn = (data, meta) => {
      if (!filter(data, meta)) return;
      target.unbind(event, fn);
      ok({ data, meta });
    };
    target.bind(event, fn);
  }), timeout, `event ${event}`);
}

/** Collects every payload of `event` on a pusher-js target into an array. */
export function collect(target, event) {
  const out = [];
  target.bind(event, (data) => out.push(data));
  return out;
}

/** Subscribes and waits for subscription_succeeded (rejects on subscription_error). */
export function subscribe(p, channel, timeout = WAIT) {
  const ch = p.subscribe(channel);
  return withTimeout(new Promise((ok, fail) => {
    ch.bind('pusher:subscription_succeeded', (data) => ok(Object.assign(ch, { succeeded: data })));
    ch.bind('pusher:subscription_error', (err) => fail(Object.assign(new Error(`subscription_error on ${channel}: ${JSON.stringify(err)}`), { status: err?.status, payload: err })));
  }), timeout, `subscription to ${channel}`);
}

/**
 * Observes a pusher-js client for `ms` and fails if it leaves `disconnected`
 * (pusher-js would retry after 0 s on 42xx and 1 s on 41xx, so 2.5 s covers it).
 */
export async function assertStaysDisconnected(p, ms = 2500) {
  await waitState(p, 'disconnected');
  const before = p.states.length;
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    assert.equal(p.connection.state, 'disconnected', `pusher-js reconnected: ${p.states.join(' → ')}`);
    await delay(50); // poll interval of the observation window
  }
  assert.deepEqual(p.states.slice(before), [], `pusher-js changed state: ${p.states.join(' → ')}`);
}

/** Laravel Echo (broadcaster reverb) with pusher-js passed as the Pusher option (Echo 2.5 is ESM-only). */
export async function connectEcho(server, opts = {}) {
  const { broadcaster = 'reverb', ...rest } = opts;
  const echo = new Echo({ broadcaster, key: server.app.key, Pusher, ...pusherOptions(server, rest) });
  track(echo.connector.pusher);
  clients.add(echo);
  await waitState(echo.connector.pusher, 'connected');
  return echo;
}

// ---- raw Pusher-protocol sockets -------------------------------------------------

/**
 * A `ws` socket that speaks the Pusher protocol by hand: every received
 * frame is parsed (data parsed once more when it is a JSON string) and
 * queued; next() waits for one matching a predicate.
 */
export class RawPusher {
  static async connect(server, { key, url, autoPong = true, headers, waitEstablished = true, maxPayload } = {}) {
    const c = new RawPusher();
    c.ws = new WebSocket(url ?? server.pusherUrl(key), { autoPong, headers, maxPayload: maxPayload ?? 64 << 20 });
    clients.add(c);
    c.frames = [];
    c.all = [];
    c.waiters = [];
    c.closed = new Promise((ok) => {
      c.ws.on('close', (code, reason) => {
        c.closeCode = code;
        c.closeReason = String(reason);
        c.closedAt = Date.now();
        ok({ code, reason: String(reason) });
        c.flush();
      });
    });
    c.ws.on('error', (err) => { c.error = err; });
    c.ws.on('message', (buf, isBinary) => {
      const text = String(buf);
      let f;
      try {
        f = JSON.parse(text);
        if (typeof f.data === 'string') {
          try {
            f.parsed = JSON.parse(f.data);
          } catch {
            f.parsed = undefined;
          }
        } else {
          f.parsed = f.data;
        }
      } catch {
        f = { raw: text, binary: isBinary };
      }
      f.at = Date.now();
      c.frames.push(f);
      c.all.push(f);
      c.flush();
    });
    await withTimeout(new Promise((ok, fail) => {
      c.ws.once('open', ok);
      c.ws.once('unexpected-response', (req, res) => fail(new Error(`handshake refused: HTTP ${res.statusCode}`)));
      c.ws.once('error', fail);
    }), WAIT, 'WebSocket open');
    if (waitEstablished) {
      const f = await c.next((x) => x.event === 'pusher:connection_established');
      c.socketId = f.parsed.socket_id;
      c.activityTimeout = f.parsed.activity_timeout;
    }
    return c;
  }

  flush() {
    for (const w of [...this.waiters]) {
      const i = this.frames.findIndex(w.pred);
      if (i >= 0) {
        const [f] = this.frames.splice(i, 1);
        this.waiters.splice(this.waiters.indexOf(w), 1);
        clearTimeout(w.timer);
        w.ok(f);
      } else if (this.closeCode !== undefined) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        clearTimeout(w.timer);
        w.fail(new Error(`connection closed (${this.closeCode} ${this.closeReason}) while waiting for ${w.what}; frames: ${this.describe()}`));
      }
    }
  }

  describe() {
    return JSON.stringify(this.all.slice(-12).map(({ at, parsed, ...f }) => f));
  }

  /** Waits for (and removes from the queue) the first frame matching pred. */
  next(pred = () => true, timeout = WAIT, what) {
    const p = typeof pred === 'string' ? (f) => f.event === pred : pred;
    const label = what ?? (typeof pred === 'string' ? pred : 'a matching frame');
    return new Promise((ok, fail) => {
      const w = { pred: p, ok, fail, what: label };
      w.timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        fail(new Error(`timed out after ${timeout} ms waiting for ${label}; frames: ${this.describe()}`));
      }, timeout);
      this.waiters.push(w);
      this.flush();
    });
  }

  /** Event frame on a channel. */
  nextOn(channel, event, timeout = WAIT) {
    return this.next((f) => f.channel === channel && f.event === event, timeout, `${event} on ${channel}`);
  }

  /** Frames still queued that match pred (not consumed by next()). */
  queued(pred = () => true) {
    return this.frames.filter(typeof pred === 'string' ? (f) => f.event === pred : pred);
  }

  send(obj) {
    this.ws.send(typeof obj === 'string' || Buffer.isBuffer(obj) ? obj : JSON.stringify(obj));
  }

  async subscribe(channel, { auth, channelData, expect = 'pusher_internal:subscription_succeeded' } = {}) {
    const data = { channel, auth: auth ?? '' };
    if (channelData !== undefined) data.channel_data = channelData;
    this.send({ event: 'pusher:subscribe', data });
    if (!expect) return undefined;
    return this.next((f) => f.channel === channel && (f.event === expect || f.event === 'pusher:subscription_error' || f.event === 'pusher:error'), WAIT, `${expect} on ${channel}`)
      .then((f) => {
        if (f.event !== expect) throw new Error(`expected ${expect} on ${channel}, got ${JSON.stringify(f)}`);
        return f;
      });
  }

  async subscribePrivate(channel, app = APP) {
    return this.subscribe(channel, { auth: channelAuth(this.socketId, channel, app) });
  }

  async subscribePresence(channel, userId, userInfo = { name: `user ${userId}` }, app = APP) {
    const channelData = JSON.stringify({ user_id: userId, user_info: userInfo });
    return this.subscribe(channel, { auth: presenceAuth(this.socketId, channel, channelData, app), channelData });
  }

  async signin(id, app = APP) {
    const userData = JSON.stringify({ id: String(id) });
    this.send({ event: 'pusher:signin', data: { auth: userAuth(this.socketId, userData, app), user_data: userData } });
    return this.next((f) => f.event === 'pusher:signin_success' || f.event === 'pusher:error', WAIT, 'signin answer');
  }

  /** Round trip: pusher:ping → pusher:pong proves every earlier frame was handled. */
  async ping() {
    this.send({ event: 'pusher:ping', data: {} });
    return this.next('pusher:pong');
  }

  waitClose(timeout = WAIT) {
    return withTimeout(this.closed, timeout, 'the connection to close');
  }

  get open() {
    return this.ws.readyState === WebSocket.OPEN;
  }

  close() {
    try {
      this.ws.terminate();
    } catch {
      // gone
    }
  }
}

// ---- raw native-protocol sockets (SPEC §4) ------------------------------------------

/** A native-protocol client authenticated by the fixture auth.php (cookie user=<id>). */
export async function connectNative(server, user) {
  const c = await RawPusher.connect(server, {
    url: server.wsUrl('/ws'), headers: { Cookie: `user=${user}` }, waitEstablished: false,
  });
  const hello = await c.next('connected');
  c.userId = hello.user_id;
  c.subscribeNative = async (channel) => {
    c.send({ action: 'subscribe', channel });
    return c.next((f) => f.channel === channel && (f.event === 'subscribed' || f.event === 'error'), WAIT, `subscribed ${channel}`)
      .then((f) => {
        if (f.event !== 'subscribed') throw new Error(`native subscribe to ${channel}: ${JSON.stringify(f)}`);
        return f;
      });
  };
  c.pingNative = async () => {
    c.send({ action: 'ping' });
    return c.next('pong');
  };
  return c;
}
