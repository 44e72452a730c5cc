<?php

declare(strict_types=1);

namespace Realtime\Demo;

/** Small helpers for responses and cookies shared by the demo's pages. */
final class Http
{
    /** True when this request arrived over TLS (FrankenPHP sets HTTPS=on). */
    public static function isHttps(): bool
    {
        $https = $_SERVER['HTTPS'] ?? '';
        return $https !== '' && strtolower((string) $https) !== 'off';
    }

    public static function method(): string
    {
        return strtoupper((string) ($_SERVER['REQUEST_METHOD'] ?? 'GET'));
    }

    /**
     * Sets a first-party cookie the way every cookie of the demo should be:
     * Path=/, SameSite=Strict (never sent on cross-site requests, the first
     * line of CSRF defence), Secure whenever the page itself is HTTPS.
     * $expires = 0 makes a session cookie; a past time deletes it.
     */
    public static function setCookie(string $name, string $value, int $expires, bool $httpOnly = true): void
    {
        setcookie($name, $value, [
            'expires' => $expires,
            'path' => '/',
            'secure' => self::isHttps(),
            'httponly' => $httpOnly,
            'samesite' => 'Strict',
        ]);
        // Make the new value visible to the rest of this request too.
        if ($expires !== 0 && $expires < time()) {
            unset($_COOKIE[$name]);
        } else {
            $_COOKIE[$name] = $value;
        }
    }

    /** Headers for every HTML page: no framing, no sniffing, no third parties. */
    public static function htmlHeaders(): void
    {
        header('Content-Type: text/html; charset=utf-8');
        header('Cache-Control: no-store');
        header('X-Content-Type-Options: nosniff');
        header('Referrer-Policy: same-origin');
        // 'self' in connect-src covers ws:/wss: to this same host (CSP Level 3).
        header("Content-Security-Policy: default-src 'self'; connect-src 'self'; img-src 'self' data:; "
            . "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
    }

    /** 303 makes the browser follow a POST with a GET. */
    public static function redirect(string $path, int $status = 303): never
    {
        header('Location: ' . $path, true, $status);
        header('Cache-Control: no-store');
        exit;
    }

    /**
     * Sends a JSON response and stops.
     *
     * @param array<string, mixed> $body
     * @param list<string> $headers extra header lines
     */
    public static function json(int $status, array $body, array $headers = []): never
    {
        http_response_code($status);
        header('Content-Type: application/json');
        header('Cache-Control: no-store');
        header('X-Content-Type-Options: nosniff');
        foreach ($headers as $header) {
            header($header);
        }
        echo json_encode($body, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_INVALID_UTF8_SUBSTITUTE);
        exit;
    }

    /** Plain-text response, for the endpoints the realtime module calls. */
    public static function text(int $status, string $body): never
    {
        http_response_code($status);
        header('Content-Type: text/plain; charset=utf-8');
        header('Cache-Control: no-store');
        echo $body;
        exit;
    }

    /** HTML-escapes a value for text and quoted attributes. */
    public static function e(string $value): string
    {
        return htmlspecialchars($value, ENT_QUOTES | ENT_SUBSTITUTE, 'UTF-8');
    }
}
