package main

import (
	"bufio"
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/audit/canonical"
	"github.com/socwarden/warden/taxonomy"
)

// The quickstart prints one canonical JSON line per valid event, covering
// every category, and its Stats count the one invalid event.
func TestQuickstartOutput(t *testing.T) {
	var out, errOut bytes.Buffer
	require.NoError(t, run(&out, &errOut))
	categories := map[taxonomy.Category]bool{}
	sc := bufio.NewScanner(&out)
	lines := 0
	for sc.Scan() {
		lines++
		c, err := canonical.Canonicalize(sc.Bytes())
		require.NoError(t, err)
		assert.Equal(t, string(c), sc.Text())
		r, err := audit.DecodeRecord(sc.Bytes())
		require.NoError(t, err)
		assert.Equal(t, r.EventType.Category(), r.EventCategory)
		categories[r.EventCategory] = true
	}
	assert.Equal(t, 6, lines)
	for _, c := range taxonomy.Categories() {
		assert.True(t, categories[c], "category %s", c)
	}
	assert.True(t, strings.Contains(errOut.String(), "emitted=6 delivered=6 invalid=1 dropped=0 failed=0"), errOut.String())
}
