package bridge

import (
	"context"
	"os"
	"testing"

	"github.com/frankenphp-realtime/realtime/internal/hub"
)

type fakeAPI struct{ hub.API }

// The registry is a stack: during a reload the newest live hub is current,
// and removing it (a configuration that failed to start) makes the
// previous one current again.
func TestRegistryIsAStack(t *testing.T) {
	a, b := &fakeAPI{}, &fakeAPI{}
	if Current() != nil {
		t.Fatal("no hub registered yet")
	}
	Register(a)
	Register(b)
	if Current() != b {
		t.Fatal("the newest hub is current")
	}
	Unregister(b)
	if Current() != a {
		t.Fatal("removing the newest makes the previous one current")
	}
	Unregister(a)
	Unregister(a) // removing twice is harmless
	if Current() != nil {
		t.Fatal("nothing left")
	}
}

func TestInternalCallTokens(t *testing.T) {
	token, end := BeginInternalCall()
	if !IsInternalCall(token) {
		t.Fatal("a token is valid during its call")
	}
	other, endOther := BeginInternalCall()
	defer endOther()
	if other == token || len(token) != 48 {
		t.Fatalf("tokens are random 48-hex strings: %q %q", token, other)
	}
	end()
	for _, bad := range []string{token, "", "x", token[:47] + "0"} {
		if IsInternalCall(bad) {
			t.Errorf("%q must not be valid", bad)
		}
	}
}

func TestValkeyAPIRejectsABadMaxMessageSize(t *testing.T) {
	t.Setenv(EnvMaxMessageSize, "lots")
	if _, err := valkeyAPI("127.0.0.1:1", os.Getenv); err == nil {
		t.Fatal("REALTIME_MAX_MESSAGE_SIZE=lots must be an error naming it")
	}
	t.Setenv(EnvMaxMessageSize, "10")
	api, err := valkeyAPI("127.0.0.1:1", os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	err = api.Trigger(context.Background(), hub.Publication{Channels: []string{"a"}, Data: []byte("01234567890")})
	if !hub.IsInputError(err) {
		t.Fatalf("an 11-byte message over a 10-byte limit is an input error: %v", err)
	}
}
