package atlas

import (
	"encoding/binary"
	"math"
	"testing"
)

// fuzzBytes hands out values from the fuzzer's bytes.
type fuzzBytes struct{ b []byte }

func (f *fuzzBytes) u64() uint64 {
	if len(f.b) < 8 {
		var buf [8]byte
		copy(buf[:], f.b)
		f.b = nil
		return binary.LittleEndian.Uint64(buf[:])
	}
	v := binary.LittleEndian.Uint64(f.b)
	f.b = f.b[8:]
	return v
}

func (f *fuzzBytes) int() int { return int(int32(f.u64())) }

// float is finite (the contract is NaN-free rows); every fourth is an
// ordinary small number so thresholds are actually crossed.
func (f *fuzzBytes) float() float64 {
	v := f.u64()
	if v%4 == 0 {
		return float64(int64(v>>2)%2000) / 100
	}
	x := math.Float64frombits(v)
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	return x
}

func (f *fuzzBytes) str() string {
	return []string{"", "a", "b", "fail", "FAIL", "pass", "none"}[f.u64()%7]
}

// Checklist 87: random aggregate rows for every rule never panic, every
// confidence lies in [0, 1], and every alert encodes.
func FuzzRules(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"))
	f.Add(make([]byte, 512))
	f.Fuzz(func(t *testing.T, data []byte) {
		g := &fuzzBytes{data}
		s := &stub{
			activityCur:   []UserActivity{{g.str(), g.int(), g.int()}},
			activityBase:  []UserActivity{{g.str(), g.int(), g.int()}},
			queryVolume:   []QueryVolume{{g.str(), g.int(), g.float()}},
			safetyHits:    []NLQuery{{g.str(), g.str(), g.str()}},
			inferenceCur:  []InferenceStats{{"n", g.int(), g.float(), g.float(), g.float(), g.float()}},
			inferenceBase: []InferenceStats{{"n", g.int(), g.float(), g.float(), g.float(), g.float()}},
			oracle:        []OracleStats{{g.str(), g.int(), g.int(), g.int(), g.float(), g.float()}},
			promotions:    []ModelPromotion{{g.str(), g.str(), g.str(), g.str(), g.str()}},
			dependencies:  []DependencyChange{{g.str(), g.str(), g.str(), g.str()}},
			apiCur:        []APIAccess{{"c", g.int(), g.int(), g.int()}},
			apiBase:       []APIAccess{{"c", g.int(), g.int(), g.int()}},
			invCur:        g.int(),
			invBase:       g.int(),
			opcua:         []OPCUAReading{{"o", g.int(), g.int(), g.int(), g.str()}},
			opcuaBase:     []OPCUABaseline{{"o", g.float(), g.float(), g.float()}},
			partnerCur:    []PartnerActivity{{"p", g.str(), g.int(), g.float(), g.int()}},
			partnerBase:   []PartnerBaseline{{"p", g.int(), g.float(), g.float()}},
			edge:          []EdgeNodeReading{{g.str(), g.str(), g.str(), g.str(), g.float(), g.float()}},
		}
		for _, r := range DefaultRules(s) {
			ds, err := r.Evaluate(ctx, EvalScope{Now: now})
			if err != nil {
				t.Fatalf("%s: %v", r.ID(), err)
			}
			for _, d := range ds {
				if !(d.Confidence >= 0 && d.Confidence <= 1) {
					t.Fatalf("%s: confidence %v", r.ID(), d.Confidence)
				}
				if _, err := marshalAlert(NewAlert(d, "", "id")); err != nil {
					t.Fatalf("%s: alert does not encode: %v", r.ID(), err)
				}
			}
		}
	})
}
