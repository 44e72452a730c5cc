<?php

declare(strict_types=1);

namespace Realtime\Tests\Integration;

use PHPUnit\Framework\Attributes\DataProvider;
use Realtime\Tests\Support\RealtimeTestCase;
use Realtime\Tests\Support\Server;
use Realtime\Tests\Support\WebSocket\Frame;
use Realtime\Tests\Support\WebSocket\WebSocketException;
use Realtime\Tests\Support\WebSocketClient;

/**
 * SPEC §4 (wire protocol): every error code a client can reach, `id` echo,
 * the connection staying usable after each error, authorize endpoint, and
 * close codes 1003/1009/4008, max_connections and ping keepalive.
 */
final class ProtocolTest extends RealtimeTestCase
{
    private const ALLOWED_CHARS = 'ABCXYZabcxyz0189_-=@,.;:';

    private function defaultServer(): Server
    {
        return $this->server('default', static fn () => new Server(''));
    }

    private function authorizeServer(): Server
    {
        return $this->server('authorize', static fn () => new Server("authorize_endpoint /authorize.php\nmax_subscriptions 2"));
    }

    // ---- invalid_json -----------------------------------------------------------------

    /** @return iterable<string, array{string}> */
    public static function notJsonObjects(): iterable
    {
        yield 'garbage' => ['not json'];
        yield 'truncated object' => ['{"action":"subscribe","channel":'];
        yield 'empty frame' => [''];
        yield 'array' => ['[{"action":"ping"}]'];
        yield 'empty array' => ['[]'];
        yield 'string' => ['"ping"'];
        yield 'number' => ['42'];
        yield 'null' => ['null'];
        yield 'true' => ['true'];
        yield 'trailing garbage' => ['{"action":"ping"} x'];
    }

    #[DataProvider('notJsonObjects')]
    public function testNotAJsonObjectIsInvalidJson(string $frame): void
    {
        $client = $this->connectAs($this->defaultServer(), '1');
        $reply = self::request($client, $frame);
        self::assertSame('error', $reply['event'] ?? null, json_encode($reply));
        self::assertSame('invalid_json', $reply['code'] ?? null, json_encode($reply));
        self::assertIsString($reply['message'] ?? null, 'error frames carry a message');
        self::assertStillUsable($client, " after '$frame'");
    }

    // ---- unknown_action ---------------------------------------------------------------

    /** @return iterable<string, array{array<string, mixed>}> */
    public static function badActions(): iterable
    {
        yield 'missing action' => [['channel' => 'news']];
        yield 'empty object' => [[]];
        yield 'unknown action' => [['action' => 'dance']];
        yield 'case differs' => [['action' => 'SUBSCRIBE', 'channel' => 'news']];
        yield 'action is a number' => [['action' => 5]];
        yield 'action is null' => [['action' => null]];
        yield 'action is an array' => [['action' => ['subscribe']]];
    }

    /** @param array<string, mixed> $frame */
    #[DataProvider('badActions')]
    public function testMissingOrUnknownActionIsUnknownAction(array $frame): void
    {
        $client = $this->connectAs($this->defaultServer(), '1');
        $id = 'req-' . bin2hex(random_bytes(3));
        $raw = $frame === [] ? '{}' : json_encode([...$frame], JSON_THROW_ON_ERROR);
        $reply = self::request($client, $raw);
        self::assertSame('error', $reply['event'] ?? null, json_encode($reply));
        self::assertSame('unknown_action', $reply['code'] ?? null, json_encode($reply));
        self::assertArrayNotHasKey('id', $reply, 'no id sent, none echoed');

        $reply = self::request($client, json_encode([...$frame, 'id' => $id], JSON_THROW_ON_ERROR));
        self::assertSame('unknown_action', $reply['code'] ?? null, json_encode($reply));
        self::assertSame($id, $reply['id'] ?? null, 'error echoes the id: ' . json_encode($reply));
        self::assertStillUsable($client);
    }

    // ---- invalid_channel --------------------------------------------------------------

    /** @return iterable<string, array{string, array<string, mixed>}> */
    public static function badChannels(): iterable
    {
        foreach (['subscribe', 'unsubscribe'] as $action) {
            yield "$action: missing" => [$action, []];
            yield "$action: null" => [$action, ['channel' => null]];
            yield "$action: number" => [$action, ['channel' => 42]];
            yield "$action: array" => [$action, ['channel' => ['news']]];
            yield "$action: object" => [$action, ['channel' => ['name' => 'news']]];
            yield "$action: empty" => [$action, ['channel' => '']];
            yield "$action: slash" => [$action, ['channel' => 'news/today']];
            yield "$action: space" => [$action, ['channel' => 'news today']];
            yield "$action: star" => [$action, ['channel' => 'news*']];
            yield "$action: non-ASCII" => [$action, ['channel' => 'nöws']];
            yield "$action: NUL byte" => [$action, ['channel' => "news\0"]];
            yield "$action: 201 bytes" => [$action, ['channel' => str_repeat('a', 201)]];
        }
    }

    /** @param array<string, mixed> $fields */
    #[DataProvider('badChannels')]
    public function testBadChannelIsInvalidChannel(string $action, array $fields): void
    {
        $client = $this->connectAs($this->defaultServer(), '1');
        $reply = self::request($client, json_encode(['action' => $action, ...$fields, 'id' => 9], JSON_THROW_ON_ERROR));
        self::assertSame('error', $reply['event'] ?? null, json_encode($reply));
        self::assertSame('invalid_channel', $reply['code'] ?? null, json_encode($reply));
        self::assertSame(9, $reply['id'] ?? null, 'error echoes the id: ' . json_encode($reply));
        self::assertStillUsable($client);
    }

    public function testChannelOf200BytesAndEveryAllowedCharacterIsValid(): void
    {
        $server = $this->defaultServer();
        $client = $this->connectAs($server, '1');
        $long = substr(str_repeat(self::ALLOWED_CHARS, 10), 0, 188) . bin2hex(random_bytes(6));
        self::assertSame(200, strlen($long));
        $this->subscribe($client, $long);
        self::publish($server, $long, 'long channel');
        self::assertSame(['event' => 'message', 'channel' => $long, 'data' => 'long channel'], $client->receiveJson(10.0));

        $one = chr(random_int(ord('a'), ord('z')));
        $this->subscribe($client, $one);
        $client->sendJson(['action' => 'unsubscribe', 'channel' => $one]);
        self::assertSame(['event' => 'unsubscribed', 'channel' => $one], $client->receiveJson(10.0));
    }

    // ---- forbidden --------------------------------------------------------------------

    /** @return iterable<string, array{string}> */
    public static function protectedPrefixes(): iterable
    {
        yield 'private-' => ['private-'];
        yield 'presence-' => ['presence-'];
    }

    #[DataProvider('protectedPrefixes')]
    public function testProtectedChannelWithoutAuthorizeEndpointIsForbidden(string $prefix): void
    {
        $client = $this->connectAs($this->defaultServer(), '1');
        $channel = self::channel($prefix);
        $reply = self::request($client, json_encode(['action' => 'subscribe', 'channel' => $channel, 'id' => 'f1'], JSON_THROW_ON_ERROR));
        self::assertSame('error', $reply['event'] ?? null, json_encode($reply));
        self::assertSame('forbidden', $reply['code'] ?? null, json_encode($reply));
        self::assertSame($channel, $reply['channel'] ?? null, 'the error names the channel: ' . json_encode($reply));
        self::assertSame('f1', $reply['id'] ?? null, json_encode($reply));
        self::assertStillUsable($client);
    }

    public function testAuthorizeEndpointAllowsAndRefuses(): void
    {
        $server = $this->authorizeServer();
        $client = $this->connectAs($server, '9', ['Cookie' => 'session=abc123']);
        $ok = self::channel('private-ok-');
        $denied = self::channel('private-deny-');

        $client->sendJson(['action' => 'subscribe', 'channel' => $ok, 'id' => 1]);
        self::assertSame(['event' => 'subscribed', 'channel' => $ok, 'id' => 1], $client->receiveJson(10.0));

        $reply = self::request($client, json_encode(['action' => 'subscribe', 'channel' => $denied, 'id' => 2]));
        self::assertSame('error', $reply['event'] ?? null, json_encode($reply));
        self::assertSame('forbidden', $reply['code'] ?? null, json_encode($reply));
        self::assertSame($denied, $reply['channel'] ?? null, json_encode($reply));
        self::assertSame(2, $reply['id'] ?? null, json_encode($reply));
        self::assertStillUsable($client);

        // Delivery follows the decision: nothing from the refused channel.
        self::publish($server, $denied, 'must not arrive');
        self::publish($server, $ok, 'sentinel');
        self::assertSame(['event' => 'message', 'channel' => $ok, 'data' => 'sentinel'], $client->receiveJson(10.0));

        // What the endpoint saw: POST, channel + user_id, the connect-time cookies.
        $calls = array_values(array_filter(
            self::fixtureLog($server, 'authorize.jsonl'),
            static fn (array $e): bool => in_array($e['post']['channel'] ?? null, [$ok, $denied], true),
        ));
        self::assertCount(2, $calls, json_encode($calls));
        foreach ($calls as $call) {
            self::assertSame('POST', $call['method']);
            self::assertSame('9', $call['post']['user_id'] ?? null, json_encode($call));
            self::assertSame(['user' => '9', 'session' => 'abc123'], $call['cookies'], 'cookies captured at connect: ' . json_encode($call));
        }
        self::assertSame([$ok, $denied], array_map(static fn (array $c): string => $c['post']['channel'], $calls));
    }

    public function testAuthorizeUsesTheCookiesOfTheConnection(): void
    {
        $server = $this->authorizeServer();
        $client = $this->connectAs($server, '9', ['Cookie' => 'authz=deny']);
        $reply = self::request($client, json_encode(['action' => 'subscribe', 'channel' => self::channel('presence-ok-')]));
        self::assertSame('forbidden', $reply['code'] ?? null, 'the endpoint refuses this cookie: ' . json_encode($reply));
        self::assertStillUsable($client);
    }

    public function testAuthorizeEndpointFailureDoesNotSubscribe(): void
    {
        $server = $this->authorizeServer();
        $client = $this->connectAs($server, '9');
        $broken = self::channel('private-broken-');
        $reply = self::request($client, json_encode(['action' => 'subscribe', 'channel' => $broken, 'id' => 'b']));
        self::assertSame('error', $reply['event'] ?? null, 'a 500 from the authorize endpoint is not a 2xx: ' . json_encode($reply));
        self::assertContains($reply['code'] ?? null, ['forbidden', 'internal'], json_encode($reply));
        self::assertSame('b', $reply['id'] ?? null, json_encode($reply));
        $ok = self::channel();
        $this->subscribe($client, $ok);
        self::publish($server, $broken, 'must not arrive');
        self::publish($server, $ok, 'sentinel');
        self::assertSame('sentinel', $client->receiveJson(10.0)['data'] ?? null);
    }

    public function testPublicChannelsDoNotAskTheAuthorizeEndpoint(): void
    {
        $server = $this->authorizeServer();
        $client = $this->connectAs($server, '9', ['Cookie' => 'authz=deny']);
        $channel = self::channel('public-');
        $this->subscribe($client, $channel);
        self::assertNotContains($channel, array_map(static fn (array $e) => $e['post']['channel'] ?? null, self::fixtureLog($server, 'authorize.jsonl')));
    }

    // ---- too_many_subscriptions ----------------------------------------------------------

    public function testSubscriptionsBeyondTheLimitAreRefused(): void
    {
        $server = $this->authorizeServer(); // max_subscriptions 2
        $client = $this->connectAs($server, '3');
        [$a, $b, $c] = [self::channel(), self::channel(), self::channel()];
        $this->subscribe($client, $a);
        $this->subscribe($client, $b);

        $reply = self::request($client, json_encode(['action' => 'subscribe', 'channel' => $c, 'id' => 'x']));
        self::assertSame('error', $reply['event'] ?? null, json_encode($reply));
        self::assertSame('too_many_subscriptions', $reply['code'] ?? null, json_encode($reply));
        self::assertSame($c, $reply['channel'] ?? null, json_encode($reply));
        self::assertSame('x', $reply['id'] ?? null, json_encode($reply));
        self::assertStillUsable($client);

        // Subscribing again to a channel already joined is idempotent, not a third subscription.
        $this->subscribe($client, $a);
        // The refused channel delivers nothing.
        self::publish($server, $c, 'must not arrive');
        self::publish($server, $a, 'sentinel');
        self::assertSame(['event' => 'message', 'channel' => $a, 'data' => 'sentinel'], $client->receiveJson(10.0));

        // Leaving one makes room.
        $client->sendJson(['action' => 'unsubscribe', 'channel' => $b]);
        self::assertSame(['event' => 'unsubscribed', 'channel' => $b], $client->receiveJson(10.0));
        $this->subscribe($client, $c);

        // The limit is per connection: another connection of the same user has its own.
        $other = $this->connectAs($server, '3');
        $this->subscribe($other, $b);
        $this->subscribe($other, self::channel());
    }

    // ---- id echo ------------------------------------------------------------------------

    /** @return iterable<string, array{mixed}> */
    public static function ids(): iterable
    {
        yield 'int' => [12];
        yield 'negative int' => [-3];
        yield 'zero' => [0];
        yield 'string' => ['abc'];
        yield 'empty string' => [''];
        yield 'float' => [2.5];
        yield 'false' => [false];
        yield 'null' => [null];
    }

    #[DataProvider('ids')]
    public function testIdIsEchoedInEveryReplyAndError(mixed $id): void
    {
        $server = $this->authorizeServer();
        $client = $this->connectAs($server, '4');
        $channel = self::channel();
        $frames = [
            [['action' => 'ping', 'id' => $id], ['event' => 'pong', 'id' => $id]],
            [['action' => 'subscribe', 'channel' => $channel, 'id' => $id], ['event' => 'subscribed', 'channel' => $channel, 'id' => $id]],
            [['action' => 'subscribe', 'channel' => $channel, 'id' => $id], ['event' => 'subscribed', 'channel' => $channel, 'id' => $id]],
            [['action' => 'unsubscribe', 'channel' => $channel, 'id' => $id], ['event' => 'unsubscribed', 'channel' => $channel, 'id' => $id]],
            [['action' => 'unsubscribe', 'channel' => $channel, 'id' => $id], ['event' => 'unsubscribed', 'channel' => $channel, 'id' => $id]],
        ];
        foreach ($frames as [$send, $expect]) {
            $client->sendJson($send);
            self::assertSame($expect, $client->receiveJson(10.0), json_encode($send));
        }
        $errors = [
            'unknown_action' => ['action' => 'nope', 'id' => $id],
            'invalid_channel' => ['action' => 'subscribe', 'channel' => 'bad channel', 'id' => $id],
            'forbidden' => ['action' => 'subscribe', 'channel' => self::channel('private-deny-'), 'id' => $id],
        ];
        foreach ($errors as $code => $send) {
            $reply = self::request($client, json_encode($send, JSON_PRESERVE_ZERO_FRACTION));
            self::assertSame($code, $reply['code'] ?? null, json_encode($reply));
            self::assertArrayHasKey('id', $reply, "$code echoes the id: " . json_encode($reply));
            self::assertSame($id, $reply['id'], "$code echoes the id: " . json_encode($reply));
        }
        $this->subscribe($client, self::channel());
        $this->subscribe($client, self::channel());
        $reply = self::request($client, json_encode(['action' => 'subscribe', 'channel' => self::channel(), 'id' => $id]));
        self::assertSame('too_many_subscriptions', $reply['code'] ?? null, json_encode($reply));
        self::assertArrayHasKey('id', $reply, json_encode($reply));
        self::assertSame($id, $reply['id'], json_encode($reply));
    }

    // ---- close codes --------------------------------------------------------------------

    public function testBinaryFrameClosesWith1003(): void
    {
        $server = $this->defaultServer();
        $client = $this->connectAs($server, '1');
        $other = $this->connectAs($server, '2');
        $client->sendBinary('{"action":"ping"}');
        self::assertSame(1003, self::closedBy($client));
        self::assertStillUsable($other, ' (another client)');
    }

    /** A ping request whose frame is exactly $size bytes. */
    private static function pingOfSize(int $size): string
    {
        $frame = '{"action":"ping","id":"' . str_repeat('p', $size - 25) . '"}';
        self::assertSame($size, strlen($frame));

        return $frame;
    }

    public function testFrameOfExactlyMaxFrameSizeIsAccepted(): void
    {
        $client = $this->connectAs($this->defaultServer(), '1'); // default 16KiB
        $client->send(self::pingOfSize(16384));
        $reply = $client->receiveJson(10.0);
        self::assertSame('pong', $reply['event'] ?? null, 'a 16384-byte frame is within max_frame_size 16KiB (inclusive)');
        self::assertStillUsable($client);
    }

    public function testFrameOverMaxFrameSizeClosesWith1009(): void
    {
        $client = $this->connectAs($this->defaultServer(), '1');
        $client->send(self::pingOfSize(16385));
        self::assertSame(1009, self::closedBy($client));
    }

    public function testConfiguredMaxFrameSizeIsInclusive(): void
    {
        $server = $this->server('frame-1k', static fn () => new Server('max_frame_size 1KiB'));
        $client = $this->connectAs($server, '1');
        $client->send(self::pingOfSize(1024));
        self::assertSame('pong', $client->receiveJson(10.0)['event'] ?? null);
        $client->send(self::pingOfSize(1025));
        self::assertSame(1009, self::closedBy($client));
    }

    public function testMaxConnectionsRefusesWith503UntilOneCloses(): void
    {
        $server = $this->server('maxconn', static fn () => new Server('max_connections 2', withAdmin: true));
        self::waitForConnections($server, 0);
        $first = $this->connectAs($server, '1');
        $second = $this->connectAs($server, '2');
        $refused = WebSocketClient::expectRejection($server->wsUrl(), ['Cookie' => 'user=3'], 10.0);
        self::assertSame(503, $refused->status);
        self::assertStillUsable($first);
        self::assertStillUsable($second);

        self::assertSame(1000, $first->close());
        self::waitForConnections($server, 1);
        $third = $this->connectAs($server, '3');
        self::assertStillUsable($third);
        $refused = WebSocketClient::expectRejection($server->wsUrl(), ['Cookie' => 'user=4'], 10.0);
        self::assertSame(503, $refused->status, 'full again');
        $second->close();
        $third->close();
        self::waitForConnections($server, 0);
    }

    public function testServerPingsAndAClientThatAnswersStaysConnected(): void
    {
        $server = $this->server('ping', static fn () => new Server('ping_interval 1s'));
        $client = $this->connectAs($server, '1');
        // Read (auto-pong on) until 4 pings have come: well past two intervals.
        $deadline = microtime(true) + 20.0;
        while ($client->pingsReceived() < 4 && microtime(true) < $deadline) {
            $message = $client->receive(0.5);
            self::assertNull($message === null || !$message->isClose() ? null : $message->describe(), 'closed while answering pings');
        }
        self::assertGreaterThanOrEqual(4, $client->pingsReceived(), 'the server pings every ping_interval');
        self::assertStillUsable($client);
    }

    public function testAClientThatDoesNotAnswerPingsIsClosed(): void
    {
        $server = $this->server('ping', static fn () => new Server('ping_interval 1s'));
        $client = $this->connectAs($server, '1');
        $client->setAutoPong(false);
        $started = microtime(true);
        $code = self::closedBy($client, 15.0);
        $elapsed = microtime(true) - $started;
        self::assertGreaterThanOrEqual(1, $client->pingsReceived(), 'pings were sent');
        self::assertGreaterThan(0.9, $elapsed, 'not closed before one ping interval of silence');
        self::assertLessThan(6.0, $elapsed, 'closed after about two ping intervals (1s) of silence');
        // SPEC §2 says only "closed"; the close code (if any) is not specified.
        unset($code);
    }

    public function testSlowConsumerIsDroppedWhileOthersReceiveEverything(): void
    {
        $server = $this->server('slow', static fn () => new Server('max_pending_bytes 64KiB', withAdmin: true));
        self::waitForConnections($server, 0);
        $channel = self::channel();
        $slow = $this->connectAs($server, 'slow');
        $healthy = $this->connectAs($server, 'healthy');
        $this->subscribe($slow, $channel);
        $this->subscribe($healthy, $channel);

        // 32 KB per request (half of max_pending_bytes, so the healthy
        // client's backlog can never reach the limit), read by the healthy
        // client after each batch; the slow one never reads. The kernel's
        // socket buffers absorb ~4 MB of the slow client's share first.
        $batch = 2;
        $size = 16000;
        $sent = 0;
        $connections = 2;
        while ($sent < 1000 && $connections === 2) { // at most 16 MB
            $response = $server->postForm('/flood.php', ['channel' => $channel, 'count' => (string) $batch, 'size' => (string) $size, 'first' => (string) ($sent + 1)]);
            self::assertSame(204, $response->status, $response->describe());
            for ($i = $sent + 1; $i <= $sent + $batch; ++$i) {
                $message = $healthy->receive(10.0);
                self::assertNotNull($message, "healthy client, message $i: nothing within 10s");
                self::assertFalse($message->isClose(), sprintf(
                    'SPEC §4 "a slow client never delays delivery to the others": the healthy subscriber (it read every earlier message; each batch is %d bytes, under max_pending_bytes 64KiB) was closed with %s before message %d of the flood',
                    $batch * $size,
                    $message->describe(),
                    $i,
                ));
                $frame = $message->json();
                self::assertSame('message', $frame['event'] ?? null, "healthy client, message $i");
                self::assertSame(sprintf('%06d:', $i), substr((string) $frame['data'], 0, 7), 'in order, none lost');
                self::assertSame($size, strlen((string) $frame['data']));
            }
            $sent += $batch;
            $connections = $server->stats()['connections'];
        }
        if ($connections !== 1) {
            $metrics = Server::request('GET', $server->adminUrl('/metrics'))->body;
            self::fail(sprintf(
                "SPEC §2 max_pending_bytes / §4 4008: a subscriber that never reads was not dropped after %d MB were broadcast to it (max_pending_bytes 64KiB); stats %s\n%s\nsockets:\n%s",
                $sent * $size >> 20,
                json_encode($server->stats()),
                implode("\n", preg_grep('/^realtime_(connections|messages|slow)/', explode("\n", $metrics))),
                (string) shell_exec('ss -tn "( sport = :' . $server->port() . ' )" 2>&1'),
            ));
        }
        self::assertGreaterThanOrEqual(2 * 1024 * 1024, $sent * $size, 'dropped only once its backlog passed the limit (kernel buffers hold some MB first)');

        // The slow client: whatever was buffered, then 4008 or a dropped TCP connection.
        $received = 0;
        $code = 'open';
        $deadline = microtime(true) + 30.0;
        try {
            while (microtime(true) < $deadline) {
                $message = $slow->receive(5.0);
                if ($message === null) {
                    break;
                }
                if ($message->isClose()) {
                    $code = $message->closeCode;
                    break;
                }
                ++$received;
            }
        } catch (WebSocketException $e) {
            $code = 'tcp-drop';
        }
        self::assertContains($code, [4008, 'tcp-drop'], "slow consumer end: close code $code after $received messages");
        self::assertLessThan($sent, $received, 'the slow consumer did not get everything');

        // The healthy client still receives.
        self::publish($server, $channel, 'after');
        self::assertSame('after', $healthy->receiveJson(10.0)['data'] ?? null);
        $metrics = Server::request('GET', $server->adminUrl('/metrics'))->body;
        self::assertMatchesRegularExpression('/^realtime_slow_consumer_disconnects_total [1-9]/m', $metrics);
    }
}
