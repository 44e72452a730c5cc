<?php

declare(strict_types=1);

namespace Realtime\Tests\Integration;

use PHPUnit\Framework\Attributes\DataProvider;
use Realtime\Tests\Support\RealtimeTestCase;
use Realtime\Tests\Support\Server;

/**
 * SPEC §7 on one node: the admin API's /realtime/broadcast and
 * /realtime/stats, and Prometheus metrics on the admin listener.
 */
final class AdminApiTest extends RealtimeTestCase
{
    private function admin(): Server
    {
        return $this->server('admin', static fn () => new Server('max_message_size 1KiB', withAdmin: true));
    }

    public function testBroadcastIsAcceptedAndDelivered(): void
    {
        $server = $this->admin();
        $channel = self::channel();
        $client = $this->connectAs($server, '1');
        $this->subscribe($client, $channel);
        $response = $server->adminBroadcast($channel, 'from admin "quoted" ✓');
        self::assertSame(202, $response->status, $response->describe());
        self::assertSame(['event' => 'message', 'channel' => $channel, 'data' => 'from admin "quoted" ✓'], $client->receiveJson(10.0));
        $max = str_repeat('a', 1024);
        self::assertSame(202, $server->adminBroadcast($channel, $max)->status, 'exactly max_message_size');
        self::assertSame($max, $client->receiveJson(10.0)['data'] ?? null);
    }

    /** @return iterable<string, array{string}> */
    public static function badBodies(): iterable
    {
        yield 'invalid channel' => ['{"channel":"bad channel","message":"x"}'];
        yield 'empty channel' => ['{"channel":"","message":"x"}'];
        yield 'channel of 201 bytes' => ['{"channel":"' . str_repeat('c', 201) . '","message":"x"}'];
        yield 'missing channel' => ['{"message":"x"}'];
        yield 'missing message' => ['{"channel":"news"}'];
        yield 'channel not a string' => ['{"channel":5,"message":"x"}'];
        yield 'message not a string' => ['{"channel":"news","message":{"a":1}}'];
        yield 'message over max_message_size' => ['{"channel":"news","message":"' . str_repeat('m', 1025) . '"}'];
        yield 'not JSON' => ['channel=news&message=x'];
        yield 'empty body' => [''];
        yield 'JSON array' => ['["news","x"]'];
    }

    #[DataProvider('badBodies')]
    public function testBadInputIs400WithAJsonError(string $body): void
    {
        $server = $this->admin();
        $channel = self::channel();
        $client = $this->connectAs($server, '2');
        $this->subscribe($client, $channel);
        $response = Server::request('POST', $server->adminUrl('/realtime/broadcast'), ['Content-Type' => 'application/json'], $body);
        self::assertSame(400, $response->status, $response->describe());
        self::assertStringStartsWith('application/json', (string) $response->header('Content-Type'), $response->describe());
        $error = $response->json();
        self::assertArrayHasKey('error', $error, $response->body);
        self::assertNotSame('', $error['error']);
        // Nothing was published: the next frame is the sentinel.
        self::assertSame(202, $server->adminBroadcast($channel, 'sentinel')->status);
        self::assertSame('sentinel', $client->receiveJson(10.0)['data'] ?? null);
    }

    public function testStatsMatchReality(): void
    {
        $server = $this->admin();
        self::waitForConnections($server, 0);
        self::poll(static fn (): bool => $server->stats() === ['connections' => 0, 'channels' => 0, 'subscriptions' => 0], 10.0, 'empty stats', static fn () => json_encode($server->stats()));
        [$x, $y] = [self::channel(), self::channel()];
        $a = $this->connectAs($server, '1');
        $b = $this->connectAs($server, '2');
        $c = $this->connectAs($server, '2');
        $this->subscribe($a, $x);
        $this->subscribe($a, $y);
        $this->subscribe($b, $x);
        $stats = $server->stats();
        self::assertSame(['channels', 'connections', 'subscriptions'], self::sortedKeys($stats), json_encode($stats));
        foreach ($stats as $key => $value) {
            self::assertIsInt($value, "$key is an integer");
        }
        self::assertSame(['connections' => 3, 'channels' => 2, 'subscriptions' => 3], self::only($stats));

        $a->sendJson(['action' => 'unsubscribe', 'channel' => $y]);
        self::assertSame('unsubscribed', $a->receiveJson(10.0)['event'] ?? null);
        self::assertSame(['connections' => 3, 'channels' => 1, 'subscriptions' => 2], self::only($server->stats()));

        $b->close();
        self::poll(static fn (): bool => self::only($server->stats()) === ['connections' => 2, 'channels' => 1, 'subscriptions' => 1], 10.0, 'stats after a close', static fn () => json_encode($server->stats()));
        $a->close();
        $c->close();
        self::poll(static fn (): bool => self::only($server->stats()) === ['connections' => 0, 'channels' => 0, 'subscriptions' => 0], 10.0, 'empty stats again', static fn () => json_encode($server->stats()));
    }

    public function testMetricsOnTheAdminListener(): void
    {
        $server = $this->admin();
        $channel = self::channel();
        $client = $this->connectAs($server, '3');
        $this->subscribe($client, $channel);
        self::publish($server, $channel, 'counted');
        self::assertSame('counted', $client->receiveJson(10.0)['data'] ?? null);

        $response = Server::request('GET', $server->adminUrl('/metrics'));
        self::assertSame(200, $response->status);
        $metrics = $response->body;
        foreach ([
            'realtime_connections', 'realtime_subscriptions', 'realtime_channels',
            'realtime_messages_published_total', 'realtime_messages_delivered_total',
            'realtime_slow_consumer_disconnects_total', 'realtime_broker_errors_total',
            'realtime_broker_reconnects_total', 'realtime_auth_duration_seconds_count',
            'realtime_auth_duration_seconds_bucket',
        ] as $name) {
            self::assertMatchesRegularExpression('/^' . preg_quote($name, '/') . '(\{[^}]*\})? \S+$/m', $metrics, "metric $name");
        }
        self::assertGreaterThanOrEqual(1, self::metric($metrics, 'realtime_connections'));
        self::assertGreaterThanOrEqual(1, self::metric($metrics, 'realtime_messages_published_total'));
        self::assertGreaterThanOrEqual(1, self::metric($metrics, 'realtime_messages_delivered_total'));
        self::assertGreaterThanOrEqual(1, self::metric($metrics, 'realtime_auth_duration_seconds_count'));

        // The public port does not serve the admin API.
        $public = $server->http('POST', '/realtime/broadcast', ['Content-Type' => 'application/json'], '{"channel":"x","message":"y"}');
        self::assertNotSame(202, $public->status, 'the admin API is never on the public port');
    }

    private static function metric(string $metrics, string $name): float
    {
        self::assertSame(1, preg_match('/^' . preg_quote($name, '/') . ' (\S+)$/m', $metrics, $m), "metric $name");

        return (float) $m[1];
    }

    /** @param array<string, mixed> $a @return list<string> */
    private static function sortedKeys(array $a): array
    {
        $keys = array_keys($a);
        sort($keys);

        return $keys;
    }

    /** @param array<string, mixed> $stats @return array<string, mixed> */
    private static function only(array $stats): array
    {
        return ['connections' => $stats['connections'] ?? null, 'channels' => $stats['channels'] ?? null, 'subscriptions' => $stats['subscriptions'] ?? null];
    }
}
