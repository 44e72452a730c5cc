<?php

declare(strict_types=1);

namespace Realtime\Laravel;

/**
 * Publishes in-process through the FrankenPHP realtime extension's
 * realtime_trigger(): no HTTP request, no signature. Inside `frankenphp
 * php-cli` (queue workers) the extension reaches the running server through
 * its admin listener (REALTIME_ADMIN_ADDRESS) or Valkey
 * (REALTIME_VALKEY_ADDRESS): see docs/php-api.md.
 */
final class ExtensionPublisher implements Publisher
{
    public static function available(): bool
    {
        return function_exists('realtime_trigger');
    }

    public function trigger(array $channels, string $event, string $data, ?string $exceptSocketId = null): void
    {
        \realtime_trigger($channels, $event, $data, $exceptSocketId);
    }

    public function describe(): string
    {
        return 'realtime_trigger()';
    }
}
