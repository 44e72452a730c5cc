// SPEC §8 "User authentication" and the details on 4009: pusher:signin,
// #server-to-user-{id}, broadcastToUser(), disconnectUser() and the HTTP
// API's terminate_connections.

import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';

import {
  Server, RawPusher, connectPusher, connectEcho, closeClients, nextEvent, waitFor,
  assertStaysDisconnected, sdkUserAuthenticator, userAuth, uid,
} from './support.mjs';

async function signedIn(p) {
  p.signin();
  await waitFor(() => p.user.user_data && p.user.serverToUserChannel?.subscribed,
    { what: 'pusher-js to sign in and subscribe to #server-to-user-{id}' });
  return p;
}

describe('user authentication', () => {
  let server;
  before(async () => { server = await Server.start({ admin: true }); });
  after(async () => { await closeClients(); await server?.stop(); });
  afterEach(() => closeClients());

  it('§8 User authentication: pusher:signin with the signature of socket_id::user::user_data → pusher:signin_success; pusher-js then holds #server-to-user-{id}', async () => {
    const raw = await RawPusher.connect(server);
    const ok = await raw.signin('501');
    assert.equal(ok.event, 'pusher:signin_success', JSON.stringify(ok));
    assert.equal(ok.parsed.user_data, '{"id":"501"}', 'user_data is the exact signed string');
    const sub = await raw.subscribe('#server-to-user-501');
    assert.equal(sub.event, 'pusher_internal:subscription_succeeded');

    const p = await signedIn(await connectPusher(server, { user: '502' }));
    assert.equal(p.user.user_data.id, '502');
  });

  it('§8 details: #server-to-user-{id} is open only to that signed-in user; another user or an anonymous socket gets subscription_error status 403', async () => {
    const raw = await RawPusher.connect(server);
    await raw.signin('503');
    raw.send({ event: 'pusher:subscribe', data: { channel: '#server-to-user-504', auth: '' } });
    const err = await raw.next((f) => f.channel === '#server-to-user-504');
    assert.equal(err.event, 'pusher:subscription_error');
    assert.equal(err.parsed.status, 403);

    const anon = await RawPusher.connect(server);
    anon.send({ event: 'pusher:subscribe', data: { channel: '#server-to-user-503', auth: '' } });
    const err2 = await anon.next((f) => f.channel === '#server-to-user-503');
    assert.equal(err2.event, 'pusher:subscription_error');
    assert.equal(err2.parsed.status, 403);
    assert.ok(raw.open && anon.open);
  });

  it('§8 details: a bad pusher:signin gets pusher:error 4009; the connection stays, not signed in', async () => {
    const raw = await RawPusher.connect(server);
    const userData = '{"id":"505"}';
    const cases = [
      { auth: `${server.app.key}:${'ab'.repeat(32)}`, user_data: userData },
      { auth: userAuth('1.2', userData), user_data: userData },
      { auth: userAuth(raw.socketId, '{"id":"506"}'), user_data: userData },
      { auth: userAuth(raw.socketId, '{"name":"no id"}'), user_data: '{"name":"no id"}' },
    ];
    for (const data of cases) {
      raw.send({ event: 'pusher:signin', data });
      const f = await raw.next('pusher:error');
      assert.equal(f.parsed.code, 4009, JSON.stringify(f));
    }
    await raw.ping();
    assert.ok(raw.open);
    raw.send({ event: 'pusher:subscribe', data: { channel: '#server-to-user-505', auth: '' } });
    assert.equal((await raw.next((f) => f.channel === '#server-to-user-505')).parsed.status, 403, 'not signed in');

    // pusher-js with a wrong secret: still connected, no signin_success.
    const p = await connectPusher(server, { user: '505', userAuth: sdkUserAuthenticator(server, { id: '505', wrongSecret: true }) });
    const err = nextEvent(p.connection, 'error');
    p.signin();
    const e = await err;
    assert.equal(e.data?.code ?? e.error?.data?.code, 4009, JSON.stringify(e));
    assert.equal(p.connection.state, 'connected');
    assert.equal(p.user.user_data, null);
  });

  it('§8 details: a connection signed in as one user cannot sign in as another (pusher:error 4009); it stays the first user only', async () => {
    const raw = await RawPusher.connect(server);
    assert.equal((await raw.signin('521')).event, 'pusher:signin_success');
    assert.equal((await raw.signin('521')).event, 'pusher:signin_success', 'signing in again as the same user is harmless');
    const second = await raw.signin('522');
    assert.equal(second.event, 'pusher:error', JSON.stringify(second));
    assert.equal(second.parsed.code, 4009, JSON.stringify(second));
    await server.phpOk('broadcastToUser', '522', '"for 522"');
    await server.phpOk('broadcastToUser', '521', '"for 521"');
    const f = await raw.next((x) => x.channel?.startsWith('#server-to-user-'));
    assert.deepEqual([f.channel, f.data], ['#server-to-user-521', '"for 521"'], 'the first message is the first user\'s: nothing for 522 came before it');
    assert.ok(raw.open);
  });

  it('§8 User authentication: broadcastToUser() reaches the signed-in connection as event "message" on #server-to-user-{id}; the SDK\'s sendToUser keeps its event name', async () => {
    const p = await signedIn(await connectPusher(server, { user: '507' }));
    const other = await signedIn(await connectPusher(server, { user: '508' }));
    const otherGot = [];
    other.user.bind('message', (d) => otherGot.push(d));

    const got = nextEvent(p.user, 'message');
    await server.phpOk('broadcastToUser', '507', '{"text":"hi 507"}');
    assert.deepEqual(await got, { text: 'hi 507' });

    const raw = await RawPusher.connect(server);
    await raw.signin('507');
    await server.phpOk('broadcastToUser', 507, 'plain text');
    const f = await raw.next((x) => x.channel === '#server-to-user-507');
    assert.equal(f.event, 'message');
    assert.equal(f.data, 'plain text');

    const named = nextEvent(p.user, 'Notify');
    await server.sdk().sendToUser('507', 'Notify', { n: 1 });
    assert.deepEqual(await named, { n: 1 });

    // The other user got nothing: its own message comes first.
    const own = nextEvent(other.user, 'message');
    await server.phpOk('broadcastToUser', '508', '"mine"');
    assert.equal(await own, 'mine');
    assert.deepEqual(otherGot, ['mine']);
  });

  it('§8 details: disconnectUser() closes signed-in connections and presence members of that user with 4009; pusher-js does not reconnect; others stay', async () => {
    const p = await signedIn(await connectPusher(server, { user: '509' }));
    const member = await RawPusher.connect(server);
    await member.subscribePresence(uid('presence-dc-'), '509');
    const bystander = await signedIn(await connectPusher(server, { user: '510' }));

    await server.phpOk('disconnectUser', '509');
    const { code } = await member.waitClose();
    assert.equal(code, 4009);
    await waitFor(() => p.closeCodes.includes(4009), { what: 'pusher-js to see 4009' });
    await assertStaysDisconnected(p);
    assert.equal(bystander.connection.state, 'connected');
  });

  it('§8 details: terminate_connections (HTTP API) closes the user with 4009 and pusher-js does not reconnect; Echo sees it too', async () => {
    const p = await signedIn(await connectPusher(server, { user: '511' }));
    const echo = await connectEcho(server, { user: '511' });
    echo.connector.signin();
    await waitFor(() => echo.connector.pusher.user.serverToUserChannel?.subscribed, { what: 'Echo signin' });
    const member = await RawPusher.connect(server);
    await member.subscribePresence(uid('presence-term-'), 511);

    const res = await server.sdk().terminateUserConnections('511');
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {});
    assert.equal((await member.waitClose()).code, 4009);
    await waitFor(() => p.closeCodes.includes(4009) && echo.connector.pusher.closeCodes.includes(4009), { what: '4009 on both pusher-js clients' });
    await assertStaysDisconnected(p);
    assert.equal(echo.connectionStatus(), 'disconnected');
  });
});

