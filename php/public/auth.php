<?php

declare(strict_types=1);

/*
 * Called by the `realtime` handler during every WebSocket handshake (in
 * process, GET, with the browser's Cookie header forwarded). 200 with the
 * user id as text/plain lets the upgrade happen; 401 refuses it.
 */

require __DIR__ . '/../src/bootstrap.php';

use Realtime\Demo\Auth;
use Realtime\Demo\Http;

$user = Auth::user();
if ($user === null) {
    header('WWW-Authenticate: Cookie realm="realtime-demo"');
    Http::text(401, "unauthenticated\n");
}
Http::text(200, $user);
