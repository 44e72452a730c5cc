package pusher

import (
	"strings"
	"testing"

	"github.com/frankenphp-realtime/realtime/internal/protocol"
)

func TestValidChannelName(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"news", true},
		{"private-chat.1", true},
		{"a-b_c=d@e,f.g;h", true},
		{"App.Models.User.42", true},
		{"#server-to-user-42", true},
		{"#anything", true},
		{strings.Repeat("a", MaxChannelLength), true},
		{"#" + strings.Repeat("a", MaxChannelLength-1), true},
		{"", false},
		{"#", false},
		{"##a", false},
		{"a#b", false},
		{strings.Repeat("a", MaxChannelLength+1), false},
		{"#" + strings.Repeat("a", MaxChannelLength), false},
		{"orders:42", false}, // ':' is valid natively, refused here (see ValidChannelName)
		{"a b", false},
		{"café", false},
		{"a/b", false},
		{"a\x00", false},
		{"a|b", false},
	}
	for _, tt := range tests {
		if got := ValidChannelName(tt.name); got != tt.want {
			t.Errorf("ValidChannelName(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// Both protocols must agree on the length limit and on every name without
// ':' or '#', so that a shared channel has one rule.
func TestChannelRulesMatchNativeProtocol(t *testing.T) {
	if MaxChannelLength != protocol.MaxChannelLength {
		t.Fatalf("MaxChannelLength = %d, native %d", MaxChannelLength, protocol.MaxChannelLength)
	}
	for c := 0; c < 256; c++ {
		if c == ':' {
			continue
		}
		name := "a" + string([]byte{byte(c)})
		if ValidChannelName(name) != protocol.ValidChannel(name) {
			t.Errorf("byte %#x: pusher %v, native %v", c, ValidChannelName(name), protocol.ValidChannel(name))
		}
	}
}

func TestKindOf(t *testing.T) {
	type flags struct{ private, encrypted, presence, cache, signature, clientEvents bool }
	tests := []struct {
		name string
		kind Kind
		want flags
	}{
		{"news", Public, flags{}},
		{"private-x", Private, flags{private: true, signature: true, clientEvents: true}},
		{"private-encrypted-x", PrivateEncrypted, flags{private: true, encrypted: true, signature: true}},
		{"presence-x", Presence, flags{presence: true, signature: true, clientEvents: true}},
		{"cache-x", Cache, flags{cache: true}},
		{"private-cache-x", PrivateCache, flags{private: true, cache: true, signature: true, clientEvents: true}},
		{"private-encrypted-cache-x", PrivateEncryptedCache, flags{private: true, encrypted: true, cache: true, signature: true}},
		{"presence-cache-x", PresenceCache, flags{presence: true, cache: true, signature: true, clientEvents: true}},
		{"#server-to-user-42", ServerToUser, flags{}},
		{"#server-to-user-", Reserved, flags{}},
		{"#other", Reserved, flags{}},
		// Anchored and dash-exact: none of these is private, presence or cache.
		{"private", Public, flags{}},
		{"privatechat", Public, flags{}},
		{"presencex", Public, flags{}},
		{"cachex", Public, flags{}},
		{"my-private-x", Public, flags{}},
		{"Private-x", Public, flags{}},
		{"private-encryptedx", Private, flags{private: true, signature: true, clientEvents: true}},
		{"presence-encrypted-x", Presence, flags{presence: true, signature: true, clientEvents: true}},
		{"cache-private-x", Cache, flags{cache: true}},
	}
	for _, tt := range tests {
		k := KindOf(tt.name)
		got := flags{k.IsPrivate(), k.IsEncrypted(), k.IsPresence(), k.IsCache(), k.NeedsSignature(), k.AllowsClientEvents()}
		if k != tt.kind || got != tt.want {
			t.Errorf("KindOf(%q) = %v %+v, want %v %+v", tt.name, k, got, tt.kind, tt.want)
		}
	}
}

func TestKindString(t *testing.T) {
	want := map[Kind]string{
		Public: "public", Private: "private", PrivateEncrypted: "private-encrypted",
		Presence: "presence", Cache: "cache", PrivateCache: "private-cache",
		PrivateEncryptedCache: "private-encrypted-cache", PresenceCache: "presence-cache",
		ServerToUser: "server-to-user", Reserved: "reserved", Kind(200): "unknown",
	}
	for k, s := range want {
		if k.String() != s {
			t.Errorf("Kind(%d).String() = %q, want %q", k, k.String(), s)
		}
	}
}

func TestServerToUser(t *testing.T) {
	tests := []struct {
		name, id string
		ok       bool
	}{
		{"#server-to-user-42", "42", true},
		{"#server-to-user-a.b@c", "a.b@c", true},
		{"#server-to-user-", "", false},
		{"server-to-user-42", "", false},
		{"#server-to-users-42", "", false},
		{"private-x", "", false},
	}
	for _, tt := range tests {
		id, ok := ServerToUserID(tt.name)
		if id != tt.id && tt.ok || ok != tt.ok {
			t.Errorf("ServerToUserID(%q) = %q, %v; want %q, %v", tt.name, id, ok, tt.id, tt.ok)
		}
	}
	if ch := ServerToUserChannel("42"); ch != "#server-to-user-42" || !ValidChannelName(ch) || KindOf(ch) != ServerToUser {
		t.Errorf("ServerToUserChannel(42) = %q", ch)
	}
}
