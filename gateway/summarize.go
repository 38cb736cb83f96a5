package gateway

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/socwarden/warden/internal/injection"
)

// Texts of the content transformation.
const (
	QuarantinedContent  = "Content quarantined for security review."
	NoActionableContent = "No actionable content detected."
)

// Regexes of the lossy summariser (§3.4). They run only on content the
// classifier found suspicious, so plain RE2 is fast enough here.
var (
	sha256Re           = regexp.MustCompile(`\b[a-fA-F0-9]{64}\b`)
	md5Re              = regexp.MustCompile(`\b[a-fA-F0-9]{32}\b`)
	summaryIPv4Re      = regexp.MustCompile(`\b(?:\d{1,3}\.){3}\d{1,3}\b`)
	ipv6LikeRe         = regexp.MustCompile(`\b[0-9a-fA-F:]{7,}\b`)
	domainRe           = regexp.MustCompile(`\b[a-zA-Z0-9][-a-zA-Z0-9]*(?:\.[a-zA-Z0-9][-a-zA-Z0-9]*)*\.[a-zA-Z]{2,}\b`)
	summaryEmailRe     = regexp.MustCompile(`\b[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\.[a-zA-Z]{2,}\b`)
	factualVerbRe      = regexp.MustCompile(`(?i)\b(?:connected|accessed|created|deleted|modified|executed|downloaded|uploaded)\b`)
	instructionVerbRe  = regexp.MustCompile(`(?i)\b(?:ignore|pretend|override|forget|reveal|act\s+as)\b`)
	summaryMarkupRegex = regexp.MustCompile("(?is)```\\s*(?:system|tool|assistant|human)\\b.*?```")
)

// TransformContent applies an injection action: pass → text, summarize →
// Summarize(text), quarantine → QuarantinedContent, anything else → text.
// No transformation inserts a marker.
func TransformContent(text string, action InjectionAction) string {
	switch action {
	case ActionSummarize:
		return Summarize(text)
	case ActionQuarantine:
		return QuarantinedContent
	}
	return text
}

// dropMarkup replaces every fenced role block with a space, so its sentences
// can never leak into a summary.
func dropMarkup(text string) string {
	if !strings.Contains(text, "```") {
		return text
	}
	return summaryMarkupRegex.ReplaceAllLiteralString(text, " ")
}

// splitSentences splits at every maximal run of white space that follows
// '.', '!' or '?'; pieces are trimmed and empty ones dropped.
func splitSentences(text string) []string {
	var out []string
	start := 0
	for i := 0; i < len(text); {
		r, n := utf8.DecodeRuneInString(text[i:])
		if !unicode.IsSpace(r) || i == 0 || !endsSentence(text[i-1]) {
			i += n
			continue
		}
		end := i
		for i < len(text) {
			r, n := utf8.DecodeRuneInString(text[i:])
			if !unicode.IsSpace(r) {
				break
			}
			i += n
		}
		out = appendTrimmed(out, text[start:end])
		start = i
	}
	return appendTrimmed(out, text[start:])
}

func endsSentence(c byte) bool { return c == '.' || c == '!' || c == '?' }

func appendTrimmed(out []string, s string) []string {
	if s = strings.TrimSpace(s); s != "" {
		out = append(out, s)
	}
	return out
}

// instructionShaped reports whether a sentence's matching copy holds an
// instruction verb or one of the 14 reference patterns.
func instructionShaped(sentence string) bool {
	if len(injection.Detect(sentence)) > 0 {
		return true
	}
	return instructionVerbRe.MatchString(injection.MatchingCopy(sentence))
}

// ExtractEntities returns the SHA-256 and MD5 hashes, IPv4 and IPv6-like
// tokens, domains and e-mail addresses of text, de-duplicated keeping the
// first occurrence ([] for none).
func ExtractEntities(text string) []string {
	out := []string{}
	if text == "" {
		return out
	}
	seen := map[string]bool{}
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	shas := sha256Re.FindAllStringIndex(text, -1)
	for _, m := range shas {
		add(text[m[0]:m[1]])
	}
	for _, m := range md5Re.FindAllStringIndex(text, -1) {
		inside := false
		for _, s := range shas {
			if s[0] <= m[0] && m[1] <= s[1] {
				inside = true
				break
			}
		}
		if !inside {
			add(text[m[0]:m[1]])
		}
	}
	for _, re := range []*regexp.Regexp{summaryIPv4Re, ipv6LikeRe, domainRe, summaryEmailRe} {
		for _, s := range re.FindAllString(text, -1) {
			add(s)
		}
	}
	return out
}

// ExtractFacts returns the sentences of text (fenced role blocks removed)
// that are not instruction-shaped and that name an extracted entity or use a
// factual verb ([] for none).
func ExtractFacts(text string) []string {
	out := []string{}
	if text == "" {
		return out
	}
	t := dropMarkup(text)
	return facts(t, ExtractEntities(t), out)
}

func facts(t string, ents []string, out []string) []string {
	for _, s := range splitSentences(t) {
		if instructionShaped(s) {
			continue
		}
		keep := factualVerbRe.MatchString(s)
		for _, e := range ents {
			if keep {
				break
			}
			keep = strings.Contains(s, e)
		}
		if keep {
			out = append(out, s)
		}
	}
	return out
}

// RemoveInstructions returns the sentences of text (fenced role blocks
// removed) that are not instruction-shaped, joined by single spaces.
func RemoveInstructions(text string) string {
	if text == "" {
		return ""
	}
	var kept []string
	for _, s := range splitSentences(dropMarkup(text)) {
		if !instructionShaped(s) {
			kept = append(kept, s)
		}
	}
	return strings.Join(kept, " ")
}

// Summarize is the lossy summariser applied to suspicious content: the
// entities, the factual sentences and the remaining non-instruction
// sentences, each once; NoActionableContent when nothing is left.
func Summarize(text string) string {
	t := dropMarkup(text)
	ents := ExtractEntities(t)
	var parts []string
	seen := map[string]bool{}
	add := func(s string) {
		if s = strings.TrimSpace(s); s != "" && !seen[s] {
			seen[s] = true
			parts = append(parts, s)
		}
	}
	if len(ents) > 0 {
		add("Entities: " + strings.Join(ents, ", "))
	}
	for _, f := range facts(t, ents, nil) {
		add(f)
	}
	for _, s := range splitSentences(RemoveInstructions(text)) {
		add(s)
	}
	if len(parts) == 0 {
		return NoActionableContent
	}
	return strings.Join(parts, " ")
}
