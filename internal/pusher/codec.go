package pusher

import (
	"encoding/json"
	"time"

	"github.com/frankenphp-realtime/realtime/internal/hub"
)

// ShutdownSpread is how long a shutdown spreads its 4200 closes over: pusher-js
// reconnects at once on 4200, so spreading keeps a restart from being a
// thundering herd (SPEC §8: at most 5 s).
const ShutdownSpread = 5 * time.Second

// Codec encodes hub events as Pusher frames.
type Codec struct{}

var _ hub.Codec = Codec{}

// Message: broadcast()'s unnamed message reaches Pusher subscribers as
// event "message" (SPEC §5); a named event keeps its name.
func (Codec) Message(channel, event string, data []byte) []byte {
	if event == "" {
		event = "message"
	}
	return ServerEvent(event, channel, string(data))
}

// Direct: broadcastToUser() reaches a signed-in (or presence-identified)
// connection as event "message" on #server-to-user-{id}; the HTTP API's
// sendToUser keeps its event name.
func (Codec) Direct(userID, event string, data []byte) []byte {
	if event == "" {
		event = "message"
	}
	return ServerEvent(event, ServerToUserChannel(userID), string(data))
}

func (Codec) Presence(channel string, joined bool, userID string, info []byte) []byte {
	if !KindOf(channel).IsPresence() {
		return nil
	}
	m := memberOf(userID, info)
	if joined {
		return MemberAdded(channel, m)
	}
	return MemberRemoved(channel, m)
}

func (Codec) ClientEvent(channel, event string, data []byte, userID string) []byte {
	return ClientEvent(event, channel, data, userID)
}

// DisconnectClose: disconnectUser() and terminate_connections close with
// 4009, on which pusher-js does not reconnect (SPEC §8).
func (Codec) DisconnectClose() (uint16, string) {
	return CodeUnauthorized, "disconnected by the application"
}

// SlowConsumerClose: 4100, on which pusher-js reconnects after a second.
// Not 4008: pusher-js never reconnects on 4000-4099 (PUSHER.md §8), and a
// client that fell behind a burst must come back; not 4200 either, whose
// immediate reconnect would meet the same burst.
func (Codec) SlowConsumerClose() (uint16, string) {
	return CodeOverCapacity, "slow consumer: fell too far behind"
}

func (Codec) ShutdownClose() (uint16, string, time.Duration) {
	return CodeReconnect, "server restarting", ShutdownSpread
}

// memberInfo is what the hub stores with a Pusher presence membership: the
// user_id as the client declared it (a number stays a number in member
// events) and user_info.
type memberInfo struct {
	ID   json.RawMessage `json:"id"`
	Info json.RawMessage `json:"info,omitempty"`
}

func encodeMemberInfo(m Member) []byte {
	b, _ := json.Marshal(memberInfo{ID: m.RawID, Info: m.Info})
	return b
}

// memberOf rebuilds a member from what the hub stored; a native-protocol
// user (no info) is a member with a string id and no info.
func memberOf(userID string, info []byte) Member {
	m := Member{ID: userID}
	var mi memberInfo
	if len(info) > 0 && json.Unmarshal(info, &mi) == nil {
		m.RawID, m.Info = mi.ID, mi.Info
	}
	return m
}
