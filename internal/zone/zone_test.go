package zone

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// specTable is typed out independently from ctem.md §3.3 and response.md §2.3
// (which agree row for row), so a typo in the package table fails here.
var specTable = map[string]struct {
	consequence Consequence
	severity    string
}{
	"Zone0_PhysicalProcess":       {"safety_life", "CRITICAL"},
	"Zone0_Safety":                {"safety_life", "CRITICAL"},
	"Zone0_FieldDevices":          {"safety_life", "CRITICAL"},
	"OT_ProcessNetwork":           {"safety_life", "CRITICAL"},
	"OT_SafetyInstrumentedSystem": {"safety_life", "CRITICAL"},
	"Zone1_EdgeInference":         {"equipment", "HIGH"},
	"Zone1_BasicControl":          {"equipment", "HIGH"},
	"Zone1_SensorNetwork":         {"equipment", "HIGH"},
	"Zone1_PLCNetwork":            {"equipment", "HIGH"},
	"OT_FieldBus":                 {"equipment", "HIGH"},
	"OT_ControlNetwork":           {"equipment", "HIGH"},
	"Zone2_Operations":            {"downtime", "MEDIUM"},
	"Zone2_AreaSupervisory":       {"downtime", "MEDIUM"},
	"Zone2_SCADA":                 {"downtime", "MEDIUM"},
	"Zone2_HMI":                   {"downtime", "MEDIUM"},
	"Zone3_SiteOperations":        {"downtime", "MEDIUM"},
	"Zone3_Manufacturing":         {"downtime", "MEDIUM"},
	"Cloud_Production":            {"downtime", "MEDIUM"},
	"Cloud_Management":            {"downtime", "MEDIUM"},
	"IT_DataCenter":               {"downtime", "MEDIUM"},
	"IT_NetworkInfra":             {"downtime", "MEDIUM"},
	"Zone3_Enterprise":            {"data_loss", "LOW"},
	"Zone3_5_DMZ":                 {"data_loss", "LOW"},
	"Zone4_External":              {"data_loss", "LOW"},
	"Zone4_Corporate":             {"data_loss", "LOW"},
	"Zone4_Cloud":                 {"data_loss", "LOW"},
	"Zone5_Internet":              {"data_loss", "LOW"},
	"Cloud_Staging":               {"data_loss", "LOW"},
	"Cloud_Development":           {"data_loss", "LOW"},
	"IT_UserWorkstations":         {"data_loss", "LOW"},
}

func TestTableMatchesSpec(t *testing.T) {
	require.Len(t, specTable, 30)
	entries := Entries()
	require.Len(t, entries, len(specTable), "table size")
	seen := map[Zone]bool{}
	for _, e := range entries {
		want, ok := specTable[string(e.Zone)]
		require.Truef(t, ok, "zone %q is not in the spec", e.Zone)
		assert.Equal(t, want.consequence, e.Consequence, e.Zone)
		assert.Equal(t, want.severity, e.Severity, e.Zone)
		assert.Equal(t, e.Consequence.Severity(), e.Severity, "row severity follows the class rule: %s", e.Zone)
		assert.False(t, seen[e.Zone], "duplicate %s", e.Zone)
		seen[e.Zone] = true
	}
	for name, want := range specTable {
		e, ok := Lookup(name)
		require.True(t, ok, name)
		assert.Equal(t, want.consequence, e.Consequence, name)
		assert.Equal(t, want.severity, e.Severity, name)
		assert.Equal(t, want.consequence, ConsequenceOf(name), name)
		assert.Equal(t, want.severity, SeverityOf(name), name)
	}
}

// Go constant names against their wire values, typed independently.
func TestZoneConstants(t *testing.T) {
	consts := map[Zone]string{
		Zone0PhysicalProcess: "Zone0_PhysicalProcess", Zone1EdgeInference: "Zone1_EdgeInference",
		Zone2Operations: "Zone2_Operations", Zone3Enterprise: "Zone3_Enterprise", Zone4External: "Zone4_External",
		Zone0Safety: "Zone0_Safety", Zone0FieldDevices: "Zone0_FieldDevices", OTProcessNetwork: "OT_ProcessNetwork",
		OTSafetyInstrumentedSystem: "OT_SafetyInstrumentedSystem", Zone1BasicControl: "Zone1_BasicControl",
		Zone1SensorNetwork: "Zone1_SensorNetwork", Zone1PLCNetwork: "Zone1_PLCNetwork", OTFieldBus: "OT_FieldBus",
		OTControlNetwork: "OT_ControlNetwork", Zone2AreaSupervisory: "Zone2_AreaSupervisory", Zone2SCADA: "Zone2_SCADA",
		Zone2HMI: "Zone2_HMI", Zone3SiteOperations: "Zone3_SiteOperations", Zone3Manufacturing: "Zone3_Manufacturing",
		CloudProduction: "Cloud_Production", CloudManagement: "Cloud_Management", ITDataCenter: "IT_DataCenter",
		ITNetworkInfra: "IT_NetworkInfra", Zone3_5DMZ: "Zone3_5_DMZ", Zone4Corporate: "Zone4_Corporate",
		Zone4Cloud: "Zone4_Cloud", Zone5Internet: "Zone5_Internet", CloudStaging: "Cloud_Staging",
		CloudDevelopment: "Cloud_Development", ITUserWorkstations: "IT_UserWorkstations",
	}
	require.Len(t, consts, 30, "every constant is distinct")
	for z, wire := range consts {
		assert.Equal(t, wire, string(z))
		assert.True(t, z.Known(), wire)
		assert.Equal(t, wire, z.String())
	}
}

// ctem checklist 16: ≥ 30 entries, every value a valid consequence, all four occur.
func TestCTEM16_TableShape(t *testing.T) {
	tab := Table()
	assert.GreaterOrEqual(t, len(tab), 30)
	occurs := map[Consequence]int{}
	for z, c := range tab {
		assert.True(t, c.Valid(), "%s → %q", z, c)
		occurs[c]++
	}
	for _, c := range Consequences() {
		assert.Positive(t, occurs[c], "consequence %s occurs", c)
	}
}

// ctem checklist 17.
func TestCTEM17_ZoneConsequences(t *testing.T) {
	zones := []string{"Zone0_PhysicalProcess", "Zone0_Safety", "Zone1_EdgeInference", "Zone1_PLCNetwork",
		"Zone2_Operations", "Zone2_SCADA", "Zone3_Enterprise", "Zone3_Manufacturing", "Zone4_External",
		"Cloud_Production", "Cloud_Development", "OT_SafetyInstrumentedSystem", "OT_ControlNetwork"}
	want := []Consequence{"safety_life", "safety_life", "equipment", "equipment", "downtime", "downtime",
		"data_loss", "downtime", "data_loss", "downtime", "data_loss", "safety_life", "equipment"}
	require.Len(t, want, len(zones))
	for i, z := range zones {
		assert.Equal(t, want[i], ConsequenceOf(z), z)
	}
}

// ctem checklist 18 and response checklist 52 (first half): unknown → data_loss / LOW.
func TestUnknownZoneDefaults(t *testing.T) {
	for _, z := range []string{"Zone99_Unknown", "", "zone0_physicalprocess", " Zone0_PhysicalProcess", "Zone0_PhysicalProcess\x00"} {
		e, ok := Lookup(z)
		assert.False(t, ok, "%q", z)
		assert.Equal(t, Zone(z), e.Zone)
		assert.Equal(t, DataLoss, e.Consequence, "%q", z)
		assert.Equal(t, "LOW", e.Severity, "%q", z)
		assert.Equal(t, DataLoss, ConsequenceOf(z))
		assert.Equal(t, "LOW", SeverityOf(z))
		assert.Equal(t, DataLoss, Zone(z).Consequence())
		assert.False(t, Zone(z).Known())
	}
	assert.Equal(t, DataLoss, DefaultConsequence)
	assert.Equal(t, "LOW", DefaultSeverity)
	assert.Equal(t, DefaultSeverity, DefaultConsequence.Severity())
}

// response checklist 49–53.
func TestResponseZoneTable(t *testing.T) {
	five := []Zone{"Zone0_PhysicalProcess", "Zone1_EdgeInference", "Zone2_Operations", "Zone3_Enterprise", "Zone4_External"}
	entries := Entries()
	for i, z := range five { // 49: the five configuration zones come first
		assert.Equal(t, z, entries[i].Zone)
	}
	wantClass := []Consequence{"safety_life", "equipment", "downtime", "data_loss", "data_loss"} // 50
	wantSev := []string{"CRITICAL", "HIGH", "MEDIUM", "LOW", "LOW"}                              // 51
	for i, z := range five {
		e, ok := Lookup(string(z))
		require.True(t, ok)
		assert.Equal(t, wantClass[i], e.Consequence, z)
		assert.Equal(t, wantSev[i], e.Severity, z)
	}
	e, _ := Lookup("Zone0_PhysicalProcess") // 52
	assert.Equal(t, Entry{Zone0PhysicalProcess, SafetyLife, "CRITICAL"}, e)
	e, _ = Lookup("OT_ProcessNetwork") // 53
	assert.Equal(t, Entry{OTProcessNetwork, SafetyLife, "CRITICAL"}, e)
	e, _ = Lookup("IT_UserWorkstations")
	assert.Equal(t, Entry{ITUserWorkstations, DataLoss, "LOW"}, e)
}

func TestConsequenceProperties(t *testing.T) {
	cases := []struct {
		c        Consequence
		rank     int
		weight   float64
		severity string
		floor    int
	}{
		{SafetyLife, 4, 1.0, "CRITICAL", 2},
		{Equipment, 3, 0.8, "HIGH", 2},
		{Downtime, 2, 0.5, "MEDIUM", 0},
		{DataLoss, 1, 0.3, "LOW", 0},
		{"", 0, 0.3, "LOW", 0},
		{"SAFETY_LIFE", 0, 0.3, "LOW", 0}, // methods match exactly; parse first
		{"catastrophic", 0, 0.3, "LOW", 0},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.rank, tc.c.Rank(), "rank %q", tc.c)
		assert.Equal(t, tc.rank > 0, tc.c.Valid(), "valid %q", tc.c)
		assert.Equal(t, tc.weight, tc.c.Weight(), "weight %q", tc.c)
		assert.Equal(t, tc.severity, tc.c.Severity(), "severity %q", tc.c)
		assert.Equal(t, tc.floor, tc.c.ActionTierFloor(), "floor %q", tc.c)
	}
	assert.Equal(t, []Consequence{"safety_life", "equipment", "downtime", "data_loss"}, Consequences())
	assert.Equal(t, 2, ElevatedActionTier)
}

func TestParseConsequence(t *testing.T) {
	for in, want := range map[string]Consequence{
		"safety_life": SafetyLife, "SAFETY_LIFE": SafetyLife, " Equipment ": Equipment,
		"downtime": Downtime, "Data_Loss": DataLoss,
	} {
		got, err := ParseConsequence(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "safety life", "data-loss", "critical", "safety_lifes"} {
		got, err := ParseConsequence(in)
		assert.Empty(t, got)
		require.ErrorIs(t, err, ErrUnknownConsequence, in)
		var ue *UnknownConsequenceError
		require.True(t, errors.As(err, &ue))
		assert.Equal(t, in, ue.Value)
		assert.False(t, errors.Is(err, ErrUnknownZone))
	}
}

func TestParse(t *testing.T) {
	for _, e := range Entries() {
		z, err := Parse(string(e.Zone))
		require.NoError(t, err)
		assert.Equal(t, e.Zone, z)
	}
	for _, in := range []string{"", "Zone99_Unknown", "ZONE0_PHYSICALPROCESS", "Zone0_PhysicalProcess "} {
		z, err := Parse(in)
		assert.Empty(t, z)
		require.ErrorIs(t, err, ErrUnknownZone)
		var ue *UnknownZoneError
		require.True(t, errors.As(err, &ue))
		assert.Equal(t, in, ue.Zone)
		assert.Contains(t, err.Error(), "unknown zone")
	}
}

// Callers own what Entries, Table and Consequences return.
func TestReturnedCopiesAreIndependent(t *testing.T) {
	tab := Table()
	tab[Zone0PhysicalProcess] = DataLoss
	delete(tab, Zone1EdgeInference)
	entries := Entries()
	entries[0].Consequence = DataLoss
	cs := Consequences()
	cs[0] = DataLoss
	assert.Equal(t, SafetyLife, ConsequenceOf("Zone0_PhysicalProcess"))
	assert.Equal(t, Equipment, ConsequenceOf("Zone1_EdgeInference"))
	assert.Equal(t, SafetyLife, Consequences()[0])
	assert.Equal(t, 4, SafetyLife.Rank())
}

func TestConcurrentReads(t *testing.T) {
	done := make(chan struct{})
	for g := 0; g < 32; g++ {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := 0; i < 200; i++ {
				for name, want := range specTable {
					if ConsequenceOf(name) != want.consequence {
						t.Errorf("%s", name)
						return
					}
				}
			}
		}()
	}
	for g := 0; g < 32; g++ {
		<-done
	}
}

func FuzzParse(f *testing.F) {
	for _, e := range Entries() {
		f.Add(string(e.Zone))
	}
	f.Add("")
	f.Add("zone0_physicalprocess")
	f.Add("\xff\xfe")
	f.Fuzz(func(t *testing.T, s string) {
		z, err := Parse(s)
		e, ok := Lookup(s)
		if ok != (err == nil) {
			t.Fatalf("Parse and Lookup disagree on %q", s)
		}
		if err != nil {
			if !errors.Is(err, ErrUnknownZone) || z != "" {
				t.Fatalf("bad error for %q: %v", s, err)
			}
			if e.Consequence != DefaultConsequence || e.Severity != DefaultSeverity {
				t.Fatalf("unknown %q not defaulted: %+v", s, e)
			}
			return
		}
		if string(z) != s || !e.Consequence.Valid() || e.Severity != e.Consequence.Severity() {
			t.Fatalf("bad row for %q: %+v", s, e)
		}
		c, err := ParseConsequence(strings.ToUpper(string(e.Consequence)))
		if err != nil || c != e.Consequence {
			t.Fatalf("consequence %q does not round-trip", e.Consequence)
		}
	})
}

func BenchmarkConsequenceOf(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if ConsequenceOf("OT_SafetyInstrumentedSystem") != SafetyLife {
			b.Fatal("wrong")
		}
	}
}
