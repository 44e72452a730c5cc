package protocol

import (
	"encoding/json"
	"unicode/utf8"
)

// The encoders below build server frames by appending to a byte slice: a
// broadcast is encoded once and the same bytes go to every subscriber.

// Connected is the first frame after the upgrade.
func Connected(userID, connectionID string) []byte {
	b := append([]byte(`{"event":"connected","user_id":`), quote(userID)...)
	b = append(b, `,"connection_id":`...)
	b = append(b, quote(connectionID)...)
	return append(b, '}')
}

// Message is a broadcast to a channel.
func Message(channel string, data []byte) []byte { return NamedMessage(channel, "", data) }

// NamedMessage is a named event published to a channel (realtime_trigger(),
// the Pusher HTTP API): a message frame with a "name" field (SPEC §5); an
// empty name is broadcast()'s unnamed message.
func NamedMessage(channel, name string, data []byte) []byte {
	b := make([]byte, 0, len(data)+len(channel)+len(name)+56)
	b = append(b, `{"event":"message","channel":`...)
	b = appendString(b, channel)
	if name != "" {
		b = append(b, `,"name":`...)
		b = appendString(b, name)
	}
	b = append(b, `,"data":`...)
	b = appendString(b, string(data))
	return append(b, '}')
}

// Direct is a message to every connection of one user.
func Direct(data []byte) []byte {
	b := make([]byte, 0, len(data)+32)
	b = append(b, `{"event":"direct","data":`...)
	b = appendString(b, string(data))
	return append(b, '}')
}

// Subscribed acknowledges a subscription. users is the presence member list,
// included only for presence channels (pass nil otherwise).
func Subscribed(id json.RawMessage, channel string, users []string) []byte {
	b := append([]byte(`{"event":"subscribed","channel":`), quote(channel)...)
	if users != nil {
		b = append(b, `,"users":[`...)
		for i, u := range users {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, u)
		}
		b = append(b, ']')
	}
	return closeWithID(b, id)
}

// Unsubscribed acknowledges an unsubscription.
func Unsubscribed(id json.RawMessage, channel string) []byte {
	b := append([]byte(`{"event":"unsubscribed","channel":`), quote(channel)...)
	return closeWithID(b, id)
}

// Pong answers an application-level ping.
func Pong(id json.RawMessage) []byte {
	return closeWithID([]byte(`{"event":"pong"`), id)
}

// Join and Leave announce presence transitions on a presence channel.
func Join(channel, userID string) []byte  { return presence("join", channel, userID) }
func Leave(channel, userID string) []byte { return presence("leave", channel, userID) }

func presence(event, channel, userID string) []byte {
	b := append([]byte(`{"event":"`+event+`","channel":`), quote(channel)...)
	b = append(b, `,"user_id":`...)
	b = appendString(b, userID)
	return append(b, '}')
}

// ErrorFrame encodes a refused request.
func ErrorFrame(e *Error) []byte {
	b := append([]byte(`{"event":"error","code":`), quote(e.Code)...)
	b = append(b, `,"message":`...)
	b = appendString(b, e.Message)
	if e.Channel != "" {
		b = append(b, `,"channel":`...)
		b = appendString(b, e.Channel)
	}
	return closeWithID(b, e.ID)
}

func closeWithID(b []byte, id json.RawMessage) []byte {
	if id != nil {
		b = append(b, `,"id":`...)
		b = append(b, id...)
	}
	return append(b, '}')
}

func quote(s string) []byte { return appendString(nil, s) }

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD, as
// encoding/json does, so every frame is valid UTF-8 text; unlike
// encoding/json, <, > and & are left alone (the frames never land in HTML).
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		// U+2028 and U+2029 are valid JSON but break JavaScript string literals.
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
