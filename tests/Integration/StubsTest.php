<?php

declare(strict_types=1);

namespace Realtime\Tests\Integration;

use PHPUnit\Framework\Attributes\DataProvider;
use PHPUnit\Framework\TestCase;
use Realtime\Tests\Support\Server;

/**
 * stubs/realtime.php must declare exactly what the extension exposes, so
 * IDEs and static analysers see the real signatures. The suite runs under
 * `frankenphp php-cli`, where the extension is loaded; the stubs are parsed,
 * never included (they would redeclare the native functions).
 */
final class StubsTest extends TestCase
{
    /** @return array<string, array{string, string}> function name => [parameters, return type] */
    private static function stubSignatures(): array
    {
        $source = file_get_contents(Server::root() . '/stubs/realtime.php');
        preg_match_all('/^function (\w+)\(([^)]*)\): (\w+) \{\}$/m', $source, $m, PREG_SET_ORDER);
        $signatures = [];
        foreach ($m as [, $name, $params, $return]) {
            $signatures[$name] = [$params, $return];
        }

        return $signatures;
    }

    /** @return iterable<string, array{string}> */
    public static function functions(): iterable
    {
        foreach (array_keys(self::stubSignatures()) as $name) {
            yield $name => [$name];
        }
    }

    public function testStubsCoverEveryFunctionOfTheExtension(): void
    {
        $native = (new \ReflectionExtension('realtime'))->getFunctions();
        $names = array_map(static fn (\ReflectionFunction $f): string => $f->getName(), $native);
        $stubbed = array_keys(self::stubSignatures());
        sort($names);
        sort($stubbed);
        self::assertSame($names, $stubbed);
    }

    #[DataProvider('functions')]
    public function testStubMatchesReflection(string $name): void
    {
        [$params, $return] = self::stubSignatures()[$name];
        $fn = new \ReflectionFunction($name);
        $actual = implode(', ', array_map(
            static fn (\ReflectionParameter $p): string => self::normalizeType((string) $p->getType()) . ' $' . $p->getName(),
            $fn->getParameters(),
        ));
        $declared = implode(', ', array_map(static function (string $param): string {
            [$type, $var] = preg_split('/\s+/', trim($param));

            return self::normalizeType($type) . ' ' . $var;
        }, $params === '' ? [] : explode(',', $params)));

        self::assertSame($declared, $actual, "parameters of $name");
        self::assertSame($return, (string) $fn->getReturnType(), "return type of $name");
    }

    /** Union members in a stable order: reflection prints string|int for int|string. */
    private static function normalizeType(string $type): string
    {
        $parts = explode('|', $type);
        sort($parts);

        return implode('|', $parts);
    }
}
