<?php

declare(strict_types=1);

/*
 * Pest configuration. The suites are plain PHPUnit test classes, which Pest 3
 * runs unchanged (`vendor/bin/pest -c tests/phpunit.xml`, or `composer test`).
 * This file exists so Pest finds its configuration and so Pest-style tests
 * written later share the same base case and helpers. PHPUnit never loads it
 * (it matches no *Test.php pattern).
 */

use PHPUnit\Framework\TestCase;

if (function_exists('pest')) {
    pest()->extend(TestCase::class)->in('Unit', 'Integration');
}
