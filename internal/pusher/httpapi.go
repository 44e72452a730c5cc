package pusher

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// HTTP API limits Pusher fixes (PUSHER.md §10, §11); the data size limit is
// the caller's (SPEC §8: max_message_size).
const (
	// MaxTriggerChannels is the most channels one event may name.
	MaxTriggerChannels = 100
	// MaxBatchSize is the most events one batch_events call may carry.
	MaxBatchSize = 10
)

// APIError is an HTTP API request refused for its content: Status is
// http.StatusBadRequest or http.StatusRequestEntityTooLarge.
type APIError struct {
	Status  int
	Message string
}

func (e *APIError) Error() string { return "pusher: " + e.Message }

func badRequest(format string, args ...any) error {
	return &APIError{Status: http.StatusBadRequest, Message: fmt.Sprintf(format, args...)}
}

// StatusFor maps an error of this package's HTTP API functions to the HTTP
// status to answer with: an *APIError's own status, 401 for the signature
// errors of VerifyRequest, 500 for anything else.
func StatusFor(err error) int {
	var apiErr *APIError
	switch {
	case errors.As(err, &apiErr):
		return apiErr.Status
	case isAuthError(err):
		return http.StatusUnauthorized
	}
	return http.StatusInternalServerError
}

func isAuthError(err error) bool {
	for _, target := range []error{ErrMissingAuth, ErrMalformedAuth, ErrWrongKey, ErrAuthVersion, ErrStaleTimestamp, ErrBodyMD5, ErrBadSignature} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// ErrorBody is the JSON body of a refused request, {"error":"<message>"}:
// pusher-http-php puts the body in its exception, so Laravel's
// BroadcastException shows it (SPEC §8: bad input gets a JSON body).
func ErrorBody(err error) []byte {
	return append(appendField([]byte{'{'}, "error", err.Error()), '}')
}

// Info is the set of attributes an info=... parameter asks for (a
// comma-separated list). Unknown attributes are ignored rather than
// refused, so a newer SDK asking for more still gets an answer.
type Info struct {
	UserCount         bool
	SubscriptionCount bool
	Cache             bool
}

// ParseInfo reads an info parameter such as "user_count,subscription_count".
func ParseInfo(s string) Info {
	var info Info
	for _, attr := range strings.Split(s, ",") {
		switch strings.TrimSpace(attr) {
		case "user_count":
			info.UserCount = true
		case "subscription_count":
			info.SubscriptionCount = true
		case "cache":
			info.Cache = true
		}
	}
	return info
}

// counts reports whether the info asks for any count.
func (i Info) counts() bool { return i.UserCount || i.SubscriptionCount }

// Event is one event to publish: the body of POST /apps/{id}/events, or one
// item of batch_events.
type Event struct {
	// Name is the event name, 1–MaxEventNameLength bytes.
	Name string
	// Data is the payload, forwarded verbatim (Laravel sends json_encode
	// output; it is never parsed).
	Data string
	// Channels are 1–MaxTriggerChannels valid channel names, duplicates
	// removed, in the order given.
	Channels []string
	// SocketID is the connection to leave out (Laravel's toOthers()); ""
	// when none.
	SocketID string
	// Info asks for channel attributes in the response.
	Info Info
}

type rawEvent struct {
	Name     json.RawMessage `json:"name"`
	Data     json.RawMessage `json:"data"`
	Channel  json.RawMessage `json:"channel"`
	Channels json.RawMessage `json:"channels"`
	SocketID json.RawMessage `json:"socket_id"`
	Info     json.RawMessage `json:"info"`
}

// ParseEvent parses the body of POST /apps/{id}/events:
// {name, data, channel | channels, socket_id?, info?}. pusher-http-php 7
// sends channel for one channel and channels for several; giving both is
// refused as ambiguous. Data over maxDataSize bytes (≤ 0: no limit) is
// refused with 413, everything else invalid with 400 (errors are *APIError).
func ParseEvent(body []byte, maxDataSize int) (Event, error) {
	var raw rawEvent
	if err := decodeObjectBytes(body, &raw); err != nil {
		return Event{}, badRequest("request body %v", err)
	}
	return raw.event(maxDataSize, false)
}

// ParseBatch parses the body of POST /apps/{id}/batch_events:
// {"batch":[{name, data, channel, socket_id?, info?}, ...]} with at most
// MaxBatchSize items, each naming one channel. The batch is refused whole
// when any item is invalid, with the first failing item's error (413 if its
// data is too large), so a batch is never published in part.
func ParseBatch(body []byte, maxDataSize int) ([]Event, error) {
	var raw struct {
		Batch json.RawMessage `json:"batch"`
	}
	if err := decodeObjectBytes(body, &raw); err != nil {
		return nil, badRequest("request body %v", err)
	}
	var items []json.RawMessage
	if len(raw.Batch) == 0 || raw.Batch[0] != '[' || json.Unmarshal(raw.Batch, &items) != nil {
		return nil, badRequest("batch must be an array of events")
	}
	if len(items) > MaxBatchSize {
		return nil, badRequest("batch has %d events, over the limit of %d", len(items), MaxBatchSize)
	}
	events := make([]Event, 0, len(items))
	for i, item := range items {
		e, err := parseBatchItem(item, maxDataSize)
		if err != nil {
			return nil, prefixAPIError(err, fmt.Sprintf("batch[%d]: ", i))
		}
		events = append(events, e)
	}
	return events, nil
}

func parseBatchItem(item json.RawMessage, maxDataSize int) (Event, error) {
	var raw rawEvent
	if err := decodeObjectBytes(item, &raw); err != nil {
		return Event{}, badRequest("event %v", err)
	}
	return raw.event(maxDataSize, true)
}

func prefixAPIError(err error, prefix string) error {
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return &APIError{Status: apiErr.Status, Message: prefix + apiErr.Message}
	}
	return err
}

func (raw rawEvent) event(maxDataSize int, batchItem bool) (Event, error) {
	var e Event
	var err error
	if e.Name, err = eventName(raw.Name); err != nil {
		return Event{}, err
	}
	if e.Data, err = eventData(raw.Data, maxDataSize); err != nil {
		return Event{}, err
	}
	if e.Channels, err = eventChannels(raw.Channel, raw.Channels, batchItem); err != nil {
		return Event{}, err
	}
	if e.SocketID, err = eventSocketID(raw.SocketID); err != nil {
		return Event{}, err
	}
	info, err := optionalString(raw.Info, "info")
	if err != nil {
		return Event{}, badRequest("info must be a string such as \"user_count,subscription_count\"")
	}
	e.Info = ParseInfo(info)
	return e, nil
}

func eventName(raw json.RawMessage) (string, error) {
	name, ok := jsonString(raw)
	switch {
	case !ok || name == "":
		return "", badRequest("name must be a non-empty string")
	case len(name) > MaxEventNameLength:
		return "", badRequest("name is %d bytes, over the limit of %d", len(name), MaxEventNameLength)
	}
	return name, nil
}

// eventData requires a string: every Pusher server SDK JSON-encodes the
// payload before sending it, and clients parse that string once more.
func eventData(raw json.RawMessage, maxDataSize int) (string, error) {
	data, ok := jsonString(raw)
	switch {
	case !ok:
		return "", badRequest("data must be a string (JSON-encode the payload)")
	case maxDataSize > 0 && len(data) > maxDataSize:
		return "", &APIError{Status: http.StatusRequestEntityTooLarge,
			Message: fmt.Sprintf("data is %d bytes, over the limit of %d", len(data), maxDataSize)}
	}
	return data, nil
}

func eventChannels(one, many json.RawMessage, batchItem bool) ([]string, error) {
	hasOne, hasMany := !isAbsent(one), !isAbsent(many)
	switch {
	case batchItem && hasMany:
		return nil, badRequest("batch events take one channel each (channel, not channels)")
	case hasOne && hasMany:
		return nil, badRequest("give channel or channels, not both")
	case hasOne:
		name, ok := jsonString(one)
		if !ok {
			return nil, badRequest("channel must be a string")
		}
		return checkChannels([]string{name})
	case hasMany:
		var names []string
		if many[0] != '[' || json.Unmarshal(many, &names) != nil {
			return nil, badRequest("channels must be an array of strings")
		}
		return checkChannels(names)
	}
	return nil, badRequest("channel or channels is required")
}

func checkChannels(names []string) ([]string, error) {
	if len(names) == 0 {
		return nil, badRequest("channels is empty")
	}
	if len(names) > MaxTriggerChannels {
		return nil, badRequest("%d channels, over the limit of %d", len(names), MaxTriggerChannels)
	}
	seen := make(map[string]struct{}, len(names))
	unique := make([]string, 0, len(names))
	for _, name := range names {
		if !ValidChannelName(name) {
			return nil, badRequest("invalid channel name %q", cut(name, MaxChannelLength))
		}
		if _, dup := seen[name]; !dup {
			seen[name] = struct{}{}
			unique = append(unique, name)
		}
	}
	return unique, nil
}

// eventSocketID accepts an absent, null or empty socket_id as "none".
func eventSocketID(raw json.RawMessage) (string, error) {
	id, err := optionalString(raw, "socket_id")
	if err != nil || (id != "" && !ValidSocketID(id)) {
		return "", badRequest(`socket_id must match ^\d+\.\d+$`)
	}
	return id, nil
}

func isAbsent(raw json.RawMessage) bool { return len(raw) == 0 || string(raw) == "null" }

// ChannelsQuery is the query of GET /apps/{id}/channels.
type ChannelsQuery struct {
	// Prefix keeps only channels whose names start with it (filter_by_prefix).
	Prefix string
	// Info asks for user_count and/or subscription_count per channel.
	Info Info
}

// ParseChannelsQuery reads filter_by_prefix and info. Pusher allows
// info=user_count only together with a presence- prefix, since only
// presence channels have users (400 otherwise).
func ParseChannelsQuery(q url.Values) (ChannelsQuery, error) {
	cq := ChannelsQuery{Prefix: q.Get("filter_by_prefix"), Info: ParseInfo(q.Get("info"))}
	cq.Info.Cache = false
	if cq.Info.UserCount && !strings.HasPrefix(cq.Prefix, "presence-") {
		return ChannelsQuery{}, badRequest("info=user_count needs filter_by_prefix=presence-")
	}
	return cq, nil
}

// ParseChannelQuery checks the channel name and info of
// GET /apps/{id}/channels/{channel}: user_count only for presence channels
// (400 otherwise).
func ParseChannelQuery(channel string, q url.Values) (Info, error) {
	if !ValidChannelName(channel) {
		return Info{}, badRequest("invalid channel name %q", cut(channel, MaxChannelLength))
	}
	info := ParseInfo(q.Get("info"))
	if info.UserCount && !KindOf(channel).IsPresence() {
		return Info{}, badRequest("info=user_count is only for presence channels")
	}
	return info, nil
}

// CheckUsersChannel checks the channel of GET /apps/{id}/channels/{channel}/users:
// a valid presence channel name (400 otherwise).
func CheckUsersChannel(channel string) error {
	switch {
	case !ValidChannelName(channel):
		return badRequest("invalid channel name %q", cut(channel, MaxChannelLength))
	case !KindOf(channel).IsPresence():
		return badRequest("users are only listed for presence channels")
	}
	return nil
}

// CheckTerminateUserID checks the user id of
// POST /apps/{id}/users/{user_id}/terminate_connections (400 otherwise).
func CheckTerminateUserID(userID string) error {
	if !ValidUserID(userID, 0) {
		return badRequest("invalid user id %q", cut(userID, DefaultMaxUserIDLength))
	}
	return nil
}

// ChannelStats is what the hub reports about one channel, for responses.
type ChannelStats struct {
	Name              string
	Occupied          bool
	UserCount         int
	SubscriptionCount int
	// Cache is the last event of a cache channel; nil when none is cached.
	Cache *CachedEvent
}

// CachedEvent is the event a cache channel remembers.
type CachedEvent struct {
	Event string
	Data  string
	// TTL is how long it stays cached; encoded in whole seconds.
	TTL time.Duration
}

// EmptyResponse is the {} that successful POSTs answer without info.
func EmptyResponse() []byte { return []byte("{}") }

// ChannelsResponse answers GET /apps/{id}/channels:
// {"channels":{"<name>":{<attributes asked for>}}}. The channels member is
// always an object, {} when there are none: pusher-http-php reads it with
// get_object_vars, which a null or [] breaks (PUSHER.md §10). Pass occupied
// channels only, each once.
func ChannelsResponse(channels []ChannelStats, info Info) []byte {
	info.Cache = false
	return appendChannelMap([]byte(`{"channels":`), channels, info)
}

// TriggerResponse answers POST /apps/{id}/events: {} without info, else
// {"channels":{"<name>":{"user_count":n,"subscription_count":n}}} for the
// event's channels.
func TriggerResponse(channels []ChannelStats, info Info) []byte {
	if !info.counts() {
		return EmptyResponse()
	}
	info.Cache = false
	return appendChannelMap([]byte(`{"channels":`), channels, info)
}

// BatchResponse answers POST /apps/{id}/batch_events: {} when no event asked
// for info, else {"batch":[{attributes of item 0}, ...]}, stats[i] being the
// channel of events[i].
func BatchResponse(events []Event, stats []ChannelStats) []byte {
	wanted := false
	for _, e := range events {
		wanted = wanted || e.Info.counts()
	}
	if !wanted {
		return EmptyResponse()
	}
	b := []byte(`{"batch":[`)
	for i, e := range events {
		if i > 0 {
			b = append(b, ',')
		}
		var s ChannelStats
		if i < len(stats) {
			s = stats[i]
		}
		info := e.Info
		info.Cache = false
		b = appendAttributes(b, s, info)
	}
	return append(b, "]}"...)
}

// ChannelResponse answers GET /apps/{id}/channels/{channel}:
// {"occupied":bool} plus the attributes asked for (user_count for presence
// channels only; cache only when something is cached).
func ChannelResponse(stats ChannelStats, info Info) []byte {
	b := strconv.AppendBool([]byte(`{"occupied":`), stats.Occupied)
	attrs := appendAttributes(nil, stats, info)
	if len(attrs) > 2 {
		b = append(append(b, ','), attrs[1:len(attrs)-1]...)
	}
	return append(b, '}')
}

// UsersResponse answers GET /apps/{id}/channels/{channel}/users:
// {"users":[{"id":"1"},...]}, [] when empty.
func UsersResponse(userIDs []string) []byte {
	b := []byte(`{"users":[`)
	for i, id := range userIDs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(appendField(append(b, '{'), "id", id), '}')
	}
	return append(b, "]}"...)
}

func appendChannelMap(b []byte, channels []ChannelStats, info Info) []byte {
	b = append(b, '{')
	for i, s := range channels {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendAttributes(append(appendString(b, s.Name), ':'), s, info)
	}
	return append(b, "}}"...)
}

// appendAttributes appends {"user_count":n,"subscription_count":n,"cache":{...}}
// with the attributes info asks for; user_count only on presence channels.
func appendAttributes(b []byte, s ChannelStats, info Info) []byte {
	b = append(b, '{')
	sep := func() {
		if b[len(b)-1] != '{' {
			b = append(b, ',')
		}
	}
	if info.UserCount && KindOf(s.Name).IsPresence() {
		b = strconv.AppendInt(append(b, `"user_count":`...), int64(s.UserCount), 10)
	}
	if info.SubscriptionCount {
		sep()
		b = strconv.AppendInt(append(b, `"subscription_count":`...), int64(s.SubscriptionCount), 10)
	}
	if info.Cache && s.Cache != nil {
		sep()
		b = appendCache(append(b, `"cache":`...), s.Cache)
	}
	return append(b, '}')
}

// appendCache writes {"event","data","ttl"}: Pusher documents data and ttl
// (seconds); event is included as other compatible servers do, so a reader
// can replay the event as it was triggered.
func appendCache(b []byte, c *CachedEvent) []byte {
	b = appendField(append(b, '{'), "event", c.Event)
	b = appendField(append(b, ','), "data", c.Data)
	b = strconv.AppendInt(append(b, `,"ttl":`...), int64(c.TTL/time.Second), 10)
	return append(b, '}')
}
