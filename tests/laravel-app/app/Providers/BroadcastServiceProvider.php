<?php

declare(strict_types=1);

namespace App\Providers;

use Illuminate\Support\Facades\Broadcast;
use Illuminate\Support\ServiceProvider;
use Realtime\Laravel\Realtime;

class BroadcastServiceProvider extends ServiceProvider
{
    public function boot(): void
    {
        // Echo (Pusher protocol): /broadcasting/auth and /broadcasting/user-auth.
        Broadcast::routes();
        Broadcast::userRoutes();
        Broadcast::resolveAuthenticatedUserUsing(static fn ($request) => $request->user() === null ? null : [
            'id' => (string) $request->user()->getAuthIdentifier(),
            'user_info' => ['name' => $request->user()->name],
        ]);

        // Native protocol (client/realtime.js): the Caddyfile's
        // auth_endpoint /realtime/auth and authorize_endpoint /realtime/authorize.
        Realtime::nativeRoutes('/realtime');

        require base_path('routes/channels.php');
    }
}
