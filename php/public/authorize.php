<?php

declare(strict_types=1);

/*
 * Called by the `realtime` handler when a connection subscribes to a
 * private-* or presence-* channel: POST with form fields `channel` and
 * `user_id`, plus the cookies captured at connect. Only a 2xx JSON
 * {"allow": true} allows: anything else (a page, a missing script's
 * fallback, {"allow": false}) refuses.
 *
 * Policy of the demo (Channels::allows(), which broadcasting/auth.php
 * applies to Echo too):
 *   presence-lobby       every signed-in user
 *   private-user.<id>    only user <id> (e.g. for broadcastToUser-like feeds)
 */

require __DIR__ . '/../src/bootstrap.php';

use Realtime\Demo\Auth;
use Realtime\Demo\Channels;
use Realtime\Demo\Http;

// Only the realtime module's own in-process call may ask (a per-process
// token no outside request can carry): to anyone else this is not a page.
if (!realtime_is_internal_request()) {
    Http::text(404, "Not Found\n");
}

if (Http::method() !== 'POST') {
    header('Allow: POST');
    Http::text(405, "Method Not Allowed\n");
}

$channel = $_POST['channel'] ?? null;
$userId = $_POST['user_id'] ?? null;
$cookieUser = Auth::user();

// The cookie must still be valid and belong to the connection's user: a
// token that expired since the handshake cannot join new channels.
if ($cookieUser === null || !is_string($userId) || !hash_equals($cookieUser, $userId)) {
    Http::json(403, ['allow' => false]);
}

$allowed = is_string($channel) && Channels::allows($cookieUser, $channel);

Http::json($allowed ? 200 : 403, ['allow' => $allowed]);
