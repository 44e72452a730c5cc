<?php

declare(strict_types=1);

namespace Realtime\Tests\Support;

/** A test server's port turned out to answer for another process: pick another. */
final class PortTaken extends \RuntimeException
{
}
