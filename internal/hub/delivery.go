package hub

// brokerHandler is what the hub gives its broker: deliveries come in
// through it only, not through an exported method anyone could call.
type brokerHandler struct{ hub *Hub }

func (b brokerHandler) HandleBrokerMessage(topic string, data []byte) { b.hub.deliver(topic, data) }

func (b brokerHandler) HandleBrokerBatch(topic string, data [][]byte) {
	b.hub.deliverBatch(topic, data)
}

// deliverBatch hands consecutive publications of one topic to the local
// connections: runs of channel messages reach each connection in one
// enqueue; anything else goes one by one, in order.
func (h *Hub) deliverBatch(topic string, data [][]byte) {
	prefix, name, ok := splitTopic(topic)
	if !ok || prefix != channelTopic {
		for _, d := range data {
			h.deliver(topic, d)
		}
		return
	}
	for len(data) > 0 {
		n := 0
		for n < len(data) && len(data[n]) > 0 && data[n][0] == kindMessage {
			n++
		}
		if n == 0 {
			h.deliver(topic, data[0])
			data = data[1:]
			continue
		}
		h.deliverMessages(name, data[:n])
		data = data[n:]
	}
}

// deliverMessages hands a run of messages of one channel (payloads with
// their kind byte) to its local subscribers: each connection gets its
// frames of the whole run in one enqueue, each frame encoded once per codec.
func (h *Hub) deliverMessages(channel string, run [][]byte) {
	type message struct {
		event, except string
		data          []byte
		memo          memo
	}
	msgs := make([]message, 0, len(run))
	for _, d := range run {
		if f, data, ok := fields(d[1:], 2); ok {
			msgs = append(msgs, message{event: f[0], except: f[1], data: data})
		}
	}
	// One slice for every connection: enqueueFrames copies it into the
	// connection's queue, so nothing is allocated per subscriber.
	frames := make([]outFrame, 0, len(msgs))
	n := 0
	h.channels.each(channel, func(c *Client) {
		frames = frames[:0]
		for i := range msgs {
			m := &msgs[i]
			if m.except != "" && c.id == m.except {
				continue
			}
			if f := m.memo.frame(c.codec, func(cd Codec) []byte { return cd.Message(channel, m.event, m.data) }); f != nil {
				frames = append(frames, outFrame{data: f})
			}
		}
		if len(frames) > 0 {
			c.out.enqueueFrames(frames...)
			n += len(frames)
		}
	})
	h.delivered.Add(int64(n))
}

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
		h.deliverMessages(name, [][]byte{data})
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
