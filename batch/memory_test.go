package batch

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMemoryBatchAPI(t *testing.T) {
	api := NewMemoryBatchAPI(func(_ context.Context, r Request) (string, Usage, error) {
		switch r.CustomID {
		case "err":
			return "", Usage{}, errBoom
		case "panic":
			panic("respond bug")
		}
		return "answer " + r.CustomID, Usage{InputTokens: 3, OutputTokens: 4}, nil
	})
	id, err := api.Create(bg, []Request{{CustomID: "a"}, {CustomID: "err"}, {CustomID: "panic"}})
	require.NoError(t, err)
	_, err = api.Results(bg, id)
	require.Error(t, err, "results only after the batch ended")
	st, err := api.Retrieve(bg, id)
	require.NoError(t, err)
	assert.Equal(t, ProcessingEnded, st)
	rs, err := api.Results(bg, id)
	require.NoError(t, err)
	require.Len(t, rs, 3)
	assert.Equal(t, RawResult{CustomID: "a", Type: RawSucceeded, TextBlocks: []string{"answer a"}, InputTokens: 3, OutputTokens: 4}, rs[0])
	assert.Equal(t, RawResult{CustomID: "err", Type: RawErrored, ErrorMessage: "boom"}, rs[1])
	assert.Equal(t, RawErrored, rs[2].Type)
	assert.Len(t, api.Requests(id), 3)
	assert.Equal(t, 1, api.Batches())
	_, err = api.Retrieve(bg, "nope")
	require.Error(t, err)
	_, err = api.Results(bg, "nope")
	require.Error(t, err)
	_, err = NewMemoryBatchAPI(nil).Create(bg, []Request{{CustomID: "a"}})
	require.Error(t, err)
}

func TestStaticInvestigationsWindow(t *testing.T) {
	rows := []ClosedInvestigation{{InvestigationID: "from", UpdatedAt: t0}, {InvestigationID: "to", UpdatedAt: t0.Add(time.Hour)},
		{InvestigationID: "mid", UpdatedAt: t0.Add(time.Minute)}}
	got, err := StaticInvestigations(rows).ClosedInvestigations(bg, t0, t0.Add(time.Hour))
	require.NoError(t, err)
	assert.Len(t, got, 2, "[from, to)")
	assert.Equal(t, "from", got[0].InvestigationID)
	assert.Equal(t, "mid", got[1].InvestigationID)
}

func TestMemoryDraftStoreAndPublisher(t *testing.T) {
	s := NewMemoryDraftStore()
	created, err := s.SaveDraft(bg, PlaybookDraft{PlaybookID: "p", Name: "a", Tactics: []string{"x"}})
	require.NoError(t, err)
	assert.True(t, created)
	created, _ = s.SaveDraft(bg, PlaybookDraft{PlaybookID: "p", Name: "b"})
	assert.False(t, created)
	ds := s.Drafts()
	require.Len(t, ds, 1)
	assert.Equal(t, "a", ds[0].Name, "an existing draft is left unchanged")
	ds[0].Tactics[0] = "changed"
	assert.Equal(t, "x", s.Drafts()[0].Tactics[0], "copies are handed out")
	_, err = s.SaveDraft(bg, PlaybookDraft{})
	require.ErrorIs(t, err, ErrInvalidArgument)

	pub := NewMemoryPublisher()
	v := []byte("v")
	require.NoError(t, pub.Publish(bg, "t1", "k", v))
	require.NoError(t, pub.Publish(bg, "t2", "k", v))
	v[0] = 'x'
	assert.Len(t, pub.Messages(""), 2)
	msgs := pub.Messages("t1")
	require.Len(t, msgs, 1)
	assert.Equal(t, []byte("v"), msgs[0].Value)
}

func TestMemoryVectorStore(t *testing.T) {
	s := NewMemoryVectorStore()
	require.NoError(t, s.UpsertPoint(bg, "c", Point{ID: "b", Payload: map[string]any{PayloadEmbeddingModelID: "m"}}))
	require.NoError(t, s.UpsertPoint(bg, "c", Point{ID: "a", Payload: map[string]any{PayloadEmbeddingModelID: "m"}}))
	require.NoError(t, s.UpsertPoint(bg, "c", Point{ID: "c", Payload: map[string]any{PayloadEmbeddingModelID: "other"}}))
	ps, err := s.PointsByModel(bg, "c", "m", "")
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b"}, []string{ps[0].ID, ps[1].ID})
	ps, _ = s.PointsByModel(bg, "c", "m", "a")
	require.Len(t, ps, 1)
	assert.Equal(t, "b", ps[0].ID)
	require.ErrorIs(t, s.UpsertPoint(bg, "c", Point{}), ErrInvalidArgument)
	assert.Len(t, s.Points("c"), 3)
}
