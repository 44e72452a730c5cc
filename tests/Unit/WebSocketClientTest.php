<?php

declare(strict_types=1);

namespace Realtime\Tests\Unit;

use PHPUnit\Framework\Attributes\DataProvider;
use PHPUnit\Framework\TestCase;
use Realtime\Tests\Support\WebSocket\ConnectionClosed;
use Realtime\Tests\Support\WebSocket\Frame;
use Realtime\Tests\Support\WebSocket\FrameCodec;
use Realtime\Tests\Support\WebSocket\HandshakeRejected;
use Realtime\Tests\Support\WebSocket\PendingHandshake;
use Realtime\Tests\Support\WebSocket\ProtocolError;
use Realtime\Tests\Support\WebSocket\WebSocketException;
use Realtime\Tests\Support\WebSocketClient;

/**
 * Checks the test client's own RFC 6455 implementation, without the server:
 * byte-exact against the RFC's examples, then both ends of an in-process
 * socket pair (one end in the server role).
 */
final class WebSocketClientTest extends TestCase
{
    /** @var list<resource> */
    private array $streams = [];

    protected function tearDown(): void
    {
        foreach ($this->streams as $stream) {
            if (is_resource($stream)) {
                fclose($stream);
            }
        }
        $this->streams = [];
    }

    // ---- codec: RFC 6455 examples ----------------------------------------

    public function testAcceptKeyMatchesTheRfcExample(): void
    {
        // RFC 6455 §1.3.
        self::assertSame('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=', FrameCodec::acceptKey('dGhlIHNhbXBsZSBub25jZQ=='));
    }

    /**
     * RFC 6455 §5.7 examples.
     *
     * @return iterable<string, array{string, int, string, bool, ?string}>
     */
    public static function rfcExamples(): iterable
    {
        yield 'unmasked text "Hello"' => ['810548656c6c6f', Frame::TEXT, 'Hello', true, null];
        yield 'masked text "Hello"' => ['818537fa213d7f9f4d5158', Frame::TEXT, 'Hello', true, "\x37\xfa\x21\x3d"];
        yield 'first fragment "Hel"' => ['010348656c', Frame::TEXT, 'Hel', false, null];
        yield 'last fragment "lo"' => ['80026c6f', Frame::CONTINUATION, 'lo', true, null];
        yield 'unmasked ping "Hello"' => ['890548656c6c6f', Frame::PING, 'Hello', true, null];
        yield 'masked pong "Hello"' => ['8a8537fa213d7f9f4d5158', Frame::PONG, 'Hello', true, "\x37\xfa\x21\x3d"];
    }

    #[DataProvider('rfcExamples')]
    public function testEncodesTheRfcExamples(string $hex, int $opcode, string $payload, bool $fin, ?string $mask): void
    {
        self::assertSame($hex, bin2hex(FrameCodec::encode($opcode, $payload, $fin, $mask)));
    }

    #[DataProvider('rfcExamples')]
    public function testDecodesTheRfcExamples(string $hex, int $opcode, string $payload, bool $fin, ?string $mask): void
    {
        $bytes = (string) hex2bin($hex);
        $decoded = FrameCodec::decode($bytes . 'trailing');
        self::assertNotNull($decoded);
        [$frame, $used] = $decoded;
        self::assertSame(strlen($bytes), $used, 'consumes exactly one frame');
        self::assertSame($opcode, $frame->opcode);
        self::assertSame($payload, $frame->payload);
        self::assertSame($fin, $frame->fin);
        self::assertSame($mask !== null, $frame->masked);
    }

    public function testLengthHeadersOfTheRfcBinaryExamples(): void
    {
        // §5.7: 256 bytes → 16-bit length; 64 KiB → 64-bit length.
        self::assertSame('827e0100', bin2hex(substr(FrameCodec::encode(Frame::BINARY, str_repeat("\0", 256)), 0, 4)));
        self::assertSame('827f0000000000010000', bin2hex(substr(FrameCodec::encode(Frame::BINARY, str_repeat("\0", 65536)), 0, 10)));
    }

    // ---- codec: lengths, masking, partial input, errors --------------------

    /** @return iterable<string, array{int, int}> payload length => header bytes before the mask */
    public static function lengths(): iterable
    {
        foreach ([0 => 2, 1 => 2, 125 => 2, 126 => 4, 127 => 4, 65535 => 4, 65536 => 10, 70000 => 10] as $length => $header) {
            yield "$length bytes" => [$length, $header];
        }
    }

    #[DataProvider('lengths')]
    public function testRoundTripsEveryLengthEncodingMaskedAndUnmasked(int $length, int $headerBytes): void
    {
        $payload = $length === 0 ? '' : random_bytes($length);
        $plain = FrameCodec::encode(Frame::BINARY, $payload);
        self::assertSame($headerBytes + $length, strlen($plain));

        $mask = random_bytes(4);
        $masked = FrameCodec::encode(Frame::BINARY, $payload, true, $mask);
        self::assertSame($headerBytes + 4 + $length, strlen($masked));
        self::assertSame($mask, substr($masked, $headerBytes, 4));
        if ($length >= 8 && $mask !== "\0\0\0\0") {
            self::assertNotSame($payload, substr($masked, $headerBytes + 4), 'the payload is masked on the wire');
        }

        foreach ([$plain, $masked] as $wire) {
            [$frame, $used] = FrameCodec::decode($wire) ?? self::fail('frame not decoded');
            self::assertSame(strlen($wire), $used);
            self::assertSame($payload, $frame->payload);
        }
    }

    public function testMaskingIsAnInvolution(): void
    {
        $payload = random_bytes(1021); // not a multiple of 4: exercises the tail
        $key = random_bytes(4);
        self::assertSame($payload, FrameCodec::mask(FrameCodec::mask($payload, $key), $key));
        self::assertSame('', FrameCodec::mask('', $key));
    }

    public function testEveryStrictPrefixOfAFrameIsIncomplete(): void
    {
        foreach ([10, 300, 70000] as $length) {
            $wire = FrameCodec::encode(Frame::TEXT, str_repeat('x', $length), true, "\1\2\3\4");
            foreach ([0, 1, 2, 3, 5, 9, 13, strlen($wire) - 1] as $cut) {
                self::assertNull(FrameCodec::decode(substr($wire, 0, $cut)), "length $length cut at $cut");
            }
        }
    }

    /** @return iterable<string, array{string}> */
    public static function malformedFrames(): iterable
    {
        yield 'fragmented ping' => ['0900'];
        yield 'close over 125 bytes' => ['887e0080' . str_repeat('00', 128)];
        yield 'reserved opcode 0x3' => ['8300'];
        yield 'reserved control opcode 0xB' => ['8b00'];
        yield '64-bit length with the top bit set' => ['827f8000000000000001'];
        yield 'non-minimal 16-bit length' => ['827e0005' . '0102030405'];
        yield 'non-minimal 64-bit length' => ['827f0000000000000005' . '0102030405'];
    }

    #[DataProvider('malformedFrames')]
    public function testRejectsMalformedFrames(string $hex): void
    {
        $this->expectException(ProtocolError::class);
        FrameCodec::decode((string) hex2bin($hex));
    }

    public function testCloseFramePayloads(): void
    {
        self::assertSame('0fa1627965', bin2hex(FrameCodec::closePayload(4001, 'bye')));
        self::assertSame([4001, 'bye'], FrameCodec::parseClosePayload((string) hex2bin('0fa1627965')));
        self::assertSame([1000, ''], FrameCodec::parseClosePayload(pack('n', 1000)));
        self::assertSame([null, ''], FrameCodec::parseClosePayload(''));
        self::assertSame('', FrameCodec::closePayload(null));
    }

    /** @return iterable<string, array{string}> */
    public static function badClosePayloads(): iterable
    {
        yield 'one byte' => ['03'];
        yield 'code 1005 (never on the wire)' => [bin2hex(pack('n', 1005))];
        yield 'code 999' => [bin2hex(pack('n', 999))];
        yield 'code 5000' => [bin2hex(pack('n', 5000))];
        yield 'reason not UTF-8' => [bin2hex(pack('n', 1000) . "\xC3\x28")];
    }

    #[DataProvider('badClosePayloads')]
    public function testRejectsBadClosePayloads(string $hex): void
    {
        $this->expectException(ProtocolError::class);
        FrameCodec::parseClosePayload((string) hex2bin($hex));
    }

    // ---- both ends over a socket pair --------------------------------------

    public function testClientMasksEveryFrameWithAFreshKey(): void
    {
        [$client, $serverEnd] = $this->clientAndRawServerEnd();
        $client->send('same payload');
        $client->send('same payload');

        $wire = $this->readBytes($serverEnd, 2 * (2 + 4 + 12));
        [$first, $used] = FrameCodec::decode($wire) ?? self::fail('first frame not decoded');
        [$second] = FrameCodec::decode(substr($wire, $used)) ?? self::fail('second frame not decoded');
        self::assertTrue($first->masked);
        self::assertTrue($second->masked);
        self::assertSame('same payload', $first->payload);
        self::assertNotSame(substr($wire, 2, 4), substr($wire, $used + 2, 4), 'each frame gets its own masking key');
    }

    public function testTextAndBinaryTravelBothWays(): void
    {
        [$client, $server] = $this->pair();
        $client->send('héllo');
        $client->sendBinary("\x00\xFF\x80");
        $client->sendJson(['action' => 'ping', 'id' => 7]);

        $text = $server->receive(1.0);
        self::assertNotNull($text);
        self::assertTrue($text->isText());
        self::assertSame('héllo', $text->data);
        $binary = $server->receive(1.0);
        self::assertTrue($binary?->isBinary());
        self::assertSame("\x00\xFF\x80", $binary->data);
        self::assertSame(['action' => 'ping', 'id' => 7], $server->receiveJson(1.0));

        $server->sendJson(['event' => 'pong', 'id' => 7]);
        self::assertSame(['event' => 'pong', 'id' => 7], $client->receiveJson(1.0));
    }

    public function testLargeMessagesCrossThePairIntact(): void
    {
        [$client, $server] = $this->pair();
        $payload = random_bytes(70000); // 64-bit length field
        $client->sendBinary($payload);
        self::assertSame($payload, $server->receive(2.0)?->data);

        $text = str_repeat('é', 40000); // 80000 bytes of UTF-8
        $server->send($text);
        self::assertSame($text, $client->receive(2.0)?->data);
    }

    public function testFragmentedMessageIsReassembled(): void
    {
        [$client, $server] = $this->pair();
        $data = json_encode(['action' => 'subscribe', 'channel' => str_repeat('c', 150)], JSON_THROW_ON_ERROR);
        $client->sendFragmented($data, 5);

        $message = $server->receive(1.0);
        self::assertNotNull($message);
        self::assertSame($data, $message->data);
        self::assertSame(5, $message->frames);
    }

    public function testFragmentsMaySplitAMultiByteCharacter(): void
    {
        [$client, $server] = $this->pair();
        $client->sendFragmented('€€', 3); // 6 bytes → 2-byte frames, each splitting a character
        self::assertSame('€€', $server->receive(1.0)?->data);
    }

    public function testControlFramesInterleavedWithFragmentsAreHandled(): void
    {
        [$client, $server] = $this->pair();
        // Server → client: fragment, ping, fragment, pong, last fragment.
        $server->sendFrame(Frame::TEXT, '{"event":', false);
        $server->sendPing('p1');
        $server->sendFrame(Frame::CONTINUATION, '"message",', false);
        $server->sendPong('unsolicited');
        $server->sendFrame(Frame::CONTINUATION, '"data":"x"}', true);

        self::assertSame(['event' => 'message', 'data' => 'x'], $client->receiveJson(1.0));
        self::assertSame(1, $client->pingsReceived());
        self::assertSame(['unsolicited'], $client->pongs());

        // The client answered the ping mid-message with the same payload.
        self::assertNull($server->receive(0.2), 'a pong is not a message');
        self::assertSame(['p1'], $server->pongs());

        // And the client can interleave pings in its own fragmented messages.
        $client->sendFragmented('abcdef', 3, Frame::TEXT, 'c');
        self::assertSame('abcdef', $server->receive(1.0)?->data);
        self::assertSame(2, $server->pingsReceived());
        self::assertNull($client->receive(0.2));
        self::assertSame(['unsolicited', 'c', 'c'], $client->pongs());
    }

    public function testWaitForPongsKeepsMessagesThatArriveFirst(): void
    {
        [$client, $server] = $this->pair();
        $client->sendPing('a');
        $server->send('reply before pong');
        self::assertNull($server->receive(0.1)); // the server role answers the ping now

        $client->waitForPongs(1, 1.0);
        self::assertSame(['a'], $client->pongs());
        self::assertSame('reply before pong', $client->receive(0.0)?->data, 'read-ahead message is not lost');

        $this->expectException(WebSocketException::class);
        $client->waitForPongs(2, 0.1);
    }

    public function testAutoPongCanBeDisabled(): void
    {
        [$client, $server] = $this->pair();
        $client->setAutoPong(false);
        $server->sendPing('x');
        $server->send('after');
        self::assertSame('after', $client->receive(1.0)?->data);
        self::assertSame(1, $client->pingsReceived());
        self::assertNull($server->receive(0.1));
        self::assertSame([], $server->pongs());
    }

    public function testPeerInitiatedCloseIsEchoedAndExposed(): void
    {
        [$client, $server] = $this->pair();
        $server->sendFrame(Frame::CLOSE, FrameCodec::closePayload(4001, 'disconnected'));

        $close = $client->receive(1.0);
        self::assertNotNull($close);
        self::assertTrue($close->isClose());
        self::assertSame(4001, $close->closeCode);
        self::assertSame('disconnected', $close->closeReason);
        self::assertSame(4001, $client->closeCode());
        self::assertFalse($client->isOpen());

        // The client echoed the code, completing the handshake.
        $echo = $server->receive(1.0);
        self::assertTrue($echo?->isClose());
        self::assertSame(4001, $echo->closeCode);

        self::assertSame(4001, $client->close(), 'close() after the peer closed returns its code without waiting');

        $this->expectException(ConnectionClosed::class);
        $client->receive(0.1);
    }

    public function testClientInitiatedCloseWaitsForThePeersClose(): void
    {
        [$client, $server] = $this->pair();
        $client->sendFrame(Frame::CLOSE, FrameCodec::closePayload(1000, 'done'));
        $server->send('in flight'); // sent before the server saw the close

        $seen = $server->receive(1.0);
        self::assertSame(1000, $seen?->closeCode);
        self::assertSame('done', $seen->closeReason);

        // close() discards the in-flight message and returns the echoed code.
        self::assertSame(1000, $client->close(1000, 'done', 1.0));
    }

    public function testCloseTimesOutWhenThePeerNeverAnswers(): void
    {
        [$client, $server] = $this->pair(); // $server stays alive but never reads
        $started = microtime(true);
        self::assertNull($client->close(1000, '', 0.2));
        self::assertTrue($server->isOpen());
        self::assertLessThan(2.0, microtime(true) - $started);
    }

    public function testWaitForCloseReturnsTheCodeAndKeepsSkippedFrames(): void
    {
        [$client, $server] = $this->pair();
        $server->send('{"event":"message"}');
        $server->sendFrame(Frame::CLOSE, FrameCodec::closePayload(4008));

        self::assertSame(4008, $client->waitForClose(1.0));
        self::assertCount(1, $client->lastSkipped());
        self::assertSame('{"event":"message"}', $client->lastSkipped()[0]->data);
    }

    public function testReceiveReturnsNullOnTimeoutWithoutLosingPartialFrames(): void
    {
        [$client, $serverEnd] = $this->clientAndRawServerEnd();
        $started = microtime(true);
        self::assertNull($client->receive(0.05));
        self::assertLessThan(1.0, microtime(true) - $started);

        // Half a frame arrives, the read times out, the rest arrives later.
        $wire = FrameCodec::encode(Frame::TEXT, '{"event":"pong"}');
        fwrite($serverEnd, substr($wire, 0, 5));
        self::assertNull($client->receive(0.05));
        fwrite($serverEnd, substr($wire, 5));
        self::assertSame(['event' => 'pong'], $client->receiveJson(1.0));
    }

    public function testWaitForSkipsNonMatchingFramesAndReportsThemOnTimeout(): void
    {
        [$client, $server] = $this->pair();
        $server->sendJson(['event' => 'subscribed', 'channel' => 'a']);
        $server->sendJson(['event' => 'message', 'channel' => 'b', 'data' => 'x']);
        $server->sendJson(['event' => 'message', 'channel' => 'a', 'data' => 'y']);

        $hit = $client->waitForEvent('message', ['channel' => 'a']);
        self::assertSame('y', $hit['data']);
        self::assertCount(2, $client->lastSkipped());

        try {
            $client->waitForEvent('never', [], 0.1);
            self::fail('waitFor should have timed out');
        } catch (WebSocketException $e) {
            self::assertStringContainsString('timed out', $e->getMessage());
            self::assertStringContainsString('"event":"never"', $e->getMessage());
        }

        $server->sendJson(['event' => 'other']);
        try {
            $client->waitForEvent('never', [], 0.2);
            self::fail('waitFor should have timed out');
        } catch (WebSocketException $e) {
            self::assertStringContainsString('{"event":"other"}', $e->getMessage(), 'skipped frames are listed');
        }
    }

    public function testWaitForFailsFastWhenThePeerCloses(): void
    {
        [$client, $server] = $this->pair();
        $server->sendFrame(Frame::CLOSE, FrameCodec::closePayload(1001, 'going away'));
        $started = microtime(true);
        try {
            $client->waitForEvent('message', [], 5.0);
            self::fail('waitFor should have failed');
        } catch (ConnectionClosed $e) {
            self::assertSame(1001, $e->closeCode);
            self::assertLessThan(2.0, microtime(true) - $started, 'no waiting for the full timeout');
        }
    }

    public function testDroppedTcpConnectionIsReported(): void
    {
        [$client, $serverEnd] = $this->clientAndRawServerEnd();
        fclose($serverEnd);
        $this->expectException(ConnectionClosed::class);
        $client->receive(1.0);
    }

    public function testClientRejectsMaskedFramesFromTheServer(): void
    {
        [$client, $serverEnd] = $this->clientAndRawServerEnd();
        fwrite($serverEnd, FrameCodec::encode(Frame::TEXT, 'x', true, "\1\2\3\4"));
        $this->expectException(ProtocolError::class);
        $client->receive(1.0);
    }

    public function testServerRoleRejectsUnmaskedFramesFromTheClient(): void
    {
        [$server, $clientEnd] = $this->serverAndRawClientEnd();
        fwrite($clientEnd, FrameCodec::encode(Frame::TEXT, 'x'));
        $this->expectException(ProtocolError::class);
        $server->receive(1.0);
    }

    public function testInvalidUtf8TextIsAProtocolError(): void
    {
        [$client, $serverEnd] = $this->clientAndRawServerEnd();
        fwrite($serverEnd, FrameCodec::encode(Frame::TEXT, "\xC3\x28"));
        $this->expectException(ProtocolError::class);
        $client->receive(1.0);
    }

    public function testContinuationWithoutAStartIsAProtocolError(): void
    {
        [$client, $serverEnd] = $this->clientAndRawServerEnd();
        fwrite($serverEnd, FrameCodec::encode(Frame::CONTINUATION, 'x'));
        $this->expectException(ProtocolError::class);
        $client->receive(1.0);
    }

    // ---- opening handshake --------------------------------------------------

    public function testHandshakeSendsAValidRequestAndKeepsBytesAfterThe101(): void
    {
        [$clientEnd, $serverEnd] = $this->socketPair();
        $pending = WebSocketClient::startHandshake($clientEnd, '127.0.0.1:8080', '/ws?x=1', [
            'Cookie' => 'user=42',
            'Origin' => 'http://127.0.0.1:8080',
            'Authorization' => 'Bearer t',
        ]);

        $request = $this->readUntil($serverEnd, "\r\n\r\n");
        [$requestLine, $headers] = self::parseRequest($request);
        self::assertSame('GET /ws?x=1 HTTP/1.1', $requestLine);
        self::assertSame('127.0.0.1:8080', $headers['host']);
        self::assertSame('websocket', strtolower($headers['upgrade']));
        self::assertSame('upgrade', strtolower($headers['connection']));
        self::assertSame('13', $headers['sec-websocket-version']);
        self::assertSame('user=42', $headers['cookie']);
        self::assertSame('http://127.0.0.1:8080', $headers['origin']);
        self::assertSame('Bearer t', $headers['authorization']);
        self::assertSame($pending->key, $headers['sec-websocket-key']);
        self::assertSame(16, strlen((string) base64_decode($pending->key, true)), 'the key is 16 random bytes, base64');

        // 101 and the first frame in one write, as a fast server may send them.
        fwrite($serverEnd, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            . 'Sec-WebSocket-Accept: ' . FrameCodec::acceptKey($pending->key) . "\r\n\r\n"
            . FrameCodec::encode(Frame::TEXT, '{"event":"connected","user_id":"42","connection_id":"c1"}'));

        $client = $pending->complete(1.0);
        self::assertSame('websocket', $client->responseHeader('Upgrade'));
        self::assertSame('connected', $client->receiveJson(1.0)['event']);
    }

    public function testEveryHandshakeUsesAFreshKey(): void
    {
        [$a] = $this->socketPair();
        [$b] = $this->socketPair();
        self::assertNotSame(
            WebSocketClient::startHandshake($a, 'h', '/')->key,
            WebSocketClient::startHandshake($b, 'h', '/')->key,
        );
    }

    public function testRefusedUpgradeExposesStatusHeadersAndBody(): void
    {
        [$clientEnd, $serverEnd] = $this->socketPair();
        $pending = WebSocketClient::startHandshake($clientEnd, 'h', '/ws');
        fwrite($serverEnd, "HTTP/1.1 401 Unauthorized\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\r\nunauthorized");

        try {
            $pending->complete(1.0);
            self::fail('a 401 must not upgrade');
        } catch (HandshakeRejected $e) {
            self::assertSame(401, $e->status);
            self::assertSame('Unauthorized', $e->reasonPhrase);
            self::assertSame('text/plain', $e->header('content-type'));
            self::assertSame('unauthorized', $e->body);
        }
    }

    public function testRefusedUpgradeWithAChunkedBody(): void
    {
        [$clientEnd, $serverEnd] = $this->socketPair();
        $pending = WebSocketClient::startHandshake($clientEnd, 'h', '/ws');
        fwrite($serverEnd, "HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nover\r\n5\r\nload!\r\n0\r\n\r\n");

        try {
            $pending->complete(1.0);
            self::fail('a 503 must not upgrade');
        } catch (HandshakeRejected $e) {
            self::assertSame(503, $e->status);
            self::assertSame('overload!', $e->body);
        }
    }

    public function testWrongAcceptKeyIsAProtocolError(): void
    {
        [$clientEnd, $serverEnd] = $this->socketPair();
        $pending = WebSocketClient::startHandshake($clientEnd, 'h', '/ws');
        fwrite($serverEnd, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            . 'Sec-WebSocket-Accept: ' . FrameCodec::acceptKey('not the key') . "\r\n\r\n");

        $this->expectException(ProtocolError::class);
        $this->expectExceptionMessage('Sec-WebSocket-Accept');
        $pending->complete(1.0);
    }

    public function testSilentServerTimesOutBounded(): void
    {
        [$clientEnd] = $this->socketPair();
        $pending = WebSocketClient::startHandshake($clientEnd, 'h', '/ws');
        $started = microtime(true);
        try {
            $pending->complete(0.1);
            self::fail('expected a timeout');
        } catch (ProtocolError $e) {
            self::assertStringContainsString('timeout', $e->getMessage());
        }
        self::assertLessThan(2.0, microtime(true) - $started);
    }

    public function testParseHeadFoldsRepeatedHeaders(): void
    {
        [$status, $reason, $headers] = PendingHandshake::parseHead("HTTP/1.1 403 Forbidden\r\nSet-Cookie: a=1\r\nset-cookie: b=2");
        self::assertSame(403, $status);
        self::assertSame('Forbidden', $reason);
        self::assertSame(['a=1', 'b=2'], $headers['set-cookie']);
    }

    // ---- helpers -------------------------------------------------------------

    /** @return array{0: resource, 1: resource} */
    private function socketPair(): array
    {
        $pair = stream_socket_pair(STREAM_PF_UNIX, STREAM_SOCK_STREAM, STREAM_IPPROTO_IP);
        self::assertIsArray($pair);
        array_push($this->streams, ...$pair);

        return $pair;
    }

    /**
     * A client and a server-role endpoint over one socket pair. Both objects
     * must stay referenced: a WebSocketClient closes its stream when destroyed.
     *
     * @return array{0: WebSocketClient, 1: WebSocketClient}
     */
    private function pair(): array
    {
        [$clientEnd, $serverEnd] = $this->socketPair();

        return [WebSocketClient::clientSide($clientEnd), WebSocketClient::serverSide($serverEnd)];
    }

    /**
     * A client whose peer is a raw stream, for tests that write bytes directly.
     *
     * @return array{0: WebSocketClient, 1: resource}
     */
    private function clientAndRawServerEnd(): array
    {
        [$clientEnd, $serverEnd] = $this->socketPair();

        return [WebSocketClient::clientSide($clientEnd), $serverEnd];
    }

    /**
     * A server-role endpoint whose peer is a raw stream.
     *
     * @return array{0: WebSocketClient, 1: resource}
     */
    private function serverAndRawClientEnd(): array
    {
        [$clientEnd, $serverEnd] = $this->socketPair();

        return [WebSocketClient::serverSide($serverEnd), $clientEnd];
    }

    /** @param resource $stream */
    private function readBytes($stream, int $count, float $timeout = 1.0): string
    {
        $buffer = '';
        $deadline = microtime(true) + $timeout;
        while (strlen($buffer) < $count) {
            $buffer .= $this->readSome($stream, $deadline);
        }

        return $buffer;
    }

    /** @param resource $stream */
    private function readUntil($stream, string $terminator, float $timeout = 1.0): string
    {
        $buffer = '';
        $deadline = microtime(true) + $timeout;
        while (!str_contains($buffer, $terminator)) {
            $buffer .= $this->readSome($stream, $deadline);
        }

        return $buffer;
    }

    /** @param resource $stream */
    private function readSome($stream, float $deadline): string
    {
        $remaining = $deadline - microtime(true);
        self::assertGreaterThan(0, $remaining, 'timed out reading from the socket pair');
        $read = [$stream];
        $write = $except = null;
        stream_select($read, $write, $except, 0, (int) ($remaining * 1_000_000));
        self::assertNotEmpty($read, 'timed out reading from the socket pair');

        return (string) fread($stream, 65536);
    }

    /** @return array{0: string, 1: array<string, string>} */
    private static function parseRequest(string $raw): array
    {
        $lines = explode("\r\n", substr($raw, 0, (int) strpos($raw, "\r\n\r\n")));
        $requestLine = (string) array_shift($lines);
        $headers = [];
        foreach ($lines as $line) {
            [$name, $value] = explode(':', $line, 2);
            $headers[strtolower($name)] = trim($value);
        }

        return [$requestLine, $headers];
    }
}
