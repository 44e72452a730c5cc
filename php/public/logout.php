<?php

declare(strict_types=1);

/*
 * POST (with the CSRF token) clears the AUTH_TOKEN cookie. Logging out is a
 * state change, so a GET (e.g. an <img src> on another site) must not do it.
 *
 * Open WebSocket connections are not closed here: the handshake was
 * authenticated once. An app that wants them gone calls
 * disconnectUser($user) (close code 4001); the demo does so when the
 * extension is loaded, which also stops the other tabs from reconnecting.
 */

require __DIR__ . '/../src/bootstrap.php';

use Realtime\Demo\Auth;
use Realtime\Demo\Csrf;
use Realtime\Demo\Http;

if (Http::method() !== 'POST') {
    header('Allow: POST');
    Http::text(405, "Method Not Allowed\n");
}

$user = Auth::user();
if ($user !== null) {
    if (!Csrf::check($user)) {
        Http::text(403, "Invalid CSRF token. Go back, reload the page and try again.\n");
    }
    Auth::logOut();
    if (function_exists('disconnectUser')) {
        try {
            disconnectUser($user);
        } catch (\Throwable $e) {
            // Logging out must not fail because the realtime hub is down.
            error_log('logout: disconnectUser failed: ' . $e->getMessage());
        }
    }
}
Csrf::rotate('');
Http::redirect('/login.php');
