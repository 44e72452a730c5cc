// Laravel from the command line: `bin/frankenphp php-cli tests/laravel-app/artisan`.
//
// - Queued broadcasts: a ShouldBroadcast event dispatched by a route is
//   only stored (database queue, sqlite); `artisan queue:work` publishes it
//   through the package's broadcaster, whose realtime_trigger() reaches
//   the running server through its admin listener (memory driver,
//   REALTIME_ADMIN_ADDRESS) or through Valkey (valkey driver,
//   REALTIME_VALKEY_ADDRESS, the server's admin listener off). Echo in
//   Chromium receives it; its payload says it was published by the cli SAPI.
// - artisan without the disable_functions line fails at boot with the
//   package's message; without realtime_trigger() (what a stock PHP has)
//   publishing throws the package's "extension not loaded" message, or
//   goes over the HTTP API with http_fallback.
//
// Run: node --test tests/laravel/ (see echo.test.mjs for the setup).

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

import {
  CHROMIUM, CHROMIUM_FLAGS, DISABLE_LINE, LaravelServer, Pages, Valkey, WAIT, artifactsDir, cleanup, logIn,
  recorded, waitRecorded,
} from './support.mjs';

function unique(label) {
  return `${label}-${randomBytes(4).toString('hex')}`;
}

/** alice's Echo page, listening on private-orders.1 for both events. */
async function listeningPage(browser, pages, server) {
  const ctx = await browser.newContext();
  ctx.setDefaultTimeout(WAIT);
  const page = await pages.open(ctx, 'alice');
  await logIn(server, page, 'alice');
  await page.evaluate(() => new Promise((ok, fail) => {
    window.echo.private('orders.1')
      .subscribed(ok)
      .error((e) => fail(new Error(JSON.stringify(e))))
      .listen('.queued.ping', (e) => (window.rec.queued ??= []).push(e))
      .listen('.order.shipped', (e) => (window.rec.orders ??= []).push(e));
  }));
  return page;
}

function output(r) {
  return `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}

for (const broker of ['memory', 'valkey']) {
  describe(`queued ShouldBroadcast published by artisan queue:work (${broker} driver)`, { timeout: 120_000 }, () => {
    const dir = artifactsDir(`queue-${broker}`);
    const pages = new Pages(dir);
    let valkey;
    let server;
    let browser;
    let alice;
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
          console.error(`step "${name}" failed; artifacts in ${dir}`);
          throw err;
        }
      });
    }

    before(async () => {
      if (broker === 'valkey') valkey = await new Valkey(dir).start();
      server = await new LaravelServer({
        dir,
        valkey: valkey?.address ?? null,
        // With Valkey the worker needs no server at all: no admin listener.
        admin: broker === 'memory',
      }).start();
      browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS, timeout: 30_000 });
      alice = await listeningPage(browser, pages, server);
    });

    after(async () => {
      await browser?.close().catch((e) => console.error(`closing the browser: ${e.message}`));
      await server?.stop().catch((e) => console.error(e.message));
      await valkey?.stop().catch((e) => console.error(e.message));
      cleanup(dir, failed);
    });

    const workerEnv = () => (broker === 'memory'
      ? { REALTIME_ADMIN_ADDRESS: `127.0.0.1:${server.adminPort}` }
      : { REALTIME_VALKEY_ADDRESS: valkey.address, REALTIME_ADMIN_ADDRESS: '127.0.0.1:9' });

    step('artisan without the disable_functions line refuses to boot, saying why', async () => {
      const empty = join(dir, 'no-ini');
      mkdirSync(empty, { recursive: true });
      const r = await server.artisan(['queue:work', '--once', '--no-interaction'], { ...workerEnv(), PHP_INI_SCAN_DIR: empty });
      assert.notEqual(r.code, 0, output(r));
      const text = (r.stdout + r.stderr).replace(/\s+/g, ' ');
      assert.match(text, /broadcast\(\) helper is shadowed by the FrankenPHP realtime extension/, output(r));
      assert.match(text, /disable_functions/, output(r));
    });

    step('the route queues the event; queue:work (php-cli) publishes it to Echo', async () => {
      const marker = unique('queued');
      const answer = await alice.evaluate((m) => window.post('/queued', { marker: m }), marker);
      assert.deepEqual(answer, { queued: true, connection: 'database' });
      // Sentinel: an event published during a later request arrives while
      // the queued one has not been published yet.
      await alice.evaluate(() => window.post('/orders/1/ship', { note: 'sentinel' }));
      assert.equal((await waitRecorded(alice, 'orders', 1))[0].note, 'sentinel');
      assert.deepEqual(await recorded(alice, 'queued'), [], 'published before the worker ran');

      const r = await server.artisan(['queue:work', '--stop-when-empty', '--tries=1', '--no-interaction'], workerEnv());
      assert.equal(r.code, 0, output(r));
      assert.match(r.stdout, /App\\Events\\QueuedPing[ .]*[0-9.]+ms DONE/, output(r));
      const [event] = await waitRecorded(alice, 'queued', 1);
      assert.equal(event.marker, marker);
      assert.equal(event.sapi, 'cli', 'published by the php-cli worker, not by the server');
    });

    step('no page had an uncaught exception', () => {
      assert.deepEqual(pages.errors('alice'), []);
    });
  });
}

describe('artisan without the realtime extension', { timeout: 120_000 }, () => {
  const dir = artifactsDir('no-extension');
  const pages = new Pages(dir);
  let server;
  let browser;
  let alice;
  let failed = false;
  // What a stock PHP looks like to the package: no realtime_trigger().
  const noExtension = join(dir, 'ini-no-extension');

  before(async () => {
    mkdirSync(noExtension, { recursive: true });
    writeFileSync(join(noExtension, 'realtime.ini'), `${DISABLE_LINE},realtime_trigger\n`);
    server = await new LaravelServer({ dir }).start();
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS, timeout: 30_000 });
    alice = await listeningPage(browser, pages, server);
  });

  after(async () => {
    await browser?.close().catch((e) => console.error(`closing the browser: ${e.message}`));
    await server?.stop().catch((e) => console.error(e.message));
    cleanup(dir, failed);
  });

  it('publishing throws a message naming the problem and both ways out', async () => {
    try {
      const r = await server.artisan(['realtime:ship', '1', '11', 'cli'], { PHP_INI_SCAN_DIR: noExtension });
      assert.notEqual(r.code, 0, output(r));
      const text = (r.stdout + r.stderr).replace(/\s+/g, ' ');
      assert.match(text, /The "frankenphp" broadcaster publishes through realtime_trigger\(\), which this PHP process does not have/, output(r));
      assert.match(text, /frankenphp php-cli artisan/, output(r));
      assert.match(text, /http_fallback/, output(r));
    } catch (err) {
      failed = true;
      throw err;
    }
  });

  it('with http_fallback the same command publishes over the HTTP API', async () => {
    try {
      const env = { PHP_INI_SCAN_DIR: noExtension, REALTIME_HTTP_FALLBACK: 'true' };
      const which = await server.artisan(['realtime:publisher'], env);
      assert.equal(which.stdout.trim(), `the Pusher HTTP API at http://127.0.0.1:${server.port}`, output(which));
      const r = await server.artisan(['realtime:ship', '1', '12', 'over-http'], env);
      assert.equal(r.code, 0, output(r));
      const [event] = await waitRecorded(alice, 'orders', 1);
      assert.deepEqual(event, { userId: 1, orderId: 12, note: 'over-http' });
    } catch (err) {
      failed = true;
      await pages.dump('http-fallback');
      throw err;
    }
  });
});
