package hub

import "time"

// Codec encodes what the hub delivers into one protocol's frames. A
// protocol adapter (native, Pusher) gives every connection it attaches the
// same Codec value, and a delivery encodes each event once per codec, not
// once per connection.
//
// A method returning nil means the protocol has no frame for the event: the
// connection is skipped.
type Codec interface {
	// Message is a publication on channel; event "" is broadcast()'s
	// unnamed message. data is the application's payload, verbatim.
	Message(channel, event string, data []byte) []byte
	// Direct is a message to userID: broadcastToUser()'s (event ""), or a
	// named one (the Pusher HTTP API's sendToUser).
	Direct(userID, event string, data []byte) []byte
	// Presence is a cluster-wide join (joined) or leave of userID in
	// channel; info is the member's data (Pusher user_info), may be nil.
	// It is never sent to connections indexed under userID.
	Presence(channel string, joined bool, userID string, info []byte) []byte
	// ClientEvent is a client-to-client event, never sent back to the
	// sender's connection; userID is the sender's presence identity or "".
	ClientEvent(channel, event string, data []byte, userID string) []byte
	// DisconnectClose is the close code and reason of disconnectUser().
	DisconnectClose() (code uint16, reason string)
	// SlowConsumerClose is the close code and reason of a connection whose
	// outbound backlog went over max_pending_bytes: one on which the
	// client reconnects, after a pause if the protocol has one.
	SlowConsumerClose() (code uint16, reason string)
	// ShutdownClose is the close code and reason when the hub shuts down
	// or its backend changes; closes are spread at random over spread, so
	// that clients which reconnect at once do not all come back together.
	ShutdownClose() (code uint16, reason string, spread time.Duration)
}

// memo keeps the frame each codec produced for one delivery.
type memo struct {
	codecs [2]Codec
	frames [2][]byte
	n      int
}

// frame returns encode's result for codec, computing it once per codec.
func (m *memo) frame(codec Codec, encode func(Codec) []byte) []byte {
	for i := 0; i < m.n; i++ {
		if m.codecs[i] == codec {
			return m.frames[i]
		}
	}
	f := encode(codec)
	if m.n < len(m.codecs) {
		m.codecs[m.n], m.frames[m.n] = codec, f
		m.n++
	}
	return f
}
