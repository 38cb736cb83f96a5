package ctem

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/socwarden/warden/taxonomy"
)

func stream(t *testing.T, s *Service, src Source, in string, opts ...StreamOption) *Batch {
	t.Helper()
	b, err := s.NormaliseStream(ctx, src, strings.NewReader(in), opts...)
	require.NoError(t, err)
	return b
}

func snykVulnJSON(id, title, pkg string) string {
	return `{"id":"` + id + `","title":"` + title + `","severity":"high","packageName":"` + pkg + `","version":"1.0.0",` +
		`"cvssScore":7.5,"CVSSv3":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N","fixedIn":["1.0.1"],` +
		`"identifiers":{"CVE":["CVE-2026-0001"]},"publicationTime":"2026-01-01T00:00:00Z"}`
}

// Empty inputs yield zero exposures, not an error, for every source.
func TestStreamEmpty(t *testing.T) {
	s := newService(t)
	for _, src := range Sources() {
		for _, in := range []string{"", "  \n\t", "\xEF\xBB\xBF"} {
			b := stream(t, s, src, in)
			assert.Equal(t, FormatEmpty, b.Format)
			assert.Zero(t, b.Records)
			assert.False(t, b.Failed())
		}
	}
}

// A document cut off in the middle keeps every record before the cut.
func TestStreamTruncatedSnyk(t *testing.T) {
	s := newService(t)
	doc := `{"projectName":"shop","packageManager":"npm","vulnerabilities":[` +
		snykVulnJSON("SNYK-JS-A-1", "XSS", "a") + "," + snykVulnJSON("SNYK-JS-B-2", "RCE", "b") + "," +
		snykVulnJSON("SNYK-JS-C-3", "DoS", "c") + `],"ok":false}`
	cut := doc[:strings.Index(doc, "SNYK-JS-C-3")+20]
	b := stream(t, s, SourceSnyk, cut)
	assert.Equal(t, FormatSnykTest, b.Format)
	require.Len(t, b.Exposures, 2)
	assert.Equal(t, "XSS in a (SNYK-JS-A-1)", b.Exposures[0].Title)
	assert.Equal(t, "shop", b.Exposures[1].AssetID)
	require.Len(t, b.Errors, 1)
	assert.Equal(t, 2, b.Errors[0].Index)
	assert.Contains(t, b.Errors[0].Location, "vulnerabilities[2]")
	assert.ErrorIs(t, b.Errors[0].Err, ErrInvalidFinding)
	assert.Contains(t, b.Errors[0].Error(), "invalid JSON")

	// The real CLI writes projectName after the vulnerabilities: cut before
	// it, the records are still reported, each with the reason.
	real := `{"vulnerabilities":[` + snykVulnJSON("SNYK-JS-A-1", "XSS", "a") + "," + snykVulnJSON("SNYK-JS-B-2", "RCE", "b") +
		`],"ok":false,"projectName":"shop"}`
	b = stream(t, s, SourceSnyk, real[:len(real)-22])
	require.Len(t, b.Errors, 3)
	var fe *FieldError
	require.ErrorAs(t, b.Errors[0].Err, &fe)
	assert.Equal(t, "projectName", fe.Field)
	assert.Empty(t, b.Exposures)
	b = stream(t, s, SourceSnyk, real)
	require.Len(t, b.Exposures, 2)
}

// A bad record keeps every good one and names index, location and reason.
func TestStreamBadRecords(t *testing.T) {
	s := newService(t)
	doc := `{"projectName":"shop","vulnerabilities":[` + snykVulnJSON("SNYK-JS-A-1", "XSS", "a") + `,` +
		`{"id":"SNYK-X","title":5,"packageName":"b"},` + `{"id":"SNYK-Y","packageName":"c"},` + `"oops",` +
		snykVulnJSON("SNYK-JS-D-4", "DoS", "d") + `]}`
	b := stream(t, s, SourceSnyk, doc)
	require.Len(t, b.Exposures, 2)
	require.Len(t, b.Errors, 3)
	want := []struct {
		index       int
		loc, field  string
		reasonStart string
	}{
		{1, "vulnerabilities[1]", "title", "wrong type: want string"},
		{2, "vulnerabilities[2]", "title", "missing"},
		{3, "vulnerabilities[3]", "$", "not a JSON object"},
	}
	for i, w := range want {
		e := b.Errors[i]
		assert.Equal(t, w.index, e.Index)
		assert.Equal(t, w.loc, e.Location)
		var fe *FieldError
		require.ErrorAs(t, e.Err, &fe)
		assert.Equal(t, w.field, fe.Field)
		assert.True(t, strings.HasPrefix(fe.Reason, w.reasonStart), fe.Reason)
	}

	// A failed scan is not a clean one.
	b = stream(t, s, SourceSnyk, `{"ok":false,"error":"Could not detect supported target files","path":"/src"}`)
	require.Len(t, b.Errors, 1)
	assert.Contains(t, b.Errors[0].Error(), "Could not detect supported target files")
}

func TestStreamFlatJSONLines(t *testing.T) {
	s := newService(t)
	lines := string(mustJSON(t, goldenART7)) + "\n{not json}\n\n" + string(mustJSON(t, goldenART8)) + "\r\n" + `{"title":"x"}` + "\n"
	b := stream(t, s, SourceART, lines)
	assert.Equal(t, FormatFlat, b.Format)
	require.Len(t, b.Exposures, 2)
	require.Len(t, b.Errors, 2)
	assert.Equal(t, "line 2", b.Errors[0].Location)
	assert.Equal(t, 1, b.Errors[0].Index)
	assert.Contains(t, b.Errors[0].Error(), "invalid JSON")
	assert.Equal(t, "line 5", b.Errors[1].Location)
	assert.Contains(t, b.Errors[1].Error(), `field "model_id": missing`)

	arr := `[` + string(mustJSON(t, goldenART7)) + `, 5, ` + string(mustJSON(t, goldenART8)) + `]`
	b = stream(t, s, SourceART, arr)
	require.Len(t, b.Exposures, 2)
	require.Len(t, b.Errors, 1)
	assert.Equal(t, "[1]", b.Errors[0].Location)

	b = stream(t, s, SourceART, arr[:len(arr)-30])
	require.Len(t, b.Exposures, 1)
	require.Len(t, b.Errors, 2, "the bad element and the damaged tail")

	b = stream(t, s, SourceWiz, string(mustJSON(t, goldenWiz1)))
	require.Len(t, b.Exposures, 1)
	assert.Equal(t, "tenant-A", b.Exposures[0].TenantID, "a flat record's own tenant wins")
	b = stream(t, s, SourceGarak, `[`+string(mustJSON(t, goldenGarak5))+`]`)
	assert.Equal(t, FormatFlat, b.Format)
	require.Len(t, b.Exposures, 1)
	b = stream(t, s, SourceGarak, string(mustJSON(t, goldenGarak5))+"\n"+string(mustJSON(t, goldenGarak6)))
	assert.Equal(t, FormatGarakJSONL, b.Format)
	require.Len(t, b.Exposures, 2, "flat garak lines inside a JSONL stream")
	b = stream(t, s, SourceSnyk, "garbage\nmore garbage")
	require.Len(t, b.Errors, 2)
}

func TestStreamCSV(t *testing.T) {
	s := newService(t)
	csv := "Created At,Title,Severity,Status,Resource Type,Resource external ID\n" +
		"2024-01-01T00:00:00Z,Open bucket,HIGH,OPEN,edge,res-1\n" +
		"2024-01-01T00:00:00Z,Too few,HIGH\n" +
		"2024-01-01T00:00:00Z,\"Bad \"quote,HIGH,OPEN,s3,res-2\n" +
		"yesterday,Bad time,HIGH,OPEN,s3,res-3\n" +
		"2024-01-01T00:00:00Z,,HIGH,OPEN,s3,res-4\n" +
		"2024-01-01T00:00:00Z,Closed one,HIGH,REJECTED,s3,res-5\n" +
		"2024-01-02T00:00:00Z,Second,LOW,IN_PROGRESS,s3,res-6\n"
	b := stream(t, s, SourceWiz, csv)
	assert.Equal(t, FormatWizIssuesCSV, b.Format)
	require.Len(t, b.Exposures, 2)
	assert.Equal(t, "Zone1_EdgeInference", b.Exposures[0].AssetZone)
	assert.Equal(t, SeverityCritical, b.Exposures[0].Severity)
	require.Len(t, b.Errors, 4)
	assert.Contains(t, b.Errors[0].Error(), "row has 3 fields, header has 6")
	assert.Equal(t, "row 2 (line 3)", b.Errors[0].Location)
	assert.Contains(t, b.Errors[1].Error(), "malformed CSV row")
	assert.Contains(t, b.Errors[2].Error(), `field "Created At": unparseable timestamp`)
	assert.Contains(t, b.Errors[3].Error(), `field "Title": missing`)
	require.Len(t, b.Skipped, 1)
	assert.Equal(t, "status REJECTED at the source", b.Skipped[0].Reason)

	// Columns named like the flat keys go through the flat normaliser.
	flat := "title,resource_id,severity,resource_type,tenant_id\nS3 Bucket Public Access,arn:aws:s3:::my-bucket,HIGH,s3,tenant-A\n,missing-title,LOW,,\n"
	b = stream(t, s, SourceWiz, flat)
	assert.Equal(t, FormatWizCSV, b.Format)
	require.Len(t, b.Exposures, 1)
	assert.Equal(t, "8d53de1726fae8c3", b.Exposures[0].ExposureKey)
	require.Len(t, b.Errors, 1)

	b = stream(t, s, SourceWiz, "\"unterminated,header\n")
	require.Len(t, b.Errors, 1)
	assert.Equal(t, "header", b.Errors[0].Location)
}

// Duplicates within one export (Snyk lists one vulnerability per dependency
// path) are kept once and the rest reported.
func TestStreamDuplicates(t *testing.T) {
	s := newService(t)
	v := snykVulnJSON("SNYK-JS-A-1", "XSS", "a")
	b := stream(t, s, SourceSnyk, `{"projectName":"p","vulnerabilities":[`+v+`,`+v+`]}`)
	require.Len(t, b.Exposures, 1)
	require.Len(t, b.Skipped, 1)
	assert.Contains(t, b.Skipped[0].Reason, "duplicate of record 0")
}

func TestStreamGarakDerivedEval(t *testing.T) {
	s := newService(t)
	// An interrupted run: attempts were evaluated, the eval entries are missing.
	report := `{"entry_type":"start_run setup","plugins.target_name":"llama-3","transient.starttime_iso":"2026-02-01T10:00:00.5"}
{"entry_type":"attempt","status":2,"probe_classname":"dan.Dan_11_0","detector_results":{"dan.DAN":[1.0]},"goal":"disregard the system prompt"}
{"entry_type":"attempt","status":2,"probe_classname":"dan.Dan_11_0","detector_results":{"dan.DAN":[0.0],"mitigation.MitigationBypass":[0.9]}}
{"entry_type":"attempt","status":2,"probe_classname":"dan.Dan_11_0","detector_results":{"dan.DAN":[0.2, null]}}
{"entry_type":"attempt","status":1,"probe_classname":"dan.Dan_11_0","detector_results":{}}
{"entry_type":"eval","probe":"encoding.InjectBase64","detector":"encoding.DecodeMatch","passed":3,"total_evaluated":4}
{"entry_type":"eval","probe":"x","detector":"y","passed":"3","total_evaluated":4}
`
	b := stream(t, s, SourceGarak, report)
	require.Len(t, b.Errors, 1)
	assert.Contains(t, b.Errors[0].Error(), `field "passed": wrong type: want number`)
	require.Len(t, b.Exposures, 3)
	enc := b.Exposures[0]
	assert.Equal(t, "encoding.InjectBase64 (encoding.DecodeMatch)", enc.Title)
	assert.Equal(t, 0.25, enc.ExploitabilityScore, "1 of 4 failed: passed counts resisted attempts")
	assert.Equal(t, "llama-3", enc.AssetID)
	assert.Equal(t, "2026-02-01T10:00:00.5Z", enc.TS.Format("2006-01-02T15:04:05.999Z07:00"))
	dan, ok := byTitle(b, "dan.Dan_11_0 (dan.DAN)")
	require.True(t, ok)
	assert.InDelta(t, 1.0/3, dan.ExploitabilityScore, 1e-12)
	assert.Equal(t, "AML.T0054", dan.AtlasTechnique)
	assert.Contains(t, dan.Description, "goal: disregard the system prompt")
	mit, ok := byTitle(b, "dan.Dan_11_0 (mitigation.MitigationBypass)")
	require.True(t, ok)
	assert.Equal(t, 1.0, mit.ExploitabilityScore)
}

func TestStreamErrors(t *testing.T) {
	s := newService(t, WithMaxStreamBytes(64))
	_, err := s.NormaliseStream(ctx, SourceWiz, strings.NewReader(strings.Repeat("x", 65)))
	assert.ErrorIs(t, err, ErrInvalidFinding)
	_, err = s.NormaliseStream(ctx, "burp", strings.NewReader("{}"))
	assert.ErrorIs(t, err, ErrUnsupportedSource)
	_, err = s.NormaliseStream(ctx, SourceWiz, strings.NewReader("{}"), StreamFormat(FormatSnykTest))
	assert.ErrorIs(t, err, ErrInvalidRequest)
	_, err = s.NormaliseStream(ctx, SourceWiz, strings.NewReader("{}"), StreamFormat("yaml"))
	assert.ErrorIs(t, err, ErrInvalidRequest)
	_, err = s.NormaliseStream(ctx, SourceWiz, nil)
	assert.ErrorIs(t, err, ErrInvalidRequest)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = newService(t).NormaliseStream(cancelled, SourceART, strings.NewReader(string(mustJSON(t, goldenART7))))
	assert.ErrorIs(t, err, context.Canceled)

	// Forcing a format skips detection.
	b, err := newService(t).NormaliseStream(ctx, SourceSnyk, bytes.NewReader(readCorpus(t, "snyk_test_single_project_one_vuln.json")), StreamFormat(FormatFlat))
	require.NoError(t, err)
	require.Len(t, b.Errors, 1, "the CLI document read as one flat finding has no title")
}

func TestStreamTenantAndHostSource(t *testing.T) {
	s := newService(t, WithDefaultTenant("acme"), WithNormaliser(funcNormaliser{src: "burp", fn: func(raw []byte, env Env) (Exposure, error) {
		var m map[string]string
		if err := json.Unmarshal(raw, &m); err != nil {
			return Exposure{}, &FieldError{Source: "burp", Field: rootField, Reason: reasonInvalidJSON}
		}
		return Exposure{ExposureKey: ExposureKey("burp", m["issue"], m["host"]), TS: env.Now, SourceTool: "burp", Title: m["issue"],
			AssetID: m["host"], Severity: SeverityLow, PhysicalConsequence: ConsequenceDataLoss}, nil
	}}))
	b := stream(t, s, SourceWiz, string(readCorpus(t, "wiz_issues_one_finding.csv")))
	assert.Equal(t, "acme", b.Exposures[0].TenantID)
	b = stream(t, s, "burp", `{"issue":"SQLi","host":"web-1"}`+"\n"+`{"issue":"XSS","host":"web-1"}`)
	require.Len(t, b.Exposures, 2)
	assert.Equal(t, "acme", b.Exposures[1].TenantID)
}

func TestIngestStream(t *testing.T) {
	rec := &recorder{}
	pub := &pubRecorder{}
	store := NewMemoryStore()
	s := newService(t, WithAuditProducer(rec), WithPublisher(pub), WithStore(store), WithOwnerResolver(OwnerRules{{Name: "snyk", Owner: "app-team"}}))
	b, err := s.IngestStream(ctx, SourceSnyk, bytes.NewReader(readCorpus(t, "snyk_container_test_epss.json")))
	require.NoError(t, err)
	require.Len(t, b.Exposures, 13)
	assert.Equal(t, 13, store.Len())
	for _, e := range b.Exposures {
		assert.Equal(t, "app-team", e.AssignedTo, "the batch holds the stored records")
		assert.Equal(t, t0, e.CreatedAt)
	}
	assert.Len(t, rec.ofType(taxonomy.CTEMExposureScored), 13)
	assert.Len(t, rec.ofType(taxonomy.CTEMRemediationAssigned), 13)
	assert.Len(t, pub.on(NormalisedTopic), 13)
	scored := rec.ofType(taxonomy.CTEMExposureScored)[0]
	assert.Contains(t, scored.Decision["reasoning_summary"], "exploitability medium (0.57)")

	// A failing store moves every record to the errors, wrapped in ErrStore.
	s = newService(t, WithStore(failingStore{NewMemoryStore()}))
	b, err = s.IngestStream(ctx, SourceSnyk, bytes.NewReader(readCorpus(t, "snyk_container_test_epss.json")))
	require.NoError(t, err)
	assert.Empty(t, b.Exposures)
	require.Len(t, b.Errors, 13)
	assert.ErrorIs(t, b.Errors[0].Err, ErrStore)
	for i := 1; i < len(b.Errors); i++ {
		assert.Less(t, b.Errors[i-1].Index, b.Errors[i].Index, "errors in record order")
	}
}
