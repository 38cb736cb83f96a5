package entityparser

import (
	"context"
	"encoding/json"
	"testing"
	"time"
)

func FuzzProcess(f *testing.F) {
	f.Add(string(alertMsg(f, nil)))
	f.Add(string(alertMsg(f, map[string]any{"entities_raw": sentinelFixture})))
	f.Add(string(alertMsg(f, map[string]any{"entities_raw": "", "raw_payload": map[string]any{"m": "8.8.8.8 evil.example.com"}})))
	f.Add(`{"alert_id":1}`)
	f.Add("not json")
	p := mustParser(f, WithIPScope(true), WithAuditProducer(&fakeProducer{}))
	f.Fuzz(func(t *testing.T, msg string) {
		res, err := p.Process(context.Background(), []byte(msg))
		if err != nil {
			return
		}
		if !json.Valid(res.Output) {
			t.Fatalf("invalid output JSON for %q", msg)
		}
	})
}

func FuzzParseEntities(f *testing.F) {
	f.Add(sentinelFixture, `{}`)
	f.Add(`[{"$id":"1","Type":"registry-key","Hive":"HKLM","Key":"x"}]`, `{}`)
	f.Add(`not json {1.2.3.4}`, `{}`)
	f.Add(``, `{"a":["hxxp://x[.]com", 1.5, true, null]}`)
	f.Add(`[{"$id":{"x":1},"Type":["ip"]},{"Type":"file","FileHashes":[1,{"Algorithm":5}]},{"Type":"process","ImageFile":{"$ref":[1]}}]`, `null`)
	f.Fuzz(func(t *testing.T, entitiesRaw, payload string) {
		e, _ := ParseEntities(entitiesRaw, json.RawMessage(payload), ExtractOptions{IPScope: true, FreeText: entitiesRaw})
		b, err := json.Marshal(e)
		if err != nil || !json.Valid(b) {
			t.Fatalf("entities do not encode: %v", err)
		}
	})
}

func FuzzNormalize(f *testing.F) {
	for _, src := range Sources() {
		f.Add(src, `{}`)
	}
	f.Add("sentinel", `{"AlertName":"x","TimeGenerated":"2025-01-01T00:00:00Z","Entities":"[{\"Type\":\"ip\",\"Address\":\"1.2.3.4\"}]","Tactics":["a",1]}`)
	f.Add("elastic", `{"kibana.alert.rule.parameters":{"threat":[{"technique":[{"id":5,"subtechnique":[null]}]}]},"process":{"args":[1,"a"]}}`)
	f.Add("splunk", `{"_time":1e308,"search_name":"x","annotations":{"mitre_attack":{"mitre_tactic":[1,"a"]}}}`)
	f.Add("crowdstrike", `{"severity":"x","device":[],"network_accesses":[1,{"remote_address":5}]}`)
	f.Add("defender", `{"evidence":[{"entityType":"File"},1],"alertFiles":"x"}`)
	f.Fuzz(func(t *testing.T, source, raw string) {
		a, keep, err := Normalize(source, []byte(raw), time.Unix(0, 0))
		if err != nil || !keep {
			return
		}
		if err := a.Validate(); err != nil {
			t.Fatalf("Normalize returned an invalid alert: %v", err)
		}
		if _, err := json.Marshal(a); err != nil {
			t.Fatal(err)
		}
	})
}

func FuzzSanitizeValue(f *testing.F) {
	f.Add("drop;table|users", "field")
	f.Add("cmd & x", "CommandLine")
	f.Add("\xff\xfe", "Url")
	f.Fuzz(func(t *testing.T, v, field string) {
		s, ok := SanitizeValue(v, field)
		if ok && s == "" {
			t.Fatal("usable but empty")
		}
	})
}
