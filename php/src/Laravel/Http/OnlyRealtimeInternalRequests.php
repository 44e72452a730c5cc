<?php

declare(strict_types=1);

namespace Realtime\Laravel\Http;

use Closure;
use Illuminate\Http\Request;
use Symfony\Component\HttpFoundation\Response;

/**
 * Lets through only the realtime module's own in-process calls to a path
 * endpoint (auth_endpoint, authorize_endpoint, presence_endpoint): those
 * carry a per-process secret no outside request can know, which
 * realtime_is_internal_request() checks. Anything else gets 404, as if the
 * route did not exist.
 *
 * This is what makes exempting these routes from CSRF verification safe:
 * the module's POST carries the user's cookies but no CSRF token (Laravel's
 * `web` group would answer 419), and a cross-site form posting to the same
 * URL is not an internal request.
 */
final class OnlyRealtimeInternalRequests
{
    public function handle(Request $request, Closure $next): Response
    {
        if (!function_exists('realtime_is_internal_request') || !\realtime_is_internal_request()) {
            return new Response('', Response::HTTP_NOT_FOUND);
        }

        return $next($request);
    }
}
