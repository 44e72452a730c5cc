// The chat page's script: the `chat` channel for messages, `presence-lobby`
// for the online list, send.php for posting. All text goes in through
// textContent, never innerHTML, so messages cannot inject markup.
import { RealtimeClient, CLOSE_DISCONNECTED_BY_APP } from '/ws?client';

const me = document.body.dataset.user;
const csrf = document.querySelector('meta[name="csrf-token"]').content;
const $ = (id) => document.getElementById(id);
const MAX_SHOWN = 200; // keep the DOM small on a busy channel

const rt = new RealtimeClient(); // ws(s)://<this host>/ws
window.realtime = rt; // handy from the devtools console

// ---- connection status --------------------------------------------------

function setStatus(text, kind) {
  $('status').textContent = text;
  $('status').dataset.kind = kind;
}

let hadConnection = false;
rt.on('connected', () => {
  setStatus('Connected', 'ok');
  if (hadConnection) addSystem('Reconnected. Messages sent while you were offline are not shown.');
  hadConnection = true;
});
rt.on('reconnecting', ({ delay }) => {
  setStatus(`Offline, retrying in ${Math.max(1, Math.round(delay / 1000))} s…`, 'wait');
});
rt.on('disconnected', ({ code, willReconnect }) => {
  $('online').classList.add('stale');
  if (willReconnect) return;
  setStatus(code === CLOSE_DISCONNECTED_BY_APP
    ? 'Disconnected by the server (signed out?). Reload the page to reconnect.'
    : 'Disconnected.', 'error');
});
rt.on('error', (err) => console.warn('realtime:', err.code, err.message));
// The server refused the handshake with 401: the auth endpoint no longer
// knows this browser (the session expired, or it signed out in another
// tab). Retrying cannot help: send the user to the login page.
rt.on('unauthorized', () => location.assign('/login.php?expired=1'));
// 403: this page's origin is not allowed (allowed_origins), or the auth
// endpoint refused the user. Also final: say so instead of spinning.
rt.on('forbidden', ({ reason, message }) => {
  setStatus(reason === 'origin'
    ? "This page's address is not allowed to connect (allowed_origins)."
    : `Connection refused: ${message}`, 'error');
});

// ---- messages -----------------------------------------------------------

function scrolledToBottom(list) {
  return list.scrollHeight - list.scrollTop - list.clientHeight < 40;
}

function append(li) {
  const list = $('messages');
  const stick = scrolledToBottom(list);
  list.append(li);
  while (list.children.length > MAX_SHOWN) list.firstElementChild.remove();
  if (stick) list.scrollTop = list.scrollHeight;
}

function addSystem(text) {
  const li = document.createElement('li');
  li.className = 'system';
  li.textContent = text;
  append(li);
}

function addMessage({ user, text, at }, via) {
  if (typeof user !== 'string' || typeof text !== 'string') return;
  const li = document.createElement('li');
  if (user === me) li.className = 'mine';
  const meta = document.createElement('div');
  meta.className = 'meta';
  const who = document.createElement('strong');
  who.textContent = user;
  const when = document.createElement('time');
  const date = new Date((Number(at) || Date.now() / 1000) * 1000);
  when.dateTime = date.toISOString();
  when.textContent = date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  const how = document.createElement('small');
  how.className = 'via';
  how.textContent = via;
  meta.append(who, ' ', when, ' ', how);
  const body = document.createElement('p');
  body.textContent = text;
  li.append(meta, body);
  append(li);
}

// broadcast() (send.php) arrives as a plain message; realtime_trigger()
// (the Echo tab's echo-send.php) as a message with the event's name.
rt.channel('chat').on('message', (frame) => {
  try {
    addMessage(JSON.parse(frame.data), frame.name ? `realtime_trigger() · ${frame.name}` : 'broadcast()');
  } catch {
    // Another publisher on `chat` may send non-JSON: ignore it.
  }
});
rt.subscribe('chat').catch((err) => setStatus(`Cannot join the chat: ${err.message}`, 'error'));

// ---- presence -----------------------------------------------------------
// The online list is a bonus: if the server refuses or does not support
// presence-lobby, the chat keeps working and the list says why.

let online = new Set();

function renderOnline() {
  const list = $('online');
  list.classList.remove('stale');
  list.replaceChildren(...[...online].sort().map((user) => {
    const li = document.createElement('li');
    li.textContent = user === me ? `${user} (you)` : user;
    return li;
  }));
  $('online-count').textContent = `(${online.size})`;
}

function presenceUnavailable(why) {
  online = new Set([me]);
  renderOnline();
  $('presence-note').textContent = why;
  $('presence-note').hidden = false;
}

const lobby = rt.channel('presence-lobby');
lobby.on('subscribed', (frame) => {
  // Sent again after every reconnect: a fresh, complete list.
  if (!Array.isArray(frame.users)) {
    presenceUnavailable('This server does not report who is online.');
    return;
  }
  online = new Set(frame.users.map(String));
  online.add(me);
  $('presence-note').hidden = true;
  renderOnline();
});
lobby.on('join', ({ user_id }) => { online.add(String(user_id)); renderOnline(); });
lobby.on('leave', ({ user_id }) => { online.delete(String(user_id)); renderOnline(); });
lobby.on('error', (err) => presenceUnavailable(`Online list unavailable (${err.code}).`));
rt.subscribe('presence-lobby').catch(() => { /* shown by the 'error' handler above */ });

// ---- sending ------------------------------------------------------------

function showSendError(text) {
  $('send-error').textContent = text;
  $('send-error').hidden = !text;
  $('text').setAttribute('aria-invalid', text ? 'true' : 'false');
}

$('composer').addEventListener('submit', async (event) => {
  event.preventDefault();
  const textarea = $('text');
  const button = event.target.querySelector('button');
  const text = textarea.value.trim();
  if (!text) return;
  button.disabled = true;
  try {
    const res = await fetch('/send.php', {
      method: 'POST',
      headers: { 'X-CSRF-Token': csrf },
      body: new URLSearchParams({ text }),
      credentials: 'same-origin',
    });
    if (res.status === 202) {
      textarea.value = '';
      showSendError('');
    } else if (res.status === 401) {
      location.assign('/login.php?expired=1');
    } else {
      const body = await res.json().catch(() => ({}));
      showSendError(body.message || `Not sent (HTTP ${res.status}).`);
    }
  } catch {
    showSendError('Network error: the message was not sent.');
  } finally {
    button.disabled = false;
    textarea.focus();
  }
});

$('text').addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    $('composer').requestSubmit();
  }
});

rt.connect().catch(() => { /* the 'disconnected', 'unauthorized' or 'forbidden' handler took it */ });
