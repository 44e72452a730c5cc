<?php

declare(strict_types=1);

/*
 * POST text=<message> with the X-CSRF-Token header (or a `csrf` field).
 * Publishes {"user","text","at"} on channel `chat` through the native
 * broadcast() function: same process, no HTTP hop to the WebSocket server.
 * Echo tabs receive it as event `message` (echo-send.php is their side).
 * Replies 202 JSON: accepted for delivery, which is at-most-once.
 */

require __DIR__ . '/../src/bootstrap.php';

use Realtime\Demo\Auth;
use Realtime\Demo\ChatMessage;
use Realtime\Demo\Http;

$user = Auth::userOfPost();

$text = ChatMessage::textFromRequest();

if (!function_exists('broadcast')) {
    Http::json(503, ['error' => 'unavailable', 'message' => 'The realtime extension is not loaded (run this app with the realtime FrankenPHP binary).']);
}

try {
    broadcast(ChatMessage::CHANNEL, ChatMessage::encode(ChatMessage::make($user, $text)));
} catch (\ValueError $e) {
    // Bad input as judged by the hub, e.g. over max_message_size.
    Http::json(400, ['error' => 'invalid_message', 'message' => $e->getMessage()]);
} catch (\RuntimeException $e) {
    // The broker could not take the message (no hub, Valkey down...).
    Http::json(503, ['error' => 'unavailable', 'message' => $e->getMessage()]);
}

Http::json(202, ['status' => 'accepted']);
