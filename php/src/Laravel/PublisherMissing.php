<?php

declare(strict_types=1);

namespace Realtime\Laravel;

/** Stands in for the extension when it is not loaded: publishing throws ExtensionNotLoaded. */
final class PublisherMissing implements Publisher
{
    public function trigger(array $channels, string $event, string $data, ?string $exceptSocketId = null): void
    {
        throw ExtensionNotLoaded::forPublish();
    }

    public function describe(): string
    {
        return 'realtime_trigger() (not available)';
    }
}
