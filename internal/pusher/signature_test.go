package pusher

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Pusher's documented demo credentials, used by every vector of PUSHER.md §9.
var demo = Credentials{Key: "278d425bdf160c739803", Secret: "7ad3773142a6692b25b8"}

const (
	presenceData       = `{"user_id":10,"user_info":{"name":"Mr. Channels"}}`
	presenceDataPusher = `{"user_id":10,"user_info":{"name":"Mr. Pusher"}}`
	vectorTimestamp    = 1353088179
	eventsBody         = `{"name":"foo","channels":["project-3"],"data":"{\"some\":\"data\"}"}`
)

func TestChannelAndUserVectors(t *testing.T) {
	tests := []struct {
		name, auth, message, want string
		verify                    func(auth string) error
	}{
		{"private", demo.ChannelAuth("1234.1234", "private-foobar", ""),
			"1234.1234:private-foobar",
			"58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4",
			func(a string) error { return demo.VerifyChannelAuth(a, "1234.1234", "private-foobar", "") }},
		{"presence", demo.ChannelAuth("1234.1234", "presence-foobar", presenceData),
			"1234.1234:presence-foobar:" + presenceData,
			"31935e7d86dba64c2a90aed31fdc61869f9b22ba9d8863bba239c03ca481bc80",
			func(a string) error {
				return demo.VerifyChannelAuth(a, "1234.1234", "presence-foobar", presenceData)
			}},
		{"presence, older docs text", demo.ChannelAuth("1234.1234", "presence-foobar", presenceDataPusher),
			"1234.1234:presence-foobar:" + presenceDataPusher,
			"afaed3695da2ffd16931f457e338e6c9f2921fa133ce7dac49f529792be6304c",
			func(a string) error {
				return demo.VerifyChannelAuth(a, "1234.1234", "presence-foobar", presenceDataPusher)
			}},
		{"user auth", demo.UserAuth("1234.1234", `{"id":"12345"}`),
			`1234.1234::user::{"id":"12345"}`,
			"4708d583dada6a56435fb8bc611c77c359a31eebde13337c16ab43aa6de336ba",
			func(a string) error { return demo.VerifyUserAuth(a, "1234.1234", `{"id":"12345"}`) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := demo.sign(tt.message); got != tt.want {
				t.Fatalf("sign(%q) = %s, want %s", tt.message, got, tt.want)
			}
			if want := demo.Key + ":" + tt.want; tt.auth != want {
				t.Fatalf("auth = %s, want %s", tt.auth, want)
			}
			// The documented value itself must verify, not only our output.
			if err := tt.verify(demo.Key + ":" + tt.want); err != nil {
				t.Fatalf("documented signature refused: %v", err)
			}
		})
	}
}

func TestSignedStrings(t *testing.T) {
	if got := ChannelAuthString("1.2", "private-a", ""); got != "1.2:private-a" {
		t.Errorf("private string = %q", got)
	}
	if got := ChannelAuthString("1.2", "presence-a", `{"user_id":1}`); got != `1.2:presence-a:{"user_id":1}` {
		t.Errorf("presence string = %q", got)
	}
	if got := UserAuthString("1.2", `{"id":"7"}`); got != `1.2::user::{"id":"7"}` {
		t.Errorf("user string = %q", got)
	}
}

func TestVerifyChannelAuthRefusals(t *testing.T) {
	good := demo.ChannelAuth("1234.1234", "presence-foobar", presenceData)
	hexPart := strings.TrimPrefix(good, demo.Key+":")
	tests := []struct {
		name                          string
		auth, socket, channel, chData string
		want                          error
	}{
		{"empty auth", "", "1234.1234", "presence-foobar", presenceData, ErrMissingAuth},
		{"no colon", hexPart, "1234.1234", "presence-foobar", presenceData, ErrMalformedAuth},
		{"wrong key part", "otherkey:" + hexPart, "1234.1234", "presence-foobar", presenceData, ErrWrongKey},
		{"empty key part", ":" + hexPart, "1234.1234", "presence-foobar", presenceData, ErrWrongKey},
		{"upper-case hex", demo.Key + ":" + strings.ToUpper(hexPart), "1234.1234", "presence-foobar", presenceData, ErrBadSignature},
		{"truncated hex", good[:len(good)-1], "1234.1234", "presence-foobar", presenceData, ErrBadSignature},
		{"empty hex", demo.Key + ":", "1234.1234", "presence-foobar", presenceData, ErrBadSignature},
		{"other socket", good, "1234.1235", "presence-foobar", presenceData, ErrBadSignature},
		{"other channel", good, "1234.1234", "presence-foobaz", presenceData, ErrBadSignature},
		{"re-spaced channel_data", good, "1234.1234", "presence-foobar", `{"user_id": 10,"user_info":{"name":"Mr. Channels"}}`, ErrBadSignature},
		{"channel_data dropped", good, "1234.1234", "presence-foobar", "", ErrBadSignature},
		{"user signature for a channel", demo.UserAuth("1234.1234", "x"), "1234.1234", "private-x", "", ErrBadSignature},
		{"other secret", Credentials{Key: demo.Key, Secret: "x"}.ChannelAuth("1234.1234", "presence-foobar", presenceData), "1234.1234", "presence-foobar", presenceData, ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := demo.VerifyChannelAuth(tt.auth, tt.socket, tt.channel, tt.chData)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if strings.Contains(err.Error(), demo.Secret) || strings.Contains(err.Error(), hexPart) && tt.want == ErrBadSignature {
				t.Fatalf("error leaks a secret or the expected digest: %v", err)
			}
		})
	}
}

func TestVerifyUserAuthRefusals(t *testing.T) {
	good := demo.UserAuth("1234.1234", `{"id":"12345"}`)
	if err := demo.VerifyUserAuth(good, "1234.1234", `{"id":"12346"}`); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("tampered user_data: err = %v", err)
	}
	// The strings signed for channel ":user:" and for a signin coincide, as
	// do those of "private-a" with channel_data "b" and of channel
	// "private-a:b". Only the channel-name rule (no ':') keeps one kind of
	// signature from passing as another: pin both facts.
	if ChannelAuthString("1.1", ":user:", "x") != UserAuthString("1.1", "x") ||
		ChannelAuthString("1.1", "private-a", "b") != ChannelAuthString("1.1", "private-a:b", "") {
		t.Fatal("premise changed: signed strings no longer collide; revisit ValidChannelName's comment")
	}
	for _, name := range []string{":user:", "private-a:b"} {
		if ValidChannelName(name) {
			t.Fatalf("ValidChannelName(%q) = true: signatures become ambiguous", name)
		}
	}
	if err := demo.VerifyUserAuth("", "1234.1234", "{}"); !errors.Is(err, ErrMissingAuth) {
		t.Fatalf("empty auth: %v", err)
	}
}

// signedQuery builds the query of a §9 vector request around its signature.
func signedQuery(extra map[string]string, signature string) url.Values {
	q := url.Values{
		"auth_key":       {demo.Key},
		"auth_timestamp": {"1353088179"},
		"auth_version":   {"1.0"},
		"auth_signature": {signature},
	}
	for k, v := range extra {
		q.Set(k, v)
	}
	return q
}

func TestHTTPVectors(t *testing.T) {
	now := time.Unix(vectorTimestamp, 0)
	tests := []struct {
		name, method, path, body string
		extra                    map[string]string
		toSign, signature        string
	}{
		{"POST events", "POST", "/apps/3/events", eventsBody,
			map[string]string{"body_md5": "ec365a775a4cd0599faeb73354201b6f"},
			"POST\n/apps/3/events\nauth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&body_md5=ec365a775a4cd0599faeb73354201b6f",
			"da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c"},
		{"GET channels", "GET", "/apps/3/channels", "",
			map[string]string{"filter_by_prefix": "presence-", "info": "user_count"},
			"GET\n/apps/3/channels\nauth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&filter_by_prefix=presence-&info=user_count",
			"16819168891cb5dfd72b5c7a5d3d602605b26c6ba1930033b5e2eeeb65010291"},
		{"terminate", "POST", "/apps/3/users/42/terminate_connections", "{}",
			map[string]string{"body_md5": "99914b932bd37a50b983c5e7c90ae93b"},
			"POST\n/apps/3/users/42/terminate_connections\nauth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&body_md5=99914b932bd37a50b983c5e7c90ae93b",
			"2829710742ff5f799010258297d09016e2366257e3e954039eeda349073a2bcf"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := signedQuery(tt.extra, tt.signature)
			got, err := RequestStringToSign(tt.method, tt.path, q)
			if err != nil || got != tt.toSign {
				t.Fatalf("string to sign = %q, %v\nwant %q", got, err, tt.toSign)
			}
			if err := demo.VerifyRequest(tt.method, tt.path, q, []byte(tt.body), now, 0); err != nil {
				t.Fatalf("documented request refused: %v", err)
			}
			// SignRequest reproduces the documented signature.
			unsigned := signedQuery(tt.extra, "")
			unsigned.Del("auth_signature")
			signed := demo.SignRequest(tt.method, tt.path, unsigned, []byte(tt.body), now)
			if s := signed.Get("auth_signature"); s != tt.signature {
				t.Fatalf("SignRequest signature = %s, want %s", s, tt.signature)
			}
		})
	}
}

func TestRequestStringToSign(t *testing.T) {
	q := url.Values{
		"B":              {"2"},
		"a":              {"x y", "z"},
		"auth_signature": {"ignored"},
		"c":              {""},
	}
	got, err := RequestStringToSign("get", "/apps/1/channels", q)
	if want := "GET\n/apps/1/channels\na=x y,z&b=2&c="; err != nil || got != want {
		t.Fatalf("got %q, %v; want %q", got, err, want)
	}
	if _, err := RequestStringToSign("GET", "/apps/1", url.Values{"info": {"a"}, "INFO": {"b"}}); !errors.Is(err, ErrMalformedAuth) {
		t.Fatalf("case-colliding keys: err = %v", err)
	}
}

func TestVerifyRequestRefusals(t *testing.T) {
	now := time.Unix(vectorTimestamp, 0)
	body := []byte(eventsBody)
	sign := func(mutate func(url.Values)) url.Values {
		q := url.Values{}
		if mutate != nil {
			mutate(q)
		}
		return demo.SignRequest("POST", "/apps/3/events", q, body, now)
	}
	tests := []struct {
		name   string
		method string
		path   string
		query  url.Values
		body   []byte
		now    time.Time
		window time.Duration
		want   error
	}{
		{"signed by SignRequest", "POST", "/apps/3/events", sign(nil), body, now, 0, nil},
		{"lower-case method", "post", "/apps/3/events", sign(nil), body, now, 0, nil},
		{"tampered body", "POST", "/apps/3/events", sign(nil), []byte(strings.Replace(eventsBody, "foo", "fop", 1)), now, 0, ErrBodyMD5},
		{"body dropped", "POST", "/apps/3/events", sign(nil), nil, now, 0, ErrBodyMD5},
		{"tampered query", "POST", "/apps/3/events", with(sign(nil), "info", "user_count"), body, now, 0, ErrBadSignature},
		{"other path", "POST", "/apps/4/events", sign(nil), body, now, 0, ErrBadSignature},
		{"path with prefix", "POST", "/ws/apps/3/events", sign(nil), body, now, 0, ErrBadSignature},
		{"other method", "PUT", "/apps/3/events", sign(nil), body, now, 0, ErrBadSignature},
		{"upper-case signature", "POST", "/apps/3/events", upper(sign(nil), "auth_signature"), body, now, 0, ErrBadSignature},
		{"upper-case body_md5", "POST", "/apps/3/events", upper(sign(nil), "body_md5"), body, now, 0, ErrBodyMD5},
		{"wrong key", "POST", "/apps/3/events", with(sign(nil), "auth_key", "x"), body, now, 0, ErrWrongKey},
		{"auth_version 2.0", "POST", "/apps/3/events", with(sign(nil), "auth_version", "2.0"), body, now, 0, ErrAuthVersion},
		{"timestamp not a number", "POST", "/apps/3/events", with(sign(nil), "auth_timestamp", "soon"), body, now, 0, ErrMalformedAuth},
		{"601 s late", "POST", "/apps/3/events", sign(nil), body, now.Add(601 * time.Second), 0, ErrStaleTimestamp},
		{"601 s early", "POST", "/apps/3/events", sign(nil), body, now.Add(-601 * time.Second), 0, ErrStaleTimestamp},
		{"600 s late is in", "POST", "/apps/3/events", sign(nil), body, now.Add(600 * time.Second), 0, nil},
		{"600 s early is in", "POST", "/apps/3/events", sign(nil), body, now.Add(-600 * time.Second), 0, nil},
		{"custom window", "POST", "/apps/3/events", sign(nil), body, now.Add(61 * time.Second), time.Minute, ErrStaleTimestamp},
		{"absurd timestamp", "POST", "/apps/3/events", with(sign(nil), "auth_timestamp", "-9223372036854775808"), body, now, 0, ErrStaleTimestamp},
		{"missing auth_key", "POST", "/apps/3/events", without(sign(nil), "auth_key"), body, now, 0, ErrMissingAuth},
		{"missing auth_timestamp", "POST", "/apps/3/events", without(sign(nil), "auth_timestamp"), body, now, 0, ErrMissingAuth},
		{"missing auth_version", "POST", "/apps/3/events", without(sign(nil), "auth_version"), body, now, 0, ErrMissingAuth},
		{"missing auth_signature", "POST", "/apps/3/events", without(sign(nil), "auth_signature"), body, now, 0, ErrMissingAuth},
		{"missing body_md5", "POST", "/apps/3/events", without(sign(nil), "body_md5"), body, now, 0, ErrBodyMD5},
		{"missing body_md5, validly signed", "POST", "/apps/3/events", resigned(without(sign(nil), "body_md5")), body, now, 0, ErrBodyMD5},
		{"wrong body_md5, validly signed", "POST", "/apps/3/events", resigned(with(sign(nil), "body_md5", bodyMD5([]byte("x")))), body, now, 0, ErrBodyMD5},
		{"repeated auth_key", "POST", "/apps/3/events", added(sign(nil), "auth_key", demo.Key), body, now, 0, ErrMalformedAuth},
		{"case-colliding keys", "POST", "/apps/3/events", sign(func(q url.Values) { q.Set("info", "a"); q.Set("INFO", "b") }), body, now, 0, ErrMalformedAuth},
		{"upper-case param names", "POST", "/apps/3/events", renamed(sign(nil), "auth_key", "AUTH_KEY"), body, now, 0, nil},
		{"extra params signed", "POST", "/apps/3/events", sign(func(q url.Values) { q.Set("x", "a&b=c") }), body, now, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := demo.VerifyRequest(tt.method, tt.path, tt.query, tt.body, tt.now, tt.window)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if err != nil && StatusFor(err) != 401 {
				t.Fatalf("StatusFor(%v) = %d, want 401", err, StatusFor(err))
			}
			if err != nil && strings.Contains(err.Error(), demo.Secret) {
				t.Fatalf("error leaks the secret: %v", err)
			}
		})
	}
}

func TestVerifyRequestEmptyBodyMD5(t *testing.T) {
	now := time.Unix(vectorTimestamp, 0)
	// A GET has no body and no body_md5; a body_md5 of the empty body is
	// also fine, any other is not.
	q := demo.SignRequest("GET", "/apps/3/channels", nil, nil, now)
	if q.Has("body_md5") {
		t.Fatalf("SignRequest added body_md5 without a body: %v", q)
	}
	if err := demo.VerifyRequest("GET", "/apps/3/channels", q, nil, now, 0); err != nil {
		t.Fatal(err)
	}
	q.Set("body_md5", "d41d8cd98f00b204e9800998ecf8427e") // MD5 of ""
	resign(q, "GET", "/apps/3/channels")
	if err := demo.VerifyRequest("GET", "/apps/3/channels", q, nil, now, 0); err != nil {
		t.Fatalf("body_md5 of the empty body refused: %v", err)
	}
	q.Set("body_md5", "99914b932bd37a50b983c5e7c90ae93b")
	resign(q, "GET", "/apps/3/channels")
	if err := demo.VerifyRequest("GET", "/apps/3/channels", q, nil, now, 0); !errors.Is(err, ErrBodyMD5) {
		t.Fatalf("wrong body_md5 on empty body: %v", err)
	}
}

// resigned signs the events request q as it stands, as a client that
// knows the secret but sends a bad body_md5 would.
func resigned(q url.Values) url.Values {
	resign(q, "POST", "/apps/3/events")
	return q
}

// resign recomputes auth_signature over q as it stands.
func resign(q url.Values, method, path string) {
	s, err := RequestStringToSign(method, path, q)
	if err != nil {
		panic(err)
	}
	q.Set("auth_signature", demo.sign(s))
}

func TestSignRequestReplacesAuthParams(t *testing.T) {
	now := time.Unix(vectorTimestamp, 0)
	q := url.Values{"AUTH_KEY": {"stale"}, "auth_signature": {"stale"}, "info": {"user_count"}}
	signed := demo.SignRequest("GET", "/apps/3/channels/presence-a", q, nil, now)
	if signed.Has("AUTH_KEY") || signed.Get("auth_key") != demo.Key || signed.Get("info") != "user_count" {
		t.Fatalf("signed = %v", signed)
	}
	if q.Get("auth_signature") != "stale" {
		t.Fatal("SignRequest modified its input")
	}
	if err := demo.VerifyRequest("GET", "/apps/3/channels/presence-a", signed, nil, now, 0); err != nil {
		t.Fatal(err)
	}
}

func with(q url.Values, k, v string) url.Values  { q.Set(k, v); return q }
func added(q url.Values, k, v string) url.Values { q.Add(k, v); return q }
func without(q url.Values, k string) url.Values  { q.Del(k); return q }
func upper(q url.Values, k string) url.Values    { return with(q, k, strings.ToUpper(q.Get(k))) }
func renamed(q url.Values, from, to string) url.Values {
	q[to] = q[from]
	delete(q, from)
	return q
}
