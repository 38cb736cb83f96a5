package ctem

import (
	"encoding/json"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
)

// stringList accepts a JSON string, an array of strings, or null.
type stringList []string

func (l *stringList) UnmarshalJSON(b []byte) error {
	switch {
	case string(b) == "null":
		*l = nil
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*l = stringList{s}
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return err
	}
	*l = list
	return nil
}

// snykVuln is one entry of `snyk test --json` "vulnerabilities" (only the
// fields mapped).
type snykVuln struct {
	ID                    string              `json:"id"`
	Title                 string              `json:"title"`
	Description           string              `json:"description"`
	Severity              string              `json:"severity"`
	PackageName           string              `json:"packageName"`
	Version               string              `json:"version"`
	PackageManager        string              `json:"packageManager"`
	CVSSScore             *float64            `json:"cvssScore"`
	CVSSv3                *string             `json:"CVSSv3"`
	FixedIn               stringList          `json:"fixedIn"`
	NearestFixedInVersion *string             `json:"nearestFixedInVersion"`
	Identifiers           map[string][]string `json:"identifiers"`
	PublicationTime       string              `json:"publicationTime"`
	DisclosureTime        string              `json:"disclosureTime"`
	Exploit               string              `json:"exploit"`
	URL                   *string             `json:"url"`
}

// decodeSnykTest reads `snyk test --json` output: a project object, an array
// of them (--all-projects), or a container scan whose "applications" are
// projects of their own.
func decodeSnykTest(data []byte) []streamItem {
	w := newDocWalker(data, []string{"vulnerabilities"},
		[]string{"projectName", "packageManager", "path", "targetFile", "displayTargetFile", "error"}, false)
	w.newRecord = func(string) any { return new(snykVuln) }
	werr := w.walk()
	var items []streamItem
	// A failed scan ({"ok": false, "error": "..."}) must not read as a clean
	// one: report it as a record error of its own.
	for _, owner := range slices.Sorted(maps.Keys(w.values)) {
		if raw, ok := w.values[owner]["error"]; ok && isSnykProjectPath(owner) {
			var msg string
			_ = json.Unmarshal(raw, &msg)
			if msg != "" {
				items = append(items, streamItem{loc: locOr(owner, "document"), err: &FieldError{Source: SourceSnyk, Field: "error", Reason: "snyk reported a failed scan: " + msg}})
			}
		}
	}
	for _, rec := range w.records {
		if !isSnykProjectPath(rec.owner) {
			continue
		}
		if err := fieldErrorOf(SourceSnyk, rec.err); err != nil {
			items = append(items, streamItem{loc: rec.loc, err: err})
			continue
		}
		v := *rec.val.(*snykVuln)
		f := &finding{
			Title:       snykTitle(v.Title, v.PackageName, v.ID),
			AssetID:     snykProjectAsset(w, rec.owner),
			Severity:    v.Severity,
			Description: v.Description,
			PackageName: v.PackageName,
			AssetType:   firstNonEmpty(v.PackageManager, w.str(rec.owner, "packageManager")),
			Remediation: snykRemediation(v),
			EvidenceURL: snykVulnURL(v.ID),
		}
		if v.URL != nil && *v.URL != "" {
			f.EvidenceURL = *v.URL
		}
		if cves := v.Identifiers["CVE"]; len(cves) > 0 {
			f.AttackTechnique = cves[0]
		}
		vector := ""
		if v.CVSSv3 != nil {
			vector = *v.CVSSv3
		}
		f.CVSS = snykExploitability(vector, v.CVSSScore, v.Severity, v.Exploit)
		if err := snykTimestamp(f, "disclosureTime", v.DisclosureTime, "publicationTime", v.PublicationTime); err != nil {
			items = append(items, streamItem{loc: rec.loc, err: err})
			continue
		}
		items = append(items, itemFor(rec.loc, f, requireFinding(SourceSnyk, f, "title", "projectName")))
	}
	if werr != nil {
		items = append(items, walkFailure(werr))
	}
	return items
}

func locOr(loc, def string) string {
	if loc == "" {
		return def
	}
	return loc
}

// isSnykProjectPath accepts the owners a project object can have: the root,
// an --all-projects element, or an application of either.
func isSnykProjectPath(p string) bool {
	if strings.HasPrefix(p, "[") {
		end := strings.IndexByte(p, ']')
		if end < 0 || !allDigits(p[1:end]) {
			return false
		}
		p = strings.TrimPrefix(p[end+1:], ".")
	}
	if p == "" {
		return true
	}
	rest, ok := strings.CutPrefix(p, "applications[")
	return ok && strings.HasSuffix(rest, "]") && allDigits(strings.TrimSuffix(rest, "]"))
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// snykProjectAsset names the scanned project; an application found inside a
// container image is "<image project>:<application target file>".
func snykProjectAsset(w *docWalker, owner string) string {
	name := w.own(owner, "projectName")
	if i := strings.LastIndex(owner, "applications["); i >= 0 {
		parent := parentPath(owner)
		app := firstNonEmpty(w.own(owner, "targetFile"), w.own(owner, "displayTargetFile"), name)
		if image := w.own(parent, "projectName"); image != "" {
			return image + ":" + app
		}
		return app
	}
	return name
}

// snykTitle is "<title> in <package> (<snyk id>)": Snyk titles name the weakness
// ("Prototype Pollution"), several advisories of one package share a title,
// and the id keeps them apart.
func snykTitle(title, pkg, id string) string {
	t := vulnTitle(strings.TrimSpace(title), pkg)
	if id = strings.TrimSpace(id); id != "" && t != "" {
		t += " (" + id + ")"
	}
	return t
}

func snykRemediation(v snykVuln) string {
	if len(v.FixedIn) > 0 {
		return "Upgrade " + v.PackageName + " to " + strings.Join(v.FixedIn, ", ")
	}
	if v.NearestFixedInVersion != nil && *v.NearestFixedInVersion != "" {
		return "Upgrade " + v.PackageName + " to " + *v.NearestFixedInVersion
	}
	return ""
}

func snykVulnURL(id string) string {
	if strings.HasPrefix(id, "SNYK-") {
		return "https://security.snyk.io/vuln/" + id
	}
	return ""
}

func snykTimestamp(f *finding, keyA, a, keyB, b string) error {
	for _, kv := range [][2]string{{keyA, a}, {keyB, b}} {
		if kv[1] == "" {
			continue
		}
		t, ok := parseTimestamp(kv[1])
		if !ok {
			return &FieldError{Source: SourceSnyk, Field: kv[0], Reason: reasonBadTimestamp}
		}
		f.TS = t
		return nil
	}
	return nil
}

// cvssV3Exploitability returns the CVSS v3 exploitability sub-score
// (8.22 × AV × AC × PR × UI, at most ≈ 3.89) of a vector, ok=false when the
// vector is not CVSS v3 or lacks a metric.
func cvssV3Exploitability(vector string) (float64, bool) {
	parts := strings.Split(strings.TrimSpace(vector), "/")
	if len(parts) < 2 || !strings.HasPrefix(parts[0], "CVSS:3") {
		return 0, false
	}
	m := make(map[string]string, len(parts))
	for _, p := range parts[1:] {
		if k, v, ok := strings.Cut(p, ":"); ok {
			m[k] = v
		}
	}
	av := map[string]float64{"N": 0.85, "A": 0.62, "L": 0.55, "P": 0.2}[m["AV"]]
	ac := map[string]float64{"L": 0.77, "H": 0.44}[m["AC"]]
	ui := map[string]float64{"N": 0.85, "R": 0.62}[m["UI"]]
	changed := m["S"] == "C"
	var pr float64
	switch m["PR"] {
	case "N":
		pr = 0.85
	case "L":
		pr = 0.62
		if changed {
			pr = 0.68
		}
	case "H":
		pr = 0.27
		if changed {
			pr = 0.5
		}
	}
	if av == 0 || ac == 0 || ui == 0 || pr == 0 {
		return 0, false
	}
	return 8.22 * av * ac * pr * ui, true
}

// maxCVSSv3Exploitability is the sub-score of AV:N/AC:L/PR:N/UI:N.
var maxCVSSv3Exploitability = 8.22 * 0.85 * 0.77 * 0.85 * 0.85

// snykExploitability is the 0–10 exploitability input of real Snyk output,
// which carries no exploitability number of its own: the CVSS v3
// exploitability sub-score rescaled to 0–10 when a vector is present, else the
// CVSS base score, else the tool's severity (critical/high 9, medium 5, low 2).
// A working exploit in the wild (maturity Functional, High, Mature or
// Attacked) raises it to at least 7, the threshold of "high".
func snykExploitability(vector string, base *float64, severity, maturity string) float64 {
	var x float64
	if sub, ok := cvssV3Exploitability(vector); ok {
		x = roundN(sub/maxCVSSv3Exploitability*10, 1)
	} else if base != nil && !math.IsNaN(*base) {
		x = *base
	} else {
		switch strings.ToLower(severity) {
		case "critical", "high":
			x = 9
		case "medium":
			x = 5
		default:
			x = 2
		}
	}
	if knownExploitMaturity(maturity) && x < 7 {
		x = 7
	}
	return x
}

func knownExploitMaturity(m string) bool {
	switch strings.ToLower(strings.TrimSpace(m)) {
	case "functional", "high", "mature", "attacked":
		return true
	}
	return false
}

// snykIssue is one resource of the REST issues API (only the fields mapped).
type snykIssue struct {
	ID         string `json:"id"`
	Type       string `json:"type"`
	Attributes struct {
		Title                  string `json:"title"`
		Description            string `json:"description"`
		Type                   string `json:"type"`
		Key                    string `json:"key"`
		Status                 string `json:"status"`
		Ignored                bool   `json:"ignored"`
		EffectiveSeverityLevel string `json:"effective_severity_level"`
		CreatedAt              string `json:"created_at"`
		Coordinates            []struct {
			Representations []struct {
				Dependency *struct {
					PackageName    string `json:"package_name"`
					PackageVersion string `json:"package_version"`
				} `json:"dependency"`
				SourceLocation *struct {
					File   string `json:"file"`
					Region struct {
						Start struct {
							Line int `json:"line"`
						} `json:"start"`
					} `json:"region"`
				} `json:"sourceLocation"`
			} `json:"representations"`
		} `json:"coordinates"`
		Problems []struct {
			ID     string `json:"id"`
			Source string `json:"source"`
			URL    string `json:"url"`
		} `json:"problems"`
		Severities []struct {
			Level  string   `json:"level"`
			Score  *float64 `json:"score"`
			Vector string   `json:"vector"`
			Source string   `json:"source"`
		} `json:"severities"`
		ExploitDetails struct {
			MaturityLevels []struct {
				Level string `json:"level"`
			} `json:"maturity_levels"`
		} `json:"exploit_details"`
	} `json:"attributes"`
	Relationships struct {
		ScanItem struct {
			Data struct {
				ID   string `json:"id"`
				Type string `json:"type"`
			} `json:"data"`
		} `json:"scan_item"`
	} `json:"relationships"`
}

// decodeSnykREST reads one page of GET /orgs/{org}/issues. Each issue is an
// exposure of its scan item (project); resolved issues are skipped.
func decodeSnykREST(data []byte) []streamItem {
	w := newDocWalker(data, []string{"data"}, nil, false)
	werr := w.walk()
	var items []streamItem
	for _, rec := range w.records {
		if rec.owner != "" {
			continue
		}
		var is snykIssue
		if err := decodeRecord(SourceSnyk, rec.raw, &is); err != nil {
			items = append(items, streamItem{loc: rec.loc, err: err})
			continue
		}
		a := is.Attributes
		if strings.EqualFold(a.Status, "resolved") {
			items = append(items, streamItem{loc: rec.loc, skip: "status resolved at the source"})
			continue
		}
		f := &finding{
			AssetID:     is.Relationships.ScanItem.Data.ID,
			Severity:    a.EffectiveSeverityLevel,
			Description: a.Description,
		}
		var pkg, file string
		var line int
		for _, c := range a.Coordinates {
			for _, r := range c.Representations {
				if r.Dependency != nil && pkg == "" {
					pkg = r.Dependency.PackageName
				}
				if r.SourceLocation != nil && file == "" {
					file, line = r.SourceLocation.File, r.SourceLocation.Region.Start.Line
				}
			}
		}
		switch {
		case pkg != "":
			f.PackageName = pkg
			f.Title = snykTitle(a.Title, pkg, a.Key)
		case file != "":
			f.Title = strings.TrimSpace(a.Title) + " at " + file + ":" + strconv.Itoa(line)
		default:
			f.Title = strings.TrimSpace(a.Title)
		}
		for _, p := range a.Problems {
			if strings.HasPrefix(p.ID, "CVE-") && f.AttackTechnique == "" {
				f.AttackTechnique = p.ID
			}
		}
		f.EvidenceURL = snykVulnURL(a.Key)
		if f.EvidenceURL == "" {
			for _, p := range a.Problems {
				if p.URL != "" {
					f.EvidenceURL = p.URL
					break
				}
			}
		}
		vector, base := "", (*float64)(nil)
		for i, s := range a.Severities {
			if i == 0 || strings.EqualFold(s.Source, "snyk") {
				vector, base = s.Vector, s.Score
				if strings.EqualFold(s.Source, "snyk") {
					break
				}
			}
		}
		maturity := ""
		for _, m := range a.ExploitDetails.MaturityLevels {
			if knownExploitMaturity(m.Level) {
				maturity = m.Level
			}
		}
		f.CVSS = snykExploitability(vector, base, a.EffectiveSeverityLevel, maturity)
		if err := snykTimestamp(f, "attributes.created_at", a.CreatedAt, "", ""); err != nil {
			items = append(items, streamItem{loc: rec.loc, err: err})
			continue
		}
		items = append(items, itemFor(rec.loc, f, requireFinding(SourceSnyk, f, "attributes.title", "relationships.scan_item.data.id")))
	}
	if werr != nil {
		items = append(items, walkFailure(werr))
	}
	return items
}
