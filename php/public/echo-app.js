// The Echo tab's script: the demo chat through Laravel Echo (broadcaster
// 'pusher') and pusher-js, over the Pusher protocol of the same server.
// The setup is Laravel's resources/js/echo.js with the host, port and
// scheme of this page (the server is the site itself: no separate daemon).
//
//   chat            public channel: .message (PHP's broadcast(), the native
//                   tab) and .message.sent (realtime_trigger(), this tab)
//   presence-lobby  Echo.join('lobby'): the online list, shared with the
//                   native tab (one presence for both protocols)
//
// pusher-js is a classic script (window.Pusher); Echo is its ES module
// build. Both come from node_modules through php/Caddyfile.
import Echo from '/vendor/laravel-echo/echo.js';

const me = document.body.dataset.user;
const csrf = document.querySelector('meta[name="csrf-token"]').content;
const $ = (id) => document.getElementById(id);
const MAX_SHOWN = 200;

const secure = location.protocol === 'https:';
const port = Number(location.port) || (secure ? 443 : 80);
const echo = new Echo({
  broadcaster: 'pusher',
  Pusher: window.Pusher,
  key: document.body.dataset.pusherKey,
  cluster: 'mt1', // pusher-js wants one; unused with wsHost
  wsHost: location.hostname,
  wsPort: port,
  wssPort: port,
  forceTLS: secure,
  enabledTransports: ['ws', 'wss'],
  // authEndpoint: '/broadcasting/auth' (Echo's default); the CSRF token
  // comes from <meta name="csrf-token">, the login from the cookie.
});
window.Echo = echo; // as in a Laravel app; handy from the devtools console

// ---- connection status --------------------------------------------------

function setStatus(text, kind) {
  $('status').textContent = text;
  $('status').dataset.kind = kind;
}

const pusher = echo.connector.pusher;
let hadConnection = false;
pusher.connection.bind('state_change', ({ current }) => {
  switch (current) {
    case 'connected':
      setStatus('Connected', 'ok');
      $('status').title = `Pusher protocol, socket ${echo.socketId()}`;
      if (hadConnection) addSystem('Reconnected. Messages sent while you were offline are not shown.');
      hadConnection = true;
      break;
    case 'connecting':
      setStatus('Connecting…', 'wait');
      break;
    case 'unavailable':
      $('online').classList.add('stale');
      setStatus('Offline, retrying…', 'wait');
      break;
    default: // disconnected (e.g. signed out in another tab: close 4009), failed
      $('online').classList.add('stale');
      setStatus(current === 'failed' ? 'WebSockets are not available.' : 'Disconnected. Reload the page to reconnect.', 'error');
  }
});
pusher.connection.bind('error', (err) => console.warn('pusher:', err?.error?.data ?? err));

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

function addMessage(message, via) {
  const { user, text, at } = message ?? {};
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

// A leading dot: the event name as published, without Echo's App\Events
// namespace. pusher-js has already parsed the JSON data.
echo.channel('chat')
  .listen('.message', (m) => addMessage(m, 'broadcast()'))
  .listen('.message.sent', (m) => addMessage(m, 'realtime_trigger() · message.sent'));

// ---- presence -----------------------------------------------------------
// Echo's here/joining/leaving hand over user_info, which native-protocol
// members do not have (they join through authorize.php, not with
// channel_data): the list is rebuilt from pusher-js's members, by id.

const lobby = echo.join('lobby');

function renderOnline() {
  const ids = [];
  lobby.subscription.members.each((member) => ids.push(String(member.id)));
  const list = $('online');
  list.classList.remove('stale');
  list.replaceChildren(...ids.sort().map((user) => {
    const li = document.createElement('li');
    li.textContent = user === me ? `${user} (you)` : user;
    return li;
  }));
  $('online-count').textContent = `(${ids.length})`;
  $('presence-note').hidden = true;
}

lobby
  .here(renderOnline)
  .joining(renderOnline)
  .leaving(renderOnline)
  .error((err) => {
    $('presence-note').textContent = `Online list unavailable (/broadcasting/auth answered ${err?.status ?? 'an error'}).`;
    $('presence-note').hidden = false;
  });

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
    const headers = { 'X-CSRF-Token': csrf };
    // Laravel's ->toOthers(): this socket is left out, the answer has the
    // message. (Echo adds the header to axios by itself; fetch needs it.)
    if (echo.socketId()) headers['X-Socket-ID'] = echo.socketId();
    const res = await fetch('/echo-send.php', {
      method: 'POST',
      headers,
      body: new URLSearchParams({ text }),
      credentials: 'same-origin',
    });
    if (res.status === 202) {
      const { message } = await res.json();
      addMessage(message, 'realtime_trigger() · message.sent · ->toOthers()');
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
