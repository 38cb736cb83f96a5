package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/audit/chain"
	"github.com/socwarden/warden/taxonomy"
)

// result is one in-process run.
type result struct {
	code           int
	stdout, stderr string
}

func runWith(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	e := newEnv(strings.NewReader(stdin), &out, &errOut)
	code := run(context.Background(), args, e)
	return result{code, out.String(), errOut.String()}
}

// events returns n encoded events over three tenants, as an Emitter writes
// them (JSON lines).
func events(t *testing.T, n int) string {
	t.Helper()
	var buf bytes.Buffer
	em, err := audit.New(audit.JSONLines(&buf), audit.WithLogger(nil))
	require.NoError(t, err)
	for i := range n {
		_, ok := em.Emit(audit.Event{TenantID: []string{"tenant-alpha", "tenant-beta", "tënant-γ"}[i%3],
			Type: taxonomy.AlertClassified, ActorType: taxonomy.ActorAgent, ActorID: "triage",
			Context: audit.Fields{"i": i, "note": "a \"quoted\" <value>"}})
		require.True(t, ok)
	}
	require.NoError(t, em.Close(context.Background()))
	return buf.String()
}

func lines(s string) []string { return strings.Split(strings.TrimSuffix(s, "\n"), "\n") }

func TestHelpListsSubcommands(t *testing.T) {
	r := runWith(t, "", "-h")
	assert.Equal(t, exitOK, r.code)
	for _, name := range []string{"chain", "verify", "keygen", "extract", "injection", "alert", "ctem"} {
		assert.Contains(t, r.stdout, "  "+name+" ")
	}
	assert.Equal(t, exitUnusable, runWith(t, "").code)
	r = runWith(t, "", "nope")
	assert.Equal(t, exitUnusable, r.code)
	assert.Contains(t, r.stderr, `unknown subcommand "nope"`)
	r = runWith(t, "", "verify", "-h")
	assert.Equal(t, exitOK, r.code)
	assert.Contains(t, r.stderr, "usage: warden verify")
	assert.Contains(t, r.stderr, "-pubkey")
	assert.Equal(t, exitUnusable, runWith(t, "", "verify", "-bogus").code)
	seen := map[string]bool{}
	for _, c := range allCommands() {
		assert.False(t, seen[c.name], "subcommand %s listed twice", c.name)
		seen[c.name] = true
		assert.NotEmpty(t, c.summary, c.name)
		assert.NotNil(t, c.run, c.name)
	}
}

// chain then verify, as a pipe: valid, one genesis per tenant, sequences
// in order.
func TestChainThenVerify(t *testing.T) {
	in := events(t, 30)
	c := runWith(t, in, "chain")
	require.Equal(t, exitOK, c.code, c.stderr)
	out := lines(c.stdout)
	assert.Len(t, out, 33)
	assert.Contains(t, out[0], `"event_type":"system.genesis"`)

	v := runWith(t, c.stdout, "verify")
	assert.Equal(t, exitOK, v.code, v.stdout)
	assert.Contains(t, v.stdout, "VALID: 3 tenants, 33 records")
	assert.Contains(t, v.stdout, "tënant-γ")
	assert.Contains(t, v.stdout, "0..10")
	assert.Contains(t, v.stdout, "producers: 1, with gaps: 0")

	var rep verifyReport
	v = runWith(t, c.stdout, "verify", "-json")
	require.NoError(t, json.Unmarshal([]byte(v.stdout), &rep))
	assert.Equal(t, chain.StatusValid, rep.Status)
	assert.Equal(t, 33, rep.Records)
	assert.Len(t, rep.Tenants, 3)
	assert.Equal(t, 0, rep.ExitCode)

	// -o writes a file; a file argument is read.
	dir := t.TempDir()
	inFile := filepath.Join(dir, "events.jsonl")
	require.NoError(t, os.WriteFile(inFile, []byte(in), 0o600))
	outFile := filepath.Join(dir, "records.jsonl")
	c = runWith(t, "", "chain", "-o", outFile, inFile)
	require.Equal(t, exitOK, c.code, c.stderr)
	assert.Empty(t, c.stdout)
	assert.Equal(t, exitOK, runWith(t, "", "verify", outFile).code)
}

func jsonStatus(t *testing.T, s string) string {
	var v struct{ Status string }
	require.NoError(t, json.Unmarshal([]byte(s), &v))
	return v.Status
}

// A tampered record: exit 1, the tenant and the error in the summary.
func TestVerifyTampered(t *testing.T) {
	c := runWith(t, events(t, 12), "chain")
	out := lines(c.stdout)
	out[7] = strings.Replace(out[7], `"severity":"info"`, `"severity":"critical"`, 1)
	v := runWith(t, strings.Join(out, "\n")+"\n", "verify")
	assert.Equal(t, exitFailed, v.code)
	assert.Contains(t, v.stdout, "INVALID")
	assert.Contains(t, v.stdout, "hash mismatch")
	v = runWith(t, strings.Join(out, "\n"), "verify", "-json")
	assert.Equal(t, exitFailed, v.code)
	assert.Equal(t, "invalid", jsonStatus(t, v.stdout))
	assert.Contains(t, v.stdout, `"line": 8`)

	// A deleted record.
	del := append(append([]string{}, out[:5]...), out[6:]...)
	v = runWith(t, strings.Join(del, "\n"), "verify")
	assert.Equal(t, exitFailed, v.code)
	assert.Contains(t, v.stdout, "previous_hash does not link")
	assert.Contains(t, v.stdout, "(+1 more)")
	v = runWith(t, strings.Join(del, "\n"), "verify", "-json")
	assert.Contains(t, v.stdout, "Sequence gap: expected")
}

// Malformed lines are reported with their line number, never a panic: the
// verdict is "cannot verify", exit 2.
func TestVerifyMalformedLines(t *testing.T) {
	c := runWith(t, events(t, 9), "chain")
	out := lines(c.stdout)
	out[3] = `{"tenant_id":"tenant-alpha","sequence_number":1, broken`
	out[6] = "\x00\xff binary"
	v := runWith(t, strings.Join(out, "\n"), "verify")
	assert.Equal(t, exitUnusable, v.code)
	assert.Contains(t, v.stdout, "CANNOT VERIFY")
	assert.Contains(t, v.stdout, "malformed lines: 2")
	assert.Contains(t, v.stdout, "line 4 (tenant \"tenant-alpha\"?)")
	assert.Contains(t, v.stdout, "line 7:")
	v = runWith(t, "[]\n{}\n", "verify", "-json")
	assert.Equal(t, exitUnusable, v.code)
	assert.Equal(t, "cannot_verify", jsonStatus(t, v.stdout))
}

// Unreadable input: exit 2.
func TestVerifyUnreadable(t *testing.T) {
	r := runWith(t, "", "verify", filepath.Join(t.TempDir(), "missing.jsonl"))
	assert.Equal(t, exitUnusable, r.code)
	assert.Contains(t, r.stderr, "no such file")
	var out, errOut bytes.Buffer
	e := newEnv(iotest.ErrReader(fmt.Errorf("disk on fire")), &out, &errOut)
	assert.Equal(t, exitUnusable, run(context.Background(), []string{"verify"}, e))
	assert.Contains(t, errOut.String(), "disk on fire")
	assert.Equal(t, exitUnusable, runWith(t, "", "verify", "a", "b").code)
	assert.Equal(t, exitUnusable, runWith(t, "", "chain", filepath.Join(t.TempDir(), "missing")).code)
}

// chain reports malformed events with their line number, chains the rest
// and exits 1; duplicates are skipped.
func TestChainMalformedAndDuplicate(t *testing.T) {
	evs := lines(events(t, 6))
	in := []string{evs[0], "not json", evs[1], `{"tenant_id":5}`, evs[1], evs[2], "", evs[3]}
	c := runWith(t, strings.Join(in, "\n"), "chain")
	assert.Equal(t, exitFailed, c.code)
	assert.Contains(t, c.stderr, "line 2:")
	assert.Contains(t, c.stderr, "line 4:")
	assert.Contains(t, c.stderr, "skipped 2 malformed lines")
	assert.Contains(t, c.stderr, "skipped 1 duplicate events")
	assert.Len(t, lines(c.stdout), 4+3)
	assert.Equal(t, exitOK, runWith(t, c.stdout, "verify").code)
	// With the dedup window off the duplicate is chained.
	c = runWith(t, strings.Join(in, "\n"), "chain", "-dedup", "0")
	assert.Len(t, lines(c.stdout), 5+3)
}

// Lines beyond the length limit are skipped and reported.
func TestLineTooLong(t *testing.T) {
	evs := lines(events(t, 2))
	huge := `{"tenant_id":"x","pad":"` + strings.Repeat("a", maxLineBytes) + `"}`
	c := runWith(t, strings.Join([]string{evs[0], huge, evs[1]}, "\n"), "chain")
	assert.Equal(t, exitFailed, c.code)
	assert.Contains(t, c.stderr, "line 2: line longer than")
	assert.Len(t, lines(c.stdout), 4)
	v := runWith(t, c.stdout+huge+"\n", "verify")
	assert.Equal(t, exitUnusable, v.code)
	assert.Contains(t, v.stdout, "line 5: line longer than")
}

// Signed checkpoints: keygen, chain -key, verify -pubkey; a cut tail and an
// untrusted key are caught.
func TestCheckpointsEndToEnd(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "key")
	k := runWith(t, "", "keygen", "-o", key)
	require.Equal(t, exitOK, k.code, k.stderr)
	assert.Contains(t, k.stdout, "key id ")
	assert.Equal(t, exitUnusable, runWith(t, "", "keygen", "-o", key).code, "keys are never overwritten")
	info, err := os.Stat(key)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	c := runWith(t, events(t, 30), "chain", "-key", key, "-checkpoint-every", "4")
	require.Equal(t, exitOK, c.code, c.stderr)
	out := lines(c.stdout)
	ncp := strings.Count(c.stdout, `"checkpoint":"warden.chain.checkpoint.v1"`)
	assert.Equal(t, 3*3, ncp, "every 4 records of 11 per tenant (2), plus the tail")

	v := runWith(t, c.stdout, "verify", "-pubkey", key+".pub")
	assert.Equal(t, exitOK, v.code, v.stdout)
	assert.Contains(t, v.stdout, "9 checkpoints")
	assert.NotContains(t, v.stdout, "not checked")
	v = runWith(t, c.stdout, "verify")
	assert.Equal(t, exitOK, v.code)
	assert.Contains(t, v.stdout, "signatures were not checked")

	// Cut the last records of every tenant but keep the checkpoints.
	var cut, cps []string
	for _, l := range out {
		if strings.Contains(l, `"checkpoint"`) {
			cps = append(cps, l)
		} else {
			cut = append(cut, l)
		}
	}
	v = runWith(t, strings.Join(cut[:len(cut)-3], "\n")+"\n"+strings.Join(cps, "\n"), "verify", "-pubkey", key+".pub")
	assert.Equal(t, exitFailed, v.code)
	assert.Contains(t, v.stdout, "Chain truncated")

	// Checkpoints in a separate file.
	cpFile := filepath.Join(dir, "cps.jsonl")
	require.NoError(t, os.WriteFile(cpFile, []byte(strings.Join(cps, "\n")+"\n"), 0o600))
	v = runWith(t, strings.Join(cut, "\n"), "verify", "-pubkey", key+".pub", "-checkpoints", cpFile)
	assert.Equal(t, exitOK, v.code, v.stdout)

	// Another key: the signatures are refused.
	other := filepath.Join(dir, "other")
	require.Equal(t, exitOK, runWith(t, "", "keygen", "-o", other).code)
	v = runWith(t, c.stdout, "verify", "-pubkey", other+".pub")
	assert.Equal(t, exitFailed, v.code)
	assert.Contains(t, v.stdout, "unknown key")

	assert.Equal(t, exitUnusable, runWith(t, "", "verify", "-pubkey", cpFile).code, "not a key")
	assert.Equal(t, exitUnusable, runWith(t, "", "chain", "-key", cpFile).code, "not a key")
}

// The golden vectors (Python-style lines, tenants interleaved) verify.
func TestVerifyGoldenVectors(t *testing.T) {
	r := runWith(t, "", "verify", "-strict", "../../audit/chain/testdata/chain-public.jsonl")
	assert.Equal(t, exitOK, r.code, r.stdout+r.stderr)
	assert.Contains(t, r.stdout, "VALID: 3 tenants, 25 records")
}

// Long runs report progress on stderr, at most once a second; -q silences
// it.
func TestProgress(t *testing.T) {
	c := runWith(t, events(t, 9000), "chain")
	var out, errOut bytes.Buffer
	e := newEnv(strings.NewReader(c.stdout), &out, &errOut)
	tick := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	e.now = func() time.Time { tick = tick.Add(700 * time.Millisecond); return tick }
	require.Equal(t, exitOK, run(context.Background(), []string{"verify"}, e))
	assert.Contains(t, errOut.String(), "verify: 8192 lines")
	assert.Contains(t, errOut.String(), "verify: done, 9003 lines")

	errOut.Reset()
	e = newEnv(strings.NewReader(c.stdout), &out, &errOut)
	e.now = func() time.Time { tick = tick.Add(time.Second); return tick }
	require.Equal(t, exitOK, run(context.Background(), []string{"verify", "-q"}, e))
	assert.Empty(t, errOut.String())
}
