// SPEC §8 `pusher_activity_timeout`: pusher:ping after silence, 4201 when
// nothing answers within 30 s, every inbound frame (WebSocket pings
// included) counts as activity.
//
// The 4201 test is real and therefore slow (~32 s: 1 s of silence, then
// the 30 s pong timeout), and so is its counterpart (clients that answer
// must outlive that limit): the tests of this file run concurrently, so the
// file takes about as long as one of them.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import {
  Server, RawPusher, connectPusher, closeClients, waitFor, delay,
} from './support.mjs';

describe('activity timeout (pusher_activity_timeout 1s)', { concurrency: true }, () => {
  let server;
  before(async () => { server = await Server.start({ options: ['pusher_activity_timeout 1s'] }); });
  after(async () => { await closeClients(); await server?.stop(); });

  it('§8 pusher_activity_timeout: a raw client that never answers pusher:ping is closed with 4201 about 30 s after the ping', { timeout: 60_000 }, async () => {
    // autoPong off: not even WebSocket pongs, a truly silent client.
    const silent = await RawPusher.connect(server, { autoPong: false });
    const connectedAt = Date.now();
    assert.equal(silent.activityTimeout, 1);
    const ping = await silent.next('pusher:ping', 5_000);
    const pingAfter = ping.at - connectedAt;
    assert.ok(pingAfter >= 900 && pingAfter <= 3_000, `pusher:ping ${pingAfter} ms after the last frame (activity_timeout 1 s)`);
    const { code } = await silent.waitClose(45_000);
    const closedAfterPing = silent.closedAt - ping.at;
    assert.equal(code, 4201, `close code (frames: ${silent.describe()})`);
    assert.ok(closedAfterPing >= 28_000 && closedAfterPing <= 34_000, `closed ${closedAfterPing} ms after the ping (30 s pong timeout)`);
    const err = silent.all.find((f) => f.event === 'pusher:error');
    if (err) assert.equal(err.parsed.code, 4201);
    assert.equal(silent.all.filter((f) => f.event === 'pusher:ping').length, 1, 'pinged once, not repeatedly');
  });

  it('§8 pusher_activity_timeout: announced in connection_established; raw clients that answer each pusher:ping with pusher:pong (and nothing else) keep being pinged every ~2 s and stay connected past the 31 s limit', { timeout: 60_000 }, async () => {
    // autoPong off: the pusher:pong answers are the only inbound frames, so
    // nothing else (the hub's WebSocket pings) keeps them alive.
    const clients = [];
    for (let i = 0; i < 5; i++) {
      const c = await RawPusher.connect(server, { autoPong: false });
      assert.equal(c.activityTimeout, 1);
      c.ws.on('message', (m) => { if (String(m).includes('"pusher:ping"')) c.send({ event: 'pusher:pong', data: {} }); });
      clients.push(c);
    }
    const start = Date.now();
    const end = start + 34_000; // past 1 s + the 30 s pong timeout
    await waitFor(() => Date.now() >= end || clients.some((c) => !c.open), { timeout: 40_000, interval: 100, what: 'the observation window' });
    const now = Date.now();
    for (const [i, c] of clients.entries()) {
      const at = [start, ...c.all.filter((f) => f.event === 'pusher:ping').map((f) => f.at)];
      const gaps = [...at.slice(1).map((x, j) => x - at[j]), (c.closedAt ?? now) - at.at(-1)];
      assert.ok(c.open, `client ${i} was closed (${c.closeCode} ${c.closeReason}) though it answered all ${at.length - 1} pings; gaps ${gaps}`);
      assert.ok(Math.max(...gaps) <= 3_500, `client ${i}: a ping at least every ~2 s (1 s silence + the 1 s tick), got gaps ${gaps}`);
      assert.equal(c.queued('pusher:error').length, 0, c.describe());
    }
  });

  it('§8 pusher_activity_timeout: pusher-js (which pings on its own after activity_timeout) stays connected through several ping rounds', { timeout: 30_000 }, async () => {
    const p = await connectPusher(server, { user: '1' });
    assert.equal(p.connection.activityTimeout, 1_000);
    const id = p.connection.socket_id;
    const pings = [];
    p.connection.bind('message', (e) => { if (e.event === 'pusher:ping' || e.event === 'pusher:pong') pings.push(e.event); });
    await waitFor(() => pings.length >= 4, { timeout: 15_000, interval: 50, what: 'four ping/pong rounds' });
    assert.equal(p.connection.state, 'connected');
    assert.equal(p.connection.socket_id, id, 'same connection throughout');
    assert.deepEqual(p.closeCodes, []);
  });

  it('§8 pusher_activity_timeout: every inbound frame counts — a client sending only WebSocket pings is never sent pusher:ping, and every ping is answered, past the server\'s 10 s write deadline (reverb #224)', { timeout: 40_000 }, async () => {
    const raw = await RawPusher.connect(server);
    let pongs = 0;
    raw.ws.on('pong', () => { pongs++; });
    // 13 s: longer than the 10 s write deadline, which a pong written on
    // an old deadline would fail (the connection then dropped, 1006).
    const until = Date.now() + 13_000;
    let pings = 0;
    while (Date.now() < until && raw.open) {
      raw.ws.ping();
      pings++;
      await delay(250); // the client's own ping interval
    }
    assert.ok(raw.open, `closed (${raw.closeCode}) after ${pings} pings`);
    await waitFor(() => pongs >= pings, { timeout: 5_000, what: `pongs for all ${pings} pings (got ${pongs})` });
    assert.deepEqual(raw.queued('pusher:ping'), [], 'no pusher:ping while WebSocket pings arrive');
    // Control: once it stops, the server does ping it.
    await raw.next('pusher:ping', 5_000);
  });
});
