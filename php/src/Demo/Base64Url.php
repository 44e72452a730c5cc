<?php

declare(strict_types=1);

namespace Realtime\Demo;

/** URL-safe base64 without padding (RFC 7515 §2), as JWTs use it. */
final class Base64Url
{
    public static function encode(string $bytes): string
    {
        return rtrim(strtr(base64_encode($bytes), '+/', '-_'), '=');
    }

    /** Returns null for anything that is not canonical unpadded base64url. */
    public static function decode(string $text): ?string
    {
        // Reject padding, whitespace and the standard alphabet up front:
        // base64_decode() in strict mode would still accept some of them.
        if (preg_match('/\A[A-Za-z0-9_-]*\z/', $text) !== 1 || strlen($text) % 4 === 1) {
            return null;
        }
        $bytes = base64_decode(strtr($text, '-_', '+/'), true);
        if ($bytes === false || self::encode($bytes) !== $text) {
            return null; // non-canonical trailing bits: one token, one spelling
        }
        return $bytes;
    }
}
