<?php

declare(strict_types=1);

namespace Realtime\Tests\Support\WebSocket;

/**
 * A complete message as the application sees it: fragments reassembled,
 * pings/pongs consumed. A close from the server is also surfaced as a Message
 * (opcode CLOSE) so tests can assert on its code.
 */
final class Message
{
    public function __construct(
        public readonly int $opcode,
        public readonly string $data,
        /** Number of frames the message arrived in (1 = unfragmented). */
        public readonly int $frames = 1,
        public readonly ?int $closeCode = null,
        public readonly string $closeReason = '',
    ) {
    }

    public function isText(): bool
    {
        return $this->opcode === Frame::TEXT;
    }

    public function isBinary(): bool
    {
        return $this->opcode === Frame::BINARY;
    }

    public function isClose(): bool
    {
        return $this->opcode === Frame::CLOSE;
    }

    /**
     * The server's wire protocol is JSON objects in text frames.
     *
     * @return array<string, mixed>
     *
     * @throws ProtocolError when this is not a text frame holding a JSON object
     */
    public function json(): array
    {
        if (!$this->isText()) {
            throw new ProtocolError('expected a JSON text frame, got ' . $this->describe());
        }
        try {
            $decoded = json_decode($this->data, true, 512, JSON_THROW_ON_ERROR);
        } catch (\JsonException $e) {
            throw new ProtocolError('text frame is not JSON (' . $e->getMessage() . '): ' . $this->data, 0, $e);
        }
        if (!is_array($decoded) || array_is_list($decoded) && $decoded !== []) {
            throw new ProtocolError('text frame is not a JSON object: ' . $this->data);
        }

        return $decoded;
    }

    /** Short human-readable form for failure messages. */
    public function describe(): string
    {
        if ($this->isClose()) {
            return sprintf('close(%s%s)', $this->closeCode ?? 'no code', $this->closeReason === '' ? '' : ', "' . $this->closeReason . '"');
        }
        if ($this->isBinary()) {
            return sprintf('binary(%d bytes)', strlen($this->data));
        }

        return strlen($this->data) > 500 ? substr($this->data, 0, 500) . '…' : $this->data;
    }
}
