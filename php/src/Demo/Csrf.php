<?php

declare(strict_types=1);

namespace Realtime\Demo;

/**
 * Stateless CSRF protection: the "signed double-submit cookie" pattern.
 *
 * The `csrf` cookie (SameSite=Strict) holds a token; every state-changing
 * request must echo the same token in the `X-CSRF-Token` header or the `csrf`
 * form field. A cross-site attacker can neither read the cookie nor make the
 * browser send it. The token is also an HMAC over the user id, so a cookie
 * planted by a sibling subdomain (or one from another account) is useless.
 */
final class Csrf
{
    public const COOKIE = 'csrf';
    public const FIELD = 'csrf';

    /**
     * The token to embed in the page for this subject (user id, "" when
     * logged out). Reuses the cookie when it is valid, otherwise issues one.
     * Call before any output: it may send a Set-Cookie header.
     */
    public static function token(string $subject): string
    {
        $current = $_COOKIE[self::COOKIE] ?? null;
        if (is_string($current) && self::valid($current, $subject)) {
            return $current;
        }
        return self::rotate($subject);
    }

    /** Issues a fresh token: on login and logout, the subject changes. */
    public static function rotate(string $subject): string
    {
        $nonce = Base64Url::encode(random_bytes(18));
        $token = $nonce . '.' . self::mac($nonce, $subject);
        // HttpOnly: pages get the token from the server-rendered HTML, not
        // from document.cookie, so scripts never need to read the cookie.
        Http::setCookie(self::COOKIE, $token, 0);
        return $token;
    }

    /** True when the request carries the cookie's token and it is valid for $subject. */
    public static function check(string $subject): bool
    {
        $cookie = $_COOKIE[self::COOKIE] ?? null;
        $sent = $_SERVER['HTTP_X_CSRF_TOKEN'] ?? $_POST[self::FIELD] ?? null;
        return is_string($cookie) && is_string($sent)
            && hash_equals($cookie, $sent)
            && self::valid($cookie, $subject);
    }

    private static function valid(string $token, string $subject): bool
    {
        $parts = explode('.', $token);
        return count($parts) === 2 && hash_equals(self::mac($parts[0], $subject), $parts[1]);
    }

    private static function mac(string $nonce, string $subject): string
    {
        return Base64Url::encode(hash_hmac('sha256', $nonce . '|' . $subject, Secret::key('csrf'), true));
    }
}
