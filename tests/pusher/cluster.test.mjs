// SPEC §8 with the valkey driver: two FrankenPHP nodes over a private
// valkey-server — cross-node events, cluster-wide presence, socket_id
// exclusion and terminate across nodes, cache channels across nodes,
// cluster-wide HTTP API answers, and the 4200 close of a backend-changing
// reload.

import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';

import {
  Server, Valkey, RawPusher, connectPusher, closeClients, subscribe, nextEvent, waitFor,
  uid, WAIT,
} from './support.mjs';

const GRACE_MS = 500;

describe('two nodes over valkey', () => {
  let valkey;
  let a;
  let b;
  let prefix;
  const options = () => [
    'driver valkey', `valkey_address ${valkey.address}`, `prefix ${prefix}`, `presence_grace ${GRACE_MS}ms`,
  ];
  before(async () => {
    valkey = await Valkey.start();
    prefix = uid('pt');
    a = await Server.start({ admin: true, options: options(), name: 'node-a' });
    b = await Server.start({ admin: true, options: options(), name: 'node-b' });
  });
  after(async () => {
    await closeClients();
    await Promise.all([a?.stop(), b?.stop()]);
    await valkey?.stop();
  });
  afterEach(() => closeClients());

  it('§8 (valkey) cross-node: an HTTP API event, realtime_trigger() and broadcast() on one node reach pusher-js subscribers on the other', async () => {
    const name = uid('x-node-');
    const onB = await connectPusher(b, { user: '1' });
    const ch = await subscribe(onB, name);
    const onA = await connectPusher(a, { user: '2' });
    const chA = await subscribe(onA, name);
    const ids = [];
    for (const node of [a, b, a, b]) ids.push((await RawPusher.connect(node)).socketId);
    ids.push(onA.connection.socket_id, onB.connection.socket_id);
    assert.equal(new Set(ids).size, ids.length, `socket ids unique across nodes: ${ids}`);
    for (const id of ids) assert.match(id, /^\d+\.\d+$/);

    let got = nextEvent(ch, 'ViaApi');
    await a.sdk().trigger(name, 'ViaApi', { n: 1 });
    assert.deepEqual(await got, { n: 1 });

    got = nextEvent(ch, 'ViaPhp');
    await a.phpOk('realtime_trigger', [name], 'ViaPhp', '{"n":2}');
    assert.deepEqual(await got, { n: 2 });

    got = nextEvent(chA, 'message');
    await b.phpOk('broadcast', name, '{"n":3}');
    assert.deepEqual(await got, { n: 3 });
  });

  it('§8 (valkey) Presence: cluster-wide — subscription_succeeded lists members of both nodes, member_added once per user across nodes, member_removed once after the last tab anywhere', async () => {
    const name = uid('presence-c-');
    const ann = await RawPusher.connect(a);
    await ann.subscribePresence(name, '1', { name: 'Ann' });
    const bob = await RawPusher.connect(b);
    const ok = await bob.subscribePresence(name, '2', { name: 'Bob' });
    assert.equal(ok.parsed.presence.count, 2);
    assert.deepEqual(ok.parsed.presence.hash, { 1: { name: 'Ann' }, 2: { name: 'Bob' } });

    const added = await ann.nextOn(name, 'pusher_internal:member_added');
    assert.deepEqual(added.parsed, { user_id: '2', user_info: { name: 'Bob' } });

    // Bob's second tab, on the other node: no second member_added.
    const bob2 = await RawPusher.connect(a);
    const ok2 = await bob2.subscribePresence(name, '2', { name: 'Bob' });
    assert.equal(ok2.parsed.presence.count, 2);
    await a.sdk().trigger(name, 'sentinel', {});
    const next = await ann.next((f) => f.channel === name);
    assert.equal(next.event, 'sentinel', `Ann got ${JSON.stringify(next)}`);

    // The HTTP API answers cluster-wide on either node.
    const usersA = await (await a.sdk().get({ path: `/channels/${name}/users` })).json();
    assert.deepEqual(usersA.users.map((u) => u.id).sort(), ['1', '2']);
    const countB = await (await b.sdk().get({ path: `/channels/${name}`, params: { info: 'user_count' } })).json();
    assert.equal(countB.user_count, 2);
    assert.deepEqual([...await b.phpOk('getChannelUsers', name)].sort(), ['1', '2']);

    // Both of Bob's tabs go: one member_removed.
    bob.close();
    bob2.close();
    const removed = await ann.nextOn(name, 'pusher_internal:member_removed', GRACE_MS + WAIT);
    assert.deepEqual(removed.parsed, { user_id: '2' });
    await a.sdk().trigger(name, 'sentinel2', {});
    await ann.nextOn(name, 'sentinel2');
    assert.equal(ann.all.filter((f) => f.event === 'pusher_internal:member_removed').length, 1);
  });

  it('§8 (valkey) socket_id exclusion across nodes: the HTTP API on node A leaves out a socket connected to node B', async () => {
    const name = uid('x-excl-');
    const onA = await RawPusher.connect(a);
    const onB = await RawPusher.connect(b);
    await onA.subscribe(name);
    await onB.subscribe(name);
    await waitFor(async () => (await (await a.sdk().get({ path: `/channels/${name}` })).json()).occupied, { what: 'occupied' });
    await a.sdk().trigger(name, 'Excluded', {}, { socket_id: onB.socketId });
    assert.equal((await onA.nextOn(name, 'Excluded')).event, 'Excluded');
    await a.sdk().trigger(name, 'sentinel', {});
    const next = await onB.next((f) => f.channel === name);
    assert.equal(next.event, 'sentinel', `node B's excluded socket got ${JSON.stringify(next)}`);
    await onA.nextOn(name, 'sentinel');

    // Same through realtime_trigger() on node B excluding a node-A socket.
    await b.phpOk('realtime_trigger', name, 'Excluded2', '{}', onA.socketId);
    assert.equal((await onB.nextOn(name, 'Excluded2')).event, 'Excluded2');
    await b.phpOk('realtime_trigger', name, 'sentinel2', '{}');
    assert.equal((await onA.next((f) => f.channel === name)).event, 'sentinel2');
  });

  it('§8 (valkey) terminate_connections and disconnectUser() across nodes close the user with 4009 everywhere', async () => {
    const signedOnB = await RawPusher.connect(b);
    await signedOnB.signin('900');
    const memberOnA = await RawPusher.connect(a);
    await memberOnA.subscribePresence(uid('presence-t-'), '900');
    const other = await RawPusher.connect(b);
    await other.signin('901');

    const res = await a.sdk().terminateUserConnections('900');
    assert.equal(res.status, 200);
    assert.equal((await signedOnB.waitClose()).code, 4009);
    assert.equal((await memberOnA.waitClose()).code, 4009);
    await other.ping();

    const p = await connectPusher(a, { user: '902' });
    p.signin();
    await waitFor(() => p.user.serverToUserChannel?.subscribed, { what: 'signin' });
    await b.phpOk('disconnectUser', '902');
    await waitFor(() => p.closeCodes.includes(4009), { what: '4009 on node A' });
    assert.ok(other.open);
  });

  it('§8 (valkey) client events are delivered cluster-wide; broadcastToUser() reaches a signed-in user on the other node', async () => {
    const name = uid('presence-w-');
    const sender = await RawPusher.connect(a);
    const receiver = await RawPusher.connect(b);
    await sender.subscribePresence(name, 's');
    await receiver.subscribePresence(name, 'r');
    await sender.nextOn(name, 'pusher_internal:member_added');
    sender.send({ event: 'client-wave', channel: name, data: { hi: true } });
    const f = await receiver.nextOn(name, 'client-wave');
    assert.deepEqual(f.data, { hi: true });
    assert.equal(f.user_id, 's');

    await receiver.signin('777');
    await a.phpOk('broadcastToUser', '777', '"cross"');
    const m = await receiver.next((x) => x.channel === '#server-to-user-777');
    assert.equal(m.event, 'message');
    assert.equal(m.data, '"cross"');
  });

  it('§8 (valkey) cache channels remember the last event across nodes (triggered on A with no subscriber, replayed on B)', async () => {
    const name = uid('cache-x-');
    await a.sdk().trigger(name, 'Last', { v: 'a' });
    const onB = await RawPusher.connect(b);
    await onB.subscribe(name);
    const f = await onB.next((x) => x.channel === name);
    assert.equal(f.event, 'Last');
    assert.equal(f.data, '{"v":"a"}');
    const info = await (await b.sdk().get({ path: `/channels/${name}`, params: { info: 'cache' } })).json();
    assert.equal(info.cache?.data, '{"v":"a"}');
  });

  it('§8 (valkey) GET channels and occupied are cluster-wide; subscription_count is this node\'s count (documented deviation)', async () => {
    const name = uid('count-');
    const onB1 = await RawPusher.connect(b);
    const onB2 = await RawPusher.connect(b);
    await onB1.subscribe(name);
    await onB2.subscribe(name);
    const onA = await RawPusher.connect(a);
    await onA.subscribe(name);

    const listA = await (await a.sdk().get({ path: '/channels', params: { filter_by_prefix: name } })).json();
    assert.deepEqual(Object.keys(listA.channels), [name]);
    onA.close();
    await waitFor(async () => (await (await a.sdk().get({ path: `/channels/${name}`, params: { info: 'subscription_count' } })).json()).subscription_count === 0,
      { what: 'node A to count 0 local subscriptions' });
    const fromA = await (await a.sdk().get({ path: `/channels/${name}`, params: { info: 'subscription_count' } })).json();
    assert.deepEqual(fromA, { occupied: true, subscription_count: 0 }, 'occupied through node B; the count is node A\'s');
    const fromB = await (await b.sdk().get({ path: `/channels/${name}`, params: { info: 'subscription_count' } })).json();
    assert.deepEqual(fromB, { occupied: true, subscription_count: 2 });
  });

  it('§8 Close codes: a reload that changes the backend (prefix) closes Pusher connections with 4200 within 5 s and pusher-js reconnects at once', async () => {
    const raws = [];
    for (let i = 0; i < 8; i++) raws.push(await RawPusher.connect(a));
    const p = await connectPusher(a, { user: '1' });
    const ch = await subscribe(p, 'reload-news');
    const firstId = p.connection.socket_id;
    const t0 = Date.now();
    prefix = uid('pt');
    await a.reload(options());
    const closes = await Promise.all(raws.map((r) => r.waitClose(10_000)));
    for (const c of closes) assert.equal(c.code, 4200);
    const times = raws.map((r) => r.closedAt - t0);
    assert.ok(Math.max(...times) <= 6_000, `closes within the 5 s spread: ${times}`);
    await waitFor(() => p.closeCodes.includes(4200), { what: 'pusher-js to see 4200' });
    await waitFor(() => p.connection.state === 'connected' && p.connection.socket_id !== firstId,
      { timeout: 10_000, what: `pusher-js to reconnect at once (${p.states.join(' → ')})` });
    const got = nextEvent(ch, 'after-reload');
    await waitFor(async () => (await (await a.sdk().get({ path: '/channels/reload-news' })).json()).occupied, { what: 'resubscribed' });
    await a.sdk().trigger('reload-news', 'after-reload', {});
    assert.deepEqual(await got, {});
  });
});
