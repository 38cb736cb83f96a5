package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/socwarden/warden/entityparser"
)

// One small alert per source, in each product's shape (field names as the
// products write them, values invented).
var alertFixtures = map[string]string{
	"sentinel": `{"SystemAlertId":"s1","AlertName":"Brute force","TimeGenerated":"2025-01-15T10:00:00Z","Severity":"High","Tactics":"InitialAccess",` +
		`"Entities":"[{\"$id\":\"1\",\"Type\":\"ip\",\"Address\":\"203.0.113.7\"}]"}`,
	"elastic": `{"@timestamp":"2024-06-09T13:56:03.205Z","kibana.alert.uuid":"a-111","kibana.alert.rule.uuid":"r-9","kibana.alert.rule.name":"Suspicious Curl",` +
		`"kibana.alert.severity":"critical","kibana.alert.reason":"curl fetched https://dl.bad-cdn.net/x.sh?a=1&b=<2> on lin-7",` +
		`"host":{"name":"lin-7","ip":["10.0.5.7"]},"user":{"name":"root"}}`,
	"splunk": `{"_time":"1707918765.0","search_name":"Brute Force","urgency":"high","event_id":"e1","src":"10.1.1.1","dest":"FILESRV-02","user":"alice"}`,
	"crowdstrike": `{"composite_id":"cid1:ind:dev1:1-2-3","id":"ind:dev1:1-2-3","cid":"cid1","name":"CredentialDumpingLsass","display_name":"Credential dumping",` +
		`"severity":75,"tactic":"Credential Access","technique_id":"T1003","created_timestamp":"2024-08-20T09:11:27Z","device":{"hostname":"WS-77","local_ip":"10.2.3.4"}}`,
	"defender": `{"id":"da1","title":"Suspicious process","severity":"High","category":"Execution","alertCreationTime":"2024-01-01T00:00:00.123Z",` +
		`"computerDnsName":"ws-9.corp.example.com","alertIps":[{"ipAddress":"198.51.100.3"}]}`,
}

// canonicalKeys are the members every printed line has: the canonical
// alert plus parsed_entities.
var canonicalKeys = []string{"alert_id", "source", "timestamp", "title", "description", "severity", "tactics",
	"techniques", "entities_raw", "product", "tenant_id", "raw_payload", "data_source", "rule_family",
	"asset_class", "parsed_entities"}

// decodeAlertLine checks one output line: every key present, list-valued
// members arrays (never null), and returns the decoded object.
func decodeAlertLine(t *testing.T, line string) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(line), &m), line)
	for _, k := range canonicalKeys {
		require.Contains(t, m, k, line)
	}
	for _, k := range []string{"tactics", "techniques"} {
		require.IsType(t, []any{}, m[k], k)
	}
	ents, ok := m["parsed_entities"].(map[string]any)
	require.True(t, ok, line)
	for _, k := range []string{"accounts", "hosts", "ips", "files", "processes", "urls", "dns_records", "file_hashes",
		"mailboxes", "other", "registry_keys", "cves", "attack_techniques", "raw_iocs", "parse_errors"} {
		require.IsType(t, []any{}, ents[k], "parsed_entities.%s in %s", k, line)
	}
	return m
}

func primaryValues(t *testing.T, m map[string]any, list string) []string {
	t.Helper()
	var out []string
	for _, e := range m["parsed_entities"].(map[string]any)[list].([]any) {
		out = append(out, e.(map[string]any)["primary_value"].(string))
	}
	return out
}

func TestAlertEachSource(t *testing.T) {
	for _, src := range entityparser.Sources() {
		t.Run(src, func(t *testing.T) {
			r := invokeCmd(t, alertCommand(), alertFixtures[src], "-source", src)
			require.Equal(t, exitOK, r.code, r.stderr)
			assert.Empty(t, r.stderr)
			lines := outputLines(r.stdout)
			require.Len(t, lines, 1)
			m := decodeAlertLine(t, lines[0])
			assert.Equal(t, src, m["data_source"])
			assert.NotEmpty(t, m["rule_family"])

			// Exactly the library's alerts.normalized wire form.
			parsed, errs := entityparser.ParseAlerts(src, []byte(alertFixtures[src]), time.Date(2024, 2, 14, 13, 52, 45, 0, time.UTC), entityparser.ExtractOptions{})
			require.Empty(t, errs)
			require.Len(t, parsed, 1)
			wire, err := parsed[0].NormalizedJSON()
			require.NoError(t, err)
			assert.JSONEq(t, string(wire), lines[0])
		})
	}
	// Source names are case-insensitive, as in the library.
	assert.Equal(t, exitOK, invokeCmd(t, alertCommand(), alertFixtures["splunk"], "-source", "Splunk").code)
}

func TestAlertKeepsHTMLCharacters(t *testing.T) {
	r := invokeCmd(t, alertCommand(), alertFixtures["elastic"], "-source", "elastic")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "x.sh?a=1&b=<2>", "SetEscapeHTML(false): & < > are printed as they are")
	assert.NotContains(t, r.stdout, `\u0026`)
	assert.NotContains(t, r.stdout, `\u003c`)
	m := decodeAlertLine(t, strings.TrimSpace(r.stdout))
	assert.Contains(t, primaryValues(t, m, "urls"), "https://dl.bad-cdn.net/x.sh?a=1&b=")
}

// A JSON array: good records printed in order, bad ones reported with their
// index (from 0) and line, exit 1.
func TestAlertArrayWithBadRecords(t *testing.T) {
	in := "[\n  " + alertFixtures["sentinel"] + ",\n" +
		`  {"AlertName":"no time"},` + "\n" +
		`  {"AlertName":"Heartbeat","TimeGenerated":"2025-01-15T10:00:00Z"},` + "\n" +
		"  42,\n" +
		`  {"SystemAlertId":"s2","AlertName":"Second","TimeGenerated":"2025-01-15T11:00:00Z"}` + "\n]\n"
	r := invokeCmd(t, alertCommand(), in, "-source", "sentinel")
	assert.Equal(t, exitFailed, r.code)
	lines := outputLines(r.stdout)
	require.Len(t, lines, 2, "the heartbeat is dropped, the bad records skipped")
	assert.Equal(t, "s1", decodeAlertLine(t, lines[0])["alert_id"])
	assert.Equal(t, "s2", decodeAlertLine(t, lines[1])["alert_id"])
	assert.Contains(t, r.stderr, `warden: alert: record 1 (line 3): entityparser: invalid alert: field "timestamp"`)
	assert.Contains(t, r.stderr, "warden: alert: record 3 (line 5): entityparser: invalid alert: event is not a JSON object")
	assert.Contains(t, r.stderr, "warden: alert: 2 of 5 records failed (2 alerts printed, 1 dropped as heartbeats)")
}

// JSON lines: records numbered from 0, lines from 1, blank lines skipped, a
// broken first line does not hide the others.
func TestAlertJSONLines(t *testing.T) {
	in := `{"search_name":"broken",` + "\n" +
		alertFixtures["splunk"] + "\n" +
		"\n" +
		"not json at all\n" +
		`[{"search_name":"in an array"}]` + "\n" +
		`{"search_name":"Health Check - Forwarders"}` + "\n" +
		`{"search_name":"late","_time":"1707918800","description":"beacon to hxxp://evil[.]com/a"}` + "\n"
	r := invokeCmd(t, alertCommand(), in, "-source", "splunk")
	assert.Equal(t, exitFailed, r.code)
	lines := outputLines(r.stdout)
	require.Len(t, lines, 2)
	assert.Equal(t, "Brute Force", decodeAlertLine(t, lines[0])["title"])
	late := decodeAlertLine(t, lines[1])
	assert.Equal(t, []string{"http://evil.com/a"}, primaryValues(t, late, "urls"), "free text goes through the IOC extractor")
	assert.Contains(t, r.stderr, "warden: alert: record 0 (line 1): entityparser: invalid alert: event is not JSON")
	assert.Contains(t, r.stderr, "warden: alert: record 2 (line 4): entityparser: invalid alert: event is not JSON")
	assert.Contains(t, r.stderr, "warden: alert: record 3 (line 5): a JSON array, not an alert object")
	assert.Contains(t, r.stderr, "3 of 6 records failed")
}

func TestAlertPrettyPrintedObject(t *testing.T) {
	var pretty bytes.Buffer
	require.NoError(t, json.Indent(&pretty, []byte(alertFixtures["defender"]), "", "  "))
	r := invokeCmd(t, alertCommand(), "\ufeff\n"+pretty.String(), "-source", "defender")
	require.Equal(t, exitOK, r.code, r.stderr)
	lines := outputLines(r.stdout)
	require.Len(t, lines, 1)
	assert.Equal(t, "da1", decodeAlertLine(t, lines[0])["alert_id"])
}

// Input that cannot be split into records is exit 2, with a position.
func TestAlertUnsplittableInput(t *testing.T) {
	for name, tc := range map[string]struct{ in, want string }{
		"broken array":    {"[\n" + alertFixtures["splunk"] + ",\n{\"search_name\": }\n]", "at line 3, column 17"},
		"broken document": {"{\n  \"search_name\": \"x\",\n  \"src\": \n}\n", "at line 4, column 1"},
		"two documents":   {"{\n\"search_name\": \"x\"}{\n\"search_name\": \"y\"\n}", "more data after the first value at line 2"},
	} {
		r := invokeCmd(t, alertCommand(), tc.in, "-source", "splunk")
		assert.Equal(t, exitUnusable, r.code, name)
		assert.Contains(t, r.stderr, "not a JSON object, array or JSON lines", name)
		assert.Contains(t, r.stderr, tc.want, name)
		assert.Empty(t, r.stdout, name)
	}
}

func TestAlertEmptyInput(t *testing.T) {
	for _, in := range []string{"", "\n\n  \n", "[]", `{"@odata.context":"x","value":[]}`} {
		r := invokeCmd(t, alertCommand(), in, "-source", "defender")
		assert.Equal(t, exitOK, r.code, "%q: %s", in, r.stderr)
		assert.Empty(t, r.stdout, in)
	}
}

func TestAlertUsage(t *testing.T) {
	r := invokeCmd(t, alertCommand(), alertFixtures["splunk"])
	assert.Equal(t, exitUnusable, r.code)
	assert.Contains(t, r.stderr, "-source is required")
	r = invokeCmd(t, alertCommand(), alertFixtures["splunk"], "-source", "qradar")
	assert.Equal(t, exitUnusable, r.code)
	assert.Contains(t, r.stderr, `unknown -source "qradar"`)
	assert.Contains(t, r.stderr, "usage: warden alert -source sentinel|elastic|splunk|crowdstrike|defender [file|-]")
	assert.Equal(t, exitUnusable, invokeCmd(t, alertCommand(), "", "-source", "splunk", "/nonexistent").code)
	assert.Equal(t, exitOK, invokeCmd(t, alertCommand(), "", "-h").code)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r = invokeCmdCtx(t, ctx, alertCommand(), alertFixtures["splunk"], "-source", "splunk")
	assert.Equal(t, exitUnusable, r.code)
	assert.Contains(t, r.stderr, "interrupted")
}

// The MIT-licensed samples entityparser ships: a Sentinel JSON array, an
// OData response from the Defender API (pretty-printed, and compacted to
// one line as `curl` prints it), Splunk ES notables.
func TestAlertSampleFiles(t *testing.T) {
	dir := filepath.Join("..", "..", "entityparser", "testdata")
	for _, c := range []struct {
		file, source string
		alerts       int
	}{
		{"sentinel_securityalert_msticpy_extract.json", "sentinel", 40},
		{"defender_endpoint_alerts_api_xsoar.json", "defender", 3},
		{"splunk_es_notable_event_xsoar.json", "splunk", 1},
		{"splunk_es_notable_events_two_xsoar.json", "splunk", 2},
	} {
		path := filepath.Join(dir, c.file)
		r := invokeCmd(t, alertCommand(), "", "-source", c.source, path)
		require.Equal(t, exitOK, r.code, "%s: %s", c.file, r.stderr)
		lines := outputLines(r.stdout)
		require.Len(t, lines, c.alerts, c.file)
		for _, l := range lines {
			assert.Equal(t, c.source, decodeAlertLine(t, l)["data_source"], c.file)
		}

		data, err := os.ReadFile(path)
		require.NoError(t, err)
		var compact bytes.Buffer
		require.NoError(t, json.Compact(&compact, data))
		r2 := invokeCmd(t, alertCommand(), compact.String()+"\n", "-source", c.source, "-")
		require.Equal(t, exitOK, r2.code, "%s compacted: %s", c.file, r2.stderr)
		assert.Equal(t, r.stdout, r2.stdout, "%s: the same alerts however the input is framed", c.file)
	}
}

// JSON lines stream: the first alert is printed before the input ends, so
// `tail -f alerts.jsonl | warden alert` works.
func TestAlertStreamsJSONLines(t *testing.T) {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	var errOut bytes.Buffer
	e := &env{stdin: inR, stdout: outW, stderr: &errOut, now: time.Now}
	done := make(chan int, 1)
	go func() {
		done <- alertCommand().run(context.Background(), e, []string{"-source", "splunk"})
		outW.Close()
	}()
	out := bufio.NewReader(outR)
	for _, id := range []string{"first", "second"} {
		_, err := io.WriteString(inW, `{"search_name":"`+id+`","_time":"1707918765"}`+"\n")
		require.NoError(t, err)
		line, err := out.ReadString('\n') // blocks until the alert is printed
		require.NoError(t, err)
		assert.Equal(t, id, decodeAlertLine(t, line)["title"])
	}
	require.NoError(t, inW.Close())
	rest, err := io.ReadAll(out)
	require.NoError(t, err)
	assert.Empty(t, rest)
	assert.Equal(t, exitOK, <-done, errOut.String())
}

func TestAlertDocumentLimit(t *testing.T) {
	old := maxAlertDocumentBytes
	maxAlertDocumentBytes = 64
	t.Cleanup(func() { maxAlertDocumentBytes = old })
	r := invokeCmd(t, alertCommand(), "["+alertFixtures["splunk"]+"]", "-source", "splunk")
	assert.Equal(t, exitUnusable, r.code)
	assert.Contains(t, r.stderr, "larger than 64 bytes")
	// JSON lines are not bound by it.
	r = invokeCmd(t, alertCommand(), alertFixtures["splunk"]+"\n"+alertFixtures["splunk"]+"\n", "-source", "splunk")
	assert.Equal(t, exitOK, r.code, r.stderr)
	assert.Len(t, outputLines(r.stdout), 2)
}

// FuzzAlertInput: no input framing panics, every printed line is a valid
// alert line, and the exit code agrees with stderr.
func FuzzAlertInput(f *testing.F) {
	f.Add(alertFixtures["splunk"] + "\n" + alertFixtures["splunk"])
	f.Add("[" + alertFixtures["splunk"] + ",1]")
	f.Add("{\n\"search_name\":\"x\"\n}")
	f.Add(`{"@odata.context":"x","value":[` + alertFixtures["splunk"] + `]}`)
	f.Add("\ufeff[\n]")
	f.Add("{\n")
	f.Fuzz(func(t *testing.T, in string) {
		r := invokeCmd(t, alertCommand(), in, "-source", "splunk")
		for _, l := range outputLines(r.stdout) {
			decodeAlertLine(t, l)
		}
		switch r.code {
		case exitOK:
			require.Empty(t, r.stderr)
		case exitFailed, exitUnusable:
			require.NotEmpty(t, r.stderr)
		default:
			t.Fatalf("exit code %d", r.code)
		}
	})
}
