<?php

declare(strict_types=1);

/*
 * POST /broadcasting/auth (php/Caddyfile rewrites Laravel's path to this
 * file): what Laravel's route answers for Echo. pusher-js posts
 * socket_id=<id>&channel_name=<channel>, Echo adds X-CSRF-TOKEN from the
 * page's <meta name="csrf-token">; the browser sends the login cookie.
 *
 * The answer is signed with the demo's Pusher app secret (HMAC-SHA256,
 * Realtime\Laravel\PusherSignatures, what the package's Laravel
 * broadcaster uses too) and the server checks it on subscribe:
 *
 *   private-user.<me>   {"auth": "<key>:<hex hmac of socket_id:channel>"}
 *   presence-lobby      {"auth": "<key>:<hex hmac of socket_id:channel:channel_data>",
 *                        "channel_data": "{\"user_id\":\"<me>\",\"user_info\":{\"name\":\"<me>\"}}"}
 *
 * Who may join what is Channels::allows(), the policy authorize.php applies
 * to native connections. Refusals are 403 (pusher-js then fails the
 * subscription and Echo's .error() fires), bad input 400.
 */

require __DIR__ . '/../../src/bootstrap.php';

use Realtime\Demo\Auth;
use Realtime\Demo\Channels;
use Realtime\Demo\Http;
use Realtime\Demo\PusherApp;

// 403, not 401, for a signed-out user: what Laravel answers pusher-js.
$user = Auth::userOfPost(403);

$app = PusherApp::load();
if ($app === null) {
    Http::json(503, ['error' => 'unavailable', 'message' => 'The demo has no Pusher app: `make run` generates php/var/pusher-app.caddy.']);
}

$socketId = $_POST['socket_id'] ?? null;
$channel = $_POST['channel_name'] ?? null;
if (!is_string($socketId) || !is_string($channel)) {
    Http::json(400, ['error' => 'invalid_request', 'message' => 'socket_id and channel_name are required.']);
}
if (!Channels::allows($user, $channel)) {
    Http::json(403, ['error' => 'forbidden', 'message' => "You may not subscribe to $channel."]);
}

try {
    $answer = str_starts_with($channel, 'presence-')
        ? $app->signatures->authorizePresenceChannel($channel, $socketId, $user, ['name' => $user])
        : $app->signatures->authorizeChannel($channel, $socketId);
} catch (\InvalidArgumentException $e) {
    // A socket id that is not digits.digits.
    Http::json(400, ['error' => 'invalid_request', 'message' => $e->getMessage()]);
}

Http::json(200, $answer);
