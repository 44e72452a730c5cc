<?php

declare(strict_types=1);

/*
 * Two connections with the same credentials and the same server:
 *
 *   BROADCAST_DRIVER=frankenphp   publishes in-process (realtime_trigger())
 *   BROADCAST_DRIVER=reverb       publishes over the Pusher HTTP API of the
 *                                 same FrankenPHP server (no Pusher SDK here:
 *                                 the package's signed HTTP client serves it)
 *
 * (Laravel 11+ names the variable BROADCAST_CONNECTION.)
 */

$reverb = [
    'driver' => 'reverb',
    'key' => env('REVERB_APP_KEY'),
    'secret' => env('REVERB_APP_SECRET'),
    'app_id' => env('REVERB_APP_ID'),
    'options' => [
        'host' => env('REVERB_HOST', '127.0.0.1'),
        'port' => env('REVERB_PORT', 443),
        'scheme' => env('REVERB_SCHEME', 'https'),
        'useTLS' => env('REVERB_SCHEME', 'https') === 'https',
        'encryption_master_key_base64' => env('BROADCAST_ENCRYPTION_KEY'),
    ],
    'client_options' => [],
];

return [
    'default' => env('BROADCAST_DRIVER', 'frankenphp'),

    'connections' => [
        'reverb' => $reverb,

        // The one-line difference: the driver.
        'frankenphp' => ['driver' => 'frankenphp'] + $reverb + [
            // Outside FrankenPHP (no realtime extension), publish over the
            // HTTP API above instead of throwing.
            'http_fallback' => env('REALTIME_HTTP_FALLBACK', false),
        ],

        'log' => ['driver' => 'log'],
        'null' => ['driver' => 'null'],
    ],
];
