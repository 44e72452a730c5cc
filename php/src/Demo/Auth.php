<?php

declare(strict_types=1);

namespace Realtime\Demo;

/**
 * The demo's login: a signed HS256 JWT in an HttpOnly AUTH_TOKEN cookie.
 * Stateless on purpose: auth.php (called in-process by the WebSocket
 * handshake) only has to check a signature, no session storage involved.
 *
 * There is no password: anyone can pick any name. It is a demo of the
 * transport, not of identity management; plug your real login in here.
 */
final class Auth
{
    public const COOKIE = 'AUTH_TOKEN';
    public const TTL = 12 * 3600;
    public const MAX_USER_ID = 32;

    /** The authenticated user id from the AUTH_TOKEN cookie, or null. */
    public static function user(): ?string
    {
        $token = $_COOKIE[self::COOKIE] ?? null;
        if (!is_string($token) || $token === '') {
            return null;
        }
        $claims = self::jwt()->verify($token);
        $sub = $claims['sub'] ?? null;
        // Re-check the charset: a user id ends up in frames and channel names.
        return is_string($sub) && self::sanitize($sub) === $sub ? $sub : null;
    }

    /**
     * The signed-in user of a POST that carries this user's CSRF token, as
     * every state-changing endpoint of the demo requires; otherwise answers
     * 405, $unauthenticated (401, or 403 where Pusher clients expect it) or
     * 403 with a JSON error, and ends the request.
     */
    public static function userOfPost(int $unauthenticated = 401): string
    {
        if (Http::method() !== 'POST') {
            Http::json(405, ['error' => 'method_not_allowed', 'message' => 'Use POST.'], ['Allow: POST']);
        }
        $user = self::user();
        if ($user === null) {
            Http::json($unauthenticated, ['error' => 'unauthenticated', 'message' => 'Please sign in again.']);
        }
        if (!Csrf::check($user)) {
            Http::json(403, ['error' => 'csrf', 'message' => 'Invalid CSRF token; reload the page.']);
        }

        return $user;
    }

    public static function logIn(string $userId): void
    {
        $now = time();
        $token = self::jwt()->sign(['sub' => $userId, 'iat' => $now, 'exp' => $now + self::TTL]);
        Http::setCookie(self::COOKIE, $token, $now + self::TTL);
    }

    public static function logOut(): void
    {
        Http::setCookie(self::COOKIE, '', time() - 3600);
    }

    /**
     * Turns a display name into a user id that is safe everywhere it goes:
     * HTML, JSON frames and channel names (whose alphabet is
     * A-Z a-z 0-9 _ - = @ , . ; :). Whitespace becomes "_", other characters
     * are dropped, the result is at most 32 bytes; "" means nothing usable.
     */
    public static function sanitize(string $name): string
    {
        $id = preg_replace('/\s+/u', '_', trim($name)) ?? '';
        $id = preg_replace('/[^A-Za-z0-9_.-]/', '', $id) ?? '';
        return substr(trim($id, '_.-'), 0, self::MAX_USER_ID);
    }

    private static function jwt(): Jwt
    {
        return new Jwt(Secret::key('jwt'));
    }
}
