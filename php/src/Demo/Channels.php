<?php

declare(strict_types=1);

namespace Realtime\Demo;

/**
 * Who may subscribe to which private-* or presence-* channel: one policy for
 * both protocols. authorize.php answers the module's question for native
 * connections; broadcasting/auth.php signs the same answer for Echo.
 *
 *   presence-lobby       every signed-in user (the online list of both tabs)
 *   private-user.<id>    only user <id>
 */
final class Channels
{
    public const LOBBY = 'presence-lobby';

    public static function allows(string $userId, string $channel): bool
    {
        return $userId !== ''
            && ($channel === self::LOBBY || $channel === 'private-user.' . $userId);
    }
}
