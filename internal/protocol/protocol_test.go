package protocol

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestDecode(t *testing.T) {
	long := strings.Repeat("a", MaxChannelLength)
	tests := []struct {
		name, in      string
		code          string // expected error code, "" for success
		action, chann string
		id            string
	}{
		{"subscribe", `{"action":"subscribe","channel":"news"}`, "", "subscribe", "news", ""},
		{"unsubscribe", `{"action":"unsubscribe","channel":"a-b_c=d@e,f.g;h:i"}`, "", "unsubscribe", "a-b_c=d@e,f.g;h:i", ""},
		{"ping", `{"action":"ping"}`, "", "ping", "", ""},
		{"ping with id", `{"action":"ping","id":7}`, "", "ping", "", "7"},
		{"string id", ` {"id":"x","action":"subscribe","channel":"c"}`, "", "subscribe", "c", `"x"`},
		{"max channel", `{"action":"subscribe","channel":"` + long + `"}`, "", "subscribe", long, ""},
		{"not json", `hello`, CodeInvalidJSON, "", "", ""},
		{"array", `[1,2]`, CodeInvalidJSON, "", "", ""},
		{"string", `"subscribe"`, CodeInvalidJSON, "", "", ""},
		{"truncated", `{"action":"subscribe"`, CodeInvalidJSON, "", "", ""},
		{"empty", ``, CodeInvalidJSON, "", "", ""},
		{"object id", `{"action":"ping","id":{}}`, CodeInvalidJSON, "", "", ""},
		{"no action", `{"channel":"news"}`, CodeUnknownAction, "", "", ""},
		{"numeric action", `{"action":1}`, CodeUnknownAction, "", "", ""},
		{"unknown action", `{"action":"publish","channel":"news","id":3}`, CodeUnknownAction, "", "", "3"},
		{"no channel", `{"action":"subscribe"}`, CodeInvalidChannel, "", "", ""},
		{"numeric channel", `{"action":"subscribe","channel":5}`, CodeInvalidChannel, "", "", ""},
		{"empty channel", `{"action":"subscribe","channel":""}`, CodeInvalidChannel, "", "", ""},
		{"space in channel", `{"action":"subscribe","channel":"a b"}`, CodeInvalidChannel, "", "", ""},
		{"too long", `{"action":"subscribe","channel":"` + long + `a"}`, CodeInvalidChannel, "", "", ""},
		{"unicode channel", `{"action":"subscribe","channel":"café"}`, CodeInvalidChannel, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := Decode([]byte(tt.in))
			if tt.code != "" {
				if err == nil || err.Code != tt.code {
					t.Fatalf("Decode(%q) error = %v, want code %s", tt.in, err, tt.code)
				}
				if string(err.ID) != tt.id {
					t.Fatalf("error id = %s, want %s", err.ID, tt.id)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode(%q) unexpected error %v", tt.in, err)
			}
			if req.Action != tt.action || req.Channel != tt.chann || string(req.ID) != tt.id {
				t.Fatalf("Decode(%q) = %+v", tt.in, req)
			}
		})
	}
}

func TestFramesAreValidJSON(t *testing.T) {
	nasty := "quote\" backslash\\ nl\n ctl\x01 bad\xff sep\u2028 <tag>&"
	frames := [][]byte{
		Connected("42", "c1"),
		Message("news", []byte(nasty)),
		Direct([]byte(nasty)),
		Subscribed(json.RawMessage(`"x"`), "presence-a", []string{"1", nasty}),
		Subscribed(nil, "news", nil),
		Unsubscribed(json.RawMessage(`12`), "news"),
		Pong(nil),
		Join("presence-a", "7"),
		Leave("presence-a", "7"),
		ErrorFrame(&Error{ID: json.RawMessage(`true`), Code: CodeInvalidChannel, Message: nasty, Channel: "x"}),
	}
	for _, f := range frames {
		var v map[string]any
		if err := json.Unmarshal(f, &v); err != nil {
			t.Fatalf("frame %s is not valid JSON: %v", f, err)
		}
		if !utf8.Valid(f) {
			t.Fatalf("frame %q is not valid UTF-8", f)
		}
	}
	var m struct{ Data string }
	_ = json.Unmarshal(Message("c", []byte("a\"b\n<&>")), &m)
	if m.Data != "a\"b\n<&>" {
		t.Fatalf("data round trip = %q", m.Data)
	}
}

func TestSubscribedUsersAndID(t *testing.T) {
	var v struct {
		Event, Channel string
		Users          []string
		ID             int
	}
	if err := json.Unmarshal(Subscribed(json.RawMessage(`5`), "presence-x", []string{"1", "42"}), &v); err != nil {
		t.Fatal(err)
	}
	if v.Event != "subscribed" || v.Channel != "presence-x" || len(v.Users) != 2 || v.Users[1] != "42" || v.ID != 5 {
		t.Fatalf("got %+v", v)
	}
	if got := string(Subscribed(nil, "presence-x", []string{})); got != `{"event":"subscribed","channel":"presence-x","users":[]}` {
		t.Fatalf("empty member list encodes as %s", got)
	}
}

// FuzzDecode checks that no input panics the decoder and that every error
// frame it leads to is valid JSON echoing a valid id.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"action":"subscribe","channel":"news"}`, `{"action":"ping","id":1}`, `[]`, `{"id":{}}`,
		`{"action":"unsubscribe","channel":"\u00e9"}`, "\xff\xfe", `{"action":"subscribe","channel":"a","id":"\ud800"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		req, perr := Decode(data)
		if perr != nil {
			frame := ErrorFrame(perr)
			if !json.Valid(frame) {
				t.Fatalf("error frame %q for input %q is not valid JSON", frame, data)
			}
			return
		}
		if req.Action != ActionPing && !ValidChannel(req.Channel) {
			t.Fatalf("accepted invalid channel %q", req.Channel)
		}
		if !json.Valid(Subscribed(req.ID, req.Channel, nil)) {
			t.Fatalf("reply for %q is not valid JSON", data)
		}
	})
}
