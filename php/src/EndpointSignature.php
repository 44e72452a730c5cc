<?php

declare(strict_types=1);

namespace Realtime;

/**
 * Verifies the X-Realtime-Signature header of a call the realtime module
 * made to an http(s):// endpoint (auth_endpoint, authorize_endpoint,
 * presence_endpoint given as a URL, with endpoint_secret set):
 *
 *     X-Realtime-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<METHOD>.<path?query>.<body>")>
 *
 * Path endpoints need none of this: they run in-process, and
 * realtime_is_internal_request() tells them apart.
 *
 * ```php
 * if (!\Realtime\EndpointSignature::verifyRequest(getenv('REALTIME_ENDPOINT_SECRET'))) {
 *     http_response_code(403);
 *     exit;
 * }
 * ```
 */
final class EndpointSignature
{
    /** How far t may be from this server's clock, in seconds (replays). */
    public const TOLERANCE = 300;

    /**
     * Checks a signature header against the request it came with.
     *
     * @param string   $header     the X-Realtime-Signature value
     * @param string   $method     the request method, e.g. "POST"
     * @param string   $requestUri the path and query as received, e.g. "/realtime/authorize"
     * @param string   $body       the raw request body ("" for a GET)
     * @param int|null $now        unix seconds; null: time()
     */
    public static function verify(string $secret, string $header, string $method, string $requestUri, string $body, ?int $now = null): bool
    {
        if ($secret === '' || !preg_match('/^t=(\d{1,12}),v1=([0-9a-f]{64})$/', $header, $m)) {
            return false;
        }
        if (abs(($now ?? time()) - (int) $m[1]) > self::TOLERANCE) {
            return false;
        }
        $expected = hash_hmac('sha256', $m[1] . '.' . strtoupper($method) . '.' . $requestUri . '.' . $body, $secret);

        return hash_equals($expected, $m[2]);
    }

    /** Checks the current request (PHP's superglobals and php://input). */
    public static function verifyRequest(string|false $secret): bool
    {
        return is_string($secret) && self::verify(
            $secret,
            (string) ($_SERVER['HTTP_X_REALTIME_SIGNATURE'] ?? ''),
            (string) ($_SERVER['REQUEST_METHOD'] ?? 'GET'),
            (string) ($_SERVER['REQUEST_URI'] ?? '/'),
            (string) file_get_contents('php://input'),
        );
    }
}
