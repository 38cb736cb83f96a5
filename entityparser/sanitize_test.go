package entityparser

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
)

// Checklist 1–4.
func TestValidIP(t *testing.T) {
	for _, s := range []string{"192.168.1.1", "0.0.0.0", "255.255.255.255", "2001:0db8:85a3:0000:0000:8a2e:0370:7334", "::1", "  10.0.0.1  ", "::ffff:10.0.0.1"} {
		assert.True(t, ValidIP(s), s)
	}
	// Checklist 2 and 58.
	for _, s := range []string{"256.1.1.1", "abc.def.ghi.jkl", "", "not-an-ip", ":::", "abc:def", "fe80::1%eth0", "010.0.0.1"} {
		assert.False(t, ValidIP(s), s)
	}
}

// Checklist 5–8, 57.
func TestValidHash(t *testing.T) {
	h64, h40, h32 := strings.Repeat("a", 64), strings.Repeat("b", 40), strings.Repeat("c", 32)
	assert.True(t, ValidHash(h64, "SHA256"))
	assert.True(t, ValidHash(h40, "SHA1"))
	assert.True(t, ValidHash(h32, "MD5"))
	assert.True(t, ValidHash(h64, "SHA-256"))
	assert.False(t, ValidHash(h64, "MD5"))
	assert.False(t, ValidHash(strings.Repeat("g", 64), "SHA256"))
	assert.True(t, ValidHash(h64, ""))
	assert.True(t, ValidHash(h40, ""))
	assert.True(t, ValidHash(h32, ""))
	assert.False(t, ValidHash("abc123", "RIPEMD"))
	assert.True(t, ValidHash(strings.Repeat("AABBCCDD", 8), "sha256"))
	assert.False(t, ValidHash("1.2.3.4", "ipv4"))
}

// Checklist 9–13.
func TestSanitizeValue(t *testing.T) {
	v, ok := SanitizeValue("hello", "f")
	assert.True(t, ok)
	assert.Equal(t, "hello", v)
	v, _ = SanitizeValue("  hello  ", "f")
	assert.Equal(t, "hello", v)
	v, _ = SanitizeValue(strings.Repeat("x", 3000), "test")
	assert.Equal(t, MaxFieldLength, utf8.RuneCountInString(v))
	v, _ = SanitizeValue(strings.Repeat(" ", 10)+strings.Repeat("x", 3000), "test")
	assert.Equal(t, 2038, utf8.RuneCountInString(v), "truncation happens before trimming")
	v, _ = SanitizeValue("drop;table|users", "field")
	assert.NotContains(t, v, ";")
	assert.NotContains(t, v, "|")
	v, _ = SanitizeValue("cmd.exe /c dir & echo hello", "CommandLine")
	assert.Contains(t, v, "&")
	v, _ = SanitizeValue("bash -c 'ls'", "command_line")
	assert.Contains(t, v, "'")
	_, ok = SanitizeValue(nil, "f")
	assert.False(t, ok)
	v, ok = SanitizeValue(json.Number("12345"), "f")
	assert.True(t, ok)
	assert.Equal(t, "12345", v)
	v, _ = SanitizeValue(12345.0, "f")
	assert.Equal(t, "12345", v)
	v, _ = SanitizeValue(true, "f")
	assert.Equal(t, "true", v)
	_, ok = SanitizeValue("   ", "f")
	assert.False(t, ok)
	_, ok = SanitizeValue(map[string]any{"a": 1}, "f")
	assert.False(t, ok)
	_, ok = SanitizeValue([]any{"a"}, "f")
	assert.False(t, ok)
	v, _ = SanitizeValue(strings.Repeat("é", 3000), "f")
	assert.Equal(t, MaxFieldLength, utf8.RuneCountInString(v), "truncation counts runes")
}

// Issue 4 overrides the spec: indicators survive byte-for-byte.
func TestSanitizeKeepsIndicators(t *testing.T) {
	u := "https://evil.example.com/a?b=1&c=(2)&d=$x"
	v, _ := SanitizeValue(u, "Url")
	assert.Equal(t, u, v)
	p := `C:\Program Files (x86)\A&B\run.exe`
	v, _ = SanitizeValue(p, "Directory")
	assert.Equal(t, p, v)
}

// Checklist 14–16.
func TestValidationPatternsAndDangerousChars(t *testing.T) {
	pats := ValidationPatterns()
	keys := make([]string, 0, len(pats))
	for k := range pats {
		keys = append(keys, k)
	}
	assert.ElementsMatch(t, []string{"ipv4", "ipv6", "sha256", "sha1", "md5", "domain", "upn", "hostname"}, keys)
	delete(pats, "ipv4")
	assert.Len(t, ValidationPatterns(), 8, "fresh map each call")
	p := ValidationPatterns()
	assert.True(t, p["domain"].MatchString("example.com"))
	assert.False(t, p["domain"].MatchString("-invalid.com"))
	assert.True(t, p["upn"].MatchString("user@example.com"))
	assert.False(t, p["upn"].MatchString("noatsign"))
	assert.True(t, p["hostname"].MatchString("server-01"))
	assert.False(t, p["hostname"].MatchString("-invalid"))
	assert.False(t, p["ipv4"].MatchString("1.2.3.4\n"), `\z, not Python's $`)
	for _, s := range []string{";", "|", "$(cmd)"} {
		assert.True(t, DangerousChars().MatchString(s), s)
	}
	assert.False(t, DangerousChars().MatchString("safe_value"))
	assert.Same(t, DangerousChars(), DangerousChars())
}
