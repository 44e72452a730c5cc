// The chat page's script on the native protocol: the `chat` channel for
// messages, `presence-lobby` for the online list, send.php for posting.
// The page itself (messages, lists, composer) is chat-page.js.
import { RealtimeClient, CLOSE_DISCONNECTED_BY_APP } from '/ws?client';
import { $, me, setStatus, addSystem, addMessage, renderOnline as showOnline, bindComposer } from '/chat-page.js';

const rt = new RealtimeClient(); // ws(s)://<this host>/ws
window.realtime = rt; // handy from the devtools console

// ---- connection status --------------------------------------------------

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
  showOnline(online);
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

bindComposer('/send.php');

rt.connect().catch(() => { /* the 'disconnected', 'unauthorized' or 'forbidden' handler took it */ });
