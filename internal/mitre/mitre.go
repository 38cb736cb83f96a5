// Package mitre holds Warden's pinned technique-id tables: MITRE ATT&CK
// Enterprise v18.1 (835 techniques and sub-techniques, 691 of them neither
// deprecated nor revoked) and MITRE ATLAS 5.6.0 (170 techniques and
// sub-techniques). Every package that validates, extracts or emits a technique
// id uses this one table (DESIGN §3 "Technique ids"), so a model's output, an
// alert's tags and a detection rule can never disagree on which ids exist.
//
// Two questions are kept apart:
//
//   - [Known]: the id is in the pinned release at all (including deprecated and
//     revoked ATT&CK entries, which old alerts and reports still carry).
//   - [Active]: known and neither deprecated nor revoked. Only active ids
//     belong in new output; the gateway quarantines everything else.
//
// Lookups match the canonical spelling exactly ("T1059.001", "AML.T0051");
// run untrusted text through [Normalize] first. The tables are generated
// (zz_generated.go) from the extracts in testdata/ by `go generate`, read-only
// after initialisation and safe for concurrent use; lookups do not allocate.
//
// [Correct] and [Corrections] document the technique ids the reference
// platform used that do not exist in ATLAS 5.6.0, and the replacements ctem and
// atlas apply together.
//
// # Attribution
//
// ATT&CK®: "© 2021 The MITRE Corporation. This work is reproduced and
// distributed with the permission of The MITRE Corporation." (the copyright
// designation of mitre/cti LICENSE.txt). ATT&CK ids, names
// and tactic assignments come from mitre/cti (commit
// 421deacb77191b38bdd1bf63268954e93da91365) under the ATT&CK Terms of Use,
// reproduced in the NOTICE file of this directory. MITRE ATT&CK and ATT&CK are
// registered trademarks of The MITRE Corporation.
//
// ATLAS™: Copyright 2021-2025 The MITRE Corporation. ATLAS ids, names and
// tactic assignments come from mitre-atlas/atlas-data (commit
// c1050fcf2cb4674667fccceca17e29e0103776ba, dist/ATLAS.yaml), licensed under
// the Apache License, Version 2.0. See NOTICE.
package mitre

//go:generate go run ./gen

import (
	"errors"
	"iter"
	"slices"
	"strconv"
	"strings"
)

// Framework names the knowledge base a technique id belongs to.
type Framework uint8

// The two frameworks. The zero value is no framework.
const (
	ATTACK Framework = iota + 1 // MITRE ATT&CK Enterprise, ids T1234 / T1234.001
	ATLAS                       // MITRE ATLAS, ids AML.T0051 / AML.T0051.000
)

func (f Framework) String() string {
	switch f {
	case ATTACK:
		return "ATT&CK"
	case ATLAS:
		return "ATLAS"
	default:
		return "Framework(" + strconv.Itoa(int(f)) + ")"
	}
}

// Tactic is one tactic (matrix column) of a framework.
type Tactic struct {
	ID   string // "TA0002", "AML.TA0005"
	Name string // "Execution"
	// Shortname is ATT&CK's kebab-case tactic name ("defense-evasion"); empty
	// for ATLAS.
	Shortname string
	// ATTACKReference is the ATT&CK tactic an ATLAS tactic corresponds to
	// ("TA0002"); empty for ATT&CK tactics and ATLAS-only tactics.
	ATTACKReference string
}

// Technique is one technique or sub-technique of the pinned releases.
type Technique struct {
	ID        string
	Name      string
	Framework Framework
	// Parent is the parent technique's id for a sub-technique, else empty.
	Parent string
	// Deprecated and Revoked are ATT&CK's flags (no ATLAS 5.6.0 technique
	// carries either). A revoked technique was replaced by another; the
	// extract does not record which.
	Deprecated bool
	Revoked    bool
	// Maturity is ATLAS's evidence level: "feasible", "demonstrated" or
	// "realized"; empty for ATT&CK.
	Maturity string
	// ATTACKReference is the ATT&CK technique an ATLAS technique adapts
	// ("T1596"), if ATLAS names one.
	ATTACKReference string

	// tactics is a bit set over the framework's tactic table (bit i = index i
	// of attackTactics or atlasTactics). ATLAS sub-techniques carry their
	// parent's tactics, as the ATLAS matrix shows them.
	tactics uint32
}

// Active reports whether t is a real entry that is neither deprecated nor
// revoked.
func (t Technique) Active() bool { return t.ID != "" && !t.Deprecated && !t.Revoked }

// IsSubtechnique reports whether t has a parent technique.
func (t Technique) IsSubtechnique() bool { return t.Parent != "" }

// Tactics returns the tactics t belongs to, in the framework's tactic-table
// order. The slice is the caller's.
func (t Technique) Tactics() []Tactic {
	table := tacticTable(t.Framework)
	var out []Tactic
	for i := range table {
		if t.tactics&(1<<i) != 0 {
			out = append(out, table[i])
		}
	}
	return out
}

// HasTactic reports whether t belongs to the tactic with the given id
// ("TA0002", "AML.TA0005") or ATT&CK shortname ("execution").
func (t Technique) HasTactic(idOrShortname string) bool {
	table := tacticTable(t.Framework)
	for i := range table {
		if t.tactics&(1<<i) != 0 && (table[i].ID == idOrShortname || (table[i].Shortname != "" && table[i].Shortname == idOrShortname)) {
			return true
		}
	}
	return false
}

func tacticTable(f Framework) []Tactic {
	switch f {
	case ATTACK:
		return attackTactics[:]
	case ATLAS:
		return atlasTactics[:]
	default:
		return nil
	}
}

// TacticsOf returns a copy of the framework's tactic table (ATT&CK: 14,
// ATLAS: 16), in source order.
func TacticsOf(f Framework) []Tactic { return slices.Clone(tacticTable(f)) }

// index maps an id to its position in techniques. Built once from the
// generated table at initialisation and never written afterwards.
var index = func() map[string]uint16 {
	m := make(map[string]uint16, len(techniques))
	for i, t := range techniques {
		m[t.ID] = uint16(i)
	}
	return m
}()

// Lookup returns the technique with the canonical id (exact match, including
// deprecated and revoked entries).
func Lookup(id string) (Technique, bool) {
	if i, ok := index[id]; ok {
		return techniques[i], true
	}
	return Technique{}, false
}

// Known reports whether id is in the pinned tables, active or not.
func Known(id string) bool {
	_, ok := Lookup(id)
	return ok
}

// Active reports whether id is in the pinned tables and neither deprecated nor
// revoked — the ids new output may carry.
func Active(id string) bool {
	t, ok := Lookup(id)
	return ok && t.Active()
}

// All yields every technique of both tables in id order (ATLAS first: "AML."
// sorts before "T").
func All() iter.Seq[Technique] {
	return func(yield func(Technique) bool) {
		for _, t := range techniques {
			if !yield(t) {
				return
			}
		}
	}
}

// ActiveIDs returns the ids of every active technique and sub-technique of
// both frameworks, sorted: the allow-list a technique catalog is built from.
func ActiveIDs() []string {
	var ids []string
	for _, t := range techniques {
		if t.Active() {
			ids = append(ids, t.ID)
		}
	}
	return ids
}

// maxIDLen is the length of the longest well-formed id, "AML.T0000.000".
const maxIDLen = len("AML.T0000.000")

// IsATTACK reports whether id is a well-formed ATT&CK technique or
// sub-technique id in canonical spelling (T + 4 digits, optionally . + 3
// digits). It says nothing about whether the id exists; use [Known].
func IsATTACK(id string) bool { return isTechniqueID(id) }

// IsATLAS reports whether id is a well-formed ATLAS technique or sub-technique
// id in canonical spelling (AML.T + 4 digits, optionally . + 3 digits). It says
// nothing about whether the id exists; use [Known].
func IsATLAS(id string) bool {
	rest, ok := strings.CutPrefix(id, "AML.")
	return ok && isTechniqueID(rest)
}

// FrameworkOf returns the framework an id's grammar belongs to, or 0 for a
// malformed id.
func FrameworkOf(id string) Framework {
	switch {
	case IsATTACK(id):
		return ATTACK
	case IsATLAS(id):
		return ATLAS
	default:
		return 0
	}
}

func isTechniqueID(s string) bool {
	if len(s) != 5 && len(s) != 9 {
		return false
	}
	if s[0] != 'T' || !digits(s[1:5]) {
		return false
	}
	return len(s) == 5 || (s[5] == '.' && digits(s[6:9]))
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ErrInvalidID is matched by errors.Is for every *InvalidIDError.
var ErrInvalidID = errors.New("mitre: invalid technique id")

// InvalidIDError reports a string that is not a technique id of either
// grammar.
type InvalidIDError struct{ Input string }

func (e *InvalidIDError) Error() string {
	in := e.Input
	if len(in) > 64 {
		in = in[:64] + "…"
	}
	return "mitre: invalid technique id " + strconv.Quote(in)
}

// Is reports whether target is ErrInvalidID.
func (e *InvalidIDError) Is(target error) bool { return target == ErrInvalidID }

// Normalize returns the canonical spelling of a technique id: surrounding
// whitespace removed and ASCII letters upper-cased (" t1059.001 " →
// "T1059.001", "aml.t0051" → "AML.T0051"). Anything that is then not an
// ATT&CK or ATLAS technique id (tactic ids, "T1059.1", "T1059.0001",
// inner spaces, non-ASCII digits) is an *InvalidIDError. Normalize does not
// check existence; an already canonical id is returned without allocating.
func Normalize(s string) (string, error) {
	t := strings.TrimSpace(s)
	if len(t) <= maxIDLen {
		if FrameworkOf(t) != 0 {
			return t, nil
		}
		if up := asciiUpper(t); FrameworkOf(up) != 0 {
			return up, nil
		}
	}
	return "", &InvalidIDError{Input: s}
}

func asciiUpper(s string) string {
	var buf [maxIDLen]byte
	b := buf[:len(s)]
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		b[i] = c
	}
	return string(b)
}
