package ctem

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNormaliseReader(t *testing.T) {
	opts := []Option{WithClock(func() time.Time { return t0 })}
	in := string(mustJSON(t, goldenART7)) + "\n" + `{"title":"broken"}` + "\n" + string(mustJSON(t, with(goldenART8, "tenant_id", "own")))
	b, err := NormaliseReader(ctx, "ART", "acme", strings.NewReader(in), opts)
	require.NoError(t, err)
	require.Len(t, b.Exposures, 2)
	assert.True(t, b.Failed())
	assert.Equal(t, "acme", b.Exposures[0].TenantID, "-tenant fills records without one")
	assert.Equal(t, "own", b.Exposures[1].TenantID, "a record's own tenant wins")

	var out bytes.Buffer
	require.NoError(t, b.WriteJSONLines(&out))
	sc := bufio.NewScanner(&out)
	var lines []Exposure
	for sc.Scan() {
		var e Exposure
		require.NoError(t, json.Unmarshal(sc.Bytes(), &e))
		lines = append(lines, e)
	}
	assert.Equal(t, b.Exposures, lines)
	var errs bytes.Buffer
	require.NoError(t, b.WriteErrors(&errs))
	assert.Equal(t, "error: record 1 (line 2): ctem: invalid finding: art: field \"model_id\": missing\n", errs.String())

	_, err = NormaliseReader(ctx, "burp", "", strings.NewReader("{}"), nil)
	assert.ErrorIs(t, err, ErrUnsupportedSource)
	_, err = NormaliseReader(ctx, "wiz", "", strings.NewReader("{}"), []Option{WithMaxFindingBytes(-1)})
	assert.ErrorIs(t, err, ErrInvalidConfig)
	b, err = NormaliseReader(ctx, "snyk", "", bytes.NewReader(readCorpus(t, "snyk_test_single_project_no_vulns.json")), nil)
	require.NoError(t, err)
	assert.False(t, b.Failed())
	assert.Empty(t, b.Exposures)
}
