package ctem

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/socwarden/warden/taxonomy"
)

func fullExposure() Exposure {
	return Exposure{
		ExposureKey: "e3529fe58931d30a", TS: t0, SourceTool: SourceSnyk, Title: "Prototype Pollution in lodash", Description: "d",
		Severity: SeverityMedium, OriginalSeverity: "HIGH", AssetID: "proj-001", AssetType: "npm", AssetZone: "Zone3_Enterprise",
		ExploitabilityScore: 0.8, PhysicalConsequence: ConsequenceDataLoss, CTEMScore: 2.4, AtlasTechnique: "AML.T0051",
		AttackTechnique: "CVE-2026-1234", ThreatModelRef: "TM-05", Status: StatusOpen, AssignedTo: "a",
		SLADeadline: t0.Add(336 * time.Hour), RemediationGuidance: "4.17.22", EvidenceURL: "https://snyk", TenantID: "t",
		CreatedAt: t0, UpdatedAt: t0,
	}
}

func storeImpls(t *testing.T) map[string]func() Store {
	return map[string]func() Store{
		"memory": func() Store { return NewMemoryStore() },
		"file": func() Store {
			fs, err := OpenFileStore(filepath.Join(t.TempDir(), "ctem.log"))
			require.NoError(t, err)
			t.Cleanup(func() { fs.Close() })
			return fs
		},
	}
}

// Checklist 63, 65, 66 and the Store contract, for both implementations.
func TestStoreContract(t *testing.T) {
	for name, mk := range storeImpls(t) {
		t.Run(name, func(t *testing.T) {
			st := mk()
			e := fullExposure()
			_, err := st.Get(ctx, "t", e.ExposureKey)
			assert.ErrorIs(t, err, ErrNotFound)
			got, err := st.Update(ctx, "t", e.ExposureKey, func(cur *Record, exists bool) error {
				assert.False(t, exists)
				assert.Equal(t, Record{}, *cur)
				cur.Exposure = e
				return nil
			})
			require.NoError(t, err)
			assert.Equal(t, e, got.Exposure)
			back, err := st.Get(ctx, "t", e.ExposureKey)
			require.NoError(t, err)
			assert.Equal(t, e, back.Exposure, "all 22 fields unchanged")
			assert.Equal(t, SeverityMedium, back.Exposure.Severity)

			// fn errors write nothing and come back unchanged.
			boom := errors.New("boom")
			_, err = st.Update(ctx, "t", e.ExposureKey, func(cur *Record, exists bool) error {
				assert.True(t, exists)
				cur.Exposure.Title = "changed"
				return boom
			})
			assert.Same(t, boom, err)
			back, _ = st.Get(ctx, "t", e.ExposureKey)
			assert.Equal(t, e.Title, back.Exposure.Title)

			// Deep copies: mutating a returned remediation does not reach the store.
			r, err := st.Update(ctx, "t", e.ExposureKey, func(cur *Record, _ bool) error {
				cur.Remediation = &Remediation{RemediationID: "rem-x", AssignedTo: "a"}
				return nil
			})
			require.NoError(t, err)
			r.Remediation.AssignedTo = "mallory"
			back, _ = st.Get(ctx, "t", e.ExposureKey)
			assert.Equal(t, "a", back.Remediation.AssignedTo)
			back.Remediation.AssignedTo = "mallory"
			again, _ := st.Get(ctx, "t", e.ExposureKey)
			assert.Equal(t, "a", again.Remediation.AssignedTo)

			// Same key in another tenant is another record.
			_, err = st.Get(ctx, "u", e.ExposureKey)
			assert.ErrorIs(t, err, ErrNotFound)

			// Checklist 67: open exposures by asset, highest score first.
			for i, sc := range []float64{1.5, 7.5, 7.5} {
				x := e
				x.ExposureKey = fmt.Sprintf("%016x", 100-i)
				x.CTEMScore = sc
				_, err := st.Update(ctx, "t", x.ExposureKey, func(cur *Record, _ bool) error { cur.Exposure = x; return nil })
				require.NoError(t, err)
			}
			closed := e
			closed.ExposureKey, closed.Status, closed.CTEMScore = "00000000000000ff", StatusVerified, 9.9
			_, err = st.Update(ctx, "t", closed.ExposureKey, func(cur *Record, _ bool) error { cur.Exposure = closed; return nil })
			require.NoError(t, err)
			open, err := st.OpenExposures(ctx, "t", "proj-001")
			require.NoError(t, err)
			var keys []string
			for _, o := range open {
				keys = append(keys, o.ExposureKey)
			}
			assert.Equal(t, []string{"0000000000000062", "0000000000000063", "e3529fe58931d30a", "0000000000000064"}, keys, "score desc, ties by key asc")
			none, err := st.OpenExposures(ctx, "t", "PROJ-001")
			require.NoError(t, err)
			assert.Nil(t, none, "exact asset match")
		})
	}
}

// DESIGN §7: a restarted process loses nothing accepted.
func TestFileStoreSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ctem.log")
	fs, err := OpenFileStore(path)
	require.NoError(t, err)
	s := newService(t, WithStore(fs))
	e, err := s.Ingest(ctx, SourceWiz, mustJSON(t, goldenWiz1))
	require.NoError(t, err)
	_, err = s.Assign(ctx, AssignRequest{TenantID: "tenant-A", ExposureKey: e.ExposureKey, Assignee: "bob", Actor: Actor{taxonomy.ActorHuman, "a"}})
	require.NoError(t, err)
	want, err := s.Get(ctx, "tenant-A", e.ExposureKey)
	require.NoError(t, err)
	require.NoError(t, fs.Close())
	_, err = fs.Get(ctx, "tenant-A", e.ExposureKey)
	assert.ErrorIs(t, err, ErrStoreClosed)

	// A crash mid-write leaves a torn last line: it is cut off on open.
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString(`{"tenant":"tenant-A","key":"8d53de1726fae8c3","record":{"expo`)
	require.NoError(t, err)
	require.NoError(t, f.Close())

	fs2, err := OpenFileStore(path)
	require.NoError(t, err)
	defer fs2.Close()
	got, err := fs2.Get(ctx, "tenant-A", e.ExposureKey)
	require.NoError(t, err)
	assert.Equal(t, want.Exposure.AssignedTo, got.Exposure.AssignedTo)
	assert.True(t, want.Exposure.TS.Equal(got.Exposure.TS))
	assert.Equal(t, want.Remediation.RemediationID, got.Remediation.RemediationID)
	// The service over the reopened store continues where it stopped.
	s2 := newService(t, WithStore(fs2))
	e2, err := s2.Ingest(ctx, SourceWiz, mustJSON(t, goldenWiz1))
	require.NoError(t, err)
	assert.Equal(t, "bob", e2.AssignedTo, "re-ingest after restart keeps remediation progress")
	require.NoError(t, fs2.Compact())
	got, err = fs2.Get(ctx, "tenant-A", e.ExposureKey)
	require.NoError(t, err)
	assert.Equal(t, "bob", got.Exposure.AssignedTo)
	require.NoError(t, fs2.Close())
	fs3, err := OpenFileStore(path)
	require.NoError(t, err)
	defer fs3.Close()
	got, err = fs3.Get(ctx, "tenant-A", e.ExposureKey)
	require.NoError(t, err)
	assert.Equal(t, "bob", got.Exposure.AssignedTo)
	lines, _ := os.ReadFile(path)
	assert.Equal(t, 1, countLines(lines), "compacted to one line per record")
}

func countLines(b []byte) int {
	n := 0
	for _, c := range b {
		if c == '\n' {
			n++
		}
	}
	return n
}

func TestFileStoreRejectsDamage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ctem.log")
	require.NoError(t, os.WriteFile(path, []byte("{bad line}\n{\"tenant\":\"t\",\"key\":\"k\",\"record\":{}}\n"), 0o600))
	_, err := OpenFileStore(path)
	require.Error(t, err, "damage before the end is not silently dropped")
	assert.Contains(t, err.Error(), "line 1")
}

func TestStoreConcurrency(t *testing.T) {
	for name, mk := range storeImpls(t) {
		t.Run(name, func(t *testing.T) {
			st := mk()
			var wg sync.WaitGroup
			for range 32 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for j := range 20 {
						key := fmt.Sprintf("%016x", j%4)
						_, err := st.Update(ctx, "t", key, func(cur *Record, exists bool) error {
							if !exists {
								cur.Exposure = fullExposure()
								cur.Exposure.ExposureKey = key
							}
							cur.Exposure.CTEMScore++
							return nil
						})
						assert.NoError(t, err)
						_, _ = st.Get(ctx, "t", key)
						_, _ = st.OpenExposures(ctx, "t", "proj-001")
					}
				}()
			}
			wg.Wait()
			total := 0.0
			for j := range 4 {
				r, err := st.Get(ctx, "t", fmt.Sprintf("%016x", j))
				require.NoError(t, err)
				total += r.Exposure.CTEMScore
			}
			assert.InDelta(t, 4*2.4+32*20, total, 1e-9, "no lost update")
		})
	}
}
