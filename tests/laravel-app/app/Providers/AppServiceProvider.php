<?php

declare(strict_types=1);

namespace App\Providers;

use App\Auth\DemoUsers;
use Illuminate\Support\Facades\Auth;
use Illuminate\Support\ServiceProvider;

class AppServiceProvider extends ServiceProvider
{
    public function boot(): void
    {
        Auth::provider('demo', static fn () => new DemoUsers());
    }
}
