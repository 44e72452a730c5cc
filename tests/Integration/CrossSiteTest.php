<?php

declare(strict_types=1);

namespace Realtime\Tests\Integration;

use Realtime\Tests\Support\HandshakeBatch;
use Realtime\Tests\Support\HandshakeOutcome;
use Realtime\Tests\Support\PortReservation;
use Realtime\Tests\Support\RealtimeTestCase;
use Realtime\Tests\Support\Server;
use Realtime\Tests\Support\WebSocketClient;

/**
 * Issue 14, failing input 1 (SPEC §2): endpoint calls are bound to the site
 * that received the handshake. One process serves two sites on two ports,
 * each `handle /ws { realtime { auth_endpoint /auth.php } }` + php_server
 * with its own root: site A's auth.php answers "A-<uid cookie>", site B's
 * always 401. Handshakes to both at the same moment must each be decided by
 * their own site's endpoint — never by whichever site routed a request last.
 *
 * The binding also holds for two sites on one port told apart by Host, and
 * for every later call of a connection: its authorize calls and its
 * presence hooks run through its own site.
 */
final class CrossSiteTest extends RealtimeTestCase
{
    private const ROUNDS = 20;
    private const PER_SITE = 60;

    private function twoSites(): Server
    {
        $fixtures = Server::root() . '/tests/fixtures';

        return $this->server('two-sites', static fn () => new Server(
            'auth_endpoint /auth.php',
            appDir: "$fixtures/siteA",
            extraSites: ["root * $fixtures/siteB\nhandle /ws {\n\trealtime {\n\t\tauth_endpoint /auth.php\n\t}\n}\nphp_server"],
        ));
    }

    public function testEachSitesHandshakesAreAuthenticatedByItsOwnEndpoint(): void
    {
        $server = $this->twoSites();
        $portA = $server->port();
        $portB = $server->extraPort(0);
        // Each site's pages are its own (the configuration is what the test thinks).
        self::assertSame("site A\n", $server->http('GET', "http://127.0.0.1:$portA/index.php")->body);
        self::assertSame("site B\n", $server->http('GET', "http://127.0.0.1:$portB/index.php")->body);

        $failures = [];
        for ($round = 1; $round <= self::ROUNDS; ++$round) {
            // A and B interleaved, all in flight together.
            $requests = [];
            for ($n = 1; $n <= self::PER_SITE; ++$n) {
                foreach ([$portA, $portB] as $port) {
                    $requests[] = ["ws://127.0.0.1:$port/ws", ['Cookie' => "uid=u$n", 'Origin' => "http://127.0.0.1:$port"]];
                }
            }
            $outcomes = HandshakeBatch::open($requests, 30.0);
            foreach ($outcomes as $i => $outcome) {
                $n = intdiv($i, 2) + 1;
                $site = $i % 2 === 0 ? 'A' : 'B';
                if (!self::asExpected($site, $n, $outcome)) {
                    $failures[] = sprintf('round %d, site %s, uid=u%d: %s', $round, $site, $n, $outcome->describe());
                }
            }
            HandshakeBatch::closeAll($outcomes);
        }

        $failedRounds = count(array_unique(array_map(static fn (string $f): string => strstr($f, ',', true), $failures)));
        self::assertSame([], array_slice($failures, 0, 30), sprintf(
            "%d of %d rounds went wrong (%d of %d handshakes); expected every A handshake upgraded as A-uN and every B handshake refused with 401:\n%s",
            $failedRounds,
            self::ROUNDS,
            count($failures),
            self::ROUNDS * 2 * self::PER_SITE,
            implode("\n", array_slice($failures, 0, 30)),
        ));
    }

    public function testAuthorizeCallsAndPresenceHooksRunThroughTheConnectionsOwnHost(): void
    {
        $fixtures = Server::root() . '/tests/fixtures/hosts';
        $realtime = "handle /ws {\n\trealtime {\n\t\tauth_endpoint /auth.php\n\t\tauthorize_endpoint /authorize.php\n\t\tpresence_endpoint /presence.php\n\t}\n}";
        $server = $this->server('two-hosts', static fn () => new Server(
            "auth_endpoint /auth.php\nauthorize_endpoint /authorize.php\npresence_endpoint /presence.php",
            appDir: "$fixtures/alpha",
            extraSites: [
                'http://alpha.test:{{PORT}}' => "root * $fixtures/alpha\n$realtime\nphp_server",
                'http://beta.test:{{PORT}}' => "root * $fixtures/beta\n$realtime\nphp_server",
            ],
        ));
        $port = $server->port();
        $channel = self::channel('presence-room-');
        $private = self::channel('private-room-');

        // 30 connections per Host, all at once.
        $requests = [];
        for ($n = 1; $n <= 30; ++$n) {
            foreach (['alpha', 'beta'] as $site) {
                $requests[] = [$server->wsUrl(), ['Host' => "$site.test:$port", 'Origin' => "http://$site.test:$port", 'Cookie' => "uid=u$n"]];
            }
        }
        $outcomes = HandshakeBatch::open($requests, 30.0);
        $users = [];
        foreach ($outcomes as $i => $outcome) {
            $expected = ($i % 2 === 0 ? 'alpha' : 'beta') . '-u' . (intdiv($i, 2) + 1);
            self::assertSame($expected, $outcome->userId, "handshake $i: " . $outcome->describe());
            $users[] = $expected;
        }
        // Every connection subscribes to a presence and a private channel, all at once.
        foreach ($outcomes as $outcome) {
            $outcome->client->sendJson(['action' => 'subscribe', 'channel' => $channel]);
            $outcome->client->sendJson(['action' => 'subscribe', 'channel' => $private]);
        }
        foreach ($outcomes as $i => $outcome) {
            foreach ([$channel, $private] as $subscribed) {
                $outcome->client->waitForEvent('subscribed', ['channel' => $subscribed], 15.0);
            }
        }

        // One authorize call per subscription and one join hook per user, each run by the user's own site.
        $calls = self::poll(static function () use ($server, $channel, $private): ?array {
            $calls = array_values(array_filter(self::fixtureLog($server, 'sites.jsonl'), static fn (array $e): bool => in_array($e['channel'], [$channel, $private], true)));

            return count($calls) >= 180 ? $calls : null;
        }, 15.0, '120 authorize calls and 60 join hooks', static fn (): string => (string) count(self::fixtureLog($server, 'sites.jsonl')));
        $misrouted = array_filter($calls, static fn (array $e): bool => !str_starts_with($e['user_id'], $e['site'] . '-'));
        self::assertSame([], array_values($misrouted), 'calls run through another site than the connection\'s');
        $joins = array_column(array_filter($calls, static fn (array $e): bool => $e['kind'] === 'presence'), 'user_id');
        sort($joins);
        sort($users);
        self::assertSame($users, $joins, 'one join hook per user');
        self::assertCount(120, array_filter($calls, static fn (array $e): bool => $e['kind'] === 'authorize'));
        HandshakeBatch::closeAll($outcomes);
    }

    /**
     * Caddy names servers srv0, srv1... by listener address: a reload that
     * adds a site on a lower port renames every existing server. A
     * connection's later calls must still run through its own site.
     */
    public function testAConnectionKeepsItsSiteAcrossAReloadThatAddsASite(): void
    {
        $fixtures = Server::root() . '/tests/fixtures/hosts';
        $server = $this->server('reload', static fn () => new Server(
            "auth_endpoint /auth.php\nauthorize_endpoint /authorize.php",
            appDir: "$fixtures/alpha",
            withAdmin: true,
        ));
        $client = WebSocketClient::connect($server->wsUrl(), ['Cookie' => 'uid=u1'], 10.0);
        self::assertSame('alpha-u1', $client->receiveJson(10.0)['user_id'] ?? null);
        $before = self::channel('private-before-');
        $this->subscribe($client, $before);

        // A new site (the beta app) on a port that sorts before this server's.
        $lower = self::lowerPort($server->port());
        $response = $server->load($server->caddyfile() . "\nhttp://127.0.0.1:{$lower->port} {\n\tbind 127.0.0.1\n\troot * $fixtures/beta\n\tphp_server\n}\n");
        $lower->release();
        self::assertSame(200, $response->status, $response->describe());

        self::assertStillUsable($client, ' after the reload');
        $after = self::channel('private-after-');
        $this->subscribe($client, $after);
        $sites = [];
        foreach (self::fixtureLog($server, 'sites.jsonl') as $call) {
            $sites[$call['channel']] = $call['site'];
        }
        self::assertSame('alpha', $sites[$before] ?? null, 'authorize before the reload');
        self::assertSame('alpha', $sites[$after] ?? null, "authorize after the reload runs through the connection's own site, not the new one");
    }

    /**
     * A reload that removes a connection's site leaves the connection open
     * (the hub lives on with the other site's realtime route), but its
     * later endpoint calls fail: they never run on the remaining site, whose
     * authorize endpoint allows everything here.
     */
    public function testAConnectionWhoseSiteAReloadRemovedGetsNoCallsOnAnotherSite(): void
    {
        $fixtures = Server::root() . '/tests/fixtures/hosts';
        $options = "auth_endpoint /auth.php\nauthorize_endpoint /authorize.php";
        $server = $this->server('site-removed', static fn () => new Server(
            $options,
            appDir: "$fixtures/alpha",
            withAdmin: true,
            extraSites: ["root * $fixtures/beta\nhandle /ws {\n\trealtime {\n\t\tauth_endpoint /auth.php\n\t\tauthorize_endpoint /authorize.php\n\t}\n}\nphp_server"],
        ));
        $client = WebSocketClient::connect($server->wsUrl(), ['Cookie' => 'uid=u1'], 10.0);
        self::assertSame('alpha-u1', $client->receiveJson(10.0)['user_id'] ?? null);

        // The same configuration without the alpha site.
        $full = $server->caddyfile();
        $global = substr($full, 0, strpos($full, "\n}\n") + 3);
        $betaAt = strpos($full, 'http://127.0.0.1:' . $server->extraPort(0) . ' {');
        self::assertNotFalse($betaAt, $full);
        $response = $server->load($global . "\n" . substr($full, $betaAt));
        self::assertSame(200, $response->status, $response->describe());

        $private = self::channel('private-orphan-');
        $client->sendJson(['action' => 'subscribe', 'channel' => $private]);
        $reply = $client->receiveJson(10.0);
        self::assertSame(['error', 'internal', $private], [$reply['event'] ?? null, $reply['code'] ?? null, $reply['channel'] ?? null], json_encode($reply));
        $ran = array_filter(self::fixtureLog($server, 'sites.jsonl'), static fn (array $e): bool => $e['channel'] === $private);
        self::assertSame([], array_values($ran), 'an authorize call for the orphaned connection ran on another site');
        self::assertStillUsable($client, ' after the refused subscribe');
    }

    /** A reserved free port below $port (Caddy orders servers by listener address). */
    private static function lowerPort(int $port): PortReservation
    {
        for ($i = 0; $i < 100; ++$i) {
            $reservation = PortReservation::reserve();
            if ($reservation->port < $port && strlen((string) $reservation->port) === strlen((string) $port)) {
                return $reservation;
            }
            $reservation->release();
        }
        self::markTestSkipped("no free port below $port");
    }

    private static function asExpected(string $site, int $n, HandshakeOutcome $outcome): bool
    {
        return $site === 'A'
            ? $outcome->status === 101 && $outcome->userId === "A-u$n"
            : $outcome->status === 401;
    }
}
