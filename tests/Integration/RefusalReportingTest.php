<?php

declare(strict_types=1);

namespace Realtime\Tests\Integration;

use PHPUnit\Framework\Attributes\DataProvider;
use Realtime\Tests\Support\HandshakeBatch;
use Realtime\Tests\Support\RealtimeTestCase;
use Realtime\Tests\Support\Server;
use Realtime\Tests\Support\WebSocket\HandshakeRejected;
use Realtime\Tests\Support\WebSocketClient;

/**
 * Issue 9, failing input 5: refusals say why. Every refused handshake is
 * logged (status, reason, remote address; rate-limited); a plain GET of the
 * realtime route with Accept: application/json answers what the handshake
 * would get (browsers hide a refused handshake's status from the page); and
 * allowed_origins that locks out the site's own pages is pointed out.
 */
final class RefusalReportingTest extends RealtimeTestCase
{
    private function defaultServer(): Server
    {
        return $this->server('default', static fn () => new Server(''));
    }

    /** The server for $name: default, full (max_connections 1) or unreachable (auth endpoint down). */
    private function serverFor(string $name): Server
    {
        return match ($name) {
            'default' => $this->defaultServer(),
            'full' => $this->server('full', static fn () => new Server('max_connections 1')),
            'unreachable' => $this->server('unreachable', static fn () => new Server('auth_endpoint http://127.0.0.1:' . Server::unusedPort() . '/auth.php')),
        };
    }

    // ---- the log -------------------------------------------------------------------------------

    /** @return iterable<string, array{array<string, string>, int, string}> */
    public static function refusals(): iterable
    {
        yield 'not logged in' => [[], 401, 'unauthorized'];
        yield 'foreign origin' => [['Cookie' => 'user=1', 'Origin' => 'http://evil.example'], 403, 'origin'];
        yield 'refused by the auth endpoint' => [['Cookie' => 'user=forbidden'], 403, 'forbidden'];
    }

    /** @param array<string, string> $headers */
    #[DataProvider('refusals')]
    public function testEachRefusedHandshakeIsLoggedWithReasonAndRemoteAddress(array $headers, int $status, string $reason): void
    {
        $server = $this->defaultServer();
        $offset = $server->logSize();
        [$refused, $clientAddress] = self::refusedHandshake($server, $headers);
        self::assertSame($status, $refused->status);

        $entry = self::waitForLogEntry(
            $server,
            $offset,
            static fn (array $e): bool => $e['msg'] === 'realtime: handshake refused' && ($e['remote_addr'] ?? null) === $clientAddress,
            "the refusal of the handshake from $clientAddress",
        );
        self::assertSame('info', $entry['level']);
        self::assertSame($status, $entry['status']);
        self::assertSame($reason, $entry['reason']);
    }

    public function testTheRefusalLogIsRateLimitedAndCountsWhatItLeftOut(): void
    {
        $server = $this->server('rate', static fn () => new Server(''));
        $offset = $server->logSize();
        $outcomes = HandshakeBatch::open(array_fill(0, 100, [$server->wsUrl(), []]));
        self::assertSame([401], array_values(array_unique(array_map(static fn ($o): int => $o->status, $outcomes))));
        $logged = static fn (): array => array_values(array_filter($server->logEntries($offset), static fn (array $e): bool => $e['msg'] === 'realtime: handshake refused'));
        self::assertLessThan(60, count($logged()), '100 refusals at once are not 100 log lines');

        // The next line logged says how many were left out.
        self::poll(static function () use ($server, $logged): bool {
            WebSocketClient::expectRejection($server->wsUrl(), [], 10.0);

            return array_filter($logged(), static fn (array $e): bool => ($e['refusals_not_logged'] ?? 0) > 0) !== [];
        }, 10.0, 'a refusal line with refusals_not_logged');
        // Every refusal of the burst is accounted for: logged, or counted in a later line.
        $lines = $logged();
        $accounted = count($lines) + array_sum(array_map(static fn (array $e): int => $e['refusals_not_logged'] ?? 0, $lines));
        self::assertGreaterThanOrEqual(100, $accounted, json_encode($lines));
    }

    public function testAllowedOriginsWithoutTheSitesOwnOriginIsPointedOut(): void
    {
        $server = $this->server('origins', static fn () => new Server('allowed_origins https://app.example'));
        $own = 'http://127.0.0.1:' . $server->port();
        $hint = static fn (array $e): bool => $e['level'] === 'warn' && str_contains($e['msg'], 'allowed_origins') && str_contains($e['msg'], 'own origin');

        // A foreign origin is just refused ...
        self::assertSame(403, WebSocketClient::expectRejection($server->wsUrl(), ['Cookie' => 'user=1', 'Origin' => 'https://evil.example'], 10.0)->status);
        self::assertStillUsable($this->connectAs($server, '1', ['Origin' => 'https://app.example']));
        self::assertSame([], array_values(array_filter($server->logEntries(), $hint)), 'no own-origin hint for a foreign origin');

        // ... the site's own origin is refused too (SPEC §2), and the log says why.
        self::assertSame(403, WebSocketClient::expectRejection($server->wsUrl(), ['Cookie' => 'user=1', 'Origin' => $own], 10.0)->status);
        $warning = self::waitForLogEntry($server, 0, $hint, "a warning that allowed_origins excludes $own");
        self::assertStringContainsString($own, $warning['msg']);
    }

    // ---- the JSON diagnosis ---------------------------------------------------------------------

    /** @return iterable<string, array{string, array<string, string>, int, string}> server, headers, status, reason */
    public static function diagnoses(): iterable
    {
        yield 'ok' => ['default', ['Cookie' => 'user=42'], 200, 'ok'];
        yield 'unauthorized' => ['default', [], 401, 'unauthorized'];
        yield 'forbidden' => ['default', ['Cookie' => 'user=forbidden'], 403, 'forbidden'];
        yield 'forbidden: not a user id' => ['default', ['Cookie' => 'user=html'], 403, 'forbidden'];
        yield 'origin' => ['default', ['Cookie' => 'user=42', 'Origin' => 'https://evil.example'], 403, 'origin'];
        yield 'full' => ['full', ['Cookie' => 'user=42'], 503, 'full'];
        yield 'unavailable' => ['unreachable', ['Cookie' => 'user=42'], 503, 'unavailable'];
    }

    /** @param array<string, string> $headers */
    #[DataProvider('diagnoses')]
    public function testAJsonGetOfTheRouteSaysWhatTheHandshakeWouldGet(string $name, array $headers, int $status, string $reason): void
    {
        $server = $this->serverFor($name);
        $occupant = $name === 'full' ? $this->connectAs($server, 'occupant') : null;

        $response = $server->http('GET', '/ws', ['Accept' => 'application/json', ...$headers]);
        self::assertSame($status, $response->status, $response->describe());
        self::assertStringStartsWith('application/json', (string) $response->header('Content-Type'));
        $body = $response->json();
        self::assertSame($status, $body['status'] ?? null, $response->body);
        self::assertSame($reason, $body['reason'] ?? null, $response->body);
        self::assertIsString($body['message'] ?? null);
        self::assertNotSame('', $body['message']);
        if ($reason === 'ok') {
            self::assertSame('42', $body['user_id'] ?? null, $response->body);
        } else {
            self::assertArrayNotHasKey('user_id', $body, $response->body);
        }
        if ($status === 503) {
            self::assertNotNull($response->header('Retry-After'), 'a 503 says when to retry');
        }
        // What the handshake itself gets agrees.
        if ($status === 200) {
            self::assertStillUsable($this->connectAs($server, '42'));
        } else {
            self::assertSame($status, WebSocketClient::expectRejection($server->wsUrl(), $headers, 10.0)->status);
        }
        $occupant?->close();
    }

    public function testTheDiagnosisEchoesTheOriginForCors(): void
    {
        $server = $this->defaultServer();
        foreach (['http://127.0.0.1:' . $server->port() => 200, 'https://evil.example' => 403] as $origin => $status) {
            $response = $server->http('GET', '/ws', ['Accept' => 'application/json', 'Origin' => $origin, 'Cookie' => 'user=7']);
            self::assertSame($status, $response->status, $response->describe());
            self::assertSame($origin, $response->header('Access-Control-Allow-Origin'), $response->describe());
            self::assertSame('true', $response->header('Access-Control-Allow-Credentials'), $response->describe());
        }
    }

    public function testAPlainGetWithoutJsonIsAskedToUpgrade(): void
    {
        $response = $this->defaultServer()->http('GET', '/ws', ['Cookie' => 'user=7']);
        self::assertSame(426, $response->status, $response->describe());
    }

    /**
     * Sends a handshake that the server refuses, from a socket whose local
     * address is known (the server logs it as remote_addr).
     *
     * @param array<string, string> $headers
     *
     * @return array{0: HandshakeRejected, 1: string} the refusal, the client's address
     */
    private static function refusedHandshake(Server $server, array $headers): array
    {
        $stream = stream_socket_client('tcp://127.0.0.1:' . $server->port(), $errno, $errstr, 5.0);
        self::assertNotFalse($stream, $errstr);
        $address = (string) stream_socket_get_name($stream, false);
        try {
            WebSocketClient::startHandshake($stream, '127.0.0.1:' . $server->port(), '/ws', $headers)->complete(10.0)->close();
        } catch (HandshakeRejected $refused) {
            return [$refused, $address];
        }
        self::fail('the handshake was upgraded');
    }
}
