package evidence

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// MemoryObjects checks the stored hash on every read.
func TestMemoryObjectsDetectCorruption(t *testing.T) {
	ctx := context.Background()
	m := NewMemoryObjects()
	require.NoError(t, m.Put(ctx, "b", "k/x.json", []byte("content"), "aws:kms"))
	body, err := m.Get(ctx, "b", "k/x.json")
	require.NoError(t, err)
	body[0] = 'X' // the caller's copy: the store is unaffected
	o := m.objects["b/k/x.json"]
	assert.Equal(t, "content", string(o.body))
	o.body[0] = 'C' // storage corruption
	_, err = m.Get(ctx, "b", "k/x.json")
	assert.ErrorIs(t, err, ErrCorrupt)
}
