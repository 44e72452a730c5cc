<?php

declare(strict_types=1);

namespace Realtime\Tests\Support;

/**
 * A loopback port nobody listens on, reserved with an flock()ed file in a
 * machine-wide directory (independent of TMPDIR) until release(), so that
 * concurrently running suites — FrankenPHP nodes and valkey-servers alike —
 * never pick the same one. The probe bind() is without SO_REUSEPORT, so it
 * also fails on a port a running Caddy holds.
 */
final class PortReservation
{
    /** @param resource $lock */
    private function __construct(public readonly int $port, private $lock)
    {
    }

    public static function reserve(): self
    {
        $dir = is_writable('/tmp') ? '/tmp/realtime-test-ports' : sys_get_temp_dir() . '/realtime-test-ports';
        if (!is_dir($dir)) {
            @mkdir($dir, 0777, true);
            @chmod($dir, 0777);
        }
        for ($i = 0; $i < 50; ++$i) {
            $port = self::unusedPort();
            $lock = @fopen("$dir/$port.lock", 'c');
            if ($lock === false) {
                continue;
            }
            if (!flock($lock, LOCK_EX | LOCK_NB)) {
                fclose($lock);
                continue;
            }
            // Re-probe under the lock: the port may have been taken meanwhile.
            $probe = @stream_socket_server("tcp://127.0.0.1:$port", $errno, $errstr);
            if ($probe === false) {
                flock($lock, LOCK_UN);
                fclose($lock);
                continue;
            }
            fclose($probe);

            return new self($port, $lock);
        }
        throw new \RuntimeException('cannot reserve a free loopback port');
    }

    /** A loopback port nothing listens on right now (not reserved). */
    public static function unusedPort(): int
    {
        $socket = stream_socket_server('tcp://127.0.0.1:0', $errno, $errstr);
        if ($socket === false) {
            throw new \RuntimeException("cannot bind a loopback port: $errstr");
        }
        $name = (string) stream_socket_get_name($socket, false);
        fclose($socket);

        return (int) substr($name, strrpos($name, ':') + 1);
    }

    public function release(): void
    {
        if ($this->lock !== null) {
            flock($this->lock, LOCK_UN);
            fclose($this->lock);
            $this->lock = null;
        }
    }
}
