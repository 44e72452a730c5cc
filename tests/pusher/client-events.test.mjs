// SPEC §8 "Client events" and its details: whisper on private/presence
// channels, sender subscribed, not echoed, user_id on presence, the 10/s
// token bucket with 4301 errors, encrypted channels, pusher_client_events off.

import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';

import {
  Server, RawPusher, connectEcho, connectPusher, closeClients, subscribe, nextEventWithMeta,
  withTimeout, waitFor, uid, WAIT,
} from './support.mjs';

/** Sends a server event on `channel` and returns the next frame `client` gets there (must be it). */
async function sentinel(server, client, channel) {
  const sdk = channel.startsWith('private-encrypted-') ? server.sdk({ encryptionMasterKeyBase64: randomBytes(32).toString('base64') }) : server.sdk();
  await sdk.trigger(channel, 'sentinel', {});
  return client.next((f) => f.channel === channel, WAIT, `the sentinel on ${channel}`);
}

describe('client events (pusher_client_events members)', () => {
  let server;
  before(async () => { server = await Server.start({}); });
  after(async () => { await closeClients(); await server?.stop(); });
  afterEach(() => closeClients());

  it('§8 Client events: Echo whisper on a private channel reaches the other subscriber, data as sent, and is not echoed to the sender', async () => {
    const room = uid('chat-');
    const name = `private-${room}`;
    const ann = await connectEcho(server, { user: '1' });
    const bob = await connectEcho(server, { user: '2' });
    const annCh = ann.private(room);
    const bobCh = bob.private(room);
    await withTimeout(Promise.all([new Promise((ok) => annCh.subscribed(ok)), new Promise((ok) => bobCh.subscribed(ok))]), WAIT, 'subscriptions');
    const annGot = [];
    annCh.listenForWhisper('typing', (e) => annGot.push(e));
    const heard = withTimeout(new Promise((ok) => bobCh.listenForWhisper('typing', ok)), WAIT, 'whisper');
    annCh.whisper('typing', { name: 'Ann', nested: { a: [1, 2] } });
    assert.deepEqual(await heard, { name: 'Ann', nested: { a: [1, 2] } });

    // Not echoed: after a server event that both receive, Ann has heard no whisper.
    const annSentinel = withTimeout(new Promise((ok) => annCh.listen('.sentinel', ok)), WAIT, 'sentinel');
    await server.sdk().trigger(name, 'sentinel', {});
    await annSentinel;
    assert.deepEqual(annGot, [], 'the sender does not get its own client event');
  });

  it('§8 Client events: on presence channels the server adds user_id (pusher-js metadata.user_id); the raw relay keeps data exactly as sent', async () => {
    const name = uid('presence-whisper-');
    const p = await connectPusher(server, { user: '11', info: { name: 'P' } });
    const ch = await subscribe(p, name);
    const sender = await RawPusher.connect(server);
    await sender.subscribePresence(name, 12, { name: 'Sender' });
    const got = nextEventWithMeta(ch, 'client-moved');
    sender.send(`{"event":"client-moved","channel":"${name}","data":{"x": 1,"y":[2, 3]}}`);
    const { data, meta } = await got;
    assert.deepEqual(data, { x: 1, y: [2, 3] });
    assert.equal(String(meta.user_id), '12');

    const receiver = await RawPusher.connect(server);
    await receiver.subscribePresence(name, 13);
    sender.send(`{"event":"client-moved","channel":"${name}","data":{"x": 1,"y":[2, 3]}}`);
    const f = await receiver.nextOn(name, 'client-moved');
    assert.deepEqual(f.data, { x: 1, y: [2, 3] });
    assert.equal(String(f.user_id), '12');
  });

  it('§8 Client events: no user_id on private channels (even from a signed-in sender); client events are never cached on cache channels', async () => {
    const name = uid('private-cache-talk-');
    const sender = await RawPusher.connect(server);
    await sender.signin('55');
    await sender.subscribePrivate(name);
    const receiver = await RawPusher.connect(server);
    await receiver.subscribePrivate(name);
    assert.equal((await receiver.next((f) => f.channel === name)).event, 'pusher:cache_miss');
    sender.send({ event: 'client-note', channel: name, data: { n: 1 } });
    const f = await receiver.nextOn(name, 'client-note');
    assert.equal(f.user_id, undefined, JSON.stringify(f));
    const late = await RawPusher.connect(server);
    await late.subscribePrivate(name);
    assert.equal((await late.next((x) => x.channel === name)).event, 'pusher:cache_miss', 'only server events are cached');
  });

  it('§8 Client events: refused on public channels and from senders not subscribed to the channel (pusher:error 4301, connection kept, nothing relayed)', async () => {
    const pub = uid('public-');
    const priv = uid('private-');
    const listener = await RawPusher.connect(server);
    await listener.subscribe(pub);
    await listener.subscribePrivate(priv);

    const onPublic = await RawPusher.connect(server);
    await onPublic.subscribe(pub);
    onPublic.send({ event: 'client-x', channel: pub, data: {} });
    const e1 = await onPublic.next('pusher:error');
    assert.equal(e1.parsed.code, 4301);

    const notSubscribed = await RawPusher.connect(server);
    notSubscribed.send({ event: 'client-x', channel: priv, data: {} });
    const e2 = await notSubscribed.next('pusher:error');
    assert.equal(e2.parsed.code, 4301);
    await notSubscribed.ping();
    await onPublic.ping();
    assert.ok(onPublic.open && notSubscribed.open);

    assert.equal((await sentinel(server, listener, pub)).event, 'sentinel');
    assert.equal((await sentinel(server, listener, priv)).event, 'sentinel');
  });

  it('§8 Client events: refused on private-encrypted channels (4301)', async () => {
    const name = uid('private-encrypted-');
    const a = await RawPusher.connect(server);
    const b = await RawPusher.connect(server);
    await a.subscribePrivate(name);
    await b.subscribePrivate(name);
    a.send({ event: 'client-secret', channel: name, data: { nonce: 'x', ciphertext: 'y' } });
    const e = await a.next('pusher:error');
    assert.equal(e.parsed.code, 4301);
    assert.equal((await sentinel(server, b, name)).event, 'sentinel');
  });

  it('§8 details: token bucket 10/s, burst 10 — a burst of 15 relays 10, the sender gets one pusher:error 4301 (at most one per second) and stays connected; tokens refill', async () => {
    const name = uid('private-burst-');
    const sender = await RawPusher.connect(server);
    const receiver = await RawPusher.connect(server);
    await sender.subscribePrivate(name);
    await receiver.subscribePrivate(name);

    for (let i = 0; i < 15; i++) sender.send({ event: 'client-n', channel: name, data: { i } });
    await sender.ping();
    const errors = sender.queued('pusher:error');
    assert.equal(errors.length, 1, `one 4301 error for the burst (at most one per second): ${sender.describe()}`);
    assert.equal(errors[0].parsed.code, 4301);
    assert.ok(sender.open);

    assert.equal((await sentinel(server, receiver, name)).event, 'client-n');
    await receiver.nextOn(name, 'sentinel');
    const relayed = receiver.all.filter((f) => f.event === 'client-n').map((f) => f.data.i);
    assert.ok(relayed.length >= 10 && relayed.length <= 11, `10 relayed (11 if a token refilled during the burst): ${relayed}`);
    assert.deepEqual(relayed, relayed.map((_, i) => i), 'in order, the first ones');

    // Tokens refill at 10/s: a later event goes through (bounded poll).
    let n = 100;
    await waitFor(async () => {
      sender.send({ event: 'client-n', channel: name, data: { i: ++n } });
      await sender.ping();
      return receiver.all.some((f) => f.event === 'client-n' && f.data.i > 99);
    }, { timeout: 5000, interval: 150, what: 'a client event after the bucket refilled' });
  });
});

describe('client events off (pusher_client_events off)', () => {
  let server;
  before(async () => { server = await Server.start({ options: ['pusher_client_events off'] }); });
  after(async () => { await closeClients(); await server?.stop(); });

  it('§8 details: with pusher_client_events off every client event gets 4301 "client events are disabled"', async () => {
    const name = uid('private-off-');
    const a = await RawPusher.connect(server);
    const b = await RawPusher.connect(server);
    await a.subscribePrivate(name);
    await b.subscribePrivate(name);
    a.send({ event: 'client-typing', channel: name, data: {} });
    const e = await a.next('pusher:error');
    assert.equal(e.parsed.code, 4301);
    assert.match(e.parsed.message, /client events are disabled/);
    assert.ok(a.open);
    assert.equal((await sentinel(server, b, name)).event, 'sentinel');

    // Echo's whisper gets the same refusal (as a pusher:error on the connection).
    const echo = await connectEcho(server, { user: '3' });
    const ch = echo.private(uid('chat-'));
    await withTimeout(new Promise((ok) => ch.subscribed(ok)), WAIT, 'subscribed');
    const err = withTimeout(new Promise((ok) => echo.connector.pusher.connection.bind('error', ok)), WAIT, 'pusher:error');
    ch.whisper('typing', {});
    const got = await err;
    assert.equal(got.error?.data?.code ?? got.data?.code, 4301, JSON.stringify(got));
    assert.equal(echo.connectionStatus(), 'connected');
  });
});
