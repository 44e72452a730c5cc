/**
 * realtime.js: browser client for the FrankenPHP `realtime` WebSocket server.
 *
 * An ES module with no dependencies and no build step:
 *
 *     import { RealtimeClient } from '/ws?client'; // served by every realtime route
 *     const rt = new RealtimeClient();            // ws(s)://<this host>/ws
 *     rt.channel('orders').on('message', (f) => console.log(JSON.parse(f.data)));
 *     rt.on('unauthorized', () => location.assign('/login'));
 *     await rt.connect();
 *     await rt.subscribe('orders');
 *
 * It speaks the JSON protocol of SPEC §4, correlates replies with the
 * optional "id" field, reconnects with exponential backoff and full jitter,
 * resubscribes after a reconnect, and pings at the application level so that
 * idle proxies keep the connection and a dead one is noticed. Browsers hide
 * why a handshake was refused, so after a failed connect it asks the route
 * (a GET with Accept: application/json) and stops retrying when the answer
 * is "not logged in" (`unauthorized`) or "refused" (`forbidden`). See
 * docs/client.md.
 *
 * @module realtime
 */

/** Close code the server sends after the PHP app called disconnectUser(). */
export const CLOSE_DISCONNECTED_BY_APP = 4001;

/** Channel names: 1–200 bytes of A-Z a-z 0-9 _ - = @ , . ; : (all ASCII). */
const CHANNEL_RE = /^[A-Za-z0-9_\-=@,.;:]{1,200}$/;

/**
 * An `error` frame from the server, or a local failure (code `closed`,
 * `aborted`, `invalid_channel`, and `unauthorized` / `forbidden` when the
 * server refused the handshake).
 */
export class RealtimeError extends Error {
  /**
   * @param {string} code     e.g. `forbidden`, `invalid_channel`, `too_many_subscriptions`
   * @param {string} message  human-readable text
   * @param {string} [channel] the channel involved, if any
   * @param {object} [frame]  the raw server frame, if any
   */
  constructor(code, message, channel, frame) {
    super(message);
    this.name = 'RealtimeError';
    /** @type {string} */ this.code = code;
    /** @type {string|undefined} */ this.channel = channel;
    /** @type {object|undefined} */ this.frame = frame;
  }
}

/** Minimal event emitter; a throwing handler never breaks the client. */
class Emitter {
  #handlers = new Map();

  /**
   * Registers a handler.
   * @param {string} event
   * @param {(payload: any) => void} handler
   * @returns {() => void} call it to remove the handler
   */
  on(event, handler) {
    if (!this.#handlers.has(event)) this.#handlers.set(event, new Set());
    this.#handlers.get(event).add(handler);
    return () => this.off(event, handler);
  }

  /**
   * Removes a handler registered with {@link Emitter#on}.
   * @param {string} event
   * @param {(payload: any) => void} handler
   */
  off(event, handler) {
    this.#handlers.get(event)?.delete(handler);
  }

  /** @returns {boolean} whether any handler was called */
  emit(event, payload) {
    const set = this.#handlers.get(event);
    if (!set || set.size === 0) return false;
    for (const handler of [...set]) {
      try {
        handler(payload);
      } catch (err) {
        // Surface the bug without letting it stop the other handlers.
        if (typeof reportError === 'function') reportError(err);
        else console.error(err);
      }
    }
    return true;
  }
}

/**
 * Per-channel view returned by {@link RealtimeClient#channel}. Events:
 * `message`, `join`, `leave` (presence channels), `subscribed`,
 * `unsubscribed`, `error`. Registering handlers does not subscribe.
 */
export class Channel extends Emitter {
  #client;

  /** @param {RealtimeClient} client @param {string} name */
  constructor(client, name) {
    super();
    this.#client = client;
    /** @type {string} */
    this.name = name;
  }

  /** Same as `client.subscribe(this.name)`. @returns {Promise<object>} */
  subscribe() {
    return this.#client.subscribe(this.name);
  }

  /** Same as `client.unsubscribe(this.name)`. @returns {Promise<void>} */
  unsubscribe() {
    return this.#client.unsubscribe(this.name);
  }

  /** True when the server confirmed the subscription on the current connection. */
  get subscribed() {
    return this.#client.isSubscribed(this.name);
  }
}

/**
 * @typedef {object} RealtimeOptions
 * @property {boolean} [reconnect=true]        reconnect after an unexpected close
 * @property {number} [minDelay=500]           backoff base, ms
 * @property {number} [maxDelay=30000]         backoff cap, ms
 * @property {number} [stableAfter=10000]      a connection that lived this long resets the backoff, ms
 * @property {number} [pingInterval=25000]     application-level ping period, ms (0 disables)
 * @property {number} [pongTimeout=10000]      no pong within this → the connection is dead, ms
 * @property {number} [connectTimeout=10000]   no `connected` frame within this → retry, ms
 * @property {boolean} [diagnose=true]         after a failed connect, ask the route why (GET, Accept: application/json)
 * @property {typeof WebSocket} [WebSocket]    WebSocket implementation (defaults to the global one)
 */

/**
 * Why the server refused the handshake: its answer to a GET of the route
 * with `Accept: application/json` (docs/protocol.md, "Why a connect
 * failed"), the payload of the `unauthorized` and `forbidden` events.
 *
 * @typedef {object} Refusal
 * @property {401|403} status   the HTTP status the handshake got
 * @property {'unauthorized'|'origin'|'forbidden'} reason
 *   `unauthorized`: the auth endpoint answered 401 (not logged in, session
 *   expired); `origin`: the page's origin is not allowed (allowed_origins);
 *   `forbidden`: the auth endpoint refused the user (another 4xx, or an
 *   answer that is not a user id)
 * @property {string} message   the server's explanation, for logs
 */

/**
 * Client for one WebSocket connection to the realtime server.
 *
 * Client events (`on(name, fn)`):
 * - `connected`    `{event, user_id, connection_id}`, after every (re)connect
 * - `message`      `{event, channel, data}`, `data` is the string PHP broadcast
 * - `direct`       `{event, data}`, from `broadcastToUser()`
 * - `join`/`leave` `{event, channel, user_id}` on presence-* channels
 * - `subscribed`/`unsubscribed` `{event, channel, users?}`
 * - `error`        {@link RealtimeError}: error frames no pending promise took
 *                  (e.g. a resubscription refused after a reconnect)
 * - `disconnected` `{code, reason, willReconnect}`
 * - `reconnecting` `{attempt, delay}` before each scheduled retry
 * - `unauthorized` {@link Refusal} (`reason` `unauthorized`): the auth
 *                  endpoint answered 401; the client stopped retrying
 * - `forbidden`    {@link Refusal} (`reason` `origin` or `forbidden`): the
 *                  handshake was refused with 403; the client stopped retrying
 */
export class RealtimeClient extends Emitter {
  #url;
  #opts;
  #WS;
  /** @type {WebSocket|null} */ #ws = null;
  #state = 'idle';
  #stopped = false;
  #attempt = 0;
  #openedAt = 0;
  #nextId = 1;
  #userId = null;
  #connectionId = null;
  #timers = { reconnect: null, ping: null, pong: null, connect: null };
  /** Channels the application wants; resubscribed after every reconnect. */
  #wanted = new Set();
  /** Channels confirmed on the current connection. */
  #active = new Set();
  /** @type {Map<string, Channel>} */ #channels = new Map();
  /** Pending requests on the current connection, by id. */
  #requests = new Map();
  /** Promises waiting for a channel's `subscribed`, across reconnects. */
  #subWaiters = new Map();
  #connectWaiters = [];
  /** Counts sockets opened; a diagnosis for an older one is ignored. */
  #generation = 0;
  #onOnline = () => this.#retryNow();

  /**
   * @param {string} [url] `ws(s)://…`, `http(s)://…` or a path such as `/ws`;
   *   default: `/ws` on the page's host, `wss:` when the page is HTTPS
   * @param {RealtimeOptions} [options]
   */
  constructor(url, options = {}) {
    super();
    this.#url = RealtimeClient.resolveUrl(url ?? '/ws');
    this.#opts = {
      reconnect: true,
      minDelay: 500,
      maxDelay: 30000,
      stableAfter: 10000,
      pingInterval: 25000,
      pongTimeout: 10000,
      connectTimeout: 10000,
      diagnose: true,
      ...options,
    };
    this.#WS = options.WebSocket ?? globalThis.WebSocket;
  }

  /**
   * Turns a path or http(s) URL into a ws(s) URL relative to the page.
   * @param {string} url
   * @returns {string}
   */
  static resolveUrl(url) {
    const base = globalThis.location?.href;
    const u = base ? new URL(url, base) : new URL(url);
    if (u.protocol === 'http:') u.protocol = 'ws:';
    else if (u.protocol === 'https:') u.protocol = 'wss:';
    return u.href;
  }

  /**
   * The http(s) URL of a ws(s) route URL, where the client asks why a
   * connect failed.
   * @param {string} url
   * @returns {string}
   */
  static #diagnosisUrl(url) {
    const u = new URL(url);
    if (u.protocol === 'ws:') u.protocol = 'http:';
    else if (u.protocol === 'wss:') u.protocol = 'https:';
    u.hash = '';
    return u.href;
  }

  /** `idle`, `connecting`, `connected`, `reconnecting` or `closed`. */
  get state() {
    return this.#state;
  }

  /** The user id the server authenticated, once connected. @returns {string|null} */
  get userId() {
    return this.#userId;
  }

  /** The server's id for the current connection. @returns {string|null} */
  get connectionId() {
    return this.#connectionId;
  }

  /**
   * Opens the connection (no-op if already open or opening). Resolves on
   * the `connected` frame; keeps retrying with backoff until then, and
   * rejects only if {@link RealtimeClient#close} is called, the server
   * closes with 4001, or the server refused the handshake with 401/403
   * (code `unauthorized` or `forbidden`, after the event of that name).
   * Also used to connect again after any of those.
   * @returns {Promise<{userId: string, connectionId: string}>}
   */
  connect() {
    if (this.#state === 'connected') {
      return Promise.resolve({ userId: this.#userId, connectionId: this.#connectionId });
    }
    const promise = new Promise((resolve, reject) => this.#connectWaiters.push({ resolve, reject }));
    if (this.#state === 'idle' || this.#state === 'closed') {
      this.#stopped = false;
      this.#attempt = 0;
      globalThis.addEventListener?.('online', this.#onOnline);
      this.#open();
    }
    return promise;
  }

  /**
   * Closes the connection for good: no reconnect. Pending promises reject
   * with code `closed`. The wanted channels are kept, so a later
   * {@link RealtimeClient#connect} resubscribes them.
   * @param {string} [reason]
   */
  close(reason = 'client closed') {
    if (this.#state === 'idle' || this.#state === 'closed') return;
    this.#stopped = true;
    this.#generation++; // a diagnosis in flight no longer matters
    const ws = this.#ws;
    this.#detach(ws);
    try {
      ws?.close(1000, reason.slice(0, 123)); // close reasons are limited to 123 bytes
    } catch { /* already closing */ }
    this.#closed(1000, reason);
  }

  /**
   * Subscribes to a channel (idempotent), now or as soon as the connection
   * is up, and again after every reconnect until {@link RealtimeClient#unsubscribe}.
   * Resolves with the `subscribed` frame (presence channels carry `users`);
   * rejects with a {@link RealtimeError} on an `error` frame (`forbidden`,
   * `invalid_channel`, `too_many_subscriptions`…), and the channel is then
   * forgotten.
   * @param {string} channel
   * @returns {Promise<{event: 'subscribed', channel: string, users?: string[]}>}
   */
  subscribe(channel) {
    if (typeof channel !== 'string' || !CHANNEL_RE.test(channel)) {
      return Promise.reject(new RealtimeError('invalid_channel',
        'channel names are 1-200 characters of A-Z a-z 0-9 _ - = @ , . ; :', String(channel)));
    }
    this.#wanted.add(channel);
    const promise = new Promise((resolve, reject) => {
      if (!this.#subWaiters.has(channel)) this.#subWaiters.set(channel, []);
      this.#subWaiters.get(channel).push({ resolve, reject });
    });
    if (this.#state === 'connected' && !this.#inFlight('subscribe', channel)) {
      this.#resubscribe(channel);
    }
    return promise;
  }

  /**
   * Unsubscribes (idempotent) and stops resubscribing after reconnects.
   * Resolves on the server's `unsubscribed` reply, or at once when not
   * connected (there is nothing to undo on the server then).
   * @param {string} channel
   * @returns {Promise<void>}
   */
  unsubscribe(channel) {
    this.#wanted.delete(channel);
    if (this.#state !== 'connected') {
      this.#rejectWaiters(channel, new RealtimeError('aborted', 'unsubscribed before the subscription completed', channel));
      return Promise.resolve();
    }
    return this.#request('unsubscribe', channel).then(() => undefined);
  }

  /**
   * The per-channel event view (created on first use, then cached).
   * @param {string} name
   * @returns {Channel}
   */
  channel(name) {
    let ch = this.#channels.get(name);
    if (!ch) {
      ch = new Channel(this, name);
      this.#channels.set(name, ch);
    }
    return ch;
  }

  /** @param {string} channel @returns {boolean} confirmed on the current connection */
  isSubscribed(channel) {
    return this.#active.has(channel);
  }

  // ---- connection lifecycle -------------------------------------------

  #open() {
    this.#clearTimer('reconnect');
    this.#generation++;
    this.#state = this.#attempt > 0 ? 'reconnecting' : 'connecting';
    let ws;
    try {
      ws = new this.#WS(this.#url);
    } catch (err) {
      // A malformed URL will never work: fail instead of looping.
      this.#stopped = true;
      this.#closed(1006, String(err?.message ?? err));
      return;
    }
    this.#ws = ws;
    ws.onmessage = (ev) => this.#onFrame(ev.data);
    ws.onclose = (ev) => {
      this.#detach(ws);
      this.#closed(ev.code, ev.reason);
    };
    ws.onerror = () => {}; // a close event always follows, with the details we can get
    // A handshake that hangs (dead network, stuck proxy) is retried.
    this.#timers.connect = setTimeout(() => this.#abandon('connect timeout'), this.#opts.connectTimeout);
  }

  /** Stops listening to a socket so its late events cannot touch the new one. */
  #detach(ws) {
    if (!ws) return;
    ws.onmessage = ws.onclose = ws.onerror = null;
    if (this.#ws === ws) this.#ws = null;
  }

  /**
   * Gives up on a socket that looks dead. Waiting for its close event could
   * take minutes (TCP timeouts), so reconnect right away and report 1006
   * (abnormal closure), as the browser would.
   */
  #abandon(reason) {
    const ws = this.#ws;
    this.#detach(ws);
    try {
      ws?.close(1000, reason);
    } catch { /* ignore */ }
    this.#closed(1006, reason);
  }

  #closed(code, reason) {
    for (const name of Object.keys(this.#timers)) this.#clearTimer(name);
    const wasConnected = this.#state === 'connected';
    // Replies to this connection's requests will never come. An
    // unsubscribe is complete anyway (the server dropped the connection's
    // subscriptions); subscribes are retried via #wanted after reconnecting.
    for (const req of this.#requests.values()) {
      if (req.action === 'unsubscribe') req.resolve({ event: 'unsubscribed', channel: req.channel });
    }
    this.#requests.clear();
    this.#active.clear();
    if (wasConnected && Date.now() - this.#openedAt >= this.#opts.stableAfter) {
      this.#attempt = 0; // it was a healthy connection: start the backoff over
    }

    const final = this.#stopped || !this.#opts.reconnect || code === CLOSE_DISCONNECTED_BY_APP;
    if (final) {
      this.#stop(code, reason, new RealtimeError('closed',
        code === CLOSE_DISCONNECTED_BY_APP ? 'disconnected by the application' : 'connection closed'));
      return;
    }
    if (wasConnected) {
      this.emit('disconnected', { code, reason, willReconnect: true });
    } else if (this.#opts.diagnose && typeof globalThis.fetch === 'function') {
      // The socket never got to `connected`: maybe the handshake was
      // refused, which the browser does not tell (it reports 1006).
      this.#diagnose();
      return;
    }
    this.#scheduleReconnect();
  }

  /** Stops for good: rejects every waiter with err, emits `disconnected`. */
  #stop(code, reason, err) {
    this.#state = 'closed';
    this.#stopped = true;
    globalThis.removeEventListener?.('online', this.#onOnline);
    for (const w of this.#connectWaiters.splice(0)) w.reject(err);
    for (const channel of [...this.#subWaiters.keys()]) this.#rejectWaiters(channel, err);
    this.emit('disconnected', { code, reason, willReconnect: false });
  }

  /**
   * Asks the route why the last connect failed: the server answers a GET
   * with `Accept: application/json` with the handshake's outcome (status
   * 200, 401, 403 or 503 and a reason). 401 and 403 will not change by
   * retrying: stop and say so. Anything else (503, a network error, a
   * server or proxy that does not answer JSON) is retried with backoff.
   */
  async #diagnose() {
    const generation = this.#generation;
    let refusal = null;
    try {
      const signal = typeof AbortSignal?.timeout === 'function'
        ? AbortSignal.timeout(this.#opts.connectTimeout) : undefined;
      const res = await globalThis.fetch(RealtimeClient.#diagnosisUrl(this.#url), {
        headers: { Accept: 'application/json' },
        credentials: 'include',
        cache: 'no-store',
        signal,
      });
      if (res.status === 401 || res.status === 403) {
        const body = await res.json();
        const reasons = res.status === 401 ? ['unauthorized'] : ['origin', 'forbidden'];
        if (body !== null && typeof body === 'object' && reasons.includes(body.reason)) {
          refusal = { status: res.status, reason: body.reason, message: String(body.message ?? '') };
        }
      }
    } catch {
      // Unreachable, timed out or not JSON: treat as an outage.
    }
    // close() or a new connect() happened meanwhile: this answer is stale.
    if (generation !== this.#generation || this.#stopped) return;
    if (refusal === null) {
      this.#scheduleReconnect();
      return;
    }
    const event = refusal.reason === 'unauthorized' ? 'unauthorized' : 'forbidden';
    this.#stop(1006, refusal.message, new RealtimeError(event, refusal.message, undefined, refusal));
    this.emit(event, refusal);
  }

  #scheduleReconnect() {
    // Exponential backoff with full jitter: a random delay in
    // [0, min(cap, base·2^attempt)), so that clients dropped together by a
    // server restart do not all come back in the same instant.
    const ceiling = Math.min(this.#opts.maxDelay, this.#opts.minDelay * 2 ** this.#attempt);
    const delay = Math.floor(Math.random() * ceiling);
    this.#attempt++;
    this.#state = 'reconnecting';
    this.emit('reconnecting', { attempt: this.#attempt, delay });
    this.#timers.reconnect = setTimeout(() => this.#open(), delay);
  }

  /** The network came back: skip the rest of the backoff wait. */
  #retryNow() {
    if (this.#timers.reconnect !== null) this.#open();
  }

  #onConnected(frame) {
    this.#clearTimer('connect');
    this.#state = 'connected';
    this.#openedAt = Date.now();
    this.#userId = String(frame.user_id ?? '');
    this.#connectionId = String(frame.connection_id ?? '');
    if (this.#opts.pingInterval > 0) {
      this.#timers.ping = setInterval(() => this.#ping(), this.#opts.pingInterval);
    }
    const info = { userId: this.#userId, connectionId: this.#connectionId };
    for (const w of this.#connectWaiters.splice(0)) w.resolve(info);
    this.emit('connected', frame);
    // The server forgets subscriptions with the connection: restore them.
    for (const channel of this.#wanted) {
      if (!this.#inFlight('subscribe', channel)) this.#resubscribe(channel);
    }
  }

  /**
   * Sends a subscribe. Its outcome reaches the subscribe() promises through
   * #subWaiters and, for errors nobody waits for, the `error` event.
   */
  #resubscribe(channel) {
    this.#request('subscribe', channel).catch(() => {});
  }

  #ping() {
    // Keeps idle proxies/load balancers from cutting the connection, and
    // detects a dead one: no pong in time means nobody is listening.
    if (this.#timers.pong !== null) return;
    if (this.#send({ action: 'ping' })) {
      this.#timers.pong = setTimeout(() => this.#abandon('pong timeout'), this.#opts.pongTimeout);
    }
  }

  // ---- frames --------------------------------------------------------------

  #onFrame(raw) {
    let frame;
    try {
      frame = JSON.parse(raw);
    } catch {
      return; // not ours to handle: the protocol only sends JSON objects
    }
    if (frame === null || typeof frame !== 'object') return;
    const req = frame.id !== undefined ? this.#requests.get(frame.id) : undefined;
    if (req) this.#requests.delete(frame.id);

    switch (frame.event) {
      case 'connected':
        this.#onConnected(frame);
        break;
      case 'pong':
        this.#clearTimer('pong');
        break;
      case 'subscribed':
        // Ignore a late confirmation for a channel unsubscribed meanwhile.
        if (this.#wanted.has(frame.channel)) this.#active.add(frame.channel);
        req?.resolve(frame);
        for (const w of this.#subWaiters.get(frame.channel) ?? []) w.resolve(frame);
        this.#subWaiters.delete(frame.channel);
        this.#dispatch('subscribed', frame);
        break;
      case 'unsubscribed':
        this.#active.delete(frame.channel);
        req?.resolve(frame);
        this.#dispatch('unsubscribed', frame);
        break;
      case 'message':
      case 'join':
      case 'leave':
        this.#dispatch(frame.event, frame);
        break;
      case 'direct':
        this.emit('direct', frame);
        break;
      case 'error':
        this.#onError(frame, req);
        break;
      default:
        // Unknown events are ignored: newer servers may add some.
    }
  }

  #onError(frame, req) {
    const channel = req?.channel ?? frame.channel;
    const err = new RealtimeError(String(frame.code ?? 'internal'), String(frame.message ?? ''), channel, frame);
    req?.reject(err);
    // Only unsubscribe() hands its request promise to the caller.
    let handled = req?.action === 'unsubscribe';
    if (channel !== undefined && (!req || req.action === 'subscribe')) {
      // A refused subscription is not retried after reconnects.
      this.#wanted.delete(channel);
      handled = this.#rejectWaiters(channel, err) || handled;
    }
    if (channel !== undefined) handled = this.#channels.get(channel)?.emit('error', err) || handled;
    if (!handled) this.emit('error', err);
  }

  /** Emits on the client, then on the frame's channel view. */
  #dispatch(event, frame) {
    this.emit(event, frame);
    this.#channels.get(frame.channel)?.emit(event, frame);
  }

  #request(action, channel) {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#requests.set(id, { action, channel, resolve, reject });
      if (!this.#send({ action, channel, id })) {
        this.#requests.delete(id);
        // Not sent: a subscribe will be retried on reconnect, an
        // unsubscribe has nothing left to undo.
        resolve({ event: action + 'd', channel });
      }
    });
  }

  #inFlight(action, channel) {
    for (const req of this.#requests.values()) {
      if (req.action === action && req.channel === channel) return true;
    }
    return false;
  }

  #rejectWaiters(channel, err) {
    const waiters = this.#subWaiters.get(channel);
    this.#subWaiters.delete(channel);
    for (const w of waiters ?? []) w.reject(err);
    return (waiters?.length ?? 0) > 0;
  }

  #send(frame) {
    const ws = this.#ws;
    if (!ws || ws.readyState !== 1 /* OPEN */) return false;
    ws.send(JSON.stringify(frame));
    return true;
  }

  #clearTimer(name) {
    const t = this.#timers[name];
    if (t === null) return;
    if (name === 'ping') clearInterval(t);
    else clearTimeout(t);
    this.#timers[name] = null;
  }
}
