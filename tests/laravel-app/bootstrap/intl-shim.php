<?php

declare(strict_types=1);

/*
 * This project's PHP build has no intl extension, and Debian's Laravel
 * packages expect it (their php-intl dependency points at Debian's own
 * interpreter): symfony/string, which artisan's console output uses, needs
 * Normalizer. A Composer install brings symfony/polyfill-intl-normalizer
 * instead; no PHP package registry is reachable here, so this minimal
 * stand-in is loaded when intl is missing. It is exact for ASCII (already
 * normalized in every form), which is all this test app prints; other
 * valid UTF-8 is returned unchanged.
 */

if (!class_exists('Normalizer', false)) {
    final class Normalizer
    {
        public const FORM_D = 4;
        public const NFD = 4;
        public const FORM_KD = 8;
        public const NFKD = 8;
        public const FORM_C = 16;
        public const NFC = 16;
        public const FORM_KC = 32;
        public const NFKC = 32;

        public static function isNormalized(string $string, int $form = self::FORM_C): bool
        {
            return preg_match('//u', $string) === 1;
        }

        public static function normalize(string $string, int $form = self::FORM_C): string|false
        {
            return preg_match('//u', $string) === 1 ? $string : false;
        }
    }
}

if (!function_exists('normalizer_is_normalized')) {
    function normalizer_is_normalized(string $string, int $form = Normalizer::FORM_C): bool
    {
        return Normalizer::isNormalized($string, $form);
    }
}

if (!function_exists('normalizer_normalize')) {
    function normalizer_normalize(string $string, int $form = Normalizer::FORM_C): string|false
    {
        return Normalizer::normalize($string, $form);
    }
}
