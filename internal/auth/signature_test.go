package auth

import (
	"testing"
	"time"
)

// The same vector is checked on the PHP side (tests/Unit/EndpointSignatureTest.php)
// and was computed independently with openssl dgst -sha256 -hmac.
func TestSignVector(t *testing.T) {
	got := Sign("0123456789abcdef", time.Unix(1700000000, 0), "POST", "/realtime/authorize?x=1", []byte("channel=private-a&user_id=7"))
	want := "t=1700000000,v1=65b996a4a35cab20ce42e883be382d35d9b27d3b59f4f00cc209827893f6999a"
	if got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}
