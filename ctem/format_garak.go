package ctem

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// garakEvalThreshold is garak's default: a detector score at or above it
// means the attack succeeded on that attempt.
const garakEvalThreshold = 0.5

// garak report.jsonl entries (only the fields mapped).
type garakEval struct {
	Probe          string   `json:"probe"`
	Detector       string   `json:"detector"`
	Passed         *float64 `json:"passed"`
	Fails          *float64 `json:"fails"`
	TotalEvaluated *float64 `json:"total_evaluated"`
	TotalProcessed *float64 `json:"total_processed"`
}

type garakAttempt struct {
	Status          int                   `json:"status"`
	ProbeClassname  string                `json:"probe_classname"`
	DetectorResults map[string][]*float64 `json:"detector_results"`
	Goal            string                `json:"goal"`
}

type garakHit struct {
	Probe     string   `json:"probe"`
	Detector  string   `json:"detector"`
	Generator string   `json:"generator"`
	Score     *float64 `json:"score"`
	Goal      string   `json:"goal"`
}

// garakRun is what the setup/init/config entries say about the run.
type garakRun struct {
	target    string
	start     time.Time
	threshold float64
}

// garakTally counts evaluated attempts of one (probe, detector).
type garakTally struct {
	total, fails int
}

// garakHitGroup gathers hit-log lines of one (generator, probe, detector).
type garakHitGroup struct {
	loc       string
	generator string
	probe     string
	detector  string
	goal      string
	hits      int
	maxScore  float64
}

// decodeGarak reads a garak report.jsonl or hit log line by line.
//
// A report's "eval" entries give, per probe and detector, how many attempts
// were evaluated and how many the model resisted ("passed"); the attack
// success rate is the failed share, fails / total. An eval with no failure is
// no exposure (skipped with the reason). Probes whose attempts were recorded
// but whose eval entry is missing (an interrupted run) are scored from the
// attempts' detector results at garak's threshold. A hit log lists only the
// successful attempts, so the failed share is unknown there: the highest
// detector score of a (probe, detector) stands in for the success rate. Lines
// without an entry_type that are not hits are read as flat garak findings.
func decodeGarak(data []byte, defaultAsset string) []streamItem {
	run := garakRun{threshold: garakEvalThreshold}
	type pending struct {
		item  streamItem
		eval  *garakEval
		group *garakHitGroup
	}
	var out []pending
	groups := map[string]*garakHitGroup{}
	tallies := map[string]map[string]*garakTally{} // probe → detector → tally
	var tallyOrder []string
	goals := map[string]string{}
	evaluated := map[string]bool{}

	for n, line := range splitLines(bytes.TrimPrefix(data, utf8BOM)) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		loc := "line " + strconv.Itoa(n+1)
		var head struct {
			EntryType *string `json:"entry_type"`
			Probe     *string `json:"probe"`
			Detector  *string `json:"detector"`
		}
		if line[0] != '{' || json.Unmarshal(line, &head) != nil {
			// Not a readable object: let the flat normaliser name the
			// problem (invalid JSON / not an object / wrong type).
			out = append(out, pending{item: streamItem{loc: loc, raw: line}})
			continue
		}
		if head.EntryType == nil {
			if head.Probe != nil && head.Detector != nil {
				var h garakHit
				if err := decodeRecord(SourceGarak, line, &h); err != nil {
					out = append(out, pending{item: streamItem{loc: loc, err: err}})
					continue
				}
				key := h.Generator + "\x00" + h.Probe + "\x00" + h.Detector
				g, ok := groups[key]
				if !ok {
					g = &garakHitGroup{loc: loc, generator: h.Generator, probe: h.Probe, detector: h.Detector, goal: h.Goal}
					groups[key] = g
					out = append(out, pending{group: g})
				}
				g.hits++
				if h.Score != nil && *h.Score > g.maxScore {
					g.maxScore = *h.Score
				}
				continue
			}
			out = append(out, pending{item: streamItem{loc: loc, raw: line}})
			continue
		}
		switch *head.EntryType {
		case "start_run setup", "config":
			var m map[string]any
			_ = json.Unmarshal(line, &m)
			if s := firstString(m, "plugins.target_name", "plugins.model_name"); s != "" {
				run.target = s
			}
			if t, ok := parseTimestamp(firstString(m, "transient.starttime_iso", "start_time")); ok && run.start.IsZero() {
				run.start = t
			}
			if th, ok := m["run.eval_threshold"].(float64); ok && th > 0 && th <= 1 {
				run.threshold = th
			}
		case "init":
			var m map[string]any
			_ = json.Unmarshal(line, &m)
			if t, ok := parseTimestamp(firstString(m, "start_time")); ok {
				run.start = t
			}
		case "attempt":
			var a garakAttempt
			if json.Unmarshal(line, &a) != nil || a.Status != 2 {
				continue // only evaluated attempts count; eval entries are authoritative
			}
			if a.Goal != "" && goals[a.ProbeClassname] == "" {
				goals[a.ProbeClassname] = a.Goal
			}
			for det, scores := range a.DetectorResults {
				if tallies[a.ProbeClassname] == nil {
					tallies[a.ProbeClassname] = map[string]*garakTally{}
					tallyOrder = append(tallyOrder, a.ProbeClassname)
				}
				t := tallies[a.ProbeClassname][det]
				if t == nil {
					t = &garakTally{}
					tallies[a.ProbeClassname][det] = t
				}
				for _, s := range scores {
					if s == nil {
						continue
					}
					t.total++
					if *s >= run.threshold {
						t.fails++
					}
				}
			}
		case "eval":
			var e garakEval
			if err := decodeRecord(SourceGarak, line, &e); err != nil {
				out = append(out, pending{item: streamItem{loc: loc, err: err}})
				continue
			}
			evaluated[e.Probe] = true
			out = append(out, pending{item: streamItem{loc: loc}, eval: &e})
		}
	}

	// Probes with evaluated attempts but no eval entry.
	for _, probe := range tallyOrder {
		if evaluated[probe] {
			continue
		}
		for _, det := range slices.Sorted(maps.Keys(tallies[probe])) {
			t := tallies[probe][det]
			total, fails := float64(t.total), float64(t.fails)
			out = append(out, pending{
				item: streamItem{loc: "attempts of " + probe + " / " + det},
				eval: &garakEval{Probe: probe, Detector: det, TotalEvaluated: &total, Fails: &fails},
			})
		}
	}

	items := make([]streamItem, 0, len(out))
	for _, p := range out {
		switch {
		case p.eval != nil:
			items = append(items, garakEvalItem(p.item.loc, *p.eval, run, goals[p.eval.Probe], defaultAsset))
		case p.group != nil:
			items = append(items, garakHitItem(*p.group, run, defaultAsset))
		default:
			items = append(items, p.item)
		}
	}
	return items
}

func firstString(m map[string]any, keys ...string) string {
	for _, k := range keys {
		if s, ok := m[k].(string); ok && s != "" {
			return s
		}
	}
	return ""
}

func garakEvalItem(loc string, e garakEval, run garakRun, goal, defaultAsset string) streamItem {
	var total, fails float64
	switch {
	case e.TotalEvaluated != nil:
		total = *e.TotalEvaluated
	case e.TotalProcessed != nil:
		total = *e.TotalProcessed
	case e.Passed != nil && e.Fails != nil:
		total = *e.Passed + *e.Fails
	}
	switch {
	case e.Fails != nil:
		fails = *e.Fails
	case e.Passed != nil:
		fails = total - *e.Passed
	}
	if !(total > 0) {
		return streamItem{loc: loc, skip: "no attempts evaluated for " + e.Probe + " / " + e.Detector}
	}
	if !(fails > 0) {
		return streamItem{loc: loc, skip: fmt.Sprintf("model resisted all %s attempts of %s / %s", fmtCount(total), e.Probe, e.Detector)}
	}
	f := &finding{
		Title:    garakTitle(e.Probe, e.Detector),
		AssetID:  firstNonEmpty(run.target, defaultAsset),
		Category: GarakProbeType(e.Probe),
		Rate:     fails / total,
		TS:       run.start,
		Description: fmt.Sprintf("garak probe %s, detector %s: %s of %s attempts succeeded",
			e.Probe, e.Detector, fmtCount(fails), fmtCount(total)),
	}
	if goal != "" {
		f.Description += "; goal: " + goal
	}
	return itemFor(loc, f, requireFinding(SourceGarak, f, "probe", "plugins.target_name"))
}

func garakHitItem(g garakHitGroup, run garakRun, defaultAsset string) streamItem {
	model := run.target
	if _, name, ok := strings.Cut(strings.TrimSpace(g.generator), " "); ok && strings.TrimSpace(name) != "" {
		model = strings.TrimSpace(name)
	} else if g.generator != "" && model == "" {
		model = strings.TrimSpace(g.generator)
	}
	f := &finding{
		Title:    garakTitle(g.probe, g.detector),
		AssetID:  firstNonEmpty(model, defaultAsset),
		Category: GarakProbeType(g.probe),
		Rate:     g.maxScore,
		TS:       run.start,
		Description: fmt.Sprintf("garak hit log: %d successful attempts of probe %s flagged by detector %s (highest detector score %s)",
			g.hits, g.probe, g.detector, strconv.FormatFloat(g.maxScore, 'f', -1, 64)),
	}
	if g.goal != "" {
		f.Description += "; goal: " + g.goal
	}
	return itemFor(g.loc, f, requireFinding(SourceGarak, f, "probe", "generator"))
}

// garakTitle names the weakness by probe and the detector that judged it,
// e.g. "dan.DanInTheWild (dan.DAN)": one exposure per (probe, detector) per
// model.
func garakTitle(probe, detector string) string {
	probe, detector = strings.TrimSpace(probe), strings.TrimSpace(detector)
	if probe == "" || detector == "" {
		return probe
	}
	return probe + " (" + detector + ")"
}

func fmtCount(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
