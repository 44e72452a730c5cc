<?php

declare(strict_types=1);

namespace Realtime\Tests\Support\WebSocket;

/**
 * The peer broke RFC 6455 (bad framing, bad handshake, invalid UTF-8, ...).
 * Thrown rather than tolerated: the client is used to check the server.
 */
final class ProtocolError extends WebSocketException
{
}
