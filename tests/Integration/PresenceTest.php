<?php

declare(strict_types=1);

namespace Realtime\Tests\Integration;

use Realtime\Tests\Support\RealtimeTestCase;
use Realtime\Tests\Support\Server;
use Realtime\Tests\Support\WebSocketClient;

/**
 * SPEC §6 on one node: presence-* subscribed frames with `users`, join and
 * leave frames with presence_grace, presence hooks (exactly once, retries,
 * a hanging endpoint, presence_hook_channels globs).
 */
final class PresenceTest extends RealtimeTestCase
{
    private const GRACE = 0.5;

    private function presence(): Server
    {
        return $this->server('presence', static fn () => new Server(
            "authorize_endpoint /authorize.php\npresence_endpoint /presence.php\npresence_grace 500ms\nauth_timeout 2s",
        ));
    }

    /**
     * Waits for the next join/leave frame on $client for $channel, failing
     * if a message sentinel or anything else arrives first.
     *
     * @return array<string, mixed>
     */
    private static function nextPresenceFrame(WebSocketClient $client, string $channel, float $timeout = 10.0): array
    {
        $frame = $client->receiveJson($timeout);
        self::assertContains($frame['event'] ?? null, ['join', 'leave'], 'expected a presence frame, got ' . json_encode($frame));
        self::assertSame($channel, $frame['channel'] ?? null, json_encode($frame));

        return $frame;
    }

    /**
     * Publishes a sentinel on $channel: the next frame of every client in
     * $clients (all subscribed to it) must be that sentinel.
     *
     * @param array<string, WebSocketClient> $clients
     */
    private function assertNextIsSentinel(Server $server, array $clients, string $channel, string $why): void
    {
        $sentinel = 'sentinel-' . bin2hex(random_bytes(3));
        self::publish($server, $channel, $sentinel);
        foreach ($clients as $name => $client) {
            self::assertSame(['event' => 'message', 'channel' => $channel, 'data' => $sentinel], $client->receiveJson(10.0), "$name: $why");
        }
    }

    /**
     * @return list<array<string, mixed>> acknowledged hook calls for $channel
     */
    private static function hooks(Server $server, string $channel, string $file = 'presence.jsonl'): array
    {
        return array_values(array_filter(self::fixtureLog($server, $file), static fn (array $e): bool => $e['channel'] === $channel));
    }

    public function testSubscribedFrameListsTheMembersIncludingTheSubscriber(): void
    {
        $server = $this->presence();
        $channel = self::channel('presence-room-');
        $a = $this->connectAs($server, '1');
        $reply = $this->subscribe($a, $channel);
        self::assertSame(['1'], $reply['users'] ?? null, 'the subscriber is included: ' . json_encode($reply));

        $b = $this->connectAs($server, '2');
        $reply = $this->subscribe($b, $channel);
        $users = $reply['users'] ?? null;
        self::assertIsArray($users, json_encode($reply));
        sort($users);
        self::assertSame(['1', '2'], $users);

        // A second connection of user 2: still unique ids.
        $b2 = $this->connectAs($server, '2');
        $users = $this->subscribe($b2, $channel)['users'] ?? null;
        sort($users);
        self::assertSame(['1', '2'], $users);

        self::assertSame(['event' => 'join', 'channel' => $channel, 'user_id' => '2'], self::nextPresenceFrame($a, $channel));
        $this->assertNextIsSentinel($server, ['a' => $a, 'b' => $b, 'b2' => $b2], $channel, 'one join for user 2, none for its second tab');

        // Non-presence channels carry no users.
        $plain = self::channel('plain-');
        self::assertArrayNotHasKey('users', $this->subscribe($a, $plain));
    }

    public function testJoinAndLeaveFramesFollowTheUsersFirstAndLastConnection(): void
    {
        $server = $this->presence();
        $channel = self::channel('presence-room-');
        $watcher = $this->connectAs($server, 'w');
        $this->subscribe($watcher, $channel);

        // User 7's first connection: the watcher sees a join, 7 itself does not.
        $tab1 = $this->connectAs($server, '7');
        $this->subscribe($tab1, $channel);
        self::assertSame(['event' => 'join', 'channel' => $channel, 'user_id' => '7'], self::nextPresenceFrame($watcher, $channel));
        $this->assertNextIsSentinel($server, ['watcher' => $watcher, 'tab 1' => $tab1], $channel, 'no join frame about the user itself');

        // Second tab: no second join, neither for the watcher nor for the user's own tabs.
        $tab2 = $this->connectAs($server, '7');
        $this->subscribe($tab2, $channel);
        $this->assertNextIsSentinel($server, ['watcher' => $watcher, 'tab 1' => $tab1, 'tab 2' => $tab2], $channel, 'a second connection of the same user produces no join');

        // One tab leaves: no leave.
        self::assertSame(1000, $tab2->close());
        $this->assertNextIsSentinel($server, ['watcher' => $watcher, 'tab 1' => $tab1], $channel, 'no leave while the user still has a connection');

        // Last connection leaves: leave only after presence_grace; listed until then.
        $tab1->sendJson(['action' => 'unsubscribe', 'channel' => $channel]);
        self::assertSame('unsubscribed', $tab1->receiveJson(10.0)['event'] ?? null);
        $left = microtime(true);
        $users = self::callOk($server, 'getChannelUsers', [$channel]);
        if (microtime(true) - $left < self::GRACE * 0.6) {
            sort($users);
            self::assertSame(['7', 'w'], $users, 'SPEC §6: until the grace passes the user is still listed');
        }
        self::assertSame(['event' => 'leave', 'channel' => $channel, 'user_id' => '7'], self::nextPresenceFrame($watcher, $channel));
        $elapsed = microtime(true) - $left;
        self::assertGreaterThanOrEqual(self::GRACE * 0.9, $elapsed, 'the leave waits for presence_grace (500ms)');
        self::assertSame(['w'], self::callOk($server, 'getChannelUsers', [$channel]));
    }

    public function testAReloadWithinTheGraceProducesNoLeaveOrJoin(): void
    {
        $server = $this->presence();
        $channel = self::channel('presence-room-');
        $watcher = $this->connectAs($server, 'w');
        $this->subscribe($watcher, $channel);
        $user = $this->connectAs($server, '8');
        $this->subscribe($user, $channel);
        self::assertSame('join', self::nextPresenceFrame($watcher, $channel)['event']);

        // Page reload: close, reconnect, resubscribe at once.
        $user->close();
        $user = $this->connectAs($server, '8');
        $this->subscribe($user, $channel);

        // Ordering sentinel: another user leaves after 8's (cancelled) leave
        // would have fired; 8 must produce nothing before 9's frames.
        $other = $this->connectAs($server, '9');
        $this->subscribe($other, $channel);
        self::assertSame(['event' => 'join', 'channel' => $channel, 'user_id' => '9'], self::nextPresenceFrame($watcher, $channel), 'no leave/join of user 8 for the reload');
        $other->close();
        self::assertSame(['event' => 'leave', 'channel' => $channel, 'user_id' => '9'], self::nextPresenceFrame($watcher, $channel), 'no leave of user 8 after the grace');

        // Hooks: one join for 8, no leave.
        self::poll(fn (): bool => count(array_filter(self::hooks($server, $channel), static fn (array $e): bool => $e['user_id'] === '9' && $e['event'] === 'leave')) === 1, 10.0, "user 9's leave hook");
        $hooks8 = array_values(array_filter(self::hooks($server, $channel), static fn (array $e): bool => $e['user_id'] === '8'));
        self::assertSame(['join'], array_column($hooks8, 'event'), 'the reload within the grace produced no hook call');
    }

    public function testHooksAreCalledExactlyOncePerTransition(): void
    {
        $server = $this->presence();
        $channel = self::channel('presence-hooked-');
        $before = time();
        $tab1 = $this->connectAs($server, '31');
        $tab2 = $this->connectAs($server, '31');
        $this->subscribe($tab1, $channel);
        $this->subscribe($tab2, $channel);
        self::poll(fn (): bool => count(self::hooks($server, $channel)) >= 1, 10.0, 'the join hook');
        $tab1->close();
        $tab2->close();
        self::poll(fn (): bool => count(self::hooks($server, $channel)) >= 2, 10.0, 'the leave hook');

        // Sentinel transition on another user/channel, to let any duplicate show up.
        $sentinelChannel = self::channel('presence-hooked-');
        $s = $this->connectAs($server, '32');
        $this->subscribe($s, $sentinelChannel);
        $s->close();
        self::poll(fn (): bool => count(self::hooks($server, $sentinelChannel)) >= 2, 10.0, 'the sentinel hooks');

        $hooks = self::hooks($server, $channel);
        self::assertSame(['join', 'leave'], array_column($hooks, 'event'), json_encode($hooks));
        self::assertCount(2, self::hooks($server, $channel, 'presence-attempts.jsonl'), 'no retries were needed');
        foreach ($hooks as $hook) {
            self::assertSame('POST', $hook['method']);
            self::assertSame('31', $hook['user_id']);
            self::assertMatchesRegularExpression('/^\d+$/', (string) $hook['timestamp'], 'unix seconds');
            self::assertGreaterThanOrEqual($before - 1, (int) $hook['timestamp']);
            self::assertLessThanOrEqual(time() + 1, (int) $hook['timestamp']);
        }
    }

    public function testAFailingHookIsRetriedUntilItSucceedsOnce(): void
    {
        $server = $this->presence();
        $channel = self::channel('presence-flaky-');
        $client = $this->connectAs($server, '41');
        $this->subscribe($client, $channel);
        self::poll(fn (): bool => count(self::hooks($server, $channel)) >= 1, 20.0, 'the join hook to succeed on its third attempt',
            fn (): string => json_encode(self::hooks($server, $channel, 'presence-attempts.jsonl')));
        // Let a possible extra attempt show up: a later transition's hook completes first.
        $client->close();
        self::poll(fn (): bool => count(self::hooks($server, $channel)) >= 2, 20.0, 'the leave hook');

        $effective = self::hooks($server, $channel);
        self::assertSame(['join', 'leave'], array_column($effective, 'event'), 'exactly one effective call per transition: ' . json_encode($effective));
        $attempts = array_column(self::hooks($server, $channel, 'presence-attempts.jsonl'), 'event');
        self::assertSame(['join', 'join', 'join', 'leave', 'leave', 'leave'], $attempts, 'two failures then a success, for each');
    }

    public function testAHangingHookDoesNotBlockTheHub(): void
    {
        $server = $this->server('hang', static fn () => new Server(
            "authorize_endpoint /authorize.php\npresence_endpoint /presence.php\npresence_grace 500ms\nauth_timeout 1s",
            withAdmin: true,
        ));
        try {
            $channel = self::channel('presence-hang-');
            $news = self::channel('news-');
            $watcher = $this->connectAs($server, 'w');
            $listener = $this->connectAs($server, 'l');
            $this->subscribe($watcher, $channel);
            $this->subscribe($listener, $news);
            $joiner = $this->connectAs($server, '51');
            $this->subscribe($joiner, $channel); // its join hook hangs for 10 s
            self::assertSame(['event' => 'join', 'channel' => $channel, 'user_id' => '51'], self::nextPresenceFrame($watcher, $channel, 5.0));
            self::poll(fn (): bool => count(self::hooks($server, $channel, 'presence-attempts.jsonl')) >= 1, 10.0, 'the hook to be called');

            // While the hook hangs (and is retried after auth_timeout), the hub serves promptly.
            for ($i = 1; $i <= 5; ++$i) {
                $started = microtime(true);
                self::assertSame(202, $server->adminBroadcast($news, "m$i")->status);
                self::assertSame(['event' => 'message', 'channel' => $news, 'data' => "m$i"], $listener->receiveJson(5.0));
                self::assertLessThan(1.0, microtime(true) - $started, "broadcast $i delivered promptly while the hook hangs");
            }
            $joiner->close();
            self::assertSame(['event' => 'leave', 'channel' => $channel, 'user_id' => '51'], self::nextPresenceFrame($watcher, $channel, 5.0), 'leave frames are not held up by the hook');
            self::assertStillUsable($watcher);
        } finally {
            touch($server->workDir() . '/release'); // let the sleeping PHP threads finish
        }
    }

    public function testPresenceHookChannelsSelectsTheChannels(): void
    {
        $server = $this->server('globs', static fn () => new Server(
            "authorize_endpoint /authorize.php\npresence_endpoint /presence.php\npresence_grace 500ms\n"
            . "presence_hook_channels presence-hooked-* public-hooked-*\npresence_hook_channels other-?",
        ));
        $suffix = bin2hex(random_bytes(4));
        $client = $this->connectAs($server, '61');
        $unhooked = "presence-plain-$suffix";
        $this->subscribe($client, $unhooked);
        $hooked = ["presence-hooked-$suffix", "public-hooked-$suffix", 'other-' . $suffix[0]];
        foreach ($hooked as $channel) {
            $this->subscribe($client, $channel);
        }
        foreach ($hooked as $channel) {
            self::poll(fn (): bool => count(self::hooks($server, $channel)) === 1, 10.0, "the join hook for $channel");
            self::assertSame('join', self::hooks($server, $channel)[0]['event']);
        }
        self::assertSame([], self::hooks($server, $unhooked, 'presence-attempts.jsonl'), 'presence-plain-* matches no glob: no hook');
    }
}
