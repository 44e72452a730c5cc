package pusher

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Event names of protocol 7 (PUSHER.md §3).
const (
	EventConnectionEstablished = "pusher:connection_established"
	EventError                 = "pusher:error"
	EventPing                  = "pusher:ping"
	EventPong                  = "pusher:pong"
	EventSubscribe             = "pusher:subscribe"
	EventUnsubscribe           = "pusher:unsubscribe"
	EventSignin                = "pusher:signin"
	EventSigninSuccess         = "pusher:signin_success"
	EventSubscriptionError     = "pusher:subscription_error"
	EventCacheMiss             = "pusher:cache_miss"
	EventSubscriptionSucceeded = "pusher_internal:subscription_succeeded"
	EventMemberAdded           = "pusher_internal:member_added"
	EventMemberRemoved         = "pusher_internal:member_removed"

	// ClientEventPrefix starts every event a client may send to other clients.
	ClientEventPrefix = "client-"
)

// MaxEventNameLength is the longest event name, in bytes, for client events
// and HTTP API events alike (Pusher and Soketi: 200).
const MaxEventNameLength = 200

// Client frame errors. Suggested handling (see ErrorCode): ErrFrameTooLarge
// gets pusher:error 4300, the others pusher:error 4200; the frame is
// dropped and the connection kept in every case, since one bad frame must
// not cost more than itself (SPEC §4, reverb #89).
var (
	ErrFrameTooLarge  = errors.New("pusher: frame too large")
	ErrMalformedFrame = errors.New("pusher: malformed frame")
	ErrUnknownEvent   = errors.New("pusher: unknown event")
	ErrInvalidChannel = errors.New("pusher: invalid channel")
)

// ErrorCode is the pusher:error code for an error of DecodeClientFrame.
func ErrorCode(err error) int {
	if errors.Is(err, ErrFrameTooLarge) {
		return CodeFrameTooLarge
	}
	return CodeReconnect
}

// ClientFrame is one decoded client frame. Which fields are set depends on
// Event; the rest are empty.
type ClientFrame struct {
	// Event is EventPing, EventPong, EventSubscribe, EventUnsubscribe,
	// EventSignin, or a name starting with ClientEventPrefix.
	Event string
	// Channel is data.channel of subscribe/unsubscribe and the top-level
	// channel of a client event: always a valid channel name.
	Channel string
	// Auth is the "<key>:<hex>" of subscribe and signin; "" when absent or
	// null (public channels send "").
	Auth string
	// ChannelData is a subscription's channel_data, the exact string that
	// was signed; "" when absent or null.
	ChannelData string
	// UserData is a signin's user_data, the exact string that was signed.
	UserData string
	// Data is a client event's data exactly as received, whether object,
	// string or other JSON value, to be re-broadcast byte for byte; nil
	// when absent. It is a copy: it does not alias the decoded buffer.
	Data json.RawMessage
}

type rawFrame struct {
	Event   json.RawMessage `json:"event"`
	Channel json.RawMessage `json:"channel"`
	Data    json.RawMessage `json:"data"`
}

type rawPayload struct {
	Channel     json.RawMessage `json:"channel"`
	Auth        json.RawMessage `json:"auth"`
	ChannelData json.RawMessage `json:"channel_data"`
	UserData    json.RawMessage `json:"user_data"`
}

// DecodeClientFrame parses one client text frame of at most maxSize bytes
// (maxSize ≤ 0: no limit). It never panics, whatever the input.
//
// The envelope is {"event", "channel"?, "data"?}; any top-level user_id is
// ignored, as only the server may set it. For pusher:* events data may be
// an object or a JSON string holding one (pusher-js sends objects, other
// SDKs strings; PUSHER.md §2). On error the frame holds what could be read,
// Event and the Channel as sent (cut to MaxChannelLength), so the caller can
// name the failed request, e.g. in a pusher:subscription_error.
func DecodeClientFrame(frame []byte, maxSize int) (ClientFrame, error) {
	if maxSize > 0 && len(frame) > maxSize {
		return ClientFrame{}, fmt.Errorf("%w: %d bytes, over the limit of %d", ErrFrameTooLarge, len(frame), maxSize)
	}
	if !utf8.Valid(frame) {
		// RFC 6455 text frames are UTF-8; anything else could not be
		// re-broadcast as text either.
		return ClientFrame{}, fmt.Errorf("%w: not valid UTF-8", ErrMalformedFrame)
	}
	var raw rawFrame
	if err := decodeObjectBytes(frame, &raw); err != nil {
		return ClientFrame{}, fmt.Errorf("%w: %v", ErrMalformedFrame, err)
	}
	event, ok := jsonString(raw.Event)
	if !ok {
		return ClientFrame{}, fmt.Errorf("%w: event must be a string", ErrMalformedFrame)
	}
	f := ClientFrame{Event: event}
	return f.decode(raw)
}

func (f ClientFrame) decode(raw rawFrame) (ClientFrame, error) {
	switch {
	case f.Event == EventPing || f.Event == EventPong:
		return f, nil
	case f.Event == EventSubscribe || f.Event == EventUnsubscribe || f.Event == EventSignin:
		p, err := payload(raw.Data)
		if err != nil {
			return f, err
		}
		return f.decodePayload(p)
	case strings.HasPrefix(f.Event, ClientEventPrefix):
		return f.decodeClientEvent(raw)
	}
	return ClientFrame{Event: cut(f.Event, MaxEventNameLength)}, fmt.Errorf("%w: %q", ErrUnknownEvent, cut(f.Event, MaxEventNameLength))
}

// payload reads the data of a pusher:* event: an object, or a JSON string
// that holds one.
func payload(data json.RawMessage) (rawPayload, error) {
	var p rawPayload
	if s, ok := jsonString(data); ok {
		data = []byte(s)
	}
	if err := decodeObjectBytes(data, &p); err != nil {
		return p, fmt.Errorf("%w: data %v", ErrMalformedFrame, err)
	}
	return p, nil
}

func (f ClientFrame) decodePayload(p rawPayload) (ClientFrame, error) {
	var err error
	if f.Event == EventSignin {
		if f.Auth, err = optionalString(p.Auth, "auth"); err != nil {
			return f, err
		}
		s, ok := jsonString(p.UserData)
		if !ok {
			return f, fmt.Errorf("%w: user_data must be a string", ErrMalformedFrame)
		}
		f.UserData = s
		return f, nil
	}
	if f.Channel, err = channelField(p.Channel); err != nil {
		return f, err
	}
	if f.Event == EventUnsubscribe {
		return f, nil
	}
	if f.Auth, err = optionalString(p.Auth, "auth"); err != nil {
		return f, err
	}
	f.ChannelData, err = optionalString(p.ChannelData, "channel_data")
	return f, err
}

func (f ClientFrame) decodeClientEvent(raw rawFrame) (ClientFrame, error) {
	if len(f.Event) > MaxEventNameLength {
		return ClientFrame{Event: cut(f.Event, MaxEventNameLength)},
			fmt.Errorf("%w: event name is %d bytes, over the limit of %d", ErrMalformedFrame, len(f.Event), MaxEventNameLength)
	}
	var err error
	if f.Channel, err = channelField(raw.Channel); err != nil {
		return f, err
	}
	f.Data = raw.Data
	return f, nil
}

// channelField reads a required channel name. An invalid one is still
// returned, cut to MaxChannelLength, for the error reply.
func channelField(raw json.RawMessage) (string, error) {
	name, ok := jsonString(raw)
	if !ok {
		return "", fmt.Errorf("%w: channel must be a string", ErrInvalidChannel)
	}
	if !ValidChannelName(name) {
		return cut(name, MaxChannelLength), fmt.Errorf("%w: channel names are 1-%d bytes of A-Z a-z 0-9 _ - = @ , . ; (optionally after one leading #)", ErrInvalidChannel, MaxChannelLength)
	}
	return name, nil
}

// optionalString reads a string field where absent and null mean "": a
// custom authorizer returning channel_data: null makes pusher-js send null.
func optionalString(raw json.RawMessage, field string) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	s, ok := jsonString(raw)
	if !ok {
		return "", fmt.Errorf("%w: %s must be a string", ErrMalformedFrame, field)
	}
	return s, nil
}

func jsonString(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

// decodeObjectBytes unmarshals b, which must hold one JSON object, into v.
func decodeObjectBytes(b []byte, v any) error {
	trimmed := bytes.TrimLeft(b, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return errors.New("is not a JSON object")
	}
	if err := json.Unmarshal(trimmed, v); err != nil {
		return errors.New("is not valid JSON")
	}
	return nil
}

// cut shortens s to at most n bytes without splitting a UTF-8 sequence.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Encode returns f as a client sends it (data as an object, like
// pusher-js), for test clients and for checking that decoding is lossless:
// DecodeClientFrame(f.Encode(), 0) returns f for every f it accepted.
func (f ClientFrame) Encode() []byte {
	b := append([]byte(`{"event":`), quote(f.Event)...)
	switch f.Event {
	case EventPing, EventPong:
		b = append(b, `,"data":{}`...)
	case EventSubscribe:
		b = appendField(append(b, `,"data":{`...), "channel", f.Channel)
		b = appendField(append(b, ','), "auth", f.Auth)
		if f.ChannelData != "" {
			b = appendField(append(b, ','), "channel_data", f.ChannelData)
		}
		b = append(b, '}')
	case EventUnsubscribe:
		b = append(appendField(append(b, `,"data":{`...), "channel", f.Channel), '}')
	case EventSignin:
		b = appendField(append(b, `,"data":{`...), "auth", f.Auth)
		b = append(appendField(append(b, ','), "user_data", f.UserData), '}')
	default:
		b = appendField(append(b, ','), "channel", f.Channel)
		if f.Data != nil {
			b = append(append(b, `,"data":`...), f.Data...)
		}
	}
	return append(b, '}')
}

// appendField appends "name":"value" (no separator).
func appendField(b []byte, name, value string) []byte {
	b = append(append(append(b, '"'), name...), `":`...)
	return appendString(b, value)
}
