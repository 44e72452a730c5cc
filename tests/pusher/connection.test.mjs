// SPEC §8 "Connections", "Routing" and "Close codes": the handshake as
// pusher-js 8.6.0 sees it, unknown keys, max_connections, and the 4200
// shutdown close.

import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';

import {
  Server, RawPusher, connectPusher, connectNative, closeClients, waitFor, waitState,
  assertStaysDisconnected, subscribe, nextEvent, withTimeout, signedRequest,
} from './support.mjs';

const SOCKET_ID = /^\d+\.\d+$/;

describe('connections', () => {
  let server;
  before(async () => { server = await Server.start({ admin: true }); });
  after(async () => { await closeClients(); await server?.stop(); });
  afterEach(() => closeClients());

  it('§8 Connections: first frame pusher:connection_established, socket_id ^\\d+\\.\\d+$ with both parts random, activity_timeout in seconds', async () => {
    const raws = [];
    for (let i = 0; i < 6; i++) raws.push(await RawPusher.connect(server));
    for (const c of raws) {
      const first = c.all[0];
      assert.equal(first.event, 'pusher:connection_established');
      assert.equal(typeof first.data, 'string', 'data is a JSON-encoded string');
      assert.deepEqual(Object.keys(first.parsed).sort(), ['activity_timeout', 'socket_id']);
      assert.match(first.parsed.socket_id, SOCKET_ID);
      assert.equal(first.parsed.activity_timeout, 30, 'pusher_activity_timeout defaults to 30 s');
    }
    const ids = raws.map((c) => c.socketId);
    assert.equal(new Set(ids).size, ids.length, `socket ids are unique: ${ids}`);
    const firsts = new Set(ids.map((id) => id.split('.')[0]));
    const seconds = new Set(ids.map((id) => id.split('.')[1]));
    assert.ok(firsts.size > 1, `the first component is random, not constant per node: ${ids}`);
    assert.ok(seconds.size === ids.length, `the second component is random: ${ids}`);

    // pusher-js connects with the URL and query it always uses, and the
    // SDK (which validates socket ids with ^\d+\.\d+$) accepts its id.
    const p = await connectPusher(server, { user: '1' });
    assert.match(p.connection.socket_id, SOCKET_ID);
    assert.doesNotThrow(() => server.sdk().authorizeChannel(p.connection.socket_id, 'private-x'));
    assert.equal(p.connection.activityTimeout, 30_000);
  });

  it('§8 Routing: an unknown key gets pusher:error 4001 and close 4001, and pusher-js does not reconnect', async () => {
    const raw = await RawPusher.connect(server, { key: 'no-such-key', waitEstablished: false });
    const err = await raw.next('pusher:error');
    assert.equal(err.parsed.code, 4001);
    assert.equal(typeof err.parsed.message, 'string');
    const { code } = await raw.waitClose();
    assert.equal(code, 4001);
    assert.equal(raw.all.length, 1, `only the error frame: ${raw.describe()}`);

    const p = await connectPusher(server, { key: 'no-such-key', waitConnected: false });
    await waitFor(() => p.closeCodes.includes(4001), { what: 'pusher-js to see 4001' });
    await assertStaysDisconnected(p);
    assert.ok(!p.states.includes('connected'), p.states.join(' → '));
  });

  it('§8 Connections: the Origin rule applies to Pusher handshakes (403, no upgrade)', async () => {
    await assert.rejects(
      RawPusher.connect(server, { headers: { Origin: 'https://evil.example' } }),
      /HTTP 403/,
    );
    // Same origin as the Host, and no Origin at all (Node clients), are allowed.
    const same = await RawPusher.connect(server, { headers: { Origin: `http://127.0.0.1:${server.port}` } });
    assert.match(same.socketId, SOCKET_ID);
  });

  it('§8 Connections: pusher:ping is answered with pusher:pong', async () => {
    const raw = await RawPusher.connect(server);
    raw.send({ event: 'pusher:ping', data: {} });
    const pong = await raw.next('pusher:pong');
    assert.equal(pong.event, 'pusher:pong');
  });

  it('§8 Routing: the native protocol keeps working on /ws under the same handler', async () => {
    const native = await connectNative(server, 'n1');
    assert.equal(native.userId, 'n1');
    const pong = await native.pingNative();
    assert.equal(pong.event, 'pong');
  });
});

describe('routing with a narrow matcher (docs/pusher.md recipe)', () => {
  let server;
  before(async () => {
    server = await Server.start({ matcher: '/ws /app/{$PUSHER_TEST_APP_KEY} /apps/{$PUSHER_TEST_APP_ID}/*' });
  });
  after(async () => { await closeClients(); await server?.stop(); });

  it('§8 Routing: with the broad @realtime matcher every /app/* path is the realtime handler\'s; a matcher naming /app/{key} and /apps/{id}/* leaves the app\'s other /app/ and /apps/ routes to PHP', async () => {
    const p = await connectPusher(server, { user: '1' });
    const ch = await subscribe(p, 'routed');
    const got = nextEvent(ch, 'ok');
    await server.sdk().trigger('routed', 'ok', { n: 1 });
    assert.deepEqual(await got, { n: 1 });
    for (const path of ['/app/dashboard', '/apps/other/settings', `/app/${server.app.key}`]) {
      const res = await fetch(server.url(path));
      if (path.endsWith(server.app.key)) {
        // A plain GET (no upgrade) of the key path is the handler's: 426.
        assert.equal(res.status, 426, path);
      } else {
        assert.equal(res.status, 200, path);
        assert.equal(await res.text(), 'ok\n', `${path} reached PHP (tests/fixtures/app/index.php)`);
      }
    }
  });

  it('§8 Routing: with the SPEC\'s broad matcher a plain GET of another /app/* path does not reach PHP (426 from the handler)', async () => {
    const broad = await Server.start({});
    try {
      const res = await fetch(broad.url('/app/dashboard'));
      assert.equal(res.status, 426);
    } finally {
      await broad.stop();
    }
  });
});

describe('routing under a prefix (handle /ws*, Echo wsPath)', () => {
  let server;
  before(async () => { server = await Server.start({ matcher: '/ws*' }); });
  after(async () => { await closeClients(); await server?.stop(); });

  it('§8 Routing: mounted on /ws*, pusher-js with wsPath \'/ws\' connects to /ws/app/{key} and the HTTP API answers under /ws/apps/{id}/ (signed without the prefix)', async () => {
    const p = await connectPusher(server, { user: '1', wsPath: '/ws' });
    const ch = await subscribe(p, 'prefixed');
    const got = nextEvent(ch, 'ok');
    const body = JSON.stringify({ name: 'ok', channel: 'prefixed', data: '{"n":2}' });
    const res = await signedRequest(server, 'POST', `/apps/${server.app.id}/events`, { body, prefix: '/ws' });
    assert.equal(res.status, 200, res.body);
    assert.deepEqual(await got, { n: 2 });
    // The native protocol stays on /ws itself.
    const native = await connectNative(server, 'n1');
    assert.equal((await native.pingNative()).event, 'pong');
  });
});

describe('max_connections', () => {
  let server;
  before(async () => { server = await Server.start({ options: ['max_connections 2'] }); });
  after(async () => { await closeClients(); await server?.stop(); });

  it('§8 details: one max_connections count for both protocols; Pusher over the limit gets close 4100 and pusher-js retries; native gets HTTP 503', async () => {
    const a = await RawPusher.connect(server);
    const native = await connectNative(server, 'n2');
    assert.ok(a.open && native.open);

    // Third connection, Pusher: upgraded, then closed with 4100 (over capacity).
    const raw = await RawPusher.connect(server, { waitEstablished: false });
    const { code } = await raw.waitClose();
    assert.equal(code, 4100, `frames: ${raw.describe()}`);
    const err = raw.all.find((f) => f.event === 'pusher:error');
    if (err) assert.equal(err.parsed.code, 4100);

    // Third connection, native: HTTP 503 at the handshake.
    await assert.rejects(connectNative(server, 'n3'), /HTTP 503/);

    // pusher-js sees 4100 and keeps retrying (backoff 1 s), so it gets in once a slot frees.
    const p = await connectPusher(server, { user: '3', waitConnected: false });
    await waitFor(() => p.closeCodes.includes(4100), { what: 'pusher-js to see 4100' });
    await waitFor(() => p.closeCodes.filter((c) => c === 4100).length >= 2, { what: 'a second attempt (retry after 4100)' });
    assert.ok(!p.closeCodes.some((c) => c >= 4000 && c < 4100), `no 40xx close: ${p.closeCodes}`);
    a.close();
    await waitState(p, 'connected', 10_000);
    assert.match(p.connection.socket_id, SOCKET_ID);
  });
});

describe('shutdown', () => {
  let server;
  before(async () => { server = await Server.start({}); });
  after(async () => { await closeClients(); await server?.stop(); });

  it('§8 Close codes: SIGTERM closes Pusher connections with 4200 spread over at most 5 s; pusher-js reconnects at once to the restarted server', async () => {
    const raws = [];
    for (let i = 0; i < 16; i++) raws.push(await RawPusher.connect(server));
    const native = await connectNative(server, 'n1');
    const p = await connectPusher(server, { user: '1' });
    const ch = await subscribe(p, 'restart-news');
    const firstId = p.connection.socket_id;
    const transitions = [];
    p.connection.bind('state_change', ({ current }) => transitions.push({ state: current, at: Date.now() }));
    let closedAt;
    p.connection.bind('error', (e) => { if (e?.error?.data?.code === 4200) closedAt ??= Date.now(); });

    const t0 = Date.now();
    const stopped = server.stop(15_000);
    const closes = await withTimeout(Promise.all(raws.map((r) => r.closed)), 12_000, '4200 closes');
    const status = await stopped;
    assert.equal(status, 0, `server exit status after SIGTERM: ${status}`);

    for (const c of closes) assert.equal(c.code, 4200, `close codes: ${closes.map((x) => x.code)}`);
    assert.equal(native.closeCode, 1001, 'native-protocol connections get 1001 in the same shutdown');
    const times = raws.map((r) => r.closedAt - t0).sort((x, y) => x - y);
    const spread = times.at(-1) - times[0];
    assert.ok(times.at(-1) <= 5_500, `every close within 5 s of SIGTERM (+0.5 s slack): ${times}`);
    assert.ok(spread >= 500, `closes are spread, not a burst: ${times}`);

    // pusher-js saw 4200 and went straight back to connecting (retry after 0 s).
    await waitFor(() => closedAt, { what: 'pusher-js to see close 4200' });
    const next = transitions.find((s) => s.at >= closedAt);
    assert.ok(next, 'pusher-js changed state after 4200');
    assert.equal(next.state, 'connecting', `states: ${p.states.join(' → ')}`);
    assert.ok(next.at - closedAt < 500, `reconnect attempt ${next.at - closedAt} ms after 4200`);

    // Restarted on the same port, it gets back in by itself (pusher-js's
    // own schedule after the port refused connections takes ~15 s) and
    // resubscribes.
    await server.start({ keepPorts: true });
    await waitFor(() => p.connection.state === 'connected' && p.connection.socket_id !== firstId,
      { timeout: 30_000, interval: 50, what: `pusher-js to reconnect (${p.states.join(' → ')})` });
    const sdk = server.sdk();
    await waitFor(async () => (await (await sdk.get({ path: '/channels/restart-news' })).json()).occupied,
      { what: 'pusher-js to resubscribe' });
    const got = nextEvent(ch, 'after-restart');
    await sdk.trigger('restart-news', 'after-restart', { ok: true });
    assert.deepEqual(await got, { ok: true });
  });

  it('§8 Close codes: a client reconnecting while the server drains is not put into a 0 s retry loop (no thundering herd during the ≤5 s spread)', async () => {
    // The drain lasts until the last 4200 close (up to 5 s): hold it open with raw clients.
    for (let i = 0; i < 16; i++) await RawPusher.connect(server);
    const stopped = server.stop(15_000);
    // A client that (re)connects during the drain, as every pusher-js client
    // closed early in the spread does at once.
    const p = await connectPusher(server, { user: '2', waitConnected: false });
    const status = await stopped;
    assert.equal(status, 0);
    // At most one immediate-retry close (4200: its own close in the spread,
    // when it got in before the drain began); every refusal after that is
    // 41xx, which pusher-js retries after 1 s, so their number is bounded by
    // the drain's length (≤ 5 s, more on a loaded machine), not by how fast
    // the client can reconnect.
    const immediate = p.closeCodes.filter((c) => c >= 4200 && c < 4300).length;
    const refusals = p.closeCodes.length;
    const detail = `close codes ${p.closeCodes}: ${p.errors.slice(0, 1).map((e) => JSON.stringify(e.error ?? e))}`;
    assert.ok(immediate <= 1, `${immediate} closes with 42xx during the drain (${detail}): each makes pusher-js retry after 0 s, `
      + 'so each client closed early in the spread would hammer the draining server until it exits');
    assert.ok(refusals <= 10, `refused ${refusals} times during the drain (${detail})`);
  });
});


describe('slow consumers (max_pending_bytes 512KiB)', () => {
  let server;
  before(async () => { server = await Server.start({ admin: true, options: ['max_pending_bytes 512KiB'] }); });
  after(async () => { await closeClients(); await server?.stop(); });

  const slowDrops = async () => {
    const res = await server.admin_('GET', '/metrics');
    const m = /^realtime_slow_consumer_disconnects_total (\d+)/m.exec(res.body);
    return m ? Number(m[1]) : 0;
  };

  it('§8 Close codes: a client that fell behind a burst is closed with 4100 (pusher-js reconnects after a second), never 4008 (pusher-js would give up for good); a reading client is untouched', { timeout: 90_000 }, async () => {
    const raw = await RawPusher.connect(server);
    await raw.subscribe('busy');
    const bystander = await RawPusher.connect(server);
    await bystander.subscribe('busy');
    const before = await slowDrops();
    raw.ws._socket.pause(); // stops reading: the kernel buffers fill, then the server's backlog
    const data = 'x'.repeat(60_000);
    let sent = 0;
    for (; sent < 1000 && (await slowDrops()) === before; sent++) {
      const res = await signedRequest(server, 'POST', `/apps/${server.app.id}/events`,
        { body: JSON.stringify({ name: 'burst', channel: 'busy', data }) });
      assert.equal(res.status, 200, res.body);
    }
    // Reading again within the server's 1 s close deadline lets the close
    // frame through (a client that never reads again only sees the TCP close).
    raw.ws._socket.resume();
    assert.ok(sent < 1000, 'the paused client was never dropped');
    const { code } = await withTimeout(raw.closed, 30_000, `the slow client's close after ${sent} events of 60 kB`);
    assert.equal(code, 4100, `close code after ${sent} events (reason: ${raw.closeReason})`);
    await waitFor(() => bystander.queued('burst').length === sent,
      { timeout: 30_000, what: `the bystander gets all ${sent} events (it has ${bystander.queued('burst').length})` });
    assert.ok(bystander.open, 'a reading client is not closed');
  });
});
