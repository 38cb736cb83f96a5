package ctem

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
)

// Wiz export column names.
const (
	wizColTitle        = "Title"
	wizColSeverity     = "Severity"
	wizColStatus       = "Status"
	wizColCreatedAt    = "Created At"
	wizColDescription  = "Description"
	wizColResourceType = "Resource Type"
	wizColResourceExt  = "Resource external ID"
	wizColVertexID     = "Resource vertex ID"
	wizColResourceName = "Resource Name"
	wizColRemediation  = "Remediation Recommendation"
	wizColWizURL       = "Wiz URL"
	wizColIssueID      = "Issue ID"

	wizColName           = "Name"
	wizColDetailedName   = "DetailedName"
	wizColVendorSeverity = "VendorSeverity"
	wizColCVSSSeverity   = "CVSSSeverity"
	wizColFindingStatus  = "FindingStatus"
	wizColFirstDetected  = "FirstDetected"
	wizColAssetID        = "AssetID"
	wizColProviderID     = "ProviderUniqueId"
	wizColAssetName      = "AssetName"
	wizColRemediationV   = "Remediation"
	wizColFixedVersion   = "FixedVersion"
	wizColWizURLV        = "WizURL"
	wizColLink           = "Link"
	wizColHasExploit     = "HasExploit"
	wizColHasKEV         = "HasCisaKevExploit"
)

// wizClosedStatuses are source statuses whose findings are no longer open
// exposures: importing them would reopen work someone already finished.
var wizClosedStatuses = map[string]bool{"resolved": true, "rejected": true, "closed": true, "fixed": true}

// decodeWizCSV reads a Wiz CSV export. The header decides the layout: the
// Issues report, the vulnerability-findings report, or columns named like
// the flat Wiz keys (title, resource_id, ...), whose rows go through the
// flat normaliser.
func decodeWizCSV(data []byte, forced Format) (Format, []streamItem) {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err == io.EOF {
		return FormatEmpty, nil
	}
	if err != nil {
		return forced, []streamItem{{loc: "header", err: &FieldError{Source: SourceWiz, Field: rootField, Reason: "unreadable CSV header: " + err.Error()}}}
	}
	col := make(map[string]int, len(header))
	for i, h := range header {
		col[strings.TrimSpace(h)] = i
	}
	has := func(names ...string) bool {
		for _, n := range names {
			if _, ok := col[n]; !ok {
				return false
			}
		}
		return true
	}
	format := forced
	if format == FormatWizCSV || format == FormatAuto {
		switch {
		case has(wizColTitle, wizColSeverity, wizColResourceExt):
			format = FormatWizIssuesCSV
		case has(wizColName, wizColAssetID):
			format = FormatWizVulnerabilitiesCSV
		default:
			format = FormatWizCSV
		}
	}
	var items []streamItem
	for row := 0; ; row++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		loc := "row " + strconv.Itoa(row+1)
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				loc += " (line " + strconv.Itoa(pe.StartLine) + ")"
			}
			items = append(items, streamItem{loc: loc, err: &FieldError{Source: SourceWiz, Field: rootField, Reason: "malformed CSV row: " + err.Error()}})
			continue
		}
		if len(rec) > 0 { // FieldPos panics on an empty record
			line, _ := r.FieldPos(0)
			loc += " (line " + strconv.Itoa(line) + ")"
		}
		if len(rec) != len(header) {
			items = append(items, streamItem{loc: loc, err: &FieldError{Source: SourceWiz, Field: rootField,
				Reason: "row has " + strconv.Itoa(len(rec)) + " fields, header has " + strconv.Itoa(len(header))}})
			continue
		}
		get := func(name string) string {
			if i, ok := col[name]; ok {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		items = append(items, wizCSVRow(format, loc, get, header, rec))
	}
	return format, items
}

func wizCSVRow(format Format, loc string, get func(string) string, header, rec []string) streamItem {
	switch format {
	case FormatWizIssuesCSV:
		if st := get(wizColStatus); wizClosedStatuses[strings.ToLower(st)] {
			return streamItem{loc: loc, skip: "status " + st + " at the source"}
		}
		f := &finding{
			Title:        get(wizColTitle),
			AssetID:      firstNonEmpty(get(wizColResourceExt), get(wizColVertexID), get(wizColResourceName)),
			Severity:     get(wizColSeverity),
			ResourceType: get(wizColResourceType),
			Description:  get(wizColDescription),
			Remediation:  get(wizColRemediation),
			EvidenceURL:  get(wizColWizURL),
		}
		if err := wizTimestamp(f, get(wizColCreatedAt), wizColCreatedAt); err != nil {
			return streamItem{loc: loc, err: err}
		}
		return itemFor(loc, f, requireFinding(SourceWiz, f, wizColTitle, wizColResourceExt))
	case FormatWizVulnerabilitiesCSV:
		if st := get(wizColFindingStatus); wizClosedStatuses[strings.ToLower(st)] {
			return streamItem{loc: loc, skip: "finding status " + st + " at the source"}
		}
		f := &finding{
			Title:        vulnTitle(get(wizColName), get(wizColDetailedName)),
			AssetID:      firstNonEmpty(get(wizColAssetID), get(wizColProviderID), get(wizColAssetName)),
			Severity:     firstNonEmpty(get(wizColVendorSeverity), get(wizColCVSSSeverity)),
			Remediation:  firstNonEmpty(get(wizColRemediationV), upgradeHint(get(wizColDetailedName), get(wizColFixedVersion))),
			EvidenceURL:  firstNonEmpty(get(wizColWizURLV), get(wizColLink)),
			KnownExploit: strings.EqualFold(get(wizColHasExploit), "true") || strings.EqualFold(get(wizColHasKEV), "true"),
		}
		if err := wizTimestamp(f, get(wizColFirstDetected), wizColFirstDetected); err != nil {
			return streamItem{loc: loc, err: err}
		}
		return itemFor(loc, f, requireFinding(SourceWiz, f, wizColName, wizColAssetID))
	}
	// Columns named like the flat keys: the row becomes a flat object.
	obj := make(map[string]string, len(header))
	for i, h := range header {
		if v := strings.TrimSpace(rec[i]); v != "" {
			obj[strings.TrimSpace(h)] = v
		}
	}
	raw, _ := json.Marshal(obj)
	return streamItem{loc: loc, raw: raw}
}

func wizTimestamp(f *finding, v, col string) error {
	if v == "" {
		return nil
	}
	t, ok := parseTimestamp(v)
	if !ok {
		return &FieldError{Source: SourceWiz, Field: col, Reason: reasonBadTimestamp}
	}
	f.TS = t
	return nil
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

// vulnTitle names a vulnerability in a package, e.g. "CVE-2023-44487 in
// golang.org/x/net". The package is part of the title (and so of the key):
// the same CVE in two packages on one asset is two exposures.
func vulnTitle(vuln, pkg string) string {
	vuln, pkg = strings.TrimSpace(vuln), strings.TrimSpace(pkg)
	if vuln == "" || pkg == "" {
		return vuln
	}
	return vuln + " in " + pkg
}

func upgradeHint(pkg, fixed string) string {
	if fixed == "" {
		return ""
	}
	if pkg == "" {
		return "Upgrade to " + fixed
	}
	return "Upgrade " + pkg + " to " + fixed
}

// wizcli JSON shapes (only the fields mapped).
type wizcliVuln struct {
	Name              string  `json:"name"`
	Severity          string  `json:"severity"`
	FixedVersion      string  `json:"fixedVersion"`
	Source            string  `json:"source"`
	Description       string  `json:"description"`
	HasExploit        bool    `json:"hasExploit"`
	HasCisaKevExploit bool    `json:"hasCisaKevExploit"`
	Score             float64 `json:"score"`
}

type wizcliSecret struct {
	Description string `json:"description"`
	Path        string `json:"path"`
	LineNumber  int    `json:"lineNumber"`
	Type        string `json:"type"`
}

type wizcliRuleMatch struct {
	Rule struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"rule"`
	Severity string `json:"severity"`
	Matches  []struct {
		ResourceName            string `json:"resourceName"`
		FileName                string `json:"fileName"`
		LineNumber              int    `json:"lineNumber"`
		Expected                string `json:"expected"`
		Found                   string `json:"found"`
		RemediationInstructions string `json:"remediationInstructions"`
	} `json:"matches"`
}

// decodeWizCLI reads wizcli scan output: library / OS-package
// vulnerabilities, secrets and IaC rule matches, each one exposure of the
// scanned origin (image, directory or IaC scan).
func decodeWizCLI(data []byte) []streamItem {
	w := newDocWalker(data, []string{"vulnerabilities", "secrets", "ruleMatches"},
		[]string{"name", "version", "path", "createdAt", "reportUrl", "__typename"}, false)
	werr := w.walk()
	asset := w.own("scanOriginResource", "name")
	originType := strings.TrimPrefix(w.own("scanOriginResource", "__typename"), "CICDScanOrigin")
	var ts string = w.own("", "createdAt")
	report := w.own("", "reportUrl")
	var items []streamItem
	for _, rec := range w.records {
		base := finding{AssetID: asset, ResourceType: originType, EvidenceURL: report}
		tsErr := wizTimestamp(&base, ts, "createdAt")
		switch {
		case rec.key == "vulnerabilities" && strings.HasPrefix(rec.owner, "result.") && strings.HasSuffix(rec.owner, "]"):
			var v wizcliVuln
			if err := decodeRecord(SourceWiz, rec.raw, &v); err != nil {
				items = append(items, streamItem{loc: rec.loc, err: err})
				continue
			}
			pkg := w.own(rec.owner, "name")
			f := base
			f.Title = vulnTitle(v.Name, pkg)
			f.Severity = v.Severity
			f.KnownExploit = v.HasExploit || v.HasCisaKevExploit
			f.Remediation = upgradeHint(pkg, v.FixedVersion)
			f.EvidenceURL = firstNonEmpty(v.Source, report)
			f.Description = v.Description
			if p := w.own(rec.owner, "path"); p != "" {
				f.Description = strings.TrimSpace(f.Description + "\n" + pkg + " " + w.own(rec.owner, "version") + " at " + p)
			}
			items = append(items, wizItem(rec.loc, &f, tsErr, "name"))
		case rec.key == "secrets" && rec.owner == "result":
			var sct wizcliSecret
			if err := decodeRecord(SourceWiz, rec.raw, &sct); err != nil {
				items = append(items, streamItem{loc: rec.loc, err: err})
				continue
			}
			f := base
			// The type is part of the title: wizcli reports a private and a
			// public key found at one line as two secrets.
			f.Title = sct.Description
			if where := secretWhere(sct); where != "" {
				f.Title += " (" + where + ")"
			}
			f.Description = "secret of type " + sct.Type
			f.Remediation = "Remove the secret from the scanned content and rotate it"
			items = append(items, wizItem(rec.loc, &f, tsErr, "description"))
		case rec.key == "ruleMatches" && rec.owner == "result":
			var m wizcliRuleMatch
			if err := decodeRecord(SourceWiz, rec.raw, &m); err != nil {
				items = append(items, streamItem{loc: rec.loc, err: err})
				continue
			}
			if len(m.Matches) == 0 {
				f := base
				f.Title, f.Severity = m.Rule.Name, m.Severity
				items = append(items, wizItem(rec.loc, &f, tsErr, "rule.name"))
				continue
			}
			for j, mt := range m.Matches {
				f := base
				f.Title = m.Rule.Name
				if mt.FileName != "" {
					f.Title += " (" + mt.FileName + ":" + strconv.Itoa(mt.LineNumber) + ")"
				}
				f.Severity = m.Severity
				f.Description = mt.Found
				f.Remediation = firstNonEmpty(mt.RemediationInstructions, mt.Expected)
				items = append(items, wizItem(rec.loc+".matches["+strconv.Itoa(j)+"]", &f, tsErr, "rule.name"))
			}
		}
	}
	if werr != nil {
		items = append(items, walkFailure(werr))
	}
	return items
}

func wizItem(loc string, f *finding, tsErr error, titleKey string) streamItem {
	if tsErr != nil {
		return streamItem{loc: loc, err: tsErr}
	}
	return itemFor(loc, f, requireFinding(SourceWiz, f, titleKey, "scanOriginResource.name"))
}

func secretWhere(s wizcliSecret) string {
	var parts []string
	if s.Path != "" {
		parts = append(parts, s.Path+":"+strconv.Itoa(s.LineNumber))
	}
	if s.Type != "" {
		parts = append(parts, s.Type)
	}
	return strings.Join(parts, ", ")
}
