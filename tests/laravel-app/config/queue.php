<?php

declare(strict_types=1);

return [
    // ShouldBroadcast events are stored in sqlite and published by
    // `frankenphp php-cli artisan queue:work`.
    'default' => env('QUEUE_CONNECTION', 'database'),
    'connections' => [
        'sync' => ['driver' => 'sync'],
        'database' => ['driver' => 'database', 'table' => 'jobs', 'queue' => 'default', 'retry_after' => 90, 'after_commit' => false],
    ],
    'failed' => ['driver' => 'null'],
];
