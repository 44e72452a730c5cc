package caddymodule

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// A misconfiguration hint is logged once per cause and endpoint: the auth
// and the authorize endpoint answering HTML are two problems, each
// reported, and neither repeats within hintInterval.
func TestHintsAreLoggedOncePerCauseAndEndpoint(t *testing.T) {
	var out bytes.Buffer
	l := newRefusalLog(slog.New(slog.NewTextHandler(&out, nil)))
	l.hint("not_explicit", "/auth.php answered text/html (…)")
	l.hint("not_explicit", "/authorize.php answered text/html (…)")
	l.hint("not_explicit", "/auth.php answered text/html (again)")
	l.hint("bad_json", "/auth.php answered application/json without …")
	got := strings.Count(out.String(), "level=WARN")
	if got != 3 {
		t.Fatalf("%d warnings, want 3 (auth, authorize, and auth's other cause):\n%s", got, out.String())
	}
	if strings.Contains(out.String(), "again") {
		t.Errorf("a hint repeated within the interval:\n%s", out.String())
	}
}
