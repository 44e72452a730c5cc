<?php

declare(strict_types=1);

namespace Realtime\Tests\Integration;

use PHPUnit\Framework\Attributes\DataProvider;
use Realtime\Tests\Support\RealtimeTestCase;
use Realtime\Tests\Support\Server;

/**
 * SPEC §5: the four functions and their realtime_* aliases, called by PHP
 * inside the server (fixtures call.php / call_loose.php), one node, memory
 * driver. Every behaviour is checked under both names.
 */
final class PhpApiTest extends RealtimeTestCase
{
    private const NAMES = [
        'spec' => ['broadcast', 'broadcastToUser', 'getChannelUsers', 'disconnectUser'],
        'alias' => ['realtime_broadcast', 'realtime_broadcast_to_user', 'realtime_get_channel_users', 'realtime_disconnect_user'],
    ];

    private function api(): Server
    {
        // max_message_size 1KiB so the inclusive limit is cheap to probe.
        return $this->server('api', static fn () => new Server('max_message_size 1KiB'));
    }

    /** @return iterable<string, array{string}> */
    public static function names(): iterable
    {
        yield 'SPEC names' => ['spec'];
        yield 'realtime_* aliases' => ['alias'];
    }

    /** @return array{string, string, string, string} */
    private static function fns(string $names): array
    {
        return self::NAMES[$names];
    }

    /** Asserts the call threw $class inside the server; returns the message. */
    private static function assertThrows(Server $server, string $class, string $fn, array $args, bool $strict = true): string
    {
        $response = self::call($server, $fn, $args, $strict);
        $what = sprintf('%s(%s) [%s]', $fn, substr(json_encode($args), 1, 80), $strict ? 'strict' : 'coercive');
        self::assertSame(500, $response->status, "$what should throw $class: " . $response->describe());
        $thrown = $response->json();
        self::assertSame($class, $thrown['class'] ?? null, "$what: " . $response->body);
        self::assertNotSame('', $thrown['message'] ?? '', "$what: the exception says why");

        return $thrown['message'];
    }

    // ---- broadcast ---------------------------------------------------------------------

    #[DataProvider('names')]
    public function testBroadcastReachesEverySubscriberOnly(string $names): void
    {
        [$broadcast] = self::fns($names);
        $server = $this->api();
        $channel = self::channel();
        $other = self::channel();
        $a = $this->connectAs($server, '1');
        $b = $this->connectAs($server, '2');
        $outsider = $this->connectAs($server, '3');
        $this->subscribe($a, $channel);
        $this->subscribe($b, $channel);
        $this->subscribe($outsider, $other);

        self::assertNull(self::callOk($server, $broadcast, [$channel, "hi from $broadcast"]));
        foreach ([$a, $b] as $client) {
            self::assertSame(['event' => 'message', 'channel' => $channel, 'data' => "hi from $broadcast"], $client->receiveJson(10.0));
        }
        self::callOk($server, $broadcast, [$other, 'sentinel']);
        self::assertSame(['event' => 'message', 'channel' => $other, 'data' => 'sentinel'], $outsider->receiveJson(10.0));
    }

    #[DataProvider('names')]
    public function testMessageOfExactlyMaxMessageSizeIsAcceptedAndOneMoreIsAValueError(string $names): void
    {
        [$broadcast, $toUser] = self::fns($names);
        $server = $this->api();
        $channel = self::channel();
        $client = $this->connectAs($server, '5');
        $this->subscribe($client, $channel);

        $max = str_repeat('m', 1024);
        self::callOk($server, $broadcast, [$channel, $max]);
        self::assertSame($max, $client->receiveJson(10.0)['data'] ?? null, 'exactly max_message_size (1KiB) is delivered');
        self::callOk($server, $toUser, ['5', $max]);
        self::assertSame(['event' => 'direct', 'data' => $max], $client->receiveJson(10.0));

        // Raw bytes count, not characters: 512 two-byte characters = 1024 bytes.
        $utf8 = str_repeat('é', 512);
        self::callOk($server, $broadcast, [$channel, $utf8]);
        self::assertSame($utf8, $client->receiveJson(10.0)['data'] ?? null);

        self::assertThrows($server, 'ValueError', $broadcast, [$channel, $max . 'x']);
        self::assertThrows($server, 'ValueError', $broadcast, [$channel, $utf8 . 'x']);
        self::assertThrows($server, 'ValueError', $toUser, ['5', $max . 'x']);
        self::callOk($server, $broadcast, [$channel, 'sentinel']);
        self::assertSame('sentinel', $client->receiveJson(10.0)['data'] ?? null, 'nothing of the refused messages arrived');
    }

    /** @return iterable<string, array{string, string}> */
    public static function invalidChannels(): iterable
    {
        foreach (['spec', 'alias'] as $names) {
            yield "$names: empty" => [$names, ''];
            yield "$names: space" => [$names, 'a b'];
            yield "$names: slash" => [$names, 'a/b'];
            yield "$names: non-ASCII" => [$names, 'nöws'];
            yield "$names: 201 bytes" => [$names, str_repeat('c', 201)];
        }
    }

    #[DataProvider('invalidChannels')]
    public function testInvalidChannelIsAValueError(string $names, string $channel): void
    {
        [$broadcast, , $getUsers] = self::fns($names);
        $server = $this->api();
        self::assertThrows($server, 'ValueError', $broadcast, [$channel, 'x']);
        self::assertThrows($server, 'ValueError', $getUsers, [$channel]);
    }

    #[DataProvider('names')]
    public function testChannelOf200BytesIsValid(string $names): void
    {
        [$broadcast, , $getUsers] = self::fns($names);
        $server = $this->api();
        $channel = str_repeat('c', 188) . bin2hex(random_bytes(6));
        $client = $this->connectAs($server, '7');
        $this->subscribe($client, $channel);
        self::callOk($server, $broadcast, [$channel, 'ok']);
        self::assertSame('ok', $client->receiveJson(10.0)['data'] ?? null);
        self::assertSame(['7'], self::callOk($server, $getUsers, [$channel]));
    }

    // ---- broadcastToUser -------------------------------------------------------------------

    #[DataProvider('names')]
    public function testBroadcastToUserReachesEveryConnectionOfThatUserOnly(string $names): void
    {
        [$broadcast, $toUser] = self::fns($names);
        $server = $this->api();
        $user = (string) random_int(100000, 999999);
        $tab1 = $this->connectAs($server, $user);
        $tab2 = $this->connectAs($server, $user);
        $other = $this->connectAs($server, $user . '0');
        $sentinelChannel = self::channel();
        $this->subscribe($other, $sentinelChannel);

        // An int id and the same id as a string reach the same user.
        self::assertNull(self::callOk($server, $toUser, [(int) $user, 'as int']));
        self::callOk($server, $toUser, [$user, 'as string']);
        foreach (['tab 1' => $tab1, 'tab 2' => $tab2] as $tab => $client) {
            self::assertSame(['event' => 'direct', 'data' => 'as int'], $client->receiveJson(10.0), $tab);
            self::assertSame(['event' => 'direct', 'data' => 'as string'], $client->receiveJson(10.0), $tab);
        }
        self::callOk($server, $broadcast, [$sentinelChannel, 'sentinel']);
        self::assertSame('sentinel', $other->receiveJson(10.0)['data'] ?? null, 'another user got no direct frame');
    }

    #[DataProvider('names')]
    public function testBroadcastToUserWithNonNumericStringId(string $names): void
    {
        [, $toUser] = self::fns($names);
        $server = $this->api();
        $client = $this->connectAs($server, 'user-ß@x');
        self::callOk($server, $toUser, ['user-ß@x', 'hello']);
        self::assertSame(['event' => 'direct', 'data' => 'hello'], $client->receiveJson(10.0));
    }

    // ---- getChannelUsers --------------------------------------------------------------------

    #[DataProvider('names')]
    public function testGetChannelUsersListsUniqueIds(string $names): void
    {
        [, , $getUsers] = self::fns($names);
        $server = $this->api();
        $channel = self::channel();
        self::assertSame([], self::callOk($server, $getUsers, [$channel]), 'nobody on a fresh channel');
        $clients = [];
        foreach (['11', '12', '12'] as $user) { // user 12 has two connections
            $clients[] = $client = $this->connectAs($server, $user);
            $this->subscribe($client, $channel);
        }
        $users = self::callOk($server, $getUsers, [$channel]);
        self::assertIsArray($users);
        self::assertTrue(array_is_list($users), 'a list: ' . json_encode($users));
        sort($users);
        self::assertSame(['11', '12'], $users, 'unique user ids as strings');
    }

    public function testGetChannelUsersWorksOnAnyChannelAndForgetsAfterTheGrace(): void
    {
        $server = $this->server('nograce', static fn () => new Server('presence_grace 200ms'));
        $channel = self::channel('any-');
        $client = $this->connectAs($server, '21');
        $this->subscribe($client, $channel);
        self::assertSame(['21'], self::callOk($server, 'getChannelUsers', [$channel]));
        $client->sendJson(['action' => 'unsubscribe', 'channel' => $channel]);
        self::assertSame('unsubscribed', $client->receiveJson(10.0)['event'] ?? null);
        self::poll(static fn (): bool => self::callOk($server, 'getChannelUsers', [$channel]) === [], 10.0, 'the user to leave the list after presence_grace');
    }

    // ---- disconnectUser ---------------------------------------------------------------------

    #[DataProvider('names')]
    public function testDisconnectUserClosesEveryConnectionOfThatUserWith4001(string $names): void
    {
        [$broadcast, , , $disconnect] = self::fns($names);
        $server = $this->api();
        $user = (string) random_int(100000, 999999);
        $channel = self::channel();
        $tab1 = $this->connectAs($server, $user);
        $tab2 = $this->connectAs($server, $user);
        $other = $this->connectAs($server, $user . '1');
        $this->subscribe($tab1, $channel);
        $this->subscribe($other, $channel);

        self::assertNull(self::callOk($server, $disconnect, [(int) $user]));
        self::assertSame(4001, self::closedBy($tab1), 'tab 1');
        self::assertSame(4001, self::closedBy($tab2), 'tab 2');
        self::callOk($server, $broadcast, [$channel, 'still here']);
        self::assertSame('still here', $other->receiveJson(10.0)['data'] ?? null, 'other users untouched');
        self::assertStillUsable($other);

        // A string id works the same, and the user may reconnect afterwards.
        $again = $this->connectAs($server, $user);
        self::callOk($server, $disconnect, [$user]);
        self::assertSame(4001, self::closedBy($again));
        // Disconnecting a user with no connection is not an error.
        self::assertNull(self::callOk($server, $disconnect, ['nobody-' . $user]));
    }

    // ---- bad user ids --------------------------------------------------------------------------

    #[DataProvider('names')]
    public function testEmptyUserIdIsAValueError(string $names): void
    {
        [, $toUser, , $disconnect] = self::fns($names);
        $server = $this->api();
        foreach ([true, false] as $strict) {
            self::assertThrows($server, 'ValueError', $toUser, ['', 'x'], $strict);
            self::assertThrows($server, 'ValueError', $disconnect, [''], $strict);
        }
    }

    /** @return iterable<string, array{string, mixed, bool}> */
    public static function nonIntStringIds(): iterable
    {
        $ids = [
            'float' => 4.0,
            'fractional float' => 1.5,
            'true' => true,
            'false' => false,
            'null' => null,
            'array' => [42],
            'empty array' => [],
            'object' => ['__object__' => true],
        ];
        foreach (['spec', 'alias'] as $names) {
            foreach ([true => 'strict', false => 'coercive'] as $strict => $mode) {
                foreach ($ids as $label => $id) {
                    yield "$names, $mode: $label" => [$names, $id, (bool) $strict];
                }
            }
        }
    }

    #[DataProvider('nonIntStringIds')]
    public function testUserIdThatIsNotIntOrStringIsATypeError(string $names, mixed $id, bool $strict): void
    {
        [, $toUser, , $disconnect] = self::fns($names);
        $server = $this->api();
        self::assertThrows($server, 'TypeError', $toUser, [$id, 'x'], $strict);
        self::assertThrows($server, 'TypeError', $disconnect, [$id], $strict);
    }

    public function testATypeErrorDisconnectsAndDeliversNothing(): void
    {
        $server = $this->api();
        $client = $this->connectAs($server, '4');
        $channel = self::channel();
        $this->subscribe($client, $channel);
        self::assertThrows($server, 'TypeError', 'broadcastToUser', [4.0, 'float id'], false);
        self::assertThrows($server, 'TypeError', 'disconnectUser', [4.0], false);
        self::callOk($server, 'broadcast', [$channel, 'sentinel']);
        self::assertSame(['event' => 'message', 'channel' => $channel, 'data' => 'sentinel'], $client->receiveJson(10.0));
    }

    // ---- Laravel recipe ----------------------------------------------------------------------------

    public function testLaravelStyleAppPublishesThroughTheAliases(): void
    {
        $server = $this->api();
        $channel = self::channel();
        $client = $this->connectAs($server, '8');
        $this->subscribe($client, $channel);

        $response = $server->postForm('/laravel.php', ['channel' => $channel, 'message' => 'from laravel']);
        self::assertSame(200, $response->status, $response->describe());
        $result = $response->json()['result'];
        // function_exists('broadcast') is true, so Laravel's
        // `if (! function_exists('broadcast'))` guard skips its helper.
        self::assertTrue($result['function_exists_broadcast']);
        self::assertFalse($result['laravel_global_helper_declared']);
        self::assertTrue($result['global_broadcast_is_internal'], 'the global broadcast() is the extension\'s');
        self::assertSame('laravel-helper:OrderShipped', $result['namespaced_helper'], 'the namespaced helper still works');
        self::assertSame(['8'], $result['users'], 'realtime_get_channel_users() works alongside');
        self::assertSame(['event' => 'message', 'channel' => $channel, 'data' => 'from laravel'], $client->receiveJson(10.0));
    }

    /**
     * Why the recipe is needed: a global function broadcast() declared
     * without Laravel's function_exists() guard cannot coexist with the
     * extension (PHP functions cannot be redeclared).
     */
    public function testAnUnguardedGlobalBroadcastDeclarationIsAFatalError(): void
    {
        $dir = sys_get_temp_dir() . '/realtime-test-' . bin2hex(random_bytes(6));
        mkdir($dir, 0700, true);
        file_put_contents("$dir/app.php", "<?php\nfunction broadcast(\$event = null) { return 'mine'; }\necho 'declared';\n");
        try {
            $process = proc_open([Server::requireBinary(), 'php-cli', "$dir/app.php"], [1 => ['file', "$dir/out", 'w'], 2 => ['file', "$dir/out", 'a']], $pipes);
            self::assertIsResource($process);
            $code = proc_close($process);
            $out = (string) file_get_contents("$dir/out");
        } finally {
            @unlink("$dir/app.php");
            @unlink("$dir/out");
            @rmdir($dir);
        }
        self::assertSame(255, $code, $out);
        self::assertStringContainsString('Cannot redeclare', $out);
        self::assertStringNotContainsString('declared', str_replace('redeclare', '', $out));
    }

    public function testDocsDescribeTheLaravelRecipe(): void
    {
        $docs = '';
        foreach ([...glob(Server::root() . '/docs/*.md') ?: [], Server::root() . '/README.md', Server::root() . '/ext/README.md'] as $file) {
            if (is_file($file)) {
                $docs .= file_get_contents($file);
            }
        }
        self::assertMatchesRegularExpression('/Laravel/i', $docs, 'SPEC §5: the Laravel recipe is documented');
        self::assertStringContainsString('realtime_broadcast', $docs, 'the documented recipe names realtime_broadcast()');
    }
}
