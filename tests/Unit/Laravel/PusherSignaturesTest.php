<?php

declare(strict_types=1);

namespace Realtime\Tests\Unit\Laravel;

use InvalidArgumentException;
use PHPUnit\Framework\Attributes\DataProvider;
use PHPUnit\Framework\TestCase;
use Realtime\Laravel\PusherSignatures;

/**
 * The Laravel driver's signer against the worked examples of PUSHER.md §9
 * (Pusher's documented demo credentials; the private, user and HTTP POST
 * values equal Pusher's own docs, the others were computed independently
 * and reproduced by the Node `pusher` SDK 5.3.4).
 */
final class PusherSignaturesTest extends TestCase
{
    private const KEY = '278d425bdf160c739803';
    private const SECRET = '7ad3773142a6692b25b8';
    private const TIMESTAMP = 1353088179;

    private static function signer(?string $masterKey = null): PusherSignatures
    {
        return new PusherSignatures(self::KEY, self::SECRET, $masterKey);
    }

    public function testPrivateChannel(): void
    {
        self::assertSame(
            ['auth' => self::KEY . ':58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4'],
            self::signer()->authorizeChannel('private-foobar', '1234.1234'),
        );
    }

    /** @return iterable<string, array{string, string}> */
    public static function presenceVectors(): iterable
    {
        yield 'Mr. Channels' => ['Mr. Channels', '31935e7d86dba64c2a90aed31fdc61869f9b22ba9d8863bba239c03ca481bc80'];
        yield 'Mr. Pusher (older docs text)' => ['Mr. Pusher', 'afaed3695da2ffd16931f457e338e6c9f2921fa133ce7dac49f529792be6304c'];
    }

    #[DataProvider('presenceVectors')]
    public function testPresenceChannel(string $name, string $signature): void
    {
        $answer = self::signer()->authorizePresenceChannel('presence-foobar', '1234.1234', 10, ['name' => $name]);
        self::assertSame([
            'auth' => self::KEY . ':' . $signature,
            'channel_data' => '{"user_id":10,"user_info":{"name":"' . $name . '"}}',
        ], $answer);
    }

    public function testPresenceWithoutUserInfoLeavesItOut(): void
    {
        $answer = self::signer()->authorizePresenceChannel('presence-foobar', '1234.1234', '10', null);
        self::assertSame('{"user_id":"10"}', $answer['channel_data']);
        self::assertSame(self::KEY . ':' . hash_hmac('sha256', '1234.1234:presence-foobar:{"user_id":"10"}', self::SECRET), $answer['auth']);
    }

    public function testUserAuthentication(): void
    {
        self::assertSame([
            'auth' => self::KEY . ':4708d583dada6a56435fb8bc611c77c359a31eebde13337c16ab43aa6de336ba',
            'user_data' => '{"id":"12345"}',
        ], self::signer()->authenticateUser('1234.1234', ['id' => '12345']));
    }

    public function testUserAuthenticationSendsAnIntegerIdAsAString(): void
    {
        // pusher-js accepts only a string id; same signature as the vector.
        self::assertSame(
            self::signer()->authenticateUser('1234.1234', ['id' => '12345']),
            self::signer()->authenticateUser('1234.1234', ['id' => 12345]),
        );
    }

    public function testUserAuthenticationNeedsAnId(): void
    {
        $this->expectException(InvalidArgumentException::class);
        self::signer()->authenticateUser('1234.1234', ['name' => 'x']);
    }

    public function testHttpApiPostEvents(): void
    {
        $body = '{"name":"foo","channels":["project-3"],"data":"{\"some\":\"data\"}"}';
        $params = self::signer()->signRequest('POST', '/apps/3/events', [], $body, self::TIMESTAMP);
        self::assertSame([
            'auth_key' => self::KEY,
            'auth_timestamp' => (string) self::TIMESTAMP,
            'auth_version' => '1.0',
            'body_md5' => 'ec365a775a4cd0599faeb73354201b6f',
            'auth_signature' => 'da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c',
        ], $params);
    }

    public function testHttpApiGetChannels(): void
    {
        $params = self::signer()->signRequest('GET', '/apps/3/channels', ['info' => 'user_count', 'filter_by_prefix' => 'presence-'], '', self::TIMESTAMP);
        self::assertArrayNotHasKey('body_md5', $params);
        self::assertSame('16819168891cb5dfd72b5c7a5d3d602605b26c6ba1930033b5e2eeeb65010291', $params['auth_signature']);
    }

    public function testHttpApiTerminateConnections(): void
    {
        $params = self::signer()->signRequest('POST', '/apps/3/users/42/terminate_connections', [], '{}', self::TIMESTAMP);
        self::assertSame('99914b932bd37a50b983c5e7c90ae93b', $params['body_md5']);
        self::assertSame('2829710742ff5f799010258297d09016e2366257e3e954039eeda349073a2bcf', $params['auth_signature']);
    }

    public function testEncryptedChannelGetsItsSharedSecret(): void
    {
        $master = random_bytes(32);
        $answer = self::signer(base64_encode($master))->authorizeChannel('private-encrypted-foo', '1234.1234');
        self::assertSame(self::KEY . ':' . hash_hmac('sha256', '1234.1234:private-encrypted-foo', self::SECRET), $answer['auth']);
        self::assertSame(base64_encode(hash('sha256', 'private-encrypted-foo' . $master, true)), $answer['shared_secret']);
    }

    public function testEncryptedPayloadOpensWithTheSharedSecret(): void
    {
        $signer = self::signer(base64_encode(random_bytes(32)));
        $box = json_decode($signer->encrypt('private-encrypted-foo', '{"a":1}'), true, flags: JSON_THROW_ON_ERROR);
        self::assertSame(['nonce', 'ciphertext'], array_keys($box));
        $secret = base64_decode($signer->authorizeChannel('private-encrypted-foo', '1.1')['shared_secret'], true);
        self::assertSame('{"a":1}', sodium_crypto_secretbox_open(base64_decode($box['ciphertext']), base64_decode($box['nonce']), $secret));
    }

    public function testEncryptedChannelWithoutMasterKeyIsRefused(): void
    {
        $this->expectExceptionMessage('encryption_master_key_base64');
        self::signer()->authorizeChannel('private-encrypted-foo', '1234.1234');
    }

    public function testMasterKeyMustBe32Bytes(): void
    {
        $this->expectExceptionMessage('exactly 32 bytes');
        self::signer(base64_encode('short'));
    }

    /** @return iterable<string, array{string}> */
    public static function badSocketIds(): iterable
    {
        foreach (['', '1234', '1234.', '.1234', 'a.b', '1.2.3', "1.2\n", ' 1.2'] as $id) {
            yield json_encode($id) => [$id];
        }
    }

    #[DataProvider('badSocketIds')]
    public function testMalformedSocketIdsAreRefused(string $socketId): void
    {
        $this->expectException(InvalidArgumentException::class);
        self::signer()->authorizeChannel('private-foobar', $socketId);
    }

    public function testEmptyCredentialsAreRefused(): void
    {
        $this->expectExceptionMessage('non-empty key and secret');
        new PusherSignatures('', '');
    }
}
