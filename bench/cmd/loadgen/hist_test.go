package main

import (
	"testing"
	"time"
)

// Pooling two runs' sparse buckets gives the quantiles of one histogram
// that recorded both runs' samples.
func TestPooledQuantileMatchesOneHistogram(t *testing.T) {
	a, b, both := newHist(), newHist(), newHist()
	for i := range 300 {
		d := time.Duration(i*37%1000) * 50 * time.Microsecond // 0–50 ms
		a.record(d)
		both.record(d)
	}
	for i := range 100 {
		d := time.Duration(i) * 20 * time.Millisecond // up to 1.98 s: coarse buckets too
		b.record(d)
		both.record(d)
	}
	sets := [][][2]uint64{a.sparse(), b.sparse()}
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		if got, want := pooledQuantile(sets, q), both.quantile(q); got != want {
			t.Errorf("q=%g: pooled %v µs, one histogram %v µs", q, got, want)
		}
	}
	if got := pooledQuantile(nil, 0.99); got != 0 {
		t.Errorf("no samples: %v, want 0", got)
	}
}
