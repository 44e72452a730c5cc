package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"
)

// SignatureHeader carries the signature of a call to an http(s):// endpoint
// when endpoint_secret is set, so that the endpoint can refuse calls that
// do not come from this server (presence hooks and authorize answers must
// not be forgeable from the internet, SPEC §2):
//
//	X-Realtime-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<METHOD>.<path?query>.<body>")>
//
// The endpoint recomputes v1 over the request it received, compares in
// constant time, and refuses a t more than SignatureTolerance away from
// its clock (replays). php/src/EndpointSignature.php (Realtime\EndpointSignature::verify) does exactly that.
const SignatureHeader = "X-Realtime-Signature"

// SignatureTolerance is how far t may be from the endpoint's clock.
const SignatureTolerance = 5 * time.Minute

// Sign returns the SignatureHeader value for a request.
func Sign(secret string, at time.Time, method, requestURI string, body []byte) string {
	t := strconv.FormatInt(at.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(t + "." + method + "." + requestURI + "."))
	mac.Write(body)
	return "t=" + t + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}
