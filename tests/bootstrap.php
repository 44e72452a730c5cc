<?php

declare(strict_types=1);

/*
 * Test bootstrap. Composer is not available on every machine that runs these
 * tests (no PHP package registry here; PHPUnit comes from Debian), so this
 * registers the same PSR-4 mappings composer.json declares:
 *   Realtime\Tests\ => tests/
 *   Realtime\       => php/src/   (the demo app's library code, if present)
 * When Composer's autoloader exists it is loaded too, and wins.
 */

$root = dirname(__DIR__);

if (is_file($root . '/vendor/autoload.php')) {
    require_once $root . '/vendor/autoload.php';
}

spl_autoload_register(static function (string $class) use ($root): void {
    $map = [
        'Realtime\\Tests\\' => $root . '/tests/',
        'Realtime\\' => $root . '/php/src/',
    ];
    foreach ($map as $prefix => $dir) {
        if (!str_starts_with($class, $prefix)) {
            continue;
        }
        $file = $dir . str_replace('\\', '/', substr($class, strlen($prefix))) . '.php';
        if (is_file($file)) {
            require_once $file;
        }

        return; // the longest prefix is listed first: never fall through
    }
});
