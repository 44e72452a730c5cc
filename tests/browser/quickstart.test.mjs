// The README's "Use it in your app", copied as a reader would, in Chromium.
//
// Extracts every snippet marked `<!-- quickstart: <path> -->` in README.md
// into an empty temp dir, checks the Caddyfile is `caddy fmt`-clean, runs
// `bin/frankenphp run` in that dir, and drives headless Chromium:
//   - anonymous: the page's client reports `unauthorized` (the handshake was
//     refused with 401), shows no message, and stops retrying;
//   - after signing in at /login.php: connected, and an order published by
//     publish.php (broadcast()) shows up on the page, as does one published
//     by `frankenphp php-cli` (through the admin listener);
//   - authorize.php allows the user's own private channel, refuses another
//     user's, and answers 404 to outside callers;
//   - a page on another origin gets `forbidden` with reason `origin`.
//
// The one change made to the snippets: the site address's port (8080) is
// rewritten to a free port, so the test never collides with `make run` or
// another test. Caddy's admin listener is moved with the CADDY_ADMIN
// environment variable (the Caddyfile is not touched for that), and
// Caddy's config/data dirs go to the temp dir.
//
// Run: scripts/install-browser.sh && node --test tests/browser/
// Env: FRANKENPHP_BIN, CHROMIUM, KEEP_ARTIFACTS=1 (as demo.test.mjs).
// Every wait is bounded; the one fixed pause is the window in which the
// anonymous page must not retry.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createServer as createHttpServer } from 'node:http';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { chromium } from 'playwright-core';

import { BIN, CHROMIUM, CHROMIUM_FLAGS, ROOT, freePort, treeClient, useTreeClientIfStale } from './support.mjs';

const WAIT = 10_000; // bound of one wait
const READY_TIMEOUT = 20_000; // server start
const STOP_TIMEOUT = 10_000;
const NO_RETRY_WINDOW = 2_000; // backoff ceilings are 0.5 s, 1 s...: a retry would show within this

/** The files README.md's quick start consists of. */
const EXPECTED = ['Caddyfile', 'public/auth.php', 'public/authorize.php', 'public/login.php', 'public/index.php', 'public/publish.php'];

const ARTIFACTS = mkdtempSync(join(tmpdir(), 'realtime-quickstart-'));
const APP = join(ARTIFACTS, 'app'); // the "empty directory" the reader copies into
const LOG = join(ARTIFACTS, 'server.log');

/**
 * Every fenced block preceded by `<!-- quickstart: <path> -->`, by path,
 * exactly as written (the fence's content, with a final newline).
 */
function extractSnippets(markdown) {
  const files = new Map();
  const re = /<!-- quickstart: (\S+) -->\n```[A-Za-z]*\n([\s\S]*?)^```$/gm;
  for (const [, path, body] of markdown.matchAll(re)) {
    assert.ok(!files.has(path), `README.md marks ${path} twice`);
    files.set(path, body);
  }
  return files;
}

/** Waits until cond() returns a truthy value (bounded); returns it. */
async function waitFor(cond, what, timeout = WAIT) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await delay(50);
  }
}

let child;
let exitStatus;
let exited;
process.once('exit', () => child?.kill('SIGKILL'));
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    child?.kill('SIGKILL');
    process.exit(130);
  });
}

async function startServer(base, adminPort) {
  const log = createWriteStream(LOG);
  // `frankenphp run` with no flags reads ./Caddyfile: what the README says to do.
  child = spawn(BIN, ['run'], {
    cwd: APP,
    env: {
      ...process.env,
      CADDY_ADMIN: `localhost:${adminPort}`,
      XDG_CONFIG_HOME: join(ARTIFACTS, 'config'),
      XDG_DATA_HOME: join(ARTIFACTS, 'data'),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.pipe(log, { end: false });
  child.stderr.pipe(log, { end: false });
  exited = new Promise((ok) => {
    child.once('exit', (code, signal) => { exitStatus = signal ?? code; ok(exitStatus); });
    child.once('error', (err) => { exitStatus = String(err); ok(exitStatus); });
  });
  const deadline = Date.now() + READY_TIMEOUT;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (exitStatus !== undefined) throw new Error(`server exited (${exitStatus}) before it was ready; log: ${LOG}`);
    try {
      const res = await fetch(`${base}/login.php`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = err.cause?.code ?? err.message;
    }
    await delay(100);
  }
  throw new Error(`server not ready after ${READY_TIMEOUT} ms (${last}); log: ${LOG}`);
}

async function stopServer() {
  if (!child || exitStatus !== undefined) return;
  child.kill('SIGTERM');
  let timer;
  const timeout = new Promise((ok) => { timer = setTimeout(ok, STOP_TIMEOUT, 'timeout'); });
  if (await Promise.race([exited.then(() => 'exited'), timeout]) === 'timeout') {
    child.kill('SIGKILL');
    await exited;
  }
  clearTimeout(timer);
}

/** Opens a page that records its console, its WebSockets and the frames they receive. */
async function openPage(context, name, pages) {
  const page = await context.newPage();
  const rec = { page, console: [], sockets: [], frames: [] };
  pages.set(name, rec);
  page.on('console', (m) => rec.console.push(`[${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => rec.console.push(`[pageerror] ${e.message}`));
  page.on('websocket', (ws) => {
    rec.sockets.push(ws.url());
    ws.on('framereceived', ({ payload }) => {
      try { rec.frames.push(JSON.parse(String(payload))); } catch { /* not JSON */ }
    });
  });
  return rec;
}

function logLines(page) {
  return page.$$eval('#log li', (lis) => lis.map((li) => li.textContent));
}

describe("README's quick start, copied into an empty directory", { timeout: 120_000 }, () => {
  let port;
  let adminPort;
  let base;
  let browser;
  let context;
  let otherSite; // the other-origin page's server
  const pages = new Map();
  let failed = false;

  function step(name, fn) {
    it(name, { timeout: 45_000 }, async (t) => {
      if (failed) {
        t.skip('an earlier step failed');
        return;
      }
      try {
        await fn(t);
      } catch (err) {
        failed = true;
        const slug = name.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60);
        for (const [pageName, rec] of pages) {
          await rec.page.screenshot({ path: join(ARTIFACTS, `${slug}--${pageName}.png`), fullPage: true, timeout: 5000 })
            .catch(() => {});
          writeFileSync(join(ARTIFACTS, `console-${pageName}.log`), rec.console.join('\n') + '\n');
        }
        console.error(`step "${name}" failed; the app, server log, screenshots and page consoles are in ${ARTIFACTS}`);
        throw err;
      }
    });
  }

  before(async () => {
    assert.ok(existsSync(BIN), `${BIN} is missing: run "make build" first`);
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/install-browser.sh`);
  });

  after(async () => {
    await browser?.close().catch((e) => console.error(`closing the browser: ${e.message}`));
    otherSite?.close();
    await stopServer();
    if (failed || process.env.KEEP_ARTIFACTS) console.error(`artifacts kept in ${ARTIFACTS}`);
    else rmSync(ARTIFACTS, { recursive: true, force: true });
  });

  step('README.md has every quick-start file; its Caddyfile is caddy-fmt clean', async () => {
    const files = extractSnippets(readFileSync(join(ROOT, 'README.md'), 'utf8'));
    assert.deepEqual([...files.keys()].sort(), [...EXPECTED].sort(), 'files marked <!-- quickstart: ... --> in README.md');
    for (const [path, body] of files) {
      mkdirSync(dirname(join(APP, path)), { recursive: true });
      writeFileSync(join(APP, path), body);
    }
    for (const path of EXPECTED.filter((p) => p.endsWith('.php') && p !== 'public/index.php')) {
      assert.ok(files.get(path).startsWith('<?php\n'), `${path} must start with <?php`);
    }
    // `frankenphp fmt` exits non-zero ("input is not formatted") when the
    // file differs from its formatted form, and prints that form.
    const fmt = spawnSync(BIN, ['fmt', 'Caddyfile'], { cwd: APP, encoding: 'utf8', timeout: 20_000 });
    assert.equal(fmt.status, 0, `frankenphp fmt: ${fmt.stderr}`);
    assert.equal(fmt.stdout, files.get('Caddyfile'), 'the Caddyfile differs from its `caddy fmt` form');
  });

  step('the server starts in that directory (site port rewritten), with no formatting warning', async (t) => {
    port = await freePort();
    base = `http://localhost:${port}`;
    const caddyfile = readFileSync(join(APP, 'Caddyfile'), 'utf8');
    assert.equal(caddyfile.split('http://localhost:8080 {').length, 2, 'the Caddyfile has one site address http://localhost:8080');
    // The only edit to the README's files.
    writeFileSync(join(APP, 'Caddyfile'), caddyfile.replace('http://localhost:8080 {', `http://localhost:${port} {`));
    adminPort = await freePort();
    await startServer(base, adminPort);
    assert.doesNotMatch(readFileSync(LOG, 'utf8'), /input is not formatted/);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS, timeout: 30_000 });
    context = await browser.newContext();
    context.setDefaultTimeout(WAIT);
    const note = await useTreeClientIfStale(context, `${base}/ws`);
    if (note) t.diagnostic(note);
  });

  step('anonymous: the page reports unauthorized, gets no message, stops retrying', async () => {
    const rec = await openPage(context, 'anonymous', pages);
    await rec.page.goto(`${base}/`);
    await rec.page.waitForFunction(
      () => [...document.querySelectorAll('#log li')].some((li) => li.textContent.startsWith('not signed in')),
      null, { timeout: WAIT });
    // Nothing else happened: no connection, so no order either.
    assert.deepEqual(await logLines(rec.page), ['not signed in: sign in, then reload']);
    assert.equal(rec.frames.length, 0, 'frames received without a session');
    // The client stopped: no new handshake in a window where the backoff would have retried.
    const sockets = rec.sockets.length;
    assert.equal(sockets, 1, 'handshakes before the refusal was known');
    await delay(NO_RETRY_WINDOW);
    assert.equal(rec.sockets.length, sockets, 'the client retried after 401');

    // publish.php refuses callers without a session.
    const res = await fetch(`${base}/publish.php`, { method: 'POST' });
    assert.equal(res.status, 403);
  });

  step('after signing in: connected, and an order published by publish.php arrives', async () => {
    const rec = pages.get('anonymous');
    const { page } = rec;
    await page.goto(`${base}/login.php`);
    await page.fill('input[name="name"]', 'alice');
    await Promise.all([
      page.waitForURL(`${base}/`, { timeout: WAIT }),
      page.click('button'),
    ]);
    await page.waitForFunction(
      () => [...document.querySelectorAll('#log li')].some((li) => li.textContent === 'connected as alice'),
      null, { timeout: WAIT });
    // The subscription is confirmed before publishing (at-most-once delivery:
    // a message published before the subscribe arrives is not for us).
    await waitFor(() => rec.frames.some((f) => f.event === 'subscribed' && f.channel === 'orders'), 'the subscribed frame for orders');
    await page.click('#publish');
    const line = await waitFor(async () => (await logLines(page)).find((l) => l.startsWith('order #')), 'the published order on the page');
    assert.match(line, /^order #\d+ by alice$/);
    const message = rec.frames.find((f) => f.event === 'message');
    assert.equal(message.channel, 'orders');
    assert.equal(typeof message.data, 'string');
  });

  step('frankenphp php-cli publishes through the server\'s admin listener (memory driver)', async () => {
    const { page } = pages.get('anonymous');
    const cli = spawnSync(BIN, ['php-cli', '-r', 'broadcast("orders", json_encode(["id" => 7, "by" => "cron"]));'], {
      cwd: APP, encoding: 'utf8', timeout: 20_000,
      env: { ...process.env, REALTIME_ADMIN_ADDRESS: `localhost:${adminPort}` },
    });
    assert.equal(cli.status, 0, `php-cli: ${cli.stdout}${cli.stderr}`);
    await waitFor(async () => (await logLines(page)).includes('order #7 by cron'), 'the order published by php-cli');
  });

  step('authorize.php: own private channel allowed, another user\'s refused, outside callers get 404', async () => {
    const { page } = pages.get('anonymous');
    const outcome = await page.evaluate(async () => {
      const { RealtimeClient } = await import('/ws?client');
      const rt = new RealtimeClient();
      await rt.connect();
      const result = {};
      for (const channel of ['private-user.alice', 'private-user.bob', 'presence-lobby']) {
        result[channel] = await rt.subscribe(channel).then(() => 'ok', (err) => err.code);
      }
      rt.close();
      return result;
    });
    assert.deepEqual(outcome, { 'private-user.alice': 'ok', 'private-user.bob': 'forbidden', 'presence-lobby': 'ok' });

    const outside = await fetch(`${base}/authorize.php`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'channel=private-user.bob&user_id=bob',
    });
    assert.equal(outside.status, 404, 'authorize.php answered an outside caller');
    assert.equal(await outside.text(), '');
  });

  step('a page on another origin gets forbidden (reason origin) and stops', async () => {
    // A page served by the test on http://127.0.0.1:<other port>: another
    // origin than the site's own (Host localhost:<port>), so the default
    // Origin rule refuses its handshake. (Served from a real loopback
    // socket, not page.route: Chromium's local network access checks block
    // a page of unknown address space from reaching localhost.)
    // A page on another origin cannot import /ws?client (no CORS on it):
    // it serves its own copy, as docs/client.md says.
    const client = treeClient();
    const page = `<!doctype html><script type="module">
      import { RealtimeClient } from '/realtime.js';
      const rt = new RealtimeClient('ws://localhost:${port}/ws');
      rt.on('forbidden', (refusal) => { window.refusal = refusal; });
      rt.on('connected', () => { window.connected = true; });
      rt.connect().catch((err) => { window.rejected = err.code; });
    </script>`;
    otherSite = createHttpServer((req, res) => {
      const js = req.url === '/realtime.js';
      res.writeHead(200, { 'Content-Type': js ? 'text/javascript' : 'text/html' });
      res.end(js ? client : page);
    });
    await new Promise((ok) => otherSite.listen(0, '127.0.0.1', ok));
    const other = `http://127.0.0.1:${otherSite.address().port}`;

    const rec = await openPage(context, 'other-origin', pages);
    await rec.page.goto(`${other}/`);
    const refusal = await (await rec.page.waitForFunction(() => window.refusal, null, { timeout: WAIT })).jsonValue();
    assert.equal(refusal.status, 403);
    assert.equal(refusal.reason, 'origin');
    await rec.page.waitForFunction(() => window.rejected === 'forbidden', null, { timeout: WAIT });
    assert.equal(await rec.page.evaluate(() => window.connected), undefined);
    assert.equal(rec.sockets.length, 1);
  });

  step('no uncaught exception in any page; the server logged no realtime warning', async () => {
    for (const [name, rec] of pages) {
      assert.deepEqual(rec.console.filter((l) => l.startsWith('[pageerror]')), [], `${name}: uncaught exceptions`);
    }
    // A hint (Warn) would mean a snippet answers the wrong way, e.g.
    // "/auth.php answered text/html".
    const warnings = readFileSync(LOG, 'utf8').split('\n')
      .filter((l) => /"level":"(warn|error)"/.test(l) && l.includes('realtime'));
    assert.deepEqual(warnings, []);
  });
});
