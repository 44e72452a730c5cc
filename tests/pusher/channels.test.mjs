// SPEC §8 "Channels" and "Presence": public, private, private-encrypted,
// presence and cache channels through pusher-js, Laravel Echo and raw
// frames; signature errors; presence dedupe and presence_grace.

import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';

import {
  Server, RawPusher, connectPusher, connectEcho, closeClients, subscribe, nextEvent,
  channelAuth, presenceAuth, sdkAuthorizer, waitFor, withTimeout, uid, WAIT,
} from './support.mjs';

const GRACE_MS = 1000;

describe('channels', () => {
  let server;
  let sdk;
  before(async () => {
    server = await Server.start({ admin: true, options: [`presence_grace ${GRACE_MS}ms`] });
    sdk = server.sdk();
  });
  after(async () => { await closeClients(); await server?.stop(); });
  afterEach(() => closeClients());

  it('§8 Channels: public channels — subscription_succeeded with data "{}", events from the HTTP API arrive', async () => {
    const name = uid('news-');
    const raw = await RawPusher.connect(server);
    const ok = await raw.subscribe(name);
    assert.equal(ok.data, '{}');
    assert.equal(ok.channel, name);

    const p = await connectPusher(server, { user: '1' });
    const ch = await subscribe(p, name);
    const got = nextEvent(ch, 'App\\Events\\NewsPublished');
    await sdk.trigger(name, 'App\\Events\\NewsPublished', { title: 'hello' });
    assert.deepEqual(await got, { title: 'hello' });
    const frame = await raw.nextOn(name, 'App\\Events\\NewsPublished');
    assert.equal(frame.data, '{"title":"hello"}', 'data is forwarded as the JSON string the SDK sent');
  });

  it('§8 Channels: private-* needs the HMAC of socket_id:channel — pusher-js with an SDK-signed authorizer subscribes and receives', async () => {
    const name = uid('private-orders-');
    const p = await connectPusher(server, { user: '1' });
    const ch = await subscribe(p, name);
    const got = nextEvent(ch, 'OrderShipped');
    await sdk.trigger(name, 'OrderShipped', { id: 7 });
    assert.deepEqual(await got, { id: 7 });

    // The exact signature of PUSHER.md §9 from the raw side too.
    const raw = await RawPusher.connect(server);
    const res = await raw.subscribe(name, { auth: channelAuth(raw.socketId, name) });
    assert.equal(res.event, 'pusher_internal:subscription_succeeded');
  });

  it('§8 Channels: private-encrypted-* — the SDK encrypts, the server forwards {nonce, ciphertext} verbatim, pusher-js decrypts', async () => {
    const masterKey = randomBytes(32).toString('base64');
    const encSdk = server.sdk({ encryptionMasterKeyBase64: masterKey });
    const name = uid('private-encrypted-vault-');
    const p = await connectPusher(server, {
      // What Laravel's /broadcasting/auth answers with encryption_master_key_base64: auth + shared_secret.
      auth: (params, cb) => cb(null, encSdk.authorizeChannel(params.socketId, params.channelName)),
    });
    const ch = await subscribe(p, name);
    const raw = await RawPusher.connect(server);
    await raw.subscribe(name, { auth: channelAuth(raw.socketId, name) });

    const got = nextEvent(ch, 'Secret');
    await encSdk.trigger(name, 'Secret', { code: 'swordfish' });
    assert.deepEqual(await got, { code: 'swordfish' }, 'pusher-js decrypted what the server forwarded');
    const frame = await raw.nextOn(name, 'Secret');
    assert.deepEqual(Object.keys(frame.parsed).sort(), ['ciphertext', 'nonce'], 'the server saw only ciphertext');
  });

  it('§8 Channels: a bad or missing signature gets pusher:subscription_error {type AuthError, error, status 401} on that channel; the connection stays', async () => {
    const raw = await RawPusher.connect(server);
    const cases = [
      { channel: 'private-a', auth: undefined, why: 'missing auth' },
      { channel: 'private-a', auth: '', why: 'empty auth' },
      { channel: 'private-a', auth: `${server.app.key}:${'0'.repeat(64)}`, why: 'wrong signature' },
      { channel: 'private-a', auth: channelAuth(raw.socketId, 'private-b'), why: 'signature of another channel' },
      { channel: 'private-a', auth: channelAuth('1.1', 'private-a'), why: 'signature of another socket' },
      { channel: 'private-a', auth: `wrongkey:${channelAuth(raw.socketId, 'private-a').split(':')[1]}`, why: 'right signature, wrong key' },
      { channel: 'private-encrypted-a', auth: 'nonsense', why: 'malformed auth on an encrypted channel' },
      { channel: 'presence-a', auth: channelAuth(raw.socketId, 'presence-a'), channelData: '{"user_id":"1"}', why: 'presence signed without channel_data' },
      { channel: 'presence-a', auth: presenceAuth(raw.socketId, 'presence-a', '{"user_id":"1"}'), channelData: '{"user_id":"2"}', why: 'channel_data changed after signing' },
      { channel: 'private-cache-a', auth: undefined, why: 'missing auth on a private cache channel' },
    ];
    for (const c of cases) {
      const data = { channel: c.channel };
      if (c.auth !== undefined) data.auth = c.auth;
      if (c.channelData !== undefined) data.channel_data = c.channelData;
      raw.send({ event: 'pusher:subscribe', data });
      const f = await raw.next((x) => x.channel === c.channel, WAIT, `an answer to ${c.why}`);
      assert.equal(f.event, 'pusher:subscription_error', `${c.why}: ${JSON.stringify(f)}`);
      assert.equal(f.parsed.type, 'AuthError', c.why);
      assert.equal(f.parsed.status, 401, c.why);
      assert.equal(typeof f.parsed.error, 'string', c.why);
    }
    await raw.ping();
    assert.ok(raw.open, 'the connection stays open');
    assert.equal((await raw.subscribe('public-after-errors')).event, 'pusher_internal:subscription_succeeded');
  });

  it('§8 Channels: Echo .error() fires on a bad signature (status 401) and the connection is kept', async () => {
    const echo = await connectEcho(server, {
      auth: sdkAuthorizer(server, { user: '5', wrongSecret: true }),
    });
    const err = await withTimeout(new Promise((ok) => echo.private(uid('orders-')).error(ok)), WAIT, 'Echo .error()');
    assert.equal(err.type, 'AuthError');
    assert.equal(err.status, 401);
    assert.equal(echo.connectionStatus(), 'connected');
    // The same Echo still subscribes elsewhere.
    const name = uid('ticker-');
    const subscribed = withTimeout(new Promise((ok) => echo.channel(name).subscribed(ok)), WAIT, 'Echo .subscribed()');
    await subscribed;
  });

  it('§8 Channels: Echo with a Laravel-style /broadcasting/auth endpoint (PHP, signed with the pusher_app secret) subscribes private and presence channels', async () => {
    const echo = await connectEcho(server, {
      auth: undefined,
      channelAuthorization: { endpoint: server.url('/pusher_auth.php?user=42'), transport: 'ajax' },
    });
    const name = uid('invoices-');
    const got = withTimeout(new Promise((ok) => echo.private(name).listen('InvoicePaid', ok)), WAIT, 'InvoicePaid');
    await waitFor(async () => (await (await sdk.get({ path: `/channels/private-${name}` })).json()).occupied, { what: 'private subscription' });
    await sdk.trigger(`private-${name}`, 'App\\Events\\InvoicePaid', { total: 5 });
    assert.deepEqual(await got, { total: 5 });

    const here = await withTimeout(new Promise((ok) => echo.join(uid('lobby-')).here(ok)), WAIT, 'here()');
    assert.deepEqual(here, [{ name: 'user 42' }]);
  });

  it('§8 Presence: subscription_succeeded carries ids/hash/count; member_added goes to the others, never to the joining socket', async () => {
    const name = uid('presence-room-');
    const a = await RawPusher.connect(server);
    const okA = await a.subscribePresence(name, 1, { name: 'Ann' });
    assert.deepEqual(okA.parsed, { presence: { ids: [1], hash: { 1: { name: 'Ann' } }, count: 1 } });

    const b = await RawPusher.connect(server);
    const okB = await b.subscribePresence(name, '2', { name: 'Bob' });
    const p = okB.parsed.presence;
    assert.equal(p.count, 2);
    assert.deepEqual(p.ids.map(String).sort(), ['1', '2']);
    assert.deepEqual(p.hash, { 1: { name: 'Ann' }, 2: { name: 'Bob' } });

    const added = await a.nextOn(name, 'pusher_internal:member_added');
    assert.deepEqual(added.parsed, { user_id: '2', user_info: { name: 'Bob' } });

    // Sentinel: B's next frame on the channel is a server event, not a member_added about itself.
    await sdk.trigger(name, 'sentinel', {});
    const nextB = await b.next((f) => f.channel === name);
    assert.equal(nextB.event, 'sentinel', `B got ${JSON.stringify(nextB)}`);
    assert.equal((await a.nextOn(name, 'sentinel')).event, 'sentinel');
  });

  it('§8 Channels: presence signatures cover the exact channel_data string (unusual formatting accepted as signed, then parsed)', async () => {
    const name = uid('presence-exact-');
    const raw = await RawPusher.connect(server);
    const channelData = '{ "user_info" : {"name":"Exact" , "n": 1.50}, "user_id" : 4 }';
    const ok = await raw.subscribe(name, { auth: presenceAuth(raw.socketId, name, channelData), channelData });
    assert.equal(ok.event, 'pusher_internal:subscription_succeeded');
    assert.equal(ok.parsed.presence.count, 1);
    assert.deepEqual(ok.parsed.presence.ids, [4], 'a numeric user_id stays a number');
    assert.deepEqual(Object.keys(ok.parsed.presence.hash), ['4']);
    assert.equal(ok.parsed.presence.hash['4'].name, 'Exact');
  });

  it('§8 details: presence dedupe across tabs — one member_added per user; member_removed once, only after the last tab leaves and after presence_grace; the HTTP API lists the user until then', async () => {
    const name = uid('presence-tabs-');
    const watcher = await RawPusher.connect(server);
    await watcher.subscribePresence(name, 'w');

    const tab1 = await RawPusher.connect(server);
    await tab1.subscribePresence(name, '7', { name: 'Tab' });
    await watcher.nextOn(name, 'pusher_internal:member_added');
    const tab2 = await RawPusher.connect(server);
    const ok2 = await tab2.subscribePresence(name, '7', { name: 'Tab' });
    assert.equal(ok2.parsed.presence.count, 2, 'w and 7, not 7 twice');

    // First tab leaves (unsubscribe), second tab disconnects later.
    tab1.send({ event: 'pusher:unsubscribe', data: { channel: name } });
    await tab1.ping();
    // Observation window (grace + 1 s): no member_removed while a tab remains.
    const windowEnd = Date.now() + GRACE_MS + 1000;
    await waitFor(() => Date.now() >= windowEnd || watcher.queued('pusher_internal:member_removed').length > 0,
      { timeout: GRACE_MS + 3000, interval: 50, what: 'the observation window' });
    assert.equal(watcher.queued('pusher_internal:member_removed').length, 0, 'no member_removed while user 7 still has a tab');

    const leftAt = Date.now();
    tab2.close();
    // During the grace the user is still listed by the HTTP API.
    const during = await (await sdk.get({ path: `/channels/${name}/users` })).json();
    const elapsed = Date.now() - leftAt;
    if (elapsed < GRACE_MS * 0.8) {
      assert.deepEqual(during.users.map((u) => u.id).sort(), ['7', 'w'], 'still listed during presence_grace');
    }
    const removed = await watcher.nextOn(name, 'pusher_internal:member_removed', GRACE_MS + WAIT);
    assert.ok(Date.now() - leftAt >= GRACE_MS * 0.9, `member_removed after presence_grace (${Date.now() - leftAt} ms)`);
    assert.deepEqual(removed.parsed, { user_id: '7' });
    const afterGrace = await (await sdk.get({ path: `/channels/${name}/users` })).json();
    assert.deepEqual(afterGrace.users, [{ id: 'w' }]);
    const info = await (await sdk.get({ path: `/channels/${name}`, params: { info: 'user_count' } })).json();
    assert.equal(info.user_count, 1);

    // Exactly one member_added and one member_removed about 7 reached the watcher.
    await sdk.trigger(name, 'sentinel', {});
    await watcher.nextOn(name, 'sentinel');
    const about7 = watcher.all.filter((f) => f.channel === name && f.parsed?.user_id === '7');
    assert.deepEqual(about7.map((f) => f.event), ['pusher_internal:member_added', 'pusher_internal:member_removed']);
  });

  it('§8 details: a user who leaves and rejoins within presence_grace produces no member_removed / member_added', async () => {
    const name = uid('presence-flap-');
    const watcher = await RawPusher.connect(server);
    await watcher.subscribePresence(name, 'w');
    const first = await RawPusher.connect(server);
    await first.subscribePresence(name, '8');
    await watcher.nextOn(name, 'pusher_internal:member_added');
    first.close();
    const again = await RawPusher.connect(server);
    await again.subscribePresence(name, '8');
    // Wait past the grace, then a sentinel: nothing about 8 in between.
    const end = Date.now() + GRACE_MS + 500;
    await waitFor(() => Date.now() >= end, { timeout: GRACE_MS + 2000, interval: 50, what: 'presence_grace to pass' });
    await sdk.trigger(name, 'sentinel', {});
    const next = await watcher.next((f) => f.channel === name);
    assert.equal(next.event, 'sentinel', `watcher got ${JSON.stringify(next)}`);
  });

  it('§8 Presence: Echo here() / joining() / leaving() with two users', async () => {
    const room = uid('room-');
    const ann = await connectEcho(server, { user: '1', info: { name: 'Ann' } });
    const annChannel = ann.join(room);
    const annHere = await withTimeout(new Promise((ok) => annChannel.here(ok)), WAIT, 'Ann here()');
    assert.deepEqual(annHere, [{ name: 'Ann' }]);
    const joining = withTimeout(new Promise((ok) => annChannel.joining(ok)), WAIT, 'Ann joining()');
    const leaving = withTimeout(new Promise((ok) => annChannel.leaving(ok)), GRACE_MS + WAIT, 'Ann leaving()');

    const bob = await connectEcho(server, { user: '2', info: { name: 'Bob' } });
    const bobHere = await withTimeout(new Promise((ok) => bob.join(room).here(ok)), WAIT, 'Bob here()');
    assert.deepEqual(bobHere.map((m) => m.name).sort(), ['Ann', 'Bob']);
    assert.deepEqual(await joining, { name: 'Bob' });

    bob.leave(room);
    assert.deepEqual(await leaving, { name: 'Bob' });
  });

  it('§8: Echo with broadcaster \'pusher\' (Laravel\'s pusher stub: a cluster string, ignored with wsHost) works the same', async () => {
    const echo = await connectEcho(server, { broadcaster: 'pusher', cluster: 'mt1', user: '9' });
    const name = uid('pusher-stub-');
    const ch = echo.channel(name);
    await withTimeout(new Promise((ok) => ch.subscribed(ok)), WAIT, 'subscribed');
    const got = withTimeout(new Promise((ok) => ch.listen('.Hello', ok)), WAIT, 'Hello');
    await sdk.trigger(name, 'Hello', { ok: true });
    assert.deepEqual(await got, { ok: true });
  });

  it('§8 Channels: cache-* remembers the last server event even with no subscribers (sent after subscription_succeeded), else pusher:cache_miss', async () => {
    const name = uid('cache-prices-');
    const miss = await RawPusher.connect(server);
    await miss.subscribe(name);
    const m = await miss.next((f) => f.channel === name);
    assert.equal(m.event, 'pusher:cache_miss');
    miss.close();

    // No subscriber now: trigger twice, the last one is remembered.
    await waitFor(async () => !(await (await sdk.get({ path: `/channels/${name}` })).json()).occupied, { what: 'the channel to be vacated' });
    await sdk.trigger(name, 'Price', { v: 1 });
    await sdk.trigger(name, 'Price', { v: 2 });

    const raw = await RawPusher.connect(server);
    const ok = await raw.subscribe(name);
    assert.equal(ok.event, 'pusher_internal:subscription_succeeded');
    const cached = await raw.next((f) => f.channel === name);
    assert.equal(cached.event, 'Price');
    assert.equal(cached.data, '{"v":2}');

    // pusher-js delivers it as a normal event, and pusher:cache_miss on an empty one.
    const p = await connectPusher(server, { user: '1' });
    const chP = p.subscribe(name);
    assert.deepEqual(await nextEvent(chP, 'Price'), { v: 2 });
    const empty = p.subscribe(uid('cache-empty-'));
    await nextEvent(empty, 'pusher:cache_miss');

    // The HTTP API shows it (info=cache).
    const info = await (await sdk.get({ path: `/channels/${name}`, params: { info: 'cache' } })).json();
    assert.equal(info.occupied, true);
    assert.equal(info.cache?.data, '{"v":2}');
    assert.equal(typeof info.cache?.ttl, 'number');
  });

  it('§8 Channels: private-cache-, private-encrypted-cache- and presence-cache- channels are signed like their base type and replay the last event', async () => {
    for (const prefix of ['private-cache-', 'private-encrypted-cache-', 'presence-cache-']) {
      const name = uid(prefix);
      const trigger = prefix.includes('encrypted') ? server.sdk({ encryptionMasterKeyBase64: randomBytes(32).toString('base64') }) : sdk;
      await trigger.trigger(name, 'Last', { p: prefix });
      const raw = await RawPusher.connect(server);
      // Unsigned: refused.
      raw.send({ event: 'pusher:subscribe', data: { channel: name, auth: '' } });
      assert.equal((await raw.next((f) => f.channel === name)).event, 'pusher:subscription_error', prefix);
      if (prefix.startsWith('presence')) await raw.subscribePresence(name, 'c1');
      else await raw.subscribePrivate(name);
      const cached = await raw.next((f) => f.channel === name);
      assert.equal(cached.event, 'Last', `${prefix}: ${JSON.stringify(cached)}`);
    }
  });

  it('§8 Channels: a public subscribe with no auth field, and unsubscribe (no reply, events stop)', async () => {
    const name = uid('unsub-');
    const raw = await RawPusher.connect(server);
    raw.send({ event: 'pusher:subscribe', data: { channel: name } });
    await raw.nextOn(name, 'pusher_internal:subscription_succeeded');
    raw.send({ event: 'pusher:unsubscribe', data: { channel: name } });
    await raw.ping();
    const other = uid('other-');
    await raw.subscribe(other);
    await sdk.trigger([name, other], 'ev', {});
    const f = await raw.next((x) => x.event === 'ev');
    assert.equal(f.channel, other, 'the unsubscribed channel got nothing');
  });
});

