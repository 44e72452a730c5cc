<?php

declare(strict_types=1);

namespace Realtime\Demo;

use Realtime\Laravel\PusherSignatures;

/**
 * The demo's Pusher app (id, key, secret), for the Laravel Echo tab.
 *
 * `make run` generates it once into php/var/pusher-app.caddy (git- and
 * docker-ignored, mode 0600; scripts/demo-pusher-app.sh), a one-line
 * Caddyfile fragment that php/Caddyfile imports into its `realtime` block:
 *
 *     pusher_app demo demo-key <64 hex digits>
 *
 * This class reads the same line, so the server that checks Echo's
 * signatures and the endpoint that makes them (broadcasting/auth.php)
 * share one secret and nothing secret is committed. REALTIME_DEMO_PUSHER_APP
 * overrides the path for both (a path relative to php/, where the
 * Caddyfile is, or absolute; it may hold one `*`, as Caddy's import does).
 * No file: null, and the Echo tab says how to get one.
 */
final class PusherApp
{
    public const ENV = 'REALTIME_DEMO_PUSHER_APP';
    public const DEFAULT_PATTERN = 'var/pusher-app*.caddy';

    private function __construct(
        public readonly string $id,
        public readonly string $key,
        public readonly PusherSignatures $signatures,
    ) {
    }

    /** The configured app, or null when there is none (no generated file). */
    public static function load(): ?self
    {
        $pattern = getenv(self::ENV);
        if (!is_string($pattern) || $pattern === '') {
            $pattern = self::DEFAULT_PATTERN;
        }
        if (!str_starts_with($pattern, '/')) {
            $pattern = dirname(__DIR__, 2) . '/' . $pattern;
        }
        $files = glob($pattern) ?: [];
        if ($files === []) {
            return null;
        }
        $text = (string) @file_get_contents($files[0]);
        if (preg_match('/^\s*pusher_app\s+(\S+)\s+(\S+)\s+(\S{8,})\s*$/m', $text, $m) !== 1) {
            // The message names the file, never its content.
            throw new \RuntimeException("{$files[0]} has no `pusher_app <id> <key> <secret>` line; delete it and run `make run` again");
        }

        return new self($m[1], $m[2], new PusherSignatures($m[2], $m[3]));
    }
}
