package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

func ms(us float64) string { return fmt.Sprintf("%.3f", us/1000) }

func ratio(a, b float64) string {
	if b == 0 || a == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

func report(files []string) {
	var all []systemResult
	bySys := map[string]*systemResult{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			fmt.Printf("> %s: missing (%v)\n\n", f, err)
			continue
		}
		var r systemResult
		if err := json.Unmarshal(b, &r); err != nil {
			fmt.Printf("> %s: unreadable (%v)\n\n", f, err)
			continue
		}
		all = append(all, r)
	}
	for i := range all {
		bySys[all[i].System] = &all[i]
	}
	w := func(format string, a ...any) { fmt.Printf(format+"\n", a...) }

	w("### Fan-out latency (end-to-end: publisher's send timestamp → subscriber's receive)")
	w("")
	w("| system | publish path | subscribers | rate/s × s | published (errors) | delivered / expected | delivery | p50 ms | p95 ms | p99 ms | max ms | publish req p50 ms | server CPU s |")
	w("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range all {
		for _, f := range r.Fanout {
			w("| %s | %s | %d | %d × %.1f | %d (%d) | %d / %d | %.4f | %s | %s | %s | %s | %s | %.2f |",
				r.Label, f.Publisher, f.Subscribers, f.Rate, f.Seconds, f.Published, f.PublishErrors,
				f.Delivered, f.Expected, f.DeliveryRatio, ms(f.Latency.P50), ms(f.Latency.P95), ms(f.Latency.P99), ms(f.Latency.Max),
				ms(f.PublishLatency.P50), f.ServerCPU)
		}
	}
	w("")

	rt, gw, me := bySys["realtime"], bySys["gws"], bySys["mercure"]
	// the row of one system for a scenario (subscribers, rate); admin picks
	// realtime's admin API rows.
	pick := func(r *systemResult, admin bool, subs, rate int) *fanoutResult {
		if r == nil {
			return nil
		}
		for i := range r.Fanout {
			f := &r.Fanout[i]
			if (f.Publisher == adminPublisher) == admin && f.Subscribers == subs && f.Rate == rate {
				return f
			}
		}
		return nil
	}
	w("### Ratios: realtime vs peers (same run; >1 means realtime is slower / uses more)")
	w("")
	w("| scenario | metric | realtime PHP broadcast() | realtime admin API | gws floor | Mercure mercure_publish() | realtime PHP / gws | realtime PHP / Mercure | realtime admin / gws |")
	w("|---|---|---:|---:|---:|---:|---:|---:|---:|")
	if rt != nil {
		for i := range rt.Fanout {
			a := &rt.Fanout[i]
			if a.Publisher == adminPublisher {
				continue
			}
			ad, g, m := pick(rt, true, a.Subscribers, a.Rate), pick(gw, false, a.Subscribers, a.Rate), pick(me, false, a.Subscribers, a.Rate)
			name := fmt.Sprintf("fan-out %d subs @ %d/s", a.Subscribers, a.Rate)
			get := func(f *fanoutResult, q string) float64 {
				if f == nil {
					return 0
				}
				if q == "p50" {
					return f.Latency.P50
				}
				return f.Latency.P99
			}
			show := func(f *fanoutResult, q string) string {
				if f == nil {
					return "n/a"
				}
				return ms(get(f, q)) + " ms"
			}
			for _, q := range []string{"p50", "p99"} {
				w("| %s | latency %s | %s | %s | %s | %s | %s | %s | %s |", name, q, show(a, q), show(ad, q), show(g, q), show(m, q),
					ratio(get(a, q), get(g, q)), ratio(get(a, q), get(m, q)), ratio(get(ad, q), get(g, q)))
			}
		}
	}
	findB := func(r *systemResult, admin bool) *burstResult {
		if r == nil || len(r.Burst) == 0 {
			return nil
		}
		if admin {
			if len(r.Burst) > 1 {
				return &r.Burst[1]
			}
			return nil
		}
		return &r.Burst[0]
	}
	bv := func(b *burstResult) float64 {
		if b == nil {
			return 0
		}
		return b.DeliveredPerSec
	}
	bs := func(b *burstResult) string {
		if b == nil {
			return "n/a"
		}
		return fmt.Sprintf("%.0f /s", b.DeliveredPerSec)
	}
	if b := findB(rt, false); b != nil {
		w("| burst %d msgs → %d subs | deliveries/s (higher is better) | %s | %s | %s | %s | %s | %s | %s |", b.Messages, b.Subscribers,
			bs(b), bs(findB(rt, true)), bs(findB(gw, false)), bs(findB(me, false)),
			ratio(bv(b), bv(findB(gw, false))), ratio(bv(b), bv(findB(me, false))), ratio(bv(findB(rt, true)), bv(findB(gw, false))))
	}
	kib := func(r *systemResult) float64 {
		if r == nil {
			return 0
		}
		return r.KiBPerConn
	}
	ks := func(r *systemResult) string {
		if r == nil {
			return "n/a"
		}
		return fmt.Sprintf("%.2f KiB", r.KiBPerConn)
	}
	if rt != nil {
		w("| %d idle subscribers | RSS per connection | %s | (same server) | %s | %s | %s | %s | |", rt.IdleConns, ks(rt), ks(gw), ks(me), ratio(kib(rt), kib(gw)), ratio(kib(rt), kib(me)))
		sr := func(r *systemResult) float64 {
			if r == nil {
				return 0
			}
			return r.Setup.PerSecond
		}
		ss := func(r *systemResult) string {
			if r == nil {
				return "n/a"
			}
			return fmt.Sprintf("%.0f /s", r.Setup.PerSecond)
		}
		w("| connect %d | setups/s (higher is better) | %s | (same server) | %s | %s | %s | %s | |", rt.Setup.Requested, ss(rt), ss(gw), ss(me), ratio(sr(rt), sr(gw)), ratio(sr(rt), sr(me)))
	}
	w("")

	w("### Throughput: fixed publish burst, as fast as the publisher gets answers")
	w("")
	w("| system | publish path | subscribers | messages × concurrency | published (errors) | publishes/s | delivered / expected | delivery | deliveries/s | p50 ms | p99 ms | max ms | server CPU s |")
	w("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range all {
		for _, b := range r.Burst {
			w("| %s | %s | %d | %d × %d | %d (%d) | %.0f | %d / %d | %.4f | %.0f | %s | %s | %s | %.2f |",
				r.Label, b.Publisher, b.Subscribers, b.Messages, b.Concurrency, b.Published, b.PublishErrors, b.PublishPerSecond,
				b.Delivered, b.Expected, b.DeliveryRatio, b.DeliveredPerSec, ms(b.Latency.P50), ms(b.Latency.P99), ms(b.Latency.Max), b.ServerCPU)
		}
	}
	w("")

	w("### Idle memory and connection setup")
	w("")
	w("| system | subscribers connected / requested | failed | setup s | setups/s | what a setup includes | server RSS before MiB | RSS idle MiB | KiB per connection |")
	w("|---|---:|---:|---:|---:|---|---:|---:|---:|")
	for _, r := range all {
		incl := map[string]string{
			"realtime": "TCP + WS upgrade + in-process PHP auth.php + connected frame + subscribe/subscribed",
			"gws":      "TCP + WS upgrade (no auth) + connected frame + subscribe/subscribed",
			"mercure":  "TCP + SSE GET (anonymous, no auth) + response headers",
		}[r.System]
		w("| %s | %d / %d | %d | %.2f | %.0f | %s | %.1f | %.1f | %.2f |", r.Label, r.Setup.OK, r.Setup.Requested, r.Setup.Failed, r.Setup.Seconds, r.Setup.PerSecond, incl,
			float64(r.RSSBeforeKiB)/1024, float64(r.RSSIdleKiB)/1024, r.KiBPerConn)
	}
	w("")
	var notes []string
	for _, r := range all {
		notes = append(notes, fmt.Sprintf("%s: load average %s at start, %s at end, %.0f s", r.Label, r.LoadAvgStart, r.LoadAvgEnd, r.WallSeconds))
		for _, e := range r.Errors {
			notes = append(notes, r.Label+": "+e)
		}
		if r.Setup.FirstError != "" {
			notes = append(notes, fmt.Sprintf("%s: %d connection(s) failed, first error: %s", r.Label, r.Setup.Failed, r.Setup.FirstError))
		}
		for _, f := range r.Fanout {
			if f.FirstPubError != "" {
				notes = append(notes, fmt.Sprintf("%s fan-out %d via %s: first publish error: %s", r.Label, f.Subscribers, f.Publisher, f.FirstPubError))
			}
			if f.ClosedEarly > 0 {
				notes = append(notes, fmt.Sprintf("%s fan-out %d via %s: %d subscriber(s) were closed during the phase", r.Label, f.Subscribers, f.Publisher, f.ClosedEarly))
			}
		}
		for _, b := range r.Burst {
			if b.FirstPubError != "" {
				notes = append(notes, fmt.Sprintf("%s burst via %s: first publish error: %s", r.Label, b.Publisher, b.FirstPubError))
			}
		}
	}
	if len(notes) > 0 {
		w("Run notes: ")
		w("")
		w("- %s", strings.Join(notes, "\n- "))
	}
}
