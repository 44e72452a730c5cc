package pusher

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseEvent(t *testing.T) {
	hundred := make([]string, MaxTriggerChannels)
	for i := range hundred {
		hundred[i] = fmt.Sprintf("c%d", i)
	}
	list := func(names []string) string { b, _ := json.Marshal(names); return string(b) }
	longName := strings.Repeat("n", MaxEventNameLength)
	tests := []struct {
		name   string
		body   string
		want   Event
		status int
	}{
		{"§9 vector body (channels)", eventsBody,
			Event{Name: "foo", Data: `{"some":"data"}`, Channels: []string{"project-3"}}, 0},
		{"Laravel single channel, toOthers, info", `{"name":"App\\Events\\OrderShipped","data":"{\"id\":1}","channel":"private-orders.1","socket_id":"123.456","info":"user_count,subscription_count"}`,
			Event{Name: `App\Events\OrderShipped`, Data: `{"id":1}`, Channels: []string{"private-orders.1"}, SocketID: "123.456", Info: Info{UserCount: true, SubscriptionCount: true}}, 0},
		{"data kept verbatim", `{"name":"e","data":"  {\"b\": 2,  \"a\":1} ","channel":"c"}`,
			Event{Name: "e", Data: `  {"b": 2,  "a":1} `, Channels: []string{"c"}}, 0},
		{"empty data", `{"name":"e","data":"","channel":"c"}`, Event{Name: "e", Channels: []string{"c"}}, 0},
		{"duplicate channels removed", `{"name":"e","data":"x","channels":["a","b","a"]}`,
			Event{Name: "e", Data: "x", Channels: []string{"a", "b"}}, 0},
		{"100 channels", `{"name":"e","data":"x","channels":` + list(hundred) + `}`,
			Event{Name: "e", Data: "x", Channels: hundred}, 0},
		{"server-to-user channel", `{"name":"e","data":"x","channel":"#server-to-user-42"}`,
			Event{Name: "e", Data: "x", Channels: []string{"#server-to-user-42"}}, 0},
		{"null and empty socket_id are none", `{"name":"e","data":"x","channel":"c","socket_id":""}`,
			Event{Name: "e", Data: "x", Channels: []string{"c"}}, 0},
		{"name at the limit", `{"name":"` + longName + `","data":"x","channel":"c"}`,
			Event{Name: longName, Data: "x", Channels: []string{"c"}}, 0},
		{"data at the limit", `{"name":"e","data":"` + strings.Repeat("d", 64) + `","channel":"c"}`,
			Event{Name: "e", Data: strings.Repeat("d", 64), Channels: []string{"c"}}, 0},

		{"data over the limit", `{"name":"e","data":"` + strings.Repeat("d", 65) + `","channel":"c"}`, Event{}, 413},
		{"101 channels", `{"name":"e","data":"x","channels":` + list(append(hundred, "x")) + `}`, Event{}, 400},
		{"name too long", `{"name":"` + longName + `n","data":"x","channel":"c"}`, Event{}, 400},
		{"not JSON", `name=e`, Event{}, 400},
		{"array body", `[]`, Event{}, 400},
		{"missing name", `{"data":"x","channel":"c"}`, Event{}, 400},
		{"empty name", `{"name":"","data":"x","channel":"c"}`, Event{}, 400},
		{"numeric name", `{"name":1,"data":"x","channel":"c"}`, Event{}, 400},
		{"missing data", `{"name":"e","channel":"c"}`, Event{}, 400},
		{"object data", `{"name":"e","data":{"a":1},"channel":"c"}`, Event{}, 400},
		{"no channel", `{"name":"e","data":"x"}`, Event{}, 400},
		{"null channels", `{"name":"e","data":"x","channels":null}`, Event{}, 400},
		{"both channel and channels", `{"name":"e","data":"x","channel":"a","channels":["b"]}`, Event{}, 400},
		{"empty channels", `{"name":"e","data":"x","channels":[]}`, Event{}, 400},
		{"channels not an array", `{"name":"e","data":"x","channels":"a"}`, Event{}, 400},
		{"non-string channel in list", `{"name":"e","data":"x","channels":["a",1]}`, Event{}, 400},
		{"numeric channel", `{"name":"e","data":"x","channel":1}`, Event{}, 400},
		{"invalid channel name", `{"name":"e","data":"x","channel":"a:b"}`, Event{}, 400},
		{"invalid socket_id", `{"name":"e","data":"x","channel":"c","socket_id":"abc"}`, Event{}, 400},
		{"numeric socket_id", `{"name":"e","data":"x","channel":"c","socket_id":1.2}`, Event{}, 400},
		{"numeric info", `{"name":"e","data":"x","channel":"c","info":1}`, Event{}, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseEvent([]byte(tt.body), 64)
			if tt.status != 0 {
				if err == nil || StatusFor(err) != tt.status {
					t.Fatalf("err = %v (status %d), want status %d", err, StatusFor(err), tt.status)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
	if _, err := ParseEvent([]byte(`{"name":"e","data":"`+strings.Repeat("d", 100_000)+`","channel":"c"}`), 0); err != nil {
		t.Fatalf("maxDataSize 0 must mean no limit: %v", err)
	}
}

func TestParseBatch(t *testing.T) {
	item := func(ch, data string) string {
		return fmt.Sprintf(`{"channel":%q,"name":"e","data":%q}`, ch, data)
	}
	batch := func(items ...string) string { return `{"batch":[` + strings.Join(items, ",") + `]}` }
	ten := make([]string, MaxBatchSize)
	for i := range ten {
		ten[i] = item(fmt.Sprintf("c%d", i), "x")
	}
	tests := []struct {
		name   string
		body   string
		count  int
		status int
		msg    string
	}{
		{"two items", batch(item("a", "1"), `{"channel":"b","name":"f","data":"2","socket_id":"1.2","info":"subscription_count"}`), 2, 0, ""},
		{"ten items", batch(ten...), 10, 0, ""},
		{"empty batch", batch(), 0, 0, ""},
		{"eleven items", batch(append(ten, item("x", "x"))...), 0, 400, "over the limit of 10"},
		{"one item too large refuses all", batch(item("a", "1"), item("b", strings.Repeat("d", 65)), item("c", "3")), 0, 413, "batch[1]: data is 65 bytes"},
		{"first failure wins", batch(item("a:b", "1"), item("b", strings.Repeat("d", 65))), 0, 400, "batch[0]: invalid channel"},
		{"channels in an item", batch(`{"channels":["a"],"name":"e","data":"x"}`), 0, 400, "one channel each"},
		{"item not an object", batch(`"x"`), 0, 400, "batch[0]"},
		{"missing batch", `{}`, 0, 400, "batch must be an array"},
		{"batch not an array", `{"batch":{}}`, 0, 400, "batch must be an array"},
		{"not JSON", `x`, 0, 400, "request body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events, err := ParseBatch([]byte(tt.body), 64)
			if tt.status != 0 {
				if err == nil || StatusFor(err) != tt.status || !strings.Contains(err.Error(), tt.msg) || events != nil {
					t.Fatalf("events %v, err = %v (status %d), want status %d with %q", events, err, StatusFor(err), tt.status, tt.msg)
				}
				return
			}
			if err != nil || len(events) != tt.count {
				t.Fatalf("got %d events, %v; want %d", len(events), err, tt.count)
			}
		})
	}
	events, _ := ParseBatch([]byte(batch(item("a", "1"), `{"channel":"b","name":"f","data":"2","socket_id":"1.2","info":"subscription_count"}`)), 0)
	want := Event{Name: "f", Data: "2", Channels: []string{"b"}, SocketID: "1.2", Info: Info{SubscriptionCount: true}}
	if !reflect.DeepEqual(events[1], want) {
		t.Fatalf("item 1 = %+v", events[1])
	}
}

func TestParseInfo(t *testing.T) {
	tests := map[string]Info{
		"":                                   {},
		"user_count":                         {UserCount: true},
		"user_count,subscription_count":      {UserCount: true, SubscriptionCount: true},
		" subscription_count , cache ,bogus": {SubscriptionCount: true, Cache: true},
	}
	for in, want := range tests {
		if got := ParseInfo(in); got != want {
			t.Errorf("ParseInfo(%q) = %+v, want %+v", in, got, want)
		}
	}
}

func TestParseChannelsQuery(t *testing.T) {
	tests := []struct {
		query  string
		want   ChannelsQuery
		status int
	}{
		{"", ChannelsQuery{}, 0},
		{"filter_by_prefix=presence-&info=user_count", ChannelsQuery{Prefix: "presence-", Info: Info{UserCount: true}}, 0},
		{"filter_by_prefix=presence-room.&info=user_count,subscription_count", ChannelsQuery{Prefix: "presence-room.", Info: Info{UserCount: true, SubscriptionCount: true}}, 0},
		{"info=subscription_count,cache", ChannelsQuery{Info: Info{SubscriptionCount: true}}, 0},
		{"info=user_count", ChannelsQuery{}, 400},
		{"filter_by_prefix=private-&info=user_count", ChannelsQuery{}, 400},
		{"filter_by_prefix=presence&info=user_count", ChannelsQuery{}, 400},
	}
	for _, tt := range tests {
		q, _ := url.ParseQuery(tt.query)
		got, err := ParseChannelsQuery(q)
		if tt.status != 0 {
			if StatusFor(err) != tt.status {
				t.Errorf("%q: err = %v, want %d", tt.query, err, tt.status)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%q: got %+v, %v; want %+v", tt.query, got, err, tt.want)
		}
	}
}

func TestParseChannelQueryAndChecks(t *testing.T) {
	q := url.Values{"info": {"user_count,subscription_count,cache"}}
	if info, err := ParseChannelQuery("presence-cache-a", q); err != nil || info != (Info{true, true, true}) {
		t.Errorf("presence channel info = %+v, %v", info, err)
	}
	if _, err := ParseChannelQuery("private-a", q); StatusFor(err) != 400 {
		t.Errorf("user_count on private channel: %v", err)
	}
	if info, err := ParseChannelQuery("cache-a", url.Values{"info": {"cache"}}); err != nil || !info.Cache {
		t.Errorf("cache info = %+v, %v", info, err)
	}
	if _, err := ParseChannelQuery("a b", nil); StatusFor(err) != 400 {
		t.Errorf("invalid name: %v", err)
	}
	for ch, status := range map[string]int{"presence-a": 0, "private-a": 400, "news": 400, "presence-a:b": 400} {
		if err := CheckUsersChannel(ch); (err == nil) != (status == 0) || (err != nil && StatusFor(err) != status) {
			t.Errorf("CheckUsersChannel(%q) = %v", ch, err)
		}
	}
	for id, ok := range map[string]bool{"42": true, "a@b.c": true, "": false, "a b": false, strings.Repeat("a", 129): false} {
		if err := CheckTerminateUserID(id); (err == nil) != ok || (!ok && StatusFor(err) != 400) {
			t.Errorf("CheckTerminateUserID(%q) = %v", id, err)
		}
	}
}

func TestResponses(t *testing.T) {
	presence := ChannelStats{Name: "presence-a", Occupied: true, UserCount: 2, SubscriptionCount: 3}
	private := ChannelStats{Name: "private-b", Occupied: true, SubscriptionCount: 1}
	cached := ChannelStats{Name: "cache-c", Occupied: false, SubscriptionCount: 0,
		Cache: &CachedEvent{Event: `App\E`, Data: `{"v":1}`, TTL: 90 * time.Second}}
	all := Info{UserCount: true, SubscriptionCount: true, Cache: true}
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		{"channels, none", ChannelsResponse(nil, Info{}), `{"channels":{}}`},
		{"channels, none, with info", ChannelsResponse([]ChannelStats{}, all), `{"channels":{}}`},
		{"channels, no attributes", ChannelsResponse([]ChannelStats{presence, private}, Info{}), `{"channels":{"presence-a":{},"private-b":{}}}`},
		{"channels, user_count", ChannelsResponse([]ChannelStats{presence}, Info{UserCount: true}), `{"channels":{"presence-a":{"user_count":2}}}`},
		{"channels, all (no cache in lists, user_count presence only)", ChannelsResponse([]ChannelStats{presence, private, cached}, all),
			`{"channels":{"presence-a":{"user_count":2,"subscription_count":3},"private-b":{"subscription_count":1},"cache-c":{"subscription_count":0}}}`},
		{"channel, occupied only", ChannelResponse(private, Info{}), `{"occupied":true}`},
		{"channel, presence, all", ChannelResponse(presence, all), `{"occupied":true,"user_count":2,"subscription_count":3}`},
		{"channel, user_count ignored off presence", ChannelResponse(private, Info{UserCount: true}), `{"occupied":true}`},
		{"channel, cache", ChannelResponse(cached, Info{Cache: true}), `{"occupied":false,"cache":{"event":"App\\E","data":"{\"v\":1}","ttl":90}}`},
		{"channel, cache asked, none cached", ChannelResponse(private, Info{Cache: true}), `{"occupied":true}`},
		{"users", UsersResponse([]string{"1", "a\"b"}), `{"users":[{"id":"1"},{"id":"a\"b"}]}`},
		{"users, none", UsersResponse(nil), `{"users":[]}`},
		{"trigger without info", TriggerResponse([]ChannelStats{presence}, Info{}), `{}`},
		{"trigger, cache only is no info", TriggerResponse([]ChannelStats{presence}, Info{Cache: true}), `{}`},
		{"trigger with info", TriggerResponse([]ChannelStats{presence, private}, Info{UserCount: true, SubscriptionCount: true}),
			`{"channels":{"presence-a":{"user_count":2,"subscription_count":3},"private-b":{"subscription_count":1}}}`},
		{"batch without info", BatchResponse([]Event{{}, {}}, []ChannelStats{presence, private}), `{}`},
		{"batch with info on one item", BatchResponse([]Event{{Info: Info{UserCount: true, SubscriptionCount: true}}, {}}, []ChannelStats{presence, private}),
			`{"batch":[{"user_count":2,"subscription_count":3},{}]}`},
		{"batch with fewer stats", BatchResponse([]Event{{Info: Info{SubscriptionCount: true}}, {Info: Info{SubscriptionCount: true}}}, []ChannelStats{private}),
			`{"batch":[{"subscription_count":1},{"subscription_count":0}]}`},
		{"empty", EmptyResponse(), `{}`},
		{"error body", ErrorBody(&APIError{Status: 400, Message: `bad "x"`}), `{"error":"pusher: bad \"x\""}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if string(tt.got) != tt.want {
				t.Fatalf("got  %s\nwant %s", tt.got, tt.want)
			}
			if !json.Valid(tt.got) {
				t.Fatalf("invalid JSON %s", tt.got)
			}
		})
	}
}

func TestStatusFor(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{&APIError{Status: http.StatusRequestEntityTooLarge}, 413},
		{fmt.Errorf("wrapped: %w", &APIError{Status: 400}), 400},
		{fmt.Errorf("%w: x", ErrStaleTimestamp), 401},
		{ErrBadSignature, 401},
		{ErrBodyMD5, 401},
		{ErrWrongKey, 401},
		{ErrAuthVersion, 401},
		{ErrMissingAuth, 401},
		{ErrMalformedAuth, 401},
		{errors.New("other"), 500},
	}
	for _, tt := range tests {
		if got := StatusFor(tt.err); got != tt.want {
			t.Errorf("StatusFor(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}
