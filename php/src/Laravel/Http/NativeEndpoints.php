<?php

declare(strict_types=1);

namespace Realtime\Laravel\Http;

use Illuminate\Contracts\Broadcasting\Factory as BroadcastFactory;
use Illuminate\Http\JsonResponse;
use Illuminate\Http\Request;
use Illuminate\Http\Response;
use Realtime\Laravel\FrankenPhpBroadcaster;

/**
 * The native protocol's endpoints (SPEC §3, §4) answered by Laravel: the
 * session of the connecting browser (its cookies are forwarded) names the
 * user, and the channel callbacks of routes/channels.php decide about
 * private-* and presence-* channels, exactly as for Echo.
 */
final class NativeEndpoints
{
    /** auth_endpoint: GET, 200 with the user id as text, or 401. */
    public function authenticate(Request $request): Response
    {
        $user = $request->user();
        if ($user === null) {
            return new Response('', 401);
        }
        $id = method_exists($user, 'getAuthIdentifierForBroadcasting')
            ? $user->getAuthIdentifierForBroadcasting()
            : $user->getAuthIdentifier();

        return new Response((string) $id, 200, ['Content-Type' => 'text/plain; charset=utf-8']);
    }

    /**
     * authorize_endpoint: POST channel, user_id → {"allow": true} when the
     * session's user is that user and the channel callback allows them;
     * {"allow": false} with 403 otherwise.
     */
    public function authorize(Request $request, BroadcastFactory $broadcast): JsonResponse
    {
        $user = $request->user();
        $channel = (string) $request->input('channel', '');
        if ($user === null || $channel === '') {
            return new JsonResponse(['allow' => false], 403);
        }
        $id = method_exists($user, 'getAuthIdentifierForBroadcasting')
            ? $user->getAuthIdentifierForBroadcasting()
            : $user->getAuthIdentifier();
        if ((string) $id !== (string) $request->input('user_id', '')) {
            return new JsonResponse(['allow' => false], 403);
        }
        $verdict = FrankenPhpBroadcaster::channelVerdict($broadcast->connection(), $request, $channel);

        return $verdict === false ? new JsonResponse(['allow' => false], 403) : new JsonResponse(['allow' => true]);
    }
}
