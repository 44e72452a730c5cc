<?php

declare(strict_types=1);

namespace Realtime\Tests\Cluster;

use Realtime\Tests\Support\Server;
use Realtime\Tests\Support\WebSocketClient;

/**
 * SPEC §7 "Valkey outage": the server keeps serving local traffic,
 * reconnects with backoff, resubscribes and re-publishes its presence;
 * publishes during the outage throw in PHP. Also a node started while
 * Valkey is unreachable (SPEC §5: "Valkey down" throws RuntimeException).
 * Valkey is killed with SIGKILL and restarted on the same port, empty (no
 * persistence): the nodes are never restarted.
 */
final class ValkeyOutageTest extends ClusterTestCase
{
    /**
     * Publishes probes on $from until $receiver (subscribed to $channel on
     * another node) gets one; returns the seconds it took. Publishes that
     * throw (not reconnected yet) are retried.
     */
    private static function waitForDelivery(Server $from, WebSocketClient $receiver, string $channel, float $timeout, string $what): float
    {
        $start = microtime(true);
        $deadline = $start + $timeout;
        $errors = [];
        $sent = 0;
        while (microtime(true) < $deadline) {
            $probe = 'probe-' . $sent++;
            $response = self::call($from, 'broadcast', [$channel, $probe]);
            if ($response->status !== 204) {
                $errors[$response->body] = ($errors[$response->body] ?? 0) + 1;
            }
            // Any probe arriving means delivery works again; a short read is the poll interval.
            $frame = $receiver->receive(0.05);
            while ($frame !== null) {
                $data = $frame->json();
                if (self::isProbe($data, $channel)) {
                    return microtime(true) - $start;
                }
                $frame = $receiver->receive(0.0);
            }
        }
        self::fail(sprintf('%s: no probe delivered within %.0fs (%d sent); publish errors: %s', $what, $timeout, $sent, json_encode($errors)));
    }

    public function testValkeyKilledAndRestartedOnTheSamePort(): void
    {
        $valkey = $this->valkey();
        $prefix = self::randomPrefix();
        $options = ['presence_grace 500ms', 'presence_ttl 3s'];
        $a = $this->node('a', $valkey->address(), $prefix, $options);
        $b = $this->node('b', $valkey->address(), $prefix, $options);
        $pids = [$a->pid(), $b->pid()];
        $channel = self::channel();
        $presence = self::channel('presence-outage-');

        $subA = self::connectAs($a, 'user-a');
        $subB = self::connectAs($b, 'user-b');
        foreach ([$subA, $subB] as $client) {
            self::subscribe($client, $channel);
        }
        self::subscribe($subA, $presence);
        self::subscribe($subB, $presence);
        self::assertNextFrame($subA, ['event' => 'join', 'channel' => $presence, 'user_id' => 'user-b'], 'presence works before the outage');
        self::publish($a, $channel, 'before');
        self::assertNextFrame($subA, ['event' => 'message', 'channel' => $channel, 'data' => 'before'], 'before the outage, node a');
        self::assertNextFrame($subB, ['event' => 'message', 'channel' => $channel, 'data' => 'before'], 'before the outage, node b');
        self::assertSame(['user-a', 'user-b'], self::channelUsers($b, $presence), 'presence before the outage');

        $valkey->kill();

        // During the outage: local traffic is served.
        self::assertSame(200, $a->http('GET', '/')->status, 'HTTP is served during the outage');
        $fresh = self::connectAs($a, 'user-new'); // handshake + auth work
        self::assertUsable($fresh, 'a new connection during the outage');
        self::assertUsable($subA, 'an existing connection on node a during the outage');
        self::assertUsable($subB, 'an existing connection on node b during the outage');
        $fresh->sendJson(['action' => 'subscribe', 'channel' => $channel]);
        self::assertNextFrame($fresh, ['event' => 'subscribed', 'channel' => $channel], 'subscribing works during the outage (takes effect on reconnect)');

        // Publishing throws in PHP (SPEC §5/§7), never silently dropped; the
        // publishing node's own subscribers still get a broadcast
        // (operations.md "When Valkey goes away": local only).
        foreach (['broadcast' => [$channel, 'during'], 'broadcastToUser' => ['user-b', 'during'], 'disconnectUser' => ['user-b']] as $fn => $args) {
            $message = self::assertThrew(self::call($a, $fn, $args), 'RuntimeException', "$fn() on node a while Valkey is down");
            self::assertStringContainsString('unreachable', $message, "$fn(): the message says why");
        }
        foreach (['a' => $subA, 'a (subscribed during the outage)' => $fresh] as $name => $client) {
            self::assertNextFrame($client, ['event' => 'message', 'channel' => $channel, 'data' => 'during'], "local subscriber on node $name gets the broadcast made during the outage");
        }
        $admin = $a->adminBroadcast(self::channel('nobody-'), 'during-admin');
        self::assertSame(503, $admin->status, 'admin broadcast while Valkey is down (SPEC §7): ' . $admin->describe());
        self::assertUsable($subB, 'user-b (on node b) was neither disconnected nor reached; the next frame of its connection is this pong');

        // Valkey back, empty, on the same port; the nodes are not restarted.
        $valkey->start();
        $restartedAt = microtime(true);
        $ab = self::waitForDelivery($a, $subB, $channel, 15.0, 'node a -> node b after the restart');
        $ba = self::waitForDelivery($b, $subA, $channel, 15.0, 'node b -> node a after the restart');
        self::report(sprintf('Valkey restarted: cross-node delivery a->b resumed %.0f ms after the restart (b->a %.0f ms later)', $ab * 1000, $ba * 1000));
        self::assertSame($pids, [$a->pid(), $b->pid()], 'the nodes were not restarted');

        // The subscription made during the outage took effect, the new connection gets messages too.
        self::publish($b, $channel, 'after');
        foreach (['a' => $subA, 'b' => $subB, 'a (subscribed during the outage)' => $fresh] as $name => $client) {
            // Skip the probes still in flight and memberships Valkey lost being
            // announced as joins again (operations.md) — nothing else.
            $frame = $client->waitForJson(static fn (array $f): bool => !self::isProbe($f, $channel)
                && !(($f['channel'] ?? null) === $presence && in_array($f['event'] ?? null, ['join', 'leave'], true)), 15.0, 'a frame other than a probe or a re-announced join');
            self::assertSame(['event' => 'message', 'channel' => $channel, 'data' => 'after'], $frame, "after the restart, node $name");
        }

        // Presence re-published: Valkey lost every key; the nodes put their members back.
        self::poll(static fn (): bool => self::channelUsersOrNull($b, $presence) === ['user-a', 'user-b'], 15.0,
            'getChannelUsers on node b lists both users again after Valkey lost its data',
            static fn (): string => json_encode(self::channelUsersOrNull($b, $presence)));
        $presenceAfter = microtime(true) - $restartedAt;
        self::assertSame(['user-a', 'user-b'], self::channelUsers($a, $presence), 'node a too');
        self::report(sprintf('Valkey restarted: presence re-published (getChannelUsers complete) %.2f s after the restart (presence_ttl 3s)', $presenceAfter));

        // A membership made during the outage (user-new subscribed while Valkey
        // was down) is part of the node's presence too (SPEC §6/§7).
        self::poll(static fn (): bool => self::channelUsersOrNull($b, $channel) === ['user-a', 'user-b', 'user-new'], 15.0,
            'getChannelUsers lists user-new, who subscribed on node a during the outage (SPEC §7: the node re-publishes its presence)',
            static fn (): string => json_encode(self::channelUsersOrNull($b, $channel)));
    }

    /** @param array<string, mixed> $frame */
    private static function isProbe(array $frame, string $channel): bool
    {
        return ($frame['event'] ?? null) === 'message' && ($frame['channel'] ?? null) === $channel && str_starts_with((string) ($frame['data'] ?? ''), 'probe-');
    }

    /** @return list<string>|null getChannelUsers, or null while it throws */
    private static function channelUsersOrNull(Server $server, string $channel): ?array
    {
        $response = self::call($server, 'getChannelUsers', [$channel]);
        if ($response->status !== 200) {
            return null;
        }
        $users = $response->json()['result'] ?? null;
        if (!is_array($users)) {
            return null;
        }
        sort($users);

        return $users;
    }

    public function testANodeStartsWhileValkeyIsUnreachableAndRecoversWhenItComesUp(): void
    {
        $valkey = $this->valkey(start: false); // port reserved, nothing listens yet
        $prefix = self::randomPrefix();
        $a = $this->node('a', $valkey->address(), $prefix, ['presence_grace 500ms', 'presence_ttl 3s']);
        $b = $this->node('b', $valkey->address(), $prefix, ['presence_grace 500ms', 'presence_ttl 3s']);
        $pids = [$a->pid(), $b->pid()];
        $channel = self::channel();

        self::assertSame(200, $a->http('GET', '/')->status, 'HTTP works although Valkey is unreachable');
        $subA = self::connectAs($a, 'user-a');
        $subB = self::connectAs($b, 'user-b');
        self::subscribe($subA, $channel);
        self::subscribe($subB, $channel);
        self::assertUsable($subA, 'WebSocket on node a without Valkey');
        $message = self::assertThrew(self::call($a, 'broadcast', [$channel, 'x']), 'RuntimeException', 'broadcast() while Valkey was never reachable');
        self::assertStringContainsString('unreachable', $message);
        self::assertThrew(self::call($b, 'getChannelUsers', [$channel]), 'RuntimeException', 'getChannelUsers() while Valkey was never reachable');

        $valkey->start();
        $ab = self::waitForDelivery($a, $subB, $channel, 15.0, 'node a -> node b once Valkey came up');
        $ba = self::waitForDelivery($b, $subA, $channel, 15.0, 'node b -> node a once Valkey came up');
        self::report(sprintf('Valkey started after the nodes: cross-node delivery a->b after %.0f ms (b->a %.0f ms later)', $ab * 1000, $ba * 1000));
        self::assertSame($pids, [$a->pid(), $b->pid()], 'the nodes were not restarted');
        self::poll(static fn (): bool => self::channelUsersOrNull($a, $channel) === ['user-a', 'user-b'], 15.0,
            'getChannelUsers lists the users who connected while Valkey was unreachable',
            static fn (): string => json_encode(self::channelUsersOrNull($a, $channel)));
    }
}
