<?php

declare(strict_types=1);

// POST n, size, channel [, phase, rate] → n calls of broadcast() in this one
// request, so the benchmark sees what a publish costs the hub, not an HTTP
// request per message. Each message is `size` bytes (at least its header)
// starting "<phase>.<i>.<unix ns>." — the format bench/cmd/loadgen parses.
// rate 0: back to back, stamped with the send time; rate > 0: message i is
// sent at start + i/rate and stamped with that scheduled time, whatever the
// earlier calls cost (open loop, no coordinated omission).
// Answers JSON {"calls", "errors", "first_error", "seconds", "max_lag_ms"},
// seconds timed with hrtime() around the loop only.
// bench/app/mercure_publish_loop.php is the same loop around mercure_publish():
// keep the two identical but for the call.
set_time_limit(0);
$n = filter_var($_POST['n'] ?? null, FILTER_VALIDATE_INT, ['options' => ['min_range' => 0]]);
$size = filter_var($_POST['size'] ?? null, FILTER_VALIDATE_INT, ['options' => ['min_range' => 0]]);
$rate = filter_var($_POST['rate'] ?? 0, FILTER_VALIDATE_FLOAT);
$phase = (string) ($_POST['phase'] ?? '0');
$channel = (string) ($_POST['channel'] ?? '');
if ($n === false || $size === false || $rate === false || $rate < 0 || $channel === '' || !ctype_digit($phase)) {
    http_response_code(400);
    echo 'want n, size, channel (and optional phase, rate)';

    return;
}
$pad = str_repeat('x', $size);
$errors = 0;
$first = null;
$maxLag = 0;
$wall0 = (int) round(microtime(true) * 1e6) * 1000; // unix ns of $hr0
$hr0 = hrtime(true);
for ($i = 0; $i < $n; ++$i) {
    if ($rate > 0) {
        $due = (int) ($i * 1e9 / $rate);
        $wait = $due - (hrtime(true) - $hr0);
        if ($wait > 0) {
            time_nanosleep(intdiv($wait, 1_000_000_000), $wait % 1_000_000_000);
        }
        $maxLag = max($maxLag, hrtime(true) - $hr0 - $due);
        $ts = $wall0 + $due;
    } else {
        $ts = $wall0 + (hrtime(true) - $hr0);
    }
    $head = $phase . '.' . $i . '.' . $ts . '.';
    $message = strlen($head) < $size ? $head . substr($pad, strlen($head)) : $head;
    try {
        broadcast($channel, $message);
    } catch (Throwable $e) {
        ++$errors;
        $first ??= $e::class . ': ' . $e->getMessage();
    }
}
$seconds = (hrtime(true) - $hr0) / 1e9;
header('Content-Type: application/json');
echo json_encode(['calls' => $n, 'errors' => $errors, 'first_error' => $first, 'seconds' => $seconds, 'max_lag_ms' => $maxLag / 1e6]);
