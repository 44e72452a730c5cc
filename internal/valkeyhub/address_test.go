package valkeyhub

import (
	"strings"
	"testing"
	"time"
)

func TestParseAddress(t *testing.T) {
	for _, tc := range []struct {
		in      string
		display string
		addr    string
		user    string
		pass    string
		db      int
		tls     bool
		dial    time.Duration
		err     string // substring of the error; "" when valid
	}{
		{in: "localhost:6379", display: "localhost:6379", addr: "localhost:6379"},
		{in: " 10.0.0.5:7000 ", display: "10.0.0.5:7000", addr: "10.0.0.5:7000"},
		{in: "valkey.internal", display: "valkey.internal:6379", addr: "valkey.internal:6379"},
		{in: "[::1]:6380", display: "[::1]:6380", addr: "[::1]:6380"},
		{in: "valkey://localhost:6379", display: "localhost:6379", addr: "localhost:6379"},
		{in: "valkey://cache", display: "cache:6379", addr: "cache:6379"},
		{in: "redis://:s3cret@cache:6379/2", display: "cache:6379", addr: "cache:6379", pass: "s3cret", db: 2},
		{in: "redis://app:p%40ss@cache/0", display: "cache:6379", addr: "cache:6379", user: "app", pass: "p@ss"},
		{in: "REDIS://cache", display: "cache:6379", addr: "cache:6379"},
		{in: "rediss://cache.example.com:6380", display: "cache.example.com:6380", addr: "cache.example.com:6380", tls: true},
		{in: "valkeys://u:p@cache.example.com", display: "cache.example.com:6379", addr: "cache.example.com:6379", user: "u", pass: "p", tls: true},
		{in: "valkey://cache?dial_timeout=750ms", display: "cache:6379", addr: "cache:6379", dial: 750 * time.Millisecond},
		{in: "valkey://[::1]:7000/1", display: "[::1]:7000", addr: "[::1]:7000", db: 1},

		{in: "", err: "address is empty"},
		{in: "   ", err: "address is empty"},
		{in: "localhost:", err: `invalid port ""`},
		{in: "localhost:http", err: `invalid port "http"`},
		{in: "localhost:70000", err: `invalid port "70000"`},
		{in: ":6379", err: "missing host"},
		{in: "::1", err: "invalid host:port"},
		{in: "http://cache:6379", err: `unsupported scheme "http"`},
		{in: "unix:///tmp/valkey.sock", err: `unsupported scheme "unix"`},
		{in: "valkey://", err: "missing host"},
		{in: "valkey:cache", err: `invalid port "cache"`},
		{in: "valkey://cache:0", err: `invalid port "0"`},
		{in: "valkey://cache/abc", err: `invalid database "abc"`},
		{in: "valkey://cache/1/2", err: `invalid database "1/2"`},
		{in: "valkey://cache?tls=true", err: `unknown option "tls"`},
		{in: "valkey://cache?dial_timeout=soon", err: "invalid dial timeout"},
		{in: "valkey://u:p w@cache%zz", err: "not a valid URL"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			opt, display, err := ParseAddress(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error = %v, want one containing %q", err, tc.err)
				}
				if !strings.HasPrefix(err.Error(), "valkey: ") {
					t.Errorf("error %q lacks the valkey: prefix", err)
				}
				if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "p w") {
					t.Errorf("error %q shows the password", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if display != tc.display {
				t.Errorf("display = %q, want %q", display, tc.display)
			}
			if len(opt.InitAddress) != 1 || opt.InitAddress[0] != tc.addr {
				t.Errorf("InitAddress = %v, want [%s]", opt.InitAddress, tc.addr)
			}
			if opt.Username != tc.user || opt.Password != tc.pass {
				t.Errorf("credentials = %q/%q, want %q/%q", opt.Username, opt.Password, tc.user, tc.pass)
			}
			if opt.SelectDB != tc.db {
				t.Errorf("SelectDB = %d, want %d", opt.SelectDB, tc.db)
			}
			if (opt.TLSConfig != nil) != tc.tls {
				t.Errorf("TLS = %v, want %v", opt.TLSConfig != nil, tc.tls)
			}
			if opt.Dialer.Timeout != tc.dial {
				t.Errorf("dial timeout = %s, want %s", opt.Dialer.Timeout, tc.dial)
			}
		})
	}
}

func TestParseAddressHidesPassword(t *testing.T) {
	_, _, err := ParseAddress("redis://app:topsecret@cache:99999")
	if err == nil || strings.Contains(err.Error(), "topsecret") {
		t.Errorf("error %v shows the password", err)
	}
}

func TestBackoffIsBoundedFullJitter(t *testing.T) {
	b := backoff{min: 50 * time.Millisecond, max: 5 * time.Second}
	for i := range 40 {
		ceiling := min(b.max, b.min<<min(i, 30))
		if d := b.next(); d <= 0 || d > ceiling {
			t.Fatalf("attempt %d: delay %s outside (0, %s]", i, d, ceiling)
		}
	}
	b.reset()
	if d := b.next(); d > 50*time.Millisecond {
		t.Errorf("after reset: %s, want <= 50ms", d)
	}
}
