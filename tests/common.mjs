// Helpers the Node suites (tests/browser, tests/laravel, tests/pusher)
// share; each suite's support.mjs re-exports them. Node built-ins only, so
// any suite can load this without another suite's node_modules.
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

/**
 * A TCP port nobody listens on, on any address: the servers under test
 * listen on all of them, and a probe of 127.0.0.1 alone missed ports that
 * load generators held on 127.0.0.x. Bound without SO_REUSEPORT.
 */
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

/** The browser pages of a test, with their console logs, dumped on failure. */
export class Pages {
  /** @param {string} dir where dump() writes */
  constructor(dir) {
    this.dir = dir;
    this.pages = new Map();
    this.logs = new Map();
  }

  async open(context, name) {
    const page = await context.newPage();
    this.pages.set(name, page);
    const lines = [];
    this.logs.set(name, lines);
    page.on('console', (m) => lines.push(`[${m.type()}] ${m.text()}`));
    page.on('pageerror', (e) => lines.push(`[pageerror] ${e.message}`));
    page.on('close', () => this.pages.delete(name));
    return page;
  }

  /** Uncaught exceptions in that page. */
  errors(name) {
    return (this.logs.get(name) ?? []).filter((l) => l.startsWith('[pageerror]'));
  }

  async dump(slug) {
    for (const [name, page] of this.pages) {
      await page.screenshot({ path: join(this.dir, `${slug}--${name}.png`), fullPage: true, timeout: 5000 })
        .catch((e) => console.error(`screenshot of ${name} failed: ${e.message}`));
    }
    for (const [name, lines] of this.logs) {
      writeFileSync(join(this.dir, `console-${name}.log`), lines.join('\n') + '\n');
    }
  }
}
