<?php

declare(strict_types=1);

namespace Realtime\Tests\Integration;

use PHPUnit\Framework\TestCase;
use Realtime\Tests\Support\Server;
use Realtime\Tests\Support\WebSocketClient;

/**
 * docs/laravel.md: with the short names unregistered by disable_functions,
 * a Laravel-style guarded broadcast() helper is defined by the app, and the
 * realtime_* aliases still publish.
 */
final class LaravelRecipeTest extends TestCase
{
    public function testLaravelHelperCoexistsWithPrefixedAliases(): void
    {
        $server = new Server(
            'auth_endpoint /auth.php',
            appDir: Server::root() . '/tests/fixtures/laravel',
            frankenphpOptions: 'php_ini disable_functions broadcast,broadcasttouser,getchannelusers,disconnectuser',
        );
        $server->start();
        try {
            $client = WebSocketClient::connect($server->wsUrl(), ['Cookie' => 'user=7']);
            self::assertSame('connected', $client->receiveJson()['event']);
            $client->sendJson(['action' => 'subscribe', 'channel' => 'orders']);
            self::assertSame(['event' => 'subscribed', 'channel' => 'orders'], $client->receiveJson());

            $response = $server->postForm('/publish.php', ['channel' => 'orders', 'message' => '{"id":42}']);
            self::assertSame(200, $response->status, $response->body);
            $result = json_decode($response->body, true, flags: JSON_THROW_ON_ERROR);
            self::assertSame('laravel:ArrayObject', $result['laravel'], 'the app-defined helper answered');
            self::assertTrue($result['short_names_disabled']);
            self::assertSame(['7'], $result['users']);

            self::assertSame(
                ['event' => 'message', 'channel' => 'orders', 'data' => '{"id":42}'],
                $client->receiveJson(),
            );
        } finally {
            $server->stop();
        }
    }
}
