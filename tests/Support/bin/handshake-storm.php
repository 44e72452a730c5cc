<?php

declare(strict_types=1);

/*
 * One process of a reconnect storm (tests/Integration/HandshakeStormTest.php).
 *
 *   frankenphp php-cli handshake-storm.php <port> <first user> <count> <in flight> <deadline seconds>
 *
 * Opens <count> WebSocket connections to ws://127.0.0.1:<port>/ws as users
 * u<first>..u<first+count-1> (cookie user=uN), with at most <in flight>
 * handshakes under way at once, each one a connection that has sent its
 * upgrade request and waits for the 101 and the `connected` frame. A 503 is
 * retried after its Retry-After, plus up to 50% jitter (as realtime.js
 * does). Non-blocking sockets and stream_select, so a few processes are a
 * storm.
 *
 * When every connection is open, or the deadline passed, prints one JSON
 * line:
 *   {"connected": n, "retries": n, "failures": [...], "seconds": s,
 *    "connect_ms": {"p50": ..., "p99": ..., "max": ...}}
 * (connect_ms: from a user's first attempt to its `connected` frame), then
 * holds the connections open until stdin is closed.
 */

[, $port, $first, $count, $inFlight, $deadlineSeconds] = array_map('intval', $argv) + [0, 0, 0, 0, 0, 0];
if ($port <= 0 || $count <= 0 || $inFlight <= 0) {
    fwrite(STDERR, "usage: handshake-storm.php <port> <first user> <count> <in flight> <deadline seconds>\n");
    exit(2);
}

$started = microtime(true);
$deadline = $started + $deadlineSeconds;
// Attempts to make, earliest first: [time, user].
$queue = new SplMinHeap();
for ($i = 0; $i < $count; ++$i) {
    $queue->insert([$started, 'u' . ($first + $i)]);
}
$firstAttempt = [];   // user => time of the first attempt
$active = [];         // socket id => ['socket', 'user', 'buffer', 'head' => ?int status]
$open = [];           // the established connections, held
$connectMs = [];
$retries = 0;
$failures = [];

$start = static function (string $user) use ($port, &$active, &$firstAttempt, &$failures): void {
    $firstAttempt[$user] ??= microtime(true);
    $socket = @stream_socket_client("tcp://127.0.0.1:$port", $errno, $errstr, 5.0);
    if ($socket === false) {
        $failures[] = "$user: cannot connect: $errstr";

        return;
    }
    stream_set_blocking($socket, false);
    $key = base64_encode(random_bytes(16));
    fwrite($socket, "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:$port\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        . "Sec-WebSocket-Key: $key\r\nSec-WebSocket-Version: 13\r\nCookie: user=$user\r\n\r\n");
    $active[(int) $socket] = ['socket' => $socket, 'user' => $user, 'buffer' => '', 'status' => null];
};

while ((count($open) + count($failures) < $count) && microtime(true) < $deadline) {
    $now = microtime(true);
    while (count($active) < $inFlight && !$queue->isEmpty() && $queue->top()[0] <= $now) {
        $start($queue->extract()[1]);
    }
    $wait = $queue->isEmpty() ? 0.2 : max(0.0, min(0.2, $queue->top()[0] - microtime(true)));
    if ($active === []) {
        usleep((int) ($wait * 1e6) + 1000); // nothing in flight: wait for the next scheduled retry

        continue;
    }
    $read = array_column($active, 'socket');
    $write = $except = null;
    if (@stream_select($read, $write, $except, 0, (int) ($wait * 1e6) + 1000) < 1) {
        continue;
    }
    foreach ($read as $socket) {
        $id = (int) $socket;
        $c = &$active[$id];
        $chunk = (string) fread($socket, 65536);
        $c['buffer'] .= $chunk;
        if ($c['status'] === null && ($end = strpos($c['buffer'], "\r\n\r\n")) !== false) {
            $head = substr($c['buffer'], 0, $end);
            $c['buffer'] = (string) substr($c['buffer'], $end + 4);
            $c['status'] = preg_match('#^HTTP/1\.1 (\d{3})#', $head, $m) ? (int) $m[1] : 0;
            if ($c['status'] === 503) {
                $retryAfter = preg_match('/^Retry-After:\s*(\d+)/mi', $head, $r) ? (int) $r[1] : 1;
                $queue->insert([microtime(true) + $retryAfter * (1 + random_int(0, 500) / 1000), $c['user']]);
                ++$retries;
            } elseif ($c['status'] !== 101) {
                $failures[] = "{$c['user']}: HTTP {$c['status']}: " . substr(strtok($head, "\r\n") ?: '', 0, 100);
            }
            if ($c['status'] !== 101) {
                fclose($socket);
                unset($active[$id], $c);

                continue;
            }
        }
        if ($c['status'] === 101 && strlen($c['buffer']) >= 2) {
            // The `connected` frame: a short unmasked text frame.
            $length = ord($c['buffer'][1]) & 0x7f;
            $offset = 2;
            if ($length === 126 && strlen($c['buffer']) >= 4) {
                $length = unpack('n', substr($c['buffer'], 2, 2))[1];
                $offset = 4;
            }
            if ($length !== 126 && strlen($c['buffer']) >= $offset + $length) {
                $frame = json_decode(substr($c['buffer'], $offset, $length), true);
                if (($frame['event'] ?? null) === 'connected' && ($frame['user_id'] ?? null) === $c['user']) {
                    $open[] = $socket;
                    $connectMs[] = (microtime(true) - $firstAttempt[$c['user']]) * 1000;
                } else {
                    $failures[] = "{$c['user']}: first frame " . substr($c['buffer'], $offset, 200);
                    fclose($socket);
                }
                unset($active[$id], $c);

                continue;
            }
        }
        if ($chunk === '' && feof($socket)) {
            $failures[] = "{$c['user']}: connection closed during the handshake (status " . var_export($c['status'], true) . ')';
            fclose($socket);
            unset($active[$id], $c);
        }
        unset($c);
    }
}
foreach ($active as $c) {
    $failures[] = "{$c['user']}: still waiting at the deadline (status " . var_export($c['status'], true) . ')';
}
foreach ($queue as [, $user]) {
    $failures[] = "$user: not connected at the deadline (retry pending)";
}

sort($connectMs);
$pick = static fn (float $q): ?float => $connectMs === [] ? null : round($connectMs[min(count($connectMs) - 1, (int) floor($q * count($connectMs)))], 1);
echo json_encode([
    'connected' => count($open),
    'retries' => $retries,
    'failures' => array_slice($failures, 0, 20),
    'failure_count' => count($failures),
    'seconds' => round(microtime(true) - $started, 3),
    'connect_ms' => ['p50' => $pick(0.5), 'p99' => $pick(0.99), 'max' => $connectMs === [] ? null : round(end($connectMs), 1)],
]), "\n";

// Hold the connections until the test closes our stdin.
while (!feof(STDIN)) {
    fread(STDIN, 1024);
}
