package pusher

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestDecodeClientFrame(t *testing.T) {
	long := strings.Repeat("a", MaxChannelLength)
	tests := []struct {
		name string
		in   string
		want ClientFrame
		err  error
	}{
		// What pusher-js 8 sends (PUSHER.md §3, verified there).
		{"ping", `{"event":"pusher:ping","data":{}}`, ClientFrame{Event: EventPing}, nil},
		{"ping without data", `{"event":"pusher:ping"}`, ClientFrame{Event: EventPing}, nil},
		{"pong", `{"event":"pusher:pong","data":{}}`, ClientFrame{Event: EventPong}, nil},
		{"public subscribe sends auth \"\"", `{"event":"pusher:subscribe","data":{"auth":"","channel":"news"}}`,
			ClientFrame{Event: EventSubscribe, Channel: "news"}, nil},
		{"private subscribe", `{"event":"pusher:subscribe","data":{"auth":"k:abc","channel":"private-a"}}`,
			ClientFrame{Event: EventSubscribe, Channel: "private-a", Auth: "k:abc"}, nil},
		{"presence subscribe keeps channel_data exactly", `{"event":"pusher:subscribe","data":{"auth":"k:abc","channel_data":"{\"user_id\": 1}","channel":"presence-a"}}`,
			ClientFrame{Event: EventSubscribe, Channel: "presence-a", Auth: "k:abc", ChannelData: `{"user_id": 1}`}, nil},
		{"subscribe with data as a JSON string", `{"event":"pusher:subscribe","data":"{\"channel\":\"news\",\"auth\":\"\"}"}`,
			ClientFrame{Event: EventSubscribe, Channel: "news"}, nil},
		{"null auth and channel_data", `{"event":"pusher:subscribe","data":{"channel":"private-a","auth":null,"channel_data":null}}`,
			ClientFrame{Event: EventSubscribe, Channel: "private-a"}, nil},
		{"server-to-user subscribe", `{"event":"pusher:subscribe","data":{"auth":"","channel":"#server-to-user-42"}}`,
			ClientFrame{Event: EventSubscribe, Channel: "#server-to-user-42"}, nil},
		{"max length channel", `{"event":"pusher:subscribe","data":{"channel":"` + long + `"}}`,
			ClientFrame{Event: EventSubscribe, Channel: long}, nil},
		{"unsubscribe", `{"event":"pusher:unsubscribe","data":{"channel":"private-a"}}`,
			ClientFrame{Event: EventUnsubscribe, Channel: "private-a"}, nil},
		{"signin", `{"event":"pusher:signin","data":{"auth":"k:abc","user_data":"{\"id\":\"1\"}"}}`,
			ClientFrame{Event: EventSignin, Auth: "k:abc", UserData: `{"id":"1"}`}, nil},
		{"client event keeps data bytes", `{"event":"client-typing","data":{"name": "Me" ,"n":1.50},"channel":"private-chat.1"}`,
			ClientFrame{Event: "client-typing", Channel: "private-chat.1", Data: json.RawMessage(`{"name": "Me" ,"n":1.50}`)}, nil},
		{"client event with string data", `{"event":"client-x","channel":"presence-a","data":"{\"a\":1}"}`,
			ClientFrame{Event: "client-x", Channel: "presence-a", Data: json.RawMessage(`"{\"a\":1}"`)}, nil},
		{"client event without data", `{"event":"client-x","channel":"presence-a"}`,
			ClientFrame{Event: "client-x", Channel: "presence-a"}, nil},
		{"client event spoofing user_id", `{"event":"client-x","channel":"presence-a","data":1,"user_id":"admin"}`,
			ClientFrame{Event: "client-x", Channel: "presence-a", Data: json.RawMessage(`1`)}, nil},
		{"client event name at limit", `{"event":"client-` + strings.Repeat("e", MaxEventNameLength-7) + `","channel":"private-a"}`,
			ClientFrame{Event: "client-" + strings.Repeat("e", MaxEventNameLength-7), Channel: "private-a"}, nil},

		{"not JSON", `hello`, ClientFrame{}, ErrMalformedFrame},
		{"empty", ``, ClientFrame{}, ErrMalformedFrame},
		{"array", `[{"event":"pusher:ping"}]`, ClientFrame{}, ErrMalformedFrame},
		{"truncated", `{"event":"pusher:ping"`, ClientFrame{}, ErrMalformedFrame},
		{"invalid UTF-8", "{\"event\":\"client-\xff\",\"channel\":\"private-a\"}", ClientFrame{}, ErrMalformedFrame},
		{"no event", `{"data":{}}`, ClientFrame{}, ErrMalformedFrame},
		{"numeric event", `{"event":1}`, ClientFrame{}, ErrMalformedFrame},
		{"unknown pusher event", `{"event":"pusher:watch"}`, ClientFrame{Event: "pusher:watch"}, ErrUnknownEvent},
		{"internal event from client", `{"event":"pusher_internal:member_added"}`, ClientFrame{Event: "pusher_internal:member_added"}, ErrUnknownEvent},
		{"plain event from client", `{"event":"OrderShipped","channel":"a"}`, ClientFrame{Event: "OrderShipped"}, ErrUnknownEvent},
		{"subscribe without data", `{"event":"pusher:subscribe"}`, ClientFrame{Event: EventSubscribe}, ErrMalformedFrame},
		{"subscribe with null data", `{"event":"pusher:subscribe","data":null}`, ClientFrame{Event: EventSubscribe}, ErrMalformedFrame},
		{"subscribe with array data", `{"event":"pusher:subscribe","data":["news"]}`, ClientFrame{Event: EventSubscribe}, ErrMalformedFrame},
		{"subscribe with non-object string data", `{"event":"pusher:subscribe","data":"news"}`, ClientFrame{Event: EventSubscribe}, ErrMalformedFrame},
		{"subscribe without channel", `{"event":"pusher:subscribe","data":{"auth":""}}`, ClientFrame{Event: EventSubscribe}, ErrInvalidChannel},
		{"subscribe with numeric channel", `{"event":"pusher:subscribe","data":{"channel":5}}`, ClientFrame{Event: EventSubscribe}, ErrInvalidChannel},
		{"subscribe with bad channel name", `{"event":"pusher:subscribe","data":{"channel":"a b"}}`, ClientFrame{Event: EventSubscribe, Channel: "a b"}, ErrInvalidChannel},
		{"subscribe with too long channel", `{"event":"pusher:subscribe","data":{"channel":"` + long + `x"}}`, ClientFrame{Event: EventSubscribe, Channel: long}, ErrInvalidChannel},
		{"subscribe with numeric auth (reverb #89)", `{"event":"pusher:subscribe","data":{"channel":"private-a","auth":1}}`, ClientFrame{Event: EventSubscribe, Channel: "private-a"}, ErrMalformedFrame},
		{"subscribe with object channel_data", `{"event":"pusher:subscribe","data":{"channel":"presence-a","auth":"k:x","channel_data":{"user_id":1}}}`,
			ClientFrame{Event: EventSubscribe, Channel: "presence-a", Auth: "k:x"}, ErrMalformedFrame},
		{"unsubscribe without channel", `{"event":"pusher:unsubscribe","data":{}}`, ClientFrame{Event: EventUnsubscribe}, ErrInvalidChannel},
		{"signin without user_data", `{"event":"pusher:signin","data":{"auth":"k:x"}}`, ClientFrame{Event: EventSignin, Auth: "k:x"}, ErrMalformedFrame},
		{"signin with object user_data", `{"event":"pusher:signin","data":{"auth":"k:x","user_data":{"id":"1"}}}`, ClientFrame{Event: EventSignin, Auth: "k:x"}, ErrMalformedFrame},
		{"signin with numeric auth", `{"event":"pusher:signin","data":{"auth":5,"user_data":"{}"}}`, ClientFrame{Event: EventSignin}, ErrMalformedFrame},
		{"client event without channel", `{"event":"client-x","data":{}}`, ClientFrame{Event: "client-x"}, ErrInvalidChannel},
		{"client event on bad channel", `{"event":"client-x","channel":"a:b","data":{}}`, ClientFrame{Event: "client-x", Channel: "a:b"}, ErrInvalidChannel},
		{"client event name too long", `{"event":"client-` + strings.Repeat("e", MaxEventNameLength-6) + `","channel":"private-a"}`,
			ClientFrame{Event: "client-" + strings.Repeat("e", MaxEventNameLength-7)}, ErrMalformedFrame},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeClientFrame([]byte(tt.in), 0)
			if !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("frame = %#v\nwant    %#v", got, tt.want)
			}
		})
	}
}

func TestDecodeClientFrameSizeLimit(t *testing.T) {
	frame := []byte(`{"event":"pusher:ping","data":{}}`)
	if _, err := DecodeClientFrame(frame, len(frame)); err != nil {
		t.Fatalf("frame at the limit refused: %v", err)
	}
	_, err := DecodeClientFrame(frame, len(frame)-1)
	if !errors.Is(err, ErrFrameTooLarge) || ErrorCode(err) != CodeFrameTooLarge {
		t.Fatalf("frame over the limit: err = %v, code %d", err, ErrorCode(err))
	}
	if _, err := DecodeClientFrame([]byte(`nope`), 0); ErrorCode(err) != CodeReconnect {
		t.Fatalf("malformed frame code = %d", ErrorCode(err))
	}
}

func TestClientEventDataIsACopy(t *testing.T) {
	buf := []byte(`{"event":"client-x","channel":"private-a","data":{"a":1}}`)
	f, err := DecodeClientFrame(buf, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range buf {
		buf[i] = 'x' // a WebSocket library may reuse its read buffer
	}
	if string(f.Data) != `{"a":1}` {
		t.Fatalf("Data aliases the input buffer: %s", f.Data)
	}
}

func TestClientFrameEncodeRoundTrip(t *testing.T) {
	frames := []ClientFrame{
		{Event: EventPing},
		{Event: EventPong},
		{Event: EventSubscribe, Channel: "news"},
		{Event: EventSubscribe, Channel: "presence-a", Auth: "k:x", ChannelData: `{"user_id":"1"}`},
		{Event: EventUnsubscribe, Channel: "news"},
		{Event: EventSignin, Auth: "k:x", UserData: `{"id":"1"}`},
		{Event: "client-x", Channel: "private-a", Data: json.RawMessage(`{"a":[1,2]}`)},
		{Event: "client-x", Channel: "private-a"},
	}
	for _, f := range frames {
		got, err := DecodeClientFrame(f.Encode(), 0)
		if err != nil || !reflect.DeepEqual(got, f) {
			t.Errorf("round trip of %s: %#v, %v", f.Encode(), got, err)
		}
	}
	want := `{"event":"pusher:subscribe","data":{"channel":"presence-a","auth":"k:x","channel_data":"{\"user_id\":\"1\"}"}}`
	if got := string(frames[3].Encode()); got != want {
		t.Errorf("Encode() = %s\nwant       %s", got, want)
	}
}

// FuzzDecodeClientFrame: the decoder never panics; every error is one of
// its sentinels; every accepted frame holds valid fields, survives an
// Encode/Decode round trip unchanged, and yields valid JSON replies.
func FuzzDecodeClientFrame(f *testing.F) {
	for _, s := range []string{
		`{"event":"pusher:ping","data":{}}`,
		`{"event":"pusher:subscribe","data":{"auth":"","channel":"news"}}`,
		`{"event":"pusher:subscribe","data":"{\"channel\":\"presence-a\",\"auth\":\"k:x\",\"channel_data\":\"{\\\"user_id\\\":1}\"}"}`,
		`{"event":"pusher:unsubscribe","data":{"channel":"#server-to-user-1"}}`,
		`{"event":"pusher:signin","data":{"auth":"k:x","user_data":"{\"id\":\"1\"}"}}`,
		`{"event":"client-typing","data":{"name":"Me"},"channel":"private-chat.1","user_id":"x"}`,
		`{"event":"client-a","channel":"presence-a","data":"\u2028\ud800"}`,
		`{"EVENT":"pusher:ping","Data":null}`,
		`{"event":"pusher:subscribe","data":{"channel":"a","auth":null,"channel_data":7}}`,
		"\xff\xfe", `[]`, `{}`, `null`, ` {"event":"pusher:pong"} `,
	} {
		f.Add([]byte(s))
	}
	const limit = 1 << 12
	f.Fuzz(func(t *testing.T, in []byte) {
		frame, err := DecodeClientFrame(in, limit)
		if len(in) > limit && !errors.Is(err, ErrFrameTooLarge) {
			t.Fatalf("frame of %d bytes not refused as too large: %v", len(in), err)
		}
		if err != nil {
			checkRefusal(t, in, frame, err)
			return
		}
		checkAccepted(t, in, frame)
	})
}

func checkRefusal(t *testing.T, in []byte, frame ClientFrame, err error) {
	t.Helper()
	known := false
	for _, e := range []error{ErrFrameTooLarge, ErrMalformedFrame, ErrUnknownEvent, ErrInvalidChannel} {
		known = known || errors.Is(err, e)
	}
	if !known {
		t.Fatalf("unexpected error %v for %q", err, in)
	}
	// The partial frame must still be safe to echo in error replies.
	if len(frame.Channel) > MaxChannelLength || !json.Valid(SubscriptionError(frame.Channel, 401, err.Error())) {
		t.Fatalf("unsafe partial frame %#v for %q", frame, in)
	}
}

func checkAccepted(t *testing.T, in []byte, frame ClientFrame) {
	t.Helper()
	switch {
	case frame.Event == EventPing || frame.Event == EventPong || frame.Event == EventSignin:
	case frame.Event == EventSubscribe || frame.Event == EventUnsubscribe || strings.HasPrefix(frame.Event, ClientEventPrefix):
		if !ValidChannelName(frame.Channel) {
			t.Fatalf("accepted invalid channel %q from %q", frame.Channel, in)
		}
	default:
		t.Fatalf("accepted unknown event %q from %q", frame.Event, in)
	}
	again, err := DecodeClientFrame(frame.Encode(), 0)
	if err != nil || !reflect.DeepEqual(again, frame) {
		t.Fatalf("re-encoding %#v as %s decodes to %#v, %v", frame, frame.Encode(), again, err)
	}
	if frame.Data != nil && !bytes.Contains(in, frame.Data) {
		t.Fatalf("client event data %s is not verbatim from %q", frame.Data, in)
	}
	reply := ClientEvent(frame.Event, frame.Channel, frame.Data, "1")
	var parsed struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(reply, &parsed); err != nil || !bytes.Equal(parsed.Data, frame.Data) {
		t.Fatalf("re-broadcast %s of %q is invalid or alters data: %v", reply, in, err)
	}
	for _, b := range [][]byte{SubscriptionSucceeded(frame.Channel), ServerEvent(frame.Event, frame.Channel, frame.UserData), SigninSuccess(frame.UserData)} {
		if !json.Valid(b) {
			t.Fatalf("reply %s for %q is not valid JSON", b, in)
		}
	}
}
