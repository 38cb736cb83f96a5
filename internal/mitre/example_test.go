package mitre_test

import (
	"fmt"

	"github.com/socwarden/warden/internal/mitre"
)

func Example() {
	// A model answered with a lower-case sub-technique id.
	id, err := mitre.Normalize(" t1059.001 ")
	if err != nil {
		fmt.Println(err)
		return
	}
	t, _ := mitre.Lookup(id)
	fmt.Println(t.ID, t.Name, t.Framework, t.Parent, t.Tactics()[0].Shortname)

	// Known but revoked: old alerts may carry it, new output must not.
	fmt.Println(mitre.Known("T1050"), mitre.Active("T1050"))

	// The reference platform used an ATLAS id that never existed.
	fixed, ok := mitre.Correct("AML.T0044.001")
	fixedTech, _ := mitre.Lookup(fixed)
	fmt.Println(mitre.Known("AML.T0044.001"), fixed, ok, fixedTech.Name)

	_, err = mitre.Normalize("TA0002")
	fmt.Println(err)
	fmt.Println("ATT&CK", mitre.ATTACKVersion, "ATLAS", mitre.ATLASVersion)
	// Output:
	// T1059.001 PowerShell ATT&CK T1059 execution
	// true false
	// false AML.T0024.002 true Extract AI Model
	// mitre: invalid technique id "TA0002"
	// ATT&CK 18.1 ATLAS 5.6.0
}
