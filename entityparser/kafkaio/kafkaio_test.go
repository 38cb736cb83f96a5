package kafkaio

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"

	"github.com/socwarden/warden/entityparser"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Checklist 44.
func TestConsumerDefaults(t *testing.T) {
	cl, err := kgo.NewClient(append(ConsumerOpts(Config{}), kgo.SeedBrokers("127.0.0.1:1"))...)
	require.NoError(t, err)
	defer cl.Close()
	assert.Equal(t, "aluskort.entity-parser", cl.OptValue(kgo.ConsumerGroup))
	assert.Equal(t, true, cl.OptValue(kgo.DisableAutoCommit))
	assert.Equal(t, kgo.NewOffset().AtStart(), cl.OptValue(kgo.ConsumeResetOffset))
	assert.Equal(t, []string{"alerts.raw"}, cl.OptValue(kgo.ConsumeTopics))

	custom, err := kgo.NewClient(append(ConsumerOpts(Config{Group: "my-group", Topic: "raw2"}), kgo.SeedBrokers("127.0.0.1:1"))...)
	require.NoError(t, err)
	defer custom.Close()
	assert.Equal(t, "my-group", custom.OptValue(kgo.ConsumerGroup))
	assert.Equal(t, []string{"raw2"}, custom.OptValue(kgo.ConsumeTopics))

	_, err = NewConsumer(nil)
	assert.ErrorIs(t, err, ErrNilClient)
	_, err = NewPublisher(nil)
	assert.ErrorIs(t, err, ErrNilClient)
}

func alert(id string) []byte {
	b, _ := json.Marshal(map[string]any{"alert_id": id, "source": "sentinel", "timestamp": "2025-01-15T10:00:00Z",
		"title": "t", "description": "d", "severity": "low", "entities_raw": `[{"Type":"ip","Address":"10.0.0.1"}]`})
	return b
}

// Checklist 74: three raw records (valid, invalid, valid) through a kfake
// cluster.
func TestRunAgainstKfake(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "alerts.raw", "alerts.normalized", "alerts.raw.dlq"))
	require.NoError(t, err)
	defer c.Close()
	seeds := kgo.SeedBrokers(c.ListenAddrs()...)

	prod, err := kgo.NewClient(seeds)
	require.NoError(t, err)
	defer prod.Close()
	for _, v := range [][]byte{alert("a-1"), []byte("not json"), alert("a-2")} {
		require.NoError(t, prod.ProduceSync(ctx, &kgo.Record{Topic: "alerts.raw", Value: v}).FirstErr())
	}

	consCl, err := kgo.NewClient(append(ConsumerOpts(Config{}), seeds)...)
	require.NoError(t, err)
	defer consCl.Close()
	cons, err := NewConsumer(consCl)
	require.NoError(t, err)
	pub, err := NewPublisher(prod)
	require.NoError(t, err)

	p, err := entityparser.New()
	require.NoError(t, err)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- p.Run(runCtx, cons, pub) }()

	reader, err := kgo.NewClient(seeds, kgo.ConsumeTopics("alerts.normalized", "alerts.raw.dlq"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	require.NoError(t, err)
	defer reader.Close()
	got := map[string][]*kgo.Record{}
	for len(got["alerts.normalized"]) < 2 || len(got["alerts.raw.dlq"]) < 1 {
		fs := reader.PollFetches(ctx)
		require.NoError(t, ctx.Err())
		fs.EachRecord(func(r *kgo.Record) { got[r.Topic] = append(got[r.Topic], r) })
	}
	require.Eventually(t, func() bool { return p.Stats().Published == 2 && p.Stats().DeadLettered == 1 }, 10*time.Second, 10*time.Millisecond)
	stop()
	require.NoError(t, <-done)

	assert.Equal(t, "a-1", string(got["alerts.normalized"][0].Key))
	assert.Equal(t, "a-2", string(got["alerts.normalized"][1].Key))
	assert.Nil(t, got["alerts.raw.dlq"][0].Key)

	adm := kadm.NewClient(prod)
	offs, err := adm.FetchOffsets(ctx, DefaultGroup)
	require.NoError(t, err)
	o, ok := offs.Lookup("alerts.raw", 0)
	require.True(t, ok)
	assert.Equal(t, int64(3), o.At)
}
