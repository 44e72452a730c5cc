// Helpers shared by the browser tests (not a test file itself: node --test
// only runs *.test.mjs here): the demo server, free ports, the client check.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import { freePort, Pages } from '../common.mjs';

export { freePort, Pages };

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = process.env.FRANKENPHP_BIN || join(ROOT, 'bin/frankenphp');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const WAIT = 10_000; // default bound for one UI wait
export const CHROMIUM_FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run',
];


/** client/realtime.js as it is in the working tree. */
export function treeClient() {
  return readFileSync(join(ROOT, 'client/realtime.js'), 'utf8');
}

/**
 * The binary embeds client/realtime.js when it is built (`GET <route>?client`).
 * When bin/frankenphp was built before the last change to the client, the
 * pages would run the old client: serve the tree's copy to the browser
 * instead (`make test` always builds first, so there the binary's own copy
 * is used), and return a note saying so (for t.diagnostic), else null.
 *
 * @param {import('playwright-core').BrowserContext} context
 * @param {string} routeUrl e.g. http://127.0.0.1:8080/ws
 * @returns {Promise<string|null>}
 */
export async function useTreeClientIfStale(context, routeUrl) {
  const res = await fetch(`${routeUrl}?client`, { signal: AbortSignal.timeout(5000) });
  const served = await res.text();
  const tree = treeClient();
  if (res.status === 200 && served === tree) return null;
  await context.route(`${routeUrl}?client`, (route) => route.fulfill({
    status: 200, contentType: 'text/javascript; charset=utf-8', body: tree,
  }));
  return `${BIN} serves a client (${routeUrl}?client, HTTP ${res.status}) that differs from `
    + 'client/realtime.js (built before the last change; `make build` embeds the new one): '
    + "the pages get the working tree's copy";
}

// ---- the demo server ------------------------------------------------------------

const READY_TIMEOUT = 20_000; // server start
const STOP_TIMEOUT = 10_000; // SIGTERM -> exit, then SIGKILL

/** Live server processes, killed on exit whatever happens. */
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

/**
 * The demo (php/Caddyfile, php/public) on bin/frankenphp, as `make run`
 * serves it, on 127.0.0.1:port. Nothing is written to php/var/: the
 * signing secret comes from REALTIME_DEMO_SECRET, and the Pusher app of
 * the Echo tab is a pusher-app.caddy of its own in the artifacts dir
 * (REALTIME_DEMO_PUSHER_APP, which the Caddyfile imports and PHP reads),
 * with a random secret. Caddy's config and data dirs go there too.
 */
export class DemoServer {
  /**
   * @param {object} o
   * @param {number} o.port
   * @param {string} o.artifacts  temp dir for logs and the Pusher app file
   * @param {string} o.secret     REALTIME_DEMO_SECRET (the same one across restarts keeps logins)
   * @param {boolean} [o.pusherApp] configure the Pusher app (default true)
   * @param {object} [o.env]      more environment
   */
  constructor({ port, artifacts, secret, pusherApp = true, env = {} }) {
    this.port = port;
    this.base = `http://127.0.0.1:${port}`;
    this.artifacts = artifacts;
    this.secret = secret;
    this.extraEnv = env;
    this.runs = 0;
    this.pusher = null;
    this.pusherAppFile = join(artifacts, 'none-pusher-app*.caddy'); // matches nothing
    if (pusherApp) {
      this.pusher = { id: 'demo-test', key: `key-${randomBytes(6).toString('hex')}`, secret: randomBytes(32).toString('hex') };
      this.pusherAppFile = join(artifacts, 'pusher-app.caddy');
      writeFileSync(this.pusherAppFile, `pusher_app ${this.pusher.id} ${this.pusher.key} ${this.pusher.secret}\n`, { mode: 0o600 });
    }
  }

  async start() {
    this.logPath = join(this.artifacts, `server-${this.port}-${++this.runs}.log`);
    this.exitStatus = undefined;
    const log = createWriteStream(this.logPath);
    const child = spawn(BIN, ['run', '--config', join(ROOT, 'php/Caddyfile'), '--adapter', 'caddyfile'], {
      cwd: ROOT,
      env: {
        ...process.env,
        REALTIME_DEMO_ADDRESS: this.base,
        REALTIME_DEMO_ROOT: join(ROOT, 'php/public'),
        REALTIME_DEMO_ADMIN: 'off',
        REALTIME_DEMO_SECRET: this.secret,
        REALTIME_DEMO_PUSHER_APP: this.pusherAppFile,
        REALTIME_DEMO_NODE_MODULES: join(ROOT, 'node_modules'),
        // Caddy's autosave.json and storage go to the temp dir.
        XDG_CONFIG_HOME: join(this.artifacts, 'config'),
        XDG_DATA_HOME: join(this.artifacts, 'data'),
        ...this.extraEnv,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.pipe(log, { end: false });
    child.stderr.pipe(log, { end: false });
    this.child = child;
    children.add(child);
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

    // Bounded readiness poll: the login page answers 200.
    const deadline = Date.now() + READY_TIMEOUT;
    let last = 'no answer';
    while (Date.now() < deadline) {
      if (this.exitStatus !== undefined) {
        throw new Error(`server exited (${this.exitStatus}) before it was ready; log: ${this.logPath}`);
      }
      try {
        const res = await fetch(`${this.base}/login.php`, { signal: AbortSignal.timeout(2000) });
        await res.arrayBuffer();
        if (res.status === 200) return this;
        last = `HTTP ${res.status}`;
      } catch (err) {
        last = err.cause?.code ?? err.message;
      }
      await delay(100);
    }
    throw new Error(`server not ready after ${READY_TIMEOUT} ms (${last}); log: ${this.logPath}`);
  }

  /** SIGTERM, wait for the exit (bounded), SIGKILL if it hangs. */
  async stop() {
    if (!this.child || this.exitStatus !== undefined) return this.exitStatus;
    this.child.kill('SIGTERM');
    let timer;
    const timeout = new Promise((ok) => { timer = setTimeout(ok, STOP_TIMEOUT, 'timeout'); });
    const outcome = await Promise.race([this.exited.then(() => 'exited'), timeout]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      this.child.kill('SIGKILL');
      await this.exited;
      throw new Error(`server ignored SIGTERM for ${STOP_TIMEOUT} ms (killed); log: ${this.logPath}`);
    }
    return this.exitStatus;
  }

  log() {
    return readFileSync(this.logPath, 'utf8');
  }
}

// ---- the chat pages (both tabs have the same #messages, #online, #text) ----------

export async function logIn(server, page, user) {
  await page.goto(`${server.base}/login.php`);
  await page.fill('#username', user);
  await Promise.all([
    page.waitForURL(`${server.base}/`, { timeout: WAIT }),
    page.click('form button[type="submit"]'),
  ]);
  assert.equal(await page.getAttribute('body', 'data-user'), user);
}

/** Connected, and both channels confirmed by the server on this connection. */
export function waitReady(page, notConnectionId = null) {
  return page.waitForFunction((old) => {
    const rt = window.realtime;
    return rt && rt.state === 'connected' && rt.connectionId !== old
      && rt.isSubscribed('chat') && rt.isSubscribed('presence-lobby')
      && document.getElementById('status').dataset.kind === 'ok';
  }, notConnectionId, { timeout: WAIT });
}

export function onlineList(page) {
  return page.$$eval('#online li', (lis) => lis.map((li) => li.textContent));
}

/** Waits until the online list is exactly `expected` (sorted, as the page renders it). */
export async function waitOnline(page, expected, timeout = WAIT) {
  try {
    await page.waitForFunction((want) => {
      const got = [...document.querySelectorAll('#online li')].map((li) => li.textContent);
      return JSON.stringify(got) === JSON.stringify(want)
        && document.getElementById('online-count').textContent === `(${want.length})`;
    }, expected, { timeout });
  } catch (err) {
    assert.deepEqual(await onlineList(page), expected, `online list: ${err.message.split('\n')[0]}`);
    throw err;
  }
}

export async function send(page, text) {
  await page.fill('#text', text);
  await page.press('#text', 'Enter'); // Enter sends (Shift+Enter is a newline)
  // 202 clears the textarea; anything else shows #send-error.
  await page.waitForFunction(
    () => document.getElementById('text').value === '' || !document.getElementById('send-error').hidden,
    null, { timeout: WAIT });
  const error = await page.$eval('#send-error', (p) => (p.hidden ? '' : p.textContent));
  assert.equal(error, '', 'the page could not send the message');
}

/** Waits for a chat message with exactly this author and text; returns how it rendered. */
export async function waitMessage(page, user, text) {
  const handle = await page.waitForFunction(([user, text]) => {
    for (const li of document.querySelectorAll('#messages li:not(.system)')) {
      const p = li.querySelector('p');
      if (li.querySelector('.meta strong')?.textContent === user && p?.textContent === text) {
        return { mine: li.classList.contains('mine'), html: p.innerHTML, elements: p.children.length };
      }
    }
    return false;
  }, [user, text], { timeout: WAIT });
  return handle.jsonValue();
}

/** A label made unique, so a wait can only match this run's message. */
export function unique(label) {
  return `${label} ${randomBytes(4).toString('hex')}`;
}

// ---- pages: console output and screenshots for failure reports -------------------

