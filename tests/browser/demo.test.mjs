// End-to-end test of the demo chat (php/) in a real browser.
//
// Starts bin/frankenphp with php/Caddyfile on a free port, drives Debian's
// chromium through playwright-core, and checks what a user sees: login,
// the presence-lobby online list (live join/leave frames, SPEC §6), live
// messages both ways (HTML shown as text), automatic reconnect after a
// server restart, logout closing the user's other tabs (close 4001), and an
// expired session sent to the login page with a notice.
//
// Run: scripts/install-browser.sh && node --test tests/browser/
// Env: FRANKENPHP_BIN (default bin/frankenphp), CHROMIUM (default
// /usr/bin/chromium), KEEP_ARTIFACTS=1 keeps the temp dir even on success.
//
// Every wait is bounded; the only timers are poll intervals. On failure the
// screenshots of every open page, their console output and the server logs
// are left in a temp dir whose path is printed.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

import {
  BIN, CHROMIUM, CHROMIUM_FLAGS, DemoServer, WAIT, freePort, logIn, send, unique, useTreeClientIfStale,
  waitMessage, waitOnline, waitReady,
} from './support.mjs';

const PRESENCE_LEAVE_TIMEOUT = 15_000; // presence_grace (3 s) + delivery

const ARTIFACTS = mkdtempSync(join(tmpdir(), 'realtime-browser-'));
// One secret for both server runs: the login cookies survive the restart,
// and nothing is written to php/var/.
const SECRET = randomBytes(32).toString('hex');

// ---- page helpers ---------------------------------------------------------------

/** pages by name, for screenshots on failure */
const pages = new Map();
const pageLogs = new Map();

async function openPage(context, name) {
  const page = await context.newPage();
  pages.set(name, page);
  const lines = [];
  pageLogs.set(name, lines);
  page.on('console', (m) => lines.push(`[${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => lines.push(`[pageerror] ${e.message}`));
  page.on('close', () => pages.delete(name));
  return page;
}

/** Uncaught exceptions in a page: the demo must not have any. */
function pageErrors(name) {
  return (pageLogs.get(name) ?? []).filter((l) => l.startsWith('[pageerror]'));
}

/** Starts recording the close codes of the page's connection (`disconnected` events). */
function recordCloses(page) {
  return page.evaluate(() => {
    window.__closes = [];
    window.realtime.on('disconnected', ({ code }) => window.__closes.push(code));
  });
}

function closes(page) {
  return page.evaluate(() => window.__closes);
}


// ---- the test ---------------------------------------------------------------------

describe('demo chat in a browser', { timeout: 120_000 }, () => {
  let server;
  let browser;
  let alice; let bob; let bob2;
  let failed = false;

  /**
   * One scenario step. Once a step failed, the later ones are skipped (they
   * build on it). On failure: screenshots of every open page, their console
   * output, and the path of it all.
   */
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
        for (const [pageName, page] of pages) {
          await page.screenshot({ path: join(ARTIFACTS, `${slug}--${pageName}.png`), fullPage: true, timeout: 5000 })
            .catch((e) => console.error(`screenshot of ${pageName} failed: ${e.message}`));
        }
        for (const [pageName, lines] of pageLogs) {
          writeFileSync(join(ARTIFACTS, `console-${pageName}.log`), lines.join('\n') + '\n');
        }
        console.error(`step "${name}" failed; screenshots, page consoles and server logs in ${ARTIFACTS}`);
        throw err;
      }
    });
  }

  before(async () => {
    assert.ok(existsSync(BIN), `${BIN} is missing: run "make build" first`);
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/install-browser.sh`);
    server = await new DemoServer({ port: await freePort(), artifacts: ARTIFACTS, secret: SECRET }).start();
    // playwright gives the browser a fresh temporary --user-data-dir of its
    // own and deletes it on close (it refuses one in `args`).
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS, timeout: 30_000 });
  });

  after(async () => {
    await browser?.close().catch((e) => console.error(`closing the browser: ${e.message}`));
    await server?.stop().catch((e) => console.error(e.message));
    if (failed || process.env.KEEP_ARTIFACTS) {
      console.error(`artifacts kept in ${ARTIFACTS}`);
    } else {
      rmSync(ARTIFACTS, { recursive: true, force: true });
    }
  });

  step('alice and bob log in and see each other online, live', async (t) => {
    const ctxA = await browser.newContext();
    const ctxB = await browser.newContext();
    for (const ctx of [ctxA, ctxB]) {
      ctx.setDefaultTimeout(WAIT);
      const note = await useTreeClientIfStale(ctx, `${server.base}/ws`);
      if (note && ctx === ctxA) t.diagnostic(note);
    }

    alice = await openPage(ctxA, 'alice');
    await logIn(server, alice, 'alice');
    await waitReady(alice);
    await waitOnline(alice, ['alice (you)']);

    bob = await openPage(ctxB, 'bob');
    await logIn(server, bob, 'bob');
    await waitReady(bob);
    // bob's list comes from the `subscribed` frame's users...
    await waitOnline(bob, ['alice', 'bob (you)']);
    // ...alice's can only change through a live `join` frame.
    await waitOnline(alice, ['alice (you)', 'bob']);
  });

  step('messages go both ways live; HTML is shown as text', async () => {
    const hello = unique('hello bob');
    await send(alice, hello);
    assert.deepEqual(await waitMessage(bob, 'alice', hello), { mine: false, html: hello, elements: 0 });
    assert.equal((await waitMessage(alice, 'alice', hello)).mine, true, "alice's own message is marked as hers");

    const markup = `<img src="x" onerror="window.__xss=1"><b>bold</b> & <script>window.__xss=2</script> ${unique('')}`;
    await send(bob, markup);
    for (const page of [alice, bob]) {
      const shown = await waitMessage(page, 'bob', markup);
      assert.equal(shown.elements, 0, 'the message text created elements');
      assert.equal(await page.$('#messages img, #messages b, #messages script'), null);
      assert.equal(await page.evaluate(() => window.__xss), undefined);
    }
  });

  step('both pages reconnect after a server restart and keep receiving', async () => {
    const ids = await Promise.all([alice, bob].map((p) => p.evaluate(() => window.realtime.connectionId)));
    await Promise.all([alice, bob].map(recordCloses));
    const status = await server.stop();
    assert.equal(status, 0, `server exit status after SIGTERM; log: ${server.logPath}`);
    // Both pages noticed (the server closes with 1001 on shutdown).
    for (const page of [alice, bob]) {
      await page.waitForFunction(() => window.realtime.state !== 'connected', null, { timeout: WAIT });
      // [0]: a retry may have reached the old process while it shut down.
      assert.equal((await closes(page))[0], 1001, 'close code on server shutdown');
    }

    await server.start(); // same port, same secrets
    // Backoff with jitter: 0.5 s, 1 s, 2 s... ceilings, so well within WAIT.
    await Promise.all([waitReady(alice, ids[0]), waitReady(bob, ids[1])]);
    for (const page of [alice, bob]) {
      const notes = await page.$$eval('#messages li.system', (lis) => lis.map((li) => li.textContent));
      assert.ok(notes.some((n) => n.startsWith('Reconnected.')), `no "Reconnected." note: ${JSON.stringify(notes)}`);
    }
    // The new process has a fresh hub: the lists are rebuilt from the
    // resubscriptions (subscribed users + join frames).
    await waitOnline(alice, ['alice (you)', 'bob']);
    await waitOnline(bob, ['alice', 'bob (you)']);

    const a = unique('after restart from alice');
    await send(alice, a);
    await waitMessage(bob, 'alice', a);
    const b = unique('after restart from bob');
    await send(bob, b);
    await waitMessage(alice, 'bob', b);
  });

  step("logging out closes the user's other tabs (4001) and alice sees bob leave", async () => {
    bob2 = await openPage(bob.context(), 'bob-tab2');
    await bob2.goto(`${server.base}/`);
    await waitReady(bob2);
    await waitOnline(bob2, ['alice', 'bob (you)']);
    await recordCloses(bob2);

    await Promise.all([
      bob.waitForURL(`${server.base}/login.php`, { timeout: WAIT }),
      bob.click('form.me button[type="submit"]'),
    ]);

    // The other tab was closed by disconnectUser() with 4001 and stays closed.
    await bob2.waitForFunction(() => window.realtime.state === 'closed'
      && document.getElementById('status').dataset.kind === 'error', null, { timeout: WAIT });
    assert.deepEqual(await closes(bob2), [4001], 'close code after logout');
    assert.match(await bob2.textContent('#status'), /Disconnected by the server \(signed out\?\)/);

    // bob has no connection left: after presence_grace, a `leave` frame.
    await waitOnline(alice, ['alice (you)'], PRESENCE_LEAVE_TIMEOUT);

    // alice is unaffected.
    const last = unique('still here');
    await send(alice, last);
    await waitMessage(alice, 'alice', last);
  });

  step('an expired session is sent to the login page with a notice', async () => {
    const ctx = await browser.newContext();
    ctx.setDefaultTimeout(WAIT);
    await useTreeClientIfStale(ctx, `${server.base}/ws`);
    const carol = await openPage(ctx, 'carol');
    await logIn(server, carol, 'carol');
    await waitReady(carol);
    // The session ends while the page is open (as when the JWT expires),
    // then the page connects again: the handshake is refused with 401, the
    // client learns it (realtime.js asks the route) and app.js goes to
    // the login page.
    await ctx.clearCookies();
    await Promise.all([
      carol.waitForURL(`${server.base}/login.php?expired=1`, { timeout: WAIT }),
      carol.evaluate(() => {
        window.realtime.close('test: reconnect without the session');
        window.realtime.connect().catch(() => {});
      }),
    ]);
    assert.equal((await carol.textContent('#login-notice')).trim(), 'Your session expired, please sign in again.');
    // Signing in again works from there.
    await carol.fill('#username', 'carol');
    await Promise.all([
      carol.waitForURL(`${server.base}/`, { timeout: WAIT }),
      carol.click('form button[type="submit"]'),
    ]);
    await waitReady(carol);
  });

  step('no uncaught exception in any page', async () => {
    for (const name of pageLogs.keys()) assert.deepEqual(pageErrors(name), [], `${name}: uncaught exceptions`);
  });
});
