<?php

declare(strict_types=1);

use Illuminate\Contracts\Http\Kernel;
use Illuminate\Http\Request;

define('LARAVEL_START', microtime(true));

/** Boots a fresh application and handles the current request with it. */
$handle = static function (array $headers = []): void {
    $app = require __DIR__ . '/../bootstrap/app.php';
    $kernel = $app->make(Kernel::class);
    $response = $kernel->handle($request = Request::capture());
    $response->headers->add($headers);
    $response->send();
    $kernel->terminate($request, $response);
};

if (!($_SERVER['FRANKENPHP_WORKER'] ?? false) || !function_exists('frankenphp_handle_request')) {
    $handle();

    return;
}

// FrankenPHP worker mode (a `worker` for this file in the Caddyfile): the
// PHP thread stays alive between requests. This is not Octane (not
// installable here): each request gets a freshly booted application, so no
// state leaks between users; only the loaded code is kept. The response
// says how many requests this worker served, for the tests.
$served = 0;
do {
    $more = frankenphp_handle_request(static function () use ($handle, &$served): void {
        ++$served;
        $handle(['X-Worker-Requests' => (string) $served]);
    });
    gc_collect_cycles();
} while ($more);
