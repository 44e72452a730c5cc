package pusher

import "strings"

// MaxChannelLength is the longest valid channel name, in bytes. It equals the
// native protocol's limit (protocol.MaxChannelLength, SPEC §4/§8) so that a
// channel shared by both protocols has one rule; Soketi uses 200 as well.
const MaxChannelLength = 200

// ValidChannelName reports whether name is a Pusher channel name: 1–200
// bytes matching ^#?[-a-zA-Z0-9_=@,.;]+$ (the pattern pusher-http-php
// enforces before it signs or triggers anything).
//
// Reconciling with the native rule (internal/protocol, "A-Z a-z 0-9 _ - = @
// , . ; :"): the two sets differ in ':' and a leading '#', and each side keeps
// its own on purpose.
//   - ':' is refused here because it separates the fields of every signed
//     string: with "private-a:b" allowed, the signature for channel
//     "private-a" with channel data "b" would also authorise "private-a:b".
//     A native channel with ':' is therefore unreachable by Pusher clients,
//     as it is for pusher-http-php, which refuses such names.
//   - '#' marks server-side channels (#server-to-user-{id}); native clients
//     cannot name them, so they stay Pusher-only.
//
// Every other name is valid for both protocols and means the same channel.
func ValidChannelName(name string) bool {
	if len(name) > MaxChannelLength {
		return false
	}
	name = strings.TrimPrefix(name, "#")
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !channelByte[name[i]] {
			return false
		}
	}
	return true
}

var channelByte = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "-_=@,.;" {
		t[c] = true
	}
	return t
}()

// Kind is a channel's type, given by its name's prefix (PUSHER.md §4).
type Kind uint8

// Channel kinds. The cache variants behave like their base kind and also
// remember the last server event.
const (
	Public Kind = iota
	Private
	PrivateEncrypted
	Presence
	Cache
	PrivateCache
	PrivateEncryptedCache
	PresenceCache
	// ServerToUser is #server-to-user-{id}: open only to the connection
	// signed in as {id}.
	ServerToUser
	// Reserved is any other name starting with '#': Pusher keeps that
	// namespace for server-side channels, so clients may not subscribe.
	Reserved
)

// ServerToUserPrefix starts the channel of one signed-in user.
const ServerToUserPrefix = "#server-to-user-"

// kindPrefixes is ordered longest first where one prefix extends another
// ("private-encrypted-cache-" before "private-encrypted-" before "private-").
// Matching is exact and anchored, dash included: Reverb's startsWith
// ("private") and Soketi's unanchored patterns would make "privateer" or
// "my-private-x" private, which Pusher does not.
var kindPrefixes = []struct {
	prefix string
	kind   Kind
}{
	{"private-encrypted-cache-", PrivateEncryptedCache},
	{"private-encrypted-", PrivateEncrypted},
	{"private-cache-", PrivateCache},
	{"private-", Private},
	{"presence-cache-", PresenceCache},
	{"presence-", Presence},
	{"cache-", Cache},
}

// KindOf classifies a channel name. It does not validate the name.
func KindOf(name string) Kind {
	if strings.HasPrefix(name, "#") {
		if _, ok := ServerToUserID(name); ok {
			return ServerToUser
		}
		return Reserved
	}
	for _, p := range kindPrefixes {
		if strings.HasPrefix(name, p.prefix) {
			return p.kind
		}
	}
	return Public
}

// IsPrivate reports whether the channel is private- (encrypted and cache
// variants included): subscribing needs the signature of socket_id:channel.
func (k Kind) IsPrivate() bool {
	return k == Private || k == PrivateEncrypted || k == PrivateCache || k == PrivateEncryptedCache
}

// IsEncrypted reports whether payloads are end-to-end encrypted: the server
// forwards them untouched and refuses client events (pusher-js never sends
// them there, and the server could not check them).
func (k Kind) IsEncrypted() bool { return k == PrivateEncrypted || k == PrivateEncryptedCache }

// IsPresence reports whether the channel tracks members.
func (k Kind) IsPresence() bool { return k == Presence || k == PresenceCache }

// IsCache reports whether the channel remembers its last server event.
func (k Kind) IsCache() bool {
	return k == Cache || k == PrivateCache || k == PrivateEncryptedCache || k == PresenceCache
}

// NeedsSignature reports whether a subscription must carry a valid auth.
func (k Kind) NeedsSignature() bool { return k.IsPrivate() || k.IsPresence() }

// AllowsClientEvents reports whether client-* events may be sent on the
// channel: private and presence ones, not encrypted ones (SPEC §8). Cache
// variants allow them too; only server events are cached.
func (k Kind) AllowsClientEvents() bool {
	return (k.IsPrivate() || k.IsPresence()) && !k.IsEncrypted()
}

// String names the kind after its prefix, for logs and errors.
func (k Kind) String() string {
	switch k {
	case Public:
		return "public"
	case ServerToUser:
		return "server-to-user"
	case Reserved:
		return "reserved"
	}
	for _, p := range kindPrefixes {
		if p.kind == k {
			return strings.TrimSuffix(p.prefix, "-")
		}
	}
	return "unknown"
}

// ServerToUserID returns the {id} of a #server-to-user-{id} channel; ok is
// false for any other name or an empty id.
func ServerToUserID(name string) (id string, ok bool) {
	id, ok = strings.CutPrefix(name, ServerToUserPrefix)
	return id, ok && id != ""
}

// ServerToUserChannel is the channel pusher-js subscribes to after signing in
// as userID. The result is a valid channel name only when userID uses the
// channel character set (pusher-http-php's sendToUser has the same limit).
func ServerToUserChannel(userID string) string { return ServerToUserPrefix + userID }
