// Package mitregen turns the pinned MITRE ATT&CK Enterprise and ATLAS technique
// extracts (JSON, see ../../testdata/NOTICE) into the compact Go tables of
// package mitre. It lives apart from the generator command so that mitre's
// tests can regenerate the file in-process and compare it byte for byte with
// the committed zz_generated.go.
package mitregen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/format"
	"regexp"
	"slices"
	"strings"
)

// Input is what one generation run reads.
type Input struct {
	ATTACKJSON    []byte // attack_enterprise_v<ver>_techniques.json
	ATLASJSON     []byte // atlas_v<ver>_ids.json
	ATTACKVersion string // e.g. "18.1"; must appear as "v18.1" in the extract's source line
	ATLASVersion  string // e.g. "5.6.0"; must equal the extract's atlas_version
	// Command is written into the header ("go run ./gen ...").
	Command string
}

type attackFile struct {
	Source  string `json:"source"`
	Tactics []struct {
		ID        string `json:"id"`
		Name      string `json:"name"`
		Shortname string `json:"shortname"`
	} `json:"tactics"`
	Techniques []struct {
		ID             string   `json:"id"`
		Name           string   `json:"name"`
		IsSubtechnique bool     `json:"is_subtechnique"`
		Parent         *string  `json:"parent"`
		Tactics        []string `json:"tactics"`
		Deprecated     bool     `json:"deprecated"`
		Revoked        bool     `json:"revoked"`
	} `json:"techniques"`
}

type atlasFile struct {
	ATLASVersion string `json:"atlas_version"`
	Tactics      []struct {
		ID              string  `json:"id"`
		Name            string  `json:"name"`
		ATTACKReference *string `json:"attack_reference"`
	} `json:"tactics"`
	Techniques []struct {
		ID              string   `json:"id"`
		Name            string   `json:"name"`
		SubtechniqueOf  *string  `json:"subtechnique_of"`
		Tactics         []string `json:"tactics"`
		ATTACKReference *string  `json:"attack_reference"`
		Maturity        string   `json:"maturity"`
	} `json:"techniques"`
}

var (
	attackID       = regexp.MustCompile(`^T\d{4}(\.\d{3})?$`)
	atlasID        = regexp.MustCompile(`^AML\.T\d{4}(\.\d{3})?$`)
	attackTacticID = regexp.MustCompile(`^TA\d{4}$`)
	atlasTacticID  = regexp.MustCompile(`^AML\.TA\d{4}$`)
)

type row struct {
	id, name, framework, parent string
	tactics                     uint32
	deprecated, revoked         bool
	maturity, attackRef         string
}

type tacticRow struct{ id, name, shortname, attackRef string }

// Generate returns the gofmt-ed source of zz_generated.go. It fails on any
// inconsistency in the input (bad id grammar, duplicate ids, unknown parent or
// tactic, version mismatch) rather than emitting a table that lies.
func Generate(in Input) ([]byte, error) {
	var af attackFile
	if err := json.Unmarshal(in.ATTACKJSON, &af); err != nil {
		return nil, fmt.Errorf("attack json: %w", err)
	}
	var lf atlasFile
	if err := json.Unmarshal(in.ATLASJSON, &lf); err != nil {
		return nil, fmt.Errorf("atlas json: %w", err)
	}
	if !strings.Contains(af.Source, "v"+in.ATTACKVersion+" ") && !strings.HasSuffix(af.Source, "v"+in.ATTACKVersion+")") {
		return nil, fmt.Errorf("attack extract source %q does not name v%s", af.Source, in.ATTACKVersion)
	}
	if lf.ATLASVersion != in.ATLASVersion {
		return nil, fmt.Errorf("atlas extract is version %q, want %q", lf.ATLASVersion, in.ATLASVersion)
	}

	var attackTactics, atlasTactics []tacticRow
	attackTacticBit := map[string]int{} // shortname → bit
	for _, t := range af.Tactics {
		if !attackTacticID.MatchString(t.ID) || t.Shortname == "" || t.Name == "" {
			return nil, fmt.Errorf("attack tactic %+v malformed", t)
		}
		if _, dup := attackTacticBit[t.Shortname]; dup {
			return nil, fmt.Errorf("attack tactic %s duplicated", t.Shortname)
		}
		attackTacticBit[t.Shortname] = len(attackTactics)
		attackTactics = append(attackTactics, tacticRow{id: t.ID, name: t.Name, shortname: t.Shortname})
	}
	atlasTacticBit := map[string]int{} // id → bit
	for _, t := range lf.Tactics {
		if !atlasTacticID.MatchString(t.ID) || t.Name == "" {
			return nil, fmt.Errorf("atlas tactic %+v malformed", t)
		}
		if _, dup := atlasTacticBit[t.ID]; dup {
			return nil, fmt.Errorf("atlas tactic %s duplicated", t.ID)
		}
		atlasTacticBit[t.ID] = len(atlasTactics)
		atlasTactics = append(atlasTactics, tacticRow{id: t.ID, name: t.Name, attackRef: deref(t.ATTACKReference)})
	}
	if len(attackTactics) > 32 || len(atlasTactics) > 32 {
		return nil, fmt.Errorf("more than 32 tactics do not fit the tactic bit set")
	}

	var rows []row
	seen := map[string]bool{}
	for _, t := range af.Techniques {
		if !attackID.MatchString(t.ID) || t.Name == "" {
			return nil, fmt.Errorf("attack technique %q %q malformed", t.ID, t.Name)
		}
		parent := deref(t.Parent)
		if t.IsSubtechnique != (parent != "") || (parent != "" && !strings.HasPrefix(t.ID, parent+".")) {
			return nil, fmt.Errorf("attack technique %s: inconsistent parent %q", t.ID, parent)
		}
		var set uint32
		for _, s := range t.Tactics {
			bit, ok := attackTacticBit[s]
			if !ok {
				return nil, fmt.Errorf("attack technique %s: unknown tactic %q", t.ID, s)
			}
			set |= 1 << bit
		}
		rows = append(rows, row{id: t.ID, name: t.Name, framework: "ATTACK", parent: parent, tactics: set,
			deprecated: t.Deprecated, revoked: t.Revoked})
	}
	atlasTacticsOf := map[string]uint32{}
	for _, t := range lf.Techniques {
		if !atlasID.MatchString(t.ID) || t.Name == "" {
			return nil, fmt.Errorf("atlas technique %q %q malformed", t.ID, t.Name)
		}
		var set uint32
		for _, s := range t.Tactics {
			bit, ok := atlasTacticBit[s]
			if !ok {
				return nil, fmt.Errorf("atlas technique %s: unknown tactic %q", t.ID, s)
			}
			set |= 1 << bit
		}
		atlasTacticsOf[t.ID] = set
		ref := deref(t.ATTACKReference)
		if ref != "" && !attackID.MatchString(ref) {
			return nil, fmt.Errorf("atlas technique %s: bad ATT&CK reference %q", t.ID, ref)
		}
		rows = append(rows, row{id: t.ID, name: t.Name, framework: "ATLAS", parent: deref(t.SubtechniqueOf),
			tactics: set, maturity: t.Maturity, attackRef: ref})
	}
	for _, r := range rows {
		if seen[r.id] {
			return nil, fmt.Errorf("technique %s duplicated", r.id)
		}
		seen[r.id] = true
	}
	for i, r := range rows {
		if r.parent == "" {
			continue
		}
		if !seen[r.parent] || !strings.HasPrefix(r.id, r.parent+".") {
			return nil, fmt.Errorf("technique %s: parent %q missing or not its prefix", r.id, r.parent)
		}
		// ATLAS lists tactics only on parent techniques; a sub-technique belongs
		// to its parent's tactics (the ATLAS matrix shows it there).
		if r.framework == "ATLAS" && r.tactics == 0 {
			rows[i].tactics = atlasTacticsOf[r.parent]
		}
	}
	slices.SortFunc(rows, func(a, b row) int { return strings.Compare(a.id, b.id) })

	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated by %s; DO NOT EDIT.\n\n", in.Command)
	b.WriteString("package mitre\n\n")
	fmt.Fprintf(&b, "// ATTACKVersion is the pinned MITRE ATT&CK Enterprise release of the table.\nconst ATTACKVersion = %q\n\n", in.ATTACKVersion)
	fmt.Fprintf(&b, "// ATLASVersion is the pinned MITRE ATLAS release of the table.\nconst ATLASVersion = %q\n\n", in.ATLASVersion)

	writeTactics := func(name string, ts []tacticRow) {
		fmt.Fprintf(&b, "var %s = [...]Tactic{\n", name)
		for _, t := range ts {
			fmt.Fprintf(&b, "\t{ID: %q, Name: %q", t.id, t.name)
			if t.shortname != "" {
				fmt.Fprintf(&b, ", Shortname: %q", t.shortname)
			}
			if t.attackRef != "" {
				fmt.Fprintf(&b, ", ATTACKReference: %q", t.attackRef)
			}
			b.WriteString("},\n")
		}
		b.WriteString("}\n\n")
	}
	writeTactics("attackTactics", attackTactics)
	writeTactics("atlasTactics", atlasTactics)

	b.WriteString("// techniques is sorted by ID (byte order).\n")
	b.WriteString("var techniques = [...]Technique{\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "\t{ID: %q, Name: %q, Framework: %s", r.id, r.name, r.framework)
		if r.parent != "" {
			fmt.Fprintf(&b, ", Parent: %q", r.parent)
		}
		fmt.Fprintf(&b, ", tactics: %#x", r.tactics)
		if r.deprecated {
			b.WriteString(", Deprecated: true")
		}
		if r.revoked {
			b.WriteString(", Revoked: true")
		}
		if r.maturity != "" {
			fmt.Fprintf(&b, ", Maturity: %q", r.maturity)
		}
		if r.attackRef != "" {
			fmt.Fprintf(&b, ", ATTACKReference: %q", r.attackRef)
		}
		b.WriteString("},\n")
	}
	b.WriteString("}\n")
	src, err := format.Source(b.Bytes())
	if err != nil {
		return nil, fmt.Errorf("format generated source: %w", err)
	}
	return src, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// DefaultCommand is the generator named in the generated file's header.
const DefaultCommand = "internal/mitre/gen from testdata/attack_enterprise_v18.1_techniques.json and testdata/atlas_v5.6.0_ids.json"
