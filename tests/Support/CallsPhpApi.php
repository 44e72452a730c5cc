<?php

declare(strict_types=1);

namespace Realtime\Tests\Support;

/**
 * Calls the realtime PHP functions inside a test server through the
 * fixtures' call.php (call_loose.php for coercive typing mode).
 */
trait CallsPhpApi
{
    /** @param list<mixed> $args */
    protected static function call(Server $server, string $fn, array $args, bool $strict = true): HttpResponse
    {
        return $server->postForm($strict ? '/call.php' : '/call_loose.php', [
            'fn' => $fn,
            'args' => json_encode($args, JSON_THROW_ON_ERROR | JSON_PRESERVE_ZERO_FRACTION),
        ]);
    }

    /**
     * Calls and asserts success; returns the result (null for void functions).
     *
     * @param list<mixed> $args
     */
    protected static function callOk(Server $server, string $fn, array $args): mixed
    {
        $response = self::call($server, $fn, $args);
        self::assertContains($response->status, [200, 204], "$fn(" . json_encode($args) . ") on port {$server->port()}: " . $response->describe());

        return $response->status === 204 ? null : ($response->json()['result'] ?? null);
    }

    protected static function publish(Server $server, string $channel, string $message): void
    {
        self::callOk($server, 'broadcast', [$channel, $message]);
    }
}
