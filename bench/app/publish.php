<?php

declare(strict_types=1);

// POST channel=&message= → broadcast() through the realtime extension,
// in-process (the path applications use). 204 on success.
$channel = $_POST['channel'] ?? '';
$message = $_POST['message'] ?? '';
try {
    broadcast($channel, $message);
    http_response_code(204);
} catch (Throwable $e) {
    http_response_code(500);
    echo $e::class, ': ', $e->getMessage();
}
