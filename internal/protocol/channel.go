// Package protocol defines the JSON wire protocol between browsers and the
// realtime hub: request decoding with limits, and server frame encoding.
package protocol

import "strings"

// MaxChannelLength is the longest valid channel name, in bytes.
const MaxChannelLength = 200

// ValidChannel reports whether name is 1–200 bytes of A-Z a-z 0-9 _ - = @ , . ; :
func ValidChannel(name string) bool {
	if len(name) == 0 || len(name) > MaxChannelLength {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !channelByte[name[i]] {
			return false
		}
	}
	return true
}

// NeedsAuthorization reports whether subscribing to the channel requires the
// authorize endpoint's consent.
func NeedsAuthorization(channel string) bool {
	return strings.HasPrefix(channel, "private-") || IsPresence(channel)
}

// IsPresence reports whether channel is a presence channel, whose subscribers
// receive join/leave events and the member list.
func IsPresence(channel string) bool {
	return strings.HasPrefix(channel, "presence-")
}

var channelByte = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "_-=@,.;:" {
		t[c] = true
	}
	return t
}()
