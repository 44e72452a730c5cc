// Laravel + Echo in a real browser, against the Laravel 10 app of
// tests/laravel-app served by bin/frankenphp (Pusher protocol on the same
// hub). The same flow runs twice:
//
//   frankenphp  BROADCAST_DRIVER=frankenphp: the package's broadcaster
//               publishes in-process with realtime_trigger();
//   reverb      BROADCAST_DRIVER=reverb, Laravel's own `reverb` connection:
//               with no Pusher PHP SDK installable here, the package's
//               signed HTTP client serves the driver, so every publish is a
//               signed POST /apps/{id}/events to the same server.
//
// Echo 2.5.0 (broadcaster 'reverb') + pusher-js 8.6.0 (with encryption),
// loaded from node_modules by the page, no bundler. Steps: log in; a
// private channel receives an event dispatched from a Laravel route
// (ShouldBroadcastNow, broadcastAs); ->toOthers() leaves out the sender's
// socket (X-Socket-ID set from Echo.socketId()); channels the callbacks
// refuse fail with .error(); presence here/joining/leaving across two
// browser contexts and a class-named event on it; an encrypted private
// channel; pusher:signin through /broadcasting/user-auth and a message to
// the user.
//
// Run: scripts/install-laravel.sh && scripts/install-browser.sh && node --test tests/laravel/
// Env: FRANKENPHP_BIN, CHROMIUM, KEEP_ARTIFACTS=1.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chromium } from 'playwright-core';

import {
  CHROMIUM, CHROMIUM_FLAGS, LaravelServer, Pages, WAIT, artifactsDir, cleanup, logIn,
  recorded, waitConnected, waitRecorded,
} from './support.mjs';

function unique(label) {
  return `${label}-${randomBytes(4).toString('hex')}`;
}

for (const connection of ['frankenphp', 'reverb']) {
  describe(`Laravel + Echo, ${connection} driver`, { timeout: 180_000 }, () => {
    const dir = artifactsDir(`echo-${connection}`);
    const pages = new Pages(dir);
    let server;
    let browser;
    let alice; let alice2; let bob;
    let failed = false;

    function step(name, fn) {
      it(name, { timeout: 60_000 }, async (t) => {
        if (failed) {
          t.skip('an earlier step failed');
          return;
        }
        try {
          await fn(t);
        } catch (err) {
          failed = true;
          await pages.dump(name.replace(/[^A-Za-z0-9]+/g, '-').slice(0, 60));
          console.error(`step "${name}" failed; screenshots, page consoles and server logs in ${dir}`);
          throw err;
        }
      });
    }

    before(async () => {
      server = await new LaravelServer({ dir, connection }).start();
      browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS, timeout: 30_000 });
    });

    after(async () => {
      await browser?.close().catch((e) => console.error(`closing the browser: ${e.message}`));
      await server?.stop().catch((e) => console.error(e.message));
      cleanup(dir, failed);
    });

    step('the app publishes through the expected path', async () => {
      const res = await fetch(`${server.base}/bench/publish?count=1`, { signal: AbortSignal.timeout(WAIT) });
      const body = await res.json();
      assert.equal(res.status, 200, JSON.stringify(body));
      assert.equal(body.connection, connection);
      assert.equal(body.publisher, connection === 'frankenphp'
        ? 'realtime_trigger()'
        : `the Pusher HTTP API at http://127.0.0.1:${server.port}`);
    });

    step('alice logs in and Echo connects over the Pusher protocol', async () => {
      const ctx = await browser.newContext();
      ctx.setDefaultTimeout(WAIT);
      alice = await pages.open(ctx, 'alice');
      await logIn(server, alice, 'alice');
      const socketId = await alice.evaluate(() => window.echo.socketId());
      assert.match(socketId, /^\d+\.\d+$/);
      assert.equal(await alice.evaluate(() => window.APP.connection), connection);
    });

    step('Echo.private().listen() receives the event dispatched from a Laravel route', async () => {
      await alice.evaluate(() => new Promise((ok, fail) => {
        window.echo.private('orders.1')
          .subscribed(ok)
          .error((e) => fail(new Error(`subscription refused: ${JSON.stringify(e)}`)))
          .listen('.order.shipped', (e) => (window.rec.orders ??= []).push(e));
      }));
      const note = unique('first');
      const answer = await alice.evaluate((n) => window.post('/orders/7/ship', { note: n }), note);
      assert.deepEqual(answer, { published: true, socket: null });
      const [event] = await waitRecorded(alice, 'orders', 1);
      // ShouldBroadcastNow, broadcastAs() 'order.shipped', the event's public
      // properties as payload (Laravel's `socket` key removed).
      assert.deepEqual(event, { userId: 1, orderId: 7, note });
    });

    step('->toOthers() leaves out the socket of the request (X-Socket-ID)', async () => {
      alice2 = await pages.open(alice.context(), 'alice-tab2');
      await alice2.goto(`${server.base}/echo`);
      await waitConnected(alice2, 'echo');
      await alice2.evaluate(() => new Promise((ok, fail) => {
        window.rec = {};
        window.echo.private('orders.1').subscribed(ok).error((e) => fail(new Error(JSON.stringify(e))))
          .listen('.order.shipped', (e) => (window.rec.orders ??= []).push(e));
      }));
      const before = (await recorded(alice, 'orders')).length;

      const others = unique('others');
      const answer = await alice.evaluate((n) => window.post('/orders/8/ship', { note: n, others: true }, window.echo), others);
      assert.equal(answer.socket, await alice.evaluate(() => window.echo.socketId()), 'Laravel saw the X-Socket-ID header');
      const [got] = await waitRecorded(alice2, 'orders', 1);
      assert.equal(got.note, others, 'the other tab of the same user receives it');

      // Sentinel: the sender's next event must be this one, not the first.
      const sentinel = unique('sentinel');
      await alice.evaluate((n) => window.post('/orders/9/ship', { note: n }, window.echo), sentinel);
      const events = await waitRecorded(alice, 'orders', before + 1);
      assert.equal(events[before].note, sentinel, `the sender's own socket got ${JSON.stringify(events.slice(before))}`);
      assert.equal((await waitRecorded(alice2, 'orders', 2))[1].note, sentinel);
    });

    step('channels the callbacks refuse fail with .error()', async () => {
      const errors = await alice.evaluate(() => Promise.all(['vault', 'orders.2'].map((name) => new Promise((ok) => {
        window.echo.private(name)
          .subscribed(() => ok({ name, subscribed: true }))
          .error((e) => ok({ name, status: e.status, type: e.type }));
      }))));
      assert.deepEqual(errors, [
        { name: 'vault', status: 403, type: 'AuthError' },
        { name: 'orders.2', status: 403, type: 'AuthError' },
      ]);
      assert.equal(await alice.evaluate(() => window.echo.connector.pusher.connection.state), 'connected', 'the connection stays up');
    });

    step('Echo.join(): here, joining and leaving across two browser contexts', async () => {
      const here = await alice.evaluate(() => new Promise((ok) => {
        window.echo.join('room.1')
          .here(ok)
          .joining((u) => (window.rec.joining ??= []).push(u))
          .leaving((u) => (window.rec.leaving ??= []).push(u))
          .listen('RoomMessage', (e) => (window.rec.room ??= []).push(e));
      }));
      assert.deepEqual(here, [{ id: 1, name: 'alice' }]);

      const ctx = await browser.newContext();
      ctx.setDefaultTimeout(WAIT);
      bob = await pages.open(ctx, 'bob');
      await logIn(server, bob, 'bob');
      const bobHere = await bob.evaluate(() => new Promise((ok) => {
        window.echo.join('room.1').here(ok)
          .listen('RoomMessage', (e) => (window.rec.room ??= []).push(e));
      }));
      assert.deepEqual(bobHere.sort((a, b) => a.id - b.id), [{ id: 1, name: 'alice' }, { id: 2, name: 'bob' }]);
      assert.deepEqual(await waitRecorded(alice, 'joining', 1), [{ id: 2, name: 'bob' }]);

      // An event named after its class (no broadcastAs()): Echo's
      // .listen('RoomMessage') binds App\Events\RoomMessage.
      const text = unique('hello');
      await alice.evaluate((t) => window.post('/rooms/1/messages', { text: t }), text);
      for (const page of [alice, bob]) {
        assert.deepEqual((await waitRecorded(page, 'room', 1))[0], { roomId: 1, from: 'alice', text });
      }

      await bob.evaluate(() => window.echo.leave('room.1'));
      assert.deepEqual(await waitRecorded(alice, 'leaving', 1, 15_000), [{ id: 2, name: 'bob' }]);
      assert.deepEqual(await recorded(alice, 'joining'), [{ id: 2, name: 'bob' }], 'no second join');
    });

    step('Echo.encryptedPrivate() decrypts an event (shared_secret from /broadcasting/auth)', async () => {
      await alice.evaluate(() => new Promise((ok, fail) => {
        window.echo.encryptedPrivate('secret.1')
          .subscribed(ok)
          .error((e) => fail(new Error(JSON.stringify(e))))
          .listen('.secret.note', (e) => (window.rec.secret ??= []).push(e));
      }));
      const text = unique('psst');
      await alice.evaluate((t) => window.post('/secret', { text: t }), text);
      assert.deepEqual((await waitRecorded(alice, 'secret', 1))[0], { userId: 1, text });
    });

    step('pusher:signin through /broadcasting/user-auth, then a message to the user', async () => {
      const user = await alice.evaluate(() => new Promise((ok) => {
        const pusher = window.echo.connector.pusher;
        pusher.user.bind('message', (data) => (window.rec.direct ??= []).push(data));
        pusher.signin();
        pusher.user.signinDonePromise.then(() => ok(pusher.user.user_data));
      }));
      assert.deepEqual(user, { id: '1', user_info: { name: 'alice' } });
      // The #server-to-user-1 subscription follows signin_success.
      await alice.waitForFunction(() => {
        const ch = window.echo.connector.pusher.user.serverToUserChannel;
        return ch && ch.subscribed;
      }, null, { timeout: WAIT });
      const text = unique('direct');
      await alice.evaluate((t) => window.post('/notify', { text: t }), text);
      assert.deepEqual((await waitRecorded(alice, 'direct', 1))[0], { text });
    });

    step('no page had an uncaught exception', () => {
      for (const name of ['alice', 'alice-tab2', 'bob']) {
        assert.deepEqual(pages.errors(name), [], name);
      }
    });
  });
}
