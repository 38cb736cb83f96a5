package entityparser

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/socwarden/warden/audit"
)

// fakeProducer records every event it is given.
type fakeProducer struct {
	mu     sync.Mutex
	events []audit.Event
	panics bool
}

func (f *fakeProducer) Emit(e audit.Event) (string, bool) {
	if f.panics {
		panic("producer exploded")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, e)
	return "id", true
}

func (f *fakeProducer) all() []audit.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]audit.Event(nil), f.events...)
}

func mustParser(t testing.TB, opts ...Option) *Parser {
	t.Helper()
	p, err := New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// alertMsg builds an alerts.raw message from a base alert and overrides
// (nil deletes a member).
func alertMsg(t testing.TB, overrides map[string]any) []byte {
	t.Helper()
	m := map[string]any{
		"alert_id": "alert-1", "source": "sentinel", "timestamp": "2025-01-15T10:00:00Z",
		"title": "Suspicious login", "description": "Login from unusual location", "severity": "high",
		"tactics": []string{"InitialAccess"}, "techniques": []string{"T1078"},
		"entities_raw": `[{"$id":"1","Type":"ip","Address":"10.0.0.1"}]`,
		"product":      "Azure Sentinel", "tenant_id": "t1", "raw_payload": map[string]any{},
	}
	for k, v := range overrides {
		if v == nil {
			delete(m, k)
			continue
		}
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sentinelFixture is the ten-entity structured fixture of the spec
// checklist (items 17–25).
var sentinelFixture = `[
 {"$id":"1","Type":"account","Name":"john.doe","UPNSuffix":"contoso.com","AadUserId":"aad-1234","Sid":"S-1-5-21-1000","IsDomainJoined":true},
 {"$id":"2","Type":"host","HostName":"WORKSTATION01","DnsDomain":"contoso.local","OSFamily":"Windows","OSVersion":"10"},
 {"$id":"3","Type":"ip","Address":"10.0.0.42","Location":{"CountryCode":"US","City":"Redmond","Asn":8075}},
 {"$id":"4","Type":"file","Name":"malware.exe","Directory":"C:\\Users\\Public","FileHashes":[{"Algorithm":"SHA256","Value":"` + strings.Repeat("a", 64) + `"},{"Algorithm":"MD5","Value":"` + strings.Repeat("b", 32) + `"}]},
 {"$id":"5","Type":"process","ProcessId":"4242","CommandLine":"cmd.exe /c whoami & net user","ImageFile":{"$ref":"6"}},
 {"$id":"6","Type":"file","Name":"cmd.exe"},
 {"$id":"7","Type":"url","Url":"https://evil.example.com/payload"},
 {"$id":"8","Type":"dns","DomainName":"c2.malware.io","IpAddresses":["203.0.113.5"]},
 {"$id":"9","Type":"filehash","Algorithm":"SHA256","Value":"` + strings.Repeat("c", 64) + `"},
 {"$id":"10","Type":"mailbox","MailboxPrimaryAddress":"ceo@contoso.com","DisplayName":"CEO"}
]`

func primaries(list []Entity) []string {
	out := make([]string, len(list))
	for i, e := range list {
		out[i] = e.PrimaryValue
	}
	return out
}
