<?php

declare(strict_types=1);

namespace Realtime\Tests\Integration;

use PHPUnit\Framework\TestCase;
use Realtime\Tests\Support\LaravelApp;
use Realtime\Tests\Support\Server;

/**
 * Laravel's /broadcasting/auth and /broadcasting/user-auth answered by the
 * package's `frankenphp` driver in the real Laravel 10 app, checked against
 * signatures computed here independently (PUSHER.md §9): what Echo's
 * pusher/reverb broadcaster sends to the server.
 */
final class LaravelBroadcastingAuthTest extends TestCase
{
    private const SOCKET = '1234.1234';

    private static ?Server $server = null;
    private static ?LaravelApp $app = null;
    private static string $masterKey;
    /** @var array{cookie: string, csrf: string} */
    private static array $alice;

    public static function setUpBeforeClass(): void
    {
        LaravelApp::requireLaravel();
        self::$app = new LaravelApp();
        self::$masterKey = random_bytes(32);
        self::$server = new Server(
            appDir: LaravelApp::publicDir(),
            env: self::$app->env(['BROADCAST_ENCRYPTION_KEY' => base64_encode(self::$masterKey)]),
            frankenphpOptions: 'php_ini ' . LaravelApp::DISABLE_FUNCTIONS,
        );
        self::$server->start();
        self::$alice = LaravelApp::logIn(self::$server, 'alice');
    }

    public static function tearDownAfterClass(): void
    {
        self::$server?->stop();
        self::$server = null;
        self::$app = null;
    }

    /** @param array<string, string> $fields */
    private static function post(string $path, array $fields, bool $loggedIn = true): \Realtime\Tests\Support\HttpResponse
    {
        // What pusher-js sends: a form POST with Echo's X-CSRF-TOKEN header.
        $headers = ['Accept' => 'application/json'];
        if ($loggedIn) {
            $headers += ['Cookie' => self::$alice['cookie'], 'X-CSRF-TOKEN' => self::$alice['csrf']];
        }

        return self::$server->postForm($path, $fields, $headers);
    }

    private static function sign(string $message): string
    {
        return 'test-key:' . hash_hmac('sha256', $message, 'test-secret');
    }

    public function testPrivateChannel(): void
    {
        $r = self::post('/broadcasting/auth', ['socket_id' => self::SOCKET, 'channel_name' => 'private-orders.1']);
        self::assertSame(200, $r->status, $r->describe());
        self::assertSame(['auth' => self::sign(self::SOCKET . ':private-orders.1')], $r->json());
    }

    public function testPresenceChannel(): void
    {
        $r = self::post('/broadcasting/auth', ['socket_id' => self::SOCKET, 'channel_name' => 'presence-room.1']);
        self::assertSame(200, $r->status, $r->describe());
        $channelData = '{"user_id":1,"user_info":{"id":1,"name":"alice"}}';
        self::assertSame(['auth' => self::sign(self::SOCKET . ':presence-room.1:' . $channelData), 'channel_data' => $channelData], $r->json());
    }

    public function testEncryptedPrivateChannel(): void
    {
        $r = self::post('/broadcasting/auth', ['socket_id' => self::SOCKET, 'channel_name' => 'private-encrypted-secret.1']);
        self::assertSame(200, $r->status, $r->describe());
        self::assertSame([
            'auth' => self::sign(self::SOCKET . ':private-encrypted-secret.1'),
            'shared_secret' => base64_encode(hash('sha256', 'private-encrypted-secret.1' . self::$masterKey, true)),
        ], $r->json());
    }

    public function testUserAuthentication(): void
    {
        $r = self::post('/broadcasting/user-auth', ['socket_id' => self::SOCKET]);
        self::assertSame(200, $r->status, $r->describe());
        $userData = '{"id":"1","user_info":{"name":"alice"}}';
        self::assertSame(['auth' => self::sign(self::SOCKET . '::user::' . $userData), 'user_data' => $userData], $r->json());
    }

    public function testRefusals(): void
    {
        foreach (['private-orders.2', 'private-vault', 'presence-undefined'] as $channel) {
            $r = self::post('/broadcasting/auth', ['socket_id' => self::SOCKET, 'channel_name' => $channel]);
            self::assertSame(403, $r->status, "$channel: " . $r->describe());
        }
        $anonymous = self::post('/broadcasting/auth', ['socket_id' => self::SOCKET, 'channel_name' => 'private-orders.1'], loggedIn: false);
        self::assertSame(403, $anonymous->status, $anonymous->describe());
        $anonymousUser = self::post('/broadcasting/user-auth', ['socket_id' => self::SOCKET], loggedIn: false);
        self::assertSame(403, $anonymousUser->status, $anonymousUser->describe());
    }

    public function testMalformedSocketIdIsABadRequest(): void
    {
        foreach (['1234', 'x.y', ''] as $socketId) {
            $r = self::post('/broadcasting/auth', ['socket_id' => $socketId, 'channel_name' => 'private-orders.1']);
            self::assertSame(400, $r->status, json_encode($socketId) . ': ' . $r->describe());
            self::assertArrayNotHasKey('auth', $r->json());
            self::assertStringContainsString('invalid socket id', $r->json()['message'] ?? '');
        }
    }
}
