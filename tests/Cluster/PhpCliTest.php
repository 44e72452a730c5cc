<?php

declare(strict_types=1);

namespace Realtime\Tests\Cluster;

use Realtime\Tests\Support\Server;
use Realtime\Tests\Support\ValkeyServer;

/**
 * SPEC §5, last item: from `frankenphp php-cli` (queue workers, cron) the
 * four functions work through Valkey with REALTIME_VALKEY_ADDRESS (and
 * REALTIME_PREFIX) and reach every node; without it they throw
 * RuntimeException saying no hub is running. Two nodes.
 */
final class PhpCliTest extends ClusterTestCase
{
    /** @return array{valkey: ValkeyServer, prefix: string, a: Server, b: Server} */
    private function cluster(): array
    {
        $cluster = $this->shared('cluster', function (): array {
            $valkey = $this->valkey(forClass: true);
            $prefix = self::randomPrefix();

            return [
                'valkey' => $valkey,
                'prefix' => $prefix,
                'a' => $this->node('a', $valkey->address(), $prefix, ['presence_grace 500ms'], forClass: true),
                'b' => $this->node('b', $valkey->address(), $prefix, ['presence_grace 500ms'], forClass: true),
            ];
        });
        $this->touch('a', $cluster['a']);
        $this->touch('b', $cluster['b']);

        return $cluster;
    }

    /**
     * Runs $body (PHP statements) in php-cli, each realtime call wrapped so
     * that the script prints one JSON line per call: {"ok": result} or
     * {"class": ..., "message": ...}.
     *
     * @param list<array{0: string, 1: list<mixed>}> $calls
     * @param array<string, string>                   $env
     *
     * @return list<array<string, mixed>>
     */
    private static function cliCalls(array $calls, array $env): array
    {
        $code = '$calls = json_decode(' . var_export(json_encode($calls, JSON_THROW_ON_ERROR), true) . ', true);'
            . 'foreach ($calls as [$fn, $args]) {'
            . '  $t = microtime(true);'
            . '  try { $r = $fn(...$args); echo json_encode(["ok" => $r, "seconds" => microtime(true) - $t]), "\n"; }'
            . '  catch (Throwable $e) { echo json_encode(["class" => $e::class, "message" => $e->getMessage(), "seconds" => microtime(true) - $t]), "\n"; }'
            . '}';
        [$exit, $out, $err] = self::phpCli($code, $env);
        self::assertSame(0, $exit, "php-cli exit code; stdout:\n$out\nstderr:\n$err");
        $lines = array_values(array_filter(explode("\n", trim($out)), static fn (string $l): bool => $l !== ''));
        self::assertCount(count($calls), $lines, "one line per call; stdout:\n$out\nstderr:\n$err");

        return array_map(static fn (string $l): array => json_decode($l, true, 8, JSON_THROW_ON_ERROR), $lines);
    }

    public function testPhpCliWithValkeyAddressPublishesToEveryNodeAndReadsClusterPresence(): void
    {
        $cluster = $this->cluster();
        $channel = self::channel();
        $target = (string) random_int(1_000_000, 9_999_999);
        $named = self::user('named-');
        $bystander = self::user('by-');

        $subA = self::connectAs($cluster['a'], $bystander);
        $subB = self::connectAs($cluster['b'], $bystander);
        self::subscribe($subA, $channel);
        self::subscribe($subB, $channel);
        $targetA = self::connectAs($cluster['a'], $target);
        $targetB = self::connectAs($cluster['b'], $target);
        self::subscribe($targetA, $channel);
        self::subscribe($targetB, $channel);
        $namedA = self::connectAs($cluster['a'], $named);
        $namedB = self::connectAs($cluster['b'], $named);

        $results = self::cliCalls([
            ['broadcast', [$channel, 'from-cli']],
            ['broadcastToUser', [(int) $target, 'direct-int']],
            ['broadcastToUser', [$named, 'direct-string']],
            ['getChannelUsers', [$channel]],
            ['disconnectUser', [(int) $target]],
        ], ['REALTIME_VALKEY_ADDRESS' => $cluster['valkey']->address(), 'REALTIME_PREFIX' => $cluster['prefix']]);

        foreach ($results as $i => $result) {
            self::assertArrayHasKey('ok', $result, "call $i from php-cli: " . json_encode($result));
        }
        $users = $results[3]['ok'];
        self::assertIsArray($users);
        sort($users);
        $expected = [$bystander, $target];
        sort($expected);
        self::assertSame($expected, $users, 'getChannelUsers() from php-cli reads cluster presence (both users on both nodes, listed once)');

        foreach (['a' => $subA, 'b' => $subB] as $name => $client) {
            self::assertNextFrame($client, ['event' => 'message', 'channel' => $channel, 'data' => 'from-cli'], "php-cli broadcast(), subscriber on node $name");
        }
        foreach (['a' => $targetA, 'b' => $targetB] as $name => $client) {
            self::assertNextFrame($client, ['event' => 'message', 'channel' => $channel, 'data' => 'from-cli'], "php-cli broadcast(), int user on node $name");
            self::assertNextFrame($client, ['event' => 'direct', 'data' => 'direct-int'], "php-cli broadcastToUser(int), the user's connection on node $name");
            self::assertSame(4001, self::closedBy($client), "php-cli disconnectUser(int): the user's connection on node $name closes with 4001");
        }
        foreach (['a' => $namedA, 'b' => $namedB] as $name => $client) {
            self::assertNextFrame($client, ['event' => 'direct', 'data' => 'direct-string'], "php-cli broadcastToUser(string), the user's connection on node $name");
            self::assertUsable($client, "string user on node $name after another user was disconnected");
        }
        foreach (['a' => $subA, 'b' => $subB] as $name => $client) {
            self::assertUsable($client, "bystander on node $name");
        }
    }

    public function testPhpCliWithoutValkeyAddressThrowsRuntimeExceptionSayingNoHub(): void
    {
        // Without REALTIME_VALKEY_ADDRESS php-cli tries the local server's admin
        // listener (tests/Integration/PhpCliAdminTest.php); here nothing listens there.
        $results = self::cliCalls([
            ['broadcast', ['news', 'x']],
            ['broadcastToUser', ['42', 'x']],
            ['getChannelUsers', ['news']],
            ['disconnectUser', [42]],
        ], ['REALTIME_PREFIX' => 'whatever', 'REALTIME_ADMIN_ADDRESS' => '127.0.0.1:' . Server::unusedPort()]);
        foreach (['broadcast', 'broadcastToUser', 'getChannelUsers', 'disconnectUser'] as $i => $fn) {
            self::assertSame('RuntimeException', $results[$i]['class'] ?? null, "$fn() from php-cli without REALTIME_VALKEY_ADDRESS: " . json_encode($results[$i]));
            self::assertStringContainsStringIgnoringCase('no hub', $results[$i]['message'], "$fn(): the message says no hub is reachable (SPEC §5)");
        }
        // The first failure says how to reach one (a worker loop does not repeat it in every exception).
        self::assertStringContainsString('REALTIME_VALKEY_ADDRESS', $results[0]['message'], 'the message names the variable');
    }

    public function testPhpCliWithValkeyDownThrowsRuntimeExceptionSayingUnreachable(): void
    {
        $down = $this->valkey(start: false); // port reserved, nothing listens
        $results = self::cliCalls([
            ['broadcast', ['news', 'x']],
            ['broadcastToUser', ['42', 'x']],
            ['getChannelUsers', ['news']],
            ['disconnectUser', [42]],
        ], ['REALTIME_VALKEY_ADDRESS' => $down->address(), 'REALTIME_PREFIX' => self::randomPrefix()]);
        foreach (['broadcast', 'broadcastToUser', 'getChannelUsers', 'disconnectUser'] as $i => $fn) {
            self::assertSame('RuntimeException', $results[$i]['class'] ?? null, "$fn() from php-cli with Valkey down: " . json_encode($results[$i]));
            self::assertStringContainsString('unreachable', $results[$i]['message'], "$fn(): the message says why (SPEC §5)");
            self::assertLessThan(5.0, $results[$i]['seconds'], "$fn() fails fast (DefaultOpTimeout 2 s), not hanging");
        }
    }

    public function testPhpCliWithAnotherPrefixReachesNoNodeOfThisCluster(): void
    {
        $cluster = $this->cluster();
        $channel = self::channel();
        $user = self::user();
        $a = self::connectAs($cluster['a'], $user);
        $b = self::connectAs($cluster['b'], $user);
        self::subscribe($a, $channel);
        self::subscribe($b, $channel);

        $results = self::cliCalls([
            ['broadcast', [$channel, 'wrong-prefix']],
            ['broadcastToUser', [$user, 'wrong-prefix']],
            ['getChannelUsers', [$channel]],
            ['disconnectUser', [$user]],
        ], ['REALTIME_VALKEY_ADDRESS' => $cluster['valkey']->address(), 'REALTIME_PREFIX' => self::randomPrefix()]);
        self::assertSame(['ok' => []], array_intersect_key($results[2], ['ok' => 1]), 'another prefix sees no presence: ' . json_encode($results[2]));

        self::assertNothingBeforeSentinel($cluster['a'], $channel, ['a' => $a, 'b' => $b], 'php-cli with another REALTIME_PREFIX must not reach this cluster');
        self::assertUsable($a, 'not disconnected by another prefix');
        self::assertUsable($b, 'not disconnected by another prefix');
    }
}
