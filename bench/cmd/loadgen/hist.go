package main

import (
	"slices"
	"sync/atomic"
	"time"
)

// hist is a lock-free latency histogram: 1 µs buckets below 1 s, 1 ms
// buckets from 1 s to 120 s, one overflow bucket. Exact enough that no
// percentile reported by the benchmark is rounded by more than 1 µs (below
// 1 s) or 1 ms (above).
type hist struct {
	fine   []atomic.Uint64 // µs 0..999,999
	coarse []atomic.Uint64 // ms 1000..119,999
	over   atomic.Uint64
	count  atomic.Uint64
	max    atomic.Int64 // ns
}

func newHist() *hist {
	return &hist{fine: make([]atomic.Uint64, 1_000_000), coarse: make([]atomic.Uint64, 119_000)}
}

func (h *hist) record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.count.Add(1)
	for {
		m := h.max.Load()
		if int64(d) <= m || h.max.CompareAndSwap(m, int64(d)) {
			break
		}
	}
	us := d.Microseconds()
	switch {
	case us < 1_000_000:
		h.fine[us].Add(1)
	case us < 120_000_000:
		h.coarse[us/1000-1000].Add(1)
	default:
		h.over.Add(1)
	}
}

// quantile returns the smallest bucket value v such that at least q of the
// samples are <= v (upper edge of the bucket), in microseconds.
func (h *hist) quantile(q float64) float64 {
	n := h.count.Load()
	if n == 0 {
		return 0
	}
	target := uint64(q * float64(n))
	if target < 1 {
		target = 1
	}
	var seen uint64
	for i := range h.fine {
		seen += h.fine[i].Load()
		if seen >= target {
			return float64(i + 1)
		}
	}
	for i := range h.coarse {
		seen += h.coarse[i].Load()
		if seen >= target {
			return float64((i + 1001) * 1000)
		}
	}
	return float64(h.max.Load()) / 1e3
}

type latencySummary struct {
	Count uint64  `json:"count"`
	P50   float64 `json:"p50_us"`
	P90   float64 `json:"p90_us"`
	P99   float64 `json:"p99_us"`
	P999  float64 `json:"p999_us"`
	Max   float64 `json:"max_us"`
}

func (h *hist) summary() latencySummary {
	return latencySummary{
		Count: h.count.Load(),
		P50:   h.quantile(0.50),
		P90:   h.quantile(0.90),
		P99:   h.quantile(0.99),
		P999:  h.quantile(0.999),
		Max:   float64(h.max.Load()) / 1e3,
	}
}

// sparse lists the non-empty buckets as [upper edge µs, count], in order:
// what a report needs to pool several runs' histograms (the overflow
// bucket is listed at the largest latency seen).
func (h *hist) sparse() [][2]uint64 {
	var out [][2]uint64
	for i := range h.fine {
		if n := h.fine[i].Load(); n > 0 {
			out = append(out, [2]uint64{uint64(i + 1), n})
		}
	}
	for i := range h.coarse {
		if n := h.coarse[i].Load(); n > 0 {
			out = append(out, [2]uint64{uint64((i + 1001) * 1000), n})
		}
	}
	if n := h.over.Load(); n > 0 {
		out = append(out, [2]uint64{uint64(h.max.Load() / 1e3), n})
	}
	return out
}

// pooledQuantile is quantile over several histograms' sparse buckets taken
// together (same definition: the smallest upper edge with at least q of the
// samples at or below it).
func pooledQuantile(sets [][][2]uint64, q float64) float64 {
	counts := map[uint64]uint64{}
	var n uint64
	for _, set := range sets {
		for _, b := range set {
			counts[b[0]] += b[1]
			n += b[1]
		}
	}
	if n == 0 {
		return 0
	}
	edges := make([]uint64, 0, len(counts))
	for e := range counts {
		edges = append(edges, e)
	}
	slices.Sort(edges)
	target := max(uint64(q*float64(n)), 1)
	var seen uint64
	for _, e := range edges {
		if seen += counts[e]; seen >= target {
			return float64(e)
		}
	}
	return float64(edges[len(edges)-1])
}
