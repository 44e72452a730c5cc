<?php

declare(strict_types=1);

namespace Realtime\Tests\Support;

/**
 * A plain HTTP response as seen by a test.
 */
final class HttpResponse
{
    /**
     * @param array<string, list<string>> $headers lower-cased names
     */
    public function __construct(
        public readonly int $status,
        public readonly array $headers,
        public readonly string $body,
    ) {
    }

    public function header(string $name): ?string
    {
        return $this->headers[strtolower($name)][0] ?? null;
    }

    /** @return array<mixed> */
    public function json(): array
    {
        $decoded = json_decode($this->body, true);
        if (!is_array($decoded)) {
            throw new \UnexpectedValueException("HTTP $this->status body is not a JSON object/array: " . substr($this->body, 0, 500));
        }

        return $decoded;
    }

    public function describe(): string
    {
        return "HTTP $this->status " . json_encode($this->headers, JSON_UNESCAPED_SLASHES) . ' ' . substr($this->body, 0, 1000);
    }
}
