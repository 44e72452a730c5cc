<?php

declare(strict_types=1);

namespace Realtime\Tests\Cluster;

/**
 * SPEC §6: with `valkey`, a crashed node's users disappear within the
 * presence TTL, and produce `leave` frames and hooks once their presence
 * expires (docs/presence.md: within presence_ttl + 1 s sweep, announced by
 * a surviving node). Node c is killed with SIGKILL: nothing is cleaned up.
 */
final class NodeCrashTest extends ClusterTestCase
{
    private const TTL = 3.0;
    private const GRACE = 0.5;

    public function testAKilledNodesUsersLeaveOnceWithinThePresenceTtl(): void
    {
        $valkey = $this->valkey();
        $prefix = self::randomPrefix();
        $dir = self::sharedDir();
        $options = ['presence_endpoint /presence.php', 'presence_grace 500ms', 'presence_ttl 3s'];
        $a = $this->node('a', $valkey->address(), $prefix, $options, $dir);
        $b = $this->node('b', $valkey->address(), $prefix, $options, $dir);
        $c = $this->node('c', $valkey->address(), $prefix, $options, $dir);
        $channel = self::channel('presence-crash-');

        $observers = ['a' => self::connectAs($a, 'obs-a'), 'b' => self::connectAs($b, 'obs-b')];
        self::subscribe($observers['a'], $channel);
        self::subscribe($observers['b'], $channel);
        self::assertNextFrame($observers['a'], ['event' => 'join', 'channel' => $channel, 'user_id' => 'obs-b'], 'obs-b joins');

        $gone = self::user('only-on-c-');   // its only connection is on the node that dies
        $stays = self::user('also-on-a-');  // a tab on c and a tab on a
        $onC = self::connectAs($c, $gone);
        self::subscribe($onC, $channel);
        $staysOnC = self::connectAs($c, $stays);
        self::subscribe($staysOnC, $channel);
        $staysOnA = self::connectAs($a, $stays);
        self::subscribe($staysOnA, $channel);
        foreach ($observers as $name => $observer) {
            self::assertNextFrame($observer, ['event' => 'join', 'channel' => $channel, 'user_id' => $gone], "node $name");
            self::assertNextFrame($observer, ['event' => 'join', 'channel' => $channel, 'user_id' => $stays], "node $name");
        }
        $all = ['obs-a', 'obs-b', $gone, $stays];
        sort($all);
        self::assertSame($all, self::channelUsers($a, $channel), 'before the crash');

        $killedAt = microtime(true);
        self::killNode($c);

        // The survivors drop the dead node's users within TTL + grace + slack.
        $bound = self::TTL + self::GRACE + 3.0;
        self::poll(static fn (): bool => !in_array($gone, self::channelUsers($a, $channel), true), 15.0, "$gone gone from getChannelUsers on node a after node c was killed",
            static fn (): string => json_encode(self::channelUsers($a, $channel)));
        $goneAfter = microtime(true) - $killedAt;
        $survivors = ['obs-a', 'obs-b', $stays];
        sort($survivors);
        self::assertSame($survivors, self::channelUsers($a, $channel), 'node a: the killed node\'s user is gone; the user with a tab on a stays');
        self::assertSame($survivors, self::channelUsers($b, $channel), 'node b: same');

        $leaveAfter = [];
        foreach (['observer on node a' => $observers['a'], 'observer on node b' => $observers['b'], "$stays's tab on node a" => $staysOnA] as $name => $observer) {
            self::assertNextFrame($observer, ['event' => 'leave', 'channel' => $channel, 'user_id' => $gone], "leave of the killed node's user reaches the $name (surviving node)", 15.0);
            $leaveAfter[$name] = microtime(true) - $killedAt;
        }
        self::report(sprintf('node c SIGKILLed (presence_ttl 3s): its user left getChannelUsers after %.2f s; leave frames after %s', $goneAfter,
            implode(', ', array_map(static fn (string $n, float $t): string => sprintf('%s %.2f s', $n, $t), array_keys($leaveAfter), $leaveAfter))));
        self::assertLessThanOrEqual($bound, $goneAfter, sprintf('the killed node\'s users disappear within presence_ttl (3 s) + sweep (SPEC §6); bound %.1f s', $bound));
        self::assertLessThanOrEqual($bound, max($leaveAfter), sprintf('leave frames within presence_ttl + sweep; bound %.1f s', $bound));

        // Exactly once, and no leave for the user who still has a tab on a.
        self::assertNothingBeforeSentinel($b, $channel, [...$observers, 'stays on a' => $staysOnA], 'exactly one leave, none for the user still connected on node a');
        self::poll(static fn (): bool => count(array_filter(self::hookLog($dir, $channel), static fn (array $e): bool => $e['event'] === 'leave')) >= 1, 15.0, 'the leave hook');
        $hooks = self::hookLog($dir, $channel);
        $leaves = array_values(array_filter($hooks, static fn (array $e): bool => $e['event'] === 'leave'));
        self::assertCount(1, $leaves, 'exactly one leave hook cluster-wide: ' . json_encode($hooks));
        self::assertSame($gone, $leaves[0]['user_id'], json_encode($leaves[0]));
        self::assertContains($leaves[0]['node'], ['a', 'b'], 'announced by a surviving node');
        $joins = array_count_values(array_column(array_filter($hooks, static fn (array $e): bool => $e['event'] === 'join'), 'user_id'));
        $expectedJoins = ['obs-a' => 1, 'obs-b' => 1, $gone => 1, $stays => 1];
        ksort($joins);
        ksort($expectedJoins);
        self::assertSame($expectedJoins, $joins, 'one join hook per user: ' . json_encode($hooks));
    }

    /**
     * docs/presence.md "Timing": on a graceful shutdown the node removes its
     * memberships at once (operations.md: SIGTERM "removes the node's
     * presence (announcing leaves)"); the transition is still one leave
     * frame per subscriber and one hook call (SPEC §6). presence_ttl stays at
     * its 30 s default so that expiry cannot be what removes them.
     */
    public function testAGracefullyStoppedNodesUsersLeaveAtOnceWithOneHook(): void
    {
        $valkey = $this->valkey();
        $prefix = self::randomPrefix();
        $dir = self::sharedDir();
        $options = ['presence_endpoint /presence.php', 'presence_grace 500ms'];
        $a = $this->node('a', $valkey->address(), $prefix, $options, $dir);
        $b = $this->node('b', $valkey->address(), $prefix, $options, $dir);
        $channel = self::channel('presence-stop-');
        $observer = self::connectAs($a, 'obs-a');
        self::subscribe($observer, $channel);
        $user = self::user('on-b-');
        $onB = self::connectAs($b, $user);
        self::subscribe($onB, $channel);
        self::assertNextFrame($observer, ['event' => 'join', 'channel' => $channel, 'user_id' => $user], 'join');
        self::poll(static fn (): bool => count(self::hookLog($dir, $channel)) >= 2, 15.0, 'the two join hooks', static fn (): string => json_encode(self::hookLog($dir, $channel)));

        $stoppedAt = microtime(true);
        self::assertSame(0, $b->terminate(15.0), 'node b exits 0 on SIGTERM');
        self::assertSame(1001, self::closedBy($onB), 'SIGTERM closes connections with 1001');
        self::assertNextFrame($observer, ['event' => 'leave', 'channel' => $channel, 'user_id' => $user], 'leave of the stopped node\'s user on node a', 15.0);
        $after = microtime(true) - $stoppedAt;
        self::report(sprintf('node b stopped with SIGTERM: leave on node a after %.2f s (presence_ttl 30s)', $after));
        self::assertLessThan(10.0, $after, 'a graceful shutdown announces the leave at once, not after presence_ttl (30 s)');
        self::assertSame(['obs-a'], self::channelUsers($a, $channel), 'gone from getChannelUsers');
        self::assertNothingBeforeSentinel($a, $channel, ['observer' => $observer], 'exactly one leave');

        self::poll(static fn (): bool => count(array_filter(self::hookLog($dir, $channel), static fn (array $e): bool => $e['event'] === 'leave')) >= 1, 15.0,
            "a leave hook for $user (SPEC §6: the presence endpoint is called once per cluster-wide transition)",
            static fn (): string => 'hooks recorded: ' . json_encode(self::hookLog($dir, $channel)) . "\nnode b log tail:\n" . $b->logTail(15));
        $leaves = array_values(array_filter(self::hookLog($dir, $channel), static fn (array $e): bool => $e['event'] === 'leave'));
        self::assertCount(1, $leaves, json_encode($leaves));
        self::assertSame($user, $leaves[0]['user_id']);
    }
}
