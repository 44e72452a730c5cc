<?php

declare(strict_types=1);

namespace Realtime\Tests\Integration;

use PHPUnit\Framework\Attributes\DataProvider;
use Realtime\Tests\Support\PhpCli;
use Realtime\Tests\Support\RealtimeTestCase;
use Realtime\Tests\Support\Server;
use Realtime\Tests\Support\WebSocketClient;

/**
 * Issue 9, failing input 6 (SPEC §5): queue workers and cron jobs publish
 * with the default memory driver. `frankenphp php-cli` without
 * REALTIME_VALKEY_ADDRESS reaches the running server's hub through its
 * loopback admin listener (REALTIME_ADMIN_ADDRESS, default localhost:2019).
 *
 * The same calls are made in-process (fixtures call.php) and from php-cli,
 * and must behave alike — realtime_trigger() included.
 */
final class PhpCliAdminTest extends RealtimeTestCase
{
    private function server1(): Server
    {
        // max_message_size 1KiB: the limit is the server's, enforced for php-cli too.
        return $this->server('admin', static fn () => new Server('max_message_size 1KiB', withAdmin: true));
    }

    /** @return iterable<string, array{string}> */
    public static function callers(): iterable
    {
        yield 'php-cli through the admin listener' => ['cli'];
        yield 'in-process' => ['server'];
    }

    /**
     * Makes $calls from php-cli (one process, REALTIME_ADMIN_ADDRESS set) or
     * in-process; one result per call: ['ok' => value] or ['class', 'message'].
     *
     * @param list<array{0: string, 1: list<mixed>}> $calls
     *
     * @return list<array<string, mixed>>
     */
    private static function calls(string $via, Server $server, array $calls): array
    {
        if ($via === 'cli') {
            return PhpCli::calls($calls, ['REALTIME_ADMIN_ADDRESS' => $server->adminAddress()]);
        }

        return array_map(static function (array $call) use ($server): array {
            $response = self::call($server, $call[0], $call[1]);

            return match ($response->status) {
                204 => ['ok' => null],
                200 => ['ok' => $response->json()['result'] ?? null],
                default => $response->json(),
            };
        }, $calls);
    }

    /** Connects as $user and returns the client with its connection id. */
    private function connectWithId(Server $server, string $user): array
    {
        $client = WebSocketClient::connect($server->wsUrl(), ['Cookie' => "user=$user"], 10.0);
        $connected = $client->receiveJson(10.0);
        self::assertSame('connected', $connected['event'] ?? null, json_encode($connected));
        self::assertMatchesRegularExpression('/^\d+\.\d+$/', (string) ($connected['connection_id'] ?? ''), 'connection ids are digits.digits: ' . json_encode($connected));

        return [$client, $connected['connection_id']];
    }

    #[DataProvider('callers')]
    public function testTheFourFunctionsReachTheServersHub(string $via): void
    {
        $server = $this->server1();
        $channel = self::channel();
        $target = (string) random_int(1_000_000, 9_999_999);
        $bystander = $this->connectAs($server, 'by-' . $target);
        $this->subscribe($bystander, $channel);
        $tabs = [$this->connectAs($server, $target), $this->connectAs($server, $target)];
        $this->subscribe($tabs[0], $channel);

        $results = self::calls($via, $server, [
            ['broadcast', [$channel, 'from ' . $via]],
            ['broadcastToUser', [(int) $target, 'direct']],
            ['getChannelUsers', [$channel]],
            ['realtime_broadcast', [$channel, 'alias']],
            ['disconnectUser', [$target]],
        ]);
        foreach ($results as $i => $result) {
            self::assertArrayHasKey('ok', $result, "call $i via $via: " . json_encode($result));
        }
        $users = $results[2]['ok'];
        $expected = ["by-$target", $target];
        sort($users);
        sort($expected);
        self::assertSame($expected, $users, 'getChannelUsers()');

        self::assertSame(['event' => 'message', 'channel' => $channel, 'data' => "from $via"], $bystander->receiveJson(10.0));
        self::assertSame(['event' => 'message', 'channel' => $channel, 'data' => 'alias'], $bystander->receiveJson(10.0));
        self::assertSame(['event' => 'message', 'channel' => $channel, 'data' => "from $via"], $tabs[0]->receiveJson(10.0));
        self::assertSame(['event' => 'direct', 'data' => 'direct'], $tabs[0]->receiveJson(10.0));
        self::assertSame(['event' => 'direct', 'data' => 'direct'], $tabs[1]->receiveJson(10.0));
        foreach ($tabs as $i => $tab) {
            self::assertSame(4001, self::closedBy($tab), "tab $i of the disconnected user");
        }
        self::assertStillUsable($bystander);
    }

    #[DataProvider('callers')]
    public function testRealtimeTriggerSendsANamedEventToEveryChannelButTheExceptedConnection(string $via): void
    {
        $server = $this->server1();
        $orders = self::channel('orders-');
        $audit = self::channel('audit-');
        [$sender, $senderId] = $this->connectWithId($server, 'sender');
        [$other] = $this->connectWithId($server, 'other');
        $auditor = $this->connectAs($server, 'auditor');
        $this->subscribe($sender, $orders);
        $this->subscribe($other, $orders);
        $this->subscribe($auditor, $audit);

        $results = self::calls($via, $server, [
            ['realtime_trigger', [[$orders, $audit], 'OrderShipped', '{"id":1}']],
            ['realtime_trigger', [$orders, 'OrderPaid', '{"id":2}', $senderId]], // ->toOthers()
            ['broadcast', [$orders, 'sentinel']],
        ]);
        foreach ($results as $i => $result) {
            self::assertArrayHasKey('ok', $result, "call $i via $via: " . json_encode($result));
        }
        $shipped = static fn (string $channel): array => ['event' => 'message', 'channel' => $channel, 'name' => 'OrderShipped', 'data' => '{"id":1}'];
        self::assertEquals($shipped($orders), $other->receiveJson(10.0));
        self::assertEquals($shipped($audit), $auditor->receiveJson(10.0));
        self::assertEquals($shipped($orders), $sender->receiveJson(10.0));
        self::assertEquals(['event' => 'message', 'channel' => $orders, 'name' => 'OrderPaid', 'data' => '{"id":2}'], $other->receiveJson(10.0));
        self::assertSame('sentinel', $other->receiveJson(10.0)['data'] ?? null);
        self::assertSame(['event' => 'message', 'channel' => $orders, 'data' => 'sentinel'], $sender->receiveJson(10.0), 'the excepted connection got no OrderPaid');
    }

    /** @return iterable<string, array{string, string, list<mixed>}> */
    public static function badInput(): iterable
    {
        foreach (['cli' => 'php-cli', 'server' => 'in-process'] as $via => $label) {
            yield "$label: invalid channel" => [$via, 'broadcast', ['bad channel', 'x']];
            yield "$label: message over max_message_size" => [$via, 'broadcast', ['news', str_repeat('m', 1025)]];
            yield "$label: empty user id" => [$via, 'broadcastToUser', ['', 'x']];
            yield "$label: empty user id to disconnect" => [$via, 'disconnectUser', ['']];
            yield "$label: invalid channel for getChannelUsers" => [$via, 'getChannelUsers', ['a/b']];
            yield "$label: trigger without channels" => [$via, 'realtime_trigger', [[], 'Event', 'x']];
            yield "$label: trigger to 101 channels" => [$via, 'realtime_trigger', [array_map(static fn (int $i): string => "c$i", range(1, 101)), 'Event', 'x']];
            yield "$label: trigger to an invalid channel" => [$via, 'realtime_trigger', [['ok', 'not ok'], 'Event', 'x']];
            yield "$label: trigger over max_message_size" => [$via, 'realtime_trigger', ['news', 'Event', str_repeat('m', 1025)]];
            yield "$label: trigger with an empty event name" => [$via, 'realtime_trigger', ['news', '', 'x']];
            yield "$label: trigger with a pusher_internal: event name" => [$via, 'realtime_trigger', ['presence-room', 'pusher_internal:member_added', '{"user_id":666}']];
            yield "$label: trigger with a pusher: event name" => [$via, 'realtime_trigger', ['news', 'pusher:subscription_succeeded', '{}']];
        }
    }

    /** @param list<mixed> $args */
    #[DataProvider('badInput')]
    public function testBadInputIsAValueError(string $via, string $fn, array $args): void
    {
        [$result] = self::calls($via, $this->server1(), [[$fn, $args]]);
        self::assertSame('ValueError', $result['class'] ?? null, "$fn via $via: " . json_encode($result));
        self::assertNotSame('', $result['message']);
    }

    public function testAMessageOfExactlyMaxMessageSizeIsAccepted(): void
    {
        $server = $this->server1();
        $channel = self::channel();
        $client = $this->connectAs($server, 'big');
        $this->subscribe($client, $channel);
        [$result] = self::calls('cli', $server, [['broadcast', [$channel, str_repeat('m', 1024)]]]);
        self::assertArrayHasKey('ok', $result, json_encode($result));
        self::assertSame(str_repeat('m', 1024), $client->receiveJson(10.0)['data'] ?? null);
    }

    public function testWithNoServerListeningPhpCliThrowsRuntimeExceptionNamingTheVariable(): void
    {
        $results = PhpCli::calls([
            ['broadcast', ['news', 'x']],
            ['broadcastToUser', ['42', 'x']],
            ['getChannelUsers', ['news']],
            ['disconnectUser', [42]],
            ['realtime_trigger', ['news', 'Event', 'x']],
        ], ['REALTIME_ADMIN_ADDRESS' => '127.0.0.1:' . Server::unusedPort()]);
        foreach ($results as $i => $result) {
            self::assertSame('RuntimeException', $result['class'] ?? null, "call $i: " . json_encode($result));
            self::assertStringContainsString('no hub is reachable', $result['message'], "call $i");
            self::assertLessThan(3.0, $result['seconds'], "call $i fails fast");
        }
        self::assertStringContainsString('REALTIME_ADMIN_ADDRESS', $results[0]['message'], 'the first failure says how to point php-cli at the server');
    }
}
