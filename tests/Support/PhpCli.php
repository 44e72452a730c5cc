<?php

declare(strict_types=1);

namespace Realtime\Tests\Support;

/**
 * Runs PHP code in `bin/frankenphp php-cli -r` (what queue workers and cron
 * jobs run), with none of the test runner's REALTIME_* variables unless
 * given in $env.
 */
final class PhpCli
{
    /**
     * @param array<string, string> $env
     *
     * @return array{0: int, 1: string, 2: string} exit code, stdout, stderr
     */
    public static function run(string $code, array $env = [], float $timeout = 30.0): array
    {
        $base = array_filter(getenv(), static fn (string $k): bool => !str_starts_with($k, 'REALTIME_'), ARRAY_FILTER_USE_KEY);
        $dir = sys_get_temp_dir() . '/realtime-cli-' . bin2hex(random_bytes(6));
        mkdir($dir, 0700, true);
        try {
            $process = proc_open(
                [Server::requireBinary(), 'php-cli', '-r', $code],
                [0 => ['file', '/dev/null', 'r'], 1 => ['file', "$dir/out", 'w'], 2 => ['file', "$dir/err", 'w']],
                $pipes,
                $dir,
                [...$base, 'XDG_DATA_HOME' => "$dir/data", 'XDG_CONFIG_HOME' => "$dir/config", ...$env],
            );
            if (!is_resource($process)) {
                throw new \RuntimeException('cannot start php-cli');
            }
            $deadline = microtime(true) + $timeout;
            while (true) {
                $status = proc_get_status($process);
                if (!$status['running']) {
                    $exit = $status['exitcode'];
                    break;
                }
                if (microtime(true) > $deadline) {
                    proc_terminate($process, 9);
                    proc_close($process);
                    throw new \RuntimeException(sprintf("php-cli did not finish within %.0fs:\n%s\n%s", $timeout, @file_get_contents("$dir/out"), @file_get_contents("$dir/err")));
                }
                usleep(10_000); // poll interval for process exit
            }
            proc_close($process);

            return [$exit, (string) @file_get_contents("$dir/out"), (string) @file_get_contents("$dir/err")];
        } finally {
            @unlink("$dir/out");
            @unlink("$dir/err");
            @rmdir($dir);
        }
    }

    /**
     * Runs each [function, args] call in one php-cli process and returns one
     * result per call: ['ok' => return value] or ['class' => ..., 'message' => ...],
     * each with the call's 'seconds'. Fails (RuntimeException) when the
     * process does not print one JSON line per call.
     *
     * @param list<array{0: string, 1: list<mixed>}> $calls
     * @param array<string, string>                  $env
     *
     * @return list<array<string, mixed>>
     */
    public static function calls(array $calls, array $env = []): array
    {
        $code = '$calls = json_decode(' . var_export(json_encode($calls, JSON_THROW_ON_ERROR), true) . ', true);'
            . 'foreach ($calls as [$fn, $args]) {'
            . '  $t = microtime(true);'
            . '  try { $r = $fn(...$args); echo json_encode(["ok" => $r, "seconds" => microtime(true) - $t]), "\n"; }'
            . '  catch (Throwable $e) { echo json_encode(["class" => $e::class, "message" => $e->getMessage(), "seconds" => microtime(true) - $t]), "\n"; }'
            . '}';
        [$exit, $out, $err] = self::run($code, $env);
        $lines = array_values(array_filter(explode("\n", trim($out)), static fn (string $l): bool => $l !== ''));
        if ($exit !== 0 || count($lines) !== count($calls)) {
            throw new \RuntimeException("php-cli exited $exit with " . count($lines) . ' line(s) for ' . count($calls) . " call(s); stdout:\n$out\nstderr:\n$err");
        }

        return array_map(static fn (string $l): array => json_decode($l, true, 8, JSON_THROW_ON_ERROR), $lines);
    }
}
