<?php

declare(strict_types=1);

namespace Realtime\Tests\Cluster;

use Realtime\Tests\Support\Server;
use Realtime\Tests\Support\ValkeyServer;

/**
 * Three nodes, one Valkey, one prefix (SPEC §1 broker, §5 PHP API, §7
 * admin API, docs/operations.md "Valkey"): what any node publishes reaches
 * every node, and only nodes that have local subscribers receive traffic.
 */
final class CrossNodeTest extends ClusterTestCase
{
    /** @return array{valkey: ValkeyServer, prefix: string, a: Server, b: Server, c: Server} */
    private function cluster(): array
    {
        return $this->shared('cluster', function (): array {
            $valkey = $this->valkey(forClass: true);
            $prefix = self::randomPrefix();
            $nodes = ['valkey' => $valkey, 'prefix' => $prefix];
            foreach (['a', 'b', 'c'] as $name) {
                $nodes[$name] = $this->node($name, $valkey->address(), $prefix, ['presence_grace 500ms'], forClass: true);
            }

            return $nodes;
        });
    }

    /** @return array{a: Server, b: Server, c: Server} */
    private function nodes(): array
    {
        $cluster = $this->cluster();
        foreach (['a', 'b', 'c'] as $name) {
            $this->touch($name, $cluster[$name]);
        }

        return ['a' => $cluster['a'], 'b' => $cluster['b'], 'c' => $cluster['c']];
    }

    public function testBroadcastFromPhpOnAnyNodeReachesSubscribersOnEveryNode(): void
    {
        $nodes = $this->nodes();
        $channel = self::channel();
        $clients = [];
        foreach ($nodes as $name => $node) {
            $clients[$name] = self::connectAs($node, self::user());
            self::subscribe($clients[$name], $channel);
        }
        foreach ($nodes as $publisher => $node) {
            $message = "from-$publisher-" . bin2hex(random_bytes(3));
            self::publish($node, $channel, $message);
            foreach ($clients as $name => $client) {
                self::assertNextFrame($client, ['event' => 'message', 'channel' => $channel, 'data' => $message], "broadcast() on node $publisher, subscriber on node $name");
            }
        }
    }

    public function testMessagesOfOnePublisherArriveInPublishOrderOnOtherNodes(): void
    {
        $nodes = $this->nodes();
        $channel = self::channel();
        $b = self::connectAs($nodes['b'], self::user());
        $c = self::connectAs($nodes['c'], self::user());
        self::subscribe($b, $channel);
        self::subscribe($c, $channel);
        // Sequential publishes from node a (SPEC §4: one publisher, one channel → publish order).
        for ($i = 0; $i < 30; ++$i) {
            self::publish($nodes['a'], $channel, "m$i");
        }
        foreach (['b' => $b, 'c' => $c] as $name => $client) {
            for ($i = 0; $i < 30; ++$i) {
                self::assertNextFrame($client, ['event' => 'message', 'channel' => $channel, 'data' => "m$i"], "node $name, message $i of 30 in publish order");
            }
        }
    }

    public function testBroadcastToUserReachesTheUsersConnectionsOnEveryNodeWithAnIntId(): void
    {
        $this->assertBroadcastToUser((string) random_int(1_000_000, 9_999_999), true);
    }

    public function testBroadcastToUserReachesTheUsersConnectionsOnEveryNodeWithAStringId(): void
    {
        $this->assertBroadcastToUser(self::user('alice-'), false);
    }

    private function assertBroadcastToUser(string $user, bool $asInt): void
    {
        $nodes = $this->nodes();
        $onA = self::connectAs($nodes['a'], $user);
        $onC1 = self::connectAs($nodes['c'], $user);
        $onC2 = self::connectAs($nodes['c'], $user);
        $bystanders = [];
        foreach ($nodes as $name => $node) {
            $bystanders[$name] = [self::user('by-'), null];
            $bystanders[$name][1] = self::connectAs($node, $bystanders[$name][0]);
        }

        $message = 'direct-' . bin2hex(random_bytes(4));
        self::callOk($nodes['b'], 'broadcastToUser', [$asInt ? (int) $user : $user, $message]);
        foreach (['a' => $onA, 'c#1' => $onC1, 'c#2' => $onC2] as $name => $client) {
            self::assertNextFrame($client, ['event' => 'direct', 'data' => $message], "broadcastToUser(" . ($asInt ? 'int' : 'string') . " $user) from node b, the user's connection on node $name");
        }
        foreach ($bystanders as $name => [$id, $client]) {
            $sentinel = "sentinel-$name";
            self::callOk($nodes['b'], 'broadcastToUser', [$id, $sentinel]);
            self::assertNextFrame($client, ['event' => 'direct', 'data' => $sentinel], "another user's connection on node $name must not receive the direct message");
        }
    }

    public function testDisconnectUserOnOneNodeClosesTheUsersConnectionsOnTheOthersOnly(): void
    {
        $nodes = $this->nodes();
        $target = self::user('target-');
        $other = self::user('other-');
        $channel = self::channel();
        $targets = [
            'a' => self::connectAs($nodes['a'], $target),
            'b#1' => self::connectAs($nodes['b'], $target),
            'b#2' => self::connectAs($nodes['b'], $target),
        ];
        $others = [];
        foreach ($nodes as $name => $node) {
            $others[$name] = self::connectAs($node, $other);
            self::subscribe($others[$name], $channel);
        }
        foreach ($targets as $client) {
            self::subscribe($client, $channel);
        }

        self::callOk($nodes['c'], 'disconnectUser', [$target]);
        foreach ($targets as $name => $client) {
            self::assertSame(4001, self::closedBy($client), "disconnectUser() on node c: the user's connection on node $name closes with 4001 (SPEC §4/§5)");
        }
        foreach ($others as $name => $client) {
            self::assertUsable($client, "another user's connection on node $name");
        }
        self::assertNothingBeforeSentinel($nodes['c'], $channel, $others, 'the other user still receives broadcasts');
    }

    public function testGetChannelUsersIsClusterWideAndListsAUserOnTwoNodesOnce(): void
    {
        $nodes = $this->nodes();
        $channel = self::channel();
        $u = self::user('u-');
        $v = self::user('v-');
        $uOnA = self::connectAs($nodes['a'], $u);
        $uOnB = self::connectAs($nodes['b'], $u);
        $vOnC = self::connectAs($nodes['c'], $v);
        self::subscribe($uOnA, $channel);
        self::subscribe($uOnB, $channel);
        self::subscribe($vOnC, $channel);
        $expected = [$u, $v];
        sort($expected);

        foreach ($nodes as $name => $node) {
            $raw = self::callOk($node, 'getChannelUsers', [$channel]);
            self::assertIsArray($raw);
            self::assertTrue(array_is_list($raw), 'getChannelUsers returns a list: ' . json_encode($raw));
            self::assertSame(count($raw), count(array_unique($raw)), "node $name: user ids are unique: " . json_encode($raw));
            $sorted = $raw;
            sort($sorted);
            self::assertSame($expected, $sorted, "getChannelUsers() on node $name is cluster-wide (u on a and b, v on c)");
        }

        // u's connection on a goes: u is still there through b, listed once.
        $uOnA->close();
        self::assertSame(1, $this->numsubOfUser($u), 'u is connected on node b only now');
        foreach ($nodes as $name => $node) {
            self::assertSame($expected, self::channelUsers($node, $channel), "node $name after u left node a but stays on node b");
        }
        // And once u's last connection is gone (+ presence_grace 500ms), only v.
        $uOnB->close();
        foreach ($nodes as $name => $node) {
            self::poll(static fn (): bool => self::channelUsers($node, $channel) === [$v], 15.0, "node $name: getChannelUsers == [$v] after u's last connection closed",
                static fn (): string => json_encode(self::channelUsers($node, $channel)));
        }
    }

    /** PUBSUB NUMSUB of the user's topic, once it has settled to the number of nodes holding the user. */
    private function numsubOfUser(string $user): int
    {
        $cluster = $this->cluster();
        $key = "{$cluster['prefix']}:u:$user";

        return self::poll(static fn (): ?int => ($n = $cluster['valkey']->numsub($key)) === 1 ? $n : null, 15.0, "NUMSUB $key == 1",
            static fn (): string => (string) $cluster['valkey']->numsub($key));
    }

    public function testAdminApiBroadcastOnOneNodeReachesTheOthers(): void
    {
        $nodes = $this->nodes();
        $channel = self::channel();
        $clients = [];
        foreach ($nodes as $name => $node) {
            $clients[$name] = self::connectAs($node, self::user());
            self::subscribe($clients[$name], $channel);
        }
        $message = '{"admin":' . random_int(1, 1000) . '}';
        $response = $nodes['b']->adminBroadcast($channel, $message);
        self::assertSame(202, $response->status, 'POST /realtime/broadcast on node b: ' . $response->describe());
        foreach ($clients as $name => $client) {
            self::assertNextFrame($client, ['event' => 'message', 'channel' => $channel, 'data' => $message], "admin broadcast on node b, subscriber on node $name");
        }
    }

    /**
     * docs/operations.md: a node SUBSCRIBEs only the channels it has local
     * subscribers for and the users it has local connections for — no
     * pattern subscription, no traffic it would drop.
     */
    public function testANodeWithoutLocalSubscribersDoesNotReceiveTheChannelsTraffic(): void
    {
        $nodes = $this->nodes();
        $cluster = $this->cluster();
        $valkey = $cluster['valkey'];
        $prefix = $cluster['prefix'];
        $channel = self::channel();
        $key = "$prefix:c:$channel";

        self::assertSame(0, $valkey->numsub($key), 'nobody subscribed yet');
        $onA = self::connectAs($nodes['a'], self::user());
        $onB = self::connectAs($nodes['b'], self::user());
        $idle = self::connectAs($nodes['c'], self::user()); // connected to c, not subscribed
        self::subscribe($onA, $channel);
        self::subscribe($onB, $channel);
        self::assertSame(2, $valkey->numsub($key), "PUBSUB NUMSUB $key: nodes a and b have local subscribers, c has none");

        foreach ($valkey->clients() as $client) {
            self::assertSame('0', $client['psub'] ?? '0', 'no node uses a pattern subscription (firehose): ' . json_encode($client));
        }

        $deliveredBefore = array_map(static fn (Server $n): float => self::metric($n, 'realtime_messages_delivered_total'), $nodes);
        for ($i = 0; $i < 20; ++$i) {
            self::publish($nodes['c'], $channel, "n$i");
        }
        foreach (['a' => $onA, 'b' => $onB] as $name => $client) {
            for ($i = 0; $i < 20; ++$i) {
                self::assertNextFrame($client, ['event' => 'message', 'channel' => $channel, 'data' => "n$i"], "node $name");
            }
        }
        $deliveredAfter = array_map(static fn (Server $n): float => self::metric($n, 'realtime_messages_delivered_total'), $nodes);
        self::assertGreaterThanOrEqual(20.0, $deliveredAfter['a'] - $deliveredBefore['a'], 'node a delivered the 20 messages');
        self::assertGreaterThanOrEqual(20.0, $deliveredAfter['b'] - $deliveredBefore['b'], 'node b delivered the 20 messages');
        self::assertSame($deliveredBefore['c'], $deliveredAfter['c'], 'node c (no local subscriber) delivered nothing: realtime_messages_delivered_total unchanged');

        // Unsubscribing on b drops b's Valkey subscription; closing a drops a's.
        $onB->sendJson(['action' => 'unsubscribe', 'channel' => $channel]);
        self::assertNextFrame($onB, ['event' => 'unsubscribed', 'channel' => $channel], 'unsubscribe on b');
        self::poll(static fn (): bool => $valkey->numsub($key) === 1, 15.0, "NUMSUB $key == 1 after b's only subscriber left", static fn (): string => (string) $valkey->numsub($key));
        $onA->close();
        self::poll(static fn (): bool => $valkey->numsub($key) === 0, 15.0, "NUMSUB $key == 0 after a's only subscriber closed", static fn (): string => (string) $valkey->numsub($key));

        // Users: <prefix>:u:<id> is subscribed by the nodes where the user is connected.
        $user = self::user('numsub-');
        $userKey = "$prefix:u:$user";
        $x = self::connectAs($nodes['a'], $user);
        $y = self::connectAs($nodes['c'], $user);
        self::assertSame(2, $valkey->numsub($userKey), "PUBSUB NUMSUB $userKey: the user is connected on nodes a and c");
        $y->close();
        self::poll(static fn (): bool => $valkey->numsub($userKey) === 1, 15.0, "NUMSUB $userKey == 1", static fn (): string => (string) $valkey->numsub($userKey));
        $x->close();
        $idle->close();
    }

    /** Measurement only (printed): PHP broadcast() on node a → frame read by a client of node b (and of node a). */
    public function testCrossNodeLatencyIsMeasured(): void
    {
        $nodes = $this->nodes();
        $channel = self::channel('lat-');
        $remote = self::connectAs($nodes['b'], self::user());
        $local = self::connectAs($nodes['a'], self::user());
        self::subscribe($remote, $channel);
        self::subscribe($local, $channel);
        $samples = ['b' => [], 'a' => []];
        for ($i = 0; $i < 100; ++$i) {
            $response = $nodes['a']->postForm('/stamp.php', ['channel' => $channel, 'seq' => (string) $i]);
            self::assertSame(204, $response->status, $response->describe());
            foreach (['b' => $remote, 'a' => $local] as $name => $client) {
                $frame = $client->receiveJson(15.0);
                $now = (int) (microtime(true) * 1e6);
                self::assertSame('message', $frame['event'] ?? null, json_encode($frame));
                $data = json_decode((string) $frame['data'], true, 4, JSON_THROW_ON_ERROR);
                self::assertSame($i, $data['seq'], "node $name: message $i in order");
                $samples[$name][] = ($now - $data['t']) / 1000.0;
            }
        }
        foreach ($samples as $name => $list) {
            sort($list);
            self::report(sprintf('latency PHP broadcast() on node a -> client on node %s (%s), 100 messages: p50 %.2f ms, p90 %.2f ms, max %.2f ms (upper bound: includes the rest of the HTTP response)',
                $name, $name === 'a' ? 'same node, via Valkey' : 'other node', $list[49], $list[89], $list[99]));
        }
    }
}
