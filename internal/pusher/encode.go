package pusher

import (
	"encoding/json"
	"strconv"
	"time"
)

// Server frames. Each returns a fresh slice that can be sent to many
// connections. Key order follows Reverb's frames ({"event","data","channel"})
// so its golden strings serve as fixtures; clients do not depend on it.
//
// Server data is a JSON *string* holding the payload (PUSHER.md §2): pusher-js
// parses a string data once more, and that is the form every Pusher client
// accepts. Only client events keep the data exactly as the sender wrote it.

// ConnectionEstablished is the first frame of a connection. activityTimeout
// is announced in whole seconds, rounded up and at least 1: pusher-js
// refuses a handshake whose activity_timeout is 0 or missing.
func ConnectionEstablished(socketID string, activityTimeout time.Duration) []byte {
	secs := int64((activityTimeout + time.Second - 1) / time.Second)
	data := appendField([]byte{'{'}, "socket_id", socketID)
	data = strconv.AppendInt(append(data, `,"activity_timeout":`...), max(secs, 1), 10)
	return serverFrame(EventConnectionEstablished, string(append(data, '}')), "")
}

// Ping asks the client for a pusher:pong (server-side liveness check).
func Ping() []byte { return []byte(`{"event":"pusher:ping"}`) }

// Pong answers a client's pusher:ping. Like Reverb it carries no data;
// pusher-js only needs the frame itself.
func Pong() []byte { return []byte(`{"event":"pusher:pong"}`) }

// ErrorFrame is pusher:error with data {"code":code,"message":message};
// code ≤ 0 encodes as null (Pusher allows a null code). It does not close
// the connection: send a close frame after it for that.
func ErrorFrame(code int, message string) []byte {
	data := []byte(`{"code":`)
	if code > 0 {
		data = strconv.AppendInt(data, int64(code), 10)
	} else {
		data = append(data, "null"...)
	}
	data = appendField(append(data, ','), "message", message)
	return serverFrame(EventError, string(append(data, '}')), "")
}

// SubscriptionSucceeded confirms a subscription to a non-presence channel.
func SubscriptionSucceeded(channel string) []byte {
	return serverFrame(EventSubscriptionSucceeded, "{}", channel)
}

// PresenceSubscriptionSucceeded confirms a presence subscription with the
// member list {"presence":{"ids":[...],"hash":{id:info},"count":n}}.
// Members are deduplicated by ID, first occurrence kept, so that ids, hash
// and count always agree (pusher-js counts hash entries; Echo's here() lists
// hash values). ids hold each member's RawID; hash maps the string ID to
// Info, or null when the member declared none.
func PresenceSubscriptionSucceeded(channel string, members []Member) []byte {
	unique := uniqueMembers(members)
	data := []byte(`{"presence":{"ids":[`)
	for i, m := range unique {
		if i > 0 {
			data = append(data, ',')
		}
		data = appendUserID(data, m)
	}
	data = append(data, `],"hash":{`...)
	for i, m := range unique {
		if i > 0 {
			data = append(data, ',')
		}
		data = appendRawOrNull(append(appendString(data, m.ID), ':'), m.Info)
	}
	data = strconv.AppendInt(append(data, `},"count":`...), int64(len(unique)), 10)
	return serverFrame(EventSubscriptionSucceeded, string(append(data, `}}`...)), channel)
}

func uniqueMembers(members []Member) []Member {
	seen := make(map[string]struct{}, len(members))
	unique := make([]Member, 0, len(members))
	for _, m := range members {
		if _, dup := seen[m.ID]; !dup {
			seen[m.ID] = struct{}{}
			unique = append(unique, m)
		}
	}
	return unique
}

// MemberAdded announces a user's first connection to a presence channel:
// data {"user_id":<RawID>,"user_info":<Info>}, user_info left out when the
// member has none (as Reverb echoes channel_data).
func MemberAdded(channel string, m Member) []byte {
	data := appendUserID([]byte(`{"user_id":`), m)
	if m.Info != nil {
		data = append(append(data, `,"user_info":`...), m.Info...)
	}
	return serverFrame(EventMemberAdded, string(append(data, '}')), channel)
}

// MemberRemoved announces that a user's last connection left a presence
// channel: data {"user_id":<RawID>}.
func MemberRemoved(channel string, m Member) []byte {
	data := appendUserID([]byte(`{"user_id":`), m)
	return serverFrame(EventMemberRemoved, string(append(data, '}')), channel)
}

// SubscriptionError refuses a subscription: data
// {"type":"AuthError","error":message,"status":status} on that channel, so
// Echo's .error() fires (PUSHER.md §8). The type is AuthError for every
// status (401 bad signature, 403 foreign #server-to-user, 429 too many
// subscriptions): it is the only type pusher-js itself ever emits for this
// event, so apps branch on status, not type.
func SubscriptionError(channel string, status int, message string) []byte {
	data := appendField([]byte{'{'}, "type", "AuthError")
	data = appendField(append(data, ','), "error", message)
	data = strconv.AppendInt(append(data, `,"status":`...), int64(status), 10)
	return serverFrame(EventSubscriptionError, string(append(data, '}')), channel)
}

// SigninSuccess confirms a pusher:signin: data {"user_data":<userData>},
// userData being the exact signed string (pusher-js parses it once more).
func SigninSuccess(userData string) []byte {
	data := appendField([]byte{'{'}, "user_data", userData)
	return serverFrame(EventSigninSuccess, string(append(data, '}')), "")
}

// CacheMiss tells a new subscriber of a cache channel that nothing is cached;
// it follows subscription_succeeded and has no data.
func CacheMiss(channel string) []byte {
	b := append([]byte(`{"event":`), quote(EventCacheMiss)...)
	return append(appendField(append(b, ','), "channel", channel), '}')
}

// ServerEvent is an event published by the server (HTTP API, broadcast(),
// realtime_trigger()): data is forwarded verbatim as a JSON string, never
// parsed and re-serialised; event names such as App\Events\OrderShipped are
// JSON-escaped. channel "" leaves the channel out.
func ServerEvent(event, channel, data string) []byte {
	return serverFrame(event, data, channel)
}

// ClientEvent re-broadcasts a client-* event: data is inserted exactly as
// the sender wrote it (it must be valid JSON, as DecodeClientFrame returns
// it; nil leaves it out). userID, the sender's presence id, is added on
// presence channels so pusher-js can pass it as metadata.user_id; "" leaves
// it out.
func ClientEvent(event, channel string, data json.RawMessage, userID string) []byte {
	b := make([]byte, 0, len(event)+len(channel)+len(data)+len(userID)+48)
	b = appendField(append(b, '{'), "event", event)
	b = appendField(append(b, ','), "channel", channel)
	if len(data) > 0 { // none sent (or lost its nil on the way through the broker): leave "data" out
		b = append(append(b, `,"data":`...), data...)
	}
	if userID != "" {
		b = appendField(append(b, ','), "user_id", userID)
	}
	return append(b, '}')
}

// serverFrame builds {"event":event,"data":"<data as a JSON string>","channel":channel},
// leaving the channel out when it is "".
func serverFrame(event, data, channel string) []byte {
	b := make([]byte, 0, len(event)+len(channel)+len(data)+len(data)/8+40)
	b = appendField(append(b, '{'), "event", event)
	b = appendField(append(b, ','), "data", data)
	if channel != "" {
		b = appendField(append(b, ','), "channel", channel)
	}
	return append(b, '}')
}

func appendUserID(b []byte, m Member) []byte {
	if m.RawID != nil {
		return append(b, m.RawID...)
	}
	return appendString(b, m.ID)
}

func appendRawOrNull(b []byte, raw json.RawMessage) []byte {
	if raw == nil {
		return append(b, "null"...)
	}
	return append(b, raw...)
}
