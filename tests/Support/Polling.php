<?php

declare(strict_types=1);

namespace Realtime\Tests\Support;

/** Bounded polling for conditions: the suites' only way to wait. */
trait Polling
{
    /**
     * Polls $condition until it returns something other than false/null,
     * and returns that; fails with $what (and $describe()'s diagnosis) after
     * $timeout.
     *
     * @template T
     *
     * @param callable(): (T|false|null) $condition
     *
     * @return T
     */
    protected static function poll(callable $condition, float $timeout, string $what, ?callable $describe = null): mixed
    {
        $deadline = microtime(true) + $timeout;
        $interval = 5_000;
        while (true) {
            $value = $condition();
            if ($value !== false && $value !== null) {
                return $value;
            }
            if (microtime(true) >= $deadline) {
                self::fail(sprintf('timed out after %.1fs waiting for %s%s', $timeout, $what, $describe === null ? '' : ': ' . $describe()));
            }
            usleep($interval); // poll interval, not a synchronisation sleep
            $interval = min(50_000, $interval * 2);
        }
    }
}
