<?php

declare(strict_types=1);

/*
 * A minimal Laravel 10 application built from Debian trixie's packages
 * (scripts/install-laravel.sh), for the tests of the package's Laravel
 * broadcaster. It writes nothing into the checkout: storage, the sqlite
 * database and Laravel's bootstrap caches live in APP_RUNTIME_DIR.
 */

require_once __DIR__ . '/autoload.php';

$runtime = getenv('APP_RUNTIME_DIR') ?: sys_get_temp_dir() . '/realtime-laravel-app';
foreach (['framework/cache/data', 'framework/sessions', 'framework/views', 'logs', 'cache', 'vendor/composer'] as $dir) {
    if (!is_dir("$runtime/$dir")) {
        @mkdir("$runtime/$dir", 0777, true);
    }
}
foreach ([
    'APP_SERVICES_CACHE' => 'services.php',
    'APP_PACKAGES_CACHE' => 'packages.php',
    'APP_CONFIG_CACHE' => 'config.php',
    'APP_ROUTES_CACHE' => 'routes-v7.php',
    'APP_EVENTS_CACHE' => 'events.php',
] as $name => $file) {
    $_SERVER[$name] = $_ENV[$name] = "$runtime/cache/$file";
}

// Package auto-discovery as Composer would feed it: Laravel reads the
// packages' extra.laravel.providers from vendor/composer/installed.json.
// This app has no Composer vendor directory (no PHP package registry
// here), so the repository's own composer.json stands in for the
// installed copy of frankenphp-realtime/realtime.
$composerJson = dirname(__DIR__, 3) . '/composer.json';
$installed = "$runtime/vendor/composer/installed.json";
if (!is_file($installed) || filemtime($installed) < filemtime($composerJson)) {
    $package = json_decode((string) file_get_contents($composerJson), true, flags: JSON_THROW_ON_ERROR);
    $package['version'] = 'dev-main';
    file_put_contents("$installed.tmp", json_encode(['packages' => [$package], 'dev' => true, 'dev-package-names' => []], JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES));
    rename("$installed.tmp", $installed);
}

$app = new Illuminate\Foundation\Application(dirname(__DIR__));
$app->useStoragePath($runtime);

$manifest = new Illuminate\Foundation\PackageManifest(new Illuminate\Filesystem\Filesystem(), $app->basePath(), $app->getCachedPackagesPath());
$manifest->vendorPath = "$runtime/vendor";
$app->instance(Illuminate\Foundation\PackageManifest::class, $manifest);

$app->singleton(Illuminate\Contracts\Http\Kernel::class, App\Http\Kernel::class);
$app->singleton(Illuminate\Contracts\Console\Kernel::class, App\Console\Kernel::class);
$app->singleton(Illuminate\Contracts\Debug\ExceptionHandler::class, App\Exceptions\Handler::class);

return $app;
