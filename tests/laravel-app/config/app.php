<?php

declare(strict_types=1);

use Illuminate\Support\Facades\Facade;
use Illuminate\Support\ServiceProvider;

return [
    'name' => 'realtime-laravel-test',
    'env' => env('APP_ENV', 'testing'),
    'debug' => (bool) env('APP_DEBUG', true),
    'url' => env('APP_URL', 'http://localhost'),
    'asset_url' => null,
    'timezone' => 'UTC',
    'locale' => 'en',
    'fallback_locale' => 'en',
    'faker_locale' => 'en_US',
    // A fixed key: this app only ever runs in tests.
    'key' => env('APP_KEY', 'base64:dGVzdC1vbmx5LWtleS1mb3ItdGhlLWxhcmF2ZWwtYXA='),
    'cipher' => 'AES-256-CBC',
    'maintenance' => ['driver' => 'file'],

    // Realtime\Laravel\RealtimeServiceProvider is not listed: Laravel
    // discovers it from the package's composer.json (extra.laravel.providers).
    'providers' => ServiceProvider::defaultProviders()->merge([
        App\Providers\AppServiceProvider::class,
        App\Providers\BroadcastServiceProvider::class,
        App\Providers\RouteServiceProvider::class,
    ])->toArray(),

    'aliases' => Facade::defaultAliases()->toArray(),
];
