<?php

declare(strict_types=1);

namespace Realtime\Tests\Support\WebSocket;

/**
 * Raised when reading from or writing to a connection that is already closed
 * (close handshake finished, or the TCP connection dropped).
 */
final class ConnectionClosed extends WebSocketException
{
    public function __construct(string $message, public readonly ?int $closeCode = null)
    {
        parent::__construct($message);
    }
}
