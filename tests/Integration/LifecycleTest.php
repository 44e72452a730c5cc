<?php

declare(strict_types=1);

namespace Realtime\Tests\Integration;

use PHPUnit\Framework\Attributes\DataProvider;
use Realtime\Tests\Support\RealtimeTestCase;
use Realtime\Tests\Support\Server;

/**
 * SPEC §2 lifecycle: reloads through the admin API's /load (what
 * `caddy reload` does), SIGTERM, goroutines returning to baseline, and
 * configuration errors naming the option.
 */
final class LifecycleTest extends RealtimeTestCase
{
    private const OPTIONS = "max_frame_size 16384\nping_interval 25s\nallowed_origins https://a.example https://b.example\nmax_subscriptions 50";
    /** The same settings, reordered and written differently. */
    private const SAME_OPTIONS = "max_subscriptions 50\nallowed_origins https://b.example\nallowed_origins https://a.example\nping_interval 25000ms\nmax_frame_size 16KiB";

    private function fresh(string $name): Server
    {
        $this->discardServer($name);

        return $this->server($name, static fn () => new Server(self::OPTIONS, withAdmin: true));
    }

    public function testReloadWithUnchangedRealtimeOptionsKeepsConnections(): void
    {
        $server = $this->fresh('reload-same');
        $baseline = $this->goroutineBaseline($server);
        $channel = self::channel();
        $client = $this->connectAs($server, '1');
        $this->subscribe($client, $channel);

        $response = $server->reload(self::SAME_OPTIONS, "handle /extra {\n\trespond \"extra route\" 200\n}");
        self::assertSame(200, $response->status, '/load: ' . $response->describe());
        self::assertSame('extra route', $server->http('GET', '/extra')->body, 'the new config is live');

        self::assertTrue($client->isOpen());
        self::assertSame(202, $server->adminBroadcast($channel, 'after reload')->status);
        self::assertSame(['event' => 'message', 'channel' => $channel, 'data' => 'after reload'], $client->receiveJson(10.0), 'the connection survived the reload and still receives');
        self::assertStillUsable($client);
        self::assertSame(1, $server->stats()['connections']);
        // ... and PHP still publishes to it after the reload (SPEC §5 functions survive `caddy reload`).
        self::publish($server, $channel, 'from PHP after reload');
        self::assertSame('from PHP after reload', $client->receiveJson(10.0)['data'] ?? null);

        $client->close();
        self::waitForConnections($server, 0);
        self::waitForGoroutines($server, $baseline);
    }

    /**
     * SPEC §2: only driver, valkey_address and prefix are the backend. A
     * reload changing anything else keeps every connection and subscription,
     * and the new values apply to the next handshake, subscribe and publish.
     */
    public function testReloadThatChangesNonBackendOptionsKeepsConnections(): void
    {
        $server = $this->fresh('reload-changed');
        $baseline = $this->goroutineBaseline($server);
        $channel = self::channel();
        $clients = [];
        for ($i = 0; $i < 50; ++$i) {
            $clients[$i] = $this->connectAs($server, "u$i");
            $this->subscribe($clients[$i], $channel);
        }
        // a: 3 subscriptions before the reload, over the new limit of 2.
        foreach (['x1-', 'x2-'] as $p) {
            $this->subscribe($clients[0], self::channel($p));
        }

        $changed = "max_frame_size 16384\nping_interval 25s\nallowed_origins https://c.example\nmax_subscriptions 3\nmax_message_size 100";
        $response = $server->reload($changed);
        self::assertSame(200, $response->status, '/load: ' . $response->describe());

        // Every connection and subscription stayed.
        self::assertSame(50, $server->stats()['connections']);
        self::assertSame(202, $server->adminBroadcast($channel, 'after reload')->status);
        foreach ($clients as $i => $client) {
            self::assertSame('after reload', $client->receiveJson(10.0)['data'] ?? null, "client $i kept its subscription");
        }
        // max_subscriptions applies to the next subscribe (existing ones stay).
        $refused = self::request($clients[0], json_encode(['action' => 'subscribe', 'channel' => self::channel('x3-')]));
        self::assertSame('too_many_subscriptions', $refused['code'] ?? null, json_encode($refused));
        // max_message_size applies to the next publish.
        $tooBig = $server->adminBroadcast($channel, str_repeat('x', 101));
        self::assertSame(400, $tooBig->status, $tooBig->describe());
        self::assertSame(202, $server->adminBroadcast($channel, str_repeat('y', 100))->status);
        self::assertSame(str_repeat('y', 100), $clients[1]->receiveJson(10.0)['data'] ?? null);
        // allowed_origins applies to the next handshake.
        $old = \Realtime\Tests\Support\WebSocketClient::expectRejection($server->wsUrl(), ['Cookie' => 'user=9', 'Origin' => 'https://a.example'], 10.0);
        self::assertSame(403, $old->status, 'an origin the new config no longer lists is refused');
        $new = $this->connectAs($server, 'n', ['Origin' => 'https://c.example']);
        self::assertStillUsable($new);
        $new->close();

        foreach ($clients as $client) {
            $client->close();
        }
        self::waitForConnections($server, 0);
        self::waitForGoroutines($server, $baseline);
    }

    /** A reload that changes the backend (here memory → valkey) closes every connection with 1001. */
    public function testReloadThatChangesTheBackendClosesWith1001(): void
    {
        $server = $this->fresh('reload-backend');
        $baseline = $this->goroutineBaseline($server);
        $clients = [$this->connectAs($server, '1'), $this->connectAs($server, '2')];
        $this->subscribe($clients[0], self::channel());

        // Valkey down is not a load error: the new hub serves this node and reconnects.
        $port = Server::unusedPort();
        $response = $server->reload(self::OPTIONS . "\ndriver valkey\nvalkey_address 127.0.0.1:$port");
        self::assertSame(200, $response->status, '/load: ' . $response->describe());
        foreach ($clients as $client) {
            self::assertSame(1001, self::closedBy($client, 15.0), 'a backend change closes with 1001');
        }
        $again = $this->connectAs($server, '3');
        self::assertStillUsable($again);
        $again->close();

        self::assertSame(200, $server->reload(self::OPTIONS)->status, 'back to memory');
        self::waitForConnections($server, 0);
        self::waitForGoroutines($server, $baseline);
    }

    public function testSigtermClosesWith1001(): void
    {
        $server = $this->fresh('sigterm');
        $a = $this->connectAs($server, '1');
        $b = $this->connectAs($server, '2');
        $this->subscribe($a, self::channel());
        $started = microtime(true);
        $code = $server->terminate(20.0);
        self::assertSame(1001, self::closedBy($a, 15.0), 'shutdown closes with 1001');
        self::assertSame(1001, self::closedBy($b, 15.0));
        self::assertNotNull($code, 'the server exited after SIGTERM: ' . $server->exitDescription() . "\n" . $server->logTail(40));
        self::assertLessThan(15.0, microtime(true) - $started);
        $this->discardServer('sigterm');
    }

    public function testManyReloadsLeaveNoGoroutineBehind(): void
    {
        $server = $this->fresh('reload-many');
        $baseline = $this->goroutineBaseline($server);
        $client = $this->connectAs($server, 'stay');
        $channel = self::channel();
        $this->subscribe($client, $channel);
        for ($i = 0; $i < 6; ++$i) {
            // Equivalent spellings and changed limits alike: the hub survives every time.
            $options = match ($i % 3) {
                0 => self::SAME_OPTIONS,
                1 => self::OPTIONS,
                2 => str_replace('max_subscriptions 50', 'max_subscriptions ' . (60 + $i), self::OPTIONS),
            };
            $response = $server->reload($options, "handle /r$i {\n\trespond \"$i\" 200\n}");
            self::assertSame(200, $response->status, $response->describe());
        }
        self::assertSame(202, $server->adminBroadcast($channel, 'still')->status);
        self::assertSame('still', $client->receiveJson(10.0)['data'] ?? null);
        $client->close();
        self::waitForConnections($server, 0);
        self::waitForGoroutines($server, $baseline);
    }

    // ---- configuration errors ------------------------------------------------------------

    private static function caddyfile(string $realtime, string $extraSite = ''): string
    {
        $root = Server::root() . '/tests/fixtures/app';

        return "{\n\tadmin off\n\tfrankenphp\n\tauto_https off\n}\n\nhttp://127.0.0.1:1 {\n\troot * $root\n$extraSite\thandle /ws {\n\t\trealtime {\n\t\t\t$realtime\n\t\t}\n\t}\n\tphp_server\n}\n";
    }

    /** @return iterable<string, array{string, string}> */
    public static function badOptions(): iterable
    {
        yield 'unknown option' => ['max_frame_sizes 16KiB', 'max_frame_sizes'];
        yield 'bad size' => ['max_frame_size banana', 'max_frame_size'];
        yield 'bad message size' => ['max_message_size -1', 'max_message_size'];
        yield 'bad pending size' => ['max_pending_bytes lots', 'max_pending_bytes'];
        yield 'unknown driver' => ['driver nope', 'driver'];
        yield 'non-http origin' => ['allowed_origins ftp://x', 'allowed_origins'];
        yield 'origin with a path' => ['allowed_origins https://a.example/app', 'allowed_origins'];
        yield 'bad duration' => ['ping_interval soon', 'ping_interval'];
        yield 'bad auth timeout' => ['auth_timeout 0s', 'auth_timeout'];
        yield 'bad subscriptions' => ['max_subscriptions many', 'max_subscriptions'];
        yield 'negative connections' => ['max_connections -1', 'max_connections'];
        yield 'relative endpoint' => ['auth_endpoint auth.php', 'auth_endpoint'];
        yield 'bad endpoint URL' => ['authorize_endpoint http://', 'authorize_endpoint'];
        yield 'missing value' => ['presence_grace', 'presence_grace'];
        yield 'two values' => ['max_frame_size 1KiB 2KiB', 'max_frame_size'];
    }

    #[DataProvider('badOptions')]
    public function testValidateFailsNamingTheOption(string $line, string $option): void
    {
        [$code, $out, $err] = Server::runTool('validate', self::caddyfile($line));
        self::assertNotSame(0, $code, "validate must fail for '$line'; stdout: $out; stderr: $err");
        self::assertStringContainsString($option, $err, "the error names the option '$option'");
    }

    public function testAValidConfigValidates(): void
    {
        [$code, $out, $err] = Server::runTool('validate', self::caddyfile("max_frame_size 16KiB\n\t\t\tallowed_origins *\n\t\t\tpresence_grace 500ms"));
        self::assertSame(0, $code, "stdout: $out\nstderr: $err");
    }

    public function testTwoHandlersWithDifferentOptionsFailToLoad(): void
    {
        $second = "\thandle /ws2 {\n\t\trealtime {\n\t\t\tmax_subscriptions 7\n\t\t}\n\t}\n";
        [$code, , $err] = Server::runTool('validate', self::caddyfile('max_subscriptions 5', $second));
        self::assertNotSame(0, $code, 'two realtime handlers with different options must not load');
        self::assertStringContainsString('max_subscriptions', $err);

        // Through /load on a running server: refused, and the old config keeps serving.
        $server = $this->fresh('two-handlers');
        $client = $this->connectAs($server, '1');
        $different = "handle /ws2 {\n\trealtime {\n" . implode("\n", array_map(static fn ($l) => "\t\t$l", explode("\n", str_replace('max_subscriptions 50', 'max_subscriptions 7', self::SAME_OPTIONS)))) . "\n\t}\n}";
        $response = $server->reload(null, $different);
        self::assertGreaterThanOrEqual(400, $response->status, $response->describe());
        self::assertStringContainsString('max_subscriptions', $response->body);
        self::assertStillUsable($client, ' after a refused /load');
        $still = $server->adminBroadcast(self::channel(), 'hub still registered?');
        self::assertSame(202, $still->status, 'SPEC §2/§7: after a refused /load the running config (and its hub) keeps serving the admin API: ' . $still->describe());

        // Two handlers configured alike share one hub.
        $same = "handle /ws2 {\n\trealtime {\n" . implode("\n", array_map(static fn ($l) => "\t\t$l", explode("\n", self::SAME_OPTIONS))) . "\n\t}\n}";
        self::assertSame(200, $server->reload(null, $same)->status);
        self::assertStillUsable($client, ' after adding an identical handler');
        $channel = self::channel();
        $this->subscribe($client, $channel);
        $other = \Realtime\Tests\Support\WebSocketClient::connect($server->wsUrl('/ws2'), ['Cookie' => 'user=2'], 10.0);
        self::assertSame('connected', $other->receiveJson(10.0)['event'] ?? null);
        $this->subscribe($other, $channel);
        self::assertSame(202, $server->adminBroadcast($channel, 'shared hub')->status);
        self::assertSame('shared hub', $client->receiveJson(10.0)['data'] ?? null);
        self::assertSame('shared hub', $other->receiveJson(10.0)['data'] ?? null);
    }
}
