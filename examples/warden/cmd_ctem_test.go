package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func runCtem(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	e := newEnv(strings.NewReader(stdin), &out, &errOut)
	code = ctemCommand().run(context.Background(), e, args)
	return code, out.String(), errOut.String()
}

func jsonLines(t *testing.T, s string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var m map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m), sc.Text())
		out = append(out, m)
	}
	return out
}

func TestCtemCommandScoresARealExport(t *testing.T) {
	code, stdout, stderr := runCtem(t, "", "-source", "snyk", "-tenant", "acme",
		"../../ctem/testdata/corpus/snyk_test_single_project_one_vuln.json")
	require.Equal(t, exitOK, code, stderr)
	lines := jsonLines(t, stdout)
	require.NotEmpty(t, lines)
	for _, l := range lines {
		assert.Equal(t, "acme", l["tenant_id"])
		assert.NotEmpty(t, l["severity"])
	}
}

func TestCtemCommandEmptyExportIsNotAnError(t *testing.T) {
	code, stdout, stderr := runCtem(t, "", "-source", "snyk", "../../ctem/testdata/corpus/snyk_test_single_project_no_vulns.json")
	assert.Equal(t, exitOK, code, stderr)
	assert.Empty(t, stdout)
}

// A bad record is reported with its index; the good ones are still printed
// and the exit code is 1.
func TestCtemCommandKeepsGoodRecords(t *testing.T) {
	input := `{"tenant_id":"t","source":"art","finding_id":"f1","title":"Evasion attack succeeded","asset_id":"model-1","asset_zone":"","severity":"HIGH","attack_type":"evasion","success_rate":0.8}
{"this is": not json}
{"tenant_id":"t","source":"art","finding_id":"f2","title":"Inference attack succeeded","asset_id":"model-2","asset_zone":"","severity":"LOW","attack_type":"inference","success_rate":0.2}
`
	code, stdout, stderr := runCtem(t, input, "-source", "art", "-")
	assert.Equal(t, exitFailed, code, stderr)
	assert.Contains(t, stderr, "error:")
	assert.Len(t, jsonLines(t, stdout), 2, stderr)
}

func TestCtemCommandUsageErrors(t *testing.T) {
	code, _, stderr := runCtem(t, "", "x.json")
	assert.Equal(t, exitUnusable, code)
	assert.Contains(t, stderr, "-source is required")
	code, _, stderr = runCtem(t, "", "-source", "nessus", "-")
	assert.Equal(t, exitUnusable, code)
	assert.Contains(t, stderr, "nessus")
	code, _, _ = runCtem(t, "", "-source", "wiz", "/nonexistent/file.csv")
	assert.Equal(t, exitUnusable, code)
}
