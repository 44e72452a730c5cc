<?php

declare(strict_types=1);

namespace Realtime\Tests\Support\WebSocket;

/**
 * The server answered the upgrade request with something other than 101.
 * Carries the whole HTTP response so tests can assert 401/403/503 and bodies.
 */
final class HandshakeRejected extends WebSocketException
{
    /**
     * @param array<string, list<string>> $headers lower-cased names
     */
    public function __construct(
        public readonly int $status,
        public readonly string $reasonPhrase,
        public readonly array $headers,
        public readonly string $body,
    ) {
        parent::__construct(sprintf(
            'WebSocket upgrade refused: HTTP %d %s%s',
            $status,
            $reasonPhrase,
            $body === '' ? '' : ' — ' . substr($body, 0, 300),
        ));
    }

    public function header(string $name): ?string
    {
        return $this->headers[strtolower($name)][0] ?? null;
    }
}
