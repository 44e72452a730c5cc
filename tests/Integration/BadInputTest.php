<?php

declare(strict_types=1);

namespace Realtime\Tests\Integration;

use Realtime\Tests\Support\RealtimeTestCase;
use Realtime\Tests\Support\Server;
use Realtime\Tests\Support\WebSocket\FrameCodec;
use Realtime\Tests\Support\WebSocket\WebSocketException;
use Realtime\Tests\Support\WebSocketClient;

/**
 * SPEC §4 "the server never crashes or stalls other clients on bad input":
 * 40 hostile clients send thousands of malformed frames and drop their
 * connections in every impolite way, while a healthy client receives an
 * uninterrupted, ordered sequence of broadcasts. Bounded to ~30 s.
 */
final class BadInputTest extends RealtimeTestCase
{
    private const ATTACKERS = 40;
    private const ROUNDS = 100;

    public function testHostileClientsDoNotDisturbAHealthyOne(): void
    {
        $server = $this->server('bad', static fn () => new Server('max_frame_size 4KiB', withAdmin: true));
        $baseline = $this->goroutineBaseline($server);
        $channel = self::channel();
        $healthy = $this->connectAs($server, 'healthy');
        $this->subscribe($healthy, $channel);

        /** @var array<int, WebSocketClient|resource|null> $attackers */
        $attackers = array_fill(0, self::ATTACKERS, null);
        $stats = ['frames' => 0, 'reconnects' => 0];
        $expected = 0;
        $received = 0;
        $deadline = microtime(true) + 30.0;

        for ($round = 0; $round < self::ROUNDS && microtime(true) < $deadline; ++$round) {
            foreach ($attackers as $i => $attacker) {
                $attackers[$i] = $this->attack($server, $attacker, $round * self::ATTACKERS + $i, $stats);
            }
            // One broadcast per round; the healthy client must get each, in order.
            ++$expected;
            $response = $server->adminBroadcast($channel, "seq-$expected");
            self::assertSame(202, $response->status, $response->describe());
            $frame = $healthy->receiveJson(10.0);
            self::assertSame(['event' => 'message', 'channel' => $channel, 'data' => "seq-$expected"], $frame, "broadcast $expected during round $round");
            ++$received;
        }
        self::assertSame(self::ROUNDS, $expected, 'all rounds ran within 30 s');
        self::assertSame($expected, $received);
        self::assertGreaterThanOrEqual(2000, $stats['frames'], 'thousands of malformed frames were sent');
        self::assertStillUsable($healthy);

        // Clean up: drop every attacker abruptly.
        foreach ($attackers as $attacker) {
            if (is_resource($attacker)) {
                fclose($attacker);
            }
        }
        $attackers = [];
        self::waitForConnections($server, 1, 20.0);
        self::assertSame(['connections' => 1, 'channels' => 1, 'subscriptions' => 1], $server->stats());
        self::assertTrue($server->isRunning(), 'the server did not crash');
        $healthy->close();
        self::waitForConnections($server, 0);
        self::waitForGoroutines($server, $baseline, 5, 30.0);
    }

    /**
     * One step of hostile client #$n: (re)connects if needed, then sends a
     * few malformed frames or drops the connection in some impolite way.
     * Returns the raw socket (or null when it was dropped).
     *
     * @param resource|null                        $socket
     * @param array{frames: int, reconnects: int} $stats
     *
     * @return resource|null
     */
    private function attack(Server $server, $socket, int $n, array &$stats)
    {
        if (!is_resource($socket) || feof($socket)) {
            if (is_resource($socket)) {
                fclose($socket);
            }
            $socket = self::openRaw($server, "bad-$n");
            ++$stats['reconnects'];
            if ($socket === null) {
                return null;
            }
        }
        $mask = static fn (int $opcode, string $payload, bool $fin = true): string => FrameCodec::encode($opcode, $payload, $fin, random_bytes(4));
        $kind = $n % 12;
        $bytes = match ($kind) {
            0 => $mask(0x1, 'not json') . $mask(0x1, '[1,2,3]') . $mask(0x1, '{"action":'),
            1 => $mask(0x1, '{"action":"explode"}') . $mask(0x1, '{}') . $mask(0x1, '{"action":7,"id":{"a":[1]}}'),
            2 => $mask(0x1, '{"action":"subscribe","channel":"' . str_repeat('x', 300) . '"}') . $mask(0x1, '{"action":"subscribe","channel":["a"]}') . $mask(0x1, '{"action":"subscribe","channel":"private-x"}'),
            3 => $mask(0x1, str_repeat('{', 5000)), // oversized (max_frame_size 4KiB) → 1009
            4 => $mask(0x2, random_bytes(64)), // binary → 1003
            5 => $mask(0x1, '{"action":', false) . $mask(0x1, 'garbage') . $mask(0x0, '"ping"}'), // new data frame inside a fragmented message
            6 => $mask(0x0, 'continuation without start'),
            7 => substr($mask(0x1, str_repeat('z', 1000)), 0, 300), // truncated mid-frame (then closed below)
            8 => $mask(0x1, "\xff\xfe invalid utf-8") . $mask(0x1, '{"action":"ping","id":1}'),
            9 => $mask(0x9, str_repeat('p', 200)), // control frame too long
            10 => "\x81\x05hello", // unmasked client frame
            11 => $mask(0x1, '{"action":"subscribe","channel":"ok-' . $n . '"}') . $mask(0x1, '{"action":"unsubscribe","channel":"ok-' . $n . '"}') . $mask(0x1, '{"action":"ping"}'),
        };
        $stats['frames'] += match ($kind) { 0, 1, 2, 5, 11 => 3, 8 => 2, default => 1 };
        if (@fwrite($socket, $bytes) === false) {
            fclose($socket);

            return null;
        }
        // Read (and discard) whatever the server answered, without waiting.
        while (is_string($chunk = @fread($socket, 65536)) && $chunk !== '') {
        }
        switch ($n % 7) {
            case 3: // abrupt close mid-frame
                @fwrite($socket, "\x81\xfe\x10\x00" . random_bytes(4) . 'partial');
                fclose($socket);

                return null;
            case 5: // half-close: no more writes, socket left open
                @stream_socket_shutdown($socket, STREAM_SHUT_WR);

                return $kind === 7 ? self::drop($socket) : $socket;
            default:
                return $kind === 7 ? self::drop($socket) : $socket;
        }
    }

    /** @param resource $socket */
    private static function drop($socket): null
    {
        fclose($socket);

        return null;
    }

    /**
     * A raw upgraded socket (the helper client refuses to send some of
     * the broken frames above), the connected frame left unread.
     *
     * @return resource|null
     */
    private static function openRaw(Server $server, string $user)
    {
        $socket = @stream_socket_client('tcp://127.0.0.1:' . $server->port(), $errno, $errstr, 10.0);
        if ($socket === false) {
            throw new WebSocketException("connect: $errstr");
        }
        $key = base64_encode(random_bytes(16));
        fwrite($socket, "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{$server->port()}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            . "Sec-WebSocket-Key: $key\r\nSec-WebSocket-Version: 13\r\nCookie: user=$user\r\n\r\n");
        stream_set_timeout($socket, 10);
        $head = '';
        while (!str_contains($head, "\r\n\r\n") && !feof($socket)) {
            $line = fgets($socket);
            if ($line === false) {
                break;
            }
            $head .= $line;
        }
        if (!str_starts_with($head, 'HTTP/1.1 101')) {
            throw new WebSocketException('hostile client upgrade refused: ' . strtok($head, "\r\n"));
        }
        stream_set_blocking($socket, false);

        return $socket;
    }
}
