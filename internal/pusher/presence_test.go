package pusher

import (
	"errors"
	"strings"
	"testing"
)

func TestParseChannelData(t *testing.T) {
	bigInfo := `{"bio":"` + strings.Repeat("x", DefaultMaxUserInfoSize-10) + `"}`
	tests := []struct {
		name, in       string
		id, rawID, inf string
		wantErr        bool
	}{
		{"int id and info", `{"user_id":10,"user_info":{"name":"Mr. Channels"}}`, "10", "10", `{"name":"Mr. Channels"}`, false},
		{"string id", `{"user_id":"abc","user_info":{"a":1}}`, "abc", `"abc"`, `{"a":1}`, false},
		{"escaped string id canonicalised", `{"user_id":"\u0061bc"}`, "abc", `"abc"`, "", false},
		{"large int exact", `{"user_id":12345678901234567890123}`, "12345678901234567890123", "12345678901234567890123", "", false},
		{"negative int", `{"user_id":-5}`, "-5", "-5", "", false},
		{"no user_info", `{"user_id":7}`, "7", "7", "", false},
		{"user_info true (Laravel callback returned true)", `{"user_id":7,"user_info":true}`, "7", "7", "true", false},
		{"user_info null", `{"user_id":7,"user_info":null}`, "7", "7", "null", false},
		{"user_info compacted", "{\"user_id\":7,\"user_info\":{ \"a\" : [1, 2] }}", "7", "7", `{"a":[1,2]}`, false},
		{"extra members ignored", `{"user_id":7,"other":1}`, "7", "7", "", false},
		{"leading whitespace", ` {"user_id":7}`, "7", "7", "", false},
		{"info at the limit", `{"user_id":1,"user_info":` + bigInfo + `}`, "1", "1", bigInfo, false},
		{"id at the limit", `{"user_id":"` + strings.Repeat("a", 128) + `"}`, strings.Repeat("a", 128), `"` + strings.Repeat("a", 128) + `"`, "", false},
		{"id too long", `{"user_id":"` + strings.Repeat("a", 129) + `"}`, "", "", "", true},
		{"info too large", `{"user_id":1,"user_info":"` + strings.Repeat("x", DefaultMaxUserInfoSize) + `"}`, "", "", "", true},
		{"empty string id", `{"user_id":""}`, "", "", "", true},
		{"null id", `{"user_id":null}`, "", "", "", true},
		{"missing id", `{"user_info":{}}`, "", "", "", true},
		{"bool id", `{"user_id":true}`, "", "", "", true},
		{"object id", `{"user_id":{}}`, "", "", "", true},
		{"id with space", `{"user_id":"a b"}`, "", "", "", true},
		{"id with control", `{"user_id":"a\u0001"}`, "", "", "", true},
		{"empty", ``, "", "", "", true},
		{"array", `[{"user_id":1}]`, "", "", "", true},
		{"string", `"{\"user_id\":1}"`, "", "", "", true},
		{"truncated", `{"user_id":1`, "", "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ParseChannelData(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ErrInvalidChannelData) {
					t.Fatalf("err = %v, want ErrInvalidChannelData", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.ID != tt.id || string(m.RawID) != tt.rawID || string(m.Info) != tt.inf || (tt.inf == "") != (m.Info == nil) {
				t.Fatalf("got %q %s %s, want %q %s %s", m.ID, m.RawID, m.Info, tt.id, tt.rawID, tt.inf)
			}
		})
	}
}

func TestMemberLimits(t *testing.T) {
	l := MemberLimits{MaxUserIDLength: 3, MaxUserInfoSize: 8}
	if _, err := l.ParseChannelData(`{"user_id":"abcd"}`); err == nil || !strings.Contains(err.Error(), "over the limit of 3") {
		t.Fatalf("id limit: %v", err)
	}
	if _, err := l.ParseChannelData(`{"user_id":1,"user_info":{"a":123}}`); err == nil || !strings.Contains(err.Error(), "over the limit of 8") {
		t.Fatalf("info limit: %v", err)
	}
	// The info limit counts compact bytes: whitespace is not charged.
	if _, err := l.ParseChannelData(`{"user_id":1,"user_info":{ "a" : 12 }}`); err != nil {
		t.Fatalf("compact info within limit refused: %v", err)
	}
	if _, err := l.ParseUserData(`{"id":"abcd"}`); !errors.Is(err, ErrInvalidUserData) {
		t.Fatalf("user data id limit: %v", err)
	}
}

func TestParseUserData(t *testing.T) {
	tests := []struct {
		in, id string
	}{
		{`{"id":"12345"}`, "12345"},
		{`{"id":"u1","user_info":{"name":"x"},"watchlist":["u2"]}`, "u1"},
		{`{"id":12345}`, ""},
		{`{"id":""}`, ""},
		{`{"id":null}`, ""},
		{`{"user_info":{}}`, ""},
		{`{"id":"a b"}`, ""},
		{`["12345"]`, ""},
		{`not json`, ""},
		{``, ""},
	}
	for _, tt := range tests {
		u, err := ParseUserData(tt.in)
		if tt.id == "" {
			if !errors.Is(err, ErrInvalidUserData) {
				t.Errorf("ParseUserData(%q) err = %v, want ErrInvalidUserData", tt.in, err)
			}
			continue
		}
		if err != nil || u.ID != tt.id {
			t.Errorf("ParseUserData(%q) = %+v, %v; want id %q", tt.in, u, err, tt.id)
		}
	}
}

func TestValidUserID(t *testing.T) {
	tests := []struct {
		id   string
		max  int
		want bool
	}{
		{"42", 0, true},
		{"user@example.com", 0, true},
		{"auth0|abc", 0, true},
		{"héllo", 0, true},
		{strings.Repeat("a", 128), 0, true},
		{strings.Repeat("a", 129), 0, false},
		{"abcd", 3, false},
		{"", 0, false},
		{"a b", 0, false},
		{"a\tb", 0, false},
		{"a\u00a0b", 0, false}, // no-break space
		{"a\x7f", 0, false},
		{"a\xff", 0, false},
	}
	for _, tt := range tests {
		if got := ValidUserID(tt.id, tt.max); got != tt.want {
			t.Errorf("ValidUserID(%q, %d) = %v, want %v", tt.id, tt.max, got, tt.want)
		}
	}
}
