<?php

declare(strict_types=1);

namespace App\Http\Middleware;

use Illuminate\Foundation\Http\Middleware\VerifyCsrfToken as Middleware;

class VerifyCsrfToken extends Middleware
{
    /**
     * Nothing listed: /broadcasting/auth exempts itself (Broadcast::routes()),
     * and the native protocol's endpoints (Realtime::nativeRoutes()) are
     * exempt but answer only the realtime module's in-process calls.
     *
     * @var array<int, string>
     */
    protected $except = [];
}
