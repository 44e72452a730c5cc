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
// The page itself (messages, lists, composer) is chat-page.js, shared with
// the native tab.
import Echo from '/vendor/laravel-echo/echo.js';
import { $, setStatus, addSystem, addMessage, renderOnline as showOnline, bindComposer } from '/chat-page.js';

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
  showOnline(ids);
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

bindComposer('/echo-send.php', {
  // Laravel's ->toOthers(): this socket is left out, the answer has the
  // message. (Echo adds the header to axios by itself; fetch needs it.)
  headers: () => (echo.socketId() ? { 'X-Socket-ID': echo.socketId() } : {}),
  accepted: async (res) => {
    const { message } = await res.json();
    addMessage(message, 'realtime_trigger() · message.sent · ->toOthers()');
  },
});
