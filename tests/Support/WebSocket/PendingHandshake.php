<?php

declare(strict_types=1);

namespace Realtime\Tests\Support\WebSocket;

use Realtime\Tests\Support\WebSocketClient;

/**
 * An upgrade request that has been written but whose response has not been
 * read yet. Splitting the handshake in two lets a single-process unit test
 * play the server on the other end of a socket pair.
 */
final class PendingHandshake
{
    private const MAX_HEADER_BYTES = 65536;

    public function __construct(
        /** The Sec-WebSocket-Key that was sent. */
        public readonly string $key,
        private readonly StreamIO $io,
    ) {
    }

    /**
     * Reads the server's answer. 101 with the right Sec-WebSocket-Accept gives
     * an open client; any other status raises HandshakeRejected carrying the
     * full response; a malformed 101 raises ProtocolError.
     */
    public function complete(float $timeout = 5.0): WebSocketClient
    {
        $deadline = microtime(true) + $timeout;
        $buffer = '';
        while (($end = strpos($buffer, "\r\n\r\n")) === false) {
            if (strlen($buffer) > self::MAX_HEADER_BYTES) {
                throw new ProtocolError('handshake response headers exceed 64 KiB');
            }
            if (!$this->io->fill($buffer, $deadline)) {
                $why = $this->io->eof() ? 'connection closed' : 'timeout';
                $this->io->close();
                throw new ProtocolError(sprintf(
                    'no complete HTTP response to the upgrade request within %.1fs (%s); got: %s',
                    $timeout,
                    $why,
                    $buffer === '' ? '(nothing)' : substr($buffer, 0, 500),
                ));
            }
        }
        [$status, $reason, $headers] = self::parseHead(substr($buffer, 0, $end));
        $rest = substr($buffer, $end + 4);

        if ($status !== 101) {
            $body = $this->readBody($headers, $rest, $deadline);
            $this->io->close();
            throw new HandshakeRejected($status, $reason, $headers, $body);
        }
        $this->verifyUpgrade($headers);

        // Bytes after the blank line already belong to the WebSocket stream
        // (a server may send its first frame in the same TCP segment).
        return new WebSocketClient($this->io, true, $headers, $rest);
    }

    /**
     * @param array<string, list<string>> $headers
     */
    private function verifyUpgrade(array $headers): void
    {
        $fail = function (string $why) use ($headers): never {
            $this->io->close();
            throw new ProtocolError("invalid 101 response: $why; headers: " . json_encode($headers));
        };
        if (strtolower($headers['upgrade'][0] ?? '') !== 'websocket') {
            $fail('Upgrade header is not "websocket"');
        }
        $connection = array_map('trim', explode(',', strtolower(implode(',', $headers['connection'] ?? []))));
        if (!in_array('upgrade', $connection, true)) {
            $fail('Connection header lacks the "upgrade" token');
        }
        $expected = FrameCodec::acceptKey($this->key);
        $accept = $headers['sec-websocket-accept'][0] ?? null;
        if ($accept !== $expected) {
            $fail(sprintf('Sec-WebSocket-Accept is %s, expected %s', var_export($accept, true), $expected));
        }
        // We offer no extension and no subprotocol, so the server must not pick one (§4.1).
        if (isset($headers['sec-websocket-extensions'])) {
            $fail('server selected an extension that was not offered');
        }
        if (isset($headers['sec-websocket-protocol'])) {
            $fail('server selected a subprotocol that was not offered');
        }
    }

    /**
     * @param array<string, list<string>> $headers
     */
    private function readBody(array $headers, string $body, float $deadline): string
    {
        if (isset($headers['content-length'])) {
            $length = (int) $headers['content-length'][0];
            while (strlen($body) < $length && $this->io->fill($body, $deadline)) {
            }

            return substr($body, 0, $length);
        }
        if (str_contains(strtolower(implode(',', $headers['transfer-encoding'] ?? [])), 'chunked')) {
            while (($decoded = self::decodeChunked($body)) === null && $this->io->fill($body, $deadline)) {
            }

            return $decoded ?? $body;
        }
        // No framing: the body runs to EOF (bounded by the deadline).
        while ($this->io->fill($body, $deadline)) {
        }

        return $body;
    }

    /** @return string|null the decoded body, or null if the terminating chunk has not arrived */
    private static function decodeChunked(string $raw): ?string
    {
        $out = '';
        $pos = 0;
        while (true) {
            $lineEnd = strpos($raw, "\r\n", $pos);
            if ($lineEnd === false) {
                return null;
            }
            $size = hexdec(trim(explode(';', substr($raw, $pos, $lineEnd - $pos))[0]));
            if ($size === 0) {
                return $out;
            }
            $start = $lineEnd + 2;
            if (strlen($raw) < $start + $size + 2) {
                return null;
            }
            $out .= substr($raw, $start, (int) $size);
            $pos = $start + (int) $size + 2;
        }
    }

    /**
     * @return array{0: int, 1: string, 2: array<string, list<string>>}
     */
    public static function parseHead(string $head): array
    {
        $lines = explode("\r\n", $head);
        if (!preg_match('#^HTTP/1\.[01] (\d{3})(?: (.*))?$#', (string) array_shift($lines), $m)) {
            throw new ProtocolError('malformed HTTP status line: ' . substr($head, 0, 200));
        }
        $headers = [];
        foreach ($lines as $line) {
            $colon = strpos($line, ':');
            if ($colon === false) {
                throw new ProtocolError("malformed HTTP header line: $line");
            }
            $headers[strtolower(trim(substr($line, 0, $colon)))][] = trim(substr($line, $colon + 1));
        }

        return [(int) $m[1], $m[2] ?? '', $headers];
    }
}
