<?php

declare(strict_types=1);

/*
 * Loads the demo's classes without Composer (none is available at runtime).
 * Mirrors composer.json's PSR-4 mapping: Realtime\ => php/src/, so
 * Realtime\Demo\Jwt lives in php/src/Demo/Jwt.php. Harmless if Composer's
 * autoloader is registered as well.
 */
spl_autoload_register(static function (string $class): void {
    $prefix = 'Realtime\\';
    if (!str_starts_with($class, $prefix)) {
        return;
    }
    $file = __DIR__ . '/' . str_replace('\\', '/', substr($class, strlen($prefix))) . '.php';
    if (is_file($file)) {
        require_once $file;
    }
});
