<?php

declare(strict_types=1);

namespace Realtime\Tests\Integration;

use PHPUnit\Framework\TestCase;
use Realtime\Tests\Support\HttpResponse;
use Realtime\Tests\Support\Server;
use Realtime\Tests\Support\WebSocket\Frame;
use Realtime\Tests\Support\WebSocket\FrameCodec;
use Realtime\Tests\Support\WebSocketClient;

/**
 * The vertical slice on one node with the memory driver: authenticate,
 * upgrade, subscribe, publish from PHP in-process, receive.
 *
 * Negative delivery ("X does NOT receive") is proven without sleeping: after
 * the publish that must not arrive, a sentinel is published to a channel the
 * client IS subscribed to, and the client's next frame must be the sentinel.
 * This relies on the SPEC's ordering guarantee as it applies on one node: a
 * publisher's broadcast() calls reach one connection in call order (each
 * publish.php request completes before the next starts).
 */
final class BroadcastTest extends TestCase
{
    private static ?Server $server = null;

    public static function setUpBeforeClass(): void
    {
        self::$server = new Server("driver memory\nauth_endpoint /auth.php");
        self::$server->start();
    }

    public static function tearDownAfterClass(): void
    {
        self::$server?->stop();
        self::$server = null;
    }

    private int $logOffset = 0;

    protected function setUp(): void
    {
        $this->logOffset = self::server()->logSize();
    }

    protected function onNotSuccessfulTest(\Throwable $t): never
    {
        // What the server logged during the failed test usually explains it.
        if (self::$server !== null) {
            $log = self::$server->logSince($this->logOffset, 40);
            fwrite(STDERR, sprintf("\n--- server log during %s ---\n%s\n", $this->name(), $log === '' ? '(nothing)' : $log));
        }
        throw $t;
    }

    // ---- authentication ----------------------------------------------------

    public function testHandshakeWithoutCookieIsRefusedWith401(): void
    {
        $refused = WebSocketClient::expectRejection(self::server()->wsUrl());
        self::assertSame(401, $refused->status);
    }

    public function testForbiddenUserIsRefusedWith403(): void
    {
        $refused = WebSocketClient::expectRejection(self::server()->wsUrl(), ['Cookie' => 'user=forbidden']);
        self::assertSame(403, $refused->status);
    }

    public function testGoodCookieUpgradesAndTheFirstFrameIsConnected(): void
    {
        $client = WebSocketClient::connect(self::server()->wsUrl(), ['Cookie' => 'user=42']);
        $first = $client->receiveJson();

        self::assertSame(['event', 'user_id', 'connection_id'], array_keys($first), 'connected frame fields: ' . json_encode($first));
        self::assertSame('connected', $first['event']);
        self::assertSame('42', $first['user_id']);
        self::assertIsString($first['connection_id']);
        self::assertNotSame('', $first['connection_id']);

        $other = $this->connectAs('42');
        self::assertNotSame($first['connection_id'], $other['connected']['connection_id'], 'each connection gets its own id');
        self::assertSame(1000, $client->close());
    }

    public function testJsonAuthResponseWithANumericUserIdIsStoredAsAString(): void
    {
        $client = WebSocketClient::connect(self::server()->wsUrl(), ['Cookie' => 'user=42; auth_format=json-int']);
        $first = $client->receiveJson();
        self::assertSame('connected', $first['event'] ?? null, json_encode($first));
        self::assertSame('42', $first['user_id']);
    }

    // ---- subscribe / broadcast / unsubscribe --------------------------------

    public function testSubscribeIsAcknowledged(): void
    {
        ['client' => $client] = $this->connectAs('42');
        $channel = self::channel();
        $client->sendJson(['action' => 'subscribe', 'channel' => $channel]);
        self::assertSame(['event' => 'subscribed', 'channel' => $channel], $client->receiveJson());

        // Idempotent: subscribing again is acknowledged again.
        $client->sendJson(['action' => 'subscribe', 'channel' => $channel]);
        self::assertSame(['event' => 'subscribed', 'channel' => $channel], $client->receiveJson());
    }

    public function testBroadcastReachesSubscribersOfThatChannelOnly(): void
    {
        $channelA = self::channel();
        $channelB = self::channel();
        ['client' => $onA] = $this->connectAs('1');
        ['client' => $onB] = $this->connectAs('2');
        $this->subscribe($onA, $channelA);
        $this->subscribe($onB, $channelB);

        $message = '{"hello":"wörld","html":"<b>&amp;</b>"} ✓';
        $this->publish($channelA, $message);
        self::assertSame(['event' => 'message', 'channel' => $channelA, 'data' => $message], $onA->receiveJson());

        $this->publish($channelB, 'sentinel-B');
        self::assertSame(
            ['event' => 'message', 'channel' => $channelB, 'data' => 'sentinel-B'],
            $onB->receiveJson(),
            'the client on channel B must not have received channel A\'s message first',
        );
    }

    public function testEveryClientOnTheChannelReceives(): void
    {
        $channel = self::channel();
        $clients = [];
        foreach (['1', '2', '2'] as $user) { // two users, one of them with two connections
            ['client' => $client] = $this->connectAs($user);
            $this->subscribe($client, $channel);
            $clients[] = $client;
        }

        $this->publish($channel, 'to everyone');
        foreach ($clients as $i => $client) {
            self::assertSame(
                ['event' => 'message', 'channel' => $channel, 'data' => 'to everyone'],
                $client->receiveJson(),
                "client #$i",
            );
        }
    }

    public function testMessagesFromOnePublisherArriveInOrder(): void
    {
        $channel = self::channel();
        ['client' => $client] = $this->connectAs('42');
        $this->subscribe($client, $channel);
        for ($i = 1; $i <= 20; ++$i) {
            $this->publish($channel, "m$i");
        }
        for ($i = 1; $i <= 20; ++$i) {
            self::assertSame("m$i", $client->receiveJson()['data'] ?? null);
        }
    }

    public function testUnsubscribeStopsDelivery(): void
    {
        $channel = self::channel();
        $sentinel = self::channel();
        ['client' => $client] = $this->connectAs('42');
        $this->subscribe($client, $channel);
        $this->subscribe($client, $sentinel);

        $client->sendJson(['action' => 'unsubscribe', 'channel' => $channel]);
        self::assertSame(['event' => 'unsubscribed', 'channel' => $channel], $client->receiveJson());

        $this->publish($channel, 'must not arrive');
        $this->publish($sentinel, 'sentinel');
        self::assertSame(
            ['event' => 'message', 'channel' => $sentinel, 'data' => 'sentinel'],
            $client->receiveJson(),
            'no message from the channel the client left',
        );

        // Idempotent: unsubscribing again (or from a channel never joined) is acknowledged.
        $client->sendJson(['action' => 'unsubscribe', 'channel' => $channel]);
        self::assertSame(['event' => 'unsubscribed', 'channel' => $channel], $client->receiveJson());
    }

    public function testAClosedConnectionNoLongerReceivesAndOthersStillDo(): void
    {
        $channel = self::channel();
        ['client' => $leaving] = $this->connectAs('1');
        ['client' => $staying] = $this->connectAs('2');
        $this->subscribe($leaving, $channel);
        $this->subscribe($staying, $channel);
        self::assertSame(1000, $leaving->close(), 'the server answers a close with the same code');

        $this->publish($channel, 'after close');
        self::assertSame('after close', $staying->receiveJson()['data'] ?? null);
    }

    // ---- ping and request ids -------------------------------------------------

    public function testPingIsAnsweredWithPong(): void
    {
        ['client' => $client] = $this->connectAs('42');
        $client->sendJson(['action' => 'ping']);
        self::assertSame(['event' => 'pong'], $client->receiveJson());
    }

    /** @return iterable<string, array{mixed}> */
    public static function requestIds(): iterable
    {
        yield 'integer' => [7];
        yield 'string' => ['req-1'];
        yield 'float' => [1.5];
        yield 'boolean' => [true];
    }

    #[\PHPUnit\Framework\Attributes\DataProvider('requestIds')]
    public function testRequestIdIsEchoedInTheReply(mixed $id): void
    {
        ['client' => $client] = $this->connectAs('42');
        $channel = self::channel();

        $client->sendJson(['action' => 'ping', 'id' => $id]);
        self::assertSame(['event' => 'pong', 'id' => $id], $client->receiveJson());

        $client->sendJson(['action' => 'subscribe', 'channel' => $channel, 'id' => $id]);
        self::assertSame(['event' => 'subscribed', 'channel' => $channel, 'id' => $id], $client->receiveJson());

        $client->sendJson(['action' => 'unsubscribe', 'channel' => $channel, 'id' => $id]);
        self::assertSame(['event' => 'unsubscribed', 'channel' => $channel, 'id' => $id], $client->receiveJson());

        $client->sendJson(['action' => 'dance', 'id' => $id]);
        $error = $client->receiveJson();
        self::assertSame('error', $error['event'] ?? null, json_encode($error));
        self::assertSame('unknown_action', $error['code'] ?? null, json_encode($error));
        self::assertSame($id, $error['id'] ?? null, 'error frames echo the id too: ' . json_encode($error));
    }

    public function testFragmentedClientFrameIsUnderstood(): void
    {
        ['client' => $client] = $this->connectAs('42');
        $channel = self::channel();
        $client->sendFragmented(json_encode(['action' => 'subscribe', 'channel' => $channel], JSON_THROW_ON_ERROR), 4, pingBetween: 'p');
        self::assertSame(['event' => 'subscribed', 'channel' => $channel], $client->receiveJson());
        // Pings interleaved in a fragmented message are answered too (possibly after the reply).
        $client->waitForPongs(3);
        self::assertSame(['p', 'p', 'p'], $client->pongs());
    }

    public function testAPingRightBehindARequestIsAnsweredWithAPong(): void
    {
        ['client' => $client] = $this->connectAs('42');
        // A request and a ping in one write: the reply and the pong are
        // queued together. The pong must go out as a pong, never inside the
        // run of text frames (it once did, as a text frame of its payload).
        for ($i = 1; $i <= 20; ++$i) {
            $request = json_encode(['action' => 'ping', 'id' => $i], JSON_THROW_ON_ERROR);
            $client->sendRaw(FrameCodec::encode(Frame::TEXT, $request, true, random_bytes(4))
                . FrameCodec::encode(Frame::PING, "p{$i}", true, random_bytes(4)));
        }
        for ($i = 1; $i <= 20; ++$i) {
            self::assertSame(['event' => 'pong', 'id' => $i], $client->receiveJson(), "reply {$i}, in order, and no stray text frame");
        }
        $client->waitForPongs(20);
        self::assertSame(array_map(static fn (int $i): string => "p{$i}", range(1, 20)), $client->pongs());
    }

    // ---- helpers ----------------------------------------------------------------

    private static function server(): Server
    {
        return self::$server ?? throw new \LogicException('server not started');
    }

    /** A channel name no other test uses. */
    private static function channel(): string
    {
        return 'test-' . bin2hex(random_bytes(6));
    }

    /**
     * Connects as $user and consumes the `connected` frame.
     *
     * @return array{client: WebSocketClient, connected: array<string, mixed>}
     */
    private function connectAs(string $user): array
    {
        $client = WebSocketClient::connect(self::server()->wsUrl(), ['Cookie' => "user=$user"]);
        $connected = $client->receiveJson();
        self::assertSame('connected', $connected['event'] ?? null, 'first frame: ' . json_encode($connected));
        self::assertSame($user, $connected['user_id'] ?? null);

        return ['client' => $client, 'connected' => $connected];
    }

    private function subscribe(WebSocketClient $client, string $channel): void
    {
        $client->sendJson(['action' => 'subscribe', 'channel' => $channel]);
        self::assertSame(['event' => 'subscribed', 'channel' => $channel], $client->receiveJson());
    }

    private function publish(string $channel, string $message): HttpResponse
    {
        $response = self::server()->postForm('/publish.php', ['channel' => $channel, 'message' => $message]);
        self::assertSame(204, $response->status, 'publish.php: ' . $response->describe());

        return $response;
    }
}
