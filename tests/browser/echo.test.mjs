// End-to-end test of the demo's Laravel Echo tab (php/public/echo.php) next
// to its native tab, in a real browser.
//
// Starts bin/frankenphp with php/Caddyfile as `make run` does (a Pusher app
// file of its own with a random secret, pusher-js and laravel-echo from the
// repository's node_modules), drives Debian's chromium through
// playwright-core, and checks that both protocols share one chat and one
// presence on one hub:
//
//   - the Echo tab connects over the Pusher protocol (Echo 2.5, broadcaster
//     'pusher', pusher-js 8.6), with the bundles served from node_modules
//     through exact routes only;
//   - presence-lobby through Echo.join(): here(), joining() for a user who
//     arrives through the native protocol, no second member_added when the
//     same user opens the Echo tab too, leaving() once after the last tab;
//   - a message sent from the native tab (broadcast()) reaches the Echo tabs
//     as event `message`; a message sent from the Echo tab
//     (realtime_trigger(), event `message.sent`) reaches the other Echo tabs
//     and the native tabs, and ->toOthers() leaves out the sender's socket;
//   - /broadcasting/auth signs private and presence channels with the app
//     secret (checked here with node:crypto), and refuses other users'
//     channels, missing CSRF tokens and anonymous callers;
//   - signing out in the native tab closes the Echo tab's connection too;
//   - the secret never appears in the server's log;
//   - without the generated Pusher app file, the Echo tab says how to get one.
//
// Run: scripts/install-browser.sh && node --test tests/browser/
// Env: FRANKENPHP_BIN, CHROMIUM, KEEP_ARTIFACTS=1 (see README.md).
//
// Every wait is bounded; the only timers are poll intervals.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

import {
  BIN, CHROMIUM, CHROMIUM_FLAGS, DemoServer, Pages, ROOT, WAIT, freePort, logIn, send, unique,
  useTreeClientIfStale, waitMessage, waitOnline, waitReady,
} from './support.mjs';

const PRESENCE_LEAVE_TIMEOUT = 15_000; // presence_grace (3 s) + delivery

/** Echo connected, `chat` and `presence-lobby` subscribed, the status says so; returns the socket id. */
async function waitEchoReady(page) {
  const handle = await page.waitForFunction(() => {
    const echo = window.Echo;
    const channels = echo?.connector.channels;
    return echo && echo.connector.pusher.connection.state === 'connected'
      && channels.chat?.subscription.subscribed && channels['presence-lobby']?.subscription.subscribed
      && document.getElementById('status').dataset.kind === 'ok'
      && echo.socketId();
  }, null, { timeout: WAIT });
  return handle.jsonValue();
}

/**
 * Listeners of the test's own, registered the way app code would: Echo's
 * joining()/leaving() on the lobby (with the member ids pusher-js holds at
 * that moment) and listen() on `chat` for both event names.
 */
function record(page) {
  return page.evaluate(() => {
    window.rec = { joining: [], leaving: [], message: [], sent: [] };
    const lobby = window.Echo.join('lobby');
    const ids = () => {
      const list = [];
      lobby.subscription.members.each((m) => list.push(String(m.id)));
      return list.sort();
    };
    lobby
      .joining((info) => window.rec.joining.push({ info: info ?? null, ids: ids() }))
      .leaving((info) => window.rec.leaving.push({ info: info ?? null, ids: ids() }));
    window.Echo.channel('chat')
      .listen('.message', (e) => window.rec.message.push(e))
      .listen('.message.sent', (e) => window.rec.sent.push(e));
  });
}

async function recorded(page, key) {
  return page.evaluate((k) => window.rec[k], key);
}

async function waitRecorded(page, key, n, timeout = WAIT) {
  try {
    const handle = await page.waitForFunction(([k, n]) => (window.rec[k].length >= n ? window.rec[k] : false), [key, n], { timeout });
    return await handle.jsonValue();
  } catch (err) {
    throw new Error(`${key}: recorded ${JSON.stringify(await recorded(page, key))}, wanted ${n}: ${err.message.split('\n')[0]}`);
  }
}

/** How a shown message says it travelled (the .via label), by author and text. */
function via(page, user, text) {
  return page.evaluate(([user, text]) => [...document.querySelectorAll('#messages li:not(.system)')]
    .filter((li) => li.querySelector('.meta strong')?.textContent === user && li.querySelector('p')?.textContent === text)
    .map((li) => li.querySelector('.via')?.textContent), [user, text]);
}

/** POST /broadcasting/auth from the page (its cookie), with or without the CSRF token. */
function authorize(page, params, { csrf = true } = {}) {
  return page.evaluate(async ([params, csrf]) => {
    const headers = { 'Content-Type': 'application/x-www-form-urlencoded' };
    if (csrf) headers['X-CSRF-TOKEN'] = document.querySelector('meta[name="csrf-token"]').content;
    const res = await fetch('/broadcasting/auth', { method: 'POST', headers, body: new URLSearchParams(params) });
    return { status: res.status, body: await res.json().catch(() => null) };
  }, [params, csrf]);
}

function hmac(secret, message) {
  return createHmac('sha256', secret).update(message).digest('hex');
}

describe('the Echo tab of the demo (Pusher protocol) next to the native tab', { timeout: 150_000 }, () => {
  const artifacts = mkdtempSync(join(tmpdir(), 'realtime-browser-echo-'));
  const pages = new Pages(artifacts);
  let server;
  let browser;
  let aliceNative; let aliceEcho; let bobNative; let bobEcho;
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
        await pages.dump(name.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60));
        console.error(`step "${name}" failed; screenshots, page consoles and server logs in ${artifacts}`);
        throw err;
      }
    });
  }

  async function newContext(t) {
    const ctx = await browser.newContext();
    ctx.setDefaultTimeout(WAIT);
    const note = await useTreeClientIfStale(ctx, `${server.base}/ws`);
    if (note) t.diagnostic(note);
    return ctx;
  }

  before(async () => {
    assert.ok(existsSync(BIN), `${BIN} is missing: run "make build" first`);
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/install-browser.sh`);
    for (const dist of ['pusher-js/dist/web/pusher.min.js', 'laravel-echo/dist/echo.js']) {
      assert.ok(existsSync(join(ROOT, 'node_modules', dist)), `node_modules/${dist} is missing: run scripts/install-browser.sh (or make run)`);
    }
    server = await new DemoServer({ port: await freePort(), artifacts, secret: randomBytes(32).toString('hex') }).start();
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS, timeout: 30_000 });
  });

  after(async () => {
    await browser?.close().catch((e) => console.error(`closing the browser: ${e.message}`));
    await server?.stop().catch((e) => console.error(e.message));
    if (failed || process.env.KEEP_ARTIFACTS) {
      console.error(`artifacts kept in ${artifacts}`);
    } else {
      rmSync(artifacts, { recursive: true, force: true });
    }
  });

  step('the bundles come from node_modules through exact routes only', async () => {
    for (const [path, file] of [
      ['/vendor/pusher-js/pusher.min.js', 'pusher-js/dist/web/pusher.min.js'],
      ['/vendor/laravel-echo/echo.js', 'laravel-echo/dist/echo.js'],
    ]) {
      const res = await fetch(`${server.base}${path}`, { signal: AbortSignal.timeout(WAIT) });
      assert.equal(res.status, 200, path);
      assert.match(res.headers.get('content-type'), /^text\/javascript/, path);
      assert.equal(await res.text(), readFileSync(join(ROOT, 'node_modules', file), 'utf8'), path);
    }
    // Nothing else of node_modules: these fall through to the app (a redirect to the login page).
    for (const path of ['/vendor/pusher-js/pusher.js', '/vendor/laravel-echo/echo.js.map', '/vendor/pusher-js/package.json',
      '/vendor/laravel-echo/../pusher-js/dist/web/pusher.js', '/node_modules/pusher-js/package.json']) {
      const res = await fetch(`${server.base}${path}`, { redirect: 'manual', signal: AbortSignal.timeout(WAIT) });
      const body = await res.text();
      assert.ok(res.status !== 200 || !/pusher|echo/i.test(body), `${path}: HTTP ${res.status} ${body.slice(0, 80)}`);
      assert.doesNotMatch(res.headers.get('content-type') ?? '', /javascript|json/, path);
    }
  });

  step('alice: the Echo tab connects over the Pusher protocol, one member with her native tab', async (t) => {
    const ctx = await newContext(t);
    aliceNative = await pages.open(ctx, 'alice-native');
    await logIn(server, aliceNative, 'alice');
    await waitReady(aliceNative);

    // The second tab, opened from the native page's tab bar.
    const link = await aliceNative.getAttribute('nav.tabs a:not([aria-current])', 'href');
    assert.equal(link, '/echo.php');
    aliceEcho = await pages.open(ctx, 'alice-echo');
    await aliceEcho.goto(`${server.base}${link}`);

    const socketId = await waitEchoReady(aliceEcho);
    assert.match(socketId, /^\d+\.\d+$/);
    assert.equal(await aliceEcho.getAttribute('body', 'data-pusher-key'), server.pusher.key);
    assert.equal(await aliceEcho.textContent('#status'), 'Connected');
    assert.equal(await aliceEcho.getAttribute('#status', 'title'), `Pusher protocol, socket ${socketId}`);
    assert.equal(await aliceEcho.getAttribute('nav.tabs a[aria-current="page"]', 'href'), '/echo.php');
    await record(aliceEcho);
    // Echo's here(): one member, alice, whichever protocol she came through first.
    await waitOnline(aliceEcho, ['alice (you)']);
    await waitOnline(aliceNative, ['alice (you)']);
  });

  step('presence: bob arrives natively (joining), then in the Echo tab (here, no second join)', async (t) => {
    const ctx = await newContext(t);
    bobNative = await pages.open(ctx, 'bob-native');
    await logIn(server, bobNative, 'bob');
    await waitReady(bobNative);
    await waitOnline(bobNative, ['alice', 'bob (you)']);

    // A native member reaches Echo as member_added: joining() with no
    // user_info (native users have none), the list by id.
    const [joined] = await waitRecorded(aliceEcho, 'joining', 1);
    assert.deepEqual(joined, { info: null, ids: ['alice', 'bob'] });
    await waitOnline(aliceEcho, ['alice (you)', 'bob']);
    await waitOnline(aliceNative, ['alice (you)', 'bob']);

    bobEcho = await pages.open(ctx, 'bob-echo');
    await bobEcho.goto(`${server.base}/echo.php`);
    await waitEchoReady(bobEcho);
    await record(bobEcho);
    // here(): the members hash, alice and bob.
    await waitOnline(bobEcho, ['alice', 'bob (you)']);
    // What here() was given: the members pusher-js keeps, "me" from the
    // channel_data that /broadcasting/auth signed.
    const members = await bobEcho.evaluate(() => {
      const m = window.Echo.join('lobby').subscription.members;
      return { count: m.count, me: m.me?.id ?? null };
    });
    assert.deepEqual(members, { count: 2, me: 'bob' });

    // The same user in a second protocol is the same member: no second member_added.
    const sentinel = unique('sentinel');
    await send(bobNative, sentinel);
    await waitMessage(aliceEcho, 'bob', sentinel);
    assert.equal((await recorded(aliceEcho, 'joining')).length, 1, 'one joining() for bob');
  });

  step('native tab → Echo tabs: broadcast() arrives as event "message"', async () => {
    const text = unique('from the native tab');
    await send(bobNative, text);
    for (const page of [aliceEcho, bobEcho]) {
      const shown = await waitMessage(page, 'bob', text);
      assert.deepEqual(shown, { mine: page === bobEcho, html: text, elements: 0 });
      assert.deepEqual(await via(page, 'bob', text), ['broadcast()']);
    }
    const events = await recorded(aliceEcho, 'message');
    const event = events.find((e) => e.text === text);
    assert.ok(event, `alice's Echo got ${JSON.stringify(events)}`);
    assert.equal(event.user, 'bob');
    assert.equal(typeof event.at, 'number');
    assert.deepEqual((await recorded(aliceEcho, 'sent')).filter((e) => e.text === text), [], 'not as message.sent');
  });

  step('Echo tab → everyone else: realtime_trigger() "message.sent", the sender left out (->toOthers())', async () => {
    const text = unique('from the Echo tab');
    await send(aliceEcho, text);
    // Other Echo tabs: the named event, as Echo's .listen('.message.sent').
    const events = await waitRecorded(bobEcho, 'sent', 1);
    assert.deepEqual(events.map(({ user, text }) => ({ user, text })), [{ user: 'alice', text }]);
    assert.deepEqual(await via(bobEcho, 'alice', text), ['realtime_trigger() · message.sent']);
    // Native tabs, the sender's own included: a message frame named message.sent.
    for (const page of [aliceNative, bobNative]) {
      await waitMessage(page, 'alice', text);
      assert.deepEqual(await via(page, 'alice', text), ['realtime_trigger() · message.sent']);
    }
    // The sender's Echo tab shows it once, from the answer: a sentinel from
    // bob arriving after it proves the event itself never came back.
    const sentinel = unique('after');
    await send(bobEcho, sentinel);
    await waitMessage(aliceEcho, 'bob', sentinel);
    assert.deepEqual(await via(aliceEcho, 'alice', text), ['realtime_trigger() · message.sent · ->toOthers()']);
    assert.deepEqual((await recorded(aliceEcho, 'sent')).filter((e) => e.text === text), [], "the sender's socket got its own event");
    assert.equal((await waitMessage(aliceEcho, 'alice', text)).mine, true);
  });

  step('/broadcasting/auth signs like Pusher and refuses what the policy refuses', async () => {
    const { key, secret } = server.pusher;
    const socket = '1234.5678';

    const priv = await authorize(aliceEcho, { socket_id: socket, channel_name: 'private-user.alice' });
    assert.deepEqual(priv, { status: 200, body: { auth: `${key}:${hmac(secret, `${socket}:private-user.alice`)}` } });

    const presence = await authorize(aliceEcho, { socket_id: socket, channel_name: 'presence-lobby' });
    assert.equal(presence.status, 200);
    assert.deepEqual(JSON.parse(presence.body.channel_data), { user_id: 'alice', user_info: { name: 'alice' } });
    assert.equal(presence.body.auth, `${key}:${hmac(secret, `${socket}:presence-lobby:${presence.body.channel_data}`)}`);

    assert.equal((await authorize(aliceEcho, { socket_id: socket, channel_name: 'private-user.bob' })).status, 403);
    assert.equal((await authorize(aliceEcho, { socket_id: socket, channel_name: 'presence-elsewhere' })).status, 403);
    assert.equal((await authorize(aliceEcho, { socket_id: socket, channel_name: 'private-user.alice' }, { csrf: false })).status, 403);
    assert.equal((await authorize(aliceEcho, { socket_id: 'nope', channel_name: 'private-user.alice' })).status, 400);
    const anonymous = await fetch(`${server.base}/broadcasting/auth`, {
      method: 'POST', body: new URLSearchParams({ socket_id: socket, channel_name: 'presence-lobby' }), signal: AbortSignal.timeout(WAIT),
    });
    assert.equal(anonymous.status, 403);

    // Through Echo: the server accepts the signature for her own channel,
    // and Echo's .error() fires for bob's.
    const outcome = await aliceEcho.evaluate(() => Promise.all(['user.alice', 'user.bob'].map((name) => new Promise((ok) => {
      window.Echo.private(name)
        .subscribed(() => ok({ name, subscribed: true }))
        .error((e) => ok({ name, status: e.status, type: e.type }));
    }))));
    assert.deepEqual(outcome, [
      { name: 'user.alice', subscribed: true },
      { name: 'user.bob', status: 403, type: 'AuthError' },
    ]);
    assert.equal(await aliceEcho.evaluate(() => window.Echo.connector.pusher.connection.state), 'connected');
  });

  step('leaving(): once, after bob closed his last tab of either protocol', async () => {
    await bobNative.close();
    // bob is still here through the Echo tab.
    const still = unique('bob still here');
    await send(bobEcho, still);
    await waitMessage(aliceEcho, 'bob', still);
    await waitOnline(aliceEcho, ['alice (you)', 'bob']);

    await bobEcho.close();
    const [left] = await waitRecorded(aliceEcho, 'leaving', 1, PRESENCE_LEAVE_TIMEOUT);
    assert.deepEqual(left.ids, ['alice']);
    await waitOnline(aliceEcho, ['alice (you)']);
    await waitOnline(aliceNative, ['alice (you)']);
    assert.equal((await recorded(aliceEcho, 'leaving')).length, 1);
    assert.equal((await recorded(aliceEcho, 'joining')).length, 1);
  });

  step("signing out in the native tab closes the Echo tab's connection too (disconnectUser)", async () => {
    await aliceEcho.evaluate(() => {
      window.rec.states = [];
      window.Echo.connector.pusher.connection.bind('state_change', ({ current }) => window.rec.states.push(current));
    });
    await Promise.all([
      aliceNative.waitForURL(`${server.base}/login.php`, { timeout: WAIT }),
      aliceNative.click('form.me button[type="submit"]'),
    ]);
    await aliceEcho.waitForFunction(() => window.Echo.connector.pusher.connection.state === 'disconnected'
      && document.getElementById('status').dataset.kind === 'error', null, { timeout: WAIT });
    assert.match(await aliceEcho.textContent('#status'), /Disconnected/);
    const states = await recorded(aliceEcho, 'states');
    assert.ok(!states.includes('connecting'), `closed (4009) without a reconnect attempt: ${JSON.stringify(states)}`);
  });

  step('no uncaught exception in any page; the secret is not in the server log', async () => {
    for (const name of pages.logs.keys()) assert.deepEqual(pages.errors(name), [], `${name}: uncaught exceptions`);
    const log = server.log();
    assert.ok(!log.includes(server.pusher.secret), 'the Pusher app secret appears in the server log');
    assert.doesNotMatch(log, /No files matching import glob pattern/);
  });
});

describe('the Echo tab without a Pusher app file', { timeout: 60_000 }, () => {
  const artifacts = mkdtempSync(join(tmpdir(), 'realtime-browser-echo-none-'));
  let server;
  let browser;
  let ok = false;

  before(async () => {
    server = await new DemoServer({ port: await freePort(), artifacts, secret: randomBytes(32).toString('hex'), pusherApp: false }).start();
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS, timeout: 30_000 });
  });

  after(async () => {
    await browser?.close().catch((e) => console.error(`closing the browser: ${e.message}`));
    await server?.stop().catch((e) => console.error(e.message));
    if (!ok || process.env.KEEP_ARTIFACTS) console.error(`artifacts kept in ${artifacts}`);
    else rmSync(artifacts, { recursive: true, force: true });
  });

  it('the server starts (Caddy warns about the empty import), the tab says what to run', { timeout: 45_000 }, async () => {
    assert.match(server.log(), /No files matching import glob pattern/);
    const ctx = await browser.newContext();
    ctx.setDefaultTimeout(WAIT);
    const page = await ctx.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await logIn(server, page, 'carol');
    await page.goto(`${server.base}/echo.php`);
    assert.match(await page.textContent('#not-configured'), /make run/);
    assert.equal(await page.textContent('#status'), 'Not configured');
    assert.equal(await page.$('script[src="/echo-app.js"]'), null, 'no Echo without an app');
    assert.equal(await page.isDisabled('#text'), true);
    const auth = await page.evaluate(async () => (await fetch('/broadcasting/auth', {
      method: 'POST',
      headers: { 'X-CSRF-TOKEN': document.querySelector('meta[name="csrf-token"]').content },
      body: new URLSearchParams({ socket_id: '1.1', channel_name: 'presence-lobby' }),
    })).status);
    assert.equal(auth, 503);
    // The native tab is unaffected.
    await page.goto(`${server.base}/`);
    await waitReady(page);
    assert.deepEqual(errors, []);
    ok = true;
  });
});
