<?php

declare(strict_types=1);

use App\Auth\DemoUsers;
use App\Events\OrderShipped;
use App\Events\QueuedPing;
use App\Events\RoomMessage;
use App\Events\SecretNote;
use Illuminate\Http\Request;
use Illuminate\Support\Facades\Auth;
use Illuminate\Support\Facades\Broadcast;
use Illuminate\Support\Facades\Route;

Route::get('/', static fn () => redirect('/echo'));

Route::get('/login', static fn () => view('login'))->name('login');

Route::post('/login', static function (Request $request) {
    $user = DemoUsers::byName((string) $request->input('name'));
    if ($user === null) {
        return back()->withErrors(['name' => 'unknown user']);
    }
    Auth::login($user);
    $request->session()->regenerate();

    return redirect('/echo');
});

Route::post('/logout', static function (Request $request) {
    Auth::logout();
    $request->session()->invalidate();

    return redirect('/login');
});

Route::middleware('auth')->group(static function (): void {
    // The Echo page: pusher-js + Laravel Echo from node_modules, no bundler.
    Route::get('/echo', static fn (Request $request) => view('echo', [
        'config' => [
            'key' => config('broadcasting.connections.' . config('broadcasting.default') . '.key'),
            'connection' => config('broadcasting.default'),
            'user' => ['id' => $request->user()->id, 'name' => $request->user()->name],
        ],
    ]));

    // Laravel's own broadcast() helper (the extension's short names are
    // disabled): ShouldBroadcastNow, published during this request;
    // ?others=1 leaves out the X-Socket-ID connection (->toOthers()).
    Route::post('/orders/{order}/ship', static function (Request $request, int $order) {
        $pending = broadcast(new OrderShipped($request->user()->id, $order, (string) $request->input('note', '')));
        if ($request->boolean('others')) {
            $pending->toOthers();
        }
        unset($pending); // PendingBroadcast publishes when destroyed

        return ['published' => true, 'socket' => Broadcast::socket($request)];
    });

    Route::post('/rooms/{room}/messages', static function (Request $request, int $room) {
        broadcast(new RoomMessage($room, $request->user()->name, (string) $request->input('text')));

        return ['published' => true];
    });

    Route::post('/secret', static function (Request $request) {
        SecretNote::dispatch($request->user()->id, (string) $request->input('text'));

        return ['published' => true];
    });

    // ShouldBroadcast: only queued here; `artisan queue:work` publishes.
    Route::post('/queued', static function (Request $request) {
        QueuedPing::dispatch($request->user()->id, (string) $request->input('marker'));

        return ['queued' => true, 'connection' => config('queue.default')];
    });

    // The extension's API next to Laravel's: a message to every connection
    // of the user (Echo: pusher.user after signin()).
    Route::post('/notify', static function (Request $request) {
        realtime_broadcast_to_user($request->user()->id, json_encode(['text' => (string) $request->input('text')]));

        return ['sent' => true];
    });
});

// Control for the tests of the native protocol: an authorize endpoint in
// the plain `web` group, without the package's exemption. The module's
// in-process POST carries no CSRF token, so Laravel answers it 419.
Route::post('/plain/authorize', static fn () => response()->json(['allow' => true]));

// Publish latency from a Laravel route: N publishes through a broadcasting
// connection (frankenphp: in-process realtime_trigger(); reverb: the HTTP
// API through the package's signed client), each timed with hrtime().
Route::get('/bench/publish', static function (Request $request) {
    $connection = (string) $request->query('connection', config('broadcasting.default'));
    $count = max(1, min(5000, (int) $request->query('count', 300)));
    $broadcaster = Broadcast::connection($connection);
    $payload = ['order' => ['id' => 42, 'status' => 'shipped', 'padding' => str_repeat('x', 64)]];
    $samples = [];
    for ($i = 0; $i < $count; ++$i) {
        $started = hrtime(true);
        $broadcaster->broadcast(['bench'], 'bench.publish', $payload);
        $samples[] = (hrtime(true) - $started) / 1000; // µs
    }
    sort($samples);
    $at = static fn (float $q) => $samples[(int) min($count - 1, floor($q * $count))];

    return [
        'connection' => $connection,
        'publisher' => $broadcaster instanceof Realtime\Laravel\FrankenPhpBroadcaster ? $broadcaster->publisher()->describe() : get_class($broadcaster),
        'count' => $count,
        'median_us' => $at(0.5),
        'p90_us' => $at(0.9),
        'p99_us' => $at(0.99),
        'min_us' => $samples[0],
        'max_us' => $samples[$count - 1],
    ];
});
