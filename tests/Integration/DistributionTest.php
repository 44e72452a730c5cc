<?php

declare(strict_types=1);

namespace Realtime\Tests\Integration;

use Realtime\Tests\Support\PhpCli;
use Realtime\Tests\Support\RealtimeTestCase;
use Realtime\Tests\Support\Server;

/**
 * Issue 9, failing input 7 and "docs you can copy": what the binary itself
 * tells and ships. `frankenphp version` names FrankenPHP, PHP (8.4, with the
 * Debian source it was built from), this module and Caddy; every realtime
 * route serves the browser client that matches the server (GET /ws?client),
 * so binary and container users need not copy realtime.js.
 */
final class DistributionTest extends RealtimeTestCase
{
    public function testVersionNamesFrankenPhpPhpAndItsSourceTheModuleAndCaddy(): void
    {
        $out = [];
        exec(escapeshellarg(Server::requireBinary()) . ' version 2>&1', $out, $code);
        $version = implode("\n", $out);
        self::assertSame(0, $code, $version);
        self::assertMatchesRegularExpression('/\bFrankenPHP v\d+\.\d+\.\d+/', $version);
        self::assertMatchesRegularExpression('/\bPHP 8\.4\.\d+ \(Debian source [^)]+\)/', $version);
        self::assertMatchesRegularExpression('/\brealtime \S+/', $version);
        self::assertMatchesRegularExpression('/\bCaddy v2\.\d+\.\d+/', $version);
        // The PHP it names is the PHP it runs.
        [$exit, $php] = PhpCli::run('echo PHP_VERSION;');
        self::assertSame(0, $exit);
        self::assertStringContainsString("PHP $php ", $version);
    }

    public function testTheRouteServesTheBrowserClient(): void
    {
        $server = $this->server('default', static fn () => new Server(''));
        $response = $server->http('GET', '/ws?client');
        self::assertSame(200, $response->status, $response->describe());
        self::assertStringStartsWith('text/javascript', (string) $response->header('Content-Type'));
        self::assertSame(file_get_contents(Server::root() . '/client/realtime.js'), $response->body, 'the client of this source tree');
        self::assertStringContainsString('export class RealtimeClient', $response->body);
        $etag = $response->header('ETag');
        self::assertNotNull($etag, 'cacheable: an ETag');

        $again = $server->http('GET', '/ws?client', ['If-None-Match' => $etag]);
        self::assertSame(304, $again->status, $again->describe());
        self::assertSame('', $again->body);
    }
}
