<?php

declare(strict_types=1);

namespace Realtime\Tests\Unit;

use PHPUnit\Framework\TestCase;
use Realtime\EndpointSignature;

/**
 * php/src/EndpointSignature.php against the vector the Go signer is tested
 * with (internal/auth/signature_test.go), computed with openssl.
 */
final class EndpointSignatureTest extends TestCase
{
    private const SECRET = '0123456789abcdef';
    private const HEADER = 't=1700000000,v1=65b996a4a35cab20ce42e883be382d35d9b27d3b59f4f00cc209827893f6999a';
    private const URI = '/realtime/authorize?x=1';
    private const BODY = 'channel=private-a&user_id=7';

    public function testTheVectorVerifies(): void
    {
        self::assertTrue(EndpointSignature::verify(self::SECRET, self::HEADER, 'POST', self::URI, self::BODY, 1700000000));
        self::assertTrue(EndpointSignature::verify(self::SECRET, self::HEADER, 'post', self::URI, self::BODY, 1700000000 + 300));
    }

    public function testAnythingElseFails(): void
    {
        $now = 1700000000;
        self::assertFalse(EndpointSignature::verify('another-secret-xx', self::HEADER, 'POST', self::URI, self::BODY, $now), 'secret');
        self::assertFalse(EndpointSignature::verify(self::SECRET, self::HEADER, 'GET', self::URI, self::BODY, $now), 'method');
        self::assertFalse(EndpointSignature::verify(self::SECRET, self::HEADER, 'POST', '/realtime/authorize', self::BODY, $now), 'query');
        self::assertFalse(EndpointSignature::verify(self::SECRET, self::HEADER, 'POST', self::URI, self::BODY . '0', $now), 'body');
        self::assertFalse(EndpointSignature::verify(self::SECRET, self::HEADER, 'POST', self::URI, self::BODY, $now + 301), 'replay window');
        self::assertFalse(EndpointSignature::verify(self::SECRET, self::HEADER, 'POST', self::URI, self::BODY, $now - 301), 'clock ahead');
        self::assertFalse(EndpointSignature::verify(self::SECRET, '', 'POST', self::URI, self::BODY, $now), 'no header');
        self::assertFalse(EndpointSignature::verify('', self::HEADER, 'POST', self::URI, self::BODY, $now), 'no secret');
        self::assertFalse(EndpointSignature::verify(self::SECRET, strtoupper(self::HEADER), 'POST', self::URI, self::BODY, $now), 'upper-case hex');
    }
}
