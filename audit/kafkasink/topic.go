package kafkasink

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// Topic defaults of EnsureTopic.
const (
	DefaultPartitions        = 4
	DefaultRetention         = 90 * 24 * time.Hour // 7,776,000,000 ms
	DefaultReplicationFactor = -1                  // the broker's default
)

type topicConfig struct {
	name       string
	partitions int32
	replicas   int16
	retention  time.Duration // <0: keep forever (retention.ms=-1)
	errs       []error
}

// TopicOption configures EnsureTopic.
type TopicOption func(*topicConfig)

// WithTopicName sets the topic to create. This overrides the default of
// "audit.events".
func WithTopicName(name string) TopicOption {
	return func(c *topicConfig) {
		if name == "" {
			c.errs = append(c.errs, fmt.Errorf("%w: empty topic", ErrInvalidConfig))
		}
		c.name = name
	}
}

// WithPartitions sets the partition count. This overrides the default of 4;
// producers of every language must agree on it, since it decides where a
// tenant's records go.
func WithPartitions(n int32) TopicOption {
	return func(c *topicConfig) {
		if n <= 0 {
			c.errs = append(c.errs, fmt.Errorf("%w: partitions %d", ErrInvalidConfig, n))
		}
		c.partitions = n
	}
}

// WithReplicationFactor sets the replication factor. This overrides the
// default of -1 (the broker's default).
func WithReplicationFactor(n int16) TopicOption {
	return func(c *topicConfig) {
		if n == 0 || n < -1 {
			c.errs = append(c.errs, fmt.Errorf("%w: replication factor %d", ErrInvalidConfig, n))
		}
		c.replicas = n
	}
}

// WithRetention sets retention.ms; a negative duration keeps records forever
// (what audit.records uses). This overrides the default of 90 days.
func WithRetention(d time.Duration) TopicOption {
	return func(c *topicConfig) {
		if d == 0 {
			c.errs = append(c.errs, fmt.Errorf("%w: zero retention", ErrInvalidConfig))
		}
		c.retention = d
	}
}

// EnsureTopic creates the audit topic if it does not exist: 4 partitions,
// retention.ms of 90 days and cleanup.policy=delete — never compaction,
// which would drop all but the last record of each tenant. An existing
// topic is left alone and nil is returned.
func EnsureTopic(ctx context.Context, adm *kadm.Client, opts ...TopicOption) error {
	c := topicConfig{name: DefaultTopic, partitions: DefaultPartitions,
		replicas: DefaultReplicationFactor, retention: DefaultRetention}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	if adm == nil {
		c.errs = append(c.errs, fmt.Errorf("%w: nil admin client", ErrInvalidConfig))
	}
	if err := errors.Join(c.errs...); err != nil {
		return err
	}
	retention := "-1"
	if c.retention > 0 {
		retention = strconv.FormatInt(c.retention.Milliseconds(), 10)
	}
	policy := "delete"
	_, err := adm.CreateTopic(ctx, c.partitions, c.replicas, map[string]*string{
		"retention.ms":   &retention,
		"cleanup.policy": &policy,
	}, c.name)
	if errors.Is(err, kerr.TopicAlreadyExists) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("kafkasink: creating topic %q: %w", c.name, err)
	}
	return nil
}
