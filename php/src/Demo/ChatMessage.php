<?php

declare(strict_types=1);

namespace Realtime\Demo;

/**
 * A chat message as both tabs publish it on channel `chat`:
 * {"user","text","at"}. send.php (native tab, broadcast()) and
 * echo-send.php (Echo tab, realtime_trigger()) accept the same input.
 */
final class ChatMessage
{
    public const CHANNEL = 'chat';
    public const MAX_CHARS = 2000;

    /**
     * The request's `text` field, normalised; or a 400 JSON answer saying
     * what is wrong with it.
     */
    public static function textFromRequest(): string
    {
        $text = $_POST['text'] ?? null;
        if (!is_string($text) || preg_match('//u', $text) !== 1) {
            Http::json(400, ['error' => 'invalid_message', 'message' => 'The message must be UTF-8 text.']);
        }
        // Normalise line endings and drop control characters other than
        // newline/tab, so every client renders the same thing.
        $text = trim(preg_replace(['/\r\n?/', '/[^\P{Cc}\n\t]/u'], ["\n", ''], $text) ?? '');
        if ($text === '') {
            Http::json(400, ['error' => 'invalid_message', 'message' => 'The message is empty.']);
        }
        // Count characters, not bytes, without depending on mbstring.
        if (preg_match_all('/./su', $text) > self::MAX_CHARS) {
            Http::json(400, ['error' => 'invalid_message', 'message' => 'The message is longer than ' . self::MAX_CHARS . ' characters.']);
        }

        return $text;
    }

    /** @return array{user: string, text: string, at: int} */
    public static function make(string $user, string $text): array
    {
        return ['user' => $user, 'text' => $text, 'at' => time()];
    }

    /** @param array{user: string, text: string, at: int} $message */
    public static function encode(array $message): string
    {
        return json_encode($message, JSON_THROW_ON_ERROR | JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES);
    }
}
