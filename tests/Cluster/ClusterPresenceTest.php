<?php

declare(strict_types=1);

namespace Realtime\Tests\Cluster;

use Realtime\Tests\Support\Server;
use Realtime\Tests\Support\WebSocketClient;

/**
 * SPEC §6 and docs/presence.md across three nodes: presence is per user
 * cluster-wide, each transition is decided once (one join/leave frame per
 * subscriber, one hook call), leaves wait for presence_grace (500ms here),
 * and a tab moving to another node within the grace is neither a leave nor
 * a join.
 */
final class ClusterPresenceTest extends ClusterTestCase
{
    private const GRACE = 0.5;

    /** @return array{dir: string, a: Server, b: Server, c: Server} */
    private function cluster(): array
    {
        $cluster = $this->shared('cluster', function (): array {
            $valkey = $this->valkey(forClass: true);
            $prefix = self::randomPrefix();
            $dir = self::sharedDir();
            $options = ['presence_endpoint /presence.php', 'presence_grace 500ms'];
            $cluster = ['dir' => $dir];
            foreach (['a', 'b', 'c'] as $name) {
                $cluster[$name] = $this->node($name, $valkey->address(), $prefix, $options, $dir, forClass: true);
            }

            return $cluster;
        });
        foreach (['a', 'b', 'c'] as $name) {
            $this->touch($name, $cluster[$name]);
        }

        return $cluster;
    }

    /**
     * One observer (its own user) per node, subscribed to $channel, joins
     * of the later observers consumed.
     *
     * @return array<string, WebSocketClient>
     */
    private function observers(string $channel): array
    {
        $cluster = $this->cluster();
        $observers = [];
        foreach (['a', 'b', 'c'] as $name) {
            $user = "obs-$name";
            $client = self::connectAs($cluster[$name], $user);
            $reply = self::subscribe($client, $channel);
            $users = $reply['users'] ?? null;
            self::assertIsArray($users, 'presence subscribed frame carries users: ' . json_encode($reply));
            sort($users);
            $expected = array_map(static fn (string $n): string => "obs-$n", [...array_keys($observers), $name]);
            sort($expected);
            self::assertSame($expected, $users, "the subscribed frame of the observer on node $name lists the observers of every node");
            foreach ($observers as $earlier => $observer) {
                self::assertNextFrame($observer, ['event' => 'join', 'channel' => $channel, 'user_id' => $user], "observer on node $earlier sees obs-$name join");
            }
            $observers[$name] = $client;
        }

        return $observers;
    }

    /** @param array<string, WebSocketClient> $observers */
    private static function expectEverywhere(array $observers, string $event, string $channel, string $user, string $context): void
    {
        foreach ($observers as $name => $observer) {
            self::assertNextFrame($observer, ['event' => $event, 'channel' => $channel, 'user_id' => $user], "$context: observer on node $name");
        }
    }

    /**
     * Hook calls recorded cluster-wide for $channel and $user.
     *
     * @return list<array<string, mixed>>
     */
    private function hooks(string $channel, string $user): array
    {
        return array_values(array_filter(self::hookLog($this->cluster()['dir'], $channel), static fn (array $e): bool => $e['user_id'] === $user));
    }

    /** Waits until $user's hooks on $channel are (at least) $events, then asserts exactly those. */
    private function assertHooks(string $channel, string $user, array $events, string $context): void
    {
        self::poll(fn (): bool => count($this->hooks($channel, $user)) >= count($events), 15.0, "$context: hook calls " . json_encode($events),
            fn (): string => json_encode($this->hooks($channel, $user)));
        $hooks = $this->hooks($channel, $user);
        self::assertSame($events, array_column($hooks, 'event'), "$context: exactly these hook calls cluster-wide (docs/presence.md: one per transition, whichever node saw it): " . json_encode($hooks));
        foreach ($hooks as $hook) {
            self::assertSame('POST', $hook['method']);
            self::assertMatchesRegularExpression('/^\d{9,}$/', (string) $hook['timestamp'], 'unix seconds');
            self::assertEqualsWithDelta(time(), (int) $hook['timestamp'], 60, 'timestamp is now-ish');
        }
    }

    public function testJoinReachesSubscribersOnOtherNodesButNotTheUsersOwnConnections(): void
    {
        $cluster = $this->cluster();
        $channel = self::channel('presence-join-');
        $observers = $this->observers($channel);
        $user = self::user('joiner-');

        $tabA = self::connectAs($cluster['a'], $user);
        $reply = self::subscribe($tabA, $channel);
        $users = $reply['users'] ?? null;
        self::assertIsArray($users);
        sort($users);
        $expected = ['obs-a', 'obs-b', 'obs-c', $user];
        sort($expected);
        self::assertSame($expected, $users, 'subscribed.users is cluster-wide, the subscriber included (SPEC §4)');
        self::expectEverywhere($observers, 'join', $channel, $user, "first connection of $user (node a)");

        // A second tab on another node: no second join anywhere.
        $tabB = self::connectAs($cluster['b'], $user);
        $reply = self::subscribe($tabB, $channel);
        $users = $reply['users'] ?? null;
        self::assertIsArray($users);
        sort($users);
        self::assertSame($expected, $users, "second tab's subscribed.users");
        // A new user on node c: the user's own tabs see that join, not their own.
        $other = self::user('other-');
        $otherTab = self::connectAs($cluster['c'], $other);
        self::subscribe($otherTab, $channel);
        self::expectEverywhere($observers, 'join', $channel, $other, "$other joins on node c (and no second join of $user came before it)");
        foreach (['a' => $tabA, 'b' => $tabB] as $name => $tab) {
            self::assertNextFrame($tab, ['event' => 'join', 'channel' => $channel, 'user_id' => $other], "$user's tab on node $name sees $other join, and never saw its own join before");
        }
        self::assertNothingBeforeSentinel($cluster['c'], $channel, [...$observers, 'own tab a' => $tabA, 'own tab b' => $tabB, 'other' => $otherTab], 'no further presence frames');
        $this->assertHooks($channel, $user, ['join'], $user);
        $this->assertHooks($channel, $other, ['join'], $other);
    }

    public function testClosingOneOfTwoTabsIsNoLeaveClosingBothIsExactlyOneLeaveAfterTheGrace(): void
    {
        $cluster = $this->cluster();
        $channel = self::channel('presence-leave-');
        $observers = $this->observers($channel);
        $user = self::user('leaver-');
        $clock = self::user('clock-'); // its leave tells when a grace has passed on node a

        $tabA = self::connectAs($cluster['a'], $user);
        self::subscribe($tabA, $channel);
        self::expectEverywhere($observers, 'join', $channel, $user, 'join');
        $tabB = self::connectAs($cluster['b'], $user);
        self::subscribe($tabB, $channel);
        $clockTab = self::connectAs($cluster['a'], $clock);
        self::subscribe($clockTab, $channel);
        self::expectEverywhere($observers, 'join', $channel, $clock, 'clock join (and no second join of the user before it)');

        // Close the tab on a, then the clock user's only tab on a: once the
        // clock's leave has arrived, a (wrong) leave of the user would have too.
        $tabA->close();
        $clockTab->close();
        self::expectEverywhere($observers, 'leave', $channel, $clock, "the clock user's leave comes first: the user still has a tab on node b");
        self::assertNothingBeforeSentinel($cluster['c'], $channel, $observers, 'closing one of two tabs (nodes a and b) is no leave');
        self::assertContains($user, self::channelUsers($cluster['c'], $channel), 'still listed through node b');

        // Last tab: exactly one leave on every node, after the grace.
        $closedAt = microtime(true);
        $tabB->close();
        $listedDuringGrace = self::channelUsers($cluster['a'], $channel);
        if (microtime(true) - $closedAt < self::GRACE * 0.8) {
            self::assertContains($user, $listedDuringGrace, 'during presence_grace the user is still listed (SPEC §2)');
        }
        $arrivals = [];
        foreach ($observers as $name => $observer) {
            self::assertNextFrame($observer, ['event' => 'leave', 'channel' => $channel, 'user_id' => $user], "last tab closed: leave on node $name");
            $arrivals[$name] = microtime(true) - $closedAt;
        }
        self::report(sprintf('leave after the last tab closed (presence_grace 500ms): %s', implode(', ', array_map(static fn (string $n, float $t): string => sprintf('node %s %.0f ms', $n, $t * 1000), array_keys($arrivals), $arrivals))));
        self::assertGreaterThanOrEqual(self::GRACE - 0.05, min($arrivals), 'the leave waits for presence_grace (500ms) — SPEC §2');
        self::assertNothingBeforeSentinel($cluster['b'], $channel, $observers, 'exactly one leave per subscriber');
        self::assertNotContains($user, self::channelUsers($cluster['b'], $channel), 'gone after the leave');
        $this->assertHooks($channel, $user, ['join', 'leave'], $user);
        $this->assertHooks($channel, $clock, ['join', 'leave'], $clock);
    }

    public function testATabMovingToAnotherNodeWithinTheGraceIsNoLeaveAndNoJoin(): void
    {
        $cluster = $this->cluster();
        $channel = self::channel('presence-reload-');
        $observers = $this->observers($channel);
        $user = self::user('reloader-');
        $clock = self::user('clock-');

        $old = self::connectAs($cluster['a'], $user);
        self::subscribe($old, $channel);
        self::expectEverywhere($observers, 'join', $channel, $user, 'join');
        $clockTab = self::connectAs($cluster['a'], $clock);
        self::subscribe($clockTab, $channel);
        self::expectEverywhere($observers, 'join', $channel, $clock, 'clock join');
        $new = self::connectAs($cluster['b'], $user); // the reloaded page, on another node

        $closedAt = microtime(true);
        $old->close();
        $clockTab->close();
        $reply = self::subscribe($new, $channel);
        $elapsed = microtime(true) - $closedAt;
        self::assertLessThan(self::GRACE, $elapsed, sprintf('precondition: the new tab subscribed within presence_grace (took %.0f ms)', $elapsed * 1000));
        self::assertContains($user, $reply['users'] ?? [], "the reloaded tab's subscribed.users");

        self::expectEverywhere([...$observers, 'new tab' => $new], 'leave', $channel, $clock, "only the clock user's leave (the user came back on node b within the grace)");
        self::assertNothingBeforeSentinel($cluster['c'], $channel, [...$observers, 'new tab' => $new], 'a reload across nodes within the grace is no leave and no join (docs/presence.md)');
        foreach (['a', 'b', 'c'] as $name) {
            self::assertContains($user, self::channelUsers($cluster[$name], $channel), "still listed on node $name");
        }
        $this->assertHooks($channel, $clock, ['join', 'leave'], $clock);
        $this->assertHooks($channel, $user, ['join'], "$user (reload: no leave, no second join)");
    }

    public function testTabsJoiningAndLeavingOnThreeNodesAtOnceMakeOneJoinAndOneLeave(): void
    {
        $cluster = $this->cluster();
        $channel = self::channel('presence-race-');
        $observers = $this->observers($channel);
        $user = self::user('racer-');
        $tabs = [];
        foreach (['a', 'b', 'c'] as $name) {
            $tabs[$name] = self::connectAs($cluster[$name], $user);
        }
        // Subscribe on the three nodes before reading any reply.
        foreach ($tabs as $tab) {
            $tab->sendJson(['action' => 'subscribe', 'channel' => $channel]);
        }
        foreach ($tabs as $name => $tab) {
            self::assertSame('subscribed', $tab->receiveJson(15.0)['event'] ?? null, "tab on node $name subscribed");
        }
        self::expectEverywhere($observers, 'join', $channel, $user, 'one join for three simultaneous first connections');
        self::assertNothingBeforeSentinel($cluster['a'], $channel, [...$observers, ...array_combine(array_map(static fn (string $n): string => "own tab $n", array_keys($tabs)), $tabs)], 'exactly one join, and none to the user\'s own tabs');

        foreach ($tabs as $tab) {
            $tab->sendJson(['action' => 'unsubscribe', 'channel' => $channel]);
        }
        self::expectEverywhere($observers, 'leave', $channel, $user, 'one leave once the three tabs unsubscribed');
        self::assertNothingBeforeSentinel($cluster['b'], $channel, $observers, 'exactly one leave');
        $this->assertHooks($channel, $user, ['join', 'leave'], $user);
        $nodesThatCalled = array_column($this->hooks($channel, $user), 'node');
        self::report('hook calls for three racing tabs were made by node(s): ' . implode(', ', $nodesThatCalled));
    }
}
