package hub_test

import (
	"testing"

	"github.com/frankenphp-realtime/realtime/internal/hub"
	"github.com/frankenphp-realtime/realtime/internal/hub/brokertest"
	"github.com/frankenphp-realtime/realtime/internal/hub/presencetest"
)

func TestMemoryBrokerConformance(t *testing.T) {
	brokertest.Run(t, brokertest.Config{
		NewNodes: func(t *testing.T, n int) []hub.Broker {
			if n != 1 {
				t.Fatalf("the memory broker has one node, asked for %d", n)
			}
			return []hub.Broker{hub.NewMemoryBroker()}
		},
		Nodes:              1,
		DeliversEveryTopic: true,
	})
}

func TestMemoryPresenceConformance(t *testing.T) {
	presencetest.Run(t, presencetest.Config{
		NewNodes: func(t *testing.T, n int) []hub.Presence {
			if n != 1 {
				t.Fatalf("the memory presence has one node, asked for %d", n)
			}
			return []hub.Presence{hub.NewMemoryPresence()}
		},
		Nodes: 1,
	})
}
