package pusher

import (
	"encoding/json"
	"testing"
	"time"
)

func TestServerFramesGolden(t *testing.T) {
	member2 := Member{ID: "2", RawID: json.RawMessage(`2`), Info: json.RawMessage(`{"name":"Test User 2"}`)}
	member3 := Member{ID: "3", RawID: json.RawMessage(`3`), Info: json.RawMessage(`{"name":"Test User 3"}`)}
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		// Golden frames of Reverb's tests/Feature/Protocols/Pusher/Reverb/ServerTest.php (PUSHER.md §13).
		{"reverb subscription_succeeded", SubscriptionSucceeded("test-channel"),
			`{"event":"pusher_internal:subscription_succeeded","data":"{}","channel":"test-channel"}`},
		{"reverb private subscription_succeeded", SubscriptionSucceeded("private-test-channel"),
			`{"event":"pusher_internal:subscription_succeeded","data":"{}","channel":"private-test-channel"}`},
		{"reverb cache subscription_succeeded", SubscriptionSucceeded("cache-test-channel"),
			`{"event":"pusher_internal:subscription_succeeded","data":"{}","channel":"cache-test-channel"}`},
		{"reverb pong", Pong(), `{"event":"pusher:pong"}`},
		{"reverb ping", Ping(), `{"event":"pusher:ping"}`},
		{"reverb error 4009", ErrorFrame(4009, "Connection is unauthorized"),
			`{"event":"pusher:error","data":"{\"code\":4009,\"message\":\"Connection is unauthorized\"}"}`},
		{"reverb error 4001", ErrorFrame(CodeAppDoesNotExist, "Application does not exist"),
			`{"event":"pusher:error","data":"{\"code\":4001,\"message\":\"Application does not exist\"}"}`},
		{"reverb error 4201", ErrorFrame(CodePongTimeout, "Pong reply not received in time"),
			`{"event":"pusher:error","data":"{\"code\":4201,\"message\":\"Pong reply not received in time\"}"}`},
		{"reverb member_added user 2", MemberAdded("presence-test-channel", member2),
			`{"event":"pusher_internal:member_added","data":"{\"user_id\":2,\"user_info\":{\"name\":\"Test User 2\"}}","channel":"presence-test-channel"}`},
		{"reverb member_added user 3", MemberAdded("presence-test-channel", member3),
			`{"event":"pusher_internal:member_added","data":"{\"user_id\":3,\"user_info\":{\"name\":\"Test User 3\"}}","channel":"presence-test-channel"}`},
		{"reverb member_removed", MemberRemoved("presence-test-channel", member3),
			`{"event":"pusher_internal:member_removed","data":"{\"user_id\":3}","channel":"presence-test-channel"}`},
		{"reverb cache_miss", CacheMiss("private-cache-test-channel"),
			`{"event":"pusher:cache_miss","channel":"private-cache-test-channel"}`},
		{"reverb server event with backslashes", ServerEvent(`App\Events\TestEvent`, "cache-test-channel", `{"foo":"bar"}`),
			`{"event":"App\\Events\\TestEvent","data":"{\"foo\":\"bar\"}","channel":"cache-test-channel"}`},
		{"reverb client event rebroadcast", ClientEvent("client-start-typing", "test-channel", json.RawMessage(`{"id":123,"name":"Joe Dixon"}`), ""),
			`{"event":"client-start-typing","channel":"test-channel","data":{"id":123,"name":"Joe Dixon"}}`},

		// Shapes of PUSHER.md §1–§3 and SPEC §8.
		{"connection_established", ConnectionEstablished("123.456", 30*time.Second),
			`{"event":"pusher:connection_established","data":"{\"socket_id\":\"123.456\",\"activity_timeout\":30}"}`},
		{"activity_timeout rounds up", ConnectionEstablished("1.2", 1500*time.Millisecond),
			`{"event":"pusher:connection_established","data":"{\"socket_id\":\"1.2\",\"activity_timeout\":2}"}`},
		{"activity_timeout never 0", ConnectionEstablished("1.2", 0),
			`{"event":"pusher:connection_established","data":"{\"socket_id\":\"1.2\",\"activity_timeout\":1}"}`},
		{"error with null code", ErrorFrame(0, "oops"), `{"event":"pusher:error","data":"{\"code\":null,\"message\":\"oops\"}"}`},
		{"subscription_error", SubscriptionError("private-a", 401, "Invalid signature"),
			`{"event":"pusher:subscription_error","data":"{\"type\":\"AuthError\",\"error\":\"Invalid signature\",\"status\":401}","channel":"private-a"}`},
		{"subscription_error 429", SubscriptionError("news", 429, "too many subscriptions"),
			`{"event":"pusher:subscription_error","data":"{\"type\":\"AuthError\",\"error\":\"too many subscriptions\",\"status\":429}","channel":"news"}`},
		{"presence succeeded", PresenceSubscriptionSucceeded("presence-a", []Member{
			{ID: "1", RawID: json.RawMessage(`1`), Info: json.RawMessage(`{"name":"a"}`)},
			{ID: "u2"},
			{ID: "1", RawID: json.RawMessage(`1`), Info: json.RawMessage(`{"name":"dup"}`)},
			{ID: "3", RawID: json.RawMessage(`"3"`), Info: json.RawMessage(`true`)},
		}),
			`{"event":"pusher_internal:subscription_succeeded","data":"{\"presence\":{\"ids\":[1,\"u2\",\"3\"],\"hash\":{\"1\":{\"name\":\"a\"},\"u2\":null,\"3\":true},\"count\":3}}","channel":"presence-a"}`},
		{"presence succeeded, empty", PresenceSubscriptionSucceeded("presence-a", nil),
			`{"event":"pusher_internal:subscription_succeeded","data":"{\"presence\":{\"ids\":[],\"hash\":{},\"count\":0}}","channel":"presence-a"}`},
		{"member_added without info, string id", MemberAdded("presence-a", Member{ID: "7"}),
			`{"event":"pusher_internal:member_added","data":"{\"user_id\":\"7\"}","channel":"presence-a"}`},
		{"signin_success", SigninSuccess(`{"id":"1"}`),
			`{"event":"pusher:signin_success","data":"{\"user_data\":\"{\\\"id\\\":\\\"1\\\"}\"}"}`},
		{"server event without channel", ServerEvent("message", "", "hi"), `{"event":"message","data":"hi"}`},
		{"server event with empty data", ServerEvent("e", "c", ""), `{"event":"e","data":"","channel":"c"}`},
		{"escapes", ServerEvent("e\n", "c", "\"\\\t\x01\u2028\u2029\xff<&>é"),
			`{"event":"e\n","data":"\"\\\t\u0001\u2028\u2029\ufffd<&>é","channel":"c"}`},
		{"client event with presence user_id", ClientEvent("client-x", "presence-a", json.RawMessage(`"s"`), "42"),
			`{"event":"client-x","channel":"presence-a","data":"s","user_id":"42"}`},
		{"client event without data", ClientEvent("client-x", "private-a", nil, ""),
			`{"event":"client-x","channel":"private-a"}`},
		// What a data-less client event is after the broker: empty, not nil.
		{"client event with empty data", ClientEvent("client-x", "private-a", json.RawMessage{}, ""),
			`{"event":"client-x","channel":"private-a"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if string(tt.got) != tt.want {
				t.Fatalf("got  %s\nwant %s", tt.got, tt.want)
			}
			if !json.Valid(tt.got) {
				t.Fatalf("not valid JSON: %s", tt.got)
			}
		})
	}
}

// pusher-js parses a string data once more (protocol.ts decodeMessage); the
// logical content after that second parse is what clients see.
func TestServerDataDecodesTwice(t *testing.T) {
	nasty := "quote\" backslash\\ nl\n ctl\x01 bad\xff sep\u2028 <tag>& é"
	frame := ServerEvent(`App\Events\X`, "news", nasty)
	var env struct{ Event, Data, Channel string }
	if err := json.Unmarshal(frame, &env); err != nil {
		t.Fatal(err)
	}
	want := "quote\" backslash\\ nl\n ctl\x01 bad\ufffd sep\u2028 <tag>& é"
	if env.Event != `App\Events\X` || env.Channel != "news" || env.Data != want {
		t.Fatalf("decoded %+v", env)
	}
	presence := PresenceSubscriptionSucceeded("presence-a", []Member{{ID: nasty, Info: json.RawMessage(`{"n":"` + "x" + `"}`)}})
	if err := json.Unmarshal(presence, &env); err != nil {
		t.Fatal(err)
	}
	var data struct {
		Presence struct {
			IDs   []string                   `json:"ids"`
			Hash  map[string]json.RawMessage `json:"hash"`
			Count int                        `json:"count"`
		} `json:"presence"`
	}
	if err := json.Unmarshal([]byte(env.Data), &data); err != nil {
		t.Fatalf("presence data %s: %v", env.Data, err)
	}
	if data.Presence.Count != 1 || data.Presence.IDs[0] != want || string(data.Presence.Hash[want]) != `{"n":"x"}` {
		t.Fatalf("presence data = %+v", data)
	}
}

func TestFramesAreFresh(t *testing.T) {
	a := Pong()
	a[0] = 'x'
	if Pong()[0] != '{' {
		t.Fatal("Pong returns shared storage")
	}
}
