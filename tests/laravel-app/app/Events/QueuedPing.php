<?php

declare(strict_types=1);

namespace App\Events;

use Illuminate\Broadcasting\InteractsWithSockets;
use Illuminate\Broadcasting\PrivateChannel;
use Illuminate\Contracts\Broadcasting\ShouldBroadcast;
use Illuminate\Foundation\Events\Dispatchable;

/**
 * ShouldBroadcast: queued. The request only stores a job; `php artisan
 * queue:work` (run by `frankenphp php-cli`) publishes it, through the
 * running server's admin listener (memory driver) or Valkey.
 */
class QueuedPing implements ShouldBroadcast
{
    use Dispatchable;
    use InteractsWithSockets;

    public function __construct(public int $userId, public string $marker)
    {
    }

    public function broadcastOn(): PrivateChannel
    {
        return new PrivateChannel("orders.$this->userId");
    }

    public function broadcastAs(): string
    {
        return 'queued.ping';
    }

    /** @return array<string, mixed> */
    public function broadcastWith(): array
    {
        return ['marker' => $this->marker, 'sapi' => PHP_SAPI, 'pid' => getmypid()];
    }
}
