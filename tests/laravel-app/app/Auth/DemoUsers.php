<?php

declare(strict_types=1);

namespace App\Auth;

use Illuminate\Auth\GenericUser;
use Illuminate\Contracts\Auth\Authenticatable;
use Illuminate\Contracts\Auth\UserProvider;

/**
 * Three fixed users, so the app needs no users table: alice (1), bob (2),
 * carol (3). Logging in only takes a name (this is a test app).
 */
final class DemoUsers implements UserProvider
{
    public const USERS = [1 => 'alice', 2 => 'bob', 3 => 'carol'];

    public static function byName(string $name): ?GenericUser
    {
        $id = array_search($name, self::USERS, true);

        return $id === false ? null : self::user($id);
    }

    private static function user(int $id): GenericUser
    {
        return new GenericUser(['id' => $id, 'name' => self::USERS[$id], 'remember_token' => null]);
    }

    public function retrieveById($identifier): ?Authenticatable
    {
        return isset(self::USERS[(int) $identifier]) ? self::user((int) $identifier) : null;
    }

    public function retrieveByToken($identifier, $token): ?Authenticatable
    {
        return null;
    }

    public function updateRememberToken(Authenticatable $user, $token): void
    {
    }

    public function retrieveByCredentials(array $credentials): ?Authenticatable
    {
        return self::byName((string) ($credentials['name'] ?? ''));
    }

    public function validateCredentials(Authenticatable $user, array $credentials): bool
    {
        return true;
    }
}
