package atlas

import (
	"cmp"
	"context"
	"math"
	"slices"
	"strings"
	"sync"
	"time"
)

// Telemetry ports: one small interface per source, so a host with partial
// telemetry registers only the rules it can feed. The aggregation contract
// (spec §4.1) is what every implementation — SQL or memory — computes, over
// rows with ts in the window and, when set, of the window's tenant. Grouped
// results are sorted by group key; row results are in ts order.
type (
	DatabricksSource interface {
		DatabricksActivity(ctx context.Context, w Window, actions []string) ([]UserActivity, error)
	}
	NLQuerySource interface {
		NLQueryVolume(ctx context.Context, w Window) ([]QueryVolume, error)
		NLSafetyFilterHits(ctx context.Context, w Window) ([]NLQuery, error)
	}
	InferenceSource interface {
		InferenceStats(ctx context.Context, w Window) ([]InferenceStats, error)
	}
	PhysicsOracleSource interface {
		PhysicsOracleStats(ctx context.Context, w Window, timeoutMs float64) ([]OracleStats, error)
	}
	RegistrySource interface {
		UnapprovedPromotions(ctx context.Context, w Window) ([]ModelPromotion, error)
	}
	CICDSource interface {
		UntestedDependencyChanges(ctx context.Context, w Window) ([]DependencyChange, error)
	}
	APISource interface {
		APIAccessStats(ctx context.Context, w Window) ([]APIAccess, error)
	}
	InvestigationSource interface {
		InvestigationCount(ctx context.Context, w Window) (int, error)
	}
	OPCUASource interface {
		OPCUAReadings(ctx context.Context, w Window) ([]OPCUAReading, error)
		OPCUABaseline(ctx context.Context, w Window) ([]OPCUABaseline, error)
	}
	PartnerSource interface {
		PartnerActivity(ctx context.Context, w Window) ([]PartnerActivity, error)
		PartnerBaseline(ctx context.Context, w Window) ([]PartnerBaseline, error)
	}
	EdgeSource interface {
		EdgeNodeReadings(ctx context.Context, w Window) ([]EdgeNodeReading, error)
	}
	// TelemetryStore is every source at once.
	TelemetryStore interface {
		DatabricksSource
		NLQuerySource
		InferenceSource
		PhysicsOracleSource
		RegistrySource
		CICDSource
		APISource
		InvestigationSource
		OPCUASource
		PartnerSource
		EdgeSource
	}
)

// Telemetry rows (the reference's tables; JSON keys are the column names).
// An empty tenant_id is stored as "default", the table default.
type (
	InferenceLog struct {
		TS                 time.Time `json:"ts"`
		EdgeNodeID         string    `json:"edge_node_id"`
		ModelVersion       string    `json:"model_version"`
		InputHash          string    `json:"input_hash"`
		OutputHash         string    `json:"output_hash"`
		PhysicsCheckResult string    `json:"physics_check_result"`
		ConfidenceScore    float64   `json:"confidence_score"`
		InferenceLatencyMs float64   `json:"inference_latency_ms"`
		TenantID           string    `json:"tenant_id"`
	}
	PhysicsOracleCheck struct {
		TS           time.Time `json:"ts"`
		EdgeNodeID   string    `json:"edge_node_id"`
		ConstraintID string    `json:"constraint_id"`
		CheckResult  string    `json:"check_result"`
		LatencyMs    float64   `json:"latency_ms"`
		ErrorState   string    `json:"error_state"`
		InputHash    string    `json:"input_hash"`
		TenantID     string    `json:"tenant_id"`
	}
	NLQueryLog struct {
		TS                    time.Time `json:"ts"`
		UserID                string    `json:"user_id"`
		SessionID             string    `json:"session_id"`
		QueryText             string    `json:"query_text"`
		ResponseSummary       string    `json:"response_summary"`
		ToolCallsMade         int       `json:"tool_calls_made"`
		SafetyFilterTriggered bool      `json:"safety_filter_triggered"`
		TokenCount            int       `json:"token_count"`
		TenantID              string    `json:"tenant_id"`
	}
	APIAccessLog struct {
		TS                  time.Time `json:"ts"`
		CallerIP            string    `json:"caller_ip"`
		CallerIdentity      string    `json:"caller_identity"`
		Endpoint            string    `json:"endpoint"`
		Method              string    `json:"method"`
		ResponseCode        int       `json:"response_code"`
		RequestPayloadSize  int       `json:"request_payload_size"`
		ResponsePayloadSize int       `json:"response_payload_size"`
		TenantID            string    `json:"tenant_id"`
	}
	EdgeNodeTelemetry struct {
		TS                time.Time `json:"ts"`
		EdgeNodeID        string    `json:"edge_node_id"`
		ModelWeightHash   string    `json:"model_weight_hash"`
		DiskIntegrity     string    `json:"disk_integrity"`
		BootAttestation   string    `json:"boot_attestation"`
		ActiveConnections int       `json:"active_connections"`
		CPUUtilisation    float64   `json:"cpu_utilisation"`
		MemoryUtilisation float64   `json:"memory_utilisation"`
		TenantID          string    `json:"tenant_id"`
	}
	DatabricksAuditEvent struct {
		TS             time.Time `json:"ts"`
		UserID         string    `json:"user_id"`
		Action         string    `json:"action"`
		TargetResource string    `json:"target_resource"`
		SourceIP       string    `json:"source_ip"`
		WorkspaceID    string    `json:"workspace_id"`
		ClusterName    string    `json:"cluster_name"`
		TenantID       string    `json:"tenant_id"`
	}
	ModelRegistryEvent struct {
		TS           time.Time `json:"ts"`
		UserID       string    `json:"user_id"`
		Action       string    `json:"action"`
		ModelName    string    `json:"model_name"`
		ModelVersion string    `json:"model_version"`
		ModelHash    string    `json:"model_hash"`
		Stage        string    `json:"stage"`
		ApprovedBy   string    `json:"approved_by"`
		TenantID     string    `json:"tenant_id"`
	}
	CICDAuditEvent struct {
		TS                time.Time `json:"ts"`
		PipelineID        string    `json:"pipeline_id"`
		TriggerType       string    `json:"trigger_type"`
		CommitHash        string    `json:"commit_hash"`
		DependencyChanges string    `json:"dependency_changes"`
		TestsPassed       int       `json:"tests_passed"`
		TestsFailed       int       `json:"tests_failed"`
		Deployer          string    `json:"deployer"`
		TenantID          string    `json:"tenant_id"`
	}
	PartnerAPILog struct {
		TS           time.Time `json:"ts"`
		PartnerID    string    `json:"partner_id"`
		PartnerName  string    `json:"partner_name"`
		Direction    string    `json:"direction"`
		DataType     string    `json:"data_type"`
		PayloadSize  int       `json:"payload_size"`
		ResponseCode int       `json:"response_code"`
		// MTLSVerified nil means true, the table default.
		MTLSVerified *bool  `json:"mtls_verified"`
		TenantID     string `json:"tenant_id"`
	}
	OPCUATelemetry struct {
		TS                 time.Time `json:"ts"`
		EdgeNodeID         string    `json:"edge_node_id"`
		SensorCount        int       `json:"sensor_count"`
		DataPointsReceived int       `json:"data_points_received"`
		ConnectionState    string    `json:"connection_state"`
		AuthMethod         string    `json:"auth_method"`
		ProtocolViolations int       `json:"protocol_violations"`
		TenantID           string    `json:"tenant_id"`
	}
	InvestigationRecord struct {
		CreatedAt       time.Time `json:"created_at"`
		InvestigationID string    `json:"investigation_id"`
		TenantID        string    `json:"tenant_id"`
	}
)

// MemoryTelemetry is the in-memory TelemetryStore. It is safe for concurrent
// use: rows are appended under the write lock and aggregated under the read
// lock.
type MemoryTelemetry struct {
	mu             sync.RWMutex // guards every slice below
	inference      []InferenceLog
	oracle         []PhysicsOracleCheck
	nl             []NLQueryLog
	api            []APIAccessLog
	edge           []EdgeNodeTelemetry
	databricks     []DatabricksAuditEvent
	registry       []ModelRegistryEvent
	cicd           []CICDAuditEvent
	partner        []PartnerAPILog
	opcua          []OPCUATelemetry
	investigations []InvestigationRecord
}

var _ TelemetryStore = (*MemoryTelemetry)(nil)

// NewMemoryTelemetry returns an empty store.
func NewMemoryTelemetry() *MemoryTelemetry { return &MemoryTelemetry{} }

func tenantOrDefault(t string) string {
	if t == "" {
		return defaultTelemetryTenant
	}
	return t
}

// insertByTS keeps rows in ts order; equal timestamps keep insertion order.
func insertByTS[T any](rows []T, r T, ts func(T) time.Time) []T {
	i, _ := slices.BinarySearchFunc(rows, ts(r), func(e T, t time.Time) int {
		if ts(e).After(t) {
			return 1
		}
		return -1 // equal sorts before: the new row goes after its equals
	})
	return slices.Insert(rows, i, r)
}

// AddInferenceLog stores a row.
func (m *MemoryTelemetry) AddInferenceLog(r InferenceLog) {
	r.TenantID = tenantOrDefault(r.TenantID)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.inference = insertByTS(m.inference, r, func(x InferenceLog) time.Time { return x.TS })
}

// AddPhysicsOracleCheck stores a row.
func (m *MemoryTelemetry) AddPhysicsOracleCheck(r PhysicsOracleCheck) {
	r.TenantID = tenantOrDefault(r.TenantID)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.oracle = insertByTS(m.oracle, r, func(x PhysicsOracleCheck) time.Time { return x.TS })
}

// AddNLQueryLog stores a row.
func (m *MemoryTelemetry) AddNLQueryLog(r NLQueryLog) {
	r.TenantID = tenantOrDefault(r.TenantID)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.nl = insertByTS(m.nl, r, func(x NLQueryLog) time.Time { return x.TS })
}

// AddAPIAccessLog stores a row.
func (m *MemoryTelemetry) AddAPIAccessLog(r APIAccessLog) {
	r.TenantID = tenantOrDefault(r.TenantID)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.api = insertByTS(m.api, r, func(x APIAccessLog) time.Time { return x.TS })
}

// AddEdgeNodeTelemetry stores a row.
func (m *MemoryTelemetry) AddEdgeNodeTelemetry(r EdgeNodeTelemetry) {
	r.TenantID = tenantOrDefault(r.TenantID)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.edge = insertByTS(m.edge, r, func(x EdgeNodeTelemetry) time.Time { return x.TS })
}

// AddDatabricksAuditEvent stores a row.
func (m *MemoryTelemetry) AddDatabricksAuditEvent(r DatabricksAuditEvent) {
	r.TenantID = tenantOrDefault(r.TenantID)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.databricks = insertByTS(m.databricks, r, func(x DatabricksAuditEvent) time.Time { return x.TS })
}

// AddModelRegistryEvent stores a row.
func (m *MemoryTelemetry) AddModelRegistryEvent(r ModelRegistryEvent) {
	r.TenantID = tenantOrDefault(r.TenantID)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.registry = insertByTS(m.registry, r, func(x ModelRegistryEvent) time.Time { return x.TS })
}

// AddCICDAuditEvent stores a row.
func (m *MemoryTelemetry) AddCICDAuditEvent(r CICDAuditEvent) {
	r.TenantID = tenantOrDefault(r.TenantID)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cicd = insertByTS(m.cicd, r, func(x CICDAuditEvent) time.Time { return x.TS })
}

// AddPartnerAPILog stores a row.
func (m *MemoryTelemetry) AddPartnerAPILog(r PartnerAPILog) {
	r.TenantID = tenantOrDefault(r.TenantID)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.partner = insertByTS(m.partner, r, func(x PartnerAPILog) time.Time { return x.TS })
}

// AddOPCUATelemetry stores a row.
func (m *MemoryTelemetry) AddOPCUATelemetry(r OPCUATelemetry) {
	r.TenantID = tenantOrDefault(r.TenantID)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.opcua = insertByTS(m.opcua, r, func(x OPCUATelemetry) time.Time { return x.TS })
}

// AddInvestigationRecord stores a row.
func (m *MemoryTelemetry) AddInvestigationRecord(r InvestigationRecord) {
	r.TenantID = tenantOrDefault(r.TenantID)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.investigations = insertByTS(m.investigations, r, func(x InvestigationRecord) time.Time { return x.CreatedAt })
}

// Prune drops every row older than before.
func (m *MemoryTelemetry) Prune(before time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.inference = pruneRows(m.inference, before, func(x InferenceLog) time.Time { return x.TS })
	m.oracle = pruneRows(m.oracle, before, func(x PhysicsOracleCheck) time.Time { return x.TS })
	m.nl = pruneRows(m.nl, before, func(x NLQueryLog) time.Time { return x.TS })
	m.api = pruneRows(m.api, before, func(x APIAccessLog) time.Time { return x.TS })
	m.edge = pruneRows(m.edge, before, func(x EdgeNodeTelemetry) time.Time { return x.TS })
	m.databricks = pruneRows(m.databricks, before, func(x DatabricksAuditEvent) time.Time { return x.TS })
	m.registry = pruneRows(m.registry, before, func(x ModelRegistryEvent) time.Time { return x.TS })
	m.cicd = pruneRows(m.cicd, before, func(x CICDAuditEvent) time.Time { return x.TS })
	m.partner = pruneRows(m.partner, before, func(x PartnerAPILog) time.Time { return x.TS })
	m.opcua = pruneRows(m.opcua, before, func(x OPCUATelemetry) time.Time { return x.TS })
	m.investigations = pruneRows(m.investigations, before, func(x InvestigationRecord) time.Time { return x.CreatedAt })
}

func pruneRows[T any](rows []T, before time.Time, ts func(T) time.Time) []T {
	return slices.DeleteFunc(rows, func(r T) bool { return ts(r).Before(before) })
}

// inWindow returns the rows of w. Rows are kept in ts order, so the window
// is found by binary search; without a tenant filter the result is a view of
// the stored slice (callers hold the read lock and must not modify it),
// otherwise a filtered copy.
func inWindow[T any](rows []T, w Window, ts func(T) time.Time, tenant func(T) string) []T {
	lo, _ := slices.BinarySearchFunc(rows, w.From, func(r T, t time.Time) int {
		if ts(r).Before(t) {
			return -1
		}
		return 1
	})
	hi, _ := slices.BinarySearchFunc(rows, w.To, func(r T, t time.Time) int {
		if ts(r).Before(t) {
			return -1
		}
		return 1
	})
	if hi <= lo {
		return nil
	}
	view := rows[lo:hi:hi]
	if w.TenantID == "" {
		return view
	}
	var out []T
	for _, r := range view {
		if tenant(r) == w.TenantID {
			out = append(out, r)
		}
	}
	return out
}

// group collects rows by key, returning keys sorted ascending.
func group[T any](rows []T, key func(T) string) ([]string, map[string][]T) {
	m := map[string][]T{}
	for _, r := range rows {
		k := key(r)
		m[k] = append(m[k], r)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys, m
}

// meanStd returns the mean and the sample standard deviation (n−1; 0 when
// n < 2).
func meanStd(xs []float64) (mean, std float64) {
	if len(xs) == 0 {
		return 0, 0
	}
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	if len(xs) < 2 {
		return mean, 0
	}
	var ss float64
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss / float64(len(xs)-1))
}

// median is the continuous 50th percentile.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func distinctNonEmpty(vals []string) int {
	set := map[string]struct{}{}
	for _, v := range vals {
		if v != "" {
			set[v] = struct{}{}
		}
	}
	return len(set)
}

func eq(a, b string) bool { return strings.EqualFold(strings.TrimSpace(a), b) }

// DatabricksActivity implements DatabricksSource.
func (m *MemoryTelemetry) DatabricksActivity(ctx context.Context, w Window, actions []string) ([]UserActivity, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	rows := inWindow(m.databricks, w, func(r DatabricksAuditEvent) time.Time { return r.TS }, func(r DatabricksAuditEvent) string { return r.TenantID })
	var matching []DatabricksAuditEvent // rows is a view of the store: filter into a new slice
	for _, r := range rows {
		if slices.Contains(actions, r.Action) {
			matching = append(matching, r)
		}
	}
	keys, g := group(matching, func(r DatabricksAuditEvent) string { return r.UserID })
	out := make([]UserActivity, 0, len(keys))
	for _, k := range keys {
		var res []string
		for _, r := range g[k] {
			res = append(res, r.TargetResource)
		}
		out = append(out, UserActivity{UserID: k, Count: len(g[k]), DistinctResources: distinctNonEmpty(res)})
	}
	return out, nil
}

// NLQueryVolume implements NLQuerySource.
func (m *MemoryTelemetry) NLQueryVolume(ctx context.Context, w Window) ([]QueryVolume, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	rows := inWindow(m.nl, w, func(r NLQueryLog) time.Time { return r.TS }, func(r NLQueryLog) string { return r.TenantID })
	keys, g := group(rows, func(r NLQueryLog) string { return r.UserID })
	out := make([]QueryVolume, 0, len(keys))
	for _, k := range keys {
		tokens := make([]float64, len(g[k]))
		for i, r := range g[k] {
			tokens[i] = float64(r.TokenCount)
		}
		out = append(out, QueryVolume{UserID: k, QueryCount: len(g[k]), MedianTokens: median(tokens)})
	}
	return out, nil
}

// NLSafetyFilterHits implements NLQuerySource.
func (m *MemoryTelemetry) NLSafetyFilterHits(ctx context.Context, w Window) ([]NLQuery, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	rows := inWindow(m.nl, w, func(r NLQueryLog) time.Time { return r.TS }, func(r NLQueryLog) string { return r.TenantID })
	var out []NLQuery
	for _, r := range rows {
		if r.SafetyFilterTriggered {
			out = append(out, NLQuery{UserID: r.UserID, SessionID: r.SessionID, QueryText: r.QueryText})
		}
	}
	return out, nil
}

// InferenceStats implements InferenceSource.
func (m *MemoryTelemetry) InferenceStats(ctx context.Context, w Window) ([]InferenceStats, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	rows := inWindow(m.inference, w, func(r InferenceLog) time.Time { return r.TS }, func(r InferenceLog) string { return r.TenantID })
	keys, g := group(rows, func(r InferenceLog) string { return r.EdgeNodeID })
	out := make([]InferenceStats, 0, len(keys))
	for _, k := range keys {
		rs := g[k]
		conf := make([]float64, len(rs))
		lat := make([]float64, len(rs))
		fails := 0
		for i, r := range rs {
			conf[i], lat[i] = r.ConfidenceScore, r.InferenceLatencyMs
			if eq(r.PhysicsCheckResult, "fail") {
				fails++
			}
		}
		mc, sc := meanStd(conf)
		ml, _ := meanStd(lat)
		out = append(out, InferenceStats{EdgeNodeID: k, Count: len(rs), AvgConfidence: mc, StddevConfidence: sc,
			AvgLatencyMs: ml, FailRate: float64(fails) / float64(len(rs))})
	}
	return out, nil
}

// PhysicsOracleStats implements PhysicsOracleSource.
func (m *MemoryTelemetry) PhysicsOracleStats(ctx context.Context, w Window, timeoutMs float64) ([]OracleStats, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	rows := inWindow(m.oracle, w, func(r PhysicsOracleCheck) time.Time { return r.TS }, func(r PhysicsOracleCheck) string { return r.TenantID })
	keys, g := group(rows, func(r PhysicsOracleCheck) string { return r.EdgeNodeID })
	out := make([]OracleStats, 0, len(keys))
	for _, k := range keys {
		s := OracleStats{EdgeNodeID: k, TotalChecks: len(g[k])}
		fails := 0
		for i, r := range g[k] {
			if es := strings.TrimSpace(r.ErrorState); es != "" && !strings.EqualFold(es, "none") {
				s.ErrorCount++
			}
			if r.LatencyMs > timeoutMs {
				s.TimeoutCount++
			}
			if eq(r.CheckResult, "fail") {
				fails++
			}
			if i == 0 || r.LatencyMs > s.MaxLatencyMs {
				s.MaxLatencyMs = r.LatencyMs
			}
		}
		s.FailRate = float64(fails) / float64(s.TotalChecks)
		out = append(out, s)
	}
	return out, nil
}

// UnapprovedPromotions implements RegistrySource.
func (m *MemoryTelemetry) UnapprovedPromotions(ctx context.Context, w Window) ([]ModelPromotion, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	rows := inWindow(m.registry, w, func(r ModelRegistryEvent) time.Time { return r.TS }, func(r ModelRegistryEvent) string { return r.TenantID })
	var out []ModelPromotion
	for _, r := range rows {
		if eq(r.Action, "stage_transition") && eq(r.Stage, "production") && strings.TrimSpace(r.ApprovedBy) == "" {
			out = append(out, ModelPromotion{UserID: r.UserID, ModelName: r.ModelName, ModelVersion: r.ModelVersion, Stage: r.Stage, ApprovedBy: r.ApprovedBy})
		}
	}
	return out, nil
}

// UntestedDependencyChanges implements CICDSource.
func (m *MemoryTelemetry) UntestedDependencyChanges(ctx context.Context, w Window) ([]DependencyChange, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	rows := inWindow(m.cicd, w, func(r CICDAuditEvent) time.Time { return r.TS }, func(r CICDAuditEvent) string { return r.TenantID })
	var out []DependencyChange
	for _, r := range rows {
		if r.DependencyChanges != "" && r.TestsPassed == 0 {
			out = append(out, DependencyChange{PipelineID: r.PipelineID, CommitHash: r.CommitHash, DependencyChanges: r.DependencyChanges, Deployer: r.Deployer})
		}
	}
	return out, nil
}

// APIAccessStats implements APISource. After hours means UTC hour < 6 or
// > 22 (the reference's code; its documents disagree).
func (m *MemoryTelemetry) APIAccessStats(ctx context.Context, w Window) ([]APIAccess, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	rows := inWindow(m.api, w, func(r APIAccessLog) time.Time { return r.TS }, func(r APIAccessLog) string { return r.TenantID })
	keys, g := group(rows, func(r APIAccessLog) string { return r.CallerIdentity })
	out := make([]APIAccess, 0, len(keys))
	for _, k := range keys {
		a := APIAccess{CallerIdentity: k, Count: len(g[k])}
		var eps []string
		for _, r := range g[k] {
			eps = append(eps, r.Endpoint)
			if h := r.TS.UTC().Hour(); h < 6 || h > 22 {
				a.AfterHours++
			}
		}
		a.DistinctEndpoints = distinctNonEmpty(eps)
		out = append(out, a)
	}
	return out, nil
}

// InvestigationCount implements InvestigationSource.
func (m *MemoryTelemetry) InvestigationCount(ctx context.Context, w Window) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(inWindow(m.investigations, w, func(r InvestigationRecord) time.Time { return r.CreatedAt }, func(r InvestigationRecord) string { return r.TenantID })), nil
}

// OPCUAReadings implements OPCUASource.
func (m *MemoryTelemetry) OPCUAReadings(ctx context.Context, w Window) ([]OPCUAReading, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	rows := inWindow(m.opcua, w, func(r OPCUATelemetry) time.Time { return r.TS }, func(r OPCUATelemetry) string { return r.TenantID })
	out := make([]OPCUAReading, 0, len(rows))
	for _, r := range rows {
		out = append(out, OPCUAReading{EdgeNodeID: r.EdgeNodeID, SensorCount: r.SensorCount, DataPointsReceived: r.DataPointsReceived,
			ProtocolViolations: r.ProtocolViolations, ConnectionState: r.ConnectionState})
	}
	return out, nil
}

// OPCUABaseline implements OPCUASource.
func (m *MemoryTelemetry) OPCUABaseline(ctx context.Context, w Window) ([]OPCUABaseline, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	rows := inWindow(m.opcua, w, func(r OPCUATelemetry) time.Time { return r.TS }, func(r OPCUATelemetry) string { return r.TenantID })
	keys, g := group(rows, func(r OPCUATelemetry) string { return r.EdgeNodeID })
	out := make([]OPCUABaseline, 0, len(keys))
	for _, k := range keys {
		pts := make([]float64, len(g[k]))
		sensors := make([]float64, len(g[k]))
		for i, r := range g[k] {
			pts[i], sensors[i] = float64(r.DataPointsReceived), float64(r.SensorCount)
		}
		mp, sp := meanStd(pts)
		ms, _ := meanStd(sensors)
		out = append(out, OPCUABaseline{EdgeNodeID: k, AvgDataPoints: mp, StddevDataPoints: sp, AvgSensorCount: ms})
	}
	return out, nil
}

// PartnerActivity implements PartnerSource.
func (m *MemoryTelemetry) PartnerActivity(ctx context.Context, w Window) ([]PartnerActivity, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	rows := inWindow(m.partner, w, func(r PartnerAPILog) time.Time { return r.TS }, func(r PartnerAPILog) string { return r.TenantID })
	type pk struct{ id, name string }
	groups := map[pk][]PartnerAPILog{}
	for _, r := range rows {
		k := pk{r.PartnerID, r.PartnerName}
		groups[k] = append(groups[k], r)
	}
	keys := make([]pk, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b pk) int {
		if c := cmp.Compare(a.id, b.id); c != 0 {
			return c
		}
		return cmp.Compare(a.name, b.name)
	})
	out := make([]PartnerActivity, 0, len(keys))
	for _, k := range keys {
		a := PartnerActivity{PartnerID: k.id, PartnerName: k.name, CallCount: len(groups[k])}
		sizes := make([]float64, len(groups[k]))
		for i, r := range groups[k] {
			sizes[i] = float64(r.PayloadSize)
			if r.MTLSVerified != nil && !*r.MTLSVerified {
				a.MTLSFailures++
			}
		}
		a.AvgPayload, _ = meanStd(sizes)
		out = append(out, a)
	}
	return out, nil
}

// PartnerBaseline implements PartnerSource.
func (m *MemoryTelemetry) PartnerBaseline(ctx context.Context, w Window) ([]PartnerBaseline, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	rows := inWindow(m.partner, w, func(r PartnerAPILog) time.Time { return r.TS }, func(r PartnerAPILog) string { return r.TenantID })
	keys, g := group(rows, func(r PartnerAPILog) string { return r.PartnerID })
	out := make([]PartnerBaseline, 0, len(keys))
	for _, k := range keys {
		sizes := make([]float64, len(g[k]))
		for i, r := range g[k] {
			sizes[i] = float64(r.PayloadSize)
		}
		mean, std := meanStd(sizes)
		out = append(out, PartnerBaseline{PartnerID: k, CallCount: len(g[k]), AvgPayload: mean, StddevPayload: std})
	}
	return out, nil
}

// EdgeNodeReadings implements EdgeSource.
func (m *MemoryTelemetry) EdgeNodeReadings(ctx context.Context, w Window) ([]EdgeNodeReading, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	rows := inWindow(m.edge, w, func(r EdgeNodeTelemetry) time.Time { return r.TS }, func(r EdgeNodeTelemetry) string { return r.TenantID })
	out := make([]EdgeNodeReading, 0, len(rows))
	for _, r := range rows {
		out = append(out, EdgeNodeReading{EdgeNodeID: r.EdgeNodeID, BootAttestation: r.BootAttestation, ModelWeightHash: r.ModelWeightHash,
			DiskIntegrity: r.DiskIntegrity, CPUUtilisation: r.CPUUtilisation, MemoryUtilisation: r.MemoryUtilisation})
	}
	return out, nil
}
