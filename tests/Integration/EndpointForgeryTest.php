<?php

declare(strict_types=1);

namespace Realtime\Tests\Integration;

use Realtime\Tests\Support\PhpCli;
use Realtime\Tests\Support\RealtimeTestCase;
use Realtime\Tests\Support\Server;

/**
 * Issue 14 (SPEC §2): endpoint calls cannot be forged from outside.
 *
 * Path endpoints: realtime_is_internal_request() is true only inside the
 * module's own in-process call (auth, authorize, presence hook) and false
 * for any outside request, whatever X-Realtime-Internal header it makes up
 * or replays. URL endpoints: with endpoint_secret every call carries
 *   X-Realtime-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<METHOD>.<path?query>.<body>")>
 */
final class EndpointForgeryTest extends RealtimeTestCase
{
    private const SECRET = 'test-secret-0123456789abcdef';

    private function internalServer(): Server
    {
        return $this->server('internal', static fn () => new Server(implode("\n", [
            'auth_endpoint /internal.php?role=auth',
            'authorize_endpoint /internal.php?role=authorize',
            'presence_endpoint /internal.php?role=presence',
        ])));
    }

    /** @return list<array<string, mixed>> internal.php's records with the probe $probe */
    private static function seen(Server $server, string $probe): array
    {
        return array_values(array_filter(self::fixtureLog($server, 'internal.jsonl'), static fn (array $e): bool => $e['probe'] === $probe));
    }

    public function testTheModulesOwnCallsAreInternal(): void
    {
        $server = $this->internalServer();
        $probe = bin2hex(random_bytes(6));
        $channel = self::channel('presence-');
        // internal.php answers outsiders 404: connecting and subscribing already prove it.
        $client = $this->connectAs($server, 'alice', ['Cookie' => "probe=$probe"]);
        $this->subscribe($client, $channel);
        $calls = self::poll(
            static function () use ($server, $probe, $channel): ?array {
                $calls = [];
                foreach (self::fixtureLog($server, 'internal.jsonl') as $e) {
                    if ($e['probe'] === $probe || ($e['post']['channel'] ?? null) === $channel) {
                        $calls[$e['role']] ??= $e;
                    }
                }

                return count($calls) === 3 ? $calls : null;
            },
            10.0,
            'the auth call, the authorize call and the presence hook',
            static fn (): string => json_encode(self::fixtureLog($server, 'internal.jsonl')),
        );
        foreach ($calls as $role => $call) {
            self::assertTrue($call['internal'], "the module's own $role call: " . json_encode($call));
        }
    }

    public function testAnOutsideRequestIsNeverInternalWhateverHeaderItSends(): void
    {
        $server = $this->internalServer();
        // A token of a real call, replayed once that call is over (it leaked, e.g. into an error page).
        $probe = bin2hex(random_bytes(6));
        $this->connectAs($server, 'alice', ['Cookie' => "probe=$probe"]);
        $leaked = self::seen($server, $probe)[0]['header'] ?? null;
        self::assertIsString($leaked, 'the in-process call carried a token');

        $forgeries = [
            'no header' => null,
            'made up, of the right form' => bin2hex(random_bytes(24)),
            'a leaked token, replayed after its call' => $leaked,
            '"1"' => '1',
            '"true"' => 'true',
        ];
        foreach ($forgeries as $what => $header) {
            $probe = bin2hex(random_bytes(6));
            $headers = ['Cookie' => 'user=mallory', 'X-Probe' => $probe] + ($header === null ? [] : ['X-Realtime-Internal' => $header]);
            $auth = $server->http('GET', '/internal.php?role=auth', $headers);
            self::assertSame(404, $auth->status, "auth call forged with $what: " . $auth->describe());
            $hook = $server->postForm('/internal.php?role=presence', ['event' => 'join', 'channel' => 'presence-admins', 'user_id' => 'mallory', 'timestamp' => (string) time()], $headers);
            self::assertSame(404, $hook->status, "presence hook forged with $what: " . $hook->describe());
            $seen = self::seen($server, $probe);
            self::assertCount(2, $seen);
            foreach ($seen as $request) {
                self::assertFalse($request['internal'], "$what: " . json_encode($request));
            }
        }
    }

    public function testPhpCliIsNotAnInternalRequest(): void
    {
        [$exit, $out, $err] = PhpCli::run('var_export(realtime_is_internal_request());');
        self::assertSame(0, $exit, $err);
        self::assertSame('false', $out);
    }

    // ---- URL endpoints: X-Realtime-Signature --------------------------------------------------

    public function testUrlEndpointCallsAreSignedWithTheEndpointSecret(): void
    {
        $server = $this->server('signed', static fn () => new Server(implode("\n", [
            'auth_endpoint http://127.0.0.1:{{PORT}}/signed.php?role=auth',
            'authorize_endpoint http://127.0.0.1:{{PORT}}/signed.php?role=authorize',
            'presence_endpoint http://127.0.0.1:{{PORT}}/signed.php?role=presence',
            'endpoint_secret ' . self::SECRET,
        ])));
        $client = $this->connectAs($server, 'alice');
        $this->subscribe($client, self::channel('presence-'));
        $calls = self::poll(
            static fn (): ?array => count($c = self::fixtureLog($server, 'signed.jsonl')) >= 3 ? $c : null,
            10.0,
            'the auth, authorize and presence calls',
            static fn (): string => json_encode(self::fixtureLog($server, 'signed.jsonl')),
        );
        self::assertSame(['auth', 'authorize', 'presence'], array_column($calls, 'role'));
        foreach ($calls as $call) {
            self::assertSignedBy(self::SECRET, $call);
        }
        // The check above would catch a signature over anything else.
        $tampered = ['body' => $calls[1]['body'] . '&user_id=mallory'] + $calls[1];
        self::assertFalse(self::signatureValid(self::SECRET, $tampered), 'a changed body no longer verifies');
        self::assertFalse(self::signatureValid('another-secret-0123456789', $calls[1]), 'another secret does not verify');
    }

    public function testWithoutEndpointSecretUrlCallsAreUnsigned(): void
    {
        $server = $this->server('unsigned', static fn () => new Server('auth_endpoint http://127.0.0.1:{{PORT}}/signed.php?role=auth'));
        $this->connectAs($server, 'bob');
        $calls = self::fixtureLog($server, 'signed.jsonl');
        self::assertCount(1, $calls);
        self::assertNull($calls[0]['signature']);
    }

    /** @param array<string, mixed> $call a signed.jsonl record */
    private static function assertSignedBy(string $secret, array $call): void
    {
        self::assertIsString($call['signature'], 'X-Realtime-Signature is present: ' . json_encode($call));
        self::assertMatchesRegularExpression('/^t=\d+,v1=[0-9a-f]{64}$/', $call['signature']);
        preg_match('/^t=(\d+),/', $call['signature'], $m);
        self::assertLessThanOrEqual(60, abs((int) $m[1] - $call['received_at']), 't is the time of the call');
        self::assertTrue(self::signatureValid($secret, $call), 'the signature verifies: ' . json_encode($call));
    }

    /** What an endpoint does: recompute v1 over the request received, compare in constant time. */
    private static function signatureValid(string $secret, array $call): bool
    {
        if (!preg_match('/^t=(\d+),v1=([0-9a-f]{64})$/', (string) $call['signature'], $m)) {
            return false;
        }
        $expected = hash_hmac('sha256', "{$m[1]}.{$call['method']}.{$call['target']}.{$call['body']}", $secret);

        return hash_equals($expected, $m[2]);
    }
}
