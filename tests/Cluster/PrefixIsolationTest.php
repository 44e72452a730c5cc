<?php

declare(strict_types=1);

namespace Realtime\Tests\Cluster;

use Realtime\Tests\Support\Server;
use Realtime\Tests\Support\ValkeyServer;
use Realtime\Tests\Support\WebSocketClient;

/**
 * SPEC §2 `prefix`: deployments with different prefixes never see each
 * other. Two clusters of two nodes each on the same Valkey, same channel
 * names, same user ids.
 */
final class PrefixIsolationTest extends ClusterTestCase
{
    /** @return array{valkey: ValkeyServer, x: string, y: string, nodes: array<string, Server>} */
    private function clusters(): array
    {
        $clusters = $this->shared('clusters', function (): array {
            $valkey = $this->valkey(forClass: true);
            $x = self::randomPrefix();
            $y = self::randomPrefix();
            $nodes = [];
            foreach (['x1' => $x, 'x2' => $x, 'y1' => $y, 'y2' => $y] as $name => $prefix) {
                $nodes[$name] = $this->node($name, $valkey->address(), $prefix, ['presence_grace 500ms'], forClass: true);
            }

            return ['valkey' => $valkey, 'x' => $x, 'y' => $y, 'nodes' => $nodes];
        });
        foreach ($clusters['nodes'] as $name => $node) {
            $this->touch($name, $node);
        }

        return $clusters;
    }

    /**
     * One client of $user per node, each subscribed to $channel.
     *
     * @return array<string, WebSocketClient>
     */
    private function everywhere(string $user, string $channel): array
    {
        $clients = [];
        foreach ($this->clusters()['nodes'] as $name => $node) {
            $clients[$name] = self::connectAs($node, $user);
            self::subscribe($clients[$name], $channel);
        }

        return $clients;
    }

    public function testBroadcastsDirectMessagesAndDisconnectsStayInTheirPrefix(): void
    {
        $nodes = $this->clusters()['nodes'];
        $channel = self::channel();
        $user = (string) random_int(1_000_000, 9_999_999);
        $clients = $this->everywhere($user, $channel);
        $x = ['x1' => $clients['x1'], 'x2' => $clients['x2']];
        $y = ['y1' => $clients['y1'], 'y2' => $clients['y2']];

        self::publish($nodes['x1'], $channel, 'for-x');
        foreach ($x as $name => $client) {
            self::assertNextFrame($client, ['event' => 'message', 'channel' => $channel, 'data' => 'for-x'], "cluster x, node $name");
        }
        self::callOk($nodes['x2'], 'broadcastToUser', [(int) $user, 'direct-x']);
        foreach ($x as $name => $client) {
            self::assertNextFrame($client, ['event' => 'direct', 'data' => 'direct-x'], "cluster x, node $name");
        }
        $response = $nodes['x2']->adminBroadcast($channel, 'admin-x');
        self::assertSame(202, $response->status, $response->describe());
        foreach ($x as $name => $client) {
            self::assertNextFrame($client, ['event' => 'message', 'channel' => $channel, 'data' => 'admin-x'], "cluster x, node $name");
        }
        self::assertNothingBeforeSentinel($nodes['y1'], $channel, $y, "cluster y saw nothing of cluster x's broadcast, direct message and admin broadcast");

        self::publish($nodes['y2'], $channel, 'for-y');
        foreach ($y as $name => $client) {
            self::assertNextFrame($client, ['event' => 'message', 'channel' => $channel, 'data' => 'for-y'], "cluster y, node $name");
        }
        self::assertNothingBeforeSentinel($nodes['x2'], $channel, $x, "cluster x saw nothing of cluster y's broadcast");

        // disconnectUser in y closes y's connections of that id, not x's.
        self::callOk($nodes['y1'], 'disconnectUser', [$user]);
        foreach ($y as $name => $client) {
            self::assertSame(4001, self::closedBy($client), "cluster y, node $name: disconnected");
        }
        foreach ($x as $name => $client) {
            self::assertUsable($client, "cluster x, node $name: same user id, other prefix, not disconnected");
        }
        self::assertNothingBeforeSentinel($nodes['x1'], $channel, $x, 'cluster x still receives');
    }

    public function testPresenceStaysInItsPrefix(): void
    {
        $clusters = $this->clusters();
        $nodes = $clusters['nodes'];
        $channel = self::channel('presence-iso-');
        $ox = self::connectAs($nodes['x1'], 'observer');
        $oy = self::connectAs($nodes['y1'], 'observer');
        self::assertSame(['observer'], self::subscribe($ox, $channel)['users'] ?? null, 'x: observer alone');
        self::assertSame(['observer'], self::subscribe($oy, $channel)['users'] ?? null, 'y: observer alone');

        $ux = self::user('ux-');
        $uy = self::user('uy-');
        $inX = self::connectAs($nodes['x2'], $ux);
        $inY = self::connectAs($nodes['y2'], $uy);
        $replyX = self::subscribe($inX, $channel);
        $replyY = self::subscribe($inY, $channel);
        $usersX = $replyX['users'] ?? null;
        $usersY = $replyY['users'] ?? null;
        self::assertIsArray($usersX);
        self::assertIsArray($usersY);
        sort($usersX);
        sort($usersY);
        self::assertSame(self::sorted(['observer', $ux]), $usersX, 'the subscribed frame in x lists x members only');
        self::assertSame(self::sorted(['observer', $uy]), $usersY, 'the subscribed frame in y lists y members only');

        self::assertNextFrame($ox, ['event' => 'join', 'channel' => $channel, 'user_id' => $ux], 'x observer sees the x join');
        self::assertNextFrame($oy, ['event' => 'join', 'channel' => $channel, 'user_id' => $uy], 'y observer sees the y join');
        foreach (['x1' => $nodes['x1'], 'x2' => $nodes['x2']] as $name => $node) {
            self::assertSame(self::sorted(['observer', $ux]), self::channelUsers($node, $channel), "getChannelUsers on $name (cluster x)");
        }
        foreach (['y1' => $nodes['y1'], 'y2' => $nodes['y2']] as $name => $node) {
            self::assertSame(self::sorted(['observer', $uy]), self::channelUsers($node, $channel), "getChannelUsers on $name (cluster y)");
        }

        // ux leaves x: x's observer sees the leave; y sees nothing.
        $inX->close();
        self::assertNextFrame($ox, ['event' => 'leave', 'channel' => $channel, 'user_id' => $ux], 'x observer sees the x leave');
        self::assertNothingBeforeSentinel($nodes['y2'], $channel, ['y observer' => $oy, 'uy' => $inY], 'cluster y saw no join/leave of cluster x');
        self::assertNothingBeforeSentinel($nodes['x2'], $channel, ['x observer' => $ox], 'cluster x saw no join of cluster y');

        // Keys: each cluster's presence lives under its own prefix only.
        $keys = $clusters['valkey']->command(['KEYS', '*' . $channel . '*']);
        self::assertIsArray($keys);
        foreach ($keys as $key) {
            self::assertTrue(str_starts_with($key, $clusters['x'] . ':') || str_starts_with($key, $clusters['y'] . ':'), "key $key is under one of the two prefixes");
        }
        $valkey = $clusters['valkey'];
        self::assertSame(2, $valkey->numsub("{$clusters['y']}:c:$channel"), 'y: nodes y1 and y2 subscribe their own channel key');
        self::poll(static fn (): bool => $valkey->numsub("{$clusters['x']}:c:$channel") === 1, 15.0, 'x: only node x1 still has a subscriber');
    }

    /** @param list<string> $list */
    private static function sorted(array $list): array
    {
        sort($list);

        return $list;
    }
}
