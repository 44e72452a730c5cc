// Unit tests of client/realtime.js in Node, with a fake WebSocket and a fake
// fetch: what the client does after a failed connect (docs/client.md,
// "When the server refuses"). The browser tests (demo.test.mjs,
// quickstart.test.mjs) check the same against the real server in Chromium.
//
// Run: node --test tests/browser/

import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const { RealtimeClient, RealtimeError } = await import(pathToFileURL(join(ROOT, 'client/realtime.js')).href);

const WAIT = 2000; // bound of every wait below

/** A WebSocket that never reaches the server: each instance is scripted by the test. */
class FakeSocket {
  static instances = [];
  constructor(url) {
    this.url = url;
    this.readyState = 0;
    this.sent = [];
    FakeSocket.instances.push(this);
  }
  send(data) { this.sent.push(JSON.parse(data)); }
  close() { this.readyState = 3; }
  /** What a browser reports for a refused handshake: an abnormal close. */
  refuse() {
    this.readyState = 3;
    this.onerror?.({});
    this.onclose?.({ code: 1006, reason: '' });
  }
  accept(userId = '42') {
    this.readyState = 1;
    this.onmessage?.({ data: JSON.stringify({ event: 'connected', user_id: userId, connection_id: 'c1' }) });
  }
}

/** Waits until cond() is truthy (bounded). */
async function until(cond, what) {
  const deadline = Date.now() + WAIT;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((ok) => setTimeout(ok, 5));
  }
}

/** Records every event a client emits. */
function record(rt) {
  const events = [];
  for (const name of ['connected', 'disconnected', 'reconnecting', 'unauthorized', 'forbidden', 'error']) {
    rt.on(name, (payload) => events.push([name, payload]));
  }
  return events;
}

function jsonResponse(status, body) {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

const realFetch = globalThis.fetch;
let fetches;
/** Installs a fake fetch answering with answer(url, init) (a Response, or a throw). */
function fakeFetch(answer) {
  globalThis.fetch = async (url, init) => {
    fetches.push({ url: String(url), init });
    return answer(url, init);
  };
}

function client(options = {}) {
  // Tiny delays keep the backoff fast; the ping is off (not under test).
  return new RealtimeClient('wss://app.example/ws?tenant=7', {
    WebSocket: FakeSocket, minDelay: 1, maxDelay: 5, pingInterval: 0, ...options,
  });
}

describe('realtime.js after a failed connect', () => {
  beforeEach(() => {
    FakeSocket.instances = [];
    fetches = [];
  });
  afterEach(() => {
    globalThis.fetch = realFetch;
  });

  it('401 from the diagnosis: emits unauthorized, rejects connect(), stops retrying', async () => {
    fakeFetch(() => jsonResponse(401, { status: 401, reason: 'unauthorized', message: 'not logged in: the auth endpoint answered 401' }));
    const rt = client();
    const events = record(rt);
    const sub = rt.subscribe('orders');
    const connecting = rt.connect();
    FakeSocket.instances[0].refuse();

    const err = await connecting.then(() => assert.fail('connect() resolved'), (e) => e);
    assert.ok(err instanceof RealtimeError);
    assert.equal(err.code, 'unauthorized');
    assert.equal((await sub.catch((e) => e)).code, 'unauthorized', 'subscribe() waiters reject too');
    assert.equal(rt.state, 'closed');

    // The diagnosis went to the route's http(s) URL, with the cookies.
    assert.equal(fetches.length, 1);
    assert.equal(fetches[0].url, 'https://app.example/ws?tenant=7');
    assert.equal(fetches[0].init.headers.Accept, 'application/json');
    assert.equal(fetches[0].init.credentials, 'include');

    const refusal = { status: 401, reason: 'unauthorized', message: 'not logged in: the auth endpoint answered 401' };
    assert.deepEqual(events, [
      ['disconnected', { code: 1006, reason: refusal.message, willReconnect: false }],
      ['unauthorized', refusal],
    ]);
    assert.deepEqual(err.frame, refusal);

    // No retry is scheduled.
    await new Promise((ok) => setTimeout(ok, 50));
    assert.equal(FakeSocket.instances.length, 1, 'the client retried after 401');

    // connect() again tries again (e.g. after the user signed in).
    fakeFetch(() => assert.fail('no diagnosis after a successful connect'));
    const again = rt.connect();
    assert.equal(FakeSocket.instances.length, 2);
    FakeSocket.instances[1].accept('alice');
    assert.deepEqual(await again, { userId: 'alice', connectionId: 'c1' });
    // The channel subscribed before is still wanted: resubscribed.
    assert.deepEqual(FakeSocket.instances[1].sent.map((f) => [f.action, f.channel]), [['subscribe', 'orders']]);
    rt.close();
  });

  for (const reason of ['origin', 'forbidden']) {
    it(`403 ${reason}: emits forbidden with the reason, stops retrying`, async () => {
      fakeFetch(() => jsonResponse(403, { status: 403, reason, message: 'refused' }));
      const rt = client();
      const events = record(rt);
      const connecting = rt.connect();
      FakeSocket.instances[0].refuse();
      const err = await connecting.catch((e) => e);
      assert.equal(err.code, 'forbidden');
      assert.deepEqual(events.at(-1), ['forbidden', { status: 403, reason, message: 'refused' }]);
      assert.equal(events.filter(([n]) => n === 'unauthorized').length, 0);
      assert.equal(rt.state, 'closed');
      await new Promise((ok) => setTimeout(ok, 50));
      assert.equal(FakeSocket.instances.length, 1);
    });
  }

  const transient = {
    '503 full': () => jsonResponse(503, { status: 503, reason: 'full', message: 'the server is at max_connections' }),
    '503 unavailable': () => jsonResponse(503, { status: 503, reason: 'unavailable', message: 'try again' }),
    '200 ok (the refusal was transient)': () => jsonResponse(200, { status: 200, reason: 'ok', message: 'ok', user_id: '1' }),
    'a network error': () => { throw new TypeError('Failed to fetch'); },
    '403 that is not the module\'s JSON (a proxy page)': () => new Response('<h1>Forbidden</h1>', { status: 403, headers: { 'Content-Type': 'text/html' } }),
    '426 (a server without the diagnosis)': () => new Response('this endpoint only accepts WebSocket connections\n', { status: 426 }),
  };
  for (const [name, answer] of Object.entries(transient)) {
    it(`${name}: keeps the jittered backoff`, async () => {
      fakeFetch(answer);
      const rt = client();
      const events = record(rt);
      const connecting = rt.connect();
      FakeSocket.instances[0].refuse();
      await until(() => FakeSocket.instances.length === 2, 'a retry');
      FakeSocket.instances[1].refuse();
      await until(() => FakeSocket.instances.length === 3, 'a second retry');
      FakeSocket.instances[2].accept();
      await connecting;
      assert.equal(fetches.length, 2, 'one diagnosis per failed connect');
      assert.deepEqual(events.filter(([n]) => n === 'reconnecting').map(([, p]) => p.attempt), [1, 2]);
      assert.equal(events.filter(([n]) => n === 'unauthorized' || n === 'forbidden').length, 0);
      rt.close();
    });
  }

  it('close() while the diagnosis is in flight: the late answer is ignored', async () => {
    let answer;
    fakeFetch(() => new Promise((ok) => { answer = ok; }));
    const rt = client();
    const events = record(rt);
    const connecting = rt.connect().catch((e) => e);
    FakeSocket.instances[0].refuse();
    await until(() => answer, 'the diagnosis request');
    rt.close();
    assert.equal((await connecting).code, 'closed');
    answer(jsonResponse(401, { status: 401, reason: 'unauthorized', message: 'late' }));
    await new Promise((ok) => setTimeout(ok, 20));
    assert.equal(events.filter(([n]) => n === 'unauthorized').length, 0);
    assert.equal(rt.state, 'closed');
  });

  it('a new connect() during a stale diagnosis is not stopped by it', async () => {
    const answers = [];
    fakeFetch(() => new Promise((ok) => answers.push(ok)));
    const rt = client();
    const events = record(rt);
    rt.connect().catch(() => {});
    FakeSocket.instances[0].refuse();
    await until(() => answers.length === 1, 'the diagnosis request');
    rt.close();
    const second = rt.connect();
    FakeSocket.instances[1].accept();
    await second;
    answers[0](jsonResponse(401, { status: 401, reason: 'unauthorized', message: 'stale' }));
    await new Promise((ok) => setTimeout(ok, 20));
    assert.equal(rt.state, 'connected');
    assert.equal(events.filter(([n]) => n === 'unauthorized').length, 0);
    rt.close();
  });

  it('a connection that was established and then dropped reconnects without a diagnosis', async () => {
    fakeFetch(() => assert.fail('diagnosis after an established connection'));
    const rt = client();
    await Promise.all([rt.connect(), FakeSocket.instances[0].accept()]);
    FakeSocket.instances[0].onclose({ code: 1001, reason: 'shutdown' });
    await until(() => FakeSocket.instances.length === 2, 'a reconnect');
    FakeSocket.instances[1].accept();
    await until(() => rt.state === 'connected', 'connected again');
    assert.equal(fetches.length, 0);
    rt.close();
  });

  it('diagnose: false keeps the old behaviour (no request, backoff)', async () => {
    fakeFetch(() => assert.fail('diagnosis despite diagnose: false'));
    const rt = client({ diagnose: false });
    const connecting = rt.connect();
    FakeSocket.instances[0].refuse();
    await until(() => FakeSocket.instances.length === 2, 'a retry');
    FakeSocket.instances[1].accept();
    await connecting;
    assert.equal(fetches.length, 0);
    rt.close();
  });
});
