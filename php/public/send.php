<?php

declare(strict_types=1);

/*
 * POST text=<message> with the X-CSRF-Token header (or a `csrf` field).
 * Publishes {"user","text","at"} on channel `chat` through the native
 * broadcast() function: same process, no HTTP hop to the WebSocket server.
 * Replies 202 JSON: accepted for delivery, which is at-most-once.
 */

require __DIR__ . '/../src/bootstrap.php';

use Realtime\Demo\Auth;
use Realtime\Demo\Csrf;
use Realtime\Demo\Http;

const MAX_CHARS = 2000;

if (Http::method() !== 'POST') {
    Http::json(405, ['error' => 'method_not_allowed', 'message' => 'Use POST.'], ['Allow: POST']);
}

$user = Auth::user();
if ($user === null) {
    Http::json(401, ['error' => 'unauthenticated', 'message' => 'Please sign in again.']);
}
if (!Csrf::check($user)) {
    Http::json(403, ['error' => 'csrf', 'message' => 'Invalid CSRF token; reload the page.']);
}

$text = $_POST['text'] ?? null;
if (!is_string($text) || preg_match('//u', $text) !== 1) {
    Http::json(400, ['error' => 'invalid_message', 'message' => 'The message must be UTF-8 text.']);
}
// Normalise line endings and drop control characters other than newline/tab,
// so every client renders the same thing.
$text = trim(preg_replace(['/\r\n?/', '/[^\P{Cc}\n\t]/u'], ["\n", ''], $text) ?? '');
if ($text === '') {
    Http::json(400, ['error' => 'invalid_message', 'message' => 'The message is empty.']);
}
// Count characters, not bytes, without depending on mbstring.
if (preg_match_all('/./su', $text) > MAX_CHARS) {
    Http::json(400, ['error' => 'invalid_message', 'message' => 'The message is longer than ' . MAX_CHARS . ' characters.']);
}

if (!function_exists('broadcast')) {
    Http::json(503, ['error' => 'unavailable', 'message' => 'The realtime extension is not loaded (run this app with the realtime FrankenPHP binary).']);
}

try {
    broadcast('chat', json_encode(
        ['user' => $user, 'text' => $text, 'at' => time()],
        JSON_THROW_ON_ERROR | JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES,
    ));
} catch (\ValueError $e) {
    // Bad input as judged by the hub, e.g. over max_message_size.
    Http::json(400, ['error' => 'invalid_message', 'message' => $e->getMessage()]);
} catch (\RuntimeException $e) {
    // The broker could not take the message (no hub, Valkey down...).
    Http::json(503, ['error' => 'unavailable', 'message' => $e->getMessage()]);
}

Http::json(202, ['status' => 'accepted']);
