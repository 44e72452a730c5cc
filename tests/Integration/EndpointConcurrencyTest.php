<?php

declare(strict_types=1);

namespace Realtime\Tests\Integration;

use Realtime\Tests\Support\RealtimeTestCase;
use Realtime\Tests\Support\Server;
use Realtime\Tests\Support\WebSocketClient;

/**
 * Issue 14, "handshakes never starve pages": endpoint_concurrency bounds how
 * many in-process endpoint calls run at once. A handshake that finds every
 * slot taken waits at most about a second, then gets a fast 503 with
 * Retry-After — and pages keep their PHP threads meanwhile.
 */
final class EndpointConcurrencyTest extends RealtimeTestCase
{
    public function testAHandshakeOverTheLimitGets503WithRetryAfterQuickly(): void
    {
        $server = $this->server('one-slot', static fn () => new Server("endpoint_concurrency 1\nauth_endpoint /auth_slow.php"));
        try {
            // The first handshake's auth call holds the only slot (auth_slow.php waits for `release`).
            $stream = stream_socket_client('tcp://127.0.0.1:' . $server->port(), $errno, $errstr, 5.0);
            self::assertNotFalse($stream, $errstr);
            $holder = WebSocketClient::startHandshake($stream, '127.0.0.1:' . $server->port(), '/ws', ['Cookie' => 'user=holder']);
            self::poll(static fn (): bool => count(self::fixtureLog($server, 'slow-started.jsonl')) === 1, 10.0, 'the first auth call to start');

            $offset = $server->logSize();
            $started = microtime(true);
            $refused = WebSocketClient::expectRejection($server->wsUrl(), ['Cookie' => 'user=second'], 10.0);
            $elapsed = microtime(true) - $started;
            self::assertSame(503, $refused->status, $refused->getMessage());
            self::assertNotNull($refused->header('Retry-After'), 'a 503 says when to retry');
            self::assertLessThan(1.5, $elapsed, 'the refusal is fast (the slot wait is bounded by about a second)');
            self::assertCount(1, self::fixtureLog($server, 'slow-started.jsonl'), 'the refused handshake never reached PHP');
            $entry = self::waitForLogEntry($server, $offset, static fn (array $e): bool => $e['msg'] === 'realtime: handshake refused', 'the refusal');
            self::assertSame(503, $entry['status']);
            self::assertStringContainsString('endpoint_concurrency', $entry['error'] ?? '', 'the log names the option to raise');

            // Pages are served meanwhile: the limit leaves them PHP threads.
            $page = $server->http('GET', '/index.php', [], null, 5.0);
            self::assertSame("ok\n", $page->body);

            // The first handshake completes once its call answers.
            touch($server->workDir() . '/release');
            $client = $holder->complete(10.0);
            self::assertSame('holder', $client->receiveJson(10.0)['user_id'] ?? null);
            $client->close();
        } finally {
            touch($server->workDir() . '/release');
        }
    }

    /**
     * A call that overran auth_timeout still holds its PHP thread until its
     * script ends: its slot must stay taken until then, or a slow endpoint
     * (a hung session store) takes every PHP thread from the pages anyway.
     */
    public function testATimedOutCallKeepsItsSlotUntilItsScriptEnds(): void
    {
        $server = $this->server('one-slot-timeout', static fn () => new Server("endpoint_concurrency 1\nauth_endpoint /auth_slow.php\nauth_timeout 300ms"));
        try {
            // One after another: each times out (503) while its script goes on for 3 s.
            for ($i = 1; $i <= 4; ++$i) {
                $refused = WebSocketClient::expectRejection($server->wsUrl(), ['Cookie' => "user=u$i"], 10.0);
                self::assertSame(503, $refused->status, $refused->getMessage());
            }
            self::assertCount(1, self::fixtureLog($server, 'slow-started.jsonl'), 'with endpoint_concurrency 1, one endpoint script runs at a time: ' . json_encode(self::fixtureLog($server, 'slow-started.jsonl')));
            $started = microtime(true);
            $page = $server->http('GET', '/index.php', [], null, 10.0);
            self::assertSame("ok\n", $page->body);
            self::assertLessThan(1.0, microtime(true) - $started, 'pages keep PHP threads');
        } finally {
            touch($server->workDir() . '/release');
        }
    }
}
