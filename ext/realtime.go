// Package ext is the PHP extension "realtime": native functions that publish
// through the hub running in the same process. The C glue, arginfo and stub
// next to this file are generated from the //export_php annotations below by
// `make generate` (frankenphp extension-init); this file is the only one
// written by hand besides realtime_errors.{c,h} and realtime_restart.c.
//
// Each function stays thin: convert arguments, call the hub API, turn errors
// into the PHP exceptions of SPEC §5.
package ext

// #include <stdlib.h>
// #include "realtime_errors.h"
import "C"

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"unsafe"

	"github.com/dunglas/frankenphp"

	"github.com/frankenphp-realtime/realtime/internal/bridge"
	"github.com/frankenphp-realtime/realtime/internal/hub"
)

func init() {
	bridge.OnConfigLoad(keepRegistered)
}

// keepRegistered installs the workaround for php/frankenphp#2572 (the
// module's functions vanish after a config reload restarts PHP) and fails
// the configuration when it cannot: better a refused reload than a PHP
// that no longer has broadcast().
func keepRegistered() error {
	switch C.realtime_keep_registered() {
	case C.REALTIME_HOOK_INSTALLED:
		return nil
	case C.REALTIME_HOOK_PENDING:
		if !bridge.PHPStartedBefore() {
			return nil // first start: FrankenPHP registers the module itself
		}
	}
	return errors.New("cannot keep the realtime PHP functions registered across this reload: FrankenPHP no longer installs its extension hook the way ext/realtime_restart.c expects (workaround for php/frankenphp#2572); restart the process instead of reloading, and report it")
}

//export_php:function broadcast(string $channel, string $message): void
func broadcast(channel *C.zend_string, message *C.zend_string) {
	callHub(func(ctx context.Context, api hub.API) error {
		return api.Trigger(ctx, hub.Publication{Channels: []string{goString(channel)}, Data: goBytes(message)})
	})
}

//export_php:function broadcastToUser(mixed $userId, string $message): void
func broadcastToUser(userID *C.zval, message *C.zend_string) {
	id, ok := userIDArg("broadcastToUser", userID)
	if !ok {
		return
	}
	callHub(func(ctx context.Context, api hub.API) error {
		return api.SendToUser(ctx, id, "", goBytes(message))
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

// realtime_trigger publishes a named event (what Laravel broadcasts) to
// 1-100 channels, optionally leaving out one connection (->toOthers()).
//
//export_php:function realtime_trigger(mixed $channels, string $event, string $data, mixed $exceptSocketId = null): void
func realtimeTrigger(channels *C.zval, event *C.zend_string, data *C.zend_string, exceptSocketID *C.zval) {
	list, ok := channelsArg(channels)
	if !ok {
		return
	}
	p := hub.Publication{Channels: list, Event: goString(event), Data: goBytes(data)}
	if p.Event == "" {
		// As the HTTP API's 400: an empty name is a mistake (a broadcastAs()
		// returning ''), and broadcast() is the unnamed message.
		throwValue("realtime_trigger(): Argument #2 ($event) must not be empty; use broadcast() for a message without a name")
		return
	}
	if p.Except, ok = optionalStringArg("realtime_trigger", 4, "exceptSocketId", exceptSocketID); !ok {
		return
	}
	callHub(func(ctx context.Context, api hub.API) error { return api.Trigger(ctx, p) })
}

// realtime_is_internal_request tells an endpoint script that this request
// is the realtime module's own in-process call (auth, authorize, presence
// hook), which no outside request can pass for (SPEC §2).
//
//export_php:function realtime_is_internal_request(): bool
func realtimeIsInternalRequest() bool {
	name := C.CString("HTTP_" + headerVar(bridge.InternalHeader))
	defer C.free(unsafe.Pointer(name))
	var length C.size_t
	v := C.realtime_server_var(name, &length)
	if v == nil {
		return false
	}
	return bridge.IsInternalCall(C.GoStringN(v, C.int(length)))
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

// callHub runs call against the hub of this process or, in php-cli, the
// one bridge.CLI reaches, and throws the PHP exception its error calls
// for. A Go panic never crosses into PHP.
func callHub(call func(context.Context, hub.API) error) {
	defer func() {
		if p := recover(); p != nil {
			throwRuntime(fmt.Sprintf("realtime: internal error: %v", p))
		}
	}()
	api := bridge.Current()
	if api == nil {
		var err error
		if api, err = bridge.CLI(cGetenv); err != nil {
			throwRuntime(err.Error())
			return
		}
	}
	// Every operation bounds its own network calls (Valkey, presence, the
	// admin listener); a memory-driver publish never waits, so no timer is
	// armed for it.
	if err := call(context.Background(), api); err != nil {
		if hub.IsInputError(err) {
			throwValue(err.Error())
		} else {
			throwRuntime(err.Error())
		}
	}
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

// channelsArg accepts a string or an array of strings (1 to 100), as
// string|array would; TypeError for anything else, ValueError for a count
// out of range (the names themselves are checked by the hub).
func channelsArg(v *C.zval) ([]string, bool) {
	const max = hub.MaxTriggerChannels
	out := (**C.char)(C.malloc(C.size_t(max) * C.size_t(unsafe.Sizeof((*C.char)(nil)))))
	lens := (*C.size_t)(C.malloc(C.size_t(max) * C.size_t(unsafe.Sizeof(C.size_t(0)))))
	defer C.free(unsafe.Pointer(out))
	defer C.free(unsafe.Pointer(lens))
	var badType *C.char
	n := int(C.realtime_string_list(v, out, lens, C.int(max), &badType))
	switch {
	case n == -1:
		throwType(fmt.Sprintf("realtime_trigger(): Argument #1 ($channels) must be of type string|array of strings, %s given", C.GoString(badType)))
		return nil, false
	case n == -2 || n == 0:
		throwValue(fmt.Sprintf("realtime_trigger(): Argument #1 ($channels) must hold 1 to %d channels", max))
		return nil, false
	}
	ptrs := unsafe.Slice(out, n)
	sizes := unsafe.Slice(lens, n)
	list := make([]string, n)
	for i := range list {
		list[i] = C.GoStringN(ptrs[i], C.int(sizes[i]))
	}
	return list, true
}

// optionalStringArg accepts null (or an omitted argument) as "" and a
// string as itself, as ?string would; TypeError otherwise. (The generator
// of FrankenPHP v1.12 emits broken C for ?string parameters, hence mixed.)
func optionalStringArg(function string, n int, name string, v *C.zval) (string, bool) {
	if v == nil {
		return "", true
	}
	var str *C.char
	var length C.size_t
	switch C.realtime_optional_string(v, &str, &length) {
	case 1:
		return C.GoStringN(str, C.int(length)), true
	case 0:
		return "", true
	default:
		throwType(fmt.Sprintf("%s(): Argument #%d ($%s) must be of type ?string, %s given", function, n, name, C.GoString(C.realtime_type_name(v))))
		return "", false
	}
}

// cGetenv reads the C environment, which PHP's putenv() changes.
func cGetenv(name string) string {
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	if v := C.getenv(cs); v != nil {
		return C.GoString(v)
	}
	return ""
}

// headerVar is a header's $_SERVER name without the HTTP_ prefix.
func headerVar(h string) string {
	b := []byte(h)
	for i, c := range b {
		switch {
		case c == '-':
			b[i] = '_'
		case c >= 'a' && c <= 'z':
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

func goString(s *C.zend_string) string { return frankenphp.GoString(unsafe.Pointer(s)) }

// goBytes is a view of a zend_string's bytes, without a copy: valid only
// during the call (hub.API implementations copy what they keep).
func goBytes(s *C.zend_string) []byte {
	if s == nil || s.len == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&s.val)), int(s.len))
}

func throwValue(msg string)   { withCString(msg, func(m *C.char) { C.realtime_throw_value_error(m) }) }
func throwType(msg string)    { withCString(msg, func(m *C.char) { C.realtime_throw_type_error(m) }) }
func throwRuntime(msg string) { withCString(msg, func(m *C.char) { C.realtime_throw_runtime_exception(m) }) }

func withCString(s string, fn func(*C.char)) {
	cs := C.CString(s)
	defer C.free(unsafe.Pointer(cs))
	fn(cs)
}
