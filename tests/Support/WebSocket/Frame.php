<?php

declare(strict_types=1);

namespace Realtime\Tests\Support\WebSocket;

/**
 * One RFC 6455 frame as it travels on the wire (after unmasking).
 */
final class Frame
{
    public const CONTINUATION = 0x0;
    public const TEXT = 0x1;
    public const BINARY = 0x2;
    public const CLOSE = 0x8;
    public const PING = 0x9;
    public const PONG = 0xA;

    public function __construct(
        public readonly int $opcode,
        public readonly string $payload,
        public readonly bool $fin = true,
        public readonly bool $masked = false,
        /** RSV1..RSV3 as a 3-bit number; must be 0 unless an extension was negotiated. */
        public readonly int $rsv = 0,
    ) {
    }

    public function isControl(): bool
    {
        return ($this->opcode & 0x8) !== 0;
    }

    public static function opcodeName(int $opcode): string
    {
        return match ($opcode) {
            self::CONTINUATION => 'continuation',
            self::TEXT => 'text',
            self::BINARY => 'binary',
            self::CLOSE => 'close',
            self::PING => 'ping',
            self::PONG => 'pong',
            default => sprintf('0x%X', $opcode),
        };
    }
}
