// What both demo tabs share: the chat page's DOM (status line, message
// list, online list, composer). app.js (native protocol) and echo-app.js
// (Laravel Echo on the Pusher protocol) only differ in how they connect,
// subscribe and send. All text goes in through textContent, never
// innerHTML, so messages cannot inject markup.

export const me = document.body.dataset.user;
export const csrf = document.querySelector('meta[name="csrf-token"]').content;
export const $ = (id) => document.getElementById(id);
const MAX_SHOWN = 200; // keep the DOM small on a busy channel

export function setStatus(text, kind) {
  $('status').textContent = text;
  $('status').dataset.kind = kind;
}

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

export function addSystem(text) {
  const li = document.createElement('li');
  li.className = 'system';
  li.textContent = text;
  append(li);
}

/** Shows a chat message {user, text, at}; via says how it travelled. */
export function addMessage(message, via) {
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

/** Replaces the online list with these user ids. */
export function renderOnline(ids) {
  const list = $('online');
  list.classList.remove('stale');
  list.replaceChildren(...[...ids].sort().map((user) => {
    const li = document.createElement('li');
    li.textContent = user === me ? `${user} (you)` : user;
    return li;
  }));
  $('online-count').textContent = `(${ids.length ?? ids.size})`;
}

function showSendError(text) {
  $('send-error').textContent = text;
  $('send-error').hidden = !text;
  $('text').setAttribute('aria-invalid', text ? 'true' : 'false');
}

/**
 * Posts the composer's text to url (form field `text`, the CSRF header and
 * headers() added); a 202 clears it and goes to accepted(response), a 401
 * to the login page, anything else shows the answer's message.
 */
export function bindComposer(url, { headers = () => ({}), accepted = async () => {} } = {}) {
  $('composer').addEventListener('submit', async (event) => {
    event.preventDefault();
    const textarea = $('text');
    const button = event.target.querySelector('button');
    const text = textarea.value.trim();
    if (!text) return;
    button.disabled = true;
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'X-CSRF-Token': csrf, ...headers() },
        body: new URLSearchParams({ text }),
        credentials: 'same-origin',
      });
      if (res.status === 202) {
        await accepted(res);
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
}
