package hub

// brokerHandler is what the hub gives its broker: deliveries come in
// through it only, not through an exported method anyone could call.
type brokerHandler struct{ hub *Hub }

func (b brokerHandler) HandleBrokerMessage(topic string, data []byte) { b.hub.deliver(topic, data) }

// deliver hands a publication to the local connections. It only queues
// frames (each connection's queue is bounded), so it never blocks the
// broker on a slow client.
func (h *Hub) deliver(topic string, data []byte) {
	prefix, name, ok := splitTopic(topic)
	if !ok || len(data) == 0 {
		return
	}
	kind, body := data[0], data[1:]
	switch {
	case prefix == channelTopic && kind == kindMessage:
		h.deliverMessage(name, body)
	case prefix == channelTopic && kind == kindPresence:
		h.deliverPresence(name, body)
	case prefix == channelTopic && kind == kindClient:
		h.deliverClientEvent(name, body)
	case prefix == userTopic && kind == kindDirect:
		f, data, ok := fields(body, 1)
		if !ok {
			return
		}
		var m memo
		n := 0
		h.users.each(name, func(c *Client) {
			if f := m.frame(c.codec, func(cd Codec) []byte { return cd.Direct(name, f[0], data) }); f != nil {
				c.Send(f)
				n++
			}
		})
		h.delivered.Add(int64(n))
	case prefix == userTopic && kind == kindDisconnect:
		h.users.each(name, func(c *Client) {
			code, reason := c.codec.DisconnectClose()
			go c.CloseAfterPending(code, reason)
		})
	}
}

func (h *Hub) deliverMessage(channel string, body []byte) {
	f, data, ok := fields(body, 2)
	if !ok {
		return
	}
	event, except := f[0], f[1]
	var m memo
	n := 0
	h.channels.each(channel, func(c *Client) {
		if except != "" && c.id == except {
			return
		}
		if frame := m.frame(c.codec, func(cd Codec) []byte { return cd.Message(channel, event, data) }); frame != nil {
			c.Send(frame)
			n++
		}
	})
	h.delivered.Add(int64(n))
}

func (h *Hub) deliverPresence(channel string, body []byte) {
	if len(body) == 0 {
		return
	}
	joined := body[0] == 1
	f, info, ok := fields(body[1:], 1)
	if !ok {
		return
	}
	user := f[0]
	var m memo
	// A user is not told about their own arrival or departure.
	h.channels.each(channel, func(c *Client) {
		if c.indexedAs(user) {
			return
		}
		if frame := m.frame(c.codec, func(cd Codec) []byte { return cd.Presence(channel, joined, user, info) }); frame != nil {
			c.Send(frame)
		}
	})
}

func (h *Hub) deliverClientEvent(channel string, body []byte) {
	f, data, ok := fields(body, 3)
	if !ok {
		return
	}
	event, sender, user := f[0], f[1], f[2]
	var m memo
	h.channels.each(channel, func(c *Client) {
		if c.id == sender {
			return
		}
		if frame := m.frame(c.codec, func(cd Codec) []byte { return cd.ClientEvent(channel, event, data, user) }); frame != nil {
			c.Send(frame)
		}
	})
}
