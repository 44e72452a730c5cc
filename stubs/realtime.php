<?php

/**
 * IDE and static-analysis stubs for the "realtime" extension built into the
 * FrankenPHP binary of frankenphp-realtime. Never include this file at run
 * time: the functions are native. tests/ checks that these signatures match
 * the extension's reflection.
 *
 * Every function publishes through the hub of the server it runs in (or,
 * from `frankenphp php-cli`, through Valkey when REALTIME_VALKEY_ADDRESS is
 * set). Delivery is at-most-once; messages from one publisher to one channel
 * arrive in publish order.
 */

/**
 * Sends $message to every WebSocket subscribed to $channel, on every node.
 *
 * Subscribers receive {"event":"message","channel":"<channel>","data":"<message>"}.
 *
 * ```php
 * broadcast('orders', json_encode(['id' => 42, 'status' => 'paid']));
 * ```
 *
 * @param string $channel 1-200 bytes of A-Z a-z 0-9 _ - = @ , . ; :
 * @param string $message any bytes up to max_message_size (64 KiB by default), sent as a JSON string
 *
 * @throws ValueError       invalid channel name, or message over max_message_size
 * @throws RuntimeException no hub is running in this process, or the broker (Valkey) is unreachable
 */
function broadcast(string $channel, string $message): void {}

/**
 * Sends $message to every connection of one user, on every node.
 *
 * The user's connections receive {"event":"direct","data":"<message>"}.
 *
 * ```php
 * broadcastToUser($user->id, json_encode(['notification' => 'Your export is ready']));
 * ```
 *
 * @param int|string $userId the id the auth endpoint returned for the user (42 and "42" are the same user)
 * @param string     $message any bytes up to max_message_size
 *
 * @throws TypeError        $userId is neither int nor string (float, bool, null, array, object), in strict and coercive mode alike
 * @throws ValueError       empty user id, or message over max_message_size
 * @throws RuntimeException no hub is running in this process, or the broker is unreachable
 */
function broadcastToUser(int|string $userId, string $message): void {}

/**
 * Lists the users subscribed to $channel, cluster-wide: unique user ids,
 * sorted. A user who left less than presence_grace ago is still listed.
 *
 * ```php
 * $online = getChannelUsers('presence-lobby'); // ['17', '42']
 * ```
 *
 * @param string $channel any valid channel name (presence is tracked on every channel)
 *
 * @return list<string>
 *
 * @throws ValueError       invalid channel name
 * @throws RuntimeException no hub is running in this process, or presence storage is unreachable
 */
function getChannelUsers(string $channel): array {}

/**
 * Closes every connection of one user, on every node, with close code 4001.
 * Clients should not reconnect automatically after 4001 (realtime.js does not).
 *
 * ```php
 * disconnectUser($user->id); // e.g. on logout or ban
 * ```
 *
 * @param int|string $userId
 *
 * @throws TypeError        $userId is neither int nor string
 * @throws ValueError       empty user id
 * @throws RuntimeException no hub is running in this process, or the broker is unreachable
 */
function disconnectUser(int|string $userId): void {}

/**
 * Publishes a named event (what Laravel broadcasts) to 1-100 channels, on
 * every node: native subscribers receive
 * `{"event":"message","channel":"orders","name":"OrderShipped","data":"..."}`,
 * Pusher-protocol subscribers the event itself. Returns once the message is
 * handed over, not after the fan-out.
 *
 * ```php
 * realtime_trigger(['private-orders.7', 'admin'], 'OrderShipped', json_encode($order), $socketId);
 * ```
 *
 * @param string|list<string> $channels       1 to 100 channel names
 * @param string              $event          event name, at most 200 bytes
 * @param string              $data           payload, forwarded verbatim, at most max_message_size bytes
 * @param string|null         $exceptSocketId a connection to leave out (Laravel's ->toOthers(): the
 *                                            X-Socket-ID of the request), digits.digits
 *
 * @throws TypeError        $channels is not a string or an array of strings, $exceptSocketId not ?string
 * @throws ValueError       no channel or more than 100, an invalid channel name, an event name over
 *                          200 bytes, a payload over max_message_size, a malformed socket id
 * @throws RuntimeException no hub is reachable, the broker is down, or the publish queue is full
 */
function realtime_trigger(string|array $channels, string $event, string $data, ?string $exceptSocketId = null): void {}

/**
 * True only inside a request that the realtime module itself made to a path
 * endpoint (auth, authorize, presence hook), in-process: such a request
 * carries a one-time token that no outside request can know. Endpoint
 * scripts use it to refuse calls from the internet:
 *
 * ```php
 * if (!realtime_is_internal_request()) { http_response_code(404); exit; }
 * ```
 *
 * Calls to http(s):// endpoints are signed instead (X-Realtime-Signature,
 * see docs/configuration.md).
 */
function realtime_is_internal_request(): bool {}

/**
 * Alias of broadcast() for applications that define their own global
 * broadcast() (Laravel does): see docs/laravel.md.
 *
 * @throws ValueError|RuntimeException as broadcast()
 */
function realtime_broadcast(string $channel, string $message): void {}

/**
 * Alias of broadcastToUser().
 *
 * @throws TypeError|ValueError|RuntimeException as broadcastToUser()
 */
function realtime_broadcast_to_user(int|string $userId, string $message): void {}

/**
 * Alias of getChannelUsers().
 *
 * @return list<string>
 *
 * @throws ValueError|RuntimeException as getChannelUsers()
 */
function realtime_get_channel_users(string $channel): array {}

/**
 * Alias of disconnectUser().
 *
 * @throws TypeError|ValueError|RuntimeException as disconnectUser()
 */
function realtime_disconnect_user(int|string $userId): void {}
