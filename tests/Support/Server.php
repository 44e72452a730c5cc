<?php

declare(strict_types=1);

namespace Realtime\Tests\Support;

/**
 * Runs the real bin/frankenphp with a generated Caddyfile on a free loopback
 * port, for integration tests.
 *
 * Every wait is a bounded poll for a condition (port answering, process
 * gone); failures carry the tail of the server's log.
 */
final class Server
{
    /** @var resource|null */
    private $process = null;
    private int $port = 0;
    private ?int $adminPort = null;
    private string $workDir;
    private string $logFile;
    private string $appDir;
    /** Exit code once the process is gone (proc_get_status() reports it only once). */
    private ?int $exitCode = null;
    /** The signal that killed the process, if one did (a crash, not an exit). */
    private ?int $exitSignal = null;
    /** How terminate() found the process. */
    private ?string $terminated = null;
    /** Random token served at /__test-server-id, proving a port answers for THIS server. */
    private string $token;
    /** @var list<PortReservation> ports held while the server runs */
    private array $portLocks = [];
    /** @var list<int> ports of the extra sites, in the order given */
    private array $extraPorts = [];

    /**
     * @param string                $realtimeOptions body of the `realtime { ... }` block (may be empty)
     * @param string|null           $appDir          document root; default tests/fixtures/app
     * @param bool                  $withAdmin       enable Caddy's admin API on another free loopback port
     * @param string                $siteDirectives  extra directives for the site block
     * @param string                $globalOptions   extra global options
     * @param array<string, string> $env             extra environment for the server process
     * @param array<int|string, string> $extraSites  bodies of further site blocks served by the same
     *                                               process: a list entry on its own free loopback port
     *                                               (extraPort($index)); a string key is the site's
     *                                               address, with {{PORT}} for this server's port (e.g.
     *                                               'http://alpha.test:{{PORT}}', another Host on the same
     *                                               listener)
     */
    public function __construct(
        private string $realtimeOptions = '',
        ?string $appDir = null,
        private readonly bool $withAdmin = false,
        private string $siteDirectives = '',
        private readonly string $globalOptions = '',
        private readonly array $env = [],
        private readonly string $frankenphpOptions = '',
        private readonly array $extraSites = [],
    ) {
        $this->appDir = $appDir ?? self::root() . '/tests/fixtures/app';
        $dir = sys_get_temp_dir() . '/realtime-test-' . bin2hex(random_bytes(6));
        if (!mkdir($dir, 0700, true)) {
            throw new \RuntimeException("cannot create $dir");
        }
        $this->workDir = $dir;
        $this->logFile = "$dir/server.log";
        $this->token = bin2hex(random_bytes(12));
    }

    /**
     * The server's private scratch directory; fixtures see it as
     * getenv('REALTIME_TEST_DIR') and write their logs there.
     */
    public function workDir(): string
    {
        return $this->workDir;
    }

    public static function root(): string
    {
        return dirname(__DIR__, 2);
    }

    /** The binary under test: $FRANKENPHP_BIN or bin/frankenphp. */
    public static function binary(): string
    {
        $bin = getenv('FRANKENPHP_BIN');

        return $bin !== false && $bin !== '' ? $bin : self::root() . '/bin/frankenphp';
    }

    /** Fails with a clear message when the binary has not been built. */
    public static function requireBinary(): string
    {
        $bin = self::binary();
        if (!is_file($bin) || !is_executable($bin)) {
            throw new \RuntimeException("$bin not found or not executable: build it first (make build) or set FRANKENPHP_BIN");
        }

        return $bin;
    }

    public function start(float $timeout = 30.0): void
    {
        if ($this->process !== null) {
            return;
        }
        $bin = self::requireBinary();
        // A port found free can be taken before Caddy binds it; retry then.
        // Caddy binds with SO_REUSEPORT, so a port another server already
        // holds would be silently shared rather than refused: ports are
        // reserved with lock files shared by every suite on the machine, and
        // the server must then prove it alone answers (its token).
        for ($attempt = 1; ; ++$attempt) {
            $this->prepare();
            $this->launch($bin);
            try {
                $this->waitUntilServing($timeout);
                $this->verifyIdentity();

                return;
            } catch (\RuntimeException $e) {
                $retry = str_contains($this->log(), 'address already in use') || $e instanceof PortTaken;
                $this->stop();
                if (!$retry || $attempt >= 5) {
                    throw $e;
                }
            }
        }
    }

    /**
     * Launches the server and returns as soon as its port accepts a TCP
     * connection, with that connection: for tests of what a client sees
     * the moment a server starts (before PHP may be up). The caller should
     * confirmIdentity() once done with it.
     *
     * @return resource the first connection the port accepted (blocking mode)
     */
    public function startUntilAccepting(float $timeout = 30.0)
    {
        if ($this->process !== null) {
            throw new \LogicException('the server is already running');
        }
        $this->prepare();
        $this->launch(self::requireBinary());
        $deadline = microtime(true) + $timeout;
        while (true) {
            $stream = @stream_socket_client("tcp://127.0.0.1:$this->port", $errno, $errstr, 1.0);
            if ($stream !== false) {
                return $stream;
            }
            if (!$this->isRunning()) {
                throw new \RuntimeException($this->diagnose('the server exited during startup (exit code ' . ($this->exitCode ?? 'unknown') . ')'));
            }
            if (microtime(true) >= $deadline) {
                throw new \RuntimeException($this->diagnose(sprintf('port %d did not accept TCP within %.0fs (%s)', $this->port, $timeout, $errstr)));
            }
            usleep(1_000); // poll interval while the port is not yet bound: as short as is cheap
        }
    }

    /** Checks that the ports answer for this server (not another one sharing them). */
    public function confirmIdentity(): void
    {
        $this->verifyIdentity();
    }

    /** SIGTERM, bounded wait, then SIGKILL. Safe to call twice. */
    public function stop(float $timeout = 10.0): void
    {
        if ($this->process === null) {
            return;
        }
        if ($this->poll()) {
            proc_terminate($this->process, 15);
            if (!$this->waitForExit($timeout)) {
                proc_terminate($this->process, 9);
                $this->waitForExit(5.0);
            }
        }
        proc_close($this->process);
        $this->process = null;
        $this->releasePorts();
    }

    /**
     * Sends SIGTERM and returns the exit code once the process is gone, for
     * tests of graceful shutdown (close code 1001 etc.).
     */
    public function terminate(float $timeout = 10.0): ?int
    {
        if ($this->process === null) {
            return null;
        }
        proc_terminate($this->process, 15);
        $exited = $this->waitForExit($timeout);
        // Described before stop(), whose SIGKILL would mask a hang.
        $this->terminated = $exited ? $this->exitDescription() : sprintf('still running %.0fs after SIGTERM', $timeout);
        $code = $exited ? $this->exitCode : null;
        $this->stop();

        return $code;
    }

    /** How the process ended, for failure messages. */
    public function exitDescription(): string
    {
        return match (true) {
            $this->terminated !== null => $this->terminated,
            $this->exitSignal !== null => "killed by signal $this->exitSignal",
            $this->exitCode !== null => "exited with status $this->exitCode",
            $this->process !== null && $this->poll() => 'still running',
            default => 'ended, status unknown',
        };
    }

    public function isRunning(): bool
    {
        return $this->process !== null && $this->poll();
    }

    /** Exit code of the stopped process, null while it runs or if unknown. */
    public function exitCode(): ?int
    {
        return $this->exitCode;
    }

    public function __destruct()
    {
        $this->stop();
        if (getenv('REALTIME_KEEP_TEST_LOGS') === false) {
            self::removeTree($this->workDir);
        }
    }

    /** Deletes the server's work dir (Caddyfile, log, Caddy's data/config dirs). */
    private static function removeTree(string $dir): void
    {
        if (!is_dir($dir) || is_link($dir)) {
            return;
        }
        $entries = new \RecursiveIteratorIterator(
            new \RecursiveDirectoryIterator($dir, \FilesystemIterator::SKIP_DOTS),
            \RecursiveIteratorIterator::CHILD_FIRST,
        );
        foreach ($entries as $entry) {
            $entry->isDir() && !$entry->isLink() ? @rmdir($entry->getPathname()) : @unlink($entry->getPathname());
        }
        @rmdir($dir);
    }

    public function port(): int
    {
        return $this->port;
    }

    /** Port of the extra site at list index $index (constructor's $extraSites). */
    public function extraPort(int $index): int
    {
        return $this->extraPorts[$index] ?? throw new \OutOfRangeException("no extra site $index (is the server started?)");
    }

    public function url(string $path = '/'): string
    {
        return "http://127.0.0.1:$this->port" . $path;
    }

    public function wsUrl(string $path = '/ws'): string
    {
        return "ws://127.0.0.1:$this->port" . $path;
    }

    /** host:port of the admin listener (what REALTIME_ADMIN_ADDRESS names for php-cli). */
    public function adminAddress(): string
    {
        return (string) parse_url($this->adminUrl(), PHP_URL_HOST) . ':' . (string) parse_url($this->adminUrl(), PHP_URL_PORT);
    }

    public function adminUrl(string $path = '/'): string
    {
        if ($this->adminPort === null) {
            throw new \LogicException('this server was started without the admin API (withAdmin: true)');
        }

        return "http://127.0.0.1:$this->adminPort" . $path;
    }

    /**
     * @param array<string, string> $headers
     */
    public function http(string $method, string $path, array $headers = [], ?string $body = null, float $timeout = 10.0): HttpResponse
    {
        return self::request($method, str_starts_with($path, 'http') ? $path : $this->url($path), $headers, $body, $timeout);
    }

    /**
     * POSTs form fields (application/x-www-form-urlencoded).
     *
     * @param array<string, string> $fields
     * @param array<string, string> $headers
     */
    public function postForm(string $path, array $fields, array $headers = []): HttpResponse
    {
        return $this->http('POST', $path, ['Content-Type' => 'application/x-www-form-urlencoded', ...$headers], http_build_query($fields));
    }

    /**
     * @param array<string, string> $headers
     */
    public static function request(string $method, string $url, array $headers = [], ?string $body = null, float $timeout = 10.0): HttpResponse
    {
        $curl = curl_init($url);
        $responseHeaders = [];
        $lines = [];
        foreach ($headers as $name => $value) {
            $lines[] = "$name: $value";
        }
        $lines[] = 'Expect:'; // no 100-continue round trip for POST bodies
        curl_setopt_array($curl, [
            CURLOPT_CUSTOMREQUEST => $method,
            CURLOPT_RETURNTRANSFER => true,
            CURLOPT_HTTPHEADER => $lines,
            CURLOPT_TIMEOUT_MS => (int) ($timeout * 1000),
            CURLOPT_CONNECTTIMEOUT_MS => (int) (min($timeout, 5.0) * 1000),
            CURLOPT_NOPROXY => '*',
            CURLOPT_HEADERFUNCTION => static function ($handle, string $line) use (&$responseHeaders): int {
                if (str_starts_with($line, 'HTTP/')) {
                    $responseHeaders = []; // a new response (e.g. after 100 Continue)
                } elseif (str_contains($line, ':')) {
                    [$name, $value] = explode(':', $line, 2);
                    $responseHeaders[strtolower(trim($name))][] = trim($value);
                }

                return strlen($line);
            },
        ]);
        if ($body !== null) {
            curl_setopt($curl, CURLOPT_POSTFIELDS, $body);
        }
        $result = curl_exec($curl);
        if ($result === false) {
            $error = curl_error($curl);
            curl_close($curl);
            throw new \RuntimeException("$method $url failed: $error");
        }
        $status = (int) curl_getinfo($curl, CURLINFO_RESPONSE_CODE);
        curl_close($curl);

        return new HttpResponse($status, $responseHeaders, (string) $result);
    }

    public function caddyfile(?string $realtimeOptions = null, ?string $siteDirectives = null): string
    {
        $admin = $this->adminPort === null ? 'admin off' : "admin 127.0.0.1:$this->adminPort";
        $fp = trim($this->frankenphpOptions);
        $frankenphp = $fp === '' ? 'frankenphp' : "frankenphp {\n" . self::indent($fp, 1) . "\n}";
        $global = self::indent(implode("\n", array_filter([$admin, $frankenphp, 'auto_https off', trim($this->globalOptions)])), 1);
        $options = trim($realtimeOptions ?? $this->realtimeOptions);
        $realtime = $options === '' ? 'realtime' : "realtime {\n" . self::indent($options, 1) . "\n}";
        $site = self::indent(implode("\n", array_filter([
            // Caddy would listen on every address; the port reservation
            // only checks loopback, and tests need nothing else.
            'bind 127.0.0.1',
            "root * {$this->appDir}",
            "handle /__test-server-id {\n\trespond \"{$this->token}\" 200\n}",
            trim($siteDirectives ?? $this->siteDirectives),
            "handle /ws {\n" . self::indent($realtime, 1) . "\n}",
            'php_server',
        ])), 1);

        // {{PORT}} in options/directives stands for this server's own port
        // (e.g. an auth_endpoint URL pointing back at the server).
        $site = str_replace('{{PORT}}', (string) $this->port, $site);

        $extra = '';
        foreach ($this->extraSites as $key => $body) {
            // {{PORT}} in an extra site stands for the port it is served on.
            $port = is_string($key) ? $this->port : ($this->extraPorts[$key] ?? 0);
            $address = is_string($key) ? str_replace('{{PORT}}', (string) $port, $key) : "http://127.0.0.1:$port";
            $block = self::indent(implode("\n", array_filter([
                'bind 127.0.0.1',
                "handle /__test-server-id {\n\trespond \"{$this->token}\" 200\n}",
                trim(str_replace('{{PORT}}', (string) $port, $body)),
            ])), 1);
            $extra .= "\n$address {\n$block\n}\n";
        }

        // Tab-indented like `caddy fmt` output, so Caddy logs no format warning.
        return "{\n$global\n}\n\nhttp://127.0.0.1:$this->port {\n$site\n}\n$extra";
    }

    /** Prefixes every non-blank line of $text with $depth tabs; blank lines become empty. */
    private static function indent(string $text, int $depth): string
    {
        $lines = array_map(
            static fn (string $l): string => trim($l) === '' ? '' : str_repeat("\t", $depth) . rtrim($l),
            explode("\n", $text),
        );

        return implode("\n", $lines);
    }

    public function log(): string
    {
        return is_file($this->logFile) ? (string) file_get_contents($this->logFile) : '';
    }

    /** Current size of the log, to show later only what a test caused. */
    public function logSize(): int
    {
        clearstatcache(true, $this->logFile);

        return is_file($this->logFile) ? (int) filesize($this->logFile) : 0;
    }

    /** Log lines written since $offset (see logSize()), at most $lines of them. */
    public function logSince(int $offset, int $lines = 60): string
    {
        $all = explode("\n", rtrim(substr($this->log(), $offset)));

        return implode("\n", array_slice($all, -$lines));
    }

    /**
     * The server's JSON log entries written since $offset (see logSize());
     * lines that are not JSON (PHP's own output) are left out.
     *
     * @return list<array<string, mixed>>
     */
    public function logEntries(int $offset = 0): array
    {
        $entries = [];
        foreach (explode("\n", substr($this->log(), $offset)) as $line) {
            $entry = json_decode($line, true);
            if (is_array($entry)) {
                $entries[] = $entry;
            }
        }

        return $entries;
    }

    public function logTail(int $lines = 60): string
    {
        $all = explode("\n", rtrim($this->log()));

        return implode("\n", array_slice($all, -$lines));
    }

    /** A failure message with the server's configuration and recent log attached. */
    public function diagnose(string $message): string
    {
        return $message
            . "\n--- Caddyfile ---\n" . $this->caddyfile()
            . "--- server log (tail, $this->logFile) ---\n" . $this->logTail();
    }

    /** Reserves the ports and writes the Caddyfile for the next launch. */
    private function prepare(): void
    {
        $this->releasePorts();
        $this->port = $this->reserve();
        $this->adminPort = $this->withAdmin ? $this->reserve() : null;
        $this->extraPorts = [];
        foreach (array_keys($this->extraSites) as $key) {
            if (is_int($key)) {
                $this->extraPorts[$key] = $this->reserve();
            }
        }
        file_put_contents($this->caddyfilePath(), $this->caddyfile());
    }

    private function launch(string $bin): void
    {
        $env = [
            ...getenv(),
            // Keep Caddy's autosave/storage out of the user's home.
            'XDG_DATA_HOME' => "$this->workDir/data",
            'XDG_CONFIG_HOME' => "$this->workDir/config",
            'REALTIME_TEST_DIR' => $this->workDir,
            ...$this->env,
        ];
        $process = proc_open(
            [$bin, 'run', '--config', $this->caddyfilePath(), '--adapter', 'caddyfile'],
            [0 => ['file', '/dev/null', 'r'], 1 => ['file', $this->logFile, 'a'], 2 => ['file', $this->logFile, 'a']],
            $pipes,
            $this->workDir,
            $env,
        );
        if (!is_resource($process)) {
            throw new \RuntimeException("cannot start $bin");
        }
        $this->process = $process;
        $this->exitCode = null;
    }

    private function waitUntilServing(float $timeout): void
    {
        $deadline = microtime(true) + $timeout;
        $lastError = '';
        while (microtime(true) < $deadline) {
            if (!$this->isRunning()) {
                throw new \RuntimeException($this->diagnose('the server exited during startup (exit code ' . ($this->exitCode ?? 'unknown') . ')'));
            }
            try {
                self::request('GET', $this->url('/'), [], null, 1.0);

                return; // any HTTP answer means Caddy and PHP are up
            } catch (\RuntimeException $e) {
                $lastError = $e->getMessage();
            }
            usleep(50_000); // poll interval while the port is not yet bound
        }
        throw new \RuntimeException($this->diagnose(sprintf('the server did not answer HTTP within %.0fs (%s)', $timeout, $lastError)));
    }

    private function waitForExit(float $timeout): bool
    {
        $deadline = microtime(true) + $timeout;
        while ($this->poll()) {
            if (microtime(true) >= $deadline) {
                return false;
            }
            usleep(20_000); // poll interval for process exit
        }

        return true;
    }

    /** Whether the process still runs; records its exit code when it stops. */
    private function poll(): bool
    {
        if ($this->process === null) {
            return false;
        }
        $status = proc_get_status($this->process);
        if (!$status['running'] && $this->exitCode === null && $status['exitcode'] !== -1) {
            $this->exitCode = $status['exitcode'];
        }
        if (!$status['running'] && $status['signaled'] && $this->exitSignal === null) {
            $this->exitSignal = $status['termsig'];
        }

        return $status['running'];
    }

    private function caddyfilePath(): string
    {
        return "$this->workDir/Caddyfile";
    }

    private function reserve(): int
    {
        $reservation = PortReservation::reserve();
        $this->portLocks[] = $reservation;

        return $reservation->port;
    }

    private function releasePorts(): void
    {
        foreach ($this->portLocks as $reservation) {
            $reservation->release();
        }
        $this->portLocks = [];
    }

    /**
     * Several fresh connections must all reach this server (with
     * SO_REUSEPORT, a second listener would get some of them).
     */
    private function verifyIdentity(): void
    {
        for ($i = 0; $i < 8; ++$i) {
            $response = self::request('GET', $this->url('/__test-server-id'), [], null, 5.0);
            if ($response->status !== 200 || trim($response->body) !== $this->token) {
                throw new PortTaken("port $this->port answered for another server: " . $response->describe());
            }
        }
        foreach ($this->extraPorts as $port) {
            $response = self::request('GET', "http://127.0.0.1:$port/__test-server-id", [], null, 5.0);
            if ($response->status !== 200 || trim($response->body) !== $this->token) {
                throw new PortTaken("port $port answered for another server: " . $response->describe());
            }
        }
        if ($this->adminPort !== null) {
            $response = self::request('GET', $this->adminUrl('/config/'), [], null, 5.0);
            if (!str_contains($response->body, $this->token)) {
                throw new PortTaken("admin port $this->adminPort answered for another server");
            }
        }
    }

    // ---- admin API helpers (need withAdmin: true) ------------------------------

    /**
     * GET /realtime/stats on the admin API.
     *
     * @return array<string, mixed>
     */
    public function stats(): array
    {
        $response = self::request('GET', $this->adminUrl('/realtime/stats'));
        if ($response->status !== 200) {
            throw new \RuntimeException('GET /realtime/stats: ' . $response->describe());
        }

        return $response->json();
    }

    /** POST /realtime/broadcast on the admin API. */
    public function adminBroadcast(string $channel, string $message): HttpResponse
    {
        return self::request('POST', $this->adminUrl('/realtime/broadcast'), ['Content-Type' => 'application/json'],
            json_encode(['channel' => $channel, 'message' => $message], JSON_THROW_ON_ERROR));
    }

    /** Goroutines in the server process, from the admin API's pprof endpoint. */
    public function goroutines(): int
    {
        $response = self::request('GET', $this->adminUrl('/debug/pprof/goroutine?debug=1'));
        if ($response->status !== 200 || !preg_match('/^goroutine profile: total (\d+)/', $response->body, $m)) {
            throw new \RuntimeException('goroutine profile: ' . substr($response->describe(), 0, 300));
        }

        return (int) $m[1];
    }

    /** Goroutine profile (debug=1) text, for failure messages. */
    public function goroutineDump(int $maxBytes = 6000): string
    {
        try {
            return substr(self::request('GET', $this->adminUrl('/debug/pprof/goroutine?debug=1'))->body, 0, $maxBytes);
        } catch (\RuntimeException $e) {
            return $e->getMessage();
        }
    }

    /**
     * Reloads the running server with changed realtime options and/or site
     * directives, like `caddy reload`: the Caddyfile is adapted by the binary
     * and POSTed to the admin API's /load.
     */
    public function reload(?string $realtimeOptions = null, ?string $siteDirectives = null): HttpResponse
    {
        $caddyfile = $this->caddyfile($realtimeOptions, $siteDirectives);
        $json = self::adapt($caddyfile);
        $response = self::request('POST', $this->adminUrl('/load'), ['Content-Type' => 'application/json'], $json, 30.0);
        if ($response->status === 200) {
            $this->realtimeOptions = $realtimeOptions ?? $this->realtimeOptions;
            $this->siteDirectives = $siteDirectives ?? $this->siteDirectives;
            file_put_contents($this->caddyfilePath(), $caddyfile);
        }

        return $response;
    }

    /**
     * Loads $caddyfile into the running server through the admin API's
     * /load, verbatim (reload() generates it from options instead).
     */
    public function load(string $caddyfile): HttpResponse
    {
        return self::request('POST', $this->adminUrl('/load'), ['Content-Type' => 'application/json'], self::adapt($caddyfile), 30.0);
    }

    /** JSON config of a Caddyfile, through `frankenphp adapt`; throws on failure. */
    public static function adapt(string $caddyfile): string
    {
        [$code, $out, $err] = self::runTool('adapt', $caddyfile);
        if ($code !== 0) {
            throw new \RuntimeException("frankenphp adapt failed ($code): $err");
        }

        return $out;
    }

    /**
     * Runs `frankenphp <adapt|validate> --config <file> --adapter caddyfile`.
     *
     * @return array{0: int, 1: string, 2: string} exit code, stdout, stderr
     */
    public static function runTool(string $command, string $caddyfile, float $timeout = 60.0): array
    {
        $dir = sys_get_temp_dir() . '/realtime-test-' . bin2hex(random_bytes(6));
        mkdir($dir, 0700, true);
        file_put_contents("$dir/Caddyfile", $caddyfile);
        try {
            $process = proc_open(
                [self::requireBinary(), $command, '--config', "$dir/Caddyfile", '--adapter', 'caddyfile'],
                [0 => ['file', '/dev/null', 'r'], 1 => ['file', "$dir/out", 'w'], 2 => ['file', "$dir/err", 'w']],
                $pipes,
                $dir,
                [...getenv(), 'XDG_DATA_HOME' => "$dir/data", 'XDG_CONFIG_HOME' => "$dir/config"],
            );
            if (!is_resource($process)) {
                throw new \RuntimeException("cannot run frankenphp $command");
            }
            $deadline = microtime(true) + $timeout;
            $code = -1;
            while (true) {
                $status = proc_get_status($process);
                if (!$status['running']) {
                    $code = $status['exitcode'];
                    break;
                }
                if (microtime(true) > $deadline) {
                    proc_terminate($process, 9);
                    break;
                }
                usleep(20_000); // poll interval for process exit
            }
            proc_close($process);

            return [$code, (string) @file_get_contents("$dir/out"), (string) @file_get_contents("$dir/err")];
        } finally {
            self::removeTree($dir);
        }
    }

    /** Process id of the running server. */
    public function pid(): ?int
    {
        if ($this->process === null) {
            return null;
        }

        return proc_get_status($this->process)['pid'];
    }

    /** A loopback port nothing listens on right now (for "unreachable" endpoints). */
    public static function unusedPort(): int
    {
        return PortReservation::unusedPort();
    }

}
