package zone_test

import (
	"fmt"

	"github.com/socwarden/warden/internal/zone"
)

func Example() {
	// CTEM: the asset's zone gives the consequence class and its scoring weight.
	c := zone.ConsequenceOf("Zone1_PLCNetwork")
	fmt.Println(c, c.Weight())

	// response: intrusive actions on targets in this zone need approval.
	e, ok := zone.Lookup("OT_SafetyInstrumentedSystem")
	fmt.Println(e.Consequence, e.Severity, e.Consequence.ActionTierFloor(), ok)

	// An unlabelled or unknown zone has the default consequence; ok tells the
	// caller that no row matched.
	e, ok = zone.Lookup("")
	fmt.Println(e.Consequence, e.Severity, ok)

	if _, err := zone.Parse("zone0_physicalprocess"); err != nil {
		fmt.Println(err)
	}
	// Output:
	// equipment 0.8
	// safety_life CRITICAL 2 true
	// data_loss LOW false
	// zone: unknown zone "zone0_physicalprocess"
}
