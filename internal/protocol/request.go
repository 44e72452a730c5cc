package protocol

import (
	"bytes"
	"encoding/json"
)

// Actions a client may request.
const (
	ActionSubscribe   = "subscribe"
	ActionUnsubscribe = "unsubscribe"
	ActionPing        = "ping"
)

// Error codes carried by error frames (SPEC §4).
const (
	CodeInvalidJSON          = "invalid_json"
	CodeUnknownAction        = "unknown_action"
	CodeInvalidChannel       = "invalid_channel"
	CodeForbidden            = "forbidden"
	CodeTooManySubscriptions = "too_many_subscriptions"
	CodeRateLimited          = "rate_limited"
	CodeInternal             = "internal"
)

// Request is one decoded client frame.
type Request struct {
	// ID is the raw JSON scalar the client attached, echoed in the reply;
	// nil when absent.
	ID      json.RawMessage
	Action  string
	Channel string
}

// Error is a request the server refuses; it becomes an error frame.
type Error struct {
	ID      json.RawMessage
	Code    string
	Message string
	Channel string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

type rawRequest struct {
	ID      json.RawMessage `json:"id"`
	Action  json.RawMessage `json:"action"`
	Channel json.RawMessage `json:"channel"`
}

// Decode parses one client text frame. It never panics, whatever the input;
// a nil *Error means the request is well-formed and names a valid channel
// where its action needs one.
func Decode(data []byte) (Request, *Error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return Request{}, &Error{Code: CodeInvalidJSON, Message: "frame is not a JSON object"}
	}
	var raw rawRequest
	if err := json.Unmarshal(trimmed, &raw); err != nil {
		return Request{}, &Error{Code: CodeInvalidJSON, Message: "frame is not valid JSON"}
	}
	req := Request{}
	if raw.ID != nil {
		if !isScalar(raw.ID) {
			return req, &Error{Code: CodeInvalidJSON, Message: "id must be a string, number, boolean or null"}
		}
		req.ID = raw.ID
	}
	action, ok := jsonString(raw.Action)
	if !ok {
		return req, &Error{ID: req.ID, Code: CodeUnknownAction, Message: "action must be one of subscribe, unsubscribe, ping"}
	}
	req.Action = action
	switch action {
	case ActionPing:
		return req, nil
	case ActionSubscribe, ActionUnsubscribe:
	default:
		return req, &Error{ID: req.ID, Code: CodeUnknownAction, Message: "unknown action; use subscribe, unsubscribe or ping"}
	}
	channel, ok := jsonString(raw.Channel)
	if !ok {
		return req, &Error{ID: req.ID, Code: CodeInvalidChannel, Message: "channel must be a string"}
	}
	if !ValidChannel(channel) {
		return req, &Error{ID: req.ID, Code: CodeInvalidChannel, Channel: printableChannel(channel),
			Message: "channel names are 1-200 bytes of A-Z a-z 0-9 _ - = @ , . ; :"}
	}
	req.Channel = channel
	return req, nil
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

func isScalar(raw json.RawMessage) bool {
	return len(raw) > 0 && raw[0] != '{' && raw[0] != '['
}

// printableChannel keeps an invalid channel name short enough to echo back.
func printableChannel(name string) string {
	if len(name) > MaxChannelLength {
		return name[:MaxChannelLength]
	}
	return name
}
