package taxonomy_test

import (
	"encoding/json"
	"fmt"

	"github.com/socwarden/warden/taxonomy"
)

func Example() {
	// Services name events with constants; the category is derived, never passed.
	et := taxonomy.ApprovalGranted
	fmt.Println(et, et.Category())

	// Input from outside is parsed exactly.
	if _, err := taxonomy.ParseEventType("Approval.Granted"); err != nil {
		fmt.Println(err)
	}

	// The router's tier spelling is accepted on input; records use the canonical one.
	tier, _ := taxonomy.ParseModelTier("tier_1+")
	b, _ := json.Marshal(map[string]any{"llm_model_tier": tier})
	fmt.Println(string(b), tier.Rank() > taxonomy.Tier1.Rank())

	// Open vocabularies allow unknown values but say so.
	fmt.Println(taxonomy.DecisionRoute.Known(), taxonomy.DecisionType("maybe").Known())
	// Output:
	// approval.granted approval
	// taxonomy: unknown event type "Approval.Granted"
	// {"llm_model_tier":"tier_1_plus"} true
	// true false
}
