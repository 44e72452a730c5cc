package pusher

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Signature failures (PUSHER.md §9). Every one means "not authenticated":
// HTTP 401 for API calls (see StatusFor), pusher:subscription_error or
// pusher:error 4009 on a connection. Messages name what is wrong and, for a
// bad signature, the string that was expected to be signed (as Pusher does),
// never the secret or the expected digest.
var (
	ErrMissingAuth    = errors.New("pusher: missing authentication")
	ErrMalformedAuth  = errors.New("pusher: malformed authentication")
	ErrWrongKey       = errors.New("pusher: wrong app key")
	ErrAuthVersion    = errors.New("pusher: unsupported auth_version")
	ErrStaleTimestamp = errors.New("pusher: auth_timestamp out of range")
	ErrBodyMD5        = errors.New("pusher: body_md5 does not match the body")
	ErrBadSignature   = errors.New("pusher: invalid signature")
)

// AuthVersion is the only HTTP API auth_version Pusher defines.
const AuthVersion = "1.0"

// DefaultTimestampWindow is how far auth_timestamp may be from the server's
// clock, either way: Pusher's 600 s (Reverb and Soketi skip the check, which
// lets a captured request be replayed forever).
const DefaultTimestampWindow = 600 * time.Second

// Credentials are one app's key (public: in the WebSocket URL and in every
// auth value) and secret (signs everything).
type Credentials struct {
	Key    string
	Secret string
}

// sign returns the lower-case hex HMAC-SHA256 of message keyed by the secret.
func (c Credentials) sign(message string) string {
	mac := hmac.New(sha256.New, []byte(c.Secret))
	mac.Write([]byte(message))
	return hex.EncodeToString(mac.Sum(nil))
}

// ChannelAuthString is what a subscription's auth signs:
// "socket_id:channel", plus ":channel_data" when channelData is non-empty.
// Presence channels carry channel_data; a presence subscription without it
// (pusher-js then relies on the signin identity) and private channels sign
// the short form. pusher-http-php's authorizeChannel appends custom data the
// same way for any channel.
func ChannelAuthString(socketID, channel, channelData string) string {
	s := socketID + ":" + channel
	if channelData != "" {
		s += ":" + channelData
	}
	return s
}

// UserAuthString is what a signin's auth signs: "socket_id::user::user_data".
func UserAuthString(socketID, userData string) string {
	return socketID + "::user::" + userData
}

// ChannelAuth returns the auth value "<key>:<hex>" that authorises socketID
// to subscribe to channel (with channelData for presence), as an app's
// /broadcasting/auth answers it.
func (c Credentials) ChannelAuth(socketID, channel, channelData string) string {
	return c.Key + ":" + c.sign(ChannelAuthString(socketID, channel, channelData))
}

// UserAuth returns the auth value "<key>:<hex>" of a signin as socketID with
// userData.
func (c Credentials) UserAuth(socketID, userData string) string {
	return c.Key + ":" + c.sign(UserAuthString(socketID, userData))
}

// VerifyChannelAuth checks a pusher:subscribe's auth against socketID,
// channel and the exact channelData string that was sent.
func (c Credentials) VerifyChannelAuth(auth, socketID, channel, channelData string) error {
	return c.verifyAuth(auth, ChannelAuthString(socketID, channel, channelData))
}

// VerifyUserAuth checks a pusher:signin's auth against socketID and the
// exact userData string that was sent.
func (c Credentials) VerifyUserAuth(auth, socketID, userData string) error {
	return c.verifyAuth(auth, UserAuthString(socketID, userData))
}

// verifyAuth checks "<key>:<hex>": the key part must be this app's key
// (Reverb ignores it; checking it turns a key/secret mix-up into a clear
// error) and the hex part the lower-case digest, compared in constant time.
// Upper-case hex is refused: every SDK emits lower case, and one accepted
// spelling keeps the comparison a plain byte compare.
func (c Credentials) verifyAuth(auth, message string) error {
	if auth == "" {
		return fmt.Errorf("%w: auth is empty", ErrMissingAuth)
	}
	key, sig, ok := strings.Cut(auth, ":")
	if !ok {
		return fmt.Errorf("%w: auth must be \"<app key>:<signature>\"", ErrMalformedAuth)
	}
	if key != c.Key {
		return fmt.Errorf("%w: auth is signed for key %q", ErrWrongKey, key)
	}
	if !hmac.Equal([]byte(sig), []byte(c.sign(message))) {
		return fmt.Errorf("%w: expected the lower-case hex HMAC-SHA256 of %q", ErrBadSignature, message)
	}
	return nil
}

// RequestStringToSign builds an HTTP API request's string to sign:
// "METHOD\nPATH\nQUERY" with METHOD upper-cased, PATH as given (it must start
// at /apps/..., without any server path prefix: pusher-http-php signs it
// that way) and QUERY every parameter except auth_signature, keys lower-cased
// and sorted bytewise, values unescaped, several values of one key joined by
// commas, pairs joined "k=v&...". Two keys that differ only in case are
// refused (ErrMalformedAuth): they would sign ambiguously.
func RequestStringToSign(method, path string, query url.Values) (string, error) {
	params, err := lowerParams(query)
	if err != nil {
		return "", err
	}
	return stringToSign(method, path, params), nil
}

func stringToSign(method, path string, params map[string][]string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		if k != "auth_signature" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteString(strings.ToUpper(method) + "\n" + path + "\n")
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k + "=" + strings.Join(params[k], ","))
	}
	return b.String()
}

func lowerParams(query url.Values) (map[string][]string, error) {
	params := make(map[string][]string, len(query))
	for k, v := range query {
		lk := strings.ToLower(k)
		if _, dup := params[lk]; dup {
			return nil, fmt.Errorf("%w: query parameter %q is repeated with another case", ErrMalformedAuth, lk)
		}
		params[lk] = v
	}
	return params, nil
}

// SignRequest returns a copy of query with auth_key, auth_timestamp (now),
// auth_version, body_md5 (only when body is non-empty) and auth_signature
// set, as a Pusher server SDK sends them; any of these already in query are
// replaced (whatever their case). Encode the result as the request's query
// string. now is truncated to whole seconds.
func (c Credentials) SignRequest(method, path string, query url.Values, body []byte, now time.Time) url.Values {
	signed := make(url.Values, len(query)+5)
	for k, v := range query {
		switch strings.ToLower(k) {
		case "auth_key", "auth_timestamp", "auth_version", "body_md5", "auth_signature":
		default:
			signed[k] = slices.Clone(v)
		}
	}
	signed.Set("auth_key", c.Key)
	signed.Set("auth_timestamp", strconv.FormatInt(now.Unix(), 10))
	signed.Set("auth_version", AuthVersion)
	if len(body) > 0 {
		signed.Set("body_md5", bodyMD5(body))
	}
	// Keys that differ only in case have no unambiguous signature; the
	// request is then signed over no parameters and VerifyRequest refuses it
	// (ErrMalformedAuth), which is the right outcome for such a request.
	params, _ := lowerParams(signed)
	signed.Set("auth_signature", c.sign(stringToSign(method, path, params)))
	return signed
}

// VerifyRequest authenticates an HTTP API call (PUSHER.md §9.4). path starts
// at /apps/... (strip any route prefix first), query is the parsed query
// string and body the raw request body. Checks, in order: auth_key,
// auth_timestamp, auth_version and auth_signature present once each;
// auth_key is this app's key; auth_version is 1.0; auth_timestamp within
// ±window of now (window ≤ 0: DefaultTimestampWindow); body_md5 present when
// the body is non-empty and, when present, equal to the lower-case hex MD5
// of body; then the signature, in constant time. Every error wraps one of
// the signature errors above, i.e. maps to HTTP 401.
func (c Credentials) VerifyRequest(method, path string, query url.Values, body []byte, now time.Time, window time.Duration) error {
	params, err := lowerParams(query)
	if err != nil {
		return err
	}
	auth, err := authParams(params)
	if err != nil {
		return err
	}
	if err := c.checkAuthParams(auth, now, window); err != nil {
		return err
	}
	if err := checkBodyMD5(params, body); err != nil {
		return err
	}
	message := stringToSign(method, path, params)
	if !hmac.Equal([]byte(auth["auth_signature"]), []byte(c.sign(message))) {
		return fmt.Errorf("%w: expected the lower-case hex HMAC-SHA256 of %q", ErrBadSignature, message)
	}
	return nil
}

var requiredAuthParams = []string{"auth_key", "auth_timestamp", "auth_version", "auth_signature"}

// authParams picks the required auth parameters, each exactly once: a
// repeated one would be comma-joined when signing, so it is refused rather
// than interpreted.
func authParams(params map[string][]string) (map[string]string, error) {
	auth := make(map[string]string, len(requiredAuthParams))
	for _, k := range requiredAuthParams {
		switch v := params[k]; {
		case len(v) == 0 || v[0] == "":
			return nil, fmt.Errorf("%w: %s is required", ErrMissingAuth, k)
		case len(v) > 1:
			return nil, fmt.Errorf("%w: %s is given %d times", ErrMalformedAuth, k, len(v))
		default:
			auth[k] = v[0]
		}
	}
	return auth, nil
}

func (c Credentials) checkAuthParams(auth map[string]string, now time.Time, window time.Duration) error {
	if auth["auth_key"] != c.Key {
		return fmt.Errorf("%w: auth_key %q is not this app's key", ErrWrongKey, auth["auth_key"])
	}
	if auth["auth_version"] != AuthVersion {
		return fmt.Errorf("%w: %q (want %s)", ErrAuthVersion, auth["auth_version"], AuthVersion)
	}
	ts, err := strconv.ParseInt(auth["auth_timestamp"], 10, 64)
	if err != nil {
		return fmt.Errorf("%w: auth_timestamp %q is not an integer", ErrMalformedAuth, auth["auth_timestamp"])
	}
	return checkTimestamp(ts, now, window)
}

// checkTimestamp compares in whole seconds, as the timestamp has no more
// precision; ts is compared against bounds rather than subtracted so that an
// absurd ts cannot overflow.
func checkTimestamp(ts int64, now time.Time, window time.Duration) error {
	if window <= 0 {
		window = DefaultTimestampWindow
	}
	w := int64(window / time.Second)
	n := now.Unix()
	switch {
	case ts < n-w:
		return fmt.Errorf("%w: %d s behind the server clock (allowed ±%d s)", ErrStaleTimestamp, n-ts, w)
	case ts > n+w:
		return fmt.Errorf("%w: %d s ahead of the server clock (allowed ±%d s)", ErrStaleTimestamp, ts-n, w)
	}
	return nil
}

func checkBodyMD5(params map[string][]string, body []byte) error {
	v, present := params["body_md5"]
	switch {
	case !present && len(body) == 0:
		return nil
	case !present:
		return fmt.Errorf("%w: body_md5 is required with a request body", ErrBodyMD5)
	case len(v) != 1 || v[0] != bodyMD5(body):
		return fmt.Errorf("%w: expected the lower-case hex MD5 of the %d-byte body", ErrBodyMD5, len(body))
	}
	return nil
}

func bodyMD5(body []byte) string {
	sum := md5.Sum(body)
	return hex.EncodeToString(sum[:])
}
