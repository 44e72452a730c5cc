<?php

declare(strict_types=1);

namespace Realtime\Demo;

/**
 * Minimal HS256 JSON Web Token signer/verifier (RFC 7519), just enough for the
 * demo's login cookie. Deliberately accepts only one algorithm, so the classic
 * "alg: none" and algorithm-confusion attacks have nothing to work with.
 */
final class Jwt
{
    /** Clock skew tolerated on exp/iat/nbf, in seconds. */
    private const LEEWAY = 30;

    public function __construct(private readonly string $key)
    {
        if (strlen($key) < 32) {
            // HS256 keys shorter than the hash output are brute-forceable.
            throw new \ValueError('JWT key must be at least 32 bytes');
        }
    }

    /**
     * @param array<string, mixed> $claims
     */
    public function sign(array $claims): string
    {
        $header = self::json(['alg' => 'HS256', 'typ' => 'JWT']);
        $input = Base64Url::encode($header) . '.' . Base64Url::encode(self::json($claims));
        return $input . '.' . Base64Url::encode(hash_hmac('sha256', $input, $this->key, true));
    }

    /**
     * Returns the claims of a valid, unexpired token, or null. Requires integer
     * `exp` and `iat` claims; honours `nbf` when present.
     *
     * @return array<string, mixed>|null
     */
    public function verify(string $token, ?int $now = null): ?array
    {
        $now ??= time();
        $parts = explode('.', $token);
        if (count($parts) !== 3 || strlen($token) > 4096) {
            return null;
        }
        [$h, $p, $s] = $parts;

        // Check the signature before trusting anything in the token, and
        // compare the canonical encodings in constant time.
        $expected = Base64Url::encode(hash_hmac('sha256', "$h.$p", $this->key, true));
        if (!hash_equals($expected, $s)) {
            return null;
        }

        $header = self::decodeJson($h);
        if ($header === null || ($header['alg'] ?? null) !== 'HS256' || isset($header['crit'])) {
            return null;
        }
        $claims = self::decodeJson($p);
        if ($claims === null) {
            return null;
        }
        $exp = $claims['exp'] ?? null;
        $iat = $claims['iat'] ?? null;
        $nbf = $claims['nbf'] ?? null;
        if (!is_int($exp) || !is_int($iat) || ($nbf !== null && !is_int($nbf))) {
            return null;
        }
        if ($exp <= $now - self::LEEWAY || $iat > $now + self::LEEWAY || ($nbf !== null && $nbf > $now + self::LEEWAY)) {
            return null;
        }
        return $claims;
    }

    /** @return array<string, mixed>|null */
    private static function decodeJson(string $segment): ?array
    {
        $json = Base64Url::decode($segment);
        if ($json === null) {
            return null;
        }
        try {
            $value = json_decode($json, true, 8, JSON_THROW_ON_ERROR);
        } catch (\JsonException) {
            return null;
        }
        // Must be a JSON object, not a list or a scalar.
        return is_array($value) && !array_is_list($value) ? $value : null;
    }

    /** @param array<string, mixed> $value */
    private static function json(array $value): string
    {
        return json_encode($value, JSON_THROW_ON_ERROR | JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE);
    }
}
