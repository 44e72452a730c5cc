// The bad-input suite's Pusher section (SPEC §4 "a bad frame gets an error
// frame and the connection stays open; the server never crashes or stalls
// other clients", SPEC §8 details on max_frame_size and max_subscriptions):
// each input gets a pusher:error or a close as SPEC §8 says, and a
// bystander connection keeps being served throughout.

import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';

import {
  Server, RawPusher, connectPusher, closeClients, subscribe, nextEvent, presenceAuth, channelAuth,
  uid, WAIT,
} from './support.mjs';

const MAX_FRAME = 16 * 1024; // the max_frame_size default

describe('bad input on Pusher connections', () => {
  let server;
  let bystander;
  let bystanderChannel;
  const channel = uid('bystander-');

  /** The bystander (pusher-js) still receives events: the server is not stalled. */
  async function bystanderServed() {
    const got = nextEvent(bystanderChannel, 'still-here');
    await server.sdk().trigger(channel, 'still-here', { at: Date.now() });
    await got;
    assert.equal(bystander.connection.state, 'connected');
  }

  before(async () => {
    server = await Server.start({ admin: true });
    bystander = await connectPusher(server, { user: 'bystander' });
    bystanderChannel = await subscribe(bystander, channel);
  });
  after(async () => {
    assert.equal(server.exitStatus, undefined, 'the server is still running');
    await closeClients();
    await server?.stop();
  });
  afterEach(async () => { await bystanderServed(); });

  /** Sends one frame and returns the first frame answering it (a pong proves the frame was handled). */
  async function answer(raw, frame) {
    raw.send(frame);
    raw.send({ event: 'pusher:ping', data: {} });
    const f = await raw.next(() => true, WAIT, 'an answer');
    if (f.event === 'pusher:pong') return undefined;
    await raw.next('pusher:pong');
    return f;
  }

  it('§8/§4 bad input: malformed frames each get pusher:error and the connection stays', async () => {
    const raw = await RawPusher.connect(server);
    const cases = [
      ['not JSON', '{"event":'],
      ['a JSON array', '[1,2,3]'],
      ['a JSON string', '"pusher:ping"'],
      ['empty', ''],
      ['no event', '{"data":{}}'],
      ['event not a string', '{"event":42}'],
      ['subscribe without data', '{"event":"pusher:subscribe"}'],
      ['subscribe with data not an object', '{"event":"pusher:subscribe","data":7}'],
      ['subscribe without channel', '{"event":"pusher:subscribe","data":{}}'],
      ['channel not a string', '{"event":"pusher:subscribe","data":{"channel":["a"]}}'],
      ['invalid channel name', '{"event":"pusher:subscribe","data":{"channel":"bad name!"}}'],
      ['channel name of 201 bytes', JSON.stringify({ event: 'pusher:subscribe', data: { channel: 'c'.repeat(201) } })],
      ['auth not a string', '{"event":"pusher:subscribe","data":{"channel":"private-x","auth":{}}}'],
      ['signin without user_data', '{"event":"pusher:signin","data":{"auth":"a:b"}}'],
      ['client event without channel', '{"event":"client-x","data":{}}'],
      ['client event name over 200 bytes', JSON.stringify({ event: `client-${'x'.repeat(200)}`, channel: 'private-a', data: {} })],
    ];
    for (const [why, frame] of cases) {
      const f = await answer(raw, frame);
      assert.ok(f, `${why}: no answer`);
      assert.equal(f.event, 'pusher:error', `${why}: ${JSON.stringify(f)}`);
      assert.equal(typeof f.parsed.code, 'number', `${why}: a numeric code`);
      assert.ok(f.parsed.code < 4000 || f.parsed.code >= 4100, `${why}: not a 40xx "do not reconnect" code`);
      assert.equal(typeof f.parsed.message, 'string', why);
    }
    assert.ok(raw.open);
  });

  it('§8/§4 bad input: unknown events (pusher:*, pusher_internal:*, plain names) get pusher:error; binary and invalid UTF-8 too', async () => {
    const raw = await RawPusher.connect(server);
    for (const event of ['pusher:nonsense', 'pusher_internal:subscription_succeeded', 'message', 'subscribe']) {
      const f = await answer(raw, JSON.stringify({ event, data: {} }));
      assert.equal(f?.event, 'pusher:error', `${event}: ${JSON.stringify(f)}`);
    }
    const bin = await answer(raw, Buffer.from([0x7b, 0x00, 0xff]));
    assert.equal(bin?.event, 'pusher:error', 'binary frame');
    raw.ws.send(Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x7d]), { binary: false });
    raw.send({ event: 'pusher:ping', data: {} });
    const utf = await raw.next((x) => x.event === 'pusher:error' || x.event === 'pusher:pong');
    assert.equal(utf.event, 'pusher:error', 'invalid UTF-8 in a text frame');
    await raw.next('pusher:pong');
    assert.ok(raw.open);
  });

  it('§8/§4 bad input: missing auth on private/presence gets subscription_error 401; non-string or unparsable channel_data gets an error; the connection stays', async () => {
    const raw = await RawPusher.connect(server);
    for (const ch of ['private-noauth', 'presence-noauth', 'private-encrypted-noauth']) {
      const f = await answer(raw, JSON.stringify({ event: 'pusher:subscribe', data: { channel: ch } }));
      assert.equal(f?.event, 'pusher:subscription_error', ch);
      assert.equal(f.parsed.status, 401);
    }
    // channel_data as an object (not the signed string).
    const obj = await answer(raw, JSON.stringify({ event: 'pusher:subscribe', data: { channel: 'presence-obj', auth: channelAuth(raw.socketId, 'presence-obj'), channel_data: { user_id: 1 } } }));
    assert.ok(obj?.event === 'pusher:error' || obj?.event === 'pusher:subscription_error', JSON.stringify(obj));
    // channel_data as a number.
    const num = await answer(raw, JSON.stringify({ event: 'pusher:subscribe', data: { channel: 'presence-num', auth: 'x:y', channel_data: 5 } }));
    assert.ok(num?.event === 'pusher:error' || num?.event === 'pusher:subscription_error', JSON.stringify(num));
    // Correctly signed, but not JSON / no user_id / user_id not a string or number.
    const bigInfo = JSON.stringify({ user_id: '1', user_info: { x: 'y'.repeat(2000) } }); // over 1 KB (Pusher's limit)
    for (const channelData of ['not json', '{"user_info":{}}', '{"user_id":{"a":1}}', '{"user_id":""}', bigInfo]) {
      const ch = uid('presence-cd-');
      const f = await answer(raw, JSON.stringify({ event: 'pusher:subscribe', data: { channel: ch, auth: presenceAuth(raw.socketId, ch, channelData), channel_data: channelData } }));
      assert.ok(f?.event === 'pusher:subscription_error' || f?.event === 'pusher:error', `${channelData}: ${JSON.stringify(f)}`);
      if (f.event === 'pusher:subscription_error') assert.equal(f.channel, ch);
    }
    assert.ok(raw.open);
  });

  it('§8 details: a frame just over max_frame_size gets pusher:error 4300 and is dropped, the connection stays; a frame at the limit is handled', async () => {
    const raw = await RawPusher.connect(server);
    const name = uid('private-big-');
    await raw.subscribePrivate(name);
    const other = await RawPusher.connect(server);
    await other.subscribePrivate(name);

    const head = `{"event":"client-big","channel":"${name}","data":"`;
    const frameOf = (size) => `${head}${'x'.repeat(size - head.length - 2)}"}`;
    const over = frameOf(MAX_FRAME + 1);
    assert.equal(Buffer.byteLength(over), MAX_FRAME + 1);
    raw.send(over);
    const err = await raw.next('pusher:error');
    assert.equal(err.parsed.code, 4300);
    await raw.ping();
    assert.ok(raw.open);

    const exact = frameOf(MAX_FRAME);
    raw.send(exact);
    const relayed = await other.nextOn(name, 'client-big');
    assert.equal(relayed.data.length, MAX_FRAME - head.length - 2);
    assert.equal(other.queued('client-big').length, 0, 'only the frame at the limit was relayed');
  });

  it('§8 details: a frame of exactly 4× max_frame_size still gets 4300; over 4×, and a 10 MiB frame, close the connection (1009) and only that one', async () => {
    const head = '{"event":"pusher:ping","data":{"pad":"';
    const frameOf = (size) => `${head}${'x'.repeat(size - head.length - 3)}"}}`;

    const at4 = await RawPusher.connect(server);
    at4.send(frameOf(4 * MAX_FRAME));
    assert.equal((await at4.next('pusher:error')).parsed.code, 4300);
    await at4.ping();

    const over4 = await RawPusher.connect(server);
    over4.send(frameOf(4 * MAX_FRAME + 1));
    const c1 = await over4.waitClose();
    assert.equal(c1.code, 1009, `close ${c1.code} ${c1.reason}`);

    const huge = await RawPusher.connect(server);
    huge.send(Buffer.alloc(10 * 1024 * 1024, 0x61).toString());
    const c2 = await huge.waitClose();
    // 1009, or 1006 when the server's close races the 10 MiB still being
    // sent (closing with unread data resets the TCP connection).
    assert.ok(c2.code === 1009 || c2.code === 1006, `close ${c2.code} ${c2.reason}`);
    assert.ok(at4.open, 'other connections stay');
  });

  it('§8 details: a subscribe storm — beyond max_subscriptions (100) each subscribe gets subscription_error status 429, the connection stays and keeps its 100 channels; others are unaffected', async () => {
    const storm = await RawPusher.connect(server);
    const base = uid('storm-');
    const names = Array.from({ length: 300 }, (_, i) => `${base}-${i}`);
    for (const n of names) storm.send({ event: 'pusher:subscribe', data: { channel: n, auth: '' } });
    // Meanwhile another client subscribes and is served.
    const other = await RawPusher.connect(server);
    await other.subscribe(uid('calm-'));
    await storm.ping();
    const answers = await Promise.all(names.map((n) => storm.next((f) => f.channel === n, 20_000, `an answer for ${n}`)));
    const ok = answers.filter((f) => f.event === 'pusher_internal:subscription_succeeded');
    const refused = answers.filter((f) => f.event === 'pusher:subscription_error');
    assert.equal(ok.length, 100, 'max_subscriptions subscriptions succeed');
    assert.equal(refused.length, 200);
    for (const f of refused) {
      assert.equal(f.parsed.status, 429);
      assert.equal(f.parsed.type, 'AuthError');
    }
    assert.ok(storm.open);
    // Its subscriptions work; events reach it.
    const kept = ok[0].channel;
    await server.sdk().trigger(kept, 'works', {});
    await storm.nextOn(kept, 'works');
    // Resubscribing the same channel is idempotent (no 429, no second slot).
    storm.send({ event: 'pusher:subscribe', data: { channel: kept, auth: '' } });
    const again = await storm.next((f) => f.channel === kept);
    assert.equal(again.event, 'pusher_internal:subscription_succeeded', JSON.stringify(again));
    // After an unsubscribe a slot is free again.
    storm.send({ event: 'pusher:unsubscribe', data: { channel: kept } });
    const extra = uid('storm-extra-');
    assert.equal((await storm.subscribe(extra)).event, 'pusher_internal:subscription_succeeded');
  });

  it('§8/§4 bad input: a flood of garbage frames from one connection does not stall others', async () => {
    const flood = await RawPusher.connect(server);
    for (let i = 0; i < 2000; i++) flood.send(i % 2 ? '{nope' : '{"event":"pusher:subscribe","data":{"channel":"bad name"}}');
    await bystanderServed();
    await flood.ping();
    assert.ok(flood.open);
    assert.ok(flood.queued('pusher:error').length > 0);
  });
});
