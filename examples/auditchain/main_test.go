package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/audit/chain/kafkachain"
	"github.com/socwarden/warden/audit/kafkasink"
	"github.com/socwarden/warden/taxonomy"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// With no brokers: an embedded cluster, said so, the demo chained and
// verified, and a graceful stop.
func TestEmbeddedDemo(t *testing.T) {
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	require.NoError(t, run(ctx, []string{"-once", "-demo", "12"}, &out, &errOut), errOut.String())
	s := out.String()
	assert.Contains(t, s, "no -brokers given: started an embedded kfake cluster")
	assert.Contains(t, s, "emitted 12 demo events")
	assert.Contains(t, s, "audit.records: valid, 15 records of 3 tenants")
	assert.Contains(t, s, "stopped: 12 records chained, 3 geneses")
}

// Against given brokers, with a key file: it creates the topics, chains
// what is on audit.events, and Ctrl-C (ctx) stops it gracefully.
func TestWithBrokers(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	require.NoError(t, err)
	defer c.Close()
	seeds := c.ListenAddrs()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	keyFile := filepath.Join(t.TempDir(), "key")
	require.NoError(t, os.WriteFile(keyFile, []byte(hex.EncodeToString(priv.Seed())), 0o600))

	admCl, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	require.NoError(t, err)
	defer admCl.Close()
	require.NoError(t, kafkachain.EnsureTopics(context.Background(), kadm.NewClient(admCl), 4))

	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-brokers", strings.Join(seeds, ","), "-key", keyFile, "-group", "g1"}, &out, &errOut)
	}()

	sink, err := kafkasink.NewFromSeeds(seeds)
	require.NoError(t, err)
	em, err := audit.New(sink)
	require.NoError(t, err)
	for i := range 7 {
		em.Emit(audit.Event{TenantID: "t1", Type: taxonomy.AlertClassified, ActorType: taxonomy.ActorAgent,
			ActorID: "a", Context: audit.Fields{"i": i}})
	}
	require.NoError(t, em.Close(context.Background()))

	// Wait until the records topic holds the genesis and the 7 records.
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.ConsumeTopics("audit.records"),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.FetchMaxWait(200*time.Millisecond))
	require.NoError(t, err)
	defer cl.Close()
	got := 0
	deadline := time.Now().Add(30 * time.Second)
	for got < 8 && time.Now().Before(deadline) {
		pctx, pcancel := context.WithTimeout(context.Background(), time.Second)
		got += cl.PollFetches(pctx).NumRecords()
		pcancel()
	}
	assert.Equal(t, 8, got)
	cancel()
	require.NoError(t, <-done, errOut.String())
	assert.Contains(t, out.String(), "stopping after the current transaction")
	assert.Contains(t, out.String(), "stopped: 7 records chained, 1 geneses")
	assert.NotContains(t, out.String(), "embedded")
}

func TestBadFlags(t *testing.T) {
	var out, errOut bytes.Buffer
	assert.Error(t, run(context.Background(), []string{"-nope"}, &out, &errOut))
	assert.Error(t, run(context.Background(), []string{"extra"}, &out, &errOut))
	assert.NoError(t, run(context.Background(), []string{"-h"}, &out, &errOut))
	assert.Contains(t, errOut.String(), "-brokers")
	bad := filepath.Join(t.TempDir(), "key")
	require.NoError(t, os.WriteFile(bad, []byte("zz"), 0o600))
	assert.Error(t, run(context.Background(), []string{"-brokers", "127.0.0.1:1", "-key", bad}, &out, &errOut))
}
