package pusher

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode"
	"unicode/utf8"
)

// Pusher's documented presence limits (PUSHER.md §5, §11), used when a
// MemberLimits field is zero.
const (
	// DefaultMaxUserIDLength is the longest user id, in bytes.
	DefaultMaxUserIDLength = 128
	// DefaultMaxUserInfoSize is the largest user_info, in bytes of compact JSON.
	DefaultMaxUserInfoSize = 1024
)

// Errors of member and signin data. Both mean a bad subscription or signin,
// not a broken connection.
var (
	ErrInvalidChannelData = errors.New("pusher: invalid channel_data")
	ErrInvalidUserData    = errors.New("pusher: invalid user_data")
)

// Member is one presence member as a pusher:subscribe's channel_data
// declares it.
type Member struct {
	// ID is user_id as a string: the key members are deduplicated by, and
	// the id shared with native-protocol users (SPEC §8: one presence).
	ID string
	// RawID is user_id as a JSON value, echoed in member events: a number
	// stays a number (Reverb's golden frames show "user_id":2), a string is
	// re-quoted canonically. Nil means "encode ID as a string".
	RawID json.RawMessage
	// Info is user_info, compacted; nil when channel_data had none. It may
	// be any JSON value (Laravel sends true when the channel callback does).
	Info json.RawMessage
}

// User is the identity a pusher:signin's user_data declares.
type User struct {
	// ID is user_data's id: the user #server-to-user-{id}, broadcastToUser()
	// and disconnectUser() address.
	ID string
}

// MemberLimits bounds member data; a zero field means its Default.
type MemberLimits struct {
	MaxUserIDLength int
	MaxUserInfoSize int
}

// ParseChannelData parses channel_data with the default limits.
func ParseChannelData(channelData string) (Member, error) {
	return MemberLimits{}.ParseChannelData(channelData)
}

// ParseUserData parses user_data with the default limits.
func ParseUserData(userData string) (User, error) {
	return MemberLimits{}.ParseUserData(userData)
}

type rawChannelData struct {
	UserID   json.RawMessage `json:"user_id"`
	UserInfo json.RawMessage `json:"user_info"`
}

// ParseChannelData parses a presence subscription's channel_data,
// {"user_id": string|number, "user_info"?: any}. Verify the signature over
// the exact string first (PUSHER.md §5), then parse. A numeric user_id keeps
// its digits exactly as written (no float rounding of large ids). Errors
// wrap ErrInvalidChannelData.
func (l MemberLimits) ParseChannelData(channelData string) (Member, error) {
	var raw rawChannelData
	if err := decodeObject(channelData, &raw); err != nil {
		return Member{}, fmt.Errorf("%w: %v", ErrInvalidChannelData, err)
	}
	m, err := l.member(raw)
	if err != nil {
		return Member{}, fmt.Errorf("%w: %v", ErrInvalidChannelData, err)
	}
	return m, nil
}

func (l MemberLimits) member(raw rawChannelData) (Member, error) {
	id, rawID, err := userIDValue(raw.UserID)
	if err != nil {
		return Member{}, err
	}
	if err := l.checkUserID(id); err != nil {
		return Member{}, err
	}
	m := Member{ID: id, RawID: rawID}
	if raw.UserInfo == nil {
		return m, nil
	}
	var info bytes.Buffer
	if err := json.Compact(&info, raw.UserInfo); err != nil {
		return Member{}, errors.New("user_info is not valid JSON")
	}
	if max := orDefault(l.MaxUserInfoSize, DefaultMaxUserInfoSize); info.Len() > max {
		return Member{}, fmt.Errorf("user_info is %d bytes, over the limit of %d", info.Len(), max)
	}
	m.Info = info.Bytes()
	return m, nil
}

// userIDValue accepts a JSON string or number and returns it as a string
// plus its canonical JSON form.
func userIDValue(raw json.RawMessage) (string, json.RawMessage, error) {
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return "", nil, errors.New("user_id is missing")
	case raw[0] == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", nil, errors.New("user_id is not a valid string")
		}
		return s, quote(s), nil
	case raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9'):
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil {
			return "", nil, errors.New("user_id is not a valid number")
		}
		return n.String(), json.RawMessage(n.String()), nil
	}
	return "", nil, errors.New("user_id must be a string or a number")
}

type rawUserData struct {
	ID json.RawMessage `json:"id"`
}

// ParseUserData parses a pusher:signin's user_data: a JSON object whose id
// is a non-empty string (pusher-js rejects numbers there, so we do too).
// Other members (user_info, watchlist) are allowed and ignored. Verify the
// signature over the exact string first. Errors wrap ErrInvalidUserData.
func (l MemberLimits) ParseUserData(userData string) (User, error) {
	var raw rawUserData
	if err := decodeObject(userData, &raw); err != nil {
		return User{}, fmt.Errorf("%w: %v", ErrInvalidUserData, err)
	}
	if len(raw.ID) == 0 || raw.ID[0] != '"' {
		return User{}, fmt.Errorf("%w: id must be a non-empty string", ErrInvalidUserData)
	}
	var id string
	if err := json.Unmarshal(raw.ID, &id); err != nil {
		return User{}, fmt.Errorf("%w: id is not a valid string", ErrInvalidUserData)
	}
	if err := l.checkUserID(id); err != nil {
		return User{}, fmt.Errorf("%w: %v", ErrInvalidUserData, err)
	}
	return User{ID: id}, nil
}

// ValidUserID reports whether id is a user id both protocols accept: 1–max
// bytes (max ≤ 0: DefaultMaxUserIDLength) of valid UTF-8 with no whitespace
// or control characters. This is the native rule of SPEC §3, applied to
// Pusher ids too because Pusher members, signed-in users and native users
// share one presence and one disconnectUser() (SPEC §8).
func ValidUserID(id string, max int) bool {
	return MemberLimits{MaxUserIDLength: max}.checkUserID(id) == nil
}

func (l MemberLimits) checkUserID(id string) error {
	max := orDefault(l.MaxUserIDLength, DefaultMaxUserIDLength)
	switch {
	case id == "":
		return errors.New("user id is empty")
	case len(id) > max:
		return fmt.Errorf("user id is %d bytes, over the limit of %d", len(id), max)
	case !utf8.ValidString(id):
		return errors.New("user id is not valid UTF-8")
	}
	for _, r := range id {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return errors.New("user id contains whitespace or control characters")
		}
	}
	return nil
}

// decodeObject unmarshals s, which must hold one JSON object, into v.
func decodeObject(s string, v any) error { return decodeObjectBytes([]byte(s), v) }

func orDefault(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}
