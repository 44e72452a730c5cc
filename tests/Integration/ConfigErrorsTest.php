<?php

declare(strict_types=1);

namespace Realtime\Tests\Integration;

use PHPUnit\Framework\Attributes\DataProvider;
use PHPUnit\Framework\TestCase;
use Realtime\Tests\Support\Server;

/**
 * Issue 9, failing input 7, and issue 14's endpoint options: configuration
 * mistakes fail early and say where. Driver, origin and endpoint forms and
 * misspelt option names fail when the Caddyfile is parsed (`adapt`, no
 * provisioning) with the Caddyfile line, and a "did you mean" where a typo
 * is likely; a presence_endpoint URL without endpoint_secret fails
 * `validate`.
 */
final class ConfigErrorsTest extends TestCase
{
    /** Line of the Caddyfile that holds the option under test. */
    private const OPTION_LINE = 11;

    private static function caddyfile(string $option): string
    {
        $root = Server::root() . '/tests/fixtures/app';

        // The option is on line OPTION_LINE.
        return "{\n\tadmin off\n\tfrankenphp\n\tauto_https off\n}\n\nhttp://127.0.0.1:1 {\n\troot * $root\n\thandle /ws {\n\t\trealtime {\n\t\t\t$option\n\t\t}\n\t}\n\tphp_server\n}\n";
    }

    /** @return iterable<string, array{string, string}> option line, what the error must say */
    public static function parseErrors(): iterable
    {
        yield 'misspelt driver' => ['driver valky', "did you mean 'valkey'?"];
        yield 'unknown driver' => ['driver postgres', "unknown driver 'postgres'"];
        yield 'misspelt option' => ['auth_endpont /auth.php', "did you mean 'auth_endpoint'?"];
        yield 'misspelt origins option' => ['allowed_origin https://a.example', "did you mean 'allowed_origins'?"];
        yield 'origin with a path' => ['allowed_origins https://a.example/app', 'allowed_origins'];
        yield 'origin of another scheme' => ['allowed_origins ftp://a.example', 'allowed_origins'];
        yield 'relative endpoint' => ['auth_endpoint auth.php', 'auth_endpoint'];
        yield 'endpoint URL without host' => ['authorize_endpoint http://', 'authorize_endpoint'];
        yield 'short endpoint_secret' => ['endpoint_secret short', 'endpoint_secret'];
        yield 'endpoint_concurrency 0' => ['endpoint_concurrency 0', 'endpoint_concurrency'];
    }

    #[DataProvider('parseErrors')]
    public function testAMistakeFailsAtParseTimeWithItsLine(string $option, string $says): void
    {
        [$code, $out, $err] = Server::runTool('adapt', self::caddyfile($option));
        self::assertNotSame(0, $code, "adapt must fail for '$option'; stdout: $out");
        self::assertStringContainsString($says, $err);
        self::assertStringContainsString('Caddyfile:' . self::OPTION_LINE, $err, 'the error names the Caddyfile line');
        self::assertLessThan(400, strlen(self::errorMessage($err)), 'a short message: ' . self::errorMessage($err));
    }

    public function testValidateReportsTheMisspeltDriverWithItsLine(): void
    {
        [$code, , $err] = Server::runTool('validate', self::caddyfile('driver valky'));
        self::assertNotSame(0, $code);
        self::assertStringContainsString("did you mean 'valkey'?", $err);
        self::assertStringContainsString('Caddyfile:' . self::OPTION_LINE, $err);
    }

    public function testAPresenceEndpointUrlNeedsAnEndpointSecret(): void
    {
        $url = 'presence_endpoint http://127.0.0.1:9/presence.php';
        [$code, , $err] = Server::runTool('validate', self::caddyfile($url));
        self::assertNotSame(0, $code, 'a presence_endpoint URL without endpoint_secret must not validate');
        self::assertStringContainsString('endpoint_secret', $err);

        [$code, $out, $err] = Server::runTool('validate', self::caddyfile("$url\n\t\t\tendpoint_secret 0123456789abcdef0123"));
        self::assertSame(0, $code, "with endpoint_secret it validates; stdout: $out\nstderr: $err");
        // A path endpoint is called in-process and needs no secret.
        [$code, $out, $err] = Server::runTool('validate', self::caddyfile('presence_endpoint /presence.php'));
        self::assertSame(0, $code, "stdout: $out\nstderr: $err");
    }

    /** The "msg" of Caddy's JSON error line, or the whole output. */
    private static function errorMessage(string $err): string
    {
        foreach (explode("\n", $err) as $line) {
            $entry = json_decode($line, true);
            if (is_array($entry) && ($entry['level'] ?? '') === 'error') {
                return (string) $entry['msg'];
            }
        }

        return $err;
    }
}
