<?php

declare(strict_types=1);

namespace Realtime\Tests\Unit;

use PHPUnit\Framework\TestCase;
use Realtime\Tests\Support\Server;

/**
 * composer.json is what Composer users and Laravel's package discovery
 * read: `composer validate --strict` (Debian trixie's Composer, installed
 * by scripts/install-composer.sh, run on this project's PHP) must pass, and
 * the providers it announces must exist where PSR-4 says.
 */
final class ComposerJsonTest extends TestCase
{
    private const COMPOSER = '/usr/bin/composer';

    public function testComposerValidateStrict(): void
    {
        if (!is_file(self::COMPOSER)) {
            self::fail(self::COMPOSER . ' is missing: run scripts/install-composer.sh (make deps-test does)');
        }
        $php = is_executable(Server::binary()) ? [Server::binary(), 'php-cli'] : [PHP_BINARY];
        $home = sys_get_temp_dir() . '/realtime-composer-' . bin2hex(random_bytes(4));
        $process = proc_open(
            [...$php, self::COMPOSER, 'validate', '--strict', '--no-interaction', '--no-ansi', Server::root() . '/composer.json'],
            [0 => ['file', '/dev/null', 'r'], 1 => ['pipe', 'w'], 2 => ['pipe', 'w']],
            $pipes,
            Server::root(),
            [...getenv(), 'COMPOSER_HOME' => $home, 'COMPOSER_NO_INTERACTION' => '1', 'COMPOSER_DISABLE_NETWORK' => '1'],
        );
        self::assertIsResource($process);
        $out = stream_get_contents($pipes[1]) . stream_get_contents($pipes[2]);
        $code = proc_close($process);
        @rmdir($home);
        self::assertSame(0, $code, $out);
        self::assertStringContainsString('is valid', $out);
    }

    public function testLaravelProvidersAreAutoloadable(): void
    {
        $json = json_decode((string) file_get_contents(Server::root() . '/composer.json'), true, flags: JSON_THROW_ON_ERROR);
        $providers = $json['extra']['laravel']['providers'] ?? [];
        self::assertSame(['Realtime\\Laravel\\RealtimeServiceProvider'], $providers);
        foreach ($providers as $class) {
            foreach ($json['autoload']['psr-4'] as $prefix => $dir) {
                if (str_starts_with($class, $prefix)) {
                    $file = Server::root() . '/' . rtrim($dir, '/') . '/' . str_replace('\\', '/', substr($class, strlen($prefix))) . '.php';
                    self::assertFileExists($file, "$class per composer.json's PSR-4 mapping");
                    continue 2;
                }
            }
            self::fail("$class is outside composer.json's PSR-4 mappings");
        }
    }
}
