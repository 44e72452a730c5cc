<?php

declare(strict_types=1);

/*
 * GET: the login form. POST: issue a signed JWT in the AUTH_TOKEN cookie and
 * go to the chat. No password: this demo is about the realtime transport.
 */

require __DIR__ . '/../src/bootstrap.php';

use Realtime\Demo\Auth;
use Realtime\Demo\Csrf;
use Realtime\Demo\Http;

$current = Auth::user();
$error = null;
$name = '';
// app.js comes here with ?expired=1 when the WebSocket handshake was
// refused with 401 (the auth endpoint no longer knows this browser).
$notice = Http::method() === 'GET' && ($_GET['expired'] ?? null) === '1'
    ? 'Your session expired, please sign in again.'
    : null;

if (Http::method() === 'POST') {
    $name = is_string($_POST['username'] ?? null) ? $_POST['username'] : '';
    $userId = Auth::sanitize($name);
    if (!Csrf::check($current ?? '')) {
        http_response_code(403);
        $error = 'Your form expired. Please try again.';
    } elseif ($userId === '') {
        http_response_code(422);
        $error = 'Please use at least one letter or digit (allowed: A–Z, a–z, 0–9, ".", "_", "-").';
    } else {
        Auth::logIn($userId);
        Csrf::rotate($userId); // the old token was bound to the previous identity
        Http::redirect('/');
    }
} elseif (Http::method() !== 'GET' && Http::method() !== 'HEAD') {
    header('Allow: GET, HEAD, POST');
    Http::text(405, "Method Not Allowed\n");
} elseif ($current !== null) {
    Http::redirect('/', 302);
}

$csrf = Csrf::token($current ?? '');
Http::htmlHeaders();
?>
<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Sign in · Realtime demo</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="/style.css">
</head>
<body class="login">
  <main class="card">
    <h1>Realtime demo</h1>
    <p>Pick a name to join the chat. There is no password: anyone can use any name.</p>
    <?php if ($notice !== null && $error === null): ?>
      <p class="notice" role="status" id="login-notice"><?= Http::e($notice) ?></p>
    <?php endif ?>
    <?php if ($error !== null): ?>
      <p class="error" role="alert" id="login-error"><?= Http::e($error) ?></p>
    <?php endif ?>
    <form method="post" action="/login.php">
      <input type="hidden" name="csrf" value="<?= Http::e($csrf) ?>">
      <label for="username">Name</label>
      <input id="username" name="username" required maxlength="64" autocomplete="username" autofocus
             pattern=".*[A-Za-z0-9].*" title="At least one letter or digit"
             aria-describedby="username-hint<?= $error !== null ? ' login-error' : '' ?>"
             value="<?= Http::e($name) ?>"<?= $error !== null ? ' aria-invalid="true"' : '' ?>>
      <small id="username-hint" class="note">Letters A–Z, digits, “.”, “_” and “-”; spaces become “_”.</small>
      <button type="submit">Sign in</button>
    </form>
  </main>
</body>
</html>
