// Publish latency of the Laravel broadcaster, in-process vs HTTP API, from
// the same Laravel route of tests/laravel-app (GET /bench/publish): each
// publish is one $broadcaster->broadcast(['bench'], ...) call timed with
// hrtime() inside PHP, through
//   frankenphp  the package's driver: realtime_trigger() in the same process
//   reverb      Laravel's reverb connection served by the package's signed
//               HTTP client: POST /apps/{id}/events to the same server
// with one pusher-js subscriber on the channel. Not a test (node --test
// only runs *.test.mjs).
//
// usage: node tests/laravel/bench-publish.mjs [count per round, default 300] [rounds, default 3]

import Pusher from 'pusher-js';

import { LaravelServer, artifactsDir, cleanup, waitFor } from './support.mjs';

const count = Number(process.argv[2] ?? 300);
const rounds = Number(process.argv[3] ?? 3);
const dir = artifactsDir('bench');
const server = await new LaravelServer({ dir }).start();
let subscriber;
try {
  let received = 0;
  subscriber = new Pusher(server.key, {
    cluster: '', wsHost: '127.0.0.1', wsPort: server.port, forceTLS: false, enabledTransports: ['ws'],
  });
  const channel = subscriber.subscribe('bench');
  channel.bind('bench.publish', () => { received += 1; });
  await waitFor('the subscriber', () => channel.subscribed, 10_000);

  const run = async (connection, n) => {
    const res = await fetch(`${server.base}/bench/publish?connection=${connection}&count=${n}`, { signal: AbortSignal.timeout(120_000) });
    const body = await res.json();
    if (res.status !== 200) throw new Error(JSON.stringify(body));
    return body;
  };
  for (const c of ['frankenphp', 'reverb']) await run(c, 100); // warm-up

  const results = { frankenphp: [], reverb: [] };
  for (let r = 0; r < rounds; r += 1) {
    for (const c of ['frankenphp', 'reverb']) results[c].push(await run(c, count));
  }
  const expected = (100 + count * rounds) * 2;
  await waitFor(`${expected} deliveries`, () => received >= expected, 30_000);

  const fmt = (us) => (us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${Math.round(us)} µs`);
  console.log(`${rounds} rounds of ${count} publishes per connection, one subscriber (deliveries: ${received}/${expected})`);
  console.log('| connection | publish path | median | p90 | p99 | per round (median / p90) |');
  console.log('|---|---|---|---|---|---|');
  for (const [c, list] of Object.entries(results)) {
    const med = (k) => list.map((x) => x[k]).sort((a, b) => a - b)[Math.floor(list.length / 2)];
    console.log(`| ${c} | ${list[0].publisher} | ${fmt(med('median_us'))} | ${fmt(med('p90_us'))} | ${fmt(med('p99_us'))} | ${list.map((x) => `${fmt(x.median_us)} / ${fmt(x.p90_us)}`).join(', ')} |`);
  }
} finally {
  subscriber?.disconnect();
  await server.stop();
  cleanup(dir, false);
}
