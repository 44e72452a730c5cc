package main

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
)

// The systems in the order of the report's columns, and their short names.
var (
	sysOrder = []string{"gws", "realtime", "realtime-pusher", "mercure"}
	sysShort = map[string]string{
		"gws": "bare gws", "realtime": "realtime native", "realtime-pusher": "realtime Pusher", "mercure": "Mercure",
	}
	// ratio columns: numerator ÷ denominator
	ratioPairs = [][2]string{
		{"realtime", "gws"}, {"realtime", "mercure"},
		{"realtime-pusher", "gws"}, {"realtime-pusher", "mercure"}, {"realtime-pusher", "realtime"},
	}
)

func shortName(sys string) string {
	if s, ok := sysShort[sys]; ok {
		return s
	}
	return sys
}

type metric struct {
	name  string
	unit  string // "/s", "KiB", "ms", "×", "count"
	ratio bool   // ratio columns make sense
	// get returns the metric of one run; ok false when the run lacks it;
	// flagged when a check of the phase behind it failed.
	get func(r *systemResult) (v float64, ok, flagged bool)
}

func fmtVal(unit string, v float64) string {
	switch unit {
	case "/s":
		switch {
		case v >= 100000:
			return fmt.Sprintf("%.0fk", v/1000)
		case v >= 10000:
			return fmt.Sprintf("%.1fk", v/1000)
		case v >= 1000:
			return fmt.Sprintf("%.2fk", v/1000)
		case v >= 10:
			return fmt.Sprintf("%.0f", v)
		default:
			return fmt.Sprintf("%.1f", v)
		}
	case "KiB":
		return fmt.Sprintf("%.1f", v)
	case "ms":
		return msStr(v * 1000)
	case "×":
		if v >= 100 {
			return fmt.Sprintf("%.0f×", v)
		}
		return fmt.Sprintf("%.2f×", v)
	default:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
}

// msStr formats microseconds as milliseconds with three significant digits
// or so.
func msStr(us float64) string {
	v := us / 1000
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func phaseMetric(id string, f func(p *phaseResult) float64) func(r *systemResult) (float64, bool, bool) {
	return func(r *systemResult) (float64, bool, bool) {
		p := r.phase(id)
		if p == nil {
			return 0, false, false
		}
		v := f(p)
		return v, v > 0, len(p.Problems)+len(p.Notes) > 0
	}
}

func metrics(c runConfig) []metric {
	ms := []metric{
		{fmt.Sprintf("M1 idle RSS per subscribed connection, %s connections (KiB, lower is better)", thousands(c.NBig)), "KiB", true,
			func(r *systemResult) (float64, bool, bool) {
				return r.KiBPerConn, r.IdleConns > 0, r.Setup.Failed > 0
			}},
		{fmt.Sprintf("M1 live Go memory per subscribed connection (heap after a forced GC + goroutine stacks), %s connections (KiB, lower is better)", thousands(c.NBig)), "KiB", true,
			func(r *systemResult) (float64, bool, bool) {
				return r.LiveKiBPerConn, r.LiveIdle.total() > 0, r.Setup.Failed > 0
			}},
		{fmt.Sprintf("M2 deliveries/s, 1 channel × %s subscribers, %s-message burst", thousands(c.NBig), thousands(c.MsgsBig)), "/s", true,
			phaseMetric(phaseM2Big, func(p *phaseResult) float64 { return p.DeliveriesPerS })},
	}
	if c.NSmall > 0 {
		ms = append(ms, metric{fmt.Sprintf("M2 deliveries/s, 1 channel × %s subscribers, %s-message burst", thousands(c.NSmall), thousands(c.MsgsSmall)), "/s", true,
			phaseMetric(phaseM2Small, func(p *phaseResult) float64 { return p.DeliveriesPerS })})
	}
	for _, n := range c.M3Subs {
		for _, q := range []struct {
			name string
			f    func(l latencySummary) float64
		}{{"p50", func(l latencySummary) float64 { return l.P50 }}, {"p90", func(l latencySummary) float64 { return l.P90 }},
			{"p99", func(l latencySummary) float64 { return l.P99 }}, {"p99.9", func(l latencySummary) float64 { return l.P999 }}} {
			f := q.f
			ms = append(ms, metric{fmt.Sprintf("M3 %s scheduled-send→receive, %s subscribers @ %g msg/s (ms, lower is better)", q.name, thousands(n), c.M3Rate), "ms", true,
				phaseMetric(m3ID(n), func(p *phaseResult) float64 { return f(p.Latency) / 1000 })})
		}
	}
	calls := func(p *phaseResult) float64 { return p.OKPerSec }
	ms = append(ms, metric{"M6 publish calls/s, 0 subscribers (in the publisher loop)", "/s", true, phaseMetric(phaseM6Zero, calls)})
	if c.NSmall > 0 {
		ms = append(ms, metric{fmt.Sprintf("M6 publish calls/s, %s subscribers (the loop of the %s-message M2 burst)", thousands(c.NSmall), thousands(c.MsgsSmall)), "/s", true, phaseMetric(phaseM2Small, calls)},
			metric{fmt.Sprintf("M6 at %s subscribers ÷ own 0-subscriber rate", thousands(c.NSmall)), "×", false,
				func(r *systemResult) (float64, bool, bool) {
					a, z := r.phase(phaseM2Small), r.phase(phaseM6Zero)
					if a == nil || z == nil || z.OKPerSec == 0 {
						return 0, false, false
					}
					return a.OKPerSec / z.OKPerSec, a.OKPerSec > 0, len(a.Problems)+len(z.Problems)+len(a.Notes)+len(z.Notes) > 0
				}})
	}
	ms = append(ms,
		metric{fmt.Sprintf("M6 publish calls/s, %s subscribers (the loop of the %s-message M2 burst)", thousands(c.NBig), thousands(c.MsgsBig)), "/s", true, phaseMetric(phaseM2Big, calls)},
		metric{fmt.Sprintf("connection setups/s, %s connections (native realtime includes the PHP auth request)", thousands(c.NBig)), "/s", true,
			func(r *systemResult) (float64, bool, bool) {
				return r.Setup.PerSecond, r.Setup.OK > 0, r.Setup.Failed > 0
			}},
		metric{"messages lost, all phases (must be 0)", "count", false,
			func(r *systemResult) (float64, bool, bool) {
				var lost uint64
				for _, p := range r.Phases {
					lost += p.Lost
				}
				return float64(lost), true, lost > 0
			}},
	)
	return ms
}

func report(files []string) {
	var all []systemResult
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
	if len(all) == 0 {
		fmt.Println("no results")
		return
	}
	slices.SortStableFunc(all, func(a, b systemResult) int { return a.Run - b.Run })
	runs := map[string][]*systemResult{}
	for i := range all {
		runs[all[i].System] = append(runs[all[i].System], &all[i])
	}
	var systems []string
	for _, s := range sysOrder {
		if len(runs[s]) > 0 {
			systems = append(systems, s)
		}
	}
	for _, r := range all {
		if !slices.Contains(systems, r.System) {
			systems = append(systems, r.System)
		}
	}
	var pairs [][2]string
	for _, p := range ratioPairs {
		if len(runs[p[0]]) > 0 && len(runs[p[1]]) > 0 {
			pairs = append(pairs, p)
		}
	}
	w := func(format string, a ...any) { fmt.Printf(format+"\n", a...) }
	c := all[0].Config

	w("### Summary: each system's runs side by side (run order), ratios of the medians")
	w("")
	head := "| metric |"
	sep := "|---|"
	for _, s := range systems {
		head += " " + shortName(s) + " |"
		sep += "---:|"
	}
	for _, p := range pairs {
		head += " " + shortName(p[0]) + " ÷ " + shortName(p[1]) + " |"
		sep += "---:|"
	}
	w("%s", head)
	w("%s", sep)
	for _, m := range metrics(c) {
		row := "| " + m.name + " |"
		med := map[string]float64{}
		for _, s := range systems {
			var cells []string
			var vals []float64
			for _, r := range runs[s] {
				v, ok, flagged := m.get(r)
				cell := "–"
				if ok || m.unit == "count" {
					cell = fmtVal(m.unit, v)
					vals = append(vals, v)
				}
				if flagged {
					cell += " ⚠"
				}
				cells = append(cells, cell)
			}
			med[s] = median(vals)
			row += " " + strings.Join(cells, " / ") + " |"
		}
		for _, p := range pairs {
			if !m.ratio || med[p[0]] == 0 || med[p[1]] == 0 {
				row += " |"
				continue
			}
			row += " " + fmtVal("×", med[p[0]]/med[p[1]]) + " |"
		}
		w("%s", row)
	}
	pooledRuns := 0 // the most runs pooled in one cell
	for _, n := range c.M3Subs {
		for _, q := range []struct {
			name string
			q    float64
		}{{"p99", 0.99}, {"p99.9", 0.999}} {
			row := fmt.Sprintf("| M3 %s, %s subscribers, every run of a system pooled (ms, lower is better) |", q.name, thousands(n))
			pooled := map[string]float64{}
			for _, s := range systems {
				var sets [][][2]uint64
				flagged := false
				for _, r := range runs[s] {
					if p := r.phase(m3ID(n)); p != nil && len(p.LatencyBuckets) > 0 {
						sets = append(sets, p.LatencyBuckets)
						flagged = flagged || len(p.Problems)+len(p.Notes) > 0
					}
				}
				pooledRuns = max(pooledRuns, len(sets))
				if len(sets) == 0 {
					row += " – |"
					continue
				}
				pooled[s] = pooledQuantile(sets, q.q) / 1000
				runsWord := "runs"
				if len(sets) == 1 {
					runsWord = "run"
				}
				mark := ""
				if flagged {
					mark = " ⚠"
				}
				row += fmt.Sprintf(" %s (%d %s)%s |", fmtVal("ms", pooled[s]), len(sets), runsWord, mark)
			}
			for _, p := range pairs {
				if pooled[p[0]] == 0 || pooled[p[1]] == 0 {
					row += " |"
					continue
				}
				row += " " + fmtVal("×", pooled[p[0]]/pooled[p[1]]) + " |"
			}
			w("%s", row)
		}
	}
	if pooledRuns > 1 {
		w("")
		w("Pooled rows: every M3 latency histogram of a system taken as one sample (up to %d runs, so up to %d× the messages behind each percentile), and their ratios.", pooledRuns, pooledRuns)
	}
	w("")
	w("⚠: that run's phase failed a check (lost, duplicated or reordered messages, publish calls that threw, failed connections) or has a note (M6: publish calls refused under overload); see Problems and Notes below. M6 rates count the calls that did not throw.")
	w("")

	w("### Runs")
	w("")
	w("| # | system | publisher | subscribers | started | pinning | load average start → end | wall s |")
	w("|---:|---|---|---|---|---|---|---:|")
	for _, r := range all {
		w("| %d | %s | %s | %s | %s | %s | %s → %s | %.0f |", r.Run, r.Label, r.Publisher, clientName(r.Client), r.Started, orDash(r.Pinning), r.LoadAvgStart, r.LoadAvgEnd, r.WallSeconds)
	}
	w("")

	w("### M1: idle memory and connection setup")
	w("")
	w("| # | system | connected / requested | failed | retries after 503 | setup s | setups/s | server RSS before MiB | RSS idle MiB | RSS read (s after the last subscription) | KiB per connection | live heap MiB before → idle | stacks MiB before → idle | live KiB per connection |")
	w("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range all {
		live := "– | – | –" // not read (no -memstats, or the read failed: see Notes)
		if r.LiveIdle.total() > 0 {
			live = fmt.Sprintf("%.1f → %.1f | %.1f → %.1f | %.2f", float64(r.LiveBefore.HeapKiB)/1024, float64(r.LiveIdle.HeapKiB)/1024,
				float64(r.LiveBefore.StackKiB)/1024, float64(r.LiveIdle.StackKiB)/1024, r.LiveKiBPerConn)
		}
		w("| %d | %s | %d / %d | %d | %d | %.2f | %.0f | %.1f | %.1f | %.1f | %.2f | %s |", r.Run, shortName(r.System), r.Setup.OK, r.Setup.Requested, r.Setup.Failed, r.Setup.Retries,
			r.Setup.Seconds, r.Setup.PerSecond, float64(r.RSSBeforeKiB)/1024, float64(r.RSSIdleKiB)/1024, r.IdleSeconds, r.KiBPerConn, live)
	}
	w("")

	w("### Phases: publisher loop, deliveries and the per-subscriber check")
	w("")
	w("Latency is receive time − the time stamped in the message: the send time for bursts, the *scheduled* send time (start + i/rate) for M3. Calls/s is measured inside the server around the loop.")
	w("")
	w("| # | system | phase | subs | rate | calls (threw) | calls/s | ok calls/s | loop max lag ms | delivered / expected | lost | subs short | out of order | first→last s | deliveries/s | p50 / p90 / p99 / p99.9 / max ms | server CPU s | loadgen CPU s |")
	w("|---:|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|")
	for _, r := range all {
		for _, p := range r.Phases {
			if p.ID == phaseWarm {
				continue
			}
			rate := "burst"
			if p.Rate > 0 {
				rate = fmt.Sprintf("%g/s", p.Rate)
			}
			lag := "–"
			if p.Rate > 0 {
				lag = fmt.Sprintf("%.2f", p.Pub.MaxLagMS)
			}
			lat := "–"
			if p.Latency.Count > 0 {
				l := p.Latency
				lat = strings.Join([]string{msStr(l.P50), msStr(l.P90), msStr(l.P99), msStr(l.P999), msStr(l.Max)}, " / ")
			}
			w("| %d | %s | %s | %d | %s | %d (%d) | %s | %s | %s | %d / %d | %d | %d | %d | %.2f | %s | %s | %.2f | %.2f |", r.Run, shortName(r.System), p.ID, p.Subscribers, rate,
				p.Pub.Calls, p.Pub.Errors, fmtVal("/s", p.CallsPerSec), fmtVal("/s", p.OKPerSec), lag, p.Delivered, p.Expected, p.Lost, p.SubsShort, p.Disorder,
				p.DeliverSeconds, fmtVal("/s", p.DeliveriesPerS), lat, p.ServerCPU, p.LoadgenCPU)
		}
	}
	w("")

	var problems, notes []string
	for _, r := range all {
		for _, p := range r.Problems {
			problems = append(problems, fmt.Sprintf("run %d, %s: %s", r.Run, r.Label, p))
		}
		for _, n := range r.Notes {
			notes = append(notes, fmt.Sprintf("run %d, %s: %s", r.Run, r.Label, n))
		}
	}
	if len(notes) > 0 {
		w("### Notes")
		w("")
		w("- %s", strings.Join(notes, "\n- "))
		w("")
	}
	if len(problems) > 0 {
		w("### Problems")
		w("")
		w("- %s", strings.Join(problems, "\n- "))
	} else {
		w("Every subscriber of every phase of every run got every message, once and in publish order; no connection attempt failed and no publish call threw outside M6.")
	}
}

func clientName(kind string) string {
	switch kind {
	case "sse":
		return "SSE"
	case "pusher":
		return "WebSocket, Pusher protocol"
	default:
		return "WebSocket, native protocol"
	}
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}
