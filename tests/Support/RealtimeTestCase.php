<?php

declare(strict_types=1);

namespace Realtime\Tests\Support;

use PHPUnit\Framework\TestCase;
use Realtime\Tests\Support\WebSocket\ConnectionClosed;
use Realtime\Tests\Support\WebSocket\WebSocketException;

/**
 * Base of the integration test classes: lazily started servers shared by a
 * class (one per configuration), and the helpers every SPEC section needs.
 *
 * No fixed sleeps anywhere: waits are bounded polls for a condition
 * (poll()), or reads with a deadline. Timeouts are generous because the
 * suite must pass on a busy 2-core machine.
 */
abstract class RealtimeTestCase extends TestCase
{
    use CallsPhpApi;
    use Polling;

    /** @var array<string, array<string, Server>> servers per test class, by configuration name */
    private static array $servers = [];

    /** @var array<string, int> log offsets of the servers a test touched */
    private array $logOffsets = [];

    /**
     * The class's server for $name, started on first use with $make().
     *
     * @param callable(): Server $make
     */
    protected function server(string $name, callable $make): Server
    {
        $server = self::$servers[static::class][$name] ?? null;
        if ($server === null || !$server->isRunning()) {
            $server = $make();
            $server->start();
            self::$servers[static::class][$name] = $server;
        }
        $this->logOffsets[$name] ??= $server->logSize();

        return $server;
    }

    /** Stops (and forgets) one of this class's servers, e.g. after a test that broke it on purpose. */
    protected function discardServer(string $name): void
    {
        $server = self::$servers[static::class][$name] ?? null;
        unset(self::$servers[static::class][$name]);
        $server?->stop();
    }

    public static function tearDownAfterClass(): void
    {
        foreach (self::$servers[static::class] ?? [] as $server) {
            $server->stop();
        }
        unset(self::$servers[static::class]);
    }

    protected function onNotSuccessfulTest(\Throwable $t): never
    {
        foreach ($this->logOffsets as $name => $offset) {
            $server = self::$servers[static::class][$name] ?? null;
            if ($server === null) {
                continue;
            }
            // Admin API requests are logged at info level: leave them out.
            $lines = array_filter(explode("\n", $server->logSince($offset, 400)), static fn (string $l): bool => !str_contains($l, '"logger":"admin.api"'));
            $log = implode("\n", array_slice($lines, -40));
            fwrite(STDERR, sprintf("\n--- server '%s' log during %s ---\n%s\n", $name, $this->name(), $log === '' ? '(nothing)' : $log));
        }
        throw $t;
    }

    // ---- clients ----------------------------------------------------------------

    /** A channel name no other test uses. */
    protected static function channel(string $prefix = 'test-'): string
    {
        return $prefix . bin2hex(random_bytes(6));
    }

    /**
     * Connects as $user (cookie user=<id>, auth.php) and consumes the
     * `connected` frame.
     *
     * @param array<string, string|list<string>> $headers
     */
    protected function connectAs(Server $server, string $user, array $headers = []): WebSocketClient
    {
        $cookie = "user=$user";
        if (isset($headers['Cookie'])) {
            $cookie .= '; ' . $headers['Cookie'];
            unset($headers['Cookie']);
        }
        $client = WebSocketClient::connect($server->wsUrl(), ['Cookie' => $cookie, ...$headers], 10.0);
        $connected = $client->receiveJson(10.0);
        self::assertSame('connected', $connected['event'] ?? null, 'first frame: ' . json_encode($connected));
        self::assertSame($user, $connected['user_id'] ?? null, 'connected frame: ' . json_encode($connected));

        return $client;
    }

    /**
     * Subscribes and asserts the `subscribed` reply; returns it (presence
     * channels carry `users`).
     *
     * @return array<string, mixed>
     */
    protected function subscribe(WebSocketClient $client, string $channel): array
    {
        $client->sendJson(['action' => 'subscribe', 'channel' => $channel]);
        $reply = $client->receiveJson(10.0);
        self::assertSame('subscribed', $reply['event'] ?? null, "subscribe to $channel: " . json_encode($reply));
        self::assertSame($channel, $reply['channel'] ?? null, json_encode($reply));

        return $reply;
    }

    /**
     * Sends a raw text frame and returns the next JSON frame.
     *
     * @return array<string, mixed>
     */
    protected static function request(WebSocketClient $client, string $frame): array
    {
        $client->send($frame);

        return $client->receiveJson(10.0);
    }

    /** The connection still answers a ping with a pong (with the id echoed). */
    protected static function assertStillUsable(WebSocketClient $client, string $context = ''): void
    {
        $id = 'alive-' . bin2hex(random_bytes(3));
        $client->sendJson(['action' => 'ping', 'id' => $id]);
        try {
            $reply = $client->receiveJson(10.0);
        } catch (WebSocketException $e) {
            self::fail("connection not usable any more$context: " . $e->getMessage());
        }
        self::assertSame(['event' => 'pong', 'id' => $id], $reply, "connection still usable$context");
    }

    /**
     * Waits for the server to end the connection: returns the close code
     * (null = TCP dropped without a close frame). Data frames before it are ignored.
     */
    protected static function closedBy(WebSocketClient $client, float $timeout = 10.0): ?int
    {
        try {
            return $client->waitForClose($timeout);
        } catch (ConnectionClosed $e) {
            return $e->closeCode;
        }
    }

    // ---- PHP API through the server --------------------------------------------

    // ---- polling -------------------------------------------------------------------


    /**
     * JSON lines a fixture appended to $file in the server's scratch dir.
     *
     * @return list<array<string, mixed>>
     */
    protected static function fixtureLog(Server $server, string $file): array
    {
        $path = $server->workDir() . '/' . $file;
        clearstatcache(true, $path);
        if (!is_file($path)) {
            return [];
        }
        $entries = [];
        foreach (explode("\n", trim((string) file_get_contents($path))) as $line) {
            if ($line !== '') {
                $entries[] = json_decode($line, true, 16, JSON_THROW_ON_ERROR);
            }
        }

        return $entries;
    }

    /**
     * Waits for a JSON log entry written since $offset (Server::logSize())
     * that $match accepts, and returns it.
     *
     * @param callable(array<string, mixed>): bool $match
     *
     * @return array<string, mixed>
     */
    protected static function waitForLogEntry(Server $server, int $offset, callable $match, string $what, float $timeout = 5.0): array
    {
        return self::poll(
            static function () use ($server, $offset, $match): ?array {
                foreach ($server->logEntries($offset) as $entry) {
                    if ($match($entry)) {
                        return $entry;
                    }
                }

                return null;
            },
            $timeout,
            "a log entry: $what",
            static fn (): string => "log since then:\n" . $server->logSince($offset, 30),
        );
    }

    /** Waits until the admin stats report exactly $connections connections. */
    protected static function waitForConnections(Server $server, int $connections, float $timeout = 15.0): void
    {
        self::poll(
            static fn (): bool => $server->stats()['connections'] === $connections,
            $timeout,
            "$connections connection(s) in /realtime/stats",
            static fn (): string => json_encode($server->stats()),
        );
    }

    /** Waits until the goroutine count is back to at most $baseline + $slack. */
    protected static function waitForGoroutines(Server $server, int $baseline, int $slack = 5, float $timeout = 20.0): void
    {
        self::poll(
            static fn (): bool => $server->goroutines() <= $baseline + $slack,
            $timeout,
            "goroutines back to baseline $baseline (+$slack)",
            static fn (): string => 'now ' . $server->goroutines() . "\n" . $server->goroutineDump(),
        );
    }

    /**
     * A goroutine baseline once the server has served one WebSocket
     * connection (lazy pools started) and settled.
     */
    protected function goroutineBaseline(Server $server): int
    {
        $client = $this->connectAs($server, 'baseline');
        $client->close();
        self::waitForConnections($server, 0);
        // Settled: two consecutive equal readings (bounded).
        $previous = -1;
        $count = $server->goroutines();
        $deadline = microtime(true) + 5.0;
        while ($count !== $previous && microtime(true) < $deadline) {
            usleep(100_000); // poll interval between two readings
            $previous = $count;
            $count = $server->goroutines();
        }

        return max($count, $previous);
    }
}
