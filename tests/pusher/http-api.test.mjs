// SPEC §8 "HTTP API": every endpoint through the official Node SDK
// (pusher 5.3.4), exact JSON shapes, request signatures and error statuses
// (hand-signed requests for what the SDK will not send).

import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';

import {
  Server, RawPusher, connectPusher, connectEcho, closeClients, subscribe, nextEvent,
  signedRequest, waitFor, withTimeout, uid, WAIT,
} from './support.mjs';

const MAX_MESSAGE = 4096;

/** The SDK's RequestError carries status and body; returns them for a rejected call. */
async function sdkError(promise) {
  try {
    await promise;
  } catch (err) {
    return { status: err.status, body: err.body, json: err.body ? JSON.parse(err.body) : undefined };
  }
  throw new Error('the request succeeded');
}

async function json(res) {
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /application\/json/);
  return res.json();
}

describe('HTTP API', () => {
  let server;
  let sdk;
  before(async () => {
    server = await Server.start({ admin: true, options: ['presence_grace 500ms', `max_message_size ${MAX_MESSAGE}`] });
    sdk = server.sdk();
  });
  after(async () => { await closeClients(); await server?.stop(); });
  afterEach(() => closeClients());

  it('§8 HTTP API: GET /apps/{id}/channels — the channels member is always a JSON object, {} when empty', async () => {
    const res = await sdk.get({ path: '/channels' });
    assert.equal(await res.text(), '{"channels":{}}');
    const filtered = await sdk.get({ path: '/channels', params: { filter_by_prefix: 'presence-', info: 'user_count' } });
    assert.equal(await filtered.text(), '{"channels":{}}');
  });

  it('§8 HTTP API: POST events — data forwarded verbatim (string kept byte for byte), event names with backslashes, answer {}', async () => {
    const name = uid('verbatim-');
    const raw = await RawPusher.connect(server);
    await raw.subscribe(name);
    const data = '{"b":1,  "a":[1,2],"s":"\\u00e9\\n"}';
    const res = await sdk.trigger(name, 'App\\Events\\OrderShipped', data);
    assert.deepEqual(await json(res), {});
    const f = await raw.nextOn(name, 'App\\Events\\OrderShipped');
    assert.equal(f.data, data, 'byte for byte');

    // Data that is not JSON at all is forwarded too (pusher-js then hands over the string).
    await sdk.trigger(name, 'plain', 'just text');
    assert.equal((await raw.nextOn(name, 'plain')).data, 'just text');

    // pusher-http-php sends "channel" (one) instead of "channels": accepted.
    const body = JSON.stringify({ name: 'single', channel: name, data: '"x"' });
    const r = await signedRequest(server, 'POST', `/apps/${server.app.id}/events`, { body });
    assert.equal(r.status, 200, r.body);
    assert.equal((await raw.nextOn(name, 'single')).data, '"x"');
  });

  it('§8 HTTP API: events to up to 100 channels at once; 101 → 400 with a JSON body', async () => {
    const base = uid('multi-');
    const channels = Array.from({ length: 100 }, (_, i) => `${base}-${i}`);
    const first = await RawPusher.connect(server);
    const last = await RawPusher.connect(server);
    await first.subscribe(channels[0]);
    await last.subscribe(channels[99]);
    await json(await sdk.trigger(channels, 'fanout', { n: 100 }));
    assert.equal((await first.nextOn(channels[0], 'fanout')).data, '{"n":100}');
    assert.equal((await last.nextOn(channels[99], 'fanout')).data, '{"n":100}');

    const body = JSON.stringify({ name: 'too-many', channels: [...channels, `${base}-100`], data: '{}' });
    const r = await signedRequest(server, 'POST', `/apps/${server.app.id}/events`, { body });
    assert.equal(r.status, 400);
    assert.equal(typeof r.json?.error, 'string', `JSON error body: ${r.body}`);
  });

  it('§8 HTTP API: event names with the reserved pusher: and pusher_internal: prefixes → 400 (pusher-js would act on them: a forged member_added)', async () => {
    for (const name of ['pusher_internal:member_added', 'pusher:subscription_succeeded', 'pusher:error']) {
      const body = JSON.stringify({ name, channel: 'presence-room', data: '{"user_id":666}' });
      const r = await signedRequest(server, 'POST', `/apps/${server.app.id}/events`, { body });
      assert.equal(r.status, 400, `${name}: ${r.body}`);
      assert.match(r.json?.error ?? '', /reserved/, r.body);
    }
  });

  it('§8 HTTP API: socket_id is left out (Laravel toOthers()) — the excluded pusher-js client does not get the event, the others do', async () => {
    const name = uid('others-');
    const me = await connectPusher(server, { user: '1' });
    const them = await connectPusher(server, { user: '2' });
    const mine = await subscribe(me, name);
    const theirs = await subscribe(them, name);
    const myEvents = [];
    mine.bind('Saved', (d) => myEvents.push(d));
    const theyGot = nextEvent(theirs, 'Saved');
    await sdk.trigger(name, 'Saved', { by: 1 }, { socket_id: me.connection.socket_id });
    assert.deepEqual(await theyGot, { by: 1 });
    // Sentinel: my next event is the one after.
    const next = nextEvent(mine, 'Next');
    await sdk.trigger(name, 'Next', {});
    await next;
    assert.deepEqual(myEvents, [], 'the excluded socket got nothing');
  });

  it('§8 HTTP API: events with info=user_count,subscription_count answer {"channels":{name:{...}}}', async () => {
    const presence = uid('presence-info-');
    const pub = uid('info-');
    const a = await RawPusher.connect(server);
    await a.subscribePresence(presence, 'u1');
    const b = await RawPusher.connect(server);
    await b.subscribePresence(presence, 'u2');
    const c = await RawPusher.connect(server);
    await c.subscribePresence(presence, 'u2');
    await a.subscribe(pub);

    const res = await sdk.trigger([presence, pub], 'counted', {}, { info: 'user_count,subscription_count' });
    const body = await json(res);
    assert.deepEqual(body, {
      channels: {
        [presence]: { user_count: 2, subscription_count: 3 },
        [pub]: { subscription_count: 1 },
      },
    });
  });

  it('§8 HTTP API: batch_events (≤10) delivers every item; with info answers {"batch":[...]}, without {}', async () => {
    const name = uid('batch-');
    const raw = await RawPusher.connect(server);
    await raw.subscribe(name);
    const res = await sdk.triggerBatch([
      { channel: name, name: 'one', data: { i: 1 } },
      { channel: name, name: 'two', data: '{"i":2}' },
    ]);
    assert.deepEqual(await json(res), {});
    assert.equal((await raw.nextOn(name, 'one')).data, '{"i":1}');
    assert.equal((await raw.nextOn(name, 'two')).data, '{"i":2}');

    const withInfo = await sdk.triggerBatch([
      { channel: name, name: 'three', data: '{}', info: 'subscription_count' },
      { channel: name, name: 'four', data: '{}' },
    ]);
    assert.deepEqual(await json(withInfo), { batch: [{ subscription_count: 1 }, {}] });

    // A batch item's socket_id leaves that socket out.
    const other = await RawPusher.connect(server);
    await other.subscribe(name);
    await sdk.triggerBatch([{ channel: name, name: 'not-for-raw', data: '{}', socket_id: raw.socketId }]);
    await other.nextOn(name, 'not-for-raw');
    await sdk.trigger(name, 'sentinel', {});
    assert.equal((await raw.next((f) => f.channel === name && f.event !== 'three' && f.event !== 'four')).event, 'sentinel');

    const eleven = Array.from({ length: 11 }, (_, i) => ({ channel: name, name: `b${i}`, data: '{}' }));
    const err = await sdkError(sdk.triggerBatch(eleven));
    assert.equal(err.status, 400);
    assert.equal(typeof err.json?.error, 'string');
  });

  it('§8 details: a batch with one item over max_message_size is refused whole with 413 — no item is published', async () => {
    const name = uid('batch-413-');
    const raw = await RawPusher.connect(server);
    await raw.subscribe(name);
    const err = await sdkError(sdk.triggerBatch([
      { channel: name, name: 'small', data: '{}' },
      { channel: name, name: 'big', data: 'x'.repeat(MAX_MESSAGE + 1) },
    ]));
    assert.equal(err.status, 413);
    assert.equal(typeof err.json?.error, 'string');
    await sdk.trigger(name, 'sentinel', {});
    const next = await raw.next((f) => f.channel === name);
    assert.equal(next.event, 'sentinel', `the small item was not published: ${JSON.stringify(next)}`);

    // At the limit exactly: accepted.
    await json(await sdk.trigger(name, 'exact', 'y'.repeat(MAX_MESSAGE)));
    assert.equal((await raw.nextOn(name, 'exact')).data.length, MAX_MESSAGE);
  });

  it('§8 HTTP API: GET channels — filter_by_prefix, info=user_count (presence- prefix only, else 400), occupied channels only', async () => {
    const tag = uid('f');
    const presence = `presence-${tag}`;
    const a = await RawPusher.connect(server);
    await a.subscribePresence(presence, '1');
    const b = await RawPusher.connect(server);
    await b.subscribePresence(presence, '2');
    await a.subscribe(`${tag}-public`);

    const all = await json(await sdk.get({ path: '/channels' }));
    assert.equal(typeof all.channels, 'object');
    assert.ok(!Array.isArray(all.channels));
    assert.deepEqual(all.channels[`${tag}-public`], {});
    assert.deepEqual(all.channels[presence], {});

    const onlyTag = await json(await sdk.get({ path: '/channels', params: { filter_by_prefix: `${tag}-` } }));
    assert.deepEqual(onlyTag, { channels: { [`${tag}-public`]: {} } });

    const counts = await json(await sdk.get({ path: '/channels', params: { filter_by_prefix: 'presence-', info: 'user_count' } }));
    assert.deepEqual(counts.channels[presence], { user_count: 2 });

    const bad = await sdkError(sdk.get({ path: '/channels', params: { info: 'user_count' } }));
    assert.equal(bad.status, 400);
    assert.equal(typeof bad.json?.error, 'string');

    const subs = await json(await sdk.get({ path: '/channels', params: { filter_by_prefix: `${tag}-`, info: 'subscription_count' } }));
    assert.deepEqual(subs, { channels: { [`${tag}-public`]: { subscription_count: 1 } } });

    const none = await json(await sdk.get({ path: '/channels', params: { filter_by_prefix: 'nothing-here-' } }));
    assert.deepEqual(none, { channels: {} });
  });

  it('§8 details: GET channels/{name} — occupied, user_count (presence only, else 400), subscription_count, cache', async () => {
    const presence = uid('presence-one-');
    const pub = uid('one-');
    const a = await RawPusher.connect(server);
    await a.subscribePresence(presence, '1');
    await a.subscribe(pub);
    const b = await RawPusher.connect(server);
    await b.subscribe(pub);

    assert.deepEqual(await json(await sdk.get({ path: `/channels/${uid('empty-')}` })), { occupied: false });
    assert.deepEqual(await json(await sdk.get({ path: `/channels/${pub}` })), { occupied: true });
    assert.deepEqual(await json(await sdk.get({ path: `/channels/${pub}`, params: { info: 'subscription_count' } })), { occupied: true, subscription_count: 2 });
    assert.deepEqual(await json(await sdk.get({ path: `/channels/${presence}`, params: { info: 'user_count,subscription_count' } })),
      { occupied: true, user_count: 1, subscription_count: 1 });

    const bad = await sdkError(sdk.get({ path: `/channels/${pub}`, params: { info: 'user_count' } }));
    assert.equal(bad.status, 400);
    assert.equal(typeof bad.json?.error, 'string');

    const cache = uid('cache-c-');
    await sdk.trigger(cache, 'Cached', { v: 1 });
    const withCache = await json(await sdk.get({ path: `/channels/${cache}`, params: { info: 'cache' } }));
    assert.equal(withCache.occupied, false, 'nobody subscribed');
    assert.equal(withCache.cache.data, '{"v":1}');
    assert.equal(typeof withCache.cache.ttl, 'number');
    assert.ok(withCache.cache.ttl > 0);
  });

  it('§8 details: GET channels/{name}/users lists presence members ({"users":[{"id"}]}); 400 for a non-presence channel', async () => {
    const presence = uid('presence-users-');
    const a = await RawPusher.connect(server);
    await a.subscribePresence(presence, 31);
    const b = await RawPusher.connect(server);
    await b.subscribePresence(presence, '32');
    const users = await json(await sdk.get({ path: `/channels/${presence}/users` }));
    assert.deepEqual(users.users.map((u) => u.id).sort(), ['31', '32']);
    for (const u of users.users) assert.deepEqual(Object.keys(u), ['id']);
    assert.deepEqual(await json(await sdk.get({ path: `/channels/${uid('presence-nobody-')}/users` })), { users: [] });

    const bad = await sdkError(sdk.get({ path: `/channels/${uid('public-')}/users` }));
    assert.equal(bad.status, 400);
    assert.equal(typeof bad.json?.error, 'string');
  });

  it('§8 HTTP API: POST users/{id}/terminate_connections answers {} and closes that user (4009)', async () => {
    const raw = await RawPusher.connect(server);
    await raw.signin('77');
    const res = await sdk.terminateUserConnections('77');
    assert.deepEqual(await json(res), {});
    assert.equal((await raw.waitClose()).code, 4009);
    // A user with no connection: {} as well.
    assert.deepEqual(await json(await sdk.terminateUserConnections('nobody-here')), {});
  });

  it('§8 HTTP API: request signatures — wrong secret 401, tampered body 401, bad/missing auth params 401, unknown app id 404, all with JSON bodies', async () => {
    const path = `/apps/${server.app.id}/events`;
    const body = JSON.stringify({ name: 'e', channels: ['sig-test'], data: '{}' });

    const wrong = await sdkError(server.sdk({ secret: 'not-the-secret' }).trigger('sig-test', 'e', {}));
    assert.equal(wrong.status, 401);
    assert.equal(typeof wrong.json?.error, 'string');

    const tampered = await signedRequest(server, 'POST', path, { body, sendBody: body.replace('"e"', '"f"') });
    assert.equal(tampered.status, 401, tampered.body);
    assert.equal(typeof tampered.json?.error, 'string');

    const badSig = await signedRequest(server, 'POST', path, { body, tamper: (q) => { q.auth_signature = '0'.repeat(64); } });
    assert.equal(badSig.status, 401);
    const noSig = await signedRequest(server, 'POST', path, { body, tamper: (q) => { delete q.auth_signature; } });
    assert.equal(noSig.status, 401);
    const wrongKey = await signedRequest(server, 'POST', path, { body, key: 'other-key' });
    assert.equal(wrongKey.status, 401);
    const badVersion = await signedRequest(server, 'POST', path, { body, query: { auth_version: '2.0' } });
    assert.equal(badVersion.status, 401);
    const tamperedQuery = await signedRequest(server, 'GET', `/apps/${server.app.id}/channels`, { query: { filter_by_prefix: 'a' }, tamper: (q) => { q.filter_by_prefix = 'b'; } });
    assert.equal(tamperedQuery.status, 401);

    const unknownApp = await sdkError(server.sdk({ appId: '1' }).trigger('sig-test', 'e', {}));
    assert.equal(unknownApp.status, 404);
    assert.equal(typeof unknownApp.json?.error, 'string');

    const ok = await signedRequest(server, 'POST', path, { body });
    assert.equal(ok.status, 200, ok.body);
  });

  it('§8 HTTP API: auth_timestamp must be within ±600 s — 601 s old or 602 s ahead → 401; 590 s old → 200', async () => {
    const path = `/apps/${server.app.id}/events`;
    const body = JSON.stringify({ name: 'e', channels: ['ts-test'], data: '{}' });
    const now = () => Math.floor(Date.now() / 1000);
    // The server's clock reads at least this one: a timestamp in the past
    // only gets older, but one ahead loses a second when the server's clock
    // ticks past a second boundary first, so 601 ahead could arrive as 600.
    const old = await signedRequest(server, 'POST', path, { body, timestamp: now() - 601 });
    assert.equal(old.status, 401, old.body);
    assert.equal(typeof old.json?.error, 'string');
    const future = await signedRequest(server, 'POST', path, { body, timestamp: now() + 602 });
    assert.equal(future.status, 401, future.body);
    const recent = await signedRequest(server, 'POST', path, { body, timestamp: now() - 590 });
    assert.equal(recent.status, 200, recent.body);
    // A replay of a captured request an hour later.
    const replay = await signedRequest(server, 'GET', `/apps/${server.app.id}/channels`, { timestamp: now() - 3600 });
    assert.equal(replay.status, 401);
  });

  it('§8 HTTP API: data over max_message_size → 413; bad JSON and bad input → 400 with a JSON body; event names up to 200 bytes', async () => {
    const path = `/apps/${server.app.id}/events`;
    const big = await sdkError(sdk.trigger('size-test', 'e', 'x'.repeat(MAX_MESSAGE + 1)));
    assert.equal(big.status, 413);
    assert.equal(typeof big.json?.error, 'string');

    const cases = [
      ['not JSON', '{"name":'],
      ['not an object', '[1,2]'],
      ['no name', JSON.stringify({ channels: ['a'], data: '{}' })],
      ['no channel', JSON.stringify({ name: 'e', data: '{}' })],
      ['data not a string', JSON.stringify({ name: 'e', channels: ['a'], data: { x: 1 } })],
      ['bad channel name', JSON.stringify({ name: 'e', channels: ['bad name'], data: '{}' })],
      ['bad socket_id', JSON.stringify({ name: 'e', channels: ['a'], data: '{}', socket_id: 'abc' })],
      ['event name of 201 bytes', JSON.stringify({ name: 'e'.repeat(201), channels: ['a'], data: '{}' })],
    ];
    for (const [why, body] of cases) {
      const r = await signedRequest(server, 'POST', path, { body });
      assert.equal(r.status, 400, `${why}: ${r.status} ${r.body}`);
      assert.match(r.headers.get('content-type') ?? '', /application\/json/, why);
      assert.equal(typeof r.json?.error, 'string', `${why}: ${r.body}`);
    }
    const name200 = await signedRequest(server, 'POST', path, { body: JSON.stringify({ name: 'e'.repeat(200), channels: ['a'], data: '{}' }) });
    assert.equal(name200.status, 200, name200.body);

    const badBatch = await signedRequest(server, 'POST', `/apps/${server.app.id}/batch_events`, { body: '{"batch":{}}' });
    assert.equal(badBatch.status, 400);
    assert.equal(typeof badBatch.json?.error, 'string');
  });

  it('§8 HTTP API: toOthers through Echo — the X-Socket-ID Laravel would forward is Echo.socketId()', async () => {
    const name = uid('echo-others-');
    const me = await connectEcho(server, { user: '1' });
    const them = await connectEcho(server, { user: '2' });
    const mine = [];
    me.channel(name).listen('.Posted', (d) => mine.push(d));
    const got = withTimeout(new Promise((ok) => them.channel(name).listen('.Posted', ok)), WAIT, 'Posted');
    await waitFor(async () => (await json(await sdk.get({ path: `/channels/${name}`, params: { info: 'subscription_count' } }))).subscription_count === 2,
      { what: 'both subscribed' });
    assert.match(me.socketId(), /^\d+\.\d+$/);
    await sdk.trigger(name, 'Posted', { id: 1 }, { socket_id: me.socketId() });
    assert.deepEqual(await got, { id: 1 });
    const sentinel = withTimeout(new Promise((ok) => me.channel(name).listen('.Sentinel', ok)), WAIT, 'Sentinel');
    await sdk.trigger(name, 'Sentinel', {});
    await sentinel;
    assert.deepEqual(mine, []);
  });
});
