<?php

declare(strict_types=1);

namespace Realtime\Demo;

/**
 * The demo's signing secret (JWT and CSRF tokens).
 *
 * Nothing secret is committed: the environment variable REALTIME_DEMO_SECRET
 * wins when set; otherwise 32 random bytes are generated on first use into
 * php/var/secret.key (outside the document root, mode 0600, gitignored) and
 * reused afterwards, so logins survive restarts.
 */
final class Secret
{
    public const ENV = 'REALTIME_DEMO_SECRET';

    private static ?string $cached = null;

    public static function get(): string
    {
        return self::$cached ??= self::load();
    }

    /**
     * A 32-byte key for one purpose ("jwt", "csrf"), derived from the secret
     * so that a value signed for one use is never valid for another.
     */
    public static function key(string $purpose): string
    {
        return hash_hmac('sha256', 'realtime-demo:' . $purpose, self::get(), true);
    }

    /** Where the generated secret lives: php/var/, next to (not inside) php/public/. */
    public static function path(): string
    {
        return dirname(__DIR__, 2) . '/var/secret.key';
    }

    private static function load(): string
    {
        $env = getenv(self::ENV);
        if (is_string($env) && $env !== '') {
            if (strlen($env) < 32) {
                throw new \RuntimeException(self::ENV . ' must be at least 32 characters long');
            }
            return $env;
        }
        return self::readOrCreate(self::path());
    }

    private static function readOrCreate(string $path): string
    {
        $existing = self::read($path);
        if ($existing !== null) {
            return $existing;
        }

        $dir = dirname($path);
        if (!is_dir($dir) && !@mkdir($dir, 0700, true) && !is_dir($dir)) {
            throw new \RuntimeException("cannot create $dir; set " . self::ENV . ' instead');
        }

        // Write a complete temporary file, then publish it with link(), which
        // fails if the target exists: when several PHP threads start at once,
        // exactly one secret wins and nobody ever reads a half-written file.
        $tmp = $path . '.' . bin2hex(random_bytes(6)) . '.tmp';
        try {
            // Create empty, restrict, then write: the secret never sits in a
            // file others can read. (No umask(): it is process-wide, and this
            // process is a multi-threaded server.)
            $fh = @fopen($tmp, 'x');
            if ($fh === false || !@chmod($tmp, 0600)) {
                throw new \RuntimeException("cannot write in $dir; set " . self::ENV . ' instead');
            }
            $written = fwrite($fh, bin2hex(random_bytes(32)) . "\n");
            fclose($fh);
            if ($written !== 65) {
                throw new \RuntimeException("cannot write $tmp; set " . self::ENV . ' instead');
            }
            if (!@link($tmp, $path) && !is_file($path)) {
                // No hard links on this filesystem: fall back to rename(),
                // which is atomic too but may replace a concurrent winner.
                @rename($tmp, $path);
            }
        } finally {
            @unlink($tmp);
        }

        return self::read($path) ?? throw new \RuntimeException("cannot read $path; set " . self::ENV . ' instead');
    }

    private static function read(string $path): ?string
    {
        if (!is_file($path)) {
            return null;
        }
        $hex = trim((string) @file_get_contents($path));
        if (preg_match('/\A[0-9a-f]{64,}\z/', $hex) !== 1) {
            throw new \RuntimeException("$path is not a valid secret; delete it to generate a new one");
        }
        return (string) hex2bin($hex);
    }
}
