package entityparser

import (
	"encoding/json"
	"log/slog"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxFieldLength is the longest string value (in runes) an entity keeps.
const MaxFieldLength = 2048

var dangerousChars = regexp.MustCompile("[;|&`$(){}\\[\\]<>'\"]")

// DangerousChars returns the shared, immutable pattern of the 15 characters
// SanitizeValue strips from ordinary fields: ; | & ` $ ( ) { } [ ] < > ' ".
func DangerousChars() *regexp.Regexp { return dangerousChars }

// verbatimFields are the field names (lower-cased) whose values keep every
// character: command lines (the reference's exemption) and the fields that
// hold indicators, which must survive byte-for-byte ("&", "(" and ")" are
// common in URLs and Windows paths). Escaping belongs where a query is
// built, not in the parsed entity.
var verbatimFields = map[string]bool{
	"commandline": true, "command_line": true, "url": true, "directory": true,
	"fullpath": true, "full_path": true, "filepath": true, "file_path": true, "path": true,
}

// SanitizeValue turns a decoded JSON value into an entity string:
//   - nil (JSON null), objects and arrays are not usable ("", false);
//   - numbers give their literal text, booleans "true"/"false", unchanged;
//   - strings are cut to MaxFieldLength runes, lose the DangerousChars
//     unless field (case-insensitively) names a command line or an
//     indicator field (url, directory, full_path, file_path, path), and are
//     trimmed; an empty result is not usable.
func SanitizeValue(value any, field string) (string, bool) {
	return sanitize(value, field, verbatimFields[strings.ToLower(field)], nil)
}

// sanitize is SanitizeValue with the verbatim decision made by the caller
// (entity handlers know which values are indicators) and warnings logged.
func sanitize(value any, field string, verbatim bool, log *slog.Logger) (string, bool) {
	switch v := value.(type) {
	case nil:
		return "", false
	case json.Number:
		return string(v), true
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	case float32:
		return strconv.FormatFloat(float64(v), 'f', -1, 32), true
	case int:
		return strconv.Itoa(v), true
	case int64:
		return strconv.FormatInt(v, 10), true
	case bool:
		return strconv.FormatBool(v), true
	case string:
		s := v
		if n := utf8.RuneCountInString(s); n > MaxFieldLength {
			s = truncateRunes(s, MaxFieldLength)
			if log != nil {
				log.Warn("entityparser: value truncated", "field", field, "length", n)
			}
		}
		if !verbatim && dangerousChars.MatchString(s) {
			if log != nil {
				log.Warn("entityparser: dangerous characters removed", "field", field, "value", truncateRunes(s, 100))
			}
			s = dangerousChars.ReplaceAllLiteralString(s, "")
		}
		s = strings.TrimSpace(s)
		return s, s != ""
	}
	return "", false
}

func truncateRunes(s string, n int) string {
	i := 0
	for k := range s {
		if i == n {
			return s[:k]
		}
		i++
	}
	return s
}

// ValidIP reports whether s (trimmed) is an IPv4 or IPv6 address net/netip
// accepts, without a zone: no leading zeros, no ":::", no "%eth0".
func ValidIP(s string) bool {
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	return err == nil && a.Zone() == ""
}

var validationPatterns = map[string]string{
	"ipv4":     `\A(?:\d{1,3}\.){3}\d{1,3}\z`,
	"ipv6":     `\A[0-9a-fA-F:]+\z`,
	"sha256":   `\A[a-fA-F0-9]{64}\z`,
	"sha1":     `\A[a-fA-F0-9]{40}\z`,
	"md5":      `\A[a-fA-F0-9]{32}\z`,
	"domain":   `\A(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]{2,}\z`,
	"upn":      `\A[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\.[a-zA-Z]{2,}\z`,
	"hostname": `\A[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}\z`,
}

var compiledPatterns = func() map[string]*regexp.Regexp {
	m := make(map[string]*regexp.Regexp, len(validationPatterns))
	for k, v := range validationPatterns {
		m[k] = regexp.MustCompile(v)
	}
	return m
}()

// ValidationPatterns returns the eight whole-string validators (ipv4, ipv6,
// sha256, sha1, md5, domain, upn, hostname) in a fresh map.
func ValidationPatterns() map[string]*regexp.Regexp {
	m := make(map[string]*regexp.Regexp, len(compiledPatterns))
	for k, v := range compiledPatterns {
		m[k] = v
	}
	return m
}

// ValidHash reports whether value (trimmed, case-insensitive) is a hash of
// algorithm: sha256, sha1 or md5 with "-" ignored ("SHA-256" works); any
// other algorithm is false. An empty algorithm accepts any of the three.
func ValidHash(value, algorithm string) bool {
	v := strings.TrimSpace(value)
	if algorithm == "" {
		for _, k := range []string{"sha256", "sha1", "md5"} {
			if compiledPatterns[k].MatchString(v) {
				return true
			}
		}
		return false
	}
	switch k := strings.ToLower(strings.ReplaceAll(algorithm, "-", "")); k {
	case "sha256", "sha1", "md5":
		return compiledPatterns[k].MatchString(v)
	}
	return false
}
