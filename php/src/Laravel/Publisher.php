<?php

declare(strict_types=1);

namespace Realtime\Laravel;

/** Publishes one named event, the way Laravel's broadcasters do. */
interface Publisher
{
    /**
     * @param list<string> $channels       1-100 channel names, as Laravel formats them
     * @param string       $event          the event name (broadcastAs() or the class name)
     * @param string       $data           the JSON-encoded payload, forwarded verbatim
     * @param string|null  $exceptSocketId leave this connection out (->toOthers())
     */
    public function trigger(array $channels, string $event, string $data, ?string $exceptSocketId = null): void;

    /** A short description for error messages, e.g. "realtime_trigger()". */
    public function describe(): string;
}
