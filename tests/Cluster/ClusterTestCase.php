<?php

declare(strict_types=1);

namespace Realtime\Tests\Cluster;

use PHPUnit\Framework\TestCase;
use Realtime\Tests\Support\CallsPhpApi;
use Realtime\Tests\Support\HttpResponse;
use Realtime\Tests\Support\PhpCli;
use Realtime\Tests\Support\Polling;
use Realtime\Tests\Support\Server;
use Realtime\Tests\Support\ValkeyServer;
use Realtime\Tests\Support\WebSocket\ConnectionClosed;
use Realtime\Tests\Support\WebSocket\WebSocketException;
use Realtime\Tests\Support\WebSocketClient;

/**
 * Base of the cluster tests: N real FrankenPHP nodes (bin/frankenphp, each on
 * its own free loopback port, admin API on another) joined through one
 * private valkey-server with `driver valkey`, `valkey_address` and a random
 * `prefix`; document root tests/fixtures/cluster.
 *
 * Processes are owned either by the class (shared by its tests, stopped in
 * tearDownAfterClass) or by one test (stopped in tearDown, so a test that
 * kills Valkey or a node never leaks into the next). Server and ValkeyServer
 * also stop their process in __destruct.
 *
 * No fixed sleeps: every wait is a bounded poll for a condition or a read
 * with a deadline; timeouts are generous for a busy 2-core machine.
 */
abstract class ClusterTestCase extends TestCase
{
    use CallsPhpApi;
    use Polling;

    /** @var array<string, list<Server|ValkeyServer>> processes shared by a test class */
    private static array $classProcesses = [];

    /** @var array<string, array<string, mixed>> per-class cached values (clusters) */
    private static array $classState = [];

    /** @var list<Server|ValkeyServer> processes of the running test */
    private array $testProcesses = [];

    /** @var array<string, array{Server, int}> nodes a test touched, with their log size at the time */
    private array $touched = [];

    /** @var list<string> directories to remove */
    private static array $dirs = [];

    protected function setUp(): void
    {
        if (!ValkeyServer::available()) {
            self::fail('valkey-server not found: run scripts/install-valkey.sh (or set VALKEY_SERVER_BIN)');
        }
        Server::requireBinary();
    }

    protected function tearDown(): void
    {
        self::stopAll($this->testProcesses);
        $this->testProcesses = [];
    }

    public static function tearDownAfterClass(): void
    {
        self::stopAll(self::$classProcesses[static::class] ?? []);
        unset(self::$classProcesses[static::class], self::$classState[static::class]);
        foreach (self::$dirs as $dir) {
            if (getenv('REALTIME_KEEP_TEST_LOGS') === false) {
                foreach (glob("$dir/*") ?: [] as $file) {
                    @unlink($file);
                }
                @rmdir($dir);
            }
        }
        self::$dirs = [];
    }

    /** @param list<Server|ValkeyServer> $processes nodes first, then Valkey */
    private static function stopAll(array $processes): void
    {
        usort($processes, static fn ($x, $y): int => ($x instanceof ValkeyServer) <=> ($y instanceof ValkeyServer));
        foreach ($processes as $process) {
            try {
                $process->stop();
            } catch (\Throwable) {
                // keep stopping the others
            }
        }
    }

    protected function onNotSuccessfulTest(\Throwable $t): never
    {
        foreach ($this->touched as $name => [$server, $offset]) {
            $lines = array_filter(
                explode("\n", $server->logSince($offset, 400)),
                static fn (string $l): bool => !str_contains($l, '"logger":"admin.api"'),
            );
            $log = implode("\n", array_slice($lines, -30));
            fwrite(STDERR, sprintf("\n--- node '%s' (port %d) log during %s ---\n%s\n", $name, $server->port(), $this->name(), $log === '' ? '(nothing)' : $log));
        }
        throw $t;
    }

    // ---- processes -------------------------------------------------------------------

    /** A Valkey key/channel prefix no other test class uses. */
    protected static function randomPrefix(): string
    {
        return 'rtc' . bin2hex(random_bytes(5));
    }

    /** A directory every node of a cluster shares (REALTIME_CLUSTER_DIR: hook recorder). */
    protected static function sharedDir(): string
    {
        $dir = sys_get_temp_dir() . '/realtime-cluster-' . bin2hex(random_bytes(6));
        mkdir($dir, 0777, true);
        self::$dirs[] = $dir;

        return $dir;
    }

    /** A private valkey-server, started unless $start is false (its port is reserved either way). */
    protected function valkey(bool $start = true, bool $forClass = false): ValkeyServer
    {
        $valkey = new ValkeyServer();
        $this->own($valkey, $forClass);
        if ($start) {
            $valkey->start();
        }

        return $valkey;
    }

    /**
     * The realtime block of a cluster node.
     *
     * @param list<string> $extra more option lines
     */
    protected static function realtimeOptions(string $valkeyAddress, string $prefix, array $extra = []): string
    {
        return implode("\n", [
            'driver valkey',
            "valkey_address $valkeyAddress",
            "prefix $prefix",
            'auth_endpoint /auth.php',
            'authorize_endpoint /authorize.php',
            ...$extra,
        ]);
    }

    /**
     * Starts one node (admin API on) of the cluster $prefix on $valkeyAddress.
     *
     * @param list<string> $extra more realtime option lines
     */
    protected function node(string $name, string $valkeyAddress, string $prefix, array $extra = [], ?string $sharedDir = null, bool $forClass = false): Server
    {
        $server = new Server(
            self::realtimeOptions($valkeyAddress, $prefix, $extra),
            Server::root() . '/tests/fixtures/cluster',
            withAdmin: true,
            env: [
                'REALTIME_NODE' => $name,
                'REALTIME_CLUSTER_DIR' => $sharedDir ?? '',
                // A server never publishes through these (SPEC §5: in-process hub);
                // make sure the test runner's environment cannot leak in either.
                'REALTIME_VALKEY_ADDRESS' => '',
                'REALTIME_PREFIX' => '',
            ],
        );
        $this->own($server, $forClass);
        $server->start(60.0);
        $this->touch($name, $server);

        return $server;
    }

    /**
     * A cluster shared by the test class, built on first use by $make and
     * kept until tearDownAfterClass.
     *
     * @template T
     *
     * @param callable(): T $make
     *
     * @return T
     */
    protected function shared(string $key, callable $make): mixed
    {
        if (!array_key_exists($key, self::$classState[static::class] ?? [])) {
            self::$classState[static::class][$key] = $make();
        }

        return self::$classState[static::class][$key];
    }

    /** Records $server so its log is shown if the test fails. */
    protected function touch(string $name, Server $server): void
    {
        $this->touched[$name] ??= [$server, $server->logSize()];
    }

    private function own(Server|ValkeyServer $process, bool $forClass): void
    {
        if ($forClass) {
            self::$classProcesses[static::class][] = $process;
        } else {
            $this->testProcesses[] = $process;
        }
    }

    /** SIGKILL of a node's process (no graceful shutdown, nothing cleaned up), then reaps it. */
    protected static function killNode(Server $server): void
    {
        $pid = $server->pid();
        self::assertNotNull($pid, 'node is not running');
        $kill = proc_open(['kill', '-KILL', (string) $pid], [0 => ['file', '/dev/null', 'r'], 1 => ['file', '/dev/null', 'w'], 2 => ['file', '/dev/null', 'w']], $pipes);
        self::assertIsResource($kill);
        $code = proc_close($kill);
        self::assertSame(0, $code, "kill -KILL $pid failed");
        self::poll(static fn (): bool => !$server->isRunning(), 10.0, "node (pid $pid) gone after SIGKILL");
        $server->stop(); // reaps the process and releases its ports
    }

    // ---- clients -----------------------------------------------------------------------

    protected static function channel(string $prefix = 'cl-'): string
    {
        return $prefix . bin2hex(random_bytes(6));
    }

    /** A user id no other test uses; numeric ids are made of digits only. */
    protected static function user(string $prefix = 'u'): string
    {
        return $prefix . random_int(100000, 999999);
    }

    /** Connects as $user (cookie user=<id>) and consumes the `connected` frame. */
    protected static function connectAs(Server $server, string $user): WebSocketClient
    {
        $client = WebSocketClient::connect($server->wsUrl(), ['Cookie' => 'user=' . rawurlencode($user)], 15.0);
        $connected = $client->receiveJson(15.0);
        self::assertSame('connected', $connected['event'] ?? null, 'first frame: ' . json_encode($connected));
        self::assertSame($user, $connected['user_id'] ?? null, 'connected frame: ' . json_encode($connected));

        return $client;
    }

    /**
     * Subscribes and returns the `subscribed` reply (presence channels carry
     * `users`). Any other frame arriving before the reply fails the test.
     *
     * @return array<string, mixed>
     */
    protected static function subscribe(WebSocketClient $client, string $channel): array
    {
        $client->sendJson(['action' => 'subscribe', 'channel' => $channel]);
        $reply = $client->receiveJson(15.0);
        self::assertSame('subscribed', $reply['event'] ?? null, "subscribe to $channel: " . json_encode($reply));
        self::assertSame($channel, $reply['channel'] ?? null, json_encode($reply));

        return $reply;
    }

    /** The next frame of $client is exactly $expected (within $timeout). */
    protected static function assertNextFrame(WebSocketClient $client, array $expected, string $context, float $timeout = 15.0): void
    {
        try {
            $frame = $client->receiveJson($timeout);
        } catch (WebSocketException $e) {
            self::fail("$context: expected " . json_encode($expected, JSON_UNESCAPED_SLASHES) . ', got: ' . $e->getMessage());
        }
        self::assertSame($expected, $frame, $context);
    }

    /**
     * Negative assertion: publishes a sentinel on $channel through $via, then
     * each client's next frame must be that sentinel — nothing else arrived
     * before it (all clients must be subscribed to $channel).
     *
     * @param array<string, WebSocketClient> $clients
     */
    protected static function assertNothingBeforeSentinel(Server $via, string $channel, array $clients, string $context): void
    {
        $sentinel = 'sentinel-' . bin2hex(random_bytes(4));
        self::publish($via, $channel, $sentinel);
        foreach ($clients as $name => $client) {
            self::assertNextFrame($client, ['event' => 'message', 'channel' => $channel, 'data' => $sentinel], "$context ($name: the next frame must be the sentinel)");
        }
    }

    /** The connection still answers a ping. */
    protected static function assertUsable(WebSocketClient $client, string $context): void
    {
        $id = 'alive-' . bin2hex(random_bytes(3));
        $client->sendJson(['action' => 'ping', 'id' => $id]);
        self::assertNextFrame($client, ['event' => 'pong', 'id' => $id], "$context: the connection is still usable");
    }

    /** Waits for the server to close the connection; returns the close code (null: TCP dropped). */
    protected static function closedBy(WebSocketClient $client, float $timeout = 15.0): ?int
    {
        try {
            return $client->waitForClose($timeout);
        } catch (ConnectionClosed $e) {
            return $e->closeCode;
        }
    }

    // ---- PHP API inside a node -------------------------------------------------------

    /** @return list<string> getChannelUsers() on $server, sorted */
    protected static function channelUsers(Server $server, string $channel): array
    {
        $users = self::callOk($server, 'getChannelUsers', [$channel]);
        self::assertIsArray($users);
        sort($users);

        return $users;
    }

    /** Asserts the call threw $class inside the server; returns the message. */
    protected static function assertThrew(HttpResponse $response, string $class, string $context): string
    {
        self::assertSame(500, $response->status, "$context: expected $class, got " . $response->describe());
        $error = $response->json();
        self::assertSame($class, $error['class'] ?? null, "$context: " . $response->body);

        return (string) ($error['message'] ?? '');
    }

    // ---- php-cli ----------------------------------------------------------------------------

    /**
     * Runs `frankenphp php-cli -r $code` with $env on top of a clean
     * environment (no REALTIME_* variables of the runner).
     *
     * @param array<string, string> $env
     *
     * @return array{0: int, 1: string, 2: string} exit code, stdout, stderr
     */
    protected static function phpCli(string $code, array $env, float $timeout = 30.0): array
    {
        try {
            return PhpCli::run($code, $env, $timeout);
        } catch (\RuntimeException $e) {
            self::fail($e->getMessage());
        }
    }

    // ---- admin API & metrics ------------------------------------------------------------

    /** Sum of a metric's samples (all label sets) from the node's admin /metrics. */
    protected static function metric(Server $server, string $name): float
    {
        $response = Server::request('GET', $server->adminUrl('/metrics'));
        self::assertSame(200, $response->status, 'GET /metrics: ' . substr($response->describe(), 0, 300));
        $sum = 0.0;
        $found = false;
        foreach (explode("\n", $response->body) as $line) {
            if (preg_match('/^' . preg_quote($name, '/') . '(?:\{[^}]*\})?\s+(\S+)$/', $line, $m)) {
                $sum += (float) $m[1];
                $found = true;
            }
        }
        self::assertTrue($found, "metric $name not exposed on the admin /metrics of port {$server->port()}");

        return $sum;
    }

    /**
     * JSON lines the hook recorder appended in $dir.
     *
     * @return list<array<string, mixed>>
     */
    protected static function hookLog(string $dir, ?string $channel = null): array
    {
        $path = "$dir/presence.jsonl";
        clearstatcache(true, $path);
        if (!is_file($path)) {
            return [];
        }
        $entries = [];
        foreach (explode("\n", trim((string) file_get_contents($path))) as $line) {
            if ($line !== '') {
                $entry = json_decode($line, true, 8, JSON_THROW_ON_ERROR);
                if ($channel === null || $entry['channel'] === $channel) {
                    $entries[] = $entry;
                }
            }
        }

        return $entries;
    }

    // ---- polling ----------------------------------------------------------------------------


    /** Prints a measurement on STDERR (kept out of PHPUnit's output check). */
    protected static function report(string $line): void
    {
        fwrite(STDERR, "\n[cluster] $line\n");
    }
}
