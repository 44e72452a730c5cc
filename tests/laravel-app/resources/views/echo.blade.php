<!doctype html>
<html lang="en">
<head>
    <meta charset="utf-8">
    <meta name="csrf-token" content="{{ csrf_token() }}">
    <title>Echo — {{ $config['user']['name'] }}</title>
    {{-- Served from tests/laravel/node_modules by the Caddyfile (no bundler). --}}
    <script src="/vendor/pusher-js/pusher-with-encryption.min.js"></script>
    <script src="/vendor/laravel-echo/echo.iife.js"></script>
</head>
<body>
    <h1 id="user">{{ $config['user']['name'] }}</h1>
    <script>
        window.APP = @json($config);
        // One Echo per call, configured as Laravel's reverb stub does, aimed
        // at this very server (FrankenPHP serves the Pusher protocol).
        window.makeEcho = function (options) {
            return new Echo.default(Object.assign({
                broadcaster: 'reverb',
                key: APP.key,
                wsHost: location.hostname,
                wsPort: Number(location.port || 80),
                wssPort: Number(location.port || 443),
                forceTLS: false,
                enabledTransports: ['ws', 'wss'],
            }, options || {}));
        };
        // fetch() with the session cookie, the CSRF token and, when given,
        // Echo's socket id (what Echo's axios interceptor adds as X-Socket-ID).
        window.post = async function (url, body, echo) {
            const headers = {
                'Content-Type': 'application/json',
                'Accept': 'application/json',
                'X-CSRF-TOKEN': document.querySelector('meta[name="csrf-token"]').content,
            };
            if (echo) headers['X-Socket-ID'] = echo.socketId();
            const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body || {}) });
            const text = await res.text();
            if (!res.ok) throw new Error(url + ' answered ' + res.status + ': ' + text.slice(0, 500));
            return JSON.parse(text);
        };
        window.echo = makeEcho();
    </script>
</body>
</html>
