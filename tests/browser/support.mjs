// Helpers shared by the browser tests (not a test file itself: node --test
// only runs *.test.mjs here).

import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = process.env.FRANKENPHP_BIN || join(ROOT, 'bin/frankenphp');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const CHROMIUM_FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run',
];

/** A TCP port nobody listens on (Caddy binds it on every interface). */
export function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', fail);
    srv.listen({ port: 0, host: '0.0.0.0', exclusive: true }, () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

/** client/realtime.js as it is in the working tree. */
export function treeClient() {
  return readFileSync(join(ROOT, 'client/realtime.js'), 'utf8');
}

/**
 * The binary embeds client/realtime.js when it is built (`GET <route>?client`).
 * When bin/frankenphp was built before the last change to the client, the
 * pages would run the old client: serve the tree's copy to the browser
 * instead (`make test` always builds first, so there the binary's own copy
 * is used), and return a note saying so (for t.diagnostic), else null.
 *
 * @param {import('playwright-core').BrowserContext} context
 * @param {string} routeUrl e.g. http://127.0.0.1:8080/ws
 * @returns {Promise<string|null>}
 */
export async function useTreeClientIfStale(context, routeUrl) {
  const res = await fetch(`${routeUrl}?client`, { signal: AbortSignal.timeout(5000) });
  const served = await res.text();
  const tree = treeClient();
  if (res.status === 200 && served === tree) return null;
  await context.route(`${routeUrl}?client`, (route) => route.fulfill({
    status: 200, contentType: 'text/javascript; charset=utf-8', body: tree,
  }));
  return `${BIN} serves a client (${routeUrl}?client, HTTP ${res.status}) that differs from `
    + 'client/realtime.js (built before the last change; `make build` embeds the new one): '
    + "the pages get the working tree's copy";
}
