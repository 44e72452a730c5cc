<?php

declare(strict_types=1);

namespace Realtime\Tests\Support;

/** How one handshake of a HandshakeBatch ended. */
final class HandshakeOutcome
{
    public function __construct(
        /** 101 when upgraded, the refusal's status otherwise, 0 when no valid answer came. */
        public readonly int $status,
        /** user_id of the `connected` frame (101 only). */
        public readonly ?string $userId,
        /** The open connection (101 only); close it when done. */
        public readonly ?WebSocketClient $client,
        /** What went wrong, or the refusal's body, for failure messages. */
        public readonly string $detail = '',
        /** Response headers of a refusal (lower-cased names). */
        public readonly array $headers = [],
    ) {
    }

    public function header(string $name): ?string
    {
        return $this->headers[strtolower($name)][0] ?? null;
    }

    public function describe(): string
    {
        return match (true) {
            $this->status === 101 => 'upgraded as ' . var_export($this->userId, true),
            $this->status === 0 => 'no answer: ' . $this->detail,
            default => "refused with $this->status" . ($this->detail === '' ? '' : ': ' . trim(substr($this->detail, 0, 200))),
        };
    }
}
