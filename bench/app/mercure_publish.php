<?php

declare(strict_types=1);

// POST channel=&message= → mercure_publish() to FrankenPHP's built-in
// Mercure hub, in-process (topic = channel, public update). 204 on success.
$channel = $_POST['channel'] ?? '';
$message = $_POST['message'] ?? '';
try {
    mercure_publish($channel, $message);
    http_response_code(204);
} catch (Throwable $e) {
    http_response_code(500);
    echo $e::class, ': ', $e->getMessage();
}
