<?php

declare(strict_types=1);

namespace Realtime\Laravel;

use Illuminate\Broadcasting\BroadcastManager;
use Illuminate\Support\ServiceProvider;

/**
 * Registers the `frankenphp` broadcast driver (auto-discovered through
 * composer.json's extra.laravel.providers) and checks at boot that
 * Laravel's own broadcast() helper survived the realtime extension.
 *
 * When the Pusher PHP SDK (pusher/pusher-php-server) is not installed, the
 * `reverb` and `pusher` drivers are served by this package's signed HTTP
 * API client instead of failing on the missing \Pusher\Pusher class: an
 * app keeping those drivers then publishes over the FrankenPHP server's
 * Pusher HTTP API without the SDK. With the SDK installed, Laravel's own
 * PusherBroadcaster is left alone.
 */
final class RealtimeServiceProvider extends ServiceProvider
{
    public function register(): void
    {
        $this->callAfterResolving(BroadcastManager::class, static function (BroadcastManager $manager): void {
            $manager->extend('frankenphp', static fn ($app, array $config) => FrankenPhpBroadcaster::fromConfig($config));
            if (!class_exists(\Pusher\Pusher::class)) {
                foreach (['reverb', 'pusher'] as $driver) {
                    $manager->extend($driver, static fn ($app, array $config) => FrankenPhpBroadcaster::overHttp($config));
                }
            }
        });
    }

    public function boot(): void
    {
        BroadcastHelperCheck::assertUsable();
    }
}
