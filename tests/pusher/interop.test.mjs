// SPEC §8 "Interop" and "One hub, two protocols": PHP's broadcast(),
// realtime_trigger(), getChannelUsers(); the HTTP API reaching native
// subscribers; one presence for Pusher members and native users (join /
// leave frames, member_added / member_removed, presence hooks once).

import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import {
  Server, RawPusher, connectPusher, connectNative, closeClients, subscribe, nextEvent,
  signedRequest, waitFor, uid, WAIT,
} from './support.mjs';

const GRACE_MS = 500;

describe('interop with PHP and the native protocol', () => {
  let server;
  let sdk;
  before(async () => {
    server = await Server.start({
      admin: true,
      options: ['auth_endpoint /auth_echo.php', 'authorize_endpoint /authorize.php', 'presence_endpoint /presence.php', `presence_grace ${GRACE_MS}ms`],
    });
    sdk = server.sdk();
  });
  after(async () => { await closeClients(); await server?.stop(); });
  afterEach(() => closeClients());

  /** Presence hooks the fixture acknowledged for `channel` (REALTIME_TEST_DIR/presence.jsonl). */
  function hooks(channel) {
    let text = '';
    try {
      text = readFileSync(join(server.dir, 'presence.jsonl'), 'utf8');
    } catch {
      return [];
    }
    return text.split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((h) => h.channel === channel)
      .map((h) => `${h.event}:${h.user_id}`);
  }

  it('§8 Connections: Pusher connections are anonymous at connect — no auth endpoint call (native handshakes do call it)', async () => {
    const seen = () => {
      try {
        return readFileSync(join(server.dir, 'auth-seen.jsonl'), 'utf8').split('\n').filter(Boolean).length;
      } catch {
        return 0;
      }
    };
    const before = seen();
    await RawPusher.connect(server);
    const p = await connectPusher(server, { user: '1' });
    await subscribe(p, uid('private-anon-'));
    assert.equal(seen(), before, 'no auth endpoint call for Pusher connections');
    await connectNative(server, 'n0');
    assert.equal(seen(), before + 1, 'one call for the native handshake');
  });

  it('§8 Interop: broadcast() from PHP reaches Pusher subscribers as event "message" and native subscribers as a message frame', async () => {
    const name = uid('orders-');
    const p = await connectPusher(server, { user: '1' });
    const ch = await subscribe(p, name);
    const native = await connectNative(server, 'n1');
    await native.subscribeNative(name);
    const got = nextEvent(ch, 'message');
    await server.phpOk('broadcast', name, '{"id":1}');
    assert.deepEqual(await got, { id: 1 });
    const f = await native.next((x) => x.channel === name);
    assert.equal(f.event, 'message');
    assert.equal(f.data, '{"id":1}');
    assert.equal(f.name, undefined, 'broadcast() is the unnamed form');
  });

  it('§8 Interop: realtime_trigger() keeps the event name for Pusher subscribers and adds "name" for native ones; exceptSocketId leaves one Pusher socket out', async () => {
    const a = uid('shipments-');
    const b = uid('audit-');
    const p = await connectPusher(server, { user: '1' });
    const chA = await subscribe(p, a);
    const chB = await subscribe(p, b);
    const excluded = await RawPusher.connect(server);
    await excluded.subscribe(a);
    const native = await connectNative(server, 'n2');
    await native.subscribeNative(a);

    const gotA = nextEvent(chA, 'App\\Events\\OrderShipped');
    const gotB = nextEvent(chB, 'App\\Events\\OrderShipped');
    await server.phpOk('realtime_trigger', [a, b], 'App\\Events\\OrderShipped', '{"order":9}', excluded.socketId);
    assert.deepEqual(await gotA, { order: 9 });
    assert.deepEqual(await gotB, { order: 9 });
    const { at: _at, parsed: _parsed, ...f } = await native.next((x) => x.channel === a);
    assert.deepEqual(f, { event: 'message', channel: a, name: 'App\\Events\\OrderShipped', data: '{"order":9}' });

    await server.phpOk('realtime_trigger', a, 'sentinel', '{}');
    const next = await excluded.next((x) => x.channel === a);
    assert.equal(next.event, 'sentinel', `the excluded socket got ${JSON.stringify(next)}`);
  });

  it('§8 Interop: the HTTP API\'s events reach native subscribers as {"event":"message","channel","name","data"}', async () => {
    const name = uid('api-to-native-');
    const native = await connectNative(server, 'n3');
    await native.subscribeNative(name);
    await sdk.trigger(name, 'App\\Events\\Pinged', '{"x":"y"}');
    const { at: _at, parsed: _parsed, ...frame } = await native.next((x) => x.channel === name);
    assert.deepEqual(frame, { event: 'message', channel: name, name: 'App\\Events\\Pinged', data: '{"x":"y"}' });
  });

  it('§8 Presence: getChannelUsers() lists Pusher presence members and native users of the same channel', async () => {
    const name = uid('presence-mixed-');
    const pusherMember = await RawPusher.connect(server);
    await pusherMember.subscribePresence(name, 101);
    const native = await connectNative(server, '102');
    const sub = await native.subscribeNative(name);
    assert.deepEqual([...sub.users].sort(), ['101', '102'], 'the native subscribed frame lists the Pusher member');
    const users = await server.phpOk('getChannelUsers', name);
    assert.deepEqual([...users].sort(), ['101', '102']);
    const api = await (await sdk.get({ path: `/channels/${name}/users` })).json();
    assert.deepEqual(api.users.map((u) => u.id).sort(), ['101', '102']);
  });

  it('§8 Presence: native join/leave frames fire for Pusher members and member_added/member_removed for native users; presence hooks once per user', async () => {
    const name = uid('presence-both-');
    const native = await connectNative(server, '201');
    await native.subscribeNative(name);
    const member = await RawPusher.connect(server);
    const ok = await member.subscribePresence(name, '202', { name: 'P' });
    assert.deepEqual(ok.parsed.presence.ids.map(String).sort(), ['201', '202']);
    assert.equal(ok.parsed.presence.count, 2);

    const join = await native.next((f) => f.channel === name && f.event === 'join');
    assert.equal(join.user_id, '202');

    // A native user joining: the Pusher member gets member_added.
    const native2 = await connectNative(server, '203');
    await native2.subscribeNative(name);
    const added = await member.nextOn(name, 'pusher_internal:member_added');
    assert.equal(String(added.parsed.user_id), '203');

    // The Pusher member leaves: native leave frame after presence_grace.
    member.close();
    const leave = await native.next((f) => f.channel === name && f.event === 'leave', GRACE_MS + WAIT);
    assert.equal(leave.user_id, '202');

    // The native user leaves: a second Pusher member sees member_removed.
    const member2 = await RawPusher.connect(server);
    await member2.subscribePresence(name, '204');
    native2.send({ action: 'unsubscribe', channel: name });
    const removed = await member2.nextOn(name, 'pusher_internal:member_removed', GRACE_MS + WAIT);
    assert.equal(String(removed.parsed.user_id), '203');

    await waitFor(() => hooks(name).includes('leave:203'), { what: 'presence hooks' });
    const seen = hooks(name);
    for (const h of ['join:201', 'join:202', 'join:203', 'leave:202', 'leave:203', 'join:204']) {
      assert.equal(seen.filter((x) => x === h).length, 1, `hook ${h} exactly once: ${seen}`);
    }
  });

  it('§8 Presence: one user through both protocols is one member — one member_added, one join, one hook', async () => {
    const name = uid('presence-same-');
    const watcherNative = await connectNative(server, 'w1');
    await watcherNative.subscribeNative(name);
    const watcherPusher = await RawPusher.connect(server);
    await watcherPusher.subscribePresence(name, 'w2');
    await watcherNative.next((f) => f.channel === name && f.event === 'join' && f.user_id === 'w2');

    const viaNative = await connectNative(server, '300');
    await viaNative.subscribeNative(name);
    const viaPusher = await RawPusher.connect(server);
    const ok = await viaPusher.subscribePresence(name, '300');
    assert.equal(ok.parsed.presence.count, 3, JSON.stringify(ok.parsed));

    await sdk.trigger(name, 'sentinel', '{}');
    await watcherPusher.nextOn(name, 'sentinel');
    await watcherNative.next((f) => f.channel === name && f.name === 'sentinel');
    assert.equal(watcherPusher.all.filter((f) => f.event === 'pusher_internal:member_added' && String(f.parsed.user_id) === '300').length, 1);
    assert.equal(watcherNative.all.filter((f) => f.event === 'join' && f.user_id === '300').length, 1);
    assert.equal(hooks(name).filter((h) => h === 'join:300').length, 1, hooks(name).join());
  });

  it('§8 Channels: names with ":" are native-only — a Pusher subscribe gets pusher:error, the HTTP API neither lists nor accepts them', async () => {
    const name = `${uid('chat')}:1`;
    const native = await connectNative(server, 'n9');
    await native.subscribeNative(name);
    const raw = await RawPusher.connect(server);
    raw.send({ event: 'pusher:subscribe', data: { channel: name, auth: '' } });
    const err = await raw.next((f) => f.event === 'pusher:error' || f.channel === name);
    assert.equal(err.event, 'pusher:error', JSON.stringify(err));
    await raw.ping();
    const list = await (await sdk.get({ path: '/channels' })).json();
    assert.ok(!(name in list.channels), 'not listed');
    assert.throws(() => sdk.trigger(name, 'e', {}), /Invalid channel name/, 'the SDK refuses it itself');
    const r = await signedRequest(server, 'POST', `/apps/${server.app.id}/events`, { body: JSON.stringify({ name: 'e', channel: name, data: '{}' }) });
    assert.equal(r.status, 400, r.body);
    // broadcast() from PHP still reaches the native subscriber.
    await server.phpOk('broadcast', name, 'hi');
    assert.equal((await native.next((f) => f.channel === name)).data, 'hi');
  });
});
