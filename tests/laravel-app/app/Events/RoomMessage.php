<?php

declare(strict_types=1);

namespace App\Events;

use Illuminate\Broadcasting\InteractsWithSockets;
use Illuminate\Broadcasting\PresenceChannel;
use Illuminate\Contracts\Broadcasting\ShouldBroadcastNow;
use Illuminate\Foundation\Events\Dispatchable;

/** No broadcastAs(): Laravel names the event after its class, App\Events\RoomMessage. */
class RoomMessage implements ShouldBroadcastNow
{
    use Dispatchable;
    use InteractsWithSockets;

    public function __construct(public int $roomId, public string $from, public string $text)
    {
    }

    public function broadcastOn(): PresenceChannel
    {
        return new PresenceChannel("room.$this->roomId");
    }
}
