package audit

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/socwarden/warden/audit/canonical"
	"github.com/socwarden/warden/taxonomy"
)

// FuzzEmit feeds arbitrary strings, numbers and JSON into every part of an
// event. Emit must never panic, every delivered value must be canonical JSON
// that decodes, and the counters must add up.
func FuzzEmit(f *testing.F) {
	f.Add("tenant", "actor", "key", "value", 1.5, int64(7), `{"a":[1,2.0,"x"]}`)
	f.Add("", "a", "", "\xff", -0.0, int64(-1), `1e400`)
	f.Add("t\u2028", "é😀", "k\x00", "\"\\/<>&", 1e300, int64(1<<62), `[[[[]]]]`)
	f.Fuzz(func(t *testing.T, tenant, actor, key, value string, fl float64, n int64, raw string) {
		rec := NewRecorder()
		e, err := New(rec, WithLogger(quietLogger))
		if err != nil {
			t.Fatal(err)
		}
		ev := Event{TenantID: tenant, Type: taxonomy.AlertClassified, ActorType: taxonomy.ActorAgent,
			ActorID: actor, EntityIDs: []string{value}, InvestigationID: value,
			Context: Fields{key: value, "f": fl, "n": n, "raw": json.RawMessage(raw), "num": json.Number(raw),
				"nested": map[string]any{key: []any{value, fl}}}}
		e.Emit(ev)
		if err := e.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		st := e.Stats()
		if st.calls() != 1 || st.Emitted != st.Delivered+st.Failed {
			t.Fatalf("counters: %+v", st)
		}
		for _, m := range rec.Messages() {
			c, err := canonical.Canonicalize(m.Value)
			if err != nil {
				t.Fatalf("value does not decode: %v\n%s", err, m.Value)
			}
			if string(c) != string(m.Value) {
				t.Fatalf("value is not canonical:\n%s\n%s", m.Value, c)
			}
		}
	})
}
