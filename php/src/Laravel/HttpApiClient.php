<?php

declare(strict_types=1);

namespace Realtime\Laravel;

use InvalidArgumentException;
use JsonException;
use RuntimeException;

/**
 * A small signed client for the Pusher HTTP API (PUSHER.md §9.4, §10) of the
 * FrankenPHP realtime server, standing in for pusher/pusher-php-server (not
 * installable here: no PHP package registry). It sends what that SDK sends:
 * `channel` for one channel and `channels` for more, `socket_id` for
 * ->toOthers(), JSON bodies signed with body_md5.
 *
 * The connection is kept alive between calls (one curl handle per client).
 */
final class HttpApiClient implements Publisher
{
    /** @var \CurlHandle|null */
    private $curl = null;

    /**
     * @param string $baseUrl scheme://host:port plus the server's path prefix if any
     *                        (e.g. http://127.0.0.1:8080); requests go to $baseUrl/apps/{appId}/...
     */
    public function __construct(
        private readonly string $baseUrl,
        private readonly string $appId,
        private readonly PusherSignatures $signer,
        private readonly float $timeout = 5.0,
    ) {
        if ($appId === '') {
            throw new InvalidArgumentException('the Pusher HTTP API needs the app id (app_id, e.g. REVERB_APP_ID)');
        }
        if (!extension_loaded('curl')) {
            throw new RuntimeException('the Pusher HTTP API client needs the curl extension');
        }
    }

    /**
     * Builds the client from a Laravel broadcasting connection's settings
     * (the `reverb`/`pusher` shape: key, secret, app_id, options.host, port,
     * scheme, useTLS, path).
     *
     * @param array<string, mixed> $config
     */
    public static function fromConfig(array $config, PusherSignatures $signer): self
    {
        $options = (array) ($config['options'] ?? []);
        $useTls = (bool) ($options['useTLS'] ?? false);
        $scheme = (string) ($options['scheme'] ?? ($useTls ? 'https' : 'http'));
        $host = (string) ($options['host'] ?? '');
        if ($host === '') {
            throw new InvalidArgumentException('the Pusher HTTP API needs options.host in the broadcasting connection (e.g. REVERB_HOST)');
        }
        $host = (string) preg_replace('#^https?://#', '', $host);
        $port = (int) ($options['port'] ?? ($scheme === 'https' ? 443 : 80));
        $path = rtrim((string) ($options['path'] ?? ''), '/');
        if ($path !== '' && $path[0] !== '/') {
            $path = '/' . $path;
        }

        return new self("$scheme://$host:$port$path", (string) ($config['app_id'] ?? ''), $signer, (float) ($options['timeout'] ?? 5.0));
    }

    public function trigger(array $channels, string $event, string $data, ?string $exceptSocketId = null): void
    {
        $body = ['name' => $event, 'data' => $data];
        $channels = array_values($channels);
        if (count($channels) === 1) {
            $body['channel'] = $channels[0];
        } else {
            $body['channels'] = $channels;
        }
        if ($exceptSocketId !== null) {
            $body['socket_id'] = $exceptSocketId;
        }
        $this->request('POST', '/events', [], $body);
    }

    public function describe(): string
    {
        return "the Pusher HTTP API at $this->baseUrl";
    }

    /**
     * GET /apps/{id}/channels, /channels/{name}, /channels/{name}/users.
     *
     * @param array<string, string> $query
     *
     * @return array<string, mixed>
     */
    public function get(string $path, array $query = []): array
    {
        return $this->request('GET', $path, $query);
    }

    /**
     * @param array<string, string> $query
     * @param array<string, mixed>|null $body
     *
     * @return array<string, mixed>
     */
    public function request(string $method, string $path, array $query = [], ?array $body = null): array
    {
        $signedPath = '/apps/' . $this->appId . $path;
        $json = $body === null ? '' : json_encode($body, JSON_THROW_ON_ERROR);
        $params = $this->signer->signRequest($method, $signedPath, $query, $json);
        $url = $this->baseUrl . $signedPath . '?' . http_build_query($params, '', '&', PHP_QUERY_RFC3986);

        $this->curl ??= curl_init();
        curl_reset($this->curl);
        curl_setopt_array($this->curl, [
            CURLOPT_URL => $url,
            CURLOPT_CUSTOMREQUEST => $method,
            CURLOPT_RETURNTRANSFER => true,
            CURLOPT_HTTPHEADER => ['Content-Type: application/json', 'Expect:', 'X-Pusher-Library: frankenphp-realtime'],
            CURLOPT_TIMEOUT_MS => (int) ($this->timeout * 1000),
            CURLOPT_CONNECTTIMEOUT_MS => (int) (min($this->timeout, 5.0) * 1000),
            CURLOPT_NOPROXY => parse_url($this->baseUrl, PHP_URL_HOST) ?: '',
        ]);
        if ($method !== 'GET') {
            curl_setopt($this->curl, CURLOPT_POSTFIELDS, $json);
        }
        $response = curl_exec($this->curl);
        if ($response === false) {
            throw new RuntimeException("$method $this->baseUrl$signedPath failed: " . curl_error($this->curl));
        }
        $status = (int) curl_getinfo($this->curl, CURLINFO_RESPONSE_CODE);
        if ($status !== 200) {
            throw new RuntimeException("$method $this->baseUrl$signedPath answered $status: " . trim((string) $response));
        }
        try {
            $decoded = json_decode((string) $response, true, 512, JSON_THROW_ON_ERROR);
        } catch (JsonException $e) {
            throw new RuntimeException("$method $this->baseUrl$signedPath answered 200 without JSON: " . substr((string) $response, 0, 200), 0, $e);
        }

        return is_array($decoded) ? $decoded : [];
    }
}
