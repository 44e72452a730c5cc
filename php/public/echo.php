<?php

declare(strict_types=1);

/*
 * The demo's second tab: the same chat and online list, through Laravel
 * Echo (broadcaster 'pusher') and pusher-js over the Pusher protocol of the
 * same server, as a Laravel app's resources/js/echo.js would use it.
 * echo-app.js does the work; this page checks the login and hands it the
 * app key (public, like VITE_PUSHER_APP_KEY) and the CSRF token (Echo
 * sends it to /broadcasting/auth).
 */

require __DIR__ . '/../src/bootstrap.php';

use Realtime\Demo\Auth;
use Realtime\Demo\Csrf;
use Realtime\Demo\Http;
use Realtime\Demo\PusherApp;

$user = Auth::user();
if ($user === null) {
    Http::redirect('/login.php', 302);
}
$csrf = Csrf::token($user);
$app = PusherApp::load();
Http::htmlHeaders();
?>
<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="csrf-token" content="<?= Http::e($csrf) ?>">
  <title>Chat through Laravel Echo · Realtime demo</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="/style.css">
<?php if ($app !== null): ?>
  <!-- From node_modules (npm ci by make run), through two exact routes of php/Caddyfile. -->
  <script src="/vendor/pusher-js/pusher.min.js" defer></script>
  <script type="module" src="/echo-app.js"></script>
<?php endif ?>
</head>
<body data-user="<?= Http::e($user) ?>" data-pusher-key="<?= Http::e($app?->key ?? '') ?>">
  <header class="bar">
    <h1>Realtime chat</h1>
    <nav class="tabs" aria-label="Protocol">
      <a href="/">Native protocol</a>
      <a href="/echo.php" aria-current="page">Laravel Echo (Pusher protocol)</a>
    </nav>
    <p id="status" class="status" role="status" data-kind="wait"><?= $app === null ? 'Not configured' : 'Connecting…' ?></p>
    <form class="me" method="post" action="/logout.php">
      <span>Signed in as <strong><?= Http::e($user) ?></strong></span>
      <input type="hidden" name="csrf" value="<?= Http::e($csrf) ?>">
      <button type="submit" class="link">Sign out</button>
    </form>
  </header>

  <main class="layout">
    <section class="chat" aria-labelledby="chat-title">
      <h2 id="chat-title" class="visually-hidden">Messages</h2>
      <ol id="messages" class="messages" aria-live="polite" aria-relevant="additions">
<?php if ($app === null): ?>
        <li class="system" id="not-configured">This tab needs the demo's Pusher app, which <code>make run</code> generates into php/var/pusher-app.caddy (php/Caddyfile imports it). Run the demo with <code>make run</code>, or see README.md.</li>
<?php else: ?>
        <li class="system">The same chat as the native tab, through Laravel Echo and pusher-js on the Pusher protocol (/app/<?= Http::e($app->key) ?>). Messages from the native tab arrive as event <code>message</code> (PHP's broadcast()); this tab sends through realtime_trigger() as <code>message.sent</code>.</li>
<?php endif ?>
      </ol>
      <form id="composer" class="composer">
        <label for="text" class="visually-hidden">Message</label>
        <textarea id="text" name="text" rows="2" maxlength="2000" required
                  placeholder="Write a message (Enter sends, Shift+Enter for a new line)"
                  aria-describedby="send-error"<?= $app === null ? ' disabled' : '' ?>></textarea>
        <button type="submit"<?= $app === null ? ' disabled' : '' ?>>Send</button>
        <p id="send-error" class="error" role="alert" hidden></p>
      </form>
    </section>

    <aside class="presence" aria-labelledby="online-title">
      <h2 id="online-title">Online <span id="online-count" class="count"></span></h2>
      <ul id="online" class="online"></ul>
      <p id="presence-note" class="note" hidden></p>
    </aside>
  </main>
</body>
</html>
