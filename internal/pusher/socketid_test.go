package pusher

import (
	"regexp"
	"strings"
	"testing"
)

// pusher-http-php's pattern, verbatim (PUSHER.md §1).
var socketIDPattern = regexp.MustCompile(`^\d+\.\d+$`)

func TestNewSocketID(t *testing.T) {
	const n = 20000
	seen := make(map[string]bool, n)
	firsts := make(map[string]bool, n)
	for range n {
		id := NewSocketID()
		if !socketIDPattern.MatchString(id) || !ValidSocketID(id) {
			t.Fatalf("NewSocketID() = %q, not ^\\d+\\.\\d+$", id)
		}
		if seen[id] {
			t.Fatalf("duplicate socket id %q", id)
		}
		seen[id] = true
		first, second, _ := strings.Cut(id, ".")
		if len(first) > 18 || len(second) > 18 {
			t.Fatalf("component over 18 digits: %q", id)
		}
		firsts[first] = true
	}
	// Both components are random: the first is not a per-node constant.
	if len(firsts) < n-1 {
		t.Fatalf("only %d distinct first components in %d ids", len(firsts), n)
	}
}

func TestSocketIDDigitsLookUniform(t *testing.T) {
	// Leading digits of values uniform in [0, 10^18) are uniform too, with
	// the 18-digit values dominating; a broken reduction (say, a modulo
	// bias or a truncated draw) skews this badly.
	const n = 20000
	var lengths [20]int
	for range n {
		first, _, _ := strings.Cut(NewSocketID(), ".")
		lengths[len(first)]++
	}
	if lengths[18] < n*85/100 || lengths[17] < n*5/100 {
		t.Fatalf("component length histogram %v is not that of uniform values", lengths)
	}
}

func TestValidSocketID(t *testing.T) {
	tests := []struct {
		id   string
		want bool
	}{
		{"1.2", true},
		{"123.456", true},
		{"0.0", true},
		{"00012.3", true},
		{strings.Repeat("9", 100) + ".1", true}, // no length limit, like pusher-http-php
		{"", false},
		{".", false},
		{"1.", false},
		{".1", false},
		{"1", false},
		{"1.2.3", false},
		{"1..2", false},
		{"-1.2", false},
		{"+1.2", false},
		{"1.2 ", false},
		{" 1.2", false},
		{"1.2\n", false},
		{"a.b", false},
		{"١.٢", false}, // Arabic-Indic digits: \d in PCRE without /u is ASCII only
		{"1,2", false},
	}
	for _, tt := range tests {
		if got := ValidSocketID(tt.id); got != tt.want {
			t.Errorf("ValidSocketID(%q) = %v, want %v", tt.id, got, tt.want)
		}
		if socketIDPattern.MatchString(tt.id) != tt.want && !strings.HasSuffix(tt.id, "\n") {
			t.Errorf("test table disagrees with the PCRE pattern for %q", tt.id)
		}
	}
}
