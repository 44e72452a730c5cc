<?php

declare(strict_types=1);

namespace Realtime\Tests\Support;

/**
 * A private valkey-server for cluster tests: its own loopback port (reserved
 * with the same machine-wide lock files as Server, held from construction to
 * destruction so the port stays ours across kill -9 and restart), no
 * persistence, started and stopped by the test — never a server someone
 * else started.
 *
 * The port is known before start(), so a test can point nodes at it while
 * nothing listens there yet. command() speaks RESP2 over a fresh socket.
 *
 * Every wait is a bounded poll for a condition (PING answered, process gone).
 */
final class ValkeyServer
{
    /** @var resource|null */
    private $process = null;
    private int $port;
    private ?PortReservation $portLock = null;
    private string $workDir;
    private string $logFile;
    private int $starts = 0;

    public function __construct()
    {
        $dir = sys_get_temp_dir() . '/realtime-valkey-' . bin2hex(random_bytes(6));
        if (!mkdir($dir, 0700, true)) {
            throw new \RuntimeException("cannot create $dir");
        }
        $this->workDir = $dir;
        $this->logFile = "$dir/valkey.log";
        $this->portLock = PortReservation::reserve();
        $this->port = $this->portLock->port;
    }

    public static function binary(): string
    {
        $bin = getenv('VALKEY_SERVER_BIN');
        if ($bin !== false && $bin !== '') {
            return $bin;
        }
        foreach (explode(':', (string) getenv('PATH')) as $dir) {
            foreach (['valkey-server', 'redis-server'] as $name) {
                if ($dir !== '' && is_executable("$dir/$name")) {
                    return "$dir/$name";
                }
            }
        }

        return 'valkey-server';
    }

    /** Whether a valkey-server (or redis-server) binary can be found. */
    public static function available(): bool
    {
        $bin = self::binary();

        return str_contains($bin, '/') && is_executable($bin);
    }

    public function port(): int
    {
        return $this->port;
    }

    /** host:port, the form `valkey_address` and REALTIME_VALKEY_ADDRESS take. */
    public function address(): string
    {
        return "127.0.0.1:$this->port";
    }

    /** Starts (or restarts, after kill()) on the same port; returns once PING answers. */
    public function start(float $timeout = 15.0): void
    {
        if ($this->isRunning()) {
            return;
        }
        $this->closeProcess();
        ++$this->starts;
        $process = proc_open(
            [
                self::binary(),
                '--port', (string) $this->port,
                '--bind', '127.0.0.1',
                '--save', '',
                '--appendonly', 'no',
                '--dir', $this->workDir,
                '--protected-mode', 'no',
                '--daemonize', 'no',
                '--loglevel', 'notice',
            ],
            [0 => ['file', '/dev/null', 'r'], 1 => ['file', $this->logFile, 'a'], 2 => ['file', $this->logFile, 'a']],
            $pipes,
            $this->workDir,
        );
        if (!is_resource($process)) {
            throw new \RuntimeException('cannot start ' . self::binary());
        }
        $this->process = $process;

        $deadline = microtime(true) + $timeout;
        $last = '';
        while (microtime(true) < $deadline) {
            if (!$this->isRunning()) {
                throw new \RuntimeException("valkey-server exited during startup:\n" . $this->logTail());
            }
            try {
                if ($this->command(['PING'], 1.0) === 'PONG') {
                    return;
                }
            } catch (\RuntimeException $e) {
                $last = $e->getMessage();
            }
            usleep(20_000); // poll interval while the port is not yet bound
        }
        throw new \RuntimeException(sprintf("valkey-server did not answer PING within %.0fs (%s):\n%s", $timeout, $last, $this->logTail()));
    }

    /** SIGKILL, then waits (bounded) for the process to be gone; the port stays reserved. */
    public function kill(): void
    {
        if ($this->process === null) {
            return;
        }
        if ($this->isRunning()) {
            proc_terminate($this->process, 9);
        }
        if (!$this->waitForExit(10.0)) {
            throw new \RuntimeException('valkey-server survived SIGKILL for 10 s');
        }
        $this->closeProcess();
    }

    /** SIGTERM, bounded wait, then SIGKILL. Safe to call twice. */
    public function stop(): void
    {
        if ($this->process === null) {
            return;
        }
        if ($this->isRunning()) {
            proc_terminate($this->process, 15);
            if (!$this->waitForExit(5.0)) {
                proc_terminate($this->process, 9);
                $this->waitForExit(5.0);
            }
        }
        $this->closeProcess();
    }

    public function isRunning(): bool
    {
        if ($this->process === null) {
            return false;
        }

        return proc_get_status($this->process)['running'];
    }

    public function __destruct()
    {
        $this->stop();
        $this->portLock?->release();
        $this->portLock = null;
        if (getenv('REALTIME_KEEP_TEST_LOGS') === false) {
            @unlink($this->logFile);
            foreach (glob("$this->workDir/*") ?: [] as $file) {
                @unlink($file);
            }
            @rmdir($this->workDir);
        }
    }

    public function logTail(int $lines = 30): string
    {
        $text = is_file($this->logFile) ? (string) file_get_contents($this->logFile) : '';

        return implode("\n", array_slice(explode("\n", rtrim($text)), -$lines));
    }

    // ---- RESP ---------------------------------------------------------------------

    /**
     * Sends one command on a fresh connection and returns the decoded reply:
     * string for simple/bulk strings, int, null, list for arrays. An error
     * reply or a connection failure throws RuntimeException.
     *
     * @param list<string|int> $args
     */
    public function command(array $args, float $timeout = 5.0): mixed
    {
        $socket = @stream_socket_client("tcp://127.0.0.1:$this->port", $errno, $errstr, $timeout);
        if ($socket === false) {
            throw new \RuntimeException("valkey at $this->port: cannot connect: [$errno] $errstr");
        }
        try {
            stream_set_timeout($socket, (int) ceil($timeout));
            $request = '*' . count($args) . "\r\n";
            foreach ($args as $arg) {
                $arg = (string) $arg;
                $request .= '$' . strlen($arg) . "\r\n$arg\r\n";
            }
            if (@fwrite($socket, $request) !== strlen($request)) {
                throw new \RuntimeException("valkey at $this->port: write failed");
            }

            return self::readReply($socket);
        } finally {
            fclose($socket);
        }
    }

    /** PUBSUB NUMSUB of one Valkey pub/sub channel. */
    public function numsub(string $channel): int
    {
        $reply = $this->command(['PUBSUB', 'NUMSUB', $channel]);

        return (int) ($reply[1] ?? 0);
    }

    /**
     * CLIENT LIST parsed into one array of fields per connection.
     *
     * @return list<array<string, string>>
     */
    public function clients(): array
    {
        $clients = [];
        foreach (explode("\n", trim((string) $this->command(['CLIENT', 'LIST']))) as $line) {
            $fields = [];
            foreach (preg_split('/\s+/', trim($line)) ?: [] as $pair) {
                $eq = strpos($pair, '=');
                if ($eq !== false) {
                    $fields[substr($pair, 0, $eq)] = substr($pair, $eq + 1);
                }
            }
            if ($fields !== []) {
                $clients[] = $fields;
            }
        }

        return $clients;
    }

    /** @param resource $socket */
    private static function readReply($socket): mixed
    {
        $line = fgets($socket);
        if ($line === false) {
            throw new \RuntimeException('valkey: connection closed or timed out before a reply');
        }
        $type = $line[0];
        $body = substr(rtrim($line, "\r\n"), 1);
        switch ($type) {
            case '+':
                return $body;
            case '-':
                throw new \RuntimeException("valkey error reply: $body");
            case ':':
                return (int) $body;
            case '$':
                $length = (int) $body;
                if ($length < 0) {
                    return null;
                }
                $data = '';
                while (strlen($data) < $length + 2) {
                    $chunk = fread($socket, $length + 2 - strlen($data));
                    if ($chunk === false || $chunk === '') {
                        throw new \RuntimeException('valkey: bulk string cut short');
                    }
                    $data .= $chunk;
                }

                return substr($data, 0, $length);
            case '*':
                $count = (int) $body;
                if ($count < 0) {
                    return null;
                }
                $items = [];
                for ($i = 0; $i < $count; ++$i) {
                    $items[] = self::readReply($socket);
                }

                return $items;
        }
        throw new \RuntimeException('valkey: unexpected reply ' . json_encode($line));
    }

    // ---- process & port -----------------------------------------------------------

    private function waitForExit(float $timeout): bool
    {
        $deadline = microtime(true) + $timeout;
        while ($this->isRunning()) {
            if (microtime(true) >= $deadline) {
                return false;
            }
            usleep(10_000); // poll interval for process exit
        }

        return true;
    }

    private function closeProcess(): void
    {
        if ($this->process !== null) {
            proc_close($this->process);
            $this->process = null;
        }
    }

}
