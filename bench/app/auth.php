<?php

declare(strict_types=1);

// Benchmark auth endpoint, run in-process by the realtime module for every
// WebSocket handshake: the `user` cookie is the user id (200, plain text),
// no cookie → 401. As cheap as an auth endpoint gets, so the numbers show
// the cost of the in-process PHP round trip itself, not of an app's session.
$user = $_COOKIE['user'] ?? '';
if ($user === '') {
    http_response_code(401);

    return;
}
header('Content-Type: text/plain');
echo $user;
