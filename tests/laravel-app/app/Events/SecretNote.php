<?php

declare(strict_types=1);

namespace App\Events;

use Illuminate\Broadcasting\EncryptedPrivateChannel;
use Illuminate\Contracts\Broadcasting\ShouldBroadcastNow;
use Illuminate\Foundation\Events\Dispatchable;

/** End-to-end encrypted (private-encrypted-*): the server only relays ciphertext. */
class SecretNote implements ShouldBroadcastNow
{
    use Dispatchable;

    public function __construct(public int $userId, public string $text)
    {
    }

    public function broadcastOn(): EncryptedPrivateChannel
    {
        return new EncryptedPrivateChannel("secret.$this->userId");
    }

    public function broadcastAs(): string
    {
        return 'secret.note';
    }
}
