package entityparser

import (
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func parseFixture(t *testing.T) Entities {
	t.Helper()
	e, mode := ParseEntities(sentinelFixture, nil, ExtractOptions{})
	require.Equal(t, ModeStructured, mode)
	return e
}

// Checklist 17.
func TestStructuredAccount(t *testing.T) {
	e := parseFixture(t)
	require.Len(t, e.Accounts, 1)
	a := e.Accounts[0]
	assert.Equal(t, "john.doe@contoso.com", a.PrimaryValue)
	assert.Equal(t, "john.doe", a.Properties["name"])
	assert.Equal(t, "aad-1234", a.Properties["aad_user_id"])
	assert.Equal(t, "S-1-5-21-1000", a.Properties["sid"])
	assert.Equal(t, true, a.Properties["is_domain_joined"])
	require.NotNil(t, a.SourceID)
	assert.Equal(t, "1", *a.SourceID)
	assert.Equal(t, 1.0, a.Confidence)
}

// Checklist 18.
func TestStructuredHost(t *testing.T) {
	e := parseFixture(t)
	require.Len(t, e.Hosts, 1)
	assert.Equal(t, "WORKSTATION01.contoso.local", e.Hosts[0].PrimaryValue)
	assert.Equal(t, "WORKSTATION01", e.Hosts[0].Properties["hostname"])
	assert.Equal(t, "Windows", e.Hosts[0].Properties["os_family"])
}

// Checklist 19.
func TestStructuredIP(t *testing.T) {
	e := parseFixture(t)
	require.Len(t, e.IPs, 1)
	ip := e.IPs[0]
	assert.Equal(t, "10.0.0.42", ip.PrimaryValue)
	assert.Equal(t, "US", ip.Properties["geo_country"])
	assert.Equal(t, "Redmond", ip.Properties["geo_city"])
	assert.Equal(t, json.Number("8075"), ip.Properties["asn"])
	b, _ := json.Marshal(ip)
	assert.Contains(t, string(b), `"asn":8075`)
}

// Checklist 20–24.
func TestStructuredFilesProcessesURLsDNSMailbox(t *testing.T) {
	e := parseFixture(t)
	assert.Equal(t, []string{"malware.exe", "cmd.exe"}, primaries(e.Files))
	assert.Equal(t, `C:\Users\Public\malware.exe`, e.Files[0].Properties["full_path"])
	hs := primaries(e.FileHashes)
	for _, h := range []string{strings.Repeat("a", 64), strings.Repeat("b", 32), strings.Repeat("c", 64)} {
		assert.Contains(t, hs, h)
	}
	require.Len(t, e.Processes, 1)
	assert.Equal(t, "cmd.exe", e.Processes[0].PrimaryValue)
	assert.Contains(t, e.Processes[0].Properties["command_line"], "&")
	assert.Equal(t, []string{"https://evil.example.com/payload"}, primaries(e.URLs))
	require.Len(t, e.DNSRecords, 1)
	assert.Equal(t, "c2.malware.io", e.DNSRecords[0].PrimaryValue)
	assert.Equal(t, []any{"203.0.113.5"}, e.DNSRecords[0].Properties["resolved_ips"])
	require.Len(t, e.Mailboxes, 1)
	assert.Equal(t, "ceo@contoso.com", e.Mailboxes[0].PrimaryValue)
	assert.Equal(t, "CEO", e.Mailboxes[0].Properties["display_name"])
}

// Checklist 25.
func TestStructuredRawIOCs(t *testing.T) {
	e := parseFixture(t)
	for _, v := range []string{"john.doe@contoso.com", "10.0.0.42", strings.Repeat("a", 64), "c2.malware.io"} {
		assert.Contains(t, e.RawIOCs, v)
	}
	assert.Empty(t, e.ParseErrors)
	assert.NotNil(t, e.ParseErrors)
}

func fallback(t *testing.T, payload string) Entities {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"message": payload})
	e, mode := ParseEntities("", b, ExtractOptions{})
	require.Equal(t, ModeRegexFallback, mode)
	return e
}

// Checklist 26–30, 42.
func TestFallbackExtraction(t *testing.T) {
	e := fallback(t, "Connection from 192.168.1.100 to 10.0.0.5")
	assert.ElementsMatch(t, []string{"192.168.1.100", "10.0.0.5"}, primaries(e.IPs))
	assert.Empty(t, fallback(t, "Version 999.999.999.999 detected").IPs)
	e = fallback(t, "Source: 8.8.8.8")
	require.Len(t, e.IPs, 1)
	assert.Equal(t, 0.7, e.IPs[0].Confidence)
	e = fallback(t, strings.Repeat("a", 64))
	require.Len(t, e.FileHashes, 1)
	assert.Equal(t, 0.8, e.FileHashes[0].Confidence)
	assert.Equal(t, "SHA256", e.FileHashes[0].Properties["algorithm"])
	e = fallback(t, strings.Repeat("b", 40))
	require.Len(t, e.FileHashes, 1)
	assert.Equal(t, 0.7, e.FileHashes[0].Confidence)
	assert.Equal(t, "SHA1", e.FileHashes[0].Properties["algorithm"])
	e = fallback(t, "DNS query to evil.example.com seen")
	require.Len(t, e.DNSRecords, 1)
	assert.Equal(t, "evil.example.com", e.DNSRecords[0].PrimaryValue)
	assert.Equal(t, 0.6, e.DNSRecords[0].Confidence)
	e, _ = ParseEntities("", json.RawMessage(`{"data":"10.0.0.1"}`), ExtractOptions{})
	assert.Len(t, e.IPs, 1)
	e = fallback(t, "mail from a@corp.com")
	assert.Contains(t, primaries(e.DNSRecords), "corp.com", "the domain part of an e-mail address")
}

// Checklist 31–33.
func TestFallbackOnBadEntitiesRaw(t *testing.T) {
	e, mode := ParseEntities("not valid json {192.168.1.1}", nil, ExtractOptions{})
	assert.Equal(t, ModeRegexFallback, mode)
	assert.NotEmpty(t, e.ParseErrors)
	assert.True(t, strings.HasPrefix(e.ParseErrors[0], "entities_raw JSON error: "))
	assert.Equal(t, []string{"192.168.1.1"}, primaries(e.IPs))
	e, _ = ParseEntities(`{"type": "ip", "addr": "10.0.0.1"}`, nil, ExtractOptions{})
	assert.Equal(t, []string{"entities_raw is not a JSON array"}, e.ParseErrors)
	assert.Equal(t, []string{"10.0.0.1"}, primaries(e.IPs))
	e = fallback(t, "8.8.8.8 with hash "+strings.Repeat("d", 64))
	assert.NotEmpty(t, e.RawIOCs)
	assert.True(t, sort.StringsAreSorted(e.RawIOCs))
	e = fallback(t, "IP 1.2.3.4 appeared again 1.2.3.4")
	assert.Equal(t, 1, strings.Count(strings.Join(e.RawIOCs, " "), "1.2.3.4"))
}

// Checklist 34–41.
func TestInjectionCharactersAndEdgeCases(t *testing.T) {
	e, _ := ParseEntities(`[{"$id":"1","Type":"account","Name":"admin'; DROP TABLE users;--"}]`, nil, ExtractOptions{})
	require.Len(t, e.Accounts, 1)
	assert.NotContains(t, e.Accounts[0].PrimaryValue, ";")
	assert.NotContains(t, e.Accounts[0].PrimaryValue, "'")

	e, _ = ParseEntities(`[{"$id":"1","Type":"ip","Address":"1.2.3.4; cat /etc/passwd"}]`, nil, ExtractOptions{})
	assert.Empty(t, e.IPs)
	assert.NotEmpty(t, e.ParseErrors)

	// Item 36 is overridden by issue 4: a URL survives byte-for-byte
	// (escaping belongs where a query is built), so "$(" stays.
	e, _ = ParseEntities(`[{"$id":"1","Type":"url","Url":"https://evil.com/$(whoami)"}]`, nil, ExtractOptions{})
	require.Len(t, e.URLs, 1)
	assert.Equal(t, "https://evil.com/$(whoami)", e.URLs[0].PrimaryValue)

	e, _ = ParseEntities(`[{"$id":"1","Type":"url","Url":"https://evil.com/`+strings.Repeat("A", 3000)+`"}]`, nil, ExtractOptions{})
	require.Len(t, e.URLs, 1)
	assert.LessOrEqual(t, utf8.RuneCountInString(e.URLs[0].PrimaryValue), MaxFieldLength)

	e, mode := ParseEntities("", nil, ExtractOptions{})
	assert.Equal(t, ModeNone, mode)
	assert.Empty(t, e.ParseErrors)
	assert.Empty(t, e.RawIOCs)
	e, mode = ParseEntities("[]", json.RawMessage(`{"x":"1.2.3.4"}`), ExtractOptions{})
	assert.Equal(t, ModeStructured, mode)
	assert.Empty(t, e.ParseErrors)
	assert.Empty(t, e.IPs, "the raw payload is not scanned in structured mode")

	e, _ = ParseEntities(`["string_not_dict", 42]`, nil, ExtractOptions{})
	assert.Equal(t, []string{"Non-dict entity skipped: str", "Non-dict entity skipped: int"}, e.ParseErrors)
	e, _ = ParseEntities(`[null, [1], true, 1.5]`, nil, ExtractOptions{})
	assert.Equal(t, []string{"Non-dict entity skipped: NoneType", "Non-dict entity skipped: list",
		"Non-dict entity skipped: bool", "Non-dict entity skipped: float"}, e.ParseErrors)

	e, _ = ParseEntities(`[{"$id":"1","Type":"quantum_flux","Value":"42"}]`, nil, ExtractOptions{})
	require.Len(t, e.ParseErrors, 1)
	assert.Contains(t, e.ParseErrors[0], "Unknown entity type")

	e, _ = ParseEntities(`[{"$id":"1","Type":"ip"}]`, nil, ExtractOptions{})
	assert.Empty(t, e.IPs)
	assert.Equal(t, []string{"IP entity missing Address"}, e.ParseErrors)
}

// Checklist 43.
func TestEntitySerialisation(t *testing.T) {
	id := "1"
	b, err := json.Marshal(Entity{Type: IP, PrimaryValue: "10.0.0.1", Properties: map[string]any{"geo_country": "US"}, Confidence: 0.9, SourceID: &id})
	require.NoError(t, err)
	assert.JSONEq(t, `{"entity_type":"ip","primary_value":"10.0.0.1","properties":{"geo_country":"US"},"confidence":0.9,"source_id":"1"}`, string(b))
	b, _ = json.Marshal(Entity{Type: Host, PrimaryValue: "h"})
	assert.JSONEq(t, `{"entity_type":"host","primary_value":"h","properties":{},"confidence":0,"source_id":null}`, string(b))
	b, _ = json.Marshal(Entities{})
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	assert.Len(t, m, 15)
	for k, v := range m {
		assert.IsType(t, []any{}, v, k)
	}
}

// Checklist 55–61.
func TestWardenEntityFixes(t *testing.T) {
	e, _ := ParseEntities(`[{"$id":"1","Type":"process","ImageFile":{"Name":"cmd.exe"}}]`, nil, ExtractOptions{})
	assert.Equal(t, []string{"cmd.exe"}, primaries(e.Processes))
	e, _ = ParseEntities(`[{"$id":"1","Type":"process","ProcessId":"77"},{"$id":"2","Type":"process"},{"$id":"3","Type":"process","ProcessId":0,"ImageFile":{"$ref":"404"}}]`, nil, ExtractOptions{})
	assert.Equal(t, []string{"77", "unknown", "unknown"}, primaries(e.Processes))

	e, _ = ParseEntities(`[{"$id":"1","Type":5},{"$id":"2","Type":"ip","Address":"10.0.0.1"},{"$id":"3"}]`, nil, ExtractOptions{})
	assert.Equal(t, []string{"Unknown entity type: 5", "Unknown entity type: None"}, e.ParseErrors)
	assert.Len(t, e.IPs, 1)

	e, _ = ParseEntities(`[{"$id":"1","Type":"filehash","Algorithm":"ipv4","Value":"1.2.3.4"}]`, nil, ExtractOptions{})
	assert.Equal(t, []string{"Invalid hash (ipv4): 1.2.3.4"}, e.ParseErrors)
	assert.Empty(t, e.FileHashes)

	e, _ = ParseEntities(`[{"$id":"1","Type":"ip","Address":":::"},{"$id":"2","Type":"ip","Address":"fe80::1%eth0"}]`, nil, ExtractOptions{})
	assert.Empty(t, e.IPs)
	assert.Len(t, e.ParseErrors, 2)

	raw := `[{"$id":"1","Type":"ip","Address":"10.0.0.1"},{"$id":"2","Type":"ip","Address":"8.8.8.8"},{"$id":"3","Type":"ip","Address":"127.0.0.1"},{"$id":"4","Type":"ip","Address":"203.0.113.5"}]`
	e, _ = ParseEntities(raw, nil, ExtractOptions{IPScope: true})
	var scopes []any
	for _, ip := range e.IPs {
		scopes = append(scopes, ip.Properties["ip_scope"])
	}
	assert.Equal(t, []any{"private", "public", "loopback", "documentation"}, scopes)
	e, _ = ParseEntities(raw, nil, ExtractOptions{})
	for _, ip := range e.IPs {
		assert.NotContains(t, ip.Properties, "ip_scope")
	}

	e, _ = ParseEntities(`[{"$id":"1","Type":"registrykey","Hive":"HKEY_LOCAL_MACHINE","Key":"Software\\Run"}]`, nil, ExtractOptions{})
	require.Len(t, e.Other, 1)
	assert.Equal(t, RegistryKey, e.Other[0].Type)
	assert.Equal(t, "HKEY_LOCAL_MACHINE", e.Other[0].PrimaryValue)
	assert.Equal(t, map[string]any{"Hive": "HKEY_LOCAL_MACHINE", "Key": `Software\Run`}, e.Other[0].Properties)

	e, _ = ParseEntities(`[{"$id":"1","Type":"mailmessage"}]`, nil, ExtractOptions{})
	assert.Equal(t, []string{"Generic entity (mailmessage) has no usable value"}, e.ParseErrors)

	// Real Sentinel spelling with hyphens; first usable member in document
	// order, numbers and booleans included.
	e, _ = ParseEntities(`[{"$id":"1","Type":"Registry-Value","Zeta":null,"Beta":{"x":1},"Alpha":7,"Name":"Run"}]`, nil, ExtractOptions{})
	require.Len(t, e.Other, 1)
	assert.Equal(t, RegistryValue, e.Other[0].Type)
	assert.Equal(t, "7", e.Other[0].PrimaryValue)

	// Machine accounts keep their trailing "$".
	e, _ = ParseEntities(`[{"$id":"1","Type":"account","Name":"HOST01$"}]`, nil, ExtractOptions{})
	assert.Equal(t, []string{"HOST01$"}, primaries(e.Accounts))
}

func TestNumericSourceIDAndRefs(t *testing.T) {
	e, _ := ParseEntities(`[{"$id":7,"Type":"file","Name":"a.exe"},{"$id":8,"Type":"process","ImageFile":{"$ref":7}}]`, nil, ExtractOptions{})
	require.Len(t, e.Processes, 1)
	assert.Equal(t, "a.exe", e.Processes[0].PrimaryValue)
	require.NotNil(t, e.Files[0].SourceID)
	assert.Equal(t, "7", *e.Files[0].SourceID)
}

func TestFreeTextAddsMissingIOCs(t *testing.T) {
	e, mode := ParseEntities(`[{"$id":"1","Type":"ip","Address":"10.0.0.1"}]`, nil,
		ExtractOptions{FreeText: "seen 10.0.0.1 and 198.51.100.7 calling hxxps://bad[.]example[.]net/x (CVE-2024-3094, T1059.001) " + `HKLM\Software\Run`})
	assert.Equal(t, ModeStructured, mode)
	assert.Equal(t, []string{"10.0.0.1", "198.51.100.7"}, primaries(e.IPs))
	assert.Equal(t, 1.0, e.IPs[0].Confidence)
	assert.Equal(t, 0.7, e.IPs[1].Confidence)
	assert.Equal(t, []string{"https://bad.example.net/x"}, primaries(e.URLs))
	assert.Equal(t, []string{"CVE-2024-3094"}, primaries(e.CVEs))
	assert.Equal(t, []string{"T1059.001"}, primaries(e.AttackTechniques))
	assert.Equal(t, []string{`HKLM\Software\Run`}, primaries(e.RegistryKeys))
	assert.True(t, slices.Equal(e.RawIOCs[:2], []string{"10.0.0.1", "198.51.100.7"}))
}

func TestScanTextOrder(t *testing.T) {
	assert.Equal(t, "b 1 a x 2.50 c", scanText(json.RawMessage(`{"b":1,"a":["x",true,null,2.50],"c":{}}`)))
}
