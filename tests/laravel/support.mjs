// Harness of the Laravel + Echo tests (not a test file: node --test only
// runs *.test.mjs here): the Laravel app of tests/laravel-app served by
// bin/frankenphp, `frankenphp php-cli artisan`, a private Valkey, and
// Chromium driven by playwright-core.
//
// Every wait is bounded; the only timers are poll intervals.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import { freePort, Pages } from '../common.mjs';

export { freePort, Pages };

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = process.env.FRANKENPHP_BIN || join(ROOT, 'bin/frankenphp');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const CHROMIUM_FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run',
];
export const APP = join(ROOT, 'tests/laravel-app');
export const NODE_MODULES = join(ROOT, 'tests/laravel/node_modules');
export const DISABLE_LINE = 'disable_functions=broadcast,broadcasttouser,getchannelusers,disconnectuser';

export const WAIT = 10_000; // one UI or event wait
const READY_TIMEOUT = 30_000; // server start
const STOP_TIMEOUT = 10_000; // SIGTERM -> exit, then SIGKILL
const CLI_TIMEOUT = 60_000; // one artisan command

/** Processes started here, killed on exit whatever happens. */
const children = new Set();
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    for (const c of children) c.kill('SIGKILL');
    process.exit(130);
  });
}
process.once('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

/** A fresh temp dir for one suite's artifacts (logs, screenshots). */
export function artifactsDir(name) {
  return mkdtempSync(join(tmpdir(), `realtime-laravel-${name}-`));
}


/** Polls fn until it returns a truthy value; throws after timeout ms with the last reason. */
export async function waitFor(what, fn, timeout = WAIT, interval = 50) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await fn();
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

function track(child, logPath) {
  const log = createWriteStream(logPath);
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  children.add(child);
  const exited = new Promise((ok) => {
    child.once('exit', (code, signal) => {
      children.delete(child);
      ok(signal ?? code);
    });
    child.once('error', (err) => {
      children.delete(child);
      ok(String(err));
    });
  });
  return exited;
}

async function stopChild(child, exited, what) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  let timer;
  const timeout = new Promise((ok) => { timer = setTimeout(ok, STOP_TIMEOUT, 'timeout'); });
  const outcome = await Promise.race([exited.then(() => 'exited'), timeout]);
  clearTimeout(timer);
  if (outcome === 'timeout') {
    child.kill('SIGKILL');
    await exited;
    throw new Error(`${what} ignored SIGTERM for ${STOP_TIMEOUT} ms (killed)`);
  }
}

/** A private valkey-server on a free loopback port, no persistence. */
export class Valkey {
  constructor(dir) {
    this.dir = dir;
  }

  async start() {
    this.port = await freePort();
    this.address = `127.0.0.1:${this.port}`;
    this.logPath = join(this.dir, 'valkey.log');
    this.child = spawn('valkey-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      cwd: this.dir, stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.exited = track(this.child, this.logPath);
    await waitFor(`valkey on ${this.address} (log ${this.logPath})`, () => this.ping(), 10_000, 50);
    return this;
  }

  ping() {
    return new Promise((ok) => {
      const socket = connect(this.port, '127.0.0.1');
      let data = '';
      const done = (v) => { socket.destroy(); ok(v); };
      socket.setTimeout(1000, () => done(false));
      socket.on('error', () => done(false));
      socket.on('connect', () => socket.write('PING\r\n'));
      socket.on('data', (d) => { data += d; if (data.includes('\r\n')) done(data.startsWith('+PONG')); });
    });
  }

  stop() {
    return stopChild(this.child, this.exited, 'valkey-server');
  }
}

/**
 * The Laravel app of tests/laravel-app served by bin/frankenphp with
 * tests/laravel-app/Caddyfile: one realtime handler for the Pusher
 * protocol (Echo), its HTTP API and the native protocol, php_server for
 * Laravel. Laravel's runtime files (storage, sqlite, bootstrap caches) go
 * to a temp dir.
 */
export class LaravelServer {
  /**
   * @param {object} o
   * @param {string} o.dir            artifacts dir
   * @param {string} [o.connection]   BROADCAST_DRIVER: frankenphp (default) | reverb
   * @param {string} [o.valkey]       host:port: the valkey driver (default memory)
   * @param {boolean} [o.admin]       admin listener on a free port (default true)
   * @param {object} [o.env]          more environment for the server and artisan
   */
  constructor({ dir, connection = 'frankenphp', valkey = null, admin = true, env = {} }) {
    this.dir = dir;
    this.connection = connection;
    this.valkey = valkey;
    this.admin = admin;
    this.extraEnv = env;
    this.runtime = join(dir, 'runtime');
    this.iniDir = join(dir, 'ini');
    mkdirSync(this.runtime, { recursive: true });
    mkdirSync(this.iniDir, { recursive: true });
    writeFileSync(join(this.iniDir, 'realtime.ini'), `${DISABLE_LINE}\n`);
    this.appId = String(100 + Math.floor(Math.random() * 900));
    this.key = `key-${randomBytes(6).toString('hex')}`;
    this.secret = randomBytes(16).toString('hex');
    this.encryptionKey = randomBytes(32).toString('base64');
    this.runs = 0;
  }

  get base() {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Environment shared by the server (Caddyfile placeholders, PHP) and artisan. */
  env() {
    const inherited = { ...process.env };
    // php-cli's realtime functions read these from the real environment:
    // only what the test sets may reach them.
    for (const name of ['REALTIME_VALKEY_ADDRESS', 'REALTIME_ADMIN_ADDRESS', 'REALTIME_PREFIX', 'PHP_INI_SCAN_DIR', 'PHPRC']) {
      delete inherited[name];
    }
    return {
      ...inherited,
      APP_RUNTIME_DIR: this.runtime,
      APP_DEBUG: 'true',
      BROADCAST_DRIVER: this.connection,
      REVERB_APP_ID: this.appId,
      REVERB_APP_KEY: this.key,
      REVERB_APP_SECRET: this.secret,
      REVERB_HOST: '127.0.0.1',
      REVERB_PORT: String(this.port ?? 0),
      REVERB_SCHEME: 'http',
      BROADCAST_ENCRYPTION_KEY: this.encryptionKey,
      REALTIME_DRIVER: this.valkey ? 'valkey' : 'memory',
      ...(this.valkey ? { REALTIME_VALKEY_ADDRESS: this.valkey } : {}),
      REALTIME_PRESENCE_GRACE: '1s',
      LARAVEL_ADDRESS: this.base,
      LARAVEL_ADMIN: this.admin ? `127.0.0.1:${this.adminPort}` : 'off',
      LARAVEL_ROOT: join(APP, 'public'),
      LARAVEL_NODE_MODULES: NODE_MODULES,
      XDG_CONFIG_HOME: join(this.dir, 'xdg-config'),
      XDG_DATA_HOME: join(this.dir, 'xdg-data'),
      ...this.extraEnv,
    };
  }

  /**
   * Runs `bin/frankenphp php-cli tests/laravel-app/artisan ARGS` with the
   * app's environment (the disable_functions line through
   * PHP_INI_SCAN_DIR unless env overrides it). Bounded; resolves with
   * { code, stdout, stderr }.
   */
  artisan(args, env = {}, timeout = CLI_TIMEOUT) {
    return new Promise((ok, fail) => {
      const child = spawn(BIN, ['php-cli', join(APP, 'artisan'), ...args], {
        cwd: ROOT,
        // Wide console: Symfony wraps exception messages at the terminal width.
        env: { PHP_INI_SCAN_DIR: this.iniDir, COLUMNS: '240', ...this.env(), ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.add(child);
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => { stdout += d; });
      child.stderr.on('data', (d) => { stderr += d; });
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        fail(new Error(`artisan ${args.join(' ')} still running after ${timeout} ms:\n${stdout}\n${stderr}`));
      }, timeout);
      child.on('error', (err) => { clearTimeout(timer); children.delete(child); fail(err); });
      child.on('exit', (code) => {
        clearTimeout(timer);
        children.delete(child);
        ok({ code, stdout, stderr });
      });
    });
  }

  /** Migrates the sqlite database (the jobs table), then starts the server. */
  async start() {
    assert.ok(existsSync(BIN), `${BIN} is missing: run "make build" first`);
    assert.ok(existsSync('/usr/share/php/Illuminate/Foundation/Application.php'), 'Laravel is missing: run scripts/install-laravel.sh');
    assert.ok(existsSync(join(NODE_MODULES, 'laravel-echo')), 'tests/laravel/node_modules is missing: run scripts/install-browser.sh');
    this.port ??= await freePort();
    this.adminPort ??= await freePort();
    if (!this.migrated) {
      const m = await this.artisan(['migrate', '--force', '--no-interaction']);
      assert.equal(m.code, 0, `artisan migrate failed:\n${m.stdout}\n${m.stderr}`);
      this.migrated = true;
    }
    this.logPath = join(this.dir, `server-${++this.runs}.log`);
    this.child = spawn(BIN, ['run', '--config', join(APP, 'Caddyfile'), '--adapter', 'caddyfile'], {
      cwd: ROOT, env: this.env(), stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.exited = track(this.child, this.logPath);
    let status;
    this.exited.then((s) => { status = s; });
    await waitFor(`the Laravel app on ${this.base} (log ${this.logPath})`, async () => {
      if (status !== undefined) throw new Error(`server exited (${status})`);
      const res = await fetch(`${this.base}/login`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      return res.status === 200;
    }, READY_TIMEOUT, 100);
    return this;
  }

  async stop() {
    await stopChild(this.child, this.exited, 'the server');
  }

  log() {
    return existsSync(this.logPath) ? readFileSync(this.logPath, 'utf8') : '';
  }

  laravelLog() {
    const p = join(this.runtime, 'logs/laravel.log');
    return existsSync(p) ? readFileSync(p, 'utf8') : '';
  }
}

export function cleanup(dir, failed) {
  if (failed || process.env.KEEP_ARTIFACTS) {
    console.error(`artifacts kept in ${dir}`);
  } else {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- browser helpers -------------------------------------------------------------


/** Logs in through the app's login form and waits for Echo to connect. */
export async function logIn(server, page, name) {
  await page.goto(`${server.base}/login`);
  await page.fill('input[name="name"]', name);
  await Promise.all([
    page.waitForURL(`${server.base}/echo`, { timeout: WAIT }),
    page.click('button[type="submit"]'),
  ]);
  assert.equal(await page.textContent('#user'), name);
  await waitConnected(page, 'echo');
  await page.evaluate(() => { window.rec = {}; });
}

/** Waits until the Echo instance window[name] is connected; returns its socket id. */
export async function waitConnected(page, name) {
  const handle = await page.waitForFunction((n) => {
    const e = window[n];
    return e && e.connector.pusher.connection.state === 'connected' && e.socketId();
  }, name, { timeout: WAIT });
  return handle.jsonValue();
}

/** Events recorded under key in the page (window.rec[key]). */
export function recorded(page, key) {
  return page.evaluate((k) => (window.rec[k] ?? []), key);
}

/** Waits until window.rec[key] holds at least n entries; returns them. */
export async function waitRecorded(page, key, n = 1, timeout = WAIT) {
  try {
    const handle = await page.waitForFunction(([k, n]) => (window.rec[k]?.length >= n ? window.rec[k] : false), [key, n], { timeout });
    return await handle.jsonValue();
  } catch (err) {
    throw new Error(`page ${page.url()}: ${key} recorded ${JSON.stringify(await recorded(page, key))}, wanted ${n} entries: ${err.message.split('\n')[0]}`);
  }
}
