<?php

declare(strict_types=1);

namespace Realtime\Tests\Support;

/**
 * The Laravel 10 test app of tests/laravel-app (Debian's Laravel packages,
 * scripts/install-laravel.sh) for Integration tests: the environment a
 * Server needs to serve it, and a minimal cookie-keeping client that logs
 * a user in through the app's own form (CSRF token included).
 */
final class LaravelApp
{
    public const DISABLE_FUNCTIONS = 'disable_functions broadcast,broadcasttouser,getchannelusers,disconnectuser';

    private string $runtime;

    public function __construct()
    {
        $this->runtime = sys_get_temp_dir() . '/realtime-laravel-' . bin2hex(random_bytes(6));
        if (!mkdir($this->runtime, 0700, true)) {
            throw new \RuntimeException("cannot create $this->runtime");
        }
    }

    public function __destruct()
    {
        if (getenv('REALTIME_KEEP_TEST_LOGS') !== false) {
            return;
        }
        $entries = new \RecursiveIteratorIterator(
            new \RecursiveDirectoryIterator($this->runtime, \FilesystemIterator::SKIP_DOTS),
            \RecursiveIteratorIterator::CHILD_FIRST,
        );
        foreach ($entries as $entry) {
            $entry->isDir() && !$entry->isLink() ? @rmdir($entry->getPathname()) : @unlink($entry->getPathname());
        }
        @rmdir($this->runtime);
    }

    /** Skips-free guard: the app cannot run without Laravel. */
    public static function requireLaravel(): void
    {
        if (!is_file('/usr/share/php/Illuminate/Foundation/Application.php')) {
            throw new \RuntimeException('Laravel is not installed: run scripts/install-laravel.sh');
        }
    }

    public static function publicDir(): string
    {
        return Server::root() . '/tests/laravel-app/public';
    }

    /** @return array<string, string> the server's environment (PHP reads it with env()) */
    public function env(array $more = []): array
    {
        return [
            'APP_RUNTIME_DIR' => $this->runtime,
            'APP_DEBUG' => 'true',
            'BROADCAST_DRIVER' => 'frankenphp',
            'REVERB_APP_ID' => '1',
            'REVERB_APP_KEY' => 'test-key',
            'REVERB_APP_SECRET' => 'test-secret',
            'REVERB_HOST' => '127.0.0.1',
            'REVERB_PORT' => '9',
            'REVERB_SCHEME' => 'http',
            ...$more,
        ];
    }

    public function laravelLog(): string
    {
        $file = "$this->runtime/logs/laravel.log";

        return is_file($file) ? (string) file_get_contents($file) : '';
    }

    /**
     * Logs $name in through GET/POST /login and returns the session cookie
     * and the session's CSRF token (from the Echo page's meta tag).
     *
     * @return array{cookie: string, csrf: string}
     */
    public static function logIn(Server $server, string $name): array
    {
        $jar = [];
        $form = self::get($server, '/login', $jar);
        if (!preg_match('/name="_token" value="([^"]+)"/', $form->body, $m)) {
            throw new \RuntimeException('no CSRF token on /login: ' . $form->describe());
        }
        $login = $server->http('POST', '/login', [
            'Content-Type' => 'application/x-www-form-urlencoded',
            'Cookie' => self::cookieHeader($jar),
        ], http_build_query(['_token' => $m[1], 'name' => $name]));
        self::remember($jar, $login);
        if ($login->status !== 302 || !str_ends_with((string) $login->header('location'), '/echo')) {
            throw new \RuntimeException("login of $name failed: " . $login->describe());
        }
        $page = self::get($server, '/echo', $jar);
        if ($page->status !== 200 || !preg_match('/<meta name="csrf-token" content="([^"]+)"/', $page->body, $m)) {
            throw new \RuntimeException('the Echo page did not render: ' . $page->describe());
        }

        return ['cookie' => self::cookieHeader($jar), 'csrf' => $m[1]];
    }

    /** @param array<string, string> $jar */
    private static function get(Server $server, string $path, array &$jar): HttpResponse
    {
        $response = $server->http('GET', $path, $jar === [] ? [] : ['Cookie' => self::cookieHeader($jar)]);
        self::remember($jar, $response);

        return $response;
    }

    /** @param array<string, string> $jar */
    private static function remember(array &$jar, HttpResponse $response): void
    {
        foreach ($response->headers['set-cookie'] ?? [] as $line) {
            [$pair] = explode(';', $line, 2);
            [$name, $value] = explode('=', $pair, 2) + [1 => ''];
            $jar[trim($name)] = trim($value);
        }
    }

    /** @param array<string, string> $jar */
    private static function cookieHeader(array $jar): string
    {
        return implode('; ', array_map(static fn ($k, $v) => "$k=$v", array_keys($jar), $jar));
    }
}
