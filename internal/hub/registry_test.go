package hub

import "testing"

func TestRegistryFallsBackToThePreviousHub(t *testing.T) {
	running, failed := &Hub{}, &Hub{}
	Register(running)
	Register(failed) // a new configuration starts a hub...
	if Current() != API(failed) {
		t.Fatal("newest hub is not current")
	}
	Unregister(failed) // ...and fails to load: the running hub is current again
	if Current() != API(running) {
		t.Fatal("running hub was not restored")
	}
	Unregister(running)
	if Current() != nil {
		t.Fatal("registry not empty")
	}
}
