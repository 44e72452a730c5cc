<?php

declare(strict_types=1);

namespace Realtime\Laravel;

use InvalidArgumentException;

/**
 * Pusher-compatible signatures (PUSHER.md §9), byte for byte what the
 * pusher/pusher-php-server SDK 7 produces, without the SDK: lower-case hex
 * HMAC-SHA256 keyed with the app secret.
 *
 * - private and private-encrypted channels sign "<socket_id>:<channel>";
 * - presence channels sign "<socket_id>:<channel>:<channel_data>";
 * - user authentication (pusher:signin) signs "<socket_id>::user::<user_data>";
 * - HTTP API requests sign "METHOD\nPATH\nQUERY" (sorted, unescaped values).
 *
 * Answers are arrays ready for Laravel to send as JSON.
 */
final class PusherSignatures
{
    /** 32-byte master key for private-encrypted-* channels, or null. */
    private ?string $encryptionMasterKey;

    /**
     * @param string      $key                       the app key (public; Echo's `key`)
     * @param string      $secret                    the app secret
     * @param string|null $encryptionMasterKeyBase64 base64 of 32 random bytes (Laravel's
     *                                               options.encryption_master_key_base64), for
     *                                               private-encrypted-* channels
     */
    public function __construct(
        private readonly string $key,
        #[\SensitiveParameter] private readonly string $secret,
        #[\SensitiveParameter] ?string $encryptionMasterKeyBase64 = null,
    ) {
        if ($key === '' || $secret === '') {
            throw new InvalidArgumentException('the broadcasting connection needs a non-empty key and secret (e.g. REVERB_APP_KEY, REVERB_APP_SECRET)');
        }
        $this->encryptionMasterKey = null;
        if ($encryptionMasterKeyBase64 !== null && $encryptionMasterKeyBase64 !== '') {
            $raw = base64_decode($encryptionMasterKeyBase64, true);
            if ($raw === false || strlen($raw) !== 32) {
                throw new InvalidArgumentException('encryption_master_key_base64 must be the base64 encoding of exactly 32 bytes (e.g. `openssl rand -base64 32`)');
            }
            $this->encryptionMasterKey = $raw;
        }
    }

    public function key(): string
    {
        return $this->key;
    }

    public function hasEncryptionMasterKey(): bool
    {
        return $this->encryptionMasterKey !== null;
    }

    /** Lower-case hex HMAC-SHA256 of $message with the app secret. */
    public function sign(string $message): string
    {
        return hash_hmac('sha256', $message, $this->secret);
    }

    /**
     * The answer to /broadcasting/auth for a private-* or private-encrypted-*
     * channel: {"auth": "key:sig"}, plus "shared_secret" for encrypted
     * channels; with $channelData (presence) also "channel_data".
     *
     * @return array{auth: string, channel_data?: string, shared_secret?: string}
     */
    public function authorizeChannel(string $channel, string $socketId, ?string $channelData = null): array
    {
        self::checkChannel($channel);
        self::checkSocketId($socketId);
        $signed = $socketId . ':' . $channel;
        if ($channelData !== null && $channelData !== '') {
            $signed .= ':' . $channelData;
        }
        $answer = ['auth' => $this->key . ':' . $this->sign($signed)];
        if ($channelData !== null && $channelData !== '') {
            $answer['channel_data'] = $channelData;
        }
        if (self::isEncryptedChannel($channel)) {
            $answer['shared_secret'] = base64_encode($this->sharedSecret($channel));
        }

        return $answer;
    }

    /**
     * The answer to /broadcasting/auth for a presence-* channel: channel_data
     * is {"user_id": <id>, "user_info": <info>} (user_info left out when
     * empty, as the Pusher SDK does), signed as the exact string sent.
     *
     * @return array{auth: string, channel_data: string}
     */
    public function authorizePresenceChannel(string $channel, string $socketId, int|string $userId, mixed $userInfo = null): array
    {
        $data = ['user_id' => $userId];
        if ($userInfo) {
            $data['user_info'] = $userInfo;
        }

        /** @var array{auth: string, channel_data: string} */
        return $this->authorizeChannel($channel, $socketId, json_encode($data, JSON_THROW_ON_ERROR));
    }

    /**
     * The answer to /broadcasting/user-auth (pusher:signin):
     * {"auth": "key:sig", "user_data": "<json>"}. user_data must carry a
     * non-empty "id"; pusher-js accepts only a string id, so an integer id
     * is sent as a string.
     *
     * @param array<string, mixed> $userData
     *
     * @return array{auth: string, user_data: string}
     */
    public function authenticateUser(string $socketId, array $userData): array
    {
        self::checkSocketId($socketId);
        if (!array_key_exists('id', $userData) || $userData['id'] === '' || $userData['id'] === null) {
            throw new InvalidArgumentException('user authentication data needs a non-empty "id"');
        }
        if (is_int($userData['id'])) {
            $userData['id'] = (string) $userData['id'];
        }
        $json = json_encode($userData, JSON_THROW_ON_ERROR);

        return ['auth' => $this->key . ':' . $this->sign($socketId . '::user::' . $json), 'user_data' => $json];
    }

    /** The per-channel key of a private-encrypted-* channel: SHA-256(channel ‖ master key). */
    public function sharedSecret(string $channel): string
    {
        if ($this->encryptionMasterKey === null) {
            throw new InvalidArgumentException("channel $channel is end-to-end encrypted: set options.encryption_master_key_base64 in the broadcasting connection");
        }

        return hash('sha256', $channel . $this->encryptionMasterKey, true);
    }

    /**
     * Encrypts an event's data for a private-encrypted-* channel the way
     * pusher-js decrypts it: {"nonce": b64, "ciphertext": b64}
     * (NaCl secretbox with the channel's shared secret).
     */
    public function encrypt(string $channel, string $data): string
    {
        $nonce = random_bytes(SODIUM_CRYPTO_SECRETBOX_NONCEBYTES);
        $box = sodium_crypto_secretbox($data, $nonce, $this->sharedSecret($channel));

        return json_encode(['nonce' => base64_encode($nonce), 'ciphertext' => base64_encode($box)], JSON_THROW_ON_ERROR);
    }

    /**
     * Signs an HTTP API request: returns its query parameters (the given
     * ones plus auth_key, auth_timestamp, auth_version, body_md5 when there
     * is a body, and auth_signature). $path is the signed path,
     * /apps/{app_id}/..., without any server path prefix.
     *
     * @param array<string, string|list<string>> $query
     *
     * @return array<string, string>
     */
    public function signRequest(string $method, string $path, array $query = [], string $body = '', ?int $timestamp = null): array
    {
        $params = ['auth_key' => $this->key, 'auth_timestamp' => (string) ($timestamp ?? time()), 'auth_version' => '1.0'];
        if ($body !== '') {
            $params['body_md5'] = md5($body);
        }
        foreach ($query as $name => $value) {
            $params[strtolower($name)] = is_array($value) ? implode(',', $value) : $value;
        }
        unset($params['auth_signature']);
        ksort($params, SORT_STRING);
        $pairs = [];
        foreach ($params as $name => $value) {
            $pairs[] = $name . '=' . $value;
        }
        $params['auth_signature'] = $this->sign(strtoupper($method) . "\n" . $path . "\n" . implode('&', $pairs));

        return $params;
    }

    public static function isEncryptedChannel(string $channel): bool
    {
        return str_starts_with($channel, 'private-encrypted-');
    }

    /** Pusher's socket id format, digits.digits (what the server hands out). */
    public static function checkSocketId(string $socketId): void
    {
        if (preg_match('/\A\d+\.\d+\z/', $socketId) !== 1) {
            throw new InvalidArgumentException('invalid socket id ' . json_encode($socketId) . ': expected digits.digits');
        }
    }

    private static function checkChannel(string $channel): void
    {
        if (preg_match('/\A#?[-a-zA-Z0-9_=@,.;]+\z/', $channel) !== 1 || strlen($channel) > 200) {
            throw new InvalidArgumentException('invalid channel name ' . json_encode($channel));
        }
    }
}
