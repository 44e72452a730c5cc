<?php

declare(strict_types=1);

namespace Realtime\Tests\Integration;

use PHPUnit\Framework\Attributes\DataProvider;
use Realtime\Tests\Support\RealtimeTestCase;
use Realtime\Tests\Support\Server;
use Realtime\Tests\Support\WebSocketClient;

/**
 * SPEC §3 (connection and authentication) and the `allowed_origins` row of
 * §2, through the real binary on one node (memory driver).
 */
final class HandshakeTest extends RealtimeTestCase
{
    private function defaultServer(): Server
    {
        return $this->server('default', static fn () => new Server(''));
    }

    /** auth_endpoint as a path or as an http:// URL to the same server. */
    private function authServer(string $form): Server
    {
        return match ($form) {
            'path' => $this->server('auth-path', static fn () => new Server('auth_endpoint /auth.php')),
            'url' => $this->server('auth-url', static fn () => new Server('auth_endpoint http://127.0.0.1:{{PORT}}/auth.php')),
        };
    }

    private function echoServer(string $form): Server
    {
        return match ($form) {
            'path' => $this->server('echo-path', static fn () => new Server('auth_endpoint /auth_echo.php')),
            'url' => $this->server('echo-url', static fn () => new Server('auth_endpoint http://127.0.0.1:{{PORT}}/auth_echo.php')),
        };
    }

    // ---- origin (§2 allowed_origins, §3.2) -----------------------------------------

    public function testSameHostOriginIsAllowedByDefault(): void
    {
        $server = $this->defaultServer();
        $client = $this->connectAs($server, '1', ['Origin' => 'http://127.0.0.1:' . $server->port()]);
        self::assertStillUsable($client);
        // host:port is compared, not the scheme (TLS may end at a proxy).
        $client2 = $this->connectAs($server, '1', ['Origin' => 'https://127.0.0.1:' . $server->port()]);
        self::assertStillUsable($client2);
    }

    public function testNoOriginIsAllowedByDefault(): void
    {
        $client = $this->connectAs($this->defaultServer(), '1');
        self::assertStillUsable($client);
    }

    /** @return iterable<string, array{string}> */
    public static function foreignOrigins(): iterable
    {
        yield 'other host' => ['http://evil.example'];
        yield 'same host, other port' => ['http://127.0.0.1:1'];
        yield 'same host, no port' => ['http://127.0.0.1'];
        yield 'localhost alias' => ['http://localhost:{{PORT}}'];
        yield 'null origin' => ['null'];
    }

    #[DataProvider('foreignOrigins')]
    public function testForeignOriginIsRefusedWith403ByDefault(string $origin): void
    {
        $server = $this->defaultServer();
        $origin = str_replace('{{PORT}}', (string) $server->port(), $origin);
        $refused = WebSocketClient::expectRejection($server->wsUrl(), ['Cookie' => 'user=1', 'Origin' => $origin], 10.0);
        self::assertSame(403, $refused->status, "Origin $origin");
    }

    public function testOriginIsCheckedBeforeAuthentication(): void
    {
        $server = $this->echoServer('path');
        $probe = bin2hex(random_bytes(6));
        // No user cookie: auth would say 401, but the origin check comes first.
        $refused = WebSocketClient::expectRejection($server->wsUrl(), ['Cookie' => "probe=$probe", 'Origin' => 'http://evil.example'], 10.0);
        self::assertSame(403, $refused->status);
        // The auth endpoint was never asked (a later request proves the log is current).
        $this->connectAs($server, 'after', ['Cookie' => "probe=after-$probe"]);
        $probes = array_column(self::fixtureLog($server, 'auth-seen.jsonl'), 'probe');
        self::assertContains("after-$probe", $probes);
        self::assertNotContains($probe, $probes, 'the auth endpoint must not be called for a refused origin');
    }

    private function originsServer(): Server
    {
        // Several origins on one line, and the directive repeated.
        return $this->server('origins', static fn () => new Server(
            "allowed_origins https://a.example http://b.example:8080\nallowed_origins https://c.example",
        ));
    }

    /** @return iterable<string, array{string}> */
    public static function listedOrigins(): iterable
    {
        yield 'first of the first line' => ['https://a.example'];
        yield 'second, with port' => ['http://b.example:8080'];
        yield 'from the repeated directive' => ['https://c.example'];
    }

    #[DataProvider('listedOrigins')]
    public function testListedOriginIsAllowed(string $origin): void
    {
        $client = $this->connectAs($this->originsServer(), '5', ['Origin' => $origin]);
        self::assertStillUsable($client);
    }

    /** @return iterable<string, array{string}> */
    public static function unlistedOrigins(): iterable
    {
        yield 'other host' => ['https://evil.example'];
        yield 'listed host, other scheme' => ['http://a.example'];
        yield 'listed host, other port' => ['http://b.example:8081'];
        yield 'listed host, port dropped' => ['http://b.example'];
        yield 'subdomain of a listed host' => ['https://x.a.example'];
        yield 'the server itself (not listed)' => ['http://127.0.0.1:{{PORT}}'];
    }

    #[DataProvider('unlistedOrigins')]
    public function testUnlistedOriginIsRefusedWhenAListIsSet(string $origin): void
    {
        $server = $this->originsServer();
        $origin = str_replace('{{PORT}}', (string) $server->port(), $origin);
        $refused = WebSocketClient::expectRejection($server->wsUrl(), ['Cookie' => 'user=5', 'Origin' => $origin], 10.0);
        self::assertSame(403, $refused->status, "Origin $origin");
    }

    public function testNoOriginIsAllowedWithAList(): void
    {
        self::assertStillUsable($this->connectAs($this->originsServer(), '5'));
    }

    public function testStarAllowsEveryOrigin(): void
    {
        $server = $this->server('star', static fn () => new Server('allowed_origins *'));
        foreach (['https://evil.example', 'http://127.0.0.1:1', 'http://127.0.0.1:' . $server->port()] as $origin) {
            self::assertStillUsable($this->connectAs($server, '6', ['Origin' => $origin]), " (Origin $origin)");
        }
        self::assertStillUsable($this->connectAs($server, '6'));
    }

    // ---- auth endpoint status mapping (§3.3) ------------------------------------------

    /** @return iterable<string, array{string}> */
    public static function endpointForms(): iterable
    {
        yield 'path' => ['path'];
        yield 'http:// URL' => ['url'];
    }

    #[DataProvider('endpointForms')]
    public function testPlainTextUserIdUpgrades(string $form): void
    {
        $server = $this->authServer($form);
        $client = WebSocketClient::connect($server->wsUrl(), ['Cookie' => 'user=42'], 10.0);
        $connected = $client->receiveJson(10.0);
        self::assertSame('connected', $connected['event'] ?? null);
        self::assertSame('42', $connected['user_id'] ?? null);
        self::assertIsString($connected['connection_id'] ?? null);
        self::assertNotSame('', $connected['connection_id']);
    }

    #[DataProvider('endpointForms')]
    public function testJsonUserIdUpgrades(string $form): void
    {
        $server = $this->authServer($form);
        $client = $this->connectAs($server, 'alice', ['Cookie' => 'auth_format=json']);
        self::assertStillUsable($client);
    }

    #[DataProvider('endpointForms')]
    public function testJsonNumericUserIdIsStoredAsString(string $form): void
    {
        $server = $this->authServer($form);
        // connectAs asserts user_id === "42" (a string) in the connected frame.
        $client = $this->connectAs($server, '42', ['Cookie' => 'auth_format=json-int']);
        // ... and it is the same user as the string id "42".
        self::callOk($server, 'broadcastToUser', ['42', 'to 42']);
        self::assertSame(['event' => 'direct', 'data' => 'to 42'], $client->receiveJson(10.0));
    }

    /** @return iterable<string, array{string, string, int}> */
    public static function refusals(): iterable
    {
        foreach (['path', 'url'] as $form) {
            yield "$form: no cookie → 401" => [$form, '', 401];
            yield "$form: endpoint 403 → 403" => [$form, 'user=forbidden', 403];
            yield "$form: endpoint 500 → 403" => [$form, 'user=error', 403];
            yield "$form: empty user id → 403" => [$form, 'user=empty', 403];
            yield "$form: empty user id in JSON → 403" => [$form, 'user=empty; auth_format=json', 403];
        }
    }

    #[DataProvider('refusals')]
    public function testAuthEndpointAnswerMapsToHandshakeStatus(string $form, string $cookie, int $status): void
    {
        $server = $this->authServer($form);
        $headers = $cookie === '' ? [] : ['Cookie' => $cookie];
        $refused = WebSocketClient::expectRejection($server->wsUrl(), $headers, 10.0);
        self::assertSame($status, $refused->status, "cookie '$cookie'");
    }

    public function testAuthTimeoutIs503(): void
    {
        $server = $this->server('slow', static fn () => new Server("auth_endpoint /auth_slow.php\nauth_timeout 300ms"));
        try {
            $started = microtime(true);
            $refused = WebSocketClient::expectRejection($server->wsUrl(), ['Cookie' => 'user=1'], 10.0);
            $elapsed = microtime(true) - $started;
            self::assertSame(503, $refused->status);
            self::assertLessThan(2.5, $elapsed, 'the handshake must fail at auth_timeout (300ms), not when the endpoint answers (3s)');
        } finally {
            touch($server->workDir() . '/release'); // free the PHP thread
        }
    }

    public function testUnreachableAuthEndpointIs503(): void
    {
        $port = Server::unusedPort();
        $server = $this->server('unreachable', static fn () => new Server("auth_endpoint http://127.0.0.1:$port/auth.php"));
        $refused = WebSocketClient::expectRejection($server->wsUrl(), ['Cookie' => 'user=1'], 10.0);
        self::assertSame(503, $refused->status);
    }

    // ---- forwarded headers (§3.3) -------------------------------------------------------

    #[DataProvider('endpointForms')]
    public function testAuthEndpointSeesTheClientsHeaders(string $form): void
    {
        $server = $this->echoServer($form);
        $probe = bin2hex(random_bytes(6));
        $origin = 'http://127.0.0.1:' . $server->port();
        $this->connectAs($server, '77', [
            'Cookie' => "probe=$probe; theme=dark",
            'Authorization' => 'Bearer token-' . $probe,
            'Origin' => $origin,
            'User-Agent' => "RealtimeTest/1.0 ($probe)",
        ]);
        $seen = array_values(array_filter(self::fixtureLog($server, 'auth-seen.jsonl'), static fn (array $e): bool => $e['probe'] === $probe));
        self::assertCount(1, $seen, 'exactly one auth request for the handshake');
        $seen = $seen[0];
        self::assertSame('GET', $seen['method'], 'the auth endpoint is asked with a GET');
        self::assertSame("user=77; probe=$probe; theme=dark", $seen['cookie'], 'Cookie forwarded verbatim');
        self::assertSame("Bearer token-$probe", $seen['authorization'], 'Authorization forwarded');
        self::assertSame($origin, $seen['origin'], 'Origin forwarded');
        self::assertSame("RealtimeTest/1.0 ($probe)", $seen['user_agent'], 'User-Agent forwarded');
        self::assertSame('127.0.0.1', $seen['forwarded_for'], 'X-Forwarded-For is the client address');
    }

    #[DataProvider('endpointForms')]
    public function testNothingIsForwardedThatTheClientDidNotSend(string $form): void
    {
        $server = $this->echoServer($form);
        $probe = bin2hex(random_bytes(6));
        $this->connectAs($server, '78', ['Cookie' => "probe=$probe"]);
        $seen = array_values(array_filter(self::fixtureLog($server, 'auth-seen.jsonl'), static fn (array $e): bool => $e['probe'] === $probe));
        self::assertCount(1, $seen);
        self::assertNull($seen[0]['authorization'], 'no Authorization header invented: ' . json_encode($seen[0]));
        self::assertNull($seen[0]['origin'], 'no Origin header invented: ' . json_encode($seen[0]));
    }
}
