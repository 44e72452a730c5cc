// Package ext is the PHP extension "realtime": native functions that publish
// through the hub running in the same process. The C glue, arginfo and stub
// next to this file are generated from the //export_php annotations below by
// `make generate` (frankenphp extension-init); this file is the only one
// written by hand besides realtime_errors.{c,h}.
//
// Each function stays thin: convert arguments, call the hub API, turn errors
// into the PHP exceptions of SPEC §5.
package ext

// #include <stdlib.h>
// #include "realtime_errors.h"
import "C"

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"
	"unsafe"

	"github.com/dunglas/frankenphp"

	"github.com/frankenphp-realtime/realtime/internal/hub"
	"github.com/frankenphp-realtime/realtime/internal/phpext"
	"github.com/frankenphp-realtime/realtime/internal/valkeyhub"
)

// callTimeout bounds how long a PHP request may wait for the broker.
const callTimeout = 5 * time.Second

func init() {
	phpext.OnConfigLoad(func() { C.realtime_keep_registered() })
}

//export_php:function broadcast(string $channel, string $message): void
func broadcast(channel *C.zend_string, message *C.zend_string) {
	callHub(func(ctx context.Context, api hub.API) error {
		return api.Broadcast(ctx, goString(channel), goBytes(message))
	})
}

//export_php:function broadcastToUser(mixed $userId, string $message): void
func broadcastToUser(userID *C.zval, message *C.zend_string) {
	id, ok := userIDArg("broadcastToUser", userID)
	if !ok {
		return
	}
	callHub(func(ctx context.Context, api hub.API) error {
		return api.BroadcastToUser(ctx, id, goBytes(message))
	})
}

//export_php:function getChannelUsers(string $channel): array
func getChannelUsers(channel *C.zend_string) unsafe.Pointer {
	var users []string
	callHub(func(ctx context.Context, api hub.API) (err error) {
		users, err = api.ChannelUsers(ctx, goString(channel))
		return err
	})
	if users == nil {
		return nil
	}
	return frankenphp.PHPPackedArray(users)
}

//export_php:function disconnectUser(mixed $userId): void
func disconnectUser(userID *C.zval) {
	id, ok := userIDArg("disconnectUser", userID)
	if !ok {
		return
	}
	callHub(func(ctx context.Context, api hub.API) error {
		return api.DisconnectUser(ctx, id)
	})
}

// The realtime_* aliases let applications that define their own global
// broadcast() (Laravel does) use the extension under unambiguous names.

//export_php:function realtime_broadcast(string $channel, string $message): void
func realtimeBroadcast(channel *C.zend_string, message *C.zend_string) {
	broadcast(channel, message)
}

//export_php:function realtime_broadcast_to_user(mixed $userId, string $message): void
func realtimeBroadcastToUser(userID *C.zval, message *C.zend_string) {
	broadcastToUser(userID, message)
}

//export_php:function realtime_get_channel_users(string $channel): array
func realtimeGetChannelUsers(channel *C.zend_string) unsafe.Pointer {
	return getChannelUsers(channel)
}

//export_php:function realtime_disconnect_user(mixed $userId): void
func realtimeDisconnectUser(userID *C.zval) {
	disconnectUser(userID)
}

// callHub runs call against the registered hub API (or php-cli's Valkey
// API) and throws the PHP exception its error calls for. A Go panic never
// crosses into PHP.
func callHub(call func(context.Context, hub.API) error) {
	defer func() {
		if p := recover(); p != nil {
			throwRuntime(fmt.Sprintf("realtime: internal error: %v", p))
		}
	}()
	api := hub.Current()
	if api == nil {
		var err error
		if api, err = cliAPI(); err != nil {
			throwRuntime(err.Error())
			return
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	if err := call(ctx, api); err != nil {
		if hub.IsInputError(err) {
			throwValue(err.Error())
		} else {
			throwRuntime(err.Error())
		}
	}
}

var (
	cliOnce sync.Once
	cli     hub.API
	cliErr  error
)

// cliAPI is what the functions use where no server runs in the process
// (frankenphp php-cli: queue workers, cron): Valkey, configured by
// REALTIME_VALKEY_ADDRESS (and REALTIME_PREFIX), reaching every node. It is
// built once and lives as long as the process.
func cliAPI() (hub.API, error) {
	cliOnce.Do(func() {
		var api *valkeyhub.API
		if api, cliErr = valkeyhub.APIFromEnv(); cliErr == nil {
			cli = api
		}
	})
	return cli, cliErr
}

// userIDArg accepts an int or a non-empty string, as int|string would, and
// throws otherwise: TypeError for other types, in strict and coercive mode
// alike, ValueError for an empty string.
func userIDArg(function string, v *C.zval) (string, bool) {
	var str *C.char
	var length C.size_t
	var num C.zend_long
	switch C.realtime_user_id(v, &str, &length, &num) {
	case C.REALTIME_USER_ID_STRING:
		id := C.GoStringN(str, C.int(length))
		if err := hub.CheckUserID(id); err != nil {
			throwValue(fmt.Sprintf("%s(): Argument #1 ($userId) %s", function, err))
			return "", false
		}
		return id, true
	case C.REALTIME_USER_ID_LONG:
		return strconv.FormatInt(int64(num), 10), true
	default:
		typeName := C.GoString(C.realtime_type_name(v))
		throwType(fmt.Sprintf("%s(): Argument #1 ($userId) must be of type int|string, %s given", function, typeName))
		return "", false
	}
}

func goString(s *C.zend_string) string { return frankenphp.GoString(unsafe.Pointer(s)) }

func goBytes(s *C.zend_string) []byte { return []byte(goString(s)) }

func throwValue(msg string)   { withCString(msg, func(m *C.char) { C.realtime_throw_value_error(m) }) }
func throwType(msg string)    { withCString(msg, func(m *C.char) { C.realtime_throw_type_error(m) }) }
func throwRuntime(msg string) { withCString(msg, func(m *C.char) { C.realtime_throw_runtime_exception(m) }) }

func withCString(s string, fn func(*C.char)) {
	cs := C.CString(s)
	defer C.free(unsafe.Pointer(cs))
	fn(cs)
}
