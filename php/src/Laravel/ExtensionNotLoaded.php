<?php

declare(strict_types=1);

namespace Realtime\Laravel;

use RuntimeException;

/**
 * The `frankenphp` broadcaster was asked to publish in a PHP process without
 * the realtime extension (e.g. `php artisan` run by a stock PHP instead of
 * `frankenphp php-cli artisan`) and no HTTP fallback is configured.
 */
final class ExtensionNotLoaded extends RuntimeException
{
    public static function forPublish(): self
    {
        return new self(
            'The "frankenphp" broadcaster publishes through realtime_trigger(), which this PHP process does not have: '
            . 'the realtime extension exists only inside the FrankenPHP binary (' . PHP_SAPI . ' SAPI, PHP ' . PHP_VERSION . ' here). '
            . 'Run the command with the FrankenPHP binary (`frankenphp php-cli artisan ...`), '
            . 'or let this connection fall back to the Pusher HTTP API of the FrankenPHP server: '
            . "set 'http_fallback' => true and options.host/port/scheme in config/broadcasting.php (REALTIME_HTTP_FALLBACK=true)."
        );
    }
}
