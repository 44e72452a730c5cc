<?php

declare(strict_types=1);

/*
 * The Echo tab's send: POST text=<message> with the X-CSRF-Token header and
 * Echo's X-Socket-ID. Publishes the same {"user","text","at"} as send.php on
 * channel `chat`, but as a named event through realtime_trigger() (SPEC §5),
 * which is what Laravel's broadcasters publish:
 *
 *   Echo tabs        event `message.sent`  (Echo: .listen('.message.sent'))
 *   native tabs      a `message` frame with "name": "message.sent"
 *
 * The socket in X-Socket-ID is left out (Laravel's ->toOthers()): the
 * sending tab shows the message from this answer, 202 {"message": {...}}.
 */

require __DIR__ . '/../src/bootstrap.php';

use Realtime\Demo\Auth;
use Realtime\Demo\ChatMessage;
use Realtime\Demo\Http;

const EVENT = 'message.sent';

$user = Auth::userOfPost();

$text = ChatMessage::textFromRequest();

// Pusher socket ids are digits.digits; anything else is ignored (nobody is
// left out) rather than refused, as Laravel does with a bad header.
$socket = $_SERVER['HTTP_X_SOCKET_ID'] ?? null;
$except = is_string($socket) && preg_match('/\A\d+\.\d+\z/', $socket) === 1 ? $socket : null;

if (!function_exists('realtime_trigger')) {
    Http::json(503, ['error' => 'unavailable', 'message' => 'The realtime extension is not loaded (run this app with the realtime FrankenPHP binary).']);
}

$message = ChatMessage::make($user, $text);
try {
    realtime_trigger(ChatMessage::CHANNEL, EVENT, ChatMessage::encode($message), $except);
} catch (\ValueError $e) {
    Http::json(400, ['error' => 'invalid_message', 'message' => $e->getMessage()]);
} catch (\RuntimeException $e) {
    Http::json(503, ['error' => 'unavailable', 'message' => $e->getMessage()]);
}

Http::json(202, ['status' => 'accepted', 'event' => EVENT, 'message' => $message]);
