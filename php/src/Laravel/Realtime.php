<?php

declare(strict_types=1);

namespace Realtime\Laravel;

use Illuminate\Foundation\Http\Middleware\VerifyCsrfToken;
use Illuminate\Support\Facades\Route;
use Realtime\Laravel\Http\NativeEndpoints;
use Realtime\Laravel\Http\OnlyRealtimeInternalRequests;

/** Route helpers for apps that also serve the native protocol (client/realtime.js). */
final class Realtime
{
    /**
     * Registers the native protocol's endpoints, for the Caddyfile's
     * `auth_endpoint <prefix>/auth` and `authorize_endpoint <prefix>/authorize`:
     *
     *   GET  <prefix>/auth       → the session user's id (text) or 401
     *   POST <prefix>/authorize  → {"allow": true} when routes/channels.php allows the channel
     *
     * Both run with $middleware (default: the `web` group, for the session),
     * answer only the realtime module's in-process calls
     * (OnlyRealtimeInternalRequests: 404 for anyone else) and are therefore
     * exempt from CSRF verification, which the module's POST could not pass.
     *
     * @param list<string> $middleware
     */
    public static function nativeRoutes(string $prefix = '/realtime', array $middleware = ['web']): void
    {
        $prefix = '/' . trim($prefix, '/');
        $stack = [...$middleware, OnlyRealtimeInternalRequests::class];
        Route::get("$prefix/auth", [NativeEndpoints::class, 'authenticate'])
            ->middleware($stack)
            ->withoutMiddleware([VerifyCsrfToken::class]);
        Route::post("$prefix/authorize", [NativeEndpoints::class, 'authorize'])
            ->middleware($stack)
            ->withoutMiddleware([VerifyCsrfToken::class]);
    }
}
