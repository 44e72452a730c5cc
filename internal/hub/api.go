package hub

import (
	"context"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/frankenphp-realtime/realtime/internal/protocol"
)

// API is what PHP's native functions and the admin API call. The hub
// implements it for a server; a Valkey-only client implements it for
// php-cli, where no server runs.
type API interface {
	// Broadcast sends message to every subscriber of channel, cluster-wide.
	Broadcast(ctx context.Context, channel string, message []byte) error
	// BroadcastToUser sends message to every connection of userID.
	BroadcastToUser(ctx context.Context, userID string, message []byte) error
	// ChannelUsers lists the unique ids of the users subscribed to channel.
	ChannelUsers(ctx context.Context, channel string) ([]string, error)
	// DisconnectUser closes every connection of userID with code 4001.
	DisconnectUser(ctx context.Context, userID string) error
}

var _ API = (*Hub)(nil)

// Limits the checks of an API implementation apply.
type Limits struct{ MaxMessageSize int }

// CheckChannel validates a channel argument.
func CheckChannel(channel string) error {
	if !protocol.ValidChannel(channel) {
		return inputErrorf("invalid channel name %q: use 1-200 bytes of A-Z a-z 0-9 _ - = @ , . ; :", truncate(channel))
	}
	return nil
}

// CheckUserID validates a user id argument.
func CheckUserID(userID string) error {
	if strings.TrimSpace(userID) == "" {
		return inputErrorf("user id must not be empty")
	}
	return nil
}

// CheckMessage validates a message against the size limit (inclusive).
func (l Limits) CheckMessage(message []byte) error {
	if len(message) > l.MaxMessageSize {
		return inputErrorf("message is %d bytes, over max_message_size (%d bytes)", len(message), l.MaxMessageSize)
	}
	return nil
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// ChannelFrame, DirectPayload and DisconnectPayload encode what the hub
// publishes, so that every API implementation puts the same bytes on the
// broker.
func ChannelFrame(channel string, message []byte) (topic string, data []byte) {
	return channelTopic + channel, append([]byte{channelMessage}, protocol.Message(channel, message)...)
}

// presencePayload carries a join/leave frame and the user it is about, whom
// receiving nodes leave out.
func presencePayload(m Membership, frame []byte) (topic string, data []byte) {
	data = append([]byte{channelPresence}, binary.AppendUvarint(nil, uint64(len(m.UserID)))...)
	data = append(data, m.UserID...)
	return channelTopic + m.Channel, append(data, frame...)
}

func decodePresencePayload(b []byte) (user string, frame []byte, ok bool) {
	n, size := binary.Uvarint(b)
	if size <= 0 || uint64(len(b)-size) < n {
		return "", nil, false
	}
	return string(b[size : size+int(n)]), b[size+int(n):], true
}

func DirectPayload(userID string, message []byte) (topic string, data []byte) {
	return userTopic + userID, append([]byte{userDirect}, protocol.Direct(message)...)
}

func DisconnectPayload(userID string) (topic string, data []byte) {
	return userTopic + userID, []byte{userDisconnect}
}

func (h *Hub) limits() Limits { return Limits{MaxMessageSize: h.cfg.MaxMessageSize} }

func (h *Hub) Broadcast(ctx context.Context, channel string, message []byte) error {
	if err := CheckChannel(channel); err != nil {
		return err
	}
	if err := h.limits().CheckMessage(message); err != nil {
		return err
	}
	topic, data := ChannelFrame(channel, message)
	return h.publish(ctx, topic, data)
}

func (h *Hub) BroadcastToUser(ctx context.Context, userID string, message []byte) error {
	if err := CheckUserID(userID); err != nil {
		return err
	}
	if err := h.limits().CheckMessage(message); err != nil {
		return err
	}
	topic, data := DirectPayload(userID, message)
	return h.publish(ctx, topic, data)
}

func (h *Hub) ChannelUsers(ctx context.Context, channel string) ([]string, error) {
	if err := CheckChannel(channel); err != nil {
		return nil, err
	}
	return h.cfg.Presence.Users(ctx, channel)
}

func (h *Hub) DisconnectUser(ctx context.Context, userID string) error {
	if err := CheckUserID(userID); err != nil {
		return err
	}
	topic, data := DisconnectPayload(userID)
	return h.publish(ctx, topic, data)
}

func (h *Hub) publish(ctx context.Context, topic string, data []byte) error {
	if h.closing.Load() {
		return ErrClosed
	}
	if err := h.cfg.Broker.Publish(ctx, topic, data); err != nil {
		// The cluster is out of reach, this node is not: its own
		// connections still get the message, and the caller learns that
		// the others did not.
		h.HandleBrokerMessage(topic, data)
		return fmt.Errorf("%w (delivered to this node's connections only)", err)
	}
	h.published.Add(1)
	return nil
}
