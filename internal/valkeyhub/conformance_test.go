package valkeyhub

import (
	"testing"
	"time"

	"github.com/frankenphp-realtime/realtime/internal/hub"
	"github.com/frankenphp-realtime/realtime/internal/hub/brokertest"
	"github.com/frankenphp-realtime/realtime/internal/hub/presencetest"
)

func TestBrokerConformance(t *testing.T) {
	srv := startValkey(t)
	brokertest.Run(t, brokertest.Config{
		NewNodes: func(t *testing.T, n int) []hub.Broker {
			prefix := testPrefix(t)
			nodes := make([]hub.Broker, n)
			for i := range nodes {
				b, err := NewBroker(srv.addr, prefix, testLogger(t))
				if err != nil {
					t.Fatal(err)
				}
				nodes[i] = b
			}
			return nodes
		},
		Nodes: 3,
	})
}

func TestPresenceConformance(t *testing.T) {
	srv := startValkey(t)
	presencetest.Run(t, presencetest.Config{
		NewNodes: func(t *testing.T, n int) []hub.Presence {
			prefix := testPrefix(t)
			nodes := make([]hub.Presence, n)
			for i := range nodes {
				p, err := NewPresence(srv.addr, prefix, time.Second, testLogger(t))
				if err != nil {
					t.Fatal(err)
				}
				nodes[i] = p
			}
			return nodes
		},
		Nodes: 3,
		Crash: func(t *testing.T, p hub.Presence) { p.(*Presence).crash() },
	})
}
