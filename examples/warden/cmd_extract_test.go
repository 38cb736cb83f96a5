package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/socwarden/warden/entityparser/ioc"
)

// cmdRun is one in-process run of a subcommand.
type cmdRun struct {
	code           int
	stdout, stderr string
}

// invokeCmd runs c directly (not through the registry) on in-memory
// streams with a fixed clock.
func invokeCmd(t *testing.T, c *command, stdin string, args ...string) cmdRun {
	t.Helper()
	return invokeCmdCtx(t, context.Background(), c, stdin, args...)
}

func invokeCmdCtx(t *testing.T, ctx context.Context, c *command, stdin string, args ...string) cmdRun {
	t.Helper()
	var out, errOut bytes.Buffer
	e := &env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errOut,
		now: func() time.Time { return time.Date(2024, 2, 14, 13, 52, 45, 0, time.UTC) }}
	code := c.run(ctx, e, args)
	return cmdRun{code, out.String(), errOut.String()}
}

// outputLines splits stdout into its lines (none for empty output).
func outputLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

var iocKeys = []string{"ipv4", "ipv6", "domain", "url", "email", "md5", "sha1", "sha256", "sha512",
	"cve", "attack", "file_path", "registry"}

// decodeIOCLine checks the shape (all thirteen keys, each an array,
// nothing else) and returns the lists.
func decodeIOCLine(t *testing.T, line string) map[string][]string {
	t.Helper()
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(line), &m), line)
	require.Len(t, m, len(iocKeys), line)
	out := map[string][]string{}
	for _, k := range iocKeys {
		raw, ok := m[k]
		require.True(t, ok, "key %q missing in %s", k, line)
		require.Equal(t, byte('['), raw[0], "key %q is not an array in %s", k, line)
		var l []string
		require.NoError(t, json.Unmarshal(raw, &l))
		out[k] = l
	}
	return out
}

const defangedReport = `Beacon to hxxps://evil[.]example[.]com/gate.php?id=7&k=<x>, hxxp://cdn[.]bad-host[.]net/p?a=1&b=2 from 10.0.0.5 and 10[.]0[.]0[.]5,
mail admin[at]corp-mail[.]org, dropped C:\Users\bob\AppData\x.exe (md5 d41d8cd98f00b204e9800998ecf8427e),
exploits CVE-2021-44228 via T1059.001; persistence HKLM\Software\Microsoft\Windows\CurrentVersion\Run\upd`

func TestExtractWholeText(t *testing.T) {
	r := invokeCmd(t, extractCommand(), defangedReport)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Empty(t, r.stderr)
	lines := outputLines(r.stdout)
	require.Len(t, lines, 1, "one JSON object for the whole text")
	got := decodeIOCLine(t, lines[0])
	assert.Equal(t, []string{"10.0.0.5"}, got["ipv4"], "refanged and de-duplicated")
	assert.Equal(t, []string{"https://evil.example.com/gate.php?id=7&k=", "http://cdn.bad-host.net/p?a=1&b=2"}, got["url"], "< ends a URL")
	assert.Contains(t, got["domain"], "evil.example.com")
	assert.Equal(t, []string{"admin@corp-mail.org"}, got["email"])
	assert.Equal(t, []string{"d41d8cd98f00b204e9800998ecf8427e"}, got["md5"])
	assert.Equal(t, []string{"CVE-2021-44228"}, got["cve"])
	assert.Equal(t, []string{"T1059.001"}, got["attack"])
	assert.Equal(t, []string{`C:\Users\bob\AppData\x.exe`}, got["file_path"])
	assert.Equal(t, []string{`HKLM\Software\Microsoft\Windows\CurrentVersion\Run\upd`}, got["registry"])
	assert.Contains(t, lines[0], `"http://cdn.bad-host.net/p?a=1&b=2"`, "no HTML escaping (SetEscapeHTML(false))")
	assert.NotContains(t, lines[0], `\u0026`)

	// The CLI prints exactly what the library extracts.
	want, err := json.Marshal(ioc.Extract(defangedReport))
	require.NoError(t, err)
	assert.JSONEq(t, string(want), lines[0])
}

func TestExtractEmptyInputHasEveryKey(t *testing.T) {
	r := invokeCmd(t, extractCommand(), "")
	require.Equal(t, exitOK, r.code)
	for k, l := range decodeIOCLine(t, strings.TrimSpace(r.stdout)) {
		assert.Empty(t, l, k)
	}
	assert.Equal(t, `{"ipv4":[],"ipv6":[],"domain":[],"url":[],"email":[],"md5":[],"sha1":[],"sha256":[],"sha512":[],"cve":[],"attack":[],"file_path":[],"registry":[]}`+"\n", r.stdout,
		"keys in the issue's order, arrays never null")
}

func TestExtractJSONLines(t *testing.T) {
	in := `{"text":"c2 at 198.51.100[.]7","id":"a"}` + "\n\n" +
		`{"text":""}` + "\r\n" +
		`{"id":9,"text":"see hxxp://bad[.]net/a?b=1&c=2"}` + "\n"
	r := invokeCmd(t, extractCommand(), in, "-jsonl", "-")
	require.Equal(t, exitOK, r.code, r.stderr)
	lines := outputLines(r.stdout)
	require.Len(t, lines, 3, "one result per record; the blank line is not a record")
	assert.Equal(t, []string{"198.51.100.7"}, decodeIOCLine(t, lines[0])["ipv4"])
	assert.Empty(t, decodeIOCLine(t, lines[1])["ipv4"])
	assert.Equal(t, []string{"http://bad.net/a?b=1&c=2"}, decodeIOCLine(t, lines[2])["url"])
}

// Malformed records are reported with their line number and reason, the
// good ones still printed, and the exit code is 1.
func TestExtractJSONLinesMalformed(t *testing.T) {
	in := strings.Join([]string{
		`{"text":"1.2.3.4"}`,
		`not json`,
		`{"txt":"x"}`,
		`{"text":5}`,
		`null`,
		`[{"text":"x"}]`,
		`{"text":null}`,
		`{"text":"5.6.7.8"}`,
	}, "\n")
	r := invokeCmd(t, extractCommand(), in, "-jsonl")
	assert.Equal(t, exitFailed, r.code)
	lines := outputLines(r.stdout)
	require.Len(t, lines, 2)
	assert.Equal(t, []string{"1.2.3.4"}, decodeIOCLine(t, lines[0])["ipv4"])
	assert.Equal(t, []string{"5.6.7.8"}, decodeIOCLine(t, lines[1])["ipv4"])
	for _, want := range []string{
		"warden: extract: line 2: not JSON: invalid character 'o' in literal null (expecting 'u') (column 2)",
		`warden: extract: line 3: no "text" member`,
		`warden: extract: line 4: "text" is not a string`,
		`warden: extract: line 5: null, not a JSON object`,
		`warden: extract: line 6: not a JSON object`,
		`warden: extract: line 7: "text" is not a string`,
		"warden: extract: 6 of 8 records failed",
	} {
		assert.Contains(t, r.stderr, want)
	}
}

func TestExtractFileArgumentAndUsage(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "report.txt")
	require.NoError(t, os.WriteFile(path, []byte("host evil[.]com"), 0o600))
	r := invokeCmd(t, extractCommand(), "stdin is not read", path)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, []string{"evil.com"}, decodeIOCLine(t, strings.TrimSpace(r.stdout))["domain"])

	r = invokeCmd(t, extractCommand(), "", filepath.Join(dir, "missing.txt"))
	assert.Equal(t, exitUnusable, r.code)
	assert.Contains(t, r.stderr, "missing.txt")
	assert.Empty(t, r.stdout)
	assert.Equal(t, exitUnusable, invokeCmd(t, extractCommand(), "", path, path).code, "one file at most")
	assert.Equal(t, exitUnusable, invokeCmd(t, extractCommand(), "", "-bogus").code)
	r = invokeCmd(t, extractCommand(), "", "-h")
	assert.Equal(t, exitOK, r.code)
	assert.Contains(t, r.stderr, "usage: warden extract [-jsonl] [file|-]")
	assert.Contains(t, r.stderr, "-jsonl")
}

func TestExtractInputLimits(t *testing.T) {
	old := maxTextInputBytes
	maxTextInputBytes = 16
	t.Cleanup(func() { maxTextInputBytes = old })
	r := invokeCmd(t, extractCommand(), strings.Repeat("a", 17))
	assert.Equal(t, exitUnusable, r.code)
	assert.Contains(t, r.stderr, "input larger than 16 bytes")
	assert.Empty(t, r.stdout)
	assert.Equal(t, exitOK, invokeCmd(t, extractCommand(), strings.Repeat("a", 16)).code)

	// A JSON line beyond maxLineBytes is a failed record, not the end.
	huge := `{"text":"` + strings.Repeat("x", maxLineBytes) + `"}`
	r = invokeCmd(t, extractCommand(), huge+"\n"+`{"text":"9.9.9.9"}`+"\n", "-jsonl")
	assert.Equal(t, exitFailed, r.code)
	assert.Contains(t, r.stderr, "line 1: line longer than")
	lines := outputLines(r.stdout)
	require.Len(t, lines, 1)
	assert.Equal(t, []string{"9.9.9.9"}, decodeIOCLine(t, lines[0])["ipv4"])
}

func TestExtractInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := invokeCmdCtx(t, ctx, extractCommand(), `{"text":"1.2.3.4"}`, "-jsonl")
	assert.Equal(t, exitUnusable, r.code)
	assert.Contains(t, r.stderr, "interrupted")
}

// unescapeHTMLInJSON must give byte for byte what an encoder with
// SetEscapeHTML(false) writes.
func checkUnescape(t *testing.T, s string) {
	escaped, err := json.Marshal(s)
	require.NoError(t, err)
	var want bytes.Buffer
	enc := json.NewEncoder(&want)
	enc.SetEscapeHTML(false)
	require.NoError(t, enc.Encode(s))
	got := unescapeHTMLInJSON(escaped)
	require.Equal(t, strings.TrimSuffix(want.String(), "\n"), string(got), "%q", s)
}

func TestUnescapeHTMLInJSON(t *testing.T) {
	for _, s := range []string{"", "plain", "a&b<c>d", `\u0026`, `\\u0026`, `"\"&`, "<\u2028>", "\\", "&&&", "x\u003cy", "é&\x00\n"} {
		checkUnescape(t, s)
	}
	// Escapes written by a source (upper-case hex) are unescaped too; the
	// value is the same.
	assert.Equal(t, `{"a":"<&>"}`, string(unescapeHTMLInJSON([]byte(`{"a":"\u003C\u0026\u003E"}`))))
	assert.Equal(t, `"\u0041"`, string(unescapeHTMLInJSON([]byte(`"\u0041"`))), "other escapes stay")
}

func FuzzUnescapeHTMLInJSON(f *testing.F) {
	for _, s := range []string{"a&b", `\u0026`, `\\u003c`, "<\\>", "\u2028&"} {
		f.Add(s)
	}
	f.Fuzz(checkUnescape)
}
