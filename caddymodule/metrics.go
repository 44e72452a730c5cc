package caddymodule

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics exposes the shared hub on each configuration's Prometheus
// registry (served by Caddy's metrics endpoint). Values are read from the
// hub at scrape time, so they survive reloads that keep the hub.
type metrics struct {
	shared *sharedHub

	connections, channels, subscriptions *prometheus.Desc
	published, delivered, slowConsumers  *prometheus.Desc
	brokerErrors, reconnects, hookCalls  *prometheus.Desc
	// authDuration is stateful, so it lives with the hub and is registered
	// again in each new configuration's registry.
	authDuration prometheus.Histogram
}

func newAuthHistogram() prometheus.Histogram {
	return prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: "realtime", Name: "auth_duration_seconds",
		Help:    "Time the auth endpoint took to identify a WebSocket handshake.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	})
}

func newMetrics(s *sharedHub) *metrics {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("realtime_"+name, help, labels, nil)
	}
	return &metrics{
		shared:        s,
		connections:   d("connections", "Open WebSocket connections on this node."),
		channels:      d("channels", "Channels with at least one subscriber on this node."),
		subscriptions: d("subscriptions", "Connection-channel subscriptions on this node."),
		published:     d("messages_published_total", "Messages published by this node (broadcast, direct, disconnect)."),
		delivered:     d("messages_delivered_total", "Message and direct frames queued to connections on this node."),
		slowConsumers: d("slow_consumer_disconnects_total", "Connections closed because their backlog passed max_pending_bytes (4008 native, 4100 Pusher)."),
		brokerErrors:  d("broker_errors_total", "Broker operations that failed."),
		reconnects:    d("broker_reconnects_total", "Times the broker reconnected."),
		hookCalls:     d("presence_hook_calls_total", "Presence hook calls by outcome.", "result"),
		authDuration:  s.authDuration,
	}
}

// register adds the hub's metrics to a configuration's registry.
func (m *metrics) register(reg prometheus.Registerer) error {
	if reg == nil {
		return nil
	}
	for _, c := range []prometheus.Collector{m, m.authDuration} {
		if err := reg.Register(c); err != nil && !errors.As(err, new(prometheus.AlreadyRegisteredError)) {
			return err
		}
	}
	return nil
}

func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{m.connections, m.channels, m.subscriptions, m.published,
		m.delivered, m.slowConsumers, m.brokerErrors, m.reconnects, m.hookCalls} {
		ch <- d
	}
}

func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	stats, counts := m.shared.hub.Stats(), m.shared.hub.Counters()
	gauge := func(d *prometheus.Desc, v int) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v))
	}
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge(m.connections, stats.Connections)
	gauge(m.channels, stats.Channels)
	gauge(m.subscriptions, stats.Subscriptions)
	counter(m.published, counts.Published)
	counter(m.delivered, counts.Delivered)
	counter(m.slowConsumers, counts.SlowConsumers)
	counter(m.brokerErrors, counts.BrokerErrors)
	counter(m.reconnects, counts.Reconnects)
	if hook := m.shared.hook; hook != nil {
		delivered, failed, dropped := hook.Counts()
		counter(m.hookCalls, delivered, "delivered")
		counter(m.hookCalls, failed, "failed")
		counter(m.hookCalls, dropped, "dropped")
	}
}
