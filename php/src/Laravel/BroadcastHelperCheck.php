<?php

declare(strict_types=1);

namespace Realtime\Laravel;

use ReflectionFunction;
use RuntimeException;

/**
 * Laravel defines its global broadcast() helper only when no function of
 * that name exists. The realtime extension defines a native broadcast() of
 * its own, so unless the short names are removed with disable_functions,
 * Laravel's helper is silently missing and `broadcast(new OrderShipped)`
 * throws a TypeError deep in the app. This check turns that into one clear
 * message at boot.
 */
final class BroadcastHelperCheck
{
    public const INI_LINE = 'disable_functions broadcast,broadcasttouser,getchannelusers,disconnectuser';

    /** @throws RuntimeException when broadcast() is the extension's function */
    public static function assertUsable(): void
    {
        if (!function_exists('broadcast')) {
            return; // neither Laravel's helper nor the extension's: nothing collides
        }
        $function = new ReflectionFunction('broadcast');
        if (!$function->isInternal() || $function->getExtensionName() !== 'realtime') {
            return;
        }

        throw new RuntimeException(
            "Laravel's broadcast() helper is shadowed by the FrankenPHP realtime extension's native broadcast(), "
            . 'so Laravel did not define it. Unregister the extension\'s short names (the package publishes through realtime_trigger()): '
            . "in the Caddyfile's global options `frankenphp { php_ini " . self::INI_LINE . ' }`, '
            . 'and for `frankenphp php-cli` (artisan, queue workers) a php.ini or conf.d file (PHP_INI_SCAN_DIR) with '
            . '`disable_functions=broadcast,broadcasttouser,getchannelusers,disconnectuser`. See docs/laravel.md.'
        );
    }
}
