package hub

import (
	"encoding/binary"
	"strings"
)

// Broker topics: one per channel, one per user. Payloads are the hub's own
// binary encoding (the broker moves opaque bytes); every node runs the same
// code, so the format is private to this file.
const (
	channelTopic = "c:"
	userTopic    = "u:"
)

// Payload kinds, the first byte of a payload.
const (
	kindMessage    = 'm' // channel: a publication (broadcast, trigger, HTTP API)
	kindPresence   = 'p' // channel: a cluster-wide join or leave
	kindClient     = 'e' // channel: a client event (Pusher client-*)
	kindDirect     = 'd' // user: broadcastToUser
	kindDisconnect = 'x' // user: disconnectUser
)

func appendField(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// fields reads n length-prefixed fields and returns them with the rest.
func fields(b []byte, n int) ([]string, []byte, bool) {
	out := make([]string, n)
	for i := range out {
		l, size := binary.Uvarint(b)
		if size <= 0 || uint64(len(b)-size) < l {
			return nil, nil, false
		}
		out[i] = string(b[size : size+int(l)])
		b = b[size+int(l):]
	}
	return out, b, true
}

// messagePayload: kind, event, except, data.
func messagePayload(channel, event, except string, data []byte) (string, []byte) {
	b := make([]byte, 0, 1+len(event)+len(except)+len(data)+4)
	b = appendField(appendField(append(b, kindMessage), event), except)
	return channelTopic + channel, append(b, data...)
}

// presencePayload: kind, joined, user, info.
func presencePayload(m Membership, joined bool, info []byte) (string, []byte) {
	flag := byte(0)
	if joined {
		flag = 1
	}
	b := appendField([]byte{kindPresence, flag}, m.UserID)
	return channelTopic + m.Channel, append(b, info...)
}

// clientEventPayload: kind, event, sender socket id, sender user id, data.
func clientEventPayload(channel, event, sender, userID string, data []byte) (string, []byte) {
	b := appendField(appendField(appendField([]byte{kindClient}, event), sender), userID)
	return channelTopic + channel, append(b, data...)
}

// directPayload: kind, event, data.
func directPayload(userID, event string, data []byte) (string, []byte) {
	return userTopic + userID, append(appendField([]byte{kindDirect}, event), data...)
}

func disconnectPayload(userID string) (string, []byte) {
	return userTopic + userID, []byte{kindDisconnect}
}

// splitTopic returns a topic's kind prefix and name.
func splitTopic(topic string) (prefix, name string, ok bool) {
	if name, ok := strings.CutPrefix(topic, channelTopic); ok {
		return channelTopic, name, true
	}
	if name, ok := strings.CutPrefix(topic, userTopic); ok {
		return userTopic, name, true
	}
	return "", "", false
}

// Member data stored with a membership in the presence store: the caller
// key (for presence hooks on other nodes) and the member's info (Pusher
// user_info, may be empty).
func encodeMemberData(info []byte, caller Caller) []byte {
	key := ""
	if caller != nil {
		key = caller.Key()
	}
	return append(appendField(nil, key), info...)
}

func decodeMemberData(data []byte) (info []byte, callerKey string) {
	f, rest, ok := fields(data, 1)
	if !ok {
		return nil, ""
	}
	if len(rest) == 0 {
		rest = nil
	}
	return rest, f[0]
}
