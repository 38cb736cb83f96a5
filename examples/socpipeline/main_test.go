package main

import (
	"crypto/ed25519"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/socwarden/warden/audit/chain"

	"github.com/socwarden/warden/response"
)

// -approve: the person at the terminal decides every tier-2 gate (here:
// grant, deny, wait, grant) under their own identity; a waited gate times
// out on the injected clock.
func TestApproveAtTheTerminal(t *testing.T) {
	rep, _, progress := runStory(t, options{approve: true}, "g\nd\nw\ng\n")
	assert.Contains(t, progress, "tier-2 approvals will be asked at this terminal")
	// One prompt per tier-2 gate, and one more when the waited gate's
	// timeout re-routes it to the escalated role (input is exhausted then:
	// it waits again).
	assert.Equal(t, 5, strings.Count(progress, "[g]rant, [d]eny or [w]ait"))
	assert.Contains(t, progress, "no answer: waiting for the timeout")
	outcomes := map[string]string{}
	deciders := map[string]string{}
	for _, a := range rep.result.Approvals {
		for _, inv := range rep.result.Investigations {
			if inv.InvestigationID == a.InvestigationID {
				outcomes[inv.AlertID], deciders[inv.AlertID] = a.Outcome, a.DecidedBy
			}
		}
	}
	require.Equal(t, string(response.OutcomeGranted), outcomes["sentinel-7f3a9c21"])
	assert.Equal(t, "terminal:"+currentUser(), deciders["sentinel-7f3a9c21"])
	assert.Equal(t, string(response.OutcomeDenied), outcomes["splunk-1772443800.4412"])
	assert.Equal(t, string(response.OutcomeTimedOutLeftOpen), outcomes["defender-da637292"])
	assert.Equal(t, string(response.OutcomeGranted), outcomes["crowdstrike-ldt-a7f0"])
	assert.Equal(t, "policy:auto-grant-low-tier", deciders["crowdstrike-ldt-91c2"], "tier-1 gates never reach the terminal")
}

// An unknown -llm mode, or a real provider without its key, fails before
// anything runs.
func TestLLMFlagValidated(t *testing.T) {
	t.Setenv("ANTHROPIC_API_KEY", "")
	for _, mode := range []string{"gpt-7", "anthropic"} {
		_, err := run(t.Context(), options{llm: mode}, strings.NewReader(""), io.Discard, io.Discard)
		assert.Error(t, err, mode)
	}
}

// -brokers: the same pipeline against an external cluster (here a kfake
// broker the test starts, which the command treats as any real cluster).
// A second run on the same cluster counts only its own events, and the
// chaining service continues every tenant's chain where the first run left
// it: the whole chains still verify from their geneses.
func TestExternalClusterTwoRuns(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	require.NoError(t, err)
	t.Cleanup(c.Close)
	o := options{brokers: c.ListenAddrs(), keyFile: filepath.Join(t.TempDir(), "checkpoint.key")}
	o.runID = "first"
	first, _, progress := runStory(t, o, "")
	assert.Contains(t, progress, "using the Kafka cluster at "+c.ListenAddrs()[0])
	o.runID = "second"
	second, _, _ := runStory(t, o, "")
	assert.Equal(t, len(first.events.Records), len(second.events.Records), "the second summary counts its own run")
	assert.Zero(t, second.events.Missing())
	assert.Equal(t, chain.StatusValid, second.chain.Status, "%+v", second.chain.Tenants)
	assert.Equal(t, first.chain.Records+len(second.events.Records), second.chain.Records,
		"the second run's events extend the existing chains (no new genesis): %d + %d", first.chain.Records, len(second.events.Records))
	require.Len(t, second.result.Investigations, len(first.result.Investigations))
	for i, inv := range second.result.Investigations {
		assert.Equal(t, first.result.Investigations[i].State, inv.State, inv.AlertID)
	}
}

// The checkpoint key is kept in its file and read back by the next run.
func TestSigningKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k")
	k1, err := signingKey(path)
	require.NoError(t, err)
	k2, err := signingKey(path)
	require.NoError(t, err)
	assert.Equal(t, k1, k2)
	pub, err := os.ReadFile(path + ".pub")
	require.NoError(t, err)
	assert.Equal(t, hex.EncodeToString(k1.Public().(ed25519.PublicKey))+"\n", string(pub))
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	require.NoError(t, os.WriteFile(path, []byte("not hex"), 0o600))
	_, err = signingKey(path)
	assert.Error(t, err)
	k3, err := signingKey("")
	require.NoError(t, err)
	assert.NotEqual(t, k1, k3)
}
