package pusher

import (
	"crypto/rand"
	"encoding/binary"
	"strconv"
)

// socketIDSpan bounds each random component: 10^18 values (about 59.8 bits),
// the largest power of ten that fits a uint64 with room for rejection
// sampling.
const socketIDSpan = 1_000_000_000_000_000_000

// socketIDLimit is the largest multiple of socketIDSpan below 2^64; drawing
// below it and reducing modulo the span keeps every value equally likely.
const socketIDLimit = socketIDSpan * 18

// NewSocketID returns a fresh socket id "<a>.<b>" where a and b are
// independent uniform random integers in [0, 10^18), written in decimal
// without padding, from crypto/rand.
//
// Uniqueness without coordination: the id carries about 119.6 random bits,
// so by the birthday bound the chance that any two of n ids ever generated
// across the cluster collide is at most n²/(2·10^36). For n = 10^9
// connections that is 5·10^-19; for n = 10^12 it is still 5·10^-13. Neither
// component encodes the node or a sequence (SPEC §8: both components random),
// so ids reveal nothing about the cluster and nothing needs to be allocated.
//
// The format matches ^\d+\.\d+$, which pusher-http-php requires of every
// socket id it signs or excludes (PUSHER.md §1).
func NewSocketID() string {
	b := make([]byte, 0, 40)
	b = strconv.AppendUint(b, randomBelowSpan(), 10)
	b = append(b, '.')
	b = strconv.AppendUint(b, randomBelowSpan(), 10)
	return string(b)
}

func randomBelowSpan() uint64 {
	var buf [8]byte
	for {
		// crypto/rand.Read never returns an error (Go ≥ 1.24: it crashes the
		// program instead, as continuing without randomness would be unsafe).
		_, _ = rand.Read(buf[:])
		if v := binary.LittleEndian.Uint64(buf[:]); v < socketIDLimit {
			return v % socketIDSpan
		}
	}
}

// ValidSocketID reports whether s matches ^\d+\.\d+$ with ASCII digits: the
// exact pattern of pusher-http-php. It deliberately sets no length limit:
// Laravel passes the browser's X-Socket-ID through pusher-http-php, which
// accepts any length, and refusing what the SDK accepts would let a client
// make the application's broadcast fail (an id we never issued simply
// matches no connection).
func ValidSocketID(s string) bool {
	dot := -1
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '.' && dot < 0:
			dot = i
		case c < '0' || c > '9':
			return false
		}
	}
	return dot > 0 && dot < len(s)-1
}
