<?php

declare(strict_types=1);

namespace Realtime\Tests\Support\WebSocket;

/**
 * Base class of every error the test WebSocket client raises.
 */
class WebSocketException extends \RuntimeException
{
}
