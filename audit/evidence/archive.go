package evidence

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/audit/canonical"
	"github.com/socwarden/warden/audit/chain"
)

// Retention tiers (spec §3.8): hot = Kafka audit.events, 90 days; warm =
// the host's store in monthly partitions, 12 months; cold = object storage
// under cold/YYYY-MM/, 7 years.
const (
	HotRetention          = 90 * 24 * time.Hour
	WarmRetentionMonths   = 12
	ColdRetentionDays     = 2555
	ColdArchiveAfterDays  = 365
	ColdDeepArchiveAfter  = 730
	ExportLagMonths       = 2
	ExportBufferMonths    = 1
	ColdArchiveObjectName = "audit_records.jsonl"
)

// CanDrop reasons, matched with errors.Is.
var (
	ErrNotVerified  = errors.New("evidence: the partition's cold export is not verified")
	ErrInBuffer     = errors.New("evidence: the partition is inside the retention buffer")
	ErrLegalHold    = errors.New("evidence: the partition holds data under legal hold")
	ErrBadPartition = errors.New("evidence: not a partition name audit_records_YYYY_MM")
)

func monthStart(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// ExportMonth is the month to export at now: the first day of the month two
// months before (Feb 2026 → Dec 2025).
func ExportMonth(now time.Time) time.Time {
	return monthStart(now).AddDate(0, -ExportLagMonths, 0)
}

// PartitionName is the warm partition of t's month: audit_records_YYYY_MM.
func PartitionName(t time.Time) string {
	t = t.UTC()
	return fmt.Sprintf("audit_records_%04d_%02d", t.Year(), int(t.Month()))
}

// ParsePartitionName returns the first day of a partition's month.
func ParsePartitionName(name string) (time.Time, error) {
	const prefix = "audit_records_"
	bad := fmt.Errorf("%w: %q", ErrBadPartition, name)
	if len(name) != len(prefix)+7 || name[:len(prefix)] != prefix || name[len(prefix)+4] != '_' {
		return time.Time{}, bad
	}
	digits := func(s string) (int, bool) {
		for _, c := range s {
			if c < '0' || c > '9' {
				return 0, false
			}
		}
		n, err := strconv.Atoi(s)
		return n, err == nil
	}
	y, ok1 := digits(name[len(prefix) : len(prefix)+4])
	m, ok2 := digits(name[len(prefix)+5:])
	if !ok1 || !ok2 || m < 1 || m > 12 {
		return time.Time{}, bad
	}
	return time.Date(y, time.Month(m), 1, 0, 0, 0, 0, time.UTC), nil
}

// CanDrop says whether a warm partition may be dropped at now: only if its
// cold export was verified, its month is before the month preceding now's
// (the buffer: in March, February is kept and January may go), and the
// host reports no tenant of it under legal hold. The error names the first
// reason against.
func CanDrop(partition string, now time.Time, exportVerified, legalHold bool) error {
	month, err := ParsePartitionName(partition)
	if err != nil {
		return err
	}
	if !exportVerified {
		return fmt.Errorf("%w: %s", ErrNotVerified, partition)
	}
	cutoff := monthStart(now).AddDate(0, -ExportBufferMonths, 0)
	if !month.Before(cutoff) {
		return fmt.Errorf("%w: %s is not before %s", ErrInBuffer, partition, PartitionName(cutoff))
	}
	if legalHold {
		return fmt.Errorf("%w: %s", ErrLegalHold, partition)
	}
	return nil
}

// ExportResult is the outcome of ExportCold.
type ExportResult struct {
	ExportedCount int      `json:"exported_count"`
	PartitionName string   `json:"partition_name"`
	URI           string   `json:"uri,omitempty"`
	FileHash      string   `json:"file_hash,omitempty"`
	ChainErrors   []string `json:"chain_errors"`
	// Verified is true only if every tenant's chain segment verified and the
	// uploaded archive re-hashed correctly (or the month was empty).
	Verified bool   `json:"verified"`
	Skipped  string `json:"skipped,omitempty"`
	Error    string `json:"error,omitempty"`
}

type exportConfig struct {
	sse        string
	page       int
	verifyOpts []chain.VerifyOption
}

// ExportOption configures ExportCold.
type ExportOption func(*exportConfig)

// WithExportSSE sets the server-side encryption of the archive. This
// overrides the default of "aws:kms".
func WithExportSSE(sse string) ExportOption { return func(c *exportConfig) { c.sse = sse } }

// WithExportVerifyOptions passes options to the chain verification.
func WithExportVerifyOptions(opts ...chain.VerifyOption) ExportOption {
	return func(c *exportConfig) { c.verifyOpts = append(c.verifyOpts, opts...) }
}

// ColdKey is the archive's object key for month: cold/YYYY-MM/audit_records.jsonl.
func ColdKey(month time.Time) string {
	month = month.UTC()
	return fmt.Sprintf("cold/%04d-%02d/%s", month.Year(), int(month.Month()), ColdArchiveObjectName)
}

// ExportCold writes the cold archive of month (any time in it): every
// record of every tenant whose timestamp falls in the month (half-open,
// UTC), ordered by tenant and sequence, as canonical JSON lines to
// cold/YYYY-MM/audit_records.jsonl, with a .sha256 sidecar holding the
// file's hex SHA-256. Each tenant's chain segment from its smallest to its
// largest selected sequence is verified first; the archive is uploaded even
// if that fails (the evidence is kept) and then downloaded and re-hashed.
// A failed upload is reported in the result (Error, Verified false); the
// returned error is for store reads and ctx only.
func ExportCold(ctx context.Context, src chain.Store, objects ObjectStore, bucket string, month time.Time, opts ...ExportOption) (ExportResult, error) {
	cfg := exportConfig{sse: DefaultSSE, page: chain.DefaultPageSize}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	from := monthStart(month)
	to := from.AddDate(0, 1, 0)
	res := ExportResult{PartitionName: PartitionName(from), ChainErrors: []string{}}
	if src == nil || objects == nil {
		return res, fmt.Errorf("%w: nil store", ErrInvalidConfig)
	}
	if err := checkSegment("bucket", bucket); err != nil {
		return res, err
	}
	tenants, err := src.Tenants(ctx)
	if err != nil {
		return res, fmt.Errorf("evidence: listing tenants: %w", err)
	}
	var file bytes.Buffer
	for _, tenant := range tenants {
		lo, hi, n, err := selectMonth(ctx, src, tenant, from, to, cfg.page, &file)
		if err != nil {
			return res, err
		}
		if n == 0 {
			continue
		}
		res.ExportedCount += n
		segment, err := src.Range(ctx, tenant, lo, hi)
		if err != nil {
			return res, fmt.Errorf("evidence: reading %s: %w", tenant, err)
		}
		if vr := chain.Verify(segment, cfg.verifyOpts...); !vr.Valid {
			for _, e := range vr.Errors {
				res.ChainErrors = append(res.ChainErrors, tenant+": "+e.Error())
			}
		}
	}
	if res.ExportedCount == 0 {
		res.Skipped, res.Verified = "no_records", true
		return res, nil
	}
	key := ColdKey(from)
	h := sha256.Sum256(file.Bytes())
	res.FileHash = hex.EncodeToString(h[:])
	res.URI = "s3://" + bucket + "/" + key
	if err := objects.Put(ctx, bucket, key, file.Bytes(), cfg.sse); err != nil {
		res.Error = "upload failed: " + err.Error()
		return res, nil
	}
	if err := objects.Put(ctx, bucket, key+".sha256", []byte(res.FileHash), cfg.sse); err != nil {
		res.Error = "sidecar upload failed: " + err.Error()
		return res, nil
	}
	back, err := objects.Get(ctx, bucket, key)
	if err != nil {
		res.Error = "re-download failed: " + err.Error()
		return res, nil
	}
	bh := sha256.Sum256(back)
	rehashed := hex.EncodeToString(bh[:]) == res.FileHash
	if !rehashed {
		res.Error = "re-downloaded archive does not match its hash"
	}
	res.Verified = rehashed && len(res.ChainErrors) == 0
	return res, nil
}

// selectMonth appends the tenant's records in [from, to) to file, reading
// the chain page by page, and returns their sequence range and count.
func selectMonth(ctx context.Context, src chain.Store, tenant string, from, to time.Time, page int, file *bytes.Buffer) (lo, hi int64, n int, err error) {
	for start := int64(0); ; start += int64(page) {
		recs, err := src.Range(ctx, tenant, start, start+int64(page)-1)
		if err != nil {
			return 0, 0, 0, fmt.Errorf("evidence: reading %s: %w", tenant, err)
		}
		for _, r := range recs {
			ts, _ := r["timestamp"].(string)
			t, perr := audit.ParseTimestamp(ts)
			if perr != nil || t.Before(from) || !t.Before(to) {
				continue
			}
			seq, ok := seqOf(r)
			if !ok {
				continue
			}
			b, merr := canonical.Marshal(r)
			if merr != nil {
				return 0, 0, 0, fmt.Errorf("evidence: encoding %s seq %d: %w", tenant, seq, merr)
			}
			file.Write(b)
			file.WriteByte('\n')
			if n == 0 || seq < lo {
				lo = seq
			}
			if n == 0 || seq > hi {
				hi = seq
			}
			n++
		}
		if len(recs) < page {
			return lo, hi, n, nil
		}
	}
}
