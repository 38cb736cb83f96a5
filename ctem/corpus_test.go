package ctem

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func readCorpus(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "corpus", name))
	require.NoError(t, err)
	return b
}

type corpusCase struct {
	src                      Source
	format                   Format
	exposures, errors, skips int
	check                    func(t *testing.T, b *Batch)
	opts                     []StreamOption
}

func byTitle(b *Batch, title string) (Exposure, bool) {
	for _, e := range b.Exposures {
		if e.Title == title {
			return e, true
		}
	}
	return Exposure{}, false
}

// corpusCases covers every real scanner sample of testdata/corpus; the test
// below fails if a sample has no case, so none is skipped silently.
var corpusCases = map[string]corpusCase{
	"wiz_issues_no_findings.csv": {src: SourceWiz, format: FormatWizIssuesCSV}, // header only
	"wiz_issues_one_finding.csv": {src: SourceWiz, format: FormatWizIssuesCSV, exposures: 1, check: func(t *testing.T, b *Batch) {
		e := b.Exposures[0]
		assert.Equal(t, "AKS role/cluster role assigned permissions that contain wildcards", e.Title, "trailing space trimmed")
		assert.Equal(t, "k8s/user/42cfa6ccd681025c90a26bea65c39fa80ca8837a0bd3b5c7889165217fa4931e/aks-support", e.AssetID)
		assert.Equal(t, "INFORMATIONAL", e.OriginalSeverity)
		assert.Equal(t, 0.2, e.ExploitabilityScore)
		assert.Equal(t, SeverityLow, e.Severity)
		assert.Equal(t, "User", e.AssetType)
		assert.Equal(t, "Zone3_Enterprise", e.AssetZone)
		assert.Equal(t, time.Date(2023, 1, 25, 0, 19, 27, 0, time.UTC), e.TS)
		assert.Equal(t, "https://demo.wiz.io/issues#~(issue~'0029ee49-c676-432f-8690-12f2862ec708)", e.EvidenceURL)
		assert.True(t, strings.HasPrefix(e.RemediationGuidance, "### Protect highly privileged principals"))
		assert.True(t, strings.HasPrefix(e.Description, "#### Description"))
	}},
	"wiz_issues_resolved_findings.csv": {src: SourceWiz, format: FormatWizIssuesCSV, skips: 3, check: func(t *testing.T, b *Batch) {
		for _, s := range b.Skipped {
			assert.Equal(t, "status RESOLVED at the source", s.Reason)
		}
		assert.Equal(t, "row 2 (line 12)", b.Skipped[1].Location)
	}},
	"wiz_vulnerability_findings_sca.csv": {src: SourceWiz, format: FormatWizVulnerabilitiesCSV, exposures: 5, check: func(t *testing.T, b *Batch) {
		e, ok := byTitle(b, "CVE-2024-39474 in github.com/containerd/containerd")
		require.True(t, ok)
		assert.Equal(t, "a2ca5de0-7223-11ef-af4c-032d5da2afbf", e.AssetID)
		assert.Equal(t, "LOW", e.OriginalSeverity)
		assert.Equal(t, "go get -u github.com/containerd/containerd", e.RemediationGuidance)
		assert.Equal(t, time.Date(2024, 8, 28, 3, 2, 1, 0, time.UTC), e.TS)
		assert.True(t, strings.HasPrefix(e.EvidenceURL, "https://app.wiz.io/explorer/vulnerability-findings"))
		// The same CVE on two packages of one asset, and in two assets, stays apart.
		_, ok = byTitle(b, "CVE-2024-36891 in kernel")
		assert.True(t, ok)
		_, ok = byTitle(b, "CVE-2024-36891 in k8s.io/apimachinery")
		assert.True(t, ok)
	}},
	"wizcli_img_one_vul.json": {src: SourceWiz, format: FormatWizCLI, exposures: 1, check: func(t *testing.T, b *Batch) {
		e := b.Exposures[0]
		assert.Equal(t, "Password in URL (postgresql://postgres:---REDACTED---@localhost:5432/postgres?) (/app/testing.go:35, PASSWORD)", e.Title)
		assert.Equal(t, "wizcli-imagescan", e.AssetID)
		assert.Equal(t, "ContainerImage", e.AssetType)
		assert.Equal(t, time.Date(2024, 7, 22, 14, 50, 26, 600849032, time.UTC), e.TS)
		assert.Equal(t, "https://app.wiz.io/findings/cicd-scans#", e.EvidenceURL)
	}},
	"wizcli_dir_many_vul.json": {src: SourceWiz, format: FormatWizCLI, exposures: 7, check: func(t *testing.T, b *Batch) {
		e, ok := byTitle(b, "CVE-2023-44487 in golang.org/x/net")
		require.True(t, ok)
		assert.Equal(t, "/Users/osama/Documents/testing", e.AssetID)
		assert.Equal(t, 0.9, e.ExploitabilityScore, "hasExploit raises a MEDIUM finding to high exploitability")
		assert.Equal(t, "Upgrade golang.org/x/net to 0.17.0", e.RemediationGuidance)
		assert.Equal(t, "https://github.com/advisories/GHSA-qppj-fm5r-hxr3", e.EvidenceURL)
		assert.Contains(t, e.Description, "golang.org/x/net 0.14.0 at /grpc/proto/go.mod")
		noExploit, _ := byTitle(b, "CVE-2023-45288 in golang.org/x/net")
		assert.Equal(t, 0.5, noExploit.ExploitabilityScore)
	}},
	"wizcli_iac_many_vul.json": {src: SourceWiz, format: FormatWizCLI, exposures: 25, check: func(t *testing.T, b *Batch) {
		e, ok := byTitle(b, "Missing User Instruction (Dockerfile:58)")
		require.True(t, ok)
		assert.Equal(t, "HIGH", e.OriginalSeverity)
		assert.Equal(t, "IAC scan 2024-07-16T12:17:28Z", e.AssetID)
		assert.Equal(t, "IAC", e.AssetType)
		// 7 rules with 9 matches, 16 secrets.
		_, ok = byTitle(b, "Image Version Using 'latest' (Dockerfile:4)")
		assert.True(t, ok)
		_, ok = byTitle(b, "Passwords And Secrets - Private Key (docker-compose.yaml:82, PUBLIC_KEY)")
		assert.True(t, ok)
	}},
	"wizcli_iac_zero_vul.json": {src: SourceWiz, format: FormatWizCLI},
	"snyk_test_single_project_one_vuln.json": {src: SourceSnyk, format: FormatSnykTest, exposures: 1, check: func(t *testing.T, b *Batch) {
		e := b.Exposures[0]
		assert.Equal(t, "XML External Entity (XXE) Injection in org.apache.santuario:xmlsec (SNYK-JAVA-ORGAPACHESANTUARIO-460281)", e.Title)
		assert.Equal(t, "com.test:myframework", e.AssetID)
		assert.Equal(t, "maven", e.AssetType)
		assert.Equal(t, "MEDIUM", e.OriginalSeverity)
		assert.Equal(t, "CVE-2019-12400", e.AttackTechnique)
		assert.Equal(t, "Upgrade org.apache.santuario:xmlsec to 2.1.4", e.RemediationGuidance)
		assert.Equal(t, "https://security.snyk.io/vuln/SNYK-JAVA-ORGAPACHESANTUARIO-460281", e.EvidenceURL)
		assert.Equal(t, time.Date(2019, 5, 10, 21, 50, 0, 0, time.UTC), e.TS, "disclosureTime")
		// AV:N/AC:L/PR:N/UI:N is the maximum exploitability sub-score.
		assert.Equal(t, 1.0, e.ExploitabilityScore)
		assert.Equal(t, SeverityMedium, e.Severity)
		assert.Equal(t, ConsequenceDataLoss, e.PhysicalConsequence)
	}},
	"snyk_test_single_project_no_vulns.json": {src: SourceSnyk, format: FormatSnykTest},
	"snyk_test_all_projects_one_vuln.json": {src: SourceSnyk, format: FormatSnykTest, exposures: 1, check: func(t *testing.T, b *Batch) {
		assert.Equal(t, "com.test:custom-rule", b.Exposures[0].AssetID)
		assert.Equal(t, "Upgrade org.apache.santuario:xmlsec to 2.1.4", b.Exposures[0].RemediationGuidance)
	}},
	"snyk_test_single_project_null_cvss.json": {src: SourceSnyk, format: FormatSnykTest, exposures: 1, check: func(t *testing.T, b *Batch) {
		e := b.Exposures[0]
		assert.Equal(t, "docker-image|a_container-engine-tls", e.AssetID)
		assert.Equal(t, 0.2, e.ExploitabilityScore, "no CVSS at all: the severity (low) stands in")
		assert.Equal(t, "Upgrade permissions to 20181225-23.12.1", e.RemediationGuidance, "nearestFixedInVersion")
		assert.Equal(t, "", e.AttackTechnique, "no CVE")
	}},
	"snyk_test_single_project_ampersands.json": {src: SourceSnyk, format: FormatSnykTest, exposures: 1, check: func(t *testing.T, b *Batch) {
		e := b.Exposures[0]
		assert.Equal(t, "Prototype Pollution in lodash (SNYK-JS-LODASH-590103)", e.Title)
		assert.Contains(t, e.Description, "&")
		assert.Equal(t, "CRITICAL", e.OriginalSeverity)
	}},
	"snyk_container_test_epss.json": {src: SourceSnyk, format: FormatSnykTest, exposures: 13, check: func(t *testing.T, b *Batch) {
		os, ok := byTitle(b, "CVE-2023-4039 in gcc-10 (SNYK-DEBIAN11-GCC10-5901313)")
		require.True(t, ok)
		assert.Equal(t, "docker-image|sarim04/juiceshop", os.AssetID)
		assert.Equal(t, "debian:11", os.AssetType)
		assert.Equal(t, "", os.RemediationGuidance, "fixedIn is empty")
		assert.Equal(t, 0.57, os.ExploitabilityScore, "AV:N/AC:H/PR:N/UI:N rescaled")
		app, ok := byTitle(b, "Authorization Bypass in express-jwt (SNYK-JS-EXPRESSJWT-575022)")
		require.True(t, ok)
		assert.Equal(t, "docker-image|sarim04/juiceshop:/juice-shop/package.json", app.AssetID, "application inside the image")
		assert.Equal(t, "npm", app.AssetType)
	}},
	"snyk_rest_issues_api_sca_single.json": {src: SourceSnyk, format: FormatSnykREST, exposures: 1, check: func(t *testing.T, b *Batch) {
		e := b.Exposures[0]
		assert.Equal(t, "Heap-based Buffer Overflow in pillow (SNYK-PYTHON-PILLOW-5918878)", e.Title)
		assert.Equal(t, "92867a20-30b8-44fd-a59f-da71d59b58f1", e.AssetID)
		assert.Equal(t, "CRITICAL", e.OriginalSeverity)
		assert.Equal(t, "CVE-2023-4863", e.AttackTechnique)
		assert.Equal(t, 0.73, e.ExploitabilityScore, "the Snyk vector (UI:R) is preferred; maturity High is ≥ 7 anyway")
		assert.Equal(t, time.Date(2025, 9, 11, 18, 25, 22, 457e6, time.UTC), e.TS)
	}},
	"snyk_rest_issues_api_sca_many.json": {src: SourceSnyk, format: FormatSnykREST, exposures: 4, skips: 1, check: func(t *testing.T, b *Batch) {
		assert.Equal(t, "status resolved at the source", b.Skipped[0].Reason)
		assert.Equal(t, "data[4]", b.Skipped[0].Location)
		e, ok := byTitle(b, "Improper Control of Generation of Code ('Code Injection') in setuptools (SNYK-PYTHON-SETUPTOOLS-7448482)")
		require.True(t, ok)
		assert.Equal(t, "44444444-44444-4444-4444-44444444444", e.AssetID)
	}},
	"snyk_rest_issues_api_code_many.json": {src: SourceSnyk, format: FormatSnykREST, exposures: 3, check: func(t *testing.T, b *Batch) {
		e, ok := byTitle(b, "Cross-Site Request Forgery (CSRF) at path/path/file.abc:65")
		require.True(t, ok)
		assert.Equal(t, "HIGH", e.OriginalSeverity)
		assert.Equal(t, 0.9, e.ExploitabilityScore, "no CVSS on code issues: the severity stands in")
		assert.Equal(t, "Cross-Site Request Forgery (CSRF)", e.Description)
	}},
	"garak_report_quack.report.jsonl": {src: SourceGarak, format: FormatGarakJSONL, skips: 1, check: func(t *testing.T, b *Batch) {
		assert.Equal(t, "model resisted all 1 attempts of lmrc.QuackMedicine / lmrc.QuackMedicine", b.Skipped[0].Reason)
		assert.Equal(t, "line 5", b.Skipped[0].Location)
	}},
	"garak_report_agg.report.jsonl": {src: SourceGarak, format: FormatGarakJSONL, skips: 2, check: func(t *testing.T, b *Batch) {
		assert.Equal(t, "model resisted all 8 attempts of test.Test / always.Pass", b.Skipped[0].Reason)
	}},
	"garak_report_qual_review_mixed.report.jsonl": {src: SourceGarak, format: FormatGarakJSONL, errors: 2, skips: 1, check: func(t *testing.T, b *Batch) {
		// The fragment has no setup entry, so it does not say which model was
		// probed: the two successful probes fail with the reason, the resisted one
		// is skipped.
		for _, e := range b.Errors {
			var fe *FieldError
			require.ErrorAs(t, e.Err, &fe)
			assert.Equal(t, "plugins.target_name", fe.Field)
			assert.Equal(t, reasonMissing, fe.Reason)
		}
		assert.Equal(t, "line 3", b.Errors[0].Location)
		assert.Equal(t, 0, b.Errors[0].Index)
	}},
	"garak_hitlog_no_hits_defectdojo.jsonl": {src: SourceGarak, format: FormatGarakJSONL},
	"garak_hitlog_varied_scores_defectdojo.jsonl": {src: SourceGarak, format: FormatGarakJSONL, exposures: 7, check: func(t *testing.T, b *Batch) {
		want := map[string]struct {
			rate  float64
			atlas string
			sev   Severity
		}{
			"promptinject.HijackHateHumans (promptinject.AttackRogueString)":       {0.95, "AML.T0051", SeverityCritical},
			"dan.DanInTheWild (dan.DAN)":                                           {0.8, "AML.T0054", SeverityCritical},
			"xss.MarkdownImageExfil (xss.MarkdownExfilBasic)":                      {0.6, "AML.T0024.002", SeverityLow},
			"leakreplay.LiteratureCloze (leakreplay.StartsWith)":                   {0.75, "AML.T0024.002", SeverityMedium},
			"misleading.FalseAssertion (misleading.MustRefuteClaimModel)":          {0.3, "AML.T0051", SeverityLow},
			"malwaregen.TopLevel (malwaregen.AnyCode)":                             {0.92, "AML.T0051", SeverityMedium},
			"continuation.ContinueSlursReclaimedSlurs (continuation.Continuation)": {0.5, "AML.T0051", SeverityLow},
		}
		for title, w := range want {
			e, ok := byTitle(b, title)
			require.True(t, ok, title)
			assert.Equal(t, w.rate, e.ExploitabilityScore, title)
			assert.Equal(t, w.atlas, e.AtlasTechnique, title)
			assert.Equal(t, w.sev, e.Severity, title)
			assert.Equal(t, "gpt2", e.AssetID)
		}
	}},
	"garak_hitlog_many_hits_defectdojo.jsonl": {src: SourceGarak, format: FormatGarakJSONL, exposures: 3, check: func(t *testing.T, b *Batch) {
		e, ok := byTitle(b, "lmrc.Profanity (unsafe_content.SurgeProfanityAnimalReferences)")
		require.True(t, ok)
		assert.Equal(t, "gpt2", e.AssetID)
		assert.Equal(t, 1.0, e.ExploitabilityScore, "highest detector score of the group")
		assert.Contains(t, e.Description, "3 successful attempts")
		assert.Equal(t, 3, b.Records, "8 hit lines in 3 (probe, detector) groups")
	}},
}

func TestCorpusEverySample(t *testing.T) {
	files, err := os.ReadDir(filepath.Join("testdata", "corpus"))
	require.NoError(t, err)
	var names []string
	for _, f := range files {
		names = append(names, f.Name())
	}
	sort.Strings(names)
	var cased []string
	for n := range corpusCases {
		cased = append(cased, n)
	}
	sort.Strings(cased)
	require.Equal(t, cased, names, "every corpus sample has exactly one case")
	for _, name := range names {
		c := corpusCases[name]
		t.Run(name, func(t *testing.T) {
			s := newService(t)
			b, err := s.NormaliseStream(ctx, c.src, bytes.NewReader(readCorpus(t, name)), c.opts...)
			require.NoError(t, err)
			assert.Equal(t, c.format, b.Format)
			for _, e := range b.Errors {
				t.Log(e.Error())
			}
			require.Len(t, b.Exposures, c.exposures)
			require.Len(t, b.Errors, c.errors)
			require.Len(t, b.Skipped, c.skips)
			assert.Equal(t, c.exposures+c.errors+c.skips, b.Records)
			assert.Equal(t, c.errors > 0, b.Failed())
			for _, e := range b.Exposures {
				require.NoError(t, e.Validate(), e.Title)
				assert.Equal(t, c.src, e.SourceTool)
				assert.Equal(t, DefaultTenant, e.TenantID)
				assert.Equal(t, StatusOpen, e.Status)
				assert.Equal(t, ExposureKey(c.src, e.Title, e.AssetID), e.ExposureKey)
			}
			if c.check != nil {
				c.check(t, b)
			}
		})
	}
}

// Ingesting every sample twice keeps one record per exposure.
func TestCorpusIngestIsIdempotent(t *testing.T) {
	store := NewMemoryStore()
	s := newService(t, WithStore(store))
	total := 0
	for name, c := range corpusCases {
		for range 2 {
			b, err := s.IngestStream(ctx, c.src, bytes.NewReader(readCorpus(t, name)), c.opts...)
			require.NoError(t, err)
			require.Len(t, b.Exposures, c.exposures, name)
		}
		total += c.exposures
	}
	// Two samples share findings with another sample (same project, same vuln):
	// the store holds the union.
	assert.LessOrEqual(t, store.Len(), total)
	assert.Greater(t, store.Len(), 0)
}

func TestGarakReportWithDefaultAsset(t *testing.T) {
	s := newService(t)
	b, err := s.NormaliseStream(ctx, SourceGarak, bytes.NewReader(readCorpus(t, "garak_report_qual_review_mixed.report.jsonl")),
		StreamDefaultAsset("chat-model-7"))
	require.NoError(t, err)
	require.Len(t, b.Exposures, 2)
	require.Empty(t, b.Errors)
	e, ok := byTitle(b, "lmrc.QuackMedicine (lmrc.QuackMedicine)")
	require.True(t, ok)
	assert.Equal(t, "chat-model-7", e.AssetID)
	assert.Equal(t, 1.0, e.ExploitabilityScore, "1 of 1 attempts failed: success rate 1")
	assert.Equal(t, "garak probe lmrc.QuackMedicine, detector lmrc.QuackMedicine: 1 of 1 attempts succeeded", e.Description)
}
