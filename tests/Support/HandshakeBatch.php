<?php

declare(strict_types=1);

namespace Realtime\Tests\Support;

use Realtime\Tests\Support\WebSocket\HandshakeRejected;
use Realtime\Tests\Support\WebSocket\PendingHandshake;
use Realtime\Tests\Support\WebSocket\WebSocketException;

/**
 * Many WebSocket handshakes in flight at once: every TCP connection is
 * opened first, then every upgrade request is written back to back, and only
 * then are the answers read. The server thus has all of them at the same
 * time (reading in turn does not serialise it: answers wait in the socket
 * buffers), which is what races between handshakes need.
 */
final class HandshakeBatch
{
    /**
     * @param list<array{0: string, 1: array<string, string>}> $requests [ws:// URL, request headers]
     *
     * @return list<HandshakeOutcome> in the order of $requests
     */
    public static function open(array $requests, float $timeout = 20.0): array
    {
        $deadline = microtime(true) + $timeout;
        $streams = [];
        foreach ($requests as $i => [$url]) {
            $parts = parse_url($url);
            $stream = @stream_socket_client("tcp://{$parts['host']}:{$parts['port']}", $errno, $errstr, 5.0);
            $streams[$i] = $stream === false ? "cannot connect: [$errno] $errstr" : $stream;
        }
        /** @var array<int, PendingHandshake|string> $pending */
        $pending = [];
        foreach ($requests as $i => [$url, $headers]) {
            if (is_string($streams[$i])) {
                $pending[$i] = $streams[$i];
                continue;
            }
            $parts = parse_url($url);
            $target = ($parts['path'] ?? '/') . (isset($parts['query']) ? '?' . $parts['query'] : '');
            try {
                $pending[$i] = WebSocketClient::startHandshake($streams[$i], "{$parts['host']}:{$parts['port']}", $target, $headers, 5.0);
            } catch (WebSocketException $e) {
                $pending[$i] = 'cannot send the upgrade request: ' . $e->getMessage();
            }
        }
        $outcomes = [];
        foreach ($pending as $i => $handshake) {
            $outcomes[$i] = is_string($handshake) ? new HandshakeOutcome(0, null, null, $handshake) : self::finish($handshake, $deadline);
        }

        return $outcomes;
    }

    private static function finish(PendingHandshake $handshake, float $deadline): HandshakeOutcome
    {
        try {
            $client = $handshake->complete(max(0.1, $deadline - microtime(true)));
        } catch (HandshakeRejected $refused) {
            return new HandshakeOutcome($refused->status, null, null, $refused->body, $refused->headers);
        } catch (WebSocketException $e) {
            return new HandshakeOutcome(0, null, null, $e->getMessage());
        }
        try {
            $connected = $client->receiveJson(max(0.1, $deadline - microtime(true)));
        } catch (WebSocketException $e) {
            return new HandshakeOutcome(101, null, $client, 'no connected frame: ' . $e->getMessage());
        }
        $userId = ($connected['event'] ?? null) === 'connected' && is_string($connected['user_id'] ?? null) ? $connected['user_id'] : null;

        return new HandshakeOutcome(101, $userId, $client, $userId === null ? 'first frame: ' . json_encode($connected) : '');
    }

    /**
     * Closes the connections of upgraded outcomes.
     *
     * @param list<HandshakeOutcome> $outcomes
     */
    public static function closeAll(array $outcomes): void
    {
        foreach ($outcomes as $outcome) {
            $outcome->client?->close(1000, '', 2.0);
        }
    }
}
