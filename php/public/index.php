<?php

declare(strict_types=1);

/*
 * The chat page. Everything live happens in app.js over the WebSocket; this
 * page only checks the login and hands the script its CSRF token.
 */

require __DIR__ . '/../src/bootstrap.php';

use Realtime\Demo\Auth;
use Realtime\Demo\Csrf;
use Realtime\Demo\Http;

$user = Auth::user();
if ($user === null) {
    Http::redirect('/login.php', 302);
}
$csrf = Csrf::token($user);
Http::htmlHeaders();
?>
<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="csrf-token" content="<?= Http::e($csrf) ?>">
  <title>Chat · Realtime demo</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="/style.css">
  <script type="module" src="/app.js"></script>
</head>
<body data-user="<?= Http::e($user) ?>">
  <header class="bar">
    <h1>Realtime chat</h1>
    <nav class="tabs" aria-label="Protocol">
      <a href="/" aria-current="page">Native protocol</a>
      <a href="/echo.php">Laravel Echo (Pusher protocol)</a>
    </nav>
    <p id="status" class="status" role="status" data-kind="wait">Connecting…</p>
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
        <li class="system">Messages appear here as they are sent. Nothing is stored: only what arrives while you are connected.</li>
      </ol>
      <form id="composer" class="composer">
        <label for="text" class="visually-hidden">Message</label>
        <textarea id="text" name="text" rows="2" maxlength="2000" required
                  placeholder="Write a message (Enter sends, Shift+Enter for a new line)"
                  aria-describedby="send-error"></textarea>
        <button type="submit">Send</button>
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
