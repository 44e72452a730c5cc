<?php

declare(strict_types=1);

namespace Realtime\Tests\Integration;

use PHPUnit\Framework\Attributes\DataProvider;
use PHPUnit\Framework\TestCase;
use Realtime\Tests\Support\Server;

/**
 * The PHP API as PHP itself sees it (SPEC §5), checked through reflection in
 * `frankenphp php-cli`, i.e. in the binary that ships, not in the runner.
 *
 * The extension generator cannot declare union types; the build
 * post-processes the stub/arginfo so reflection shows int|string. These tests
 * assert the SPEC signature and fail if that step is missing.
 */
final class ExtensionSignatureTest extends TestCase
{
    /** @var array<string, mixed>|null reflection dump, computed once */
    private static ?array $signatures = null;

    /**
     * @return iterable<string, array{string, list<array{string, list<string>}>, string}>
     */
    public static function specSignatures(): iterable
    {
        yield 'broadcast(string $channel, string $message): void' => [
            'broadcast', [['channel', ['string']], ['message', ['string']]], 'void',
        ];
        yield 'broadcastToUser(int|string $userId, string $message): void' => [
            'broadcastToUser', [['userId', ['int', 'string']], ['message', ['string']]], 'void',
        ];
        yield 'getChannelUsers(string $channel): array' => [
            'getChannelUsers', [['channel', ['string']]], 'array',
        ];
        yield 'disconnectUser(int|string $userId): void' => [
            'disconnectUser', [['userId', ['int', 'string']]], 'void',
        ];
    }

    /**
     * @param list<array{string, list<string>}> $params name and the set of types
     */
    #[DataProvider('specSignatures')]
    public function testFunctionHasTheSpecSignature(string $function, array $params, string $returnType): void
    {
        $signature = self::signatures()[$function] ?? null;
        self::assertIsArray($signature, "function $function() is not defined in frankenphp php-cli");

        $actual = array_map(
            static fn (array $p): array => [$p['name'], self::typeSet($p['type'])],
            $signature['params'],
        );
        self::assertSame($params, $actual, "parameters of $function(): " . json_encode($signature['params']));
        foreach ($signature['params'] as $p) {
            self::assertFalse($p['nullable'], "\${$p['name']} of $function() must not accept null");
            self::assertFalse($p['optional'], "\${$p['name']} of $function() must be required");
            self::assertFalse($p['variadic'], "\${$p['name']} of $function() must not be variadic");
        }
        self::assertSame($returnType, $signature['return'], "return type of $function()");
    }

    /** @return iterable<string, array{string}> */
    public static function nonIntStringUserIds(): iterable
    {
        yield 'float' => ['1.5'];
        yield 'bool' => ['true'];
        yield 'null' => ['null'];
        yield 'array' => ['[42]'];
        yield 'object' => ['new stdClass()'];
    }

    /**
     * Argument types are checked before anything else, so this holds even
     * without a hub, in strict and non-strict mode alike (SPEC §5).
     */
    #[DataProvider('nonIntStringUserIds')]
    public function testUserIdThatIsNotIntOrStringIsATypeError(string $literal): void
    {
        foreach (['0', '1'] as $strict) {
            $code = "declare(strict_types=$strict);\n"
                . 'foreach (["broadcastToUser" => [' . $literal . ', "m"], "disconnectUser" => [' . $literal . ']] as $fn => $args) {'
                . ' try { $fn(...$args); echo "$fn: no exception\n"; }'
                . ' catch (Throwable $e) { echo "$fn: ", $e::class, "\n"; } }';
            $output = self::phpCli($code);
            self::assertSame(
                "broadcastToUser: TypeError\ndisconnectUser: TypeError\n",
                $output,
                "user id $literal with strict_types=$strict",
            );
        }
    }

    public function testWithoutAHubOrValkeyPublishingThrowsRuntimeException(): void
    {
        $output = self::phpCli('try { broadcast("news", "x"); echo "no exception"; }'
            . ' catch (Throwable $e) { echo $e::class, ": ", $e->getMessage(); }');
        self::assertStringStartsWith('RuntimeException: ', $output);
        self::assertMatchesRegularExpression('/hub/i', $output, 'the message says why: no hub is running');
    }

    // ---- helpers ----------------------------------------------------------------

    /** @return array<string, mixed> */
    private static function signatures(): array
    {
        if (self::$signatures !== null) {
            return self::$signatures;
        }
        $code = <<<'PHP'
            $out = [];
            foreach (['broadcast', 'broadcastToUser', 'getChannelUsers', 'disconnectUser'] as $fn) {
                if (!function_exists($fn)) {
                    continue;
                }
                $r = new ReflectionFunction($fn);
                $out[$fn] = [
                    'params' => array_map(static fn (ReflectionParameter $p): array => [
                        'name' => $p->getName(),
                        'type' => (string) $p->getType(),
                        'nullable' => $p->allowsNull(),
                        'optional' => $p->isOptional(),
                        'variadic' => $p->isVariadic(),
                    ], $r->getParameters()),
                    'return' => (string) $r->getReturnType(),
                ];
            }
            echo json_encode($out);
            PHP;
        $json = self::phpCli($code);
        $decoded = json_decode($json, true);
        self::assertIsArray($decoded, "php-cli printed no JSON: $json");

        return self::$signatures = $decoded;
    }

    /** "string|int" and "int|string" are the same type: compare sorted members. */
    private static function typeSet(string $type): array
    {
        $members = explode('|', $type);
        sort($members);

        return $members;
    }

    /** Runs `frankenphp php-cli -r $code` with no hub and no Valkey configured. */
    private static function phpCli(string $code): string
    {
        $env = getenv();
        unset($env['REALTIME_VALKEY_ADDRESS'], $env['REALTIME_PREFIX']);
        $process = proc_open(
            [Server::requireBinary(), 'php-cli', '-r', $code],
            [0 => ['file', '/dev/null', 'r'], 1 => ['pipe', 'w'], 2 => ['pipe', 'w']],
            $pipes,
            null,
            $env,
        );
        self::assertIsResource($process);
        // Output is small; reading stdout then stderr cannot deadlock here.
        $stdout = (string) stream_get_contents($pipes[1]);
        $stderr = (string) stream_get_contents($pipes[2]);
        fclose($pipes[1]);
        fclose($pipes[2]);
        $status = proc_close($process);
        self::assertSame(0, $status, "php-cli exited with $status\nstdout: $stdout\nstderr: $stderr");

        return $stdout;
    }
}
