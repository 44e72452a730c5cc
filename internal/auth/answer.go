package auth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxUserIDLength is the longest user id an auth endpoint may return, in
// bytes (SPEC §3).
const MaxUserIDLength = 128

// Refusal is why an endpoint's 2xx answer was not taken as one: the
// endpoint fails closed (SPEC §3, §4). Cause is short and stable, for a
// log field and for rate-limiting the log per cause; Hint tells the user
// what to fix.
type Refusal struct {
	Cause string
	Hint  string
}

func (r *Refusal) Error() string { return r.Cause + ": " + r.Hint }

// Causes of a refused answer.
const (
	CauseNotExplicit = "answer is not text/plain or application/json"
	CauseBadJSON     = "answer is not the JSON object expected"
	CauseBadUserID   = "answer is not a valid user id"
	CauseNotAllowed  = "answer does not allow"
)

// ValidUserID reports whether id is 1–128 bytes of UTF-8 with no
// whitespace or control characters (SPEC §3): anything else is more likely
// a page or a script's source than an id.
func ValidUserID(id string) bool {
	if id == "" || len(id) > MaxUserIDLength || !utf8.ValidString(id) {
		return false
	}
	return strings.IndexFunc(id, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) < 0
}

// parseUserID reads the user id of a 2xx auth answer: a text/plain body
// (surrounding whitespace trimmed) or, for application/json,
// {"user_id": "42"} (a number is taken with its digits exactly). PHP
// answers text/html unless told otherwise, so a front controller's page,
// or a script without its <?php tag, never counts as an id.
func parseUserID(endpoint string, resp *response) (string, error) {
	switch mediaType(resp) {
	case "application/json":
		var body struct {
			UserID json.RawMessage `json:"user_id"`
		}
		if err := decodeJSONObject(resp.body, &body, "user_id"); err != nil || body.UserID == nil {
			return "", &Refusal{CauseBadJSON, fmt.Sprintf(`%s answered application/json without a "user_id" (%s): answer {"user_id": "42"}`, endpoint, describeBody(resp.body))}
		}
		id, ok := jsonScalarString(body.UserID)
		if !ok || !ValidUserID(id) {
			return "", &Refusal{CauseBadUserID, fmt.Sprintf("%s answered user_id %s: a user id is 1-128 bytes with no whitespace or control characters", endpoint, truncateBody(body.UserID))}
		}
		return id, nil
	case "text/plain":
		id := strings.TrimSpace(string(resp.body))
		if !ValidUserID(id) {
			return "", &Refusal{CauseBadUserID, fmt.Sprintf("%s answered %s: a user id is 1-128 bytes with no whitespace or control characters", endpoint, describeBody(resp.body))}
		}
		return id, nil
	default:
		return "", notExplicit(endpoint, resp, `answer the user id as text/plain (header('Content-Type: text/plain')) or as application/json {"user_id": "42"}`)
	}
}

// parseAllow reads a 2xx authorize answer: only application/json
// {"allow": true} allows (SPEC §4). A page from a front controller, a
// missing script's fallback or any other body refuses.
func parseAllow(endpoint string, resp *response) error {
	if mediaType(resp) != "application/json" {
		return notExplicit(endpoint, resp, `answer application/json {"allow": true} to allow`)
	}
	var body struct {
		Allow *bool `json:"allow"`
	}
	if err := decodeJSONObject(resp.body, &body, "allow"); err != nil || body.Allow == nil {
		return &Refusal{CauseBadJSON, fmt.Sprintf(`%s answered application/json without a boolean "allow" (%s): answer {"allow": true} or {"allow": false}`, endpoint, describeBody(resp.body))}
	}
	if !*body.Allow {
		return &Refusal{CauseNotAllowed, endpoint + ` answered {"allow": false}`}
	}
	return nil
}

func notExplicit(endpoint string, resp *response, want string) *Refusal {
	got := resp.header.Get("Content-Type")
	if got == "" {
		got = "no Content-Type"
	}
	hint := fmt.Sprintf("%s answered %s (%s)", endpoint, got, describeBody(resp.body))
	if mediaType(resp) == "text/html" {
		hint += ": is the script missing, or the request routed to your front controller?"
	}
	return &Refusal{CauseNotExplicit, hint + "; " + want}
}

func mediaType(resp *response) string {
	mt, _, _ := mime.ParseMediaType(resp.header.Get("Content-Type"))
	return mt
}

// decodeJSONObject decodes one JSON object and nothing after it. The
// answer must name each of names exactly once, in exactly that case:
// encoding/json would take "Allow" for "allow" and the last of duplicate
// keys, and an answer that only resembles the contract must not count.
func decodeJSONObject(b []byte, v any, names ...string) error {
	if err := checkKeys(b, names); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the JSON object")
	}
	return nil
}

// checkKeys refuses an object whose top-level keys repeat one of names or
// spell it in another case.
func checkKeys(b []byte, names []string) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return errors.New("not a JSON object")
	}
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := t.(string)
		for _, n := range names {
			switch {
			case key == n && seen[n]:
				return fmt.Errorf("key %q given twice", n)
			case key == n:
				seen[n] = true
			case strings.EqualFold(key, n):
				return fmt.Errorf("key %q is not %q", key, n)
			}
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return err
		}
	}
	return nil
}

// jsonScalarString returns a JSON string as is, or a JSON number with its
// digits exactly as written.
func jsonScalarString(raw json.RawMessage) (string, bool) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, true
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String(), true
	}
	return "", false
}

// describeBody summarises a body for a log line without copying a whole
// page (or a secret it may hold) into the log.
func describeBody(b []byte) string {
	switch t := bytes.TrimSpace(b); {
	case len(t) == 0:
		return "an empty body"
	case looksLikePHP(t):
		return "what looks like PHP source: is the <?php tag missing, or the file served as text?"
	case len(t) > 40 || bytes.ContainsAny(t, "\r\n"):
		return fmt.Sprintf("a %d-byte body", len(b))
	default:
		return fmt.Sprintf("%q", t)
	}
}

// looksLikePHP spots a script sent as text: its tag, or a statement ending
// with ";" next to a PHP variable or call.
func looksLikePHP(b []byte) bool {
	if bytes.Contains(b, []byte("<?php")) {
		return true
	}
	return bytes.Contains(b, []byte(";")) && (bytes.Contains(b, []byte("$")) || bytes.Contains(b, []byte("echo ")) || bytes.Contains(b, []byte("();")))
}

func truncateBody(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(b)
}
