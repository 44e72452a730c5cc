<?php

declare(strict_types=1);

namespace Realtime\Tests\Support;

use Realtime\Tests\Support\WebSocket\ConnectionClosed;
use Realtime\Tests\Support\WebSocket\Frame;
use Realtime\Tests\Support\WebSocket\FrameCodec;
use Realtime\Tests\Support\WebSocket\HandshakeRejected;
use Realtime\Tests\Support\WebSocket\Message;
use Realtime\Tests\Support\WebSocket\PendingHandshake;
use Realtime\Tests\Support\WebSocket\ProtocolError;
use Realtime\Tests\Support\WebSocket\StreamIO;
use Realtime\Tests\Support\WebSocket\WebSocketException;

/**
 * A small, strict RFC 6455 endpoint for tests.
 *
 * Normally the client side of a connection (masks what it sends, rejects
 * masked frames from the server); serverSide() gives the mirror role so unit
 * tests can run both ends over a socket pair without the Go binary.
 *
 * Strict on purpose: anything the server does wrong (bad accept key, masked
 * frames, invalid UTF-8, bad close codes) is a ProtocolError, because the
 * point of this client is to check the server.
 */
final class WebSocketClient
{
    private const WRITE_TIMEOUT = 5.0;

    private string $buffer;
    private ?int $fragmentOpcode = null;
    private string $fragmentData = '';
    private int $fragmentCount = 0;
    private bool $closeSent = false;
    private bool $closeReceived = false;
    private ?int $closeCode = null;
    private string $closeReason = '';
    private bool $autoPong = true;
    private int $pingsReceived = 0;
    /** @var list<string> */
    private array $pongs = [];
    /** @var list<Message> */
    private array $lastSkipped = [];
    /** @var list<Message> messages read ahead (e.g. by waitForPongs()), delivered first by receive() */
    private array $readAhead = [];

    /**
     * @param array<string, list<string>> $responseHeaders
     *
     * @internal use connect(), clientSide() or serverSide()
     */
    public function __construct(
        private readonly StreamIO $io,
        private readonly bool $isClient,
        private readonly array $responseHeaders = [],
        string $initialBytes = '',
    ) {
        $this->buffer = $initialBytes;
    }

    /**
     * Opens ws:// (or wss://) $url and performs the opening handshake.
     *
     * @param array<string, string|list<string>> $headers extra request headers (Cookie, Origin, Authorization, ...)
     * @param array<string, mixed>               $context stream context options, e.g. ['ssl' => ['verify_peer' => false]]
     *
     * @throws HandshakeRejected when the server answers with a non-101 status
     * @throws ProtocolError     when the 101 response is invalid
     */
    public static function connect(string $url, array $headers = [], float $timeout = 5.0, array $context = []): self
    {
        $parts = parse_url($url);
        $scheme = strtolower($parts['scheme'] ?? '');
        if (!in_array($scheme, ['ws', 'wss'], true) || !isset($parts['host'])) {
            throw new \InvalidArgumentException("not a ws:// or wss:// URL: $url");
        }
        $tls = $scheme === 'wss';
        $port = $parts['port'] ?? ($tls ? 443 : 80);
        $host = str_contains($parts['host'], ':') && !str_starts_with($parts['host'], '[') ? "[{$parts['host']}]" : $parts['host'];
        $target = ($parts['path'] ?? '/') . (isset($parts['query']) ? '?' . $parts['query'] : '');

        $errno = 0;
        $errstr = '';
        $stream = @stream_socket_client(
            ($tls ? 'tls' : 'tcp') . "://$host:$port",
            $errno,
            $errstr,
            $timeout,
            STREAM_CLIENT_CONNECT,
            stream_context_create($context),
        );
        if ($stream === false) {
            throw new WebSocketException("cannot connect to $url: [$errno] $errstr");
        }
        $defaultPort = $tls ? 443 : 80;
        $hostHeader = $port === $defaultPort ? $host : "$host:$port";

        return self::startHandshake($stream, $hostHeader, $target, $headers, $timeout)->complete($timeout);
    }

    /**
     * Connects expecting the server to refuse the upgrade, and returns the
     * refusal so the test can assert its status and headers.
     *
     * @param array<string, string|list<string>> $headers
     */
    public static function expectRejection(string $url, array $headers = [], float $timeout = 5.0): HandshakeRejected
    {
        try {
            $client = self::connect($url, $headers, $timeout);
        } catch (HandshakeRejected $rejected) {
            return $rejected;
        }
        $first = $client->receive(0.2);
        $client->close();
        throw new WebSocketException(
            "expected the server to refuse the upgrade to $url, but it answered 101"
            . ($first === null ? '' : '; first frame: ' . $first->describe()),
        );
    }

    /**
     * Writes the upgrade request on an already-connected stream.
     *
     * @param resource                           $stream
     * @param array<string, string|list<string>> $headers
     */
    public static function startHandshake($stream, string $hostHeader, string $target, array $headers = [], float $timeout = 5.0): PendingHandshake
    {
        $io = new StreamIO($stream);
        // 16 random bytes, base64: §4.1 requires a fresh nonce per connection.
        $key = base64_encode(random_bytes(16));
        $fixed = [
            'Host' => $hostHeader,
            'Upgrade' => 'websocket',
            'Connection' => 'Upgrade',
            'Sec-WebSocket-Key' => $key,
            'Sec-WebSocket-Version' => '13',
        ];
        // Caller-supplied headers may replace Host (virtual-host tests) but
        // not the handshake headers themselves.
        foreach ($headers as $name => $value) {
            if (strcasecmp($name, 'Host') === 0) {
                $fixed['Host'] = is_array($value) ? (string) $value[0] : $value;
                unset($headers[$name]);
            }
        }
        $request = "GET $target HTTP/1.1\r\n";
        foreach ([...$fixed, ...$headers] as $name => $values) {
            foreach ((array) $values as $value) {
                if (preg_match('/[\r\n]/', $name . $value)) {
                    throw new \InvalidArgumentException("header $name contains a line break");
                }
                $request .= "$name: $value\r\n";
            }
        }
        $io->writeAll($request . "\r\n", microtime(true) + $timeout);

        return new PendingHandshake($key, $io);
    }

    /**
     * Wraps an already-upgraded stream as the client end (masks its frames).
     *
     * @param resource $stream
     */
    public static function clientSide($stream): self
    {
        return new self(new StreamIO($stream), true);
    }

    /**
     * Wraps an already-upgraded stream as the server end (unmasked frames,
     * requires masked frames from the peer). For unit tests.
     *
     * @param resource $stream
     */
    public static function serverSide($stream): self
    {
        return new self(new StreamIO($stream), false);
    }

    // ---- sending ----------------------------------------------------------

    public function send(string $text): void
    {
        $this->sendFrame(Frame::TEXT, $text);
    }

    /** @param array<mixed> $payload */
    public function sendJson(array $payload): void
    {
        $this->send(json_encode($payload, JSON_THROW_ON_ERROR | JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE));
    }

    public function sendBinary(string $bytes): void
    {
        $this->sendFrame(Frame::BINARY, $bytes);
    }

    /**
     * Sends one message split into $frames frames (first frame carries the
     * opcode, the rest are continuations). With $pingBetween a ping is
     * interleaved after every fragment but the last, as §5.4 allows.
     */
    public function sendFragmented(string $data, int $frames, int $opcode = Frame::TEXT, ?string $pingBetween = null): void
    {
        if ($frames < 1) {
            throw new \InvalidArgumentException('a message needs at least one frame');
        }
        $size = (int) ceil(strlen($data) / $frames);
        for ($i = 0; $i < $frames; ++$i) {
            $piece = $size === 0 ? '' : (string) substr($data, $i * $size, $size);
            $last = $i === $frames - 1;
            $this->sendFrame($i === 0 ? $opcode : Frame::CONTINUATION, $piece, $last);
            if (!$last && $pingBetween !== null) {
                $this->sendPing($pingBetween);
            }
        }
    }

    public function sendPing(string $payload = ''): void
    {
        $this->sendFrame(Frame::PING, $payload);
    }

    public function sendPong(string $payload = ''): void
    {
        $this->sendFrame(Frame::PONG, $payload);
    }

    /** Encodes and sends one frame, masked when this is the client end. */
    public function sendFrame(int $opcode, string $payload, bool $fin = true, int $rsv = 0): void
    {
        if ($this->closeSent) {
            throw new ConnectionClosed('cannot send after the close frame was sent', $this->closeCode);
        }
        $maskKey = $this->isClient ? random_bytes(4) : null;
        $this->sendRaw(FrameCodec::encode($opcode, $payload, $fin, $maskKey, $rsv));
        if ($opcode === Frame::CLOSE) {
            $this->closeSent = true;
        }
    }

    /** Writes bytes verbatim: for tests that send deliberately broken frames. */
    public function sendRaw(string $bytes): void
    {
        $this->io->writeAll($bytes, microtime(true) + self::WRITE_TIMEOUT);
    }

    // ---- receiving --------------------------------------------------------

    /**
     * Next complete message, or null if none arrives within $timeout.
     * Pings are answered (unless disabled), pongs recorded, fragments
     * reassembled. A close from the peer is answered and returned as a
     * Message whose isClose() is true.
     *
     * @throws ConnectionClosed when the connection is already closed, or drops without a close frame
     * @throws ProtocolError
     */
    public function receive(float $timeout = 5.0): ?Message
    {
        if ($this->readAhead !== []) {
            return array_shift($this->readAhead);
        }
        if ($this->closeReceived) {
            throw new ConnectionClosed(sprintf('connection already closed by the peer (code %s)', $this->closeCode ?? 'none'), $this->closeCode);
        }

        return $this->nextMessage($timeout);
    }

    /**
     * Reads frames off the wire until a message completes or $timeout passes;
     * with $stopAfterControl also returns (null) right after a control frame.
     */
    private function nextMessage(float $timeout, bool $stopAfterControl = false): ?Message
    {
        $deadline = microtime(true) + max(0.0, $timeout);
        while (true) {
            $frame = $this->nextFrame($deadline);
            if ($frame === null) {
                if ($this->io->eof()) {
                    throw new ConnectionClosed('the peer dropped the TCP connection without a close frame');
                }

                return null;
            }
            $message = $this->handle($frame);
            if ($message !== null || ($stopAfterControl && $frame->isControl())) {
                return $message;
            }
        }
    }

    /**
     * Next message decoded as a JSON object; fails if none arrives in time.
     *
     * @return array<string, mixed>
     */
    public function receiveJson(float $timeout = 5.0): array
    {
        $message = $this->receive($timeout);
        if ($message === null) {
            throw new WebSocketException(sprintf('no frame received within %.1fs', $timeout));
        }

        return $message->json();
    }

    /**
     * Reads messages until $predicate(Message) is true, within $timeout.
     * Messages read on the way are kept (lastSkipped()) and listed in the
     * failure message.
     *
     * @param callable(Message): bool $predicate
     */
    public function waitFor(callable $predicate, float $timeout = 5.0, string $what = 'a matching frame'): Message
    {
        $deadline = microtime(true) + $timeout;
        $this->lastSkipped = [];
        while (true) {
            $remaining = $deadline - microtime(true);
            if ($remaining <= 0) {
                throw new WebSocketException(sprintf('timed out after %.1fs waiting for %s%s', $timeout, $what, $this->describeSkipped()));
            }
            try {
                $message = $this->receive($remaining);
            } catch (ConnectionClosed $e) {
                throw new ConnectionClosed("{$e->getMessage()} while waiting for $what" . $this->describeSkipped(), $e->closeCode);
            }
            if ($message === null) {
                continue;
            }
            if ($message->isClose()) {
                throw new ConnectionClosed('the peer closed the connection with ' . $message->describe() . " while waiting for $what" . $this->describeSkipped(), $message->closeCode);
            }
            if ($predicate($message)) {
                return $message;
            }
            $this->lastSkipped[] = $message;
        }
    }

    /**
     * Like waitFor() over JSON objects; non-JSON frames are skipped.
     *
     * @param callable(array<string, mixed>): bool $predicate
     *
     * @return array<string, mixed>
     */
    public function waitForJson(callable $predicate, float $timeout = 5.0, string $what = 'a matching JSON frame'): array
    {
        $match = $this->waitFor(static function (Message $m) use ($predicate): bool {
            try {
                return $predicate($m->json());
            } catch (ProtocolError) {
                return false;
            }
        }, $timeout, $what);

        return $match->json();
    }

    /**
     * Waits for a frame {"event": $event, ...$fields} (fields compared with ===).
     *
     * @param array<string, mixed> $fields
     *
     * @return array<string, mixed>
     */
    public function waitForEvent(string $event, array $fields = [], float $timeout = 5.0): array
    {
        $want = ['event' => $event, ...$fields];

        return $this->waitForJson(
            static fn (array $f): bool => self::subsetEquals($want, $f),
            $timeout,
            json_encode($want, JSON_UNESCAPED_SLASHES) . ' (subset)',
        );
    }

    /**
     * Waits for the peer's close frame and returns its code (null when the
     * frame had no code). Data frames on the way are discarded. Throws if
     * the TCP connection drops without a close frame or nothing comes in time.
     */
    public function waitForClose(float $timeout = 5.0): ?int
    {
        $deadline = microtime(true) + $timeout;
        $this->lastSkipped = [];
        while (!$this->closeReceived) {
            $remaining = $deadline - microtime(true);
            if ($remaining <= 0) {
                throw new WebSocketException(sprintf('the peer did not close the connection within %.1fs%s', $timeout, $this->describeSkipped()));
            }
            $message = $this->receive($remaining);
            if ($message !== null && !$message->isClose()) {
                $this->lastSkipped[] = $message;
            }
        }

        return $this->closeCode;
    }

    /**
     * Waits until $count pongs in total have arrived (RFC 6455 only asks for
     * a pong "as soon as is practical", so it may trail other frames).
     * Messages read meanwhile are kept for the next receive() calls.
     */
    public function waitForPongs(int $count, float $timeout = 5.0): void
    {
        $deadline = microtime(true) + $timeout;
        while (count($this->pongs) < $count) {
            $remaining = $deadline - microtime(true);
            if ($remaining <= 0) {
                throw new WebSocketException(sprintf('%d pong(s) after %.1fs, expected %d', count($this->pongs), $timeout, $count));
            }
            $message = $this->nextMessage($remaining, stopAfterControl: true);
            if ($message !== null) {
                $this->readAhead[] = $message;
                if ($message->isClose()) {
                    throw new ConnectionClosed("the peer closed the connection with {$message->describe()} while waiting for pongs", $message->closeCode);
                }
            }
        }
    }

    // ---- closing ----------------------------------------------------------

    /**
     * Close handshake (§5.5.1): sends a close frame (unless the peer closed
     * first), waits for the peer's close frame, then closes the socket.
     *
     * @return int|null the close code the peer sent, or null if it sent none in time
     */
    public function close(int $code = 1000, string $reason = '', float $timeout = 5.0): ?int
    {
        if (!$this->closeReceived && !$this->closeSent && !$this->io->eof()) {
            try {
                $this->sendFrame(Frame::CLOSE, FrameCodec::closePayload($code, $reason));
            } catch (ConnectionClosed) {
                // The peer is gone already; nothing left to negotiate.
            }
        }
        $deadline = microtime(true) + $timeout;
        try {
            while (!$this->closeReceived && !$this->io->eof() && microtime(true) < $deadline) {
                $this->receive($deadline - microtime(true));
            }
        } catch (ConnectionClosed) {
            // TCP closed without a close frame: closeCode stays null.
        }
        $this->io->close();

        return $this->closeCode;
    }

    // ---- state ------------------------------------------------------------

    public function isOpen(): bool
    {
        return !$this->closeReceived && !$this->closeSent && !$this->io->eof();
    }

    /** Close code the peer sent (null until a close frame with a code arrived). */
    public function closeCode(): ?int
    {
        return $this->closeCode;
    }

    public function closeReason(): string
    {
        return $this->closeReason;
    }

    /** Disable to let a test play a client that never answers pings. */
    public function setAutoPong(bool $enabled): void
    {
        $this->autoPong = $enabled;
    }

    public function pingsReceived(): int
    {
        return $this->pingsReceived;
    }

    /** @return list<string> payloads of the pongs received so far */
    public function pongs(): array
    {
        return $this->pongs;
    }

    /** @return list<Message> messages waitFor() read past on its last call */
    public function lastSkipped(): array
    {
        return $this->lastSkipped;
    }

    public function responseHeader(string $name): ?string
    {
        return $this->responseHeaders[strtolower($name)][0] ?? null;
    }

    public function __destruct()
    {
        $this->io->close();
    }

    // ---- internals --------------------------------------------------------

    private function nextFrame(float $deadline): ?Frame
    {
        while (true) {
            $decoded = FrameCodec::decode($this->buffer);
            if ($decoded !== null) {
                [$frame, $used] = $decoded;
                $this->buffer = (string) substr($this->buffer, $used);

                return $frame;
            }
            if (!$this->io->fill($this->buffer, $deadline)) {
                return null;
            }
        }
    }

    /** Applies one frame; returns a Message when one is complete. */
    private function handle(Frame $frame): ?Message
    {
        if ($frame->masked === $this->isClient) {
            // §5.1: servers never mask, clients always do.
            throw new ProtocolError($this->isClient ? 'server sent a masked frame' : 'client sent an unmasked frame');
        }
        if ($frame->rsv !== 0) {
            throw new ProtocolError('RSV bits set without a negotiated extension');
        }

        switch ($frame->opcode) {
            case Frame::PING:
                ++$this->pingsReceived;
                if ($this->autoPong && !$this->closeSent) {
                    $this->sendFrame(Frame::PONG, $frame->payload);
                }

                return null;
            case Frame::PONG:
                $this->pongs[] = $frame->payload;

                return null;
            case Frame::CLOSE:
                [$code, $reason] = FrameCodec::parseClosePayload($frame->payload);
                $this->closeReceived = true;
                $this->closeCode = $code;
                $this->closeReason = $reason;
                if (!$this->closeSent) {
                    // Echo the code back, as §5.5.1 asks of the receiving end.
                    try {
                        $this->sendFrame(Frame::CLOSE, FrameCodec::closePayload($code));
                    } catch (ConnectionClosed) {
                    }
                }

                return new Message(Frame::CLOSE, $frame->payload, 1, $code, $reason);
            case Frame::TEXT:
            case Frame::BINARY:
                if ($this->fragmentOpcode !== null) {
                    throw new ProtocolError('new data frame while a fragmented message is still open');
                }
                if ($frame->fin) {
                    return $this->complete($frame->opcode, $frame->payload, 1);
                }
                $this->fragmentOpcode = $frame->opcode;
                $this->fragmentData = $frame->payload;
                $this->fragmentCount = 1;

                return null;
            case Frame::CONTINUATION:
                if ($this->fragmentOpcode === null) {
                    throw new ProtocolError('continuation frame without a message to continue');
                }
                $this->fragmentData .= $frame->payload;
                ++$this->fragmentCount;
                if (!$frame->fin) {
                    return null;
                }
                $message = $this->complete($this->fragmentOpcode, $this->fragmentData, $this->fragmentCount);
                $this->fragmentOpcode = null;
                $this->fragmentData = '';
                $this->fragmentCount = 0;

                return $message;
        }
        throw new ProtocolError('unexpected opcode ' . Frame::opcodeName($frame->opcode));
    }

    private function complete(int $opcode, string $data, int $frames): Message
    {
        if ($opcode === Frame::TEXT && !FrameCodec::isUtf8($data)) {
            throw new ProtocolError('text message is not valid UTF-8');
        }

        return new Message($opcode, $data, $frames);
    }

    /**
     * @param array<string, mixed> $want
     * @param array<string, mixed> $have
     */
    private static function subsetEquals(array $want, array $have): bool
    {
        foreach ($want as $key => $value) {
            if (!array_key_exists($key, $have) || $have[$key] !== $value) {
                return false;
            }
        }

        return true;
    }

    private function describeSkipped(): string
    {
        $skipped = $this->lastSkipped;
        if ($skipped === []) {
            return '; no other frames arrived';
        }
        $lines = array_map(static fn (Message $m): string => '  ' . $m->describe(), array_slice($skipped, -20));

        return sprintf("; %d other frame(s) arrived first:\n%s", count($skipped), implode("\n", $lines));
    }
}
