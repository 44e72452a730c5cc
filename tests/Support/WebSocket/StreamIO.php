<?php

declare(strict_types=1);

namespace Realtime\Tests\Support\WebSocket;

/**
 * Deadline-bounded reads and writes on a non-blocking stream. Every wait is a
 * stream_select() for the condition itself, never a fixed sleep.
 */
final class StreamIO
{
    private bool $eof = false;

    /**
     * @param resource $stream
     */
    public function __construct(private $stream)
    {
        stream_set_blocking($stream, false);
        // Unbuffered reads keep stream_select() and fread() in agreement
        // about what is available.
        stream_set_read_buffer($stream, 0);
    }

    /**
     * Appends whatever arrives before $deadline to $buffer.
     *
     * @return bool true if bytes were appended; false on timeout or EOF (see eof())
     */
    public function fill(string &$buffer, float $deadline): bool
    {
        while (true) {
            if (!is_resource($this->stream)) {
                $this->eof = true;

                return false;
            }
            $chunk = @fread($this->stream, 65536);
            if ($chunk !== false && $chunk !== '') {
                $buffer .= $chunk;

                return true;
            }
            if ($chunk === false || feof($this->stream)) {
                $this->eof = true;

                return false;
            }
            $remaining = $deadline - microtime(true);
            if ($remaining <= 0) {
                return false;
            }
            $read = [$this->stream];
            $write = $except = null;
            [$sec, $usec] = self::split($remaining);
            if (@stream_select($read, $write, $except, $sec, $usec) === false) {
                throw new WebSocketException('stream_select() failed while reading');
            }
        }
    }

    /** Writes every byte or throws; bounded by $deadline. */
    public function writeAll(string $bytes, float $deadline): void
    {
        while ($bytes !== '') {
            if (!is_resource($this->stream)) {
                throw new ConnectionClosed('write on a closed connection');
            }
            $written = @fwrite($this->stream, $bytes);
            if ($written === false) {
                $this->eof = true;
                throw new ConnectionClosed('write failed: the peer closed the connection');
            }
            if ($written > 0) {
                $bytes = (string) substr($bytes, $written);
                continue;
            }
            $remaining = $deadline - microtime(true);
            if ($remaining <= 0) {
                throw new WebSocketException(sprintf('write timed out with %d bytes unsent (peer not reading?)', strlen($bytes)));
            }
            $read = $except = null;
            $write = [$this->stream];
            [$sec, $usec] = self::split($remaining);
            if (@stream_select($read, $write, $except, $sec, $usec) === false) {
                throw new WebSocketException('stream_select() failed while writing');
            }
        }
    }

    public function eof(): bool
    {
        return $this->eof;
    }

    public function close(): void
    {
        if (is_resource($this->stream)) {
            fclose($this->stream);
        }
        $this->eof = true;
    }

    /** @return array{0: int, 1: int} */
    private static function split(float $seconds): array
    {
        $sec = (int) floor($seconds);

        return [$sec, (int) (($seconds - $sec) * 1_000_000)];
    }
}
