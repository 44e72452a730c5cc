<?php

declare(strict_types=1);

use Illuminate\Support\Facades\Broadcast;

// private-orders.{userId}: only that user.
Broadcast::channel('orders.{userId}', static fn ($user, $userId) => (int) $user->id === (int) $userId);

// presence-room.{roomId}: everyone logged in, with their name as user_info.
Broadcast::channel('room.{roomId}', static fn ($user, $roomId) => ['id' => (int) $user->id, 'name' => $user->name]);

// private-encrypted-secret.{userId}: only that user.
Broadcast::channel('secret.{userId}', static fn ($user, $userId) => (int) $user->id === (int) $userId);

// private-vault: nobody (the callback refuses).
Broadcast::channel('vault', static fn ($user) => false);
