package hub

import (
	"slices"
	"testing"
)

// The index keeps a key's only holder inline and switches to a set at the
// second; first/last and the holder lists must not notice the switch.
func TestIndexHoldersAcrossOneAndMany(t *testing.T) {
	ix := newIndex()
	a, b, c := &Client{}, &Client{}, &Client{}
	holders := func() []*Client {
		var out []*Client
		ix.each("k", func(x *Client) { out = append(out, x) })
		return out
	}
	if !ix.add("k", a) {
		t.Fatal("first add must report the key new")
	}
	if ix.add("k", a) || ix.count("k") != 1 {
		t.Fatalf("adding a holder twice: count %d, want 1", ix.count("k"))
	}
	if ix.remove("k", b) {
		t.Fatal("removing a non-holder must not report the key empty")
	}
	ix.add("k", b)
	ix.add("k", c)
	if got := holders(); len(got) != 3 || !slices.Contains(got, a) || !slices.Contains(got, b) || !slices.Contains(got, c) {
		t.Fatalf("holders = %v, want a, b and c", got)
	}
	if ix.remove("k", a) || ix.remove("k", b) {
		t.Fatal("the key is not empty while c holds it")
	}
	if ix.remove("k", b) {
		t.Fatal("b was already removed")
	}
	if got := holders(); len(got) != 1 || got[0] != c {
		t.Fatalf("holders = %v, want only c", got)
	}
	if keys, pairs := ix.counts(); keys != 1 || pairs != 1 {
		t.Fatalf("counts = %d keys, %d pairs; want 1, 1", keys, pairs)
	}
	if !ix.remove("k", c) {
		t.Fatal("removing the last holder must report the key empty")
	}
	if keys, _ := ix.counts(); keys != 0 || len(ix.keysWithPrefix("")) != 0 {
		t.Fatal("an empty key must be forgotten")
	}
	ix.add("k", b) // inline again after the key was forgotten
	if got := holders(); len(got) != 1 || got[0] != b {
		t.Fatalf("holders = %v, want only b", got)
	}
}
