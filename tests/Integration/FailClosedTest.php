<?php

declare(strict_types=1);

namespace Realtime\Tests\Integration;

use PHPUnit\Framework\Attributes\DataProvider;
use Realtime\Tests\Support\RealtimeTestCase;
use Realtime\Tests\Support\Server;
use Realtime\Tests\Support\WebSocketClient;

/**
 * Issue 9, failing inputs 1 and 2 (SPEC §3, §4): endpoints fail closed.
 *
 * An auth answer upgrades only when it explicitly is a user id (text/plain,
 * trimmed, or application/json {"user_id": ...}; 1-128 bytes, no
 * whitespace or control characters). PHP source, HTML, text/html "42" (PHP's
 * default type), an implausible id, or whatever a front controller answers
 * for a missing script are refused with 403 and a logged hint. Authorize
 * allows only on 2xx application/json {"allow": true}.
 */
final class FailClosedTest extends RealtimeTestCase
{
    private static function fixtures(string $dir): string
    {
        return Server::root() . "/tests/fixtures/$dir";
    }

    // ---- auth answers (issue 9, 1a) -------------------------------------------------------

    /** @return iterable<string, array{string, string, string}> auth_endpoint, cookie, a piece of the logged hint */
    public static function notAUserId(): iterable
    {
        yield 'text/html "42" (PHP\'s default type)' => ['/auth.php', 'user=html', 'text/html'];
        yield 'an HTML page' => ['/auth.php', 'user=page', 'text/html'];
        yield 'README\'s auth.php without its <?php tag' => ['/auth_no_tag.php', 'user=1', 'text/html'];
        yield 'PHP source served as text/plain' => ['/auth_source.txt', 'user=1', 'PHP source'];
        yield 'an id with a space' => ['/auth.php', 'user=spaced', '1-128 bytes'];
        yield 'an id of 129 bytes' => ['/auth.php', 'user=' . str_repeat('x', 129), '1-128 bytes'];
        yield 'an empty body' => ['/auth.php', 'user=empty', 'empty body'];
        yield 'JSON with an empty user_id' => ['/auth.php?format=json', 'user=empty', '1-128 bytes'];
    }

    #[DataProvider('notAUserId')]
    public function testAnAuthAnswerThatIsNotAUserIdIsRefusedWithAHint(string $endpoint, string $cookie, string $hint): void
    {
        // A fresh server per case: the hint is logged once per cause.
        $this->discardServer('auth');
        $server = $this->server('auth', static fn () => new Server("auth_endpoint $endpoint"));
        $offset = $server->logSize();
        $refused = WebSocketClient::expectRejection($server->wsUrl(), ['Cookie' => $cookie], 10.0);
        self::assertSame(403, $refused->status, $refused->getMessage());

        $path = strtok($endpoint, '?');
        $warning = self::waitForLogEntry(
            $server,
            $offset,
            static fn (array $e): bool => $e['level'] === 'warn' && str_contains($e['msg'], $path) && str_contains($e['msg'], $hint),
            "a warning about $path mentioning '$hint'",
        );
        self::assertStringStartsWith('realtime: ', $warning['msg']);
        self::assertStringNotContainsString('session_start', $warning['msg'], 'the hint does not copy the body into the log');
    }

    public function testAnIdOf128BytesIsStillAUserId(): void
    {
        $server = $this->server('auth-default', static fn () => new Server(''));
        self::assertStillUsable($this->connectAs($server, str_repeat('x', 128)));
        self::assertStillUsable($this->connectAs($server, '42', ['Cookie' => 'auth_format=json']));
    }

    // ---- missing auth script (issue 9, 1b) -------------------------------------------------

    /** @return iterable<string, array{string}> what the front controller answers for the missing script */
    public static function frontControllerAnswers(): iterable
    {
        yield 'an HTML page' => ['html'];
        yield 'text/plain "intruder"' => ['text'];
        yield 'JSON {"user_id": "intruder", "allow": true}' => ['json'];
    }

    #[DataProvider('frontControllerAnswers')]
    public function testAMissingAuthScriptIsRefusedWhateverTheFrontControllerAnswers(string $fc): void
    {
        $server = $this->server('missing-auth', static fn () => new Server('auth_endpoint /login_check.php', appDir: self::fixtures('frontcontroller')));
        // The premise: php_server hands the missing script to index.php, which answers 200.
        $fallthrough = $server->http('GET', '/login_check.php', ['Cookie' => "user=1; fc=$fc"]);
        self::assertSame(200, $fallthrough->status, $fallthrough->describe());

        $offset = $server->logSize();
        $refused = WebSocketClient::expectRejection($server->wsUrl(), ['Cookie' => "user=1; fc=$fc"], 10.0);
        self::assertSame(403, $refused->status, $refused->getMessage());
        self::waitForLogEntry(
            $server,
            $offset,
            static fn (array $e): bool => $e['level'] === 'info' && $e['msg'] === 'realtime: handshake refused'
                && $e['status'] === 403 && str_contains($e['error'] ?? '', "does not exist under the site's root"),
            'the refusal, saying that /login_check.php does not exist',
        );
        self::assertStringContainsString(
            "/login_check.php does not exist under the site's root",
            implode("\n", array_column(array_filter($server->logEntries(), static fn (array $e): bool => $e['level'] === 'warn'), 'msg')),
            'a warning names the missing script',
        );
    }

    // ---- authorize answers (issue 9, 2) ----------------------------------------------------------

    /** @return iterable<string, array{string}> */
    public static function lockedChannelPrefixes(): iterable
    {
        yield 'private' => ['private-'];
        yield 'presence' => ['presence-'];
    }

    #[DataProvider('lockedChannelPrefixes')]
    public function testOnlyAJsonAllowTrueAuthorizes(string $prefix): void
    {
        $server = $this->server('authorize', static fn () => new Server('authorize_endpoint /authorize.php'));
        $client = $this->connectAs($server, 'bob');
        // authorize.php: "-page" → 200 HTML page, "-false" → 200 {"allow": false}.
        foreach (['page', 'false'] as $answer) {
            $channel = self::channel("{$prefix}x-$answer-");
            self::assertForbidden($client, $channel, "a 200 answer '$answer'");
        }
        // ... and {"allow": true} still allows (the refusals above are the answers').
        $this->subscribe($client, self::channel("{$prefix}ok-"));
    }

    #[DataProvider('frontControllerAnswers')]
    public function testAMissingAuthorizeScriptForbidsPrivateAndPresenceChannels(string $fc): void
    {
        $server = $this->server('missing-authorize', static fn () => new Server(
            "auth_endpoint /auth.php\nauthorize_endpoint /authorize.php",
            appDir: self::fixtures('frontcontroller'),
        ));
        $fallthrough = $server->postForm('/authorize.php', ['channel' => 'private-user.bob', 'user_id' => 'bob'], ['Cookie' => "fc=$fc"]);
        self::assertSame(200, $fallthrough->status, 'the premise: the front controller answers for the missing script');

        $client = $this->connectAs($server, 'bob', ['Cookie' => "fc=$fc"]);
        self::assertForbidden($client, 'private-user.bob', 'the missing authorize script');
        self::assertForbidden($client, 'presence-admins', 'the missing authorize script');
        $this->subscribe($client, self::channel('public-')); // public channels need no authorization
        // Reported once per cause: by this case or an earlier one on the same server.
        self::waitForLogEntry(
            $server,
            0,
            static fn (array $e): bool => $e['level'] === 'warn' && str_contains($e['msg'], "/authorize.php does not exist under the site's root"),
            'a warning that /authorize.php does not exist (issue 9: a missing script is reported, not served by the fallback)',
        );
    }

    private static function assertForbidden(WebSocketClient $client, string $channel, string $why): void
    {
        $reply = self::request($client, json_encode(['action' => 'subscribe', 'channel' => $channel]));
        self::assertSame(
            ['event' => 'error', 'code' => 'forbidden', 'channel' => $channel],
            ['event' => $reply['event'] ?? null, 'code' => $reply['code'] ?? null, 'channel' => $reply['channel'] ?? null],
            "subscribe to $channel with $why: " . json_encode($reply),
        );
    }
}
