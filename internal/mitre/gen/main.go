// Command gen writes zz_generated.go of package mitre from the pinned MITRE
// extracts in testdata/. Run it through `go generate ./internal/mitre` (the
// directive in mitre.go), which runs it in the package directory.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/socwarden/warden/internal/mitre/internal/mitregen"
)

func main() {
	attackPath := flag.String("attack", "testdata/attack_enterprise_v18.1_techniques.json", "ATT&CK Enterprise extract")
	atlasPath := flag.String("atlas", "testdata/atlas_v5.6.0_ids.json", "ATLAS extract")
	attackVersion := flag.String("attack-version", "18.1", "ATT&CK Enterprise version the extract must be")
	atlasVersion := flag.String("atlas-version", "5.6.0", "ATLAS version the extract must be")
	out := flag.String("o", "zz_generated.go", "output file")
	flag.Parse()
	if err := run(*attackPath, *atlasPath, *attackVersion, *atlasVersion, *out); err != nil {
		fmt.Fprintln(os.Stderr, "mitre/gen:", err)
		os.Exit(1)
	}
}

func run(attackPath, atlasPath, attackVersion, atlasVersion, out string) error {
	attack, err := os.ReadFile(attackPath)
	if err != nil {
		return err
	}
	atlas, err := os.ReadFile(atlasPath)
	if err != nil {
		return err
	}
	src, err := mitregen.Generate(mitregen.Input{
		ATTACKJSON: attack, ATLASJSON: atlas,
		ATTACKVersion: attackVersion, ATLASVersion: atlasVersion,
		Command: mitregen.DefaultCommand,
	})
	if err != nil {
		return err
	}
	return os.WriteFile(out, src, 0o644)
}
