<?php

declare(strict_types=1);

namespace Realtime\Tests\Integration;

use PHPUnit\Framework\TestCase;
use Realtime\Tests\Support\LaravelApp;
use Realtime\Tests\Support\Server;
use Realtime\Tests\Support\WebSocketClient;

/**
 * The native protocol (client/realtime.js) with a real Laravel 10 app
 * (tests/laravel-app, Debian's Laravel packages) as auth_endpoint and
 * authorize_endpoint: the package's Realtime::nativeRoutes() answers the
 * module's in-process calls from the session its cookies carry, with the
 * channel callbacks of routes/channels.php; the routes are exempt from
 * CSRF verification (the module's POST carries no token) and answer 404 to
 * anything but the module's own calls (realtime_is_internal_request()).
 * Also: the package's boot check of Laravel's broadcast() helper, and the
 * same app in FrankenPHP worker mode.
 */
final class LaravelNativeProtocolTest extends TestCase
{
    private const ENDPOINTS = "auth_endpoint /realtime/auth\nauthorize_endpoint /realtime/authorize";

    private ?Server $server = null;
    private ?LaravelApp $app = null;

    protected function setUp(): void
    {
        LaravelApp::requireLaravel();
        $this->app = new LaravelApp();
    }

    protected function tearDown(): void
    {
        $this->server?->stop();
        $this->server = null;
        $this->app = null;
    }

    private function serve(string $realtimeOptions = self::ENDPOINTS, string $frankenphpOptions = 'php_ini ' . LaravelApp::DISABLE_FUNCTIONS): Server
    {
        $this->server = new Server(
            $realtimeOptions,
            appDir: LaravelApp::publicDir(),
            env: $this->app->env(),
            frankenphpOptions: $frankenphpOptions,
        );
        $this->server->start();

        return $this->server;
    }

    /** @return array{0: WebSocketClient, 1: array{cookie: string, csrf: string}} */
    private function connectAs(Server $server, string $name, string $expectedId): array
    {
        $session = LaravelApp::logIn($server, $name);
        $client = WebSocketClient::connect($server->wsUrl(), ['Cookie' => $session['cookie']]);
        $hello = $client->receiveJson();
        self::assertSame('connected', $hello['event'], json_encode($hello));
        self::assertSame($expectedId, $hello['user_id'], 'the Laravel session named the user');

        return [$client, $session];
    }

    /** @return array<string, mixed> the reply to a subscribe */
    private static function subscribe(WebSocketClient $client, string $channel): array
    {
        $client->sendJson(['action' => 'subscribe', 'channel' => $channel]);

        return $client->waitForJson(
            static fn (array $f) => ($f['channel'] ?? null) === $channel && in_array($f['event'] ?? '', ['subscribed', 'error'], true),
            5.0,
            "the reply to subscribe $channel",
        );
    }

    public function testLaravelRoutesAuthenticateAndAuthorizeTheNativeProtocol(): void
    {
        $server = $this->serve();
        [$alice, $session] = $this->connectAs($server, 'alice', '1');

        self::assertSame(['event' => 'subscribed', 'channel' => 'private-orders.1'], self::subscribe($alice, 'private-orders.1'));
        self::assertSame(
            ['event' => 'subscribed', 'channel' => 'presence-room.1', 'users' => ['1']],
            self::subscribe($alice, 'presence-room.1'),
        );
        foreach (['private-orders.2', 'private-vault', 'private-nothing-defined'] as $refused) {
            $reply = self::subscribe($alice, $refused);
            self::assertSame(['error', 'forbidden'], [$reply['event'], $reply['code'] ?? null], "$refused: " . json_encode($reply));
        }

        // The Laravel route's ShouldBroadcastNow event reaches the native
        // subscriber as a named message.
        $shipped = $server->http('POST', '/orders/5/ship', [
            'Content-Type' => 'application/json',
            'Accept' => 'application/json',
            'Cookie' => $session['cookie'],
            'X-CSRF-TOKEN' => $session['csrf'],
        ], '{"note":"native"}');
        self::assertSame(200, $shipped->status, $shipped->describe() . "\n" . $this->app->laravelLog());
        $message = $alice->waitForEvent('message', ['channel' => 'private-orders.1']);
        self::assertSame('order.shipped', $message['name']);
        self::assertSame(['userId' => 1, 'orderId' => 5, 'note' => 'native'], json_decode($message['data'], true));

        // No session: the auth route answers 401, the handshake is refused.
        self::assertSame(401, WebSocketClient::expectRejection($server->wsUrl())->status);
    }

    public function testTheEndpointsAnswerOnlyTheModule(): void
    {
        $server = $this->serve();
        $session = LaravelApp::logIn($server, 'alice');
        $headers = ['Cookie' => $session['cookie'], 'Accept' => 'application/json'];

        $auth = $server->http('GET', '/realtime/auth', $headers);
        self::assertSame(404, $auth->status, 'a browser calling the auth endpoint: ' . $auth->describe());

        // A cross-site form posting the user's cookies, without a CSRF
        // token: the route is exempt from CSRF verification, and refuses
        // because the call is not the module's own.
        $authorize = $server->postForm('/realtime/authorize', ['channel' => 'private-orders.1', 'user_id' => '1'], $headers);
        self::assertSame(404, $authorize->status, $authorize->describe());
        self::assertStringNotContainsString('allow', $authorize->body);

        // The same request with a valid CSRF token gets no further.
        $withToken = $server->postForm('/realtime/authorize', ['channel' => 'private-orders.1', 'user_id' => '1', '_token' => $session['csrf']], $headers);
        self::assertSame(404, $withToken->status, $withToken->describe());
    }

    public function testWithoutTheExemptionLaravelAnswersTheModules419(): void
    {
        // Control: an authorize endpoint in the plain web group. The
        // module's POST has the user's cookies but no CSRF token.
        $server = $this->serve("auth_endpoint /realtime/auth\nauthorize_endpoint /plain/authorize");
        [$alice] = $this->connectAs($server, 'alice', '1');
        $reply = self::subscribe($alice, 'private-orders.1');
        self::assertSame(['error', 'forbidden'], [$reply['event'], $reply['code'] ?? null], json_encode($reply));

        // What the module got: 419 without a token. With the session's
        // token the same route allows, so the token is all it lacked.
        $session = LaravelApp::logIn($server, 'alice');
        $fields = ['channel' => 'private-orders.1', 'user_id' => '1'];
        $direct = $server->postForm('/plain/authorize', $fields, ['Cookie' => $session['cookie']]);
        self::assertSame(419, $direct->status, $direct->describe());
        $withToken = $server->postForm('/plain/authorize', $fields + ['_token' => $session['csrf']], ['Cookie' => $session['cookie']]);
        self::assertSame([200, ['allow' => true]], [$withToken->status, $withToken->json()], $withToken->describe());
    }

    public function testLaravelRefusesToBootWithoutTheDisableFunctionsLine(): void
    {
        $server = $this->serve(frankenphpOptions: '');
        $page = $server->http('GET', '/login', ['Accept' => 'application/json']);
        self::assertSame(500, $page->status, $page->describe());
        self::assertStringContainsString('broadcast() helper is shadowed by the FrankenPHP realtime extension', $page->body);
        self::assertStringContainsString(LaravelApp::DISABLE_FUNCTIONS, $page->body);
    }

    public function testWorkerMode(): void
    {
        $index = LaravelApp::publicDir() . '/index.php';
        $server = $this->serve(frankenphpOptions: 'php_ini ' . LaravelApp::DISABLE_FUNCTIONS . "\nworker {\n\tfile $index\n\tnum 1\n}");

        $first = $server->http('GET', '/login');
        $second = $server->http('GET', '/login');
        self::assertSame(200, $second->status, $second->describe());
        self::assertNotNull($first->header('x-worker-requests'), 'served by the worker: ' . $first->describe());
        self::assertGreaterThan((int) $first->header('x-worker-requests'), (int) $second->header('x-worker-requests'), 'one worker kept serving');

        [$alice, $session] = $this->connectAs($server, 'alice', '1');
        self::assertSame('subscribed', self::subscribe($alice, 'private-orders.1')['event']);
        self::assertSame('forbidden', self::subscribe($alice, 'private-orders.2')['code'] ?? null);
        $outside = $server->postForm('/realtime/authorize', ['channel' => 'private-orders.1', 'user_id' => '1'], ['Cookie' => $session['cookie']]);
        self::assertSame(404, $outside->status, 'in worker mode too, outside callers are refused: ' . $outside->describe());

        $shipped = $server->http('POST', '/orders/6/ship', [
            'Content-Type' => 'application/json', 'Accept' => 'application/json',
            'Cookie' => $session['cookie'], 'X-CSRF-TOKEN' => $session['csrf'],
        ], '{"note":"worker"}');
        self::assertSame(200, $shipped->status, $shipped->describe());
        self::assertNotNull($shipped->header('x-worker-requests'));
        $message = $alice->waitForEvent('message', ['channel' => 'private-orders.1']);
        self::assertSame(['userId' => 1, 'orderId' => 6, 'note' => 'worker'], json_decode($message['data'], true));
    }
}
