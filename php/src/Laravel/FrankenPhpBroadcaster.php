<?php

declare(strict_types=1);

namespace Realtime\Laravel;

use Illuminate\Broadcasting\BroadcastException;
use Illuminate\Broadcasting\Broadcasters\Broadcaster;
use Illuminate\Broadcasting\Broadcasters\UsePusherChannelConventions;
use Illuminate\Http\Request;
use Illuminate\Support\Arr;
use InvalidArgumentException;
use Symfony\Component\HttpKernel\Exception\AccessDeniedHttpException;
use Symfony\Component\HttpKernel\Exception\BadRequestHttpException;
use Throwable;

/**
 * Laravel's `frankenphp` broadcast driver: publishes through the realtime
 * extension in the same process (realtime_trigger(), no HTTP round trip)
 * and answers /broadcasting/auth and /broadcasting/user-auth with
 * Pusher-compatible signatures, so Laravel Echo's `reverb` or `pusher`
 * broadcaster connects to the FrankenPHP server unchanged.
 *
 * The same class, built with the package's HTTP API client as its
 * publisher, serves the `reverb` and `pusher` drivers when the Pusher PHP
 * SDK is not installed (see RealtimeServiceProvider).
 */
class FrankenPhpBroadcaster extends Broadcaster
{
    use UsePusherChannelConventions;

    /** Pusher's limit of channels per event; Laravel chunks the same way. */
    private const CHANNELS_PER_EVENT = 100;

    public function __construct(
        private readonly PusherSignatures $signatures,
        private readonly Publisher $publisher,
    ) {
    }

    /**
     * Builds the driver from a broadcasting connection's settings: the
     * `reverb`/`pusher` shape (key, secret, app_id, options), plus
     * `http_fallback` (publish over the HTTP API when the extension is not
     * loaded) and `transport` ("extension", the default, or "http").
     *
     * @param array<string, mixed> $config
     */
    public static function fromConfig(array $config): self
    {
        $signatures = self::signaturesFrom($config);
        $transport = (string) ($config['transport'] ?? 'extension');
        $publisher = match (true) {
            $transport === 'http' => HttpApiClient::fromConfig($config, $signatures),
            $transport !== 'extension' => throw new InvalidArgumentException("broadcasting connection: transport must be \"extension\" or \"http\", not \"$transport\""),
            ExtensionPublisher::available() => new ExtensionPublisher(),
            filter_var($config['http_fallback'] ?? false, FILTER_VALIDATE_BOOL) => HttpApiClient::fromConfig($config, $signatures),
            default => new PublisherMissing(),
        };

        return new self($signatures, $publisher);
    }

    /**
     * The driver over the Pusher HTTP API only (what `reverb`/`pusher`
     * connections get when the Pusher PHP SDK is missing).
     *
     * @param array<string, mixed> $config
     */
    public static function overHttp(array $config): self
    {
        $signatures = self::signaturesFrom($config);

        return new self($signatures, HttpApiClient::fromConfig($config, $signatures));
    }

    /** @param array<string, mixed> $config */
    private static function signaturesFrom(array $config): PusherSignatures
    {
        $options = (array) ($config['options'] ?? []);

        return new PusherSignatures(
            (string) ($config['key'] ?? ''),
            (string) ($config['secret'] ?? ''),
            isset($options['encryption_master_key_base64']) ? (string) $options['encryption_master_key_base64'] : null,
        );
    }

    public function publisher(): Publisher
    {
        return $this->publisher;
    }

    public function signatures(): PusherSignatures
    {
        return $this->signatures;
    }

    /**
     * Authenticates a /broadcasting/auth request: the channel callback of
     * routes/channels.php decides, as with Laravel's Pusher broadcaster.
     *
     * @param Request $request
     */
    public function auth($request)
    {
        $channelName = $this->normalizeChannelName((string) $request->channel_name);

        if (empty($request->channel_name)
            || ($this->isGuardedChannel($request->channel_name) && !$this->retrieveUser($request, $channelName))) {
            throw new AccessDeniedHttpException();
        }

        return parent::verifyUserCanAccessChannel($request, $channelName);
    }

    /**
     * {"auth":"key:sig"} for private channels (plus "shared_secret" for
     * private-encrypted-*), {"auth","channel_data"} for presence channels.
     *
     * @param Request $request
     * @param mixed   $result  what the channel callback returned (presence: the user info)
     */
    public function validAuthenticationResponse($request, $result)
    {
        $channel = (string) $request->channel_name;
        $socketId = (string) $request->socket_id;
        try {
            if (str_starts_with($channel, 'private')) {
                return $this->respond($request, $this->signatures->authorizeChannel($channel, $socketId));
            }
            $user = $this->retrieveUser($request, $this->normalizeChannelName($channel));
            $id = method_exists($user, 'getAuthIdentifierForBroadcasting')
                ? $user->getAuthIdentifierForBroadcasting()
                : $user->getAuthIdentifier();

            return $this->respond($request, $this->signatures->authorizePresenceChannel($channel, $socketId, $id, $result));
        } catch (InvalidArgumentException $e) {
            throw new BadRequestHttpException($e->getMessage(), $e);
        }
    }

    /**
     * /broadcasting/user-auth (pusher:signin): {"auth","user_data"} for the
     * user data Broadcast::resolveAuthenticatedUserUsing() returns.
     *
     * @param Request $request
     */
    public function resolveAuthenticatedUser($request)
    {
        if (!$user = parent::resolveAuthenticatedUser($request)) {
            return null;
        }
        try {
            return $this->signatures->authenticateUser((string) $request->socket_id, $user);
        } catch (InvalidArgumentException $e) {
            throw new BadRequestHttpException($e->getMessage(), $e);
        }
    }

    /**
     * Publishes one event to its channels: in-process through
     * realtime_trigger() (or the HTTP API client), JSON-encoded payload,
     * the `socket` Laravel put in the payload for ->toOthers() as the
     * connection to leave out. private-encrypted-* channels get their data
     * encrypted for their own shared secret, one publish each.
     *
     * @param array<int, \Illuminate\Broadcasting\Channel|string> $channels
     * @param string                                              $event
     * @param array<string, mixed>                                $payload
     *
     * @throws BroadcastException
     */
    public function broadcast(array $channels, $event, array $payload = [])
    {
        $socket = Arr::pull($payload, 'socket');
        $socket = $socket === null || $socket === '' ? null : (string) $socket;
        $names = array_values(array_unique($this->formatChannels($channels)));
        if ($names === []) {
            return;
        }
        try {
            $data = json_encode($payload, JSON_THROW_ON_ERROR);
            $plain = array_values(array_filter($names, static fn (string $c): bool => !PusherSignatures::isEncryptedChannel($c)));
            foreach (array_chunk($plain, self::CHANNELS_PER_EVENT) as $chunk) {
                $this->publisher->trigger($chunk, (string) $event, $data, $socket);
            }
            foreach (array_diff($names, $plain) as $channel) {
                $this->publisher->trigger([$channel], (string) $event, $this->signatures->encrypt($channel, $data), $socket);
            }
        } catch (ExtensionNotLoaded $e) {
            throw $e;
        } catch (Throwable $e) {
            throw new BroadcastException(sprintf('FrankenPHP realtime: publishing %s through %s failed: %s', $event, $this->publisher->describe(), $e->getMessage()), 0, $e);
        }
    }

    /**
     * What the channel callback of routes/channels.php answers for $user on
     * $channelName (the full name, e.g. private-orders.7), or false: for the
     * native protocol's authorize endpoint, which asks about channels
     * outside of Laravel's Pusher-style /broadcasting/auth. $broadcaster is
     * the application's default broadcaster, where Broadcast::channel()
     * registered the callbacks; it need not be this class.
     */
    public static function channelVerdict(Broadcaster $broadcaster, Request $request, string $channelName): mixed
    {
        $channel = $channelName;
        foreach (['private-encrypted-', 'private-', 'presence-'] as $prefix) {
            if (str_starts_with($channel, $prefix)) {
                $channel = substr($channel, strlen($prefix));
                break;
            }
        }
        // The protected helpers are declared by Broadcaster, this class's
        // parent, so they may be called on any broadcaster.
        foreach ($broadcaster->getChannels() as $pattern => $callback) {
            if (!$broadcaster->channelNameMatchesPattern($channel, $pattern)) {
                continue;
            }
            $user = $broadcaster->retrieveUser($request, $channel);
            if (!$user) {
                return false;
            }
            $parameters = $broadcaster->extractAuthParameters($pattern, $channel, $callback);
            $handler = $broadcaster->normalizeChannelHandlerToCallable($callback);
            $result = $handler($user, ...$parameters);
            if ($result === false) {
                return false;
            }
            if ($result) {
                return $result;
            }
        }

        return false;
    }

    /**
     * @param array<string, string> $answer
     */
    private function respond(Request $request, array $answer): mixed
    {
        if (!$request->input('callback', false)) {
            return $answer;
        }

        return response()->json($answer)->withCallback($request->callback);
    }
}
