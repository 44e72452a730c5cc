<?php

declare(strict_types=1);

namespace Realtime\Tests\Support\WebSocket;

/**
 * Pure RFC 6455 §5.2 frame encoding/decoding, kept free of I/O so the unit
 * tests can check it byte for byte against the RFC's examples.
 */
final class FrameCodec
{
    /** RFC 6455 §1.3: appended to Sec-WebSocket-Key before hashing. */
    public const ACCEPT_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

    public static function acceptKey(string $secWebSocketKey): string
    {
        return base64_encode(sha1($secWebSocketKey . self::ACCEPT_GUID, true));
    }

    /**
     * @param string|null $maskKey 4 bytes to mask with (client → server frames), null for unmasked
     */
    public static function encode(
        int $opcode,
        string $payload,
        bool $fin = true,
        ?string $maskKey = null,
        int $rsv = 0,
    ): string {
        if ($opcode < 0 || $opcode > 0xF) {
            throw new \InvalidArgumentException("opcode out of range: $opcode");
        }
        if ($maskKey !== null && strlen($maskKey) !== 4) {
            throw new \InvalidArgumentException('a masking key is exactly 4 bytes');
        }
        $length = strlen($payload);
        $head = chr(($fin ? 0x80 : 0) | (($rsv & 0x7) << 4) | $opcode);
        $maskBit = $maskKey === null ? 0 : 0x80;
        // Lengths must use the minimal encoding (§5.2): 7 bits, else 16, else 64.
        if ($length <= 125) {
            $head .= chr($maskBit | $length);
        } elseif ($length <= 0xFFFF) {
            $head .= chr($maskBit | 126) . pack('n', $length);
        } else {
            $head .= chr($maskBit | 127) . pack('J', $length);
        }
        if ($maskKey === null) {
            return $head . $payload;
        }

        return $head . $maskKey . self::mask($payload, $maskKey);
    }

    /** XOR with the repeating 4-byte key; the same call masks and unmasks. */
    public static function mask(string $payload, string $maskKey): string
    {
        $length = strlen($payload);
        if ($length === 0) {
            return '';
        }

        return $payload ^ substr(str_repeat($maskKey, intdiv($length + 3, 4)), 0, $length);
    }

    /**
     * Decodes one frame from the start of $buffer.
     *
     * @return array{0: Frame, 1: int}|null the frame and the number of bytes it
     *                                      used, or null when $buffer holds only part of a frame
     *
     * @throws ProtocolError on malformed frames (never waits for more bytes to report it)
     */
    public static function decode(string $buffer, int $maxPayload = PHP_INT_MAX): ?array
    {
        $available = strlen($buffer);
        if ($available < 2) {
            return null;
        }
        $b0 = ord($buffer[0]);
        $b1 = ord($buffer[1]);
        $fin = ($b0 & 0x80) !== 0;
        $rsv = ($b0 >> 4) & 0x7;
        $opcode = $b0 & 0x0F;
        $masked = ($b1 & 0x80) !== 0;
        $length = $b1 & 0x7F;
        $offset = 2;

        if (!in_array($opcode, [Frame::CONTINUATION, Frame::TEXT, Frame::BINARY, Frame::CLOSE, Frame::PING, Frame::PONG], true)) {
            throw new ProtocolError(sprintf('reserved opcode 0x%X', $opcode));
        }
        $control = ($opcode & 0x8) !== 0;
        if ($control && !$fin) {
            throw new ProtocolError('fragmented control frame (' . Frame::opcodeName($opcode) . ')');
        }
        if ($control && $length > 125) {
            throw new ProtocolError('control frame payload over 125 bytes (' . Frame::opcodeName($opcode) . ')');
        }

        if ($length === 126) {
            if ($available < 4) {
                return null;
            }
            $length = unpack('n', $buffer, 2)[1];
            $offset = 4;
            if ($length <= 125) {
                throw new ProtocolError("non-minimal 16-bit length encoding ($length)");
            }
        } elseif ($length === 127) {
            if ($available < 10) {
                return null;
            }
            if ((ord($buffer[2]) & 0x80) !== 0) {
                throw new ProtocolError('64-bit payload length with the most significant bit set');
            }
            $length = unpack('J', $buffer, 2)[1];
            $offset = 10;
            if ($length <= 0xFFFF) {
                throw new ProtocolError("non-minimal 64-bit length encoding ($length)");
            }
        }
        if ($length > $maxPayload) {
            throw new ProtocolError("frame payload of $length bytes exceeds the limit of $maxPayload");
        }

        $maskKey = null;
        if ($masked) {
            if ($available < $offset + 4) {
                return null;
            }
            $maskKey = substr($buffer, $offset, 4);
            $offset += 4;
        }
        if ($available < $offset + $length) {
            return null;
        }
        $payload = substr($buffer, $offset, $length);
        if ($maskKey !== null) {
            $payload = self::mask($payload, $maskKey);
        }

        return [new Frame($opcode, $payload, $fin, $masked, $rsv), $offset + $length];
    }

    /** Close frame body: 2-byte code + UTF-8 reason (§5.5.1). */
    public static function closePayload(?int $code, string $reason = ''): string
    {
        if ($code === null) {
            return '';
        }

        return pack('n', $code) . $reason;
    }

    /**
     * @return array{0: int|null, 1: string} code (null when the body is empty) and reason
     *
     * @throws ProtocolError
     */
    public static function parseClosePayload(string $payload): array
    {
        $length = strlen($payload);
        if ($length === 0) {
            return [null, ''];
        }
        if ($length === 1) {
            throw new ProtocolError('close frame with a 1-byte body');
        }
        $code = unpack('n', $payload)[1];
        $reason = substr($payload, 2);
        if (!self::isValidCloseCode($code)) {
            throw new ProtocolError("invalid close code $code on the wire");
        }
        if (!self::isUtf8($reason)) {
            throw new ProtocolError('close reason is not valid UTF-8');
        }

        return [$code, $reason];
    }

    /** Strict UTF-8 check (PCRE rejects overlongs and surrogates), no mbstring needed. */
    public static function isUtf8(string $bytes): bool
    {
        return preg_match('//u', $bytes) === 1;
    }

    /** §7.4: codes that may appear in a close frame. */
    public static function isValidCloseCode(int $code): bool
    {
        return ($code >= 1000 && $code <= 1003)
            || ($code >= 1007 && $code <= 1014)
            || ($code >= 3000 && $code <= 4999);
    }
}
