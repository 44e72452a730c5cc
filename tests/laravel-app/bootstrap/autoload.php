<?php

declare(strict_types=1);

/*
 * What vendor/autoload.php is in a Composer install: Laravel 10 from
 * Debian's packages (their autoloaders under /usr/share/php; install with
 * scripts/install-laravel.sh), this app's App\ classes, and the package
 * under test (Realtime\ => php/src/, as its composer.json declares).
 */

$laravel = '/usr/share/php/Illuminate/autoload.php';
if (!is_file($laravel)) {
    fwrite(STDERR, "Laravel is not installed: run scripts/install-laravel.sh\n");
    http_response_code(500);
    exit(1);
}
require_once __DIR__ . '/intl-shim.php';
require_once $laravel;

// Loaded once per process (require_once), also in FrankenPHP worker mode.
spl_autoload_register(static function (string $class): void {
    $map = [
        'App\\' => dirname(__DIR__) . '/app/',
        'Realtime\\' => dirname(__DIR__, 3) . '/php/src/',
    ];
    foreach ($map as $prefix => $dir) {
        if (str_starts_with($class, $prefix)) {
            $file = $dir . str_replace('\\', '/', substr($class, strlen($prefix))) . '.php';
            if (is_file($file)) {
                require_once $file;
            }

            return;
        }
    }
});
