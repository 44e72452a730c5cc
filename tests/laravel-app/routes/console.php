<?php

declare(strict_types=1);

use Illuminate\Support\Facades\Artisan;

// Prints which publisher the default broadcast connection uses (tests).
Artisan::command('realtime:publisher', function (): void {
    $broadcaster = app(Illuminate\Contracts\Broadcasting\Factory::class)->connection();
    $this->line($broadcaster instanceof Realtime\Laravel\FrankenPhpBroadcaster
        ? $broadcaster->publisher()->describe()
        : get_class($broadcaster));
});

// Publishes one event from the command line (tests: no extension, HTTP fallback).
Artisan::command('realtime:ship {user} {order} {note=cli}', function (string $user, string $order, string $note): void {
    broadcast(new App\Events\OrderShipped((int) $user, (int) $order, $note));
    $this->line('published');
});
