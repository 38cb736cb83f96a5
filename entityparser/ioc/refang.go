package ioc

import "strings"

// Refang undoes the usual defanging of indicators, scanning left to right
// and replacing (case-insensitively):
//
//	[.] (.) {.} [dot] (dot) {dot}  → "."  (with one white-space character on
//	                                      either side absorbed: "a [dot] b")
//	[at] (at) {at} [@] (@)          → "@"  (likewise)
//	[://] → "://"   [:] → ":"   [/] → "/"
//	hxxp → http, fxp → ftp, sfxp → sftp (each at a word start)
//	"2 . 2" between two digits      → "2.2"
//
// Text without any of these is returned unchanged, without allocating.
func Refang(text string) string {
	var b strings.Builder
	copied := 0 // text[:copied] has been written to b (when b is in use)
	emit := func(from, to int, repl string) {
		if b.Cap() == 0 {
			b.Grow(len(text))
		}
		b.WriteString(text[copied:from])
		b.WriteString(repl)
		copied = to
	}
	for i := 0; i < len(text); {
		c := text[i]
		switch {
		case isSpace(c) && i+1 < len(text) && isOpen(text[i+1]):
			if n, repl := bracketForm(text, i+1, true); n > 0 {
				emit(i, i+1+n, repl)
				i += 1 + n
				continue
			}
		case isOpen(c):
			if n, repl := bracketForm(text, i, false); n > 0 {
				emit(i, i+n, repl)
				i += n
				continue
			}
		case (c == 'h' || c == 'H') && wordStart(text, i) && hasFoldPrefix(text[i:], "hxxp"):
			emit(i, i+4, "http")
			i += 4
			continue
		case (c == 'f' || c == 'F') && wordStart(text, i) && hasFoldPrefix(text[i:], "fxp"):
			emit(i, i+3, "ftp")
			i += 3
			continue
		case (c == 's' || c == 'S') && wordStart(text, i) && hasFoldPrefix(text[i:], "sfxp"):
			emit(i, i+4, "sftp")
			i += 4
			continue
		case isDigit(c) && i+4 < len(text) && text[i+1:i+4] == " . " && isDigit(text[i+4]):
			emit(i, i+5, text[i:i+1]+"."+text[i+4:i+5])
			i += 5
			continue
		}
		i++
	}
	if b.Cap() == 0 {
		return text
	}
	b.WriteString(text[copied:])
	return b.String()
}

var (
	dotForms   = []string{"[.]", "(.)", "{.}", "[dot]", "(dot)", "{dot}"}
	atForms    = []string{"[at]", "(at)", "{at}", "[@]", "(@)"}
	otherForms = []struct{ form, repl string }{{"[://]", "://"}, {"[:]", ":"}, {"[/]", "/"}}
)

// bracketForm matches a defanged form at text[i] (an opening bracket) and
// returns how many bytes from i it consumes (with a trailing white-space
// character for dot and at forms) and the replacement. afterSpace says a
// white-space character precedes i and will be absorbed, which only the dot
// and at forms do.
func bracketForm(text string, i int, afterSpace bool) (int, string) {
	for _, group := range []struct {
		forms []string
		repl  string
	}{{dotForms, "."}, {atForms, "@"}} {
		for _, f := range group.forms {
			if hasFoldPrefix(text[i:], f) {
				n := len(f)
				if i+n < len(text) && isSpace(text[i+n]) {
					n++
				}
				return n, group.repl
			}
		}
	}
	if afterSpace {
		return 0, ""
	}
	for _, f := range otherForms {
		if strings.HasPrefix(text[i:], f.form) {
			return len(f.form), f.repl
		}
	}
	return 0, ""
}

func isOpen(c byte) bool { return c == '[' || c == '(' || c == '{' }

// isSpace is RE2's \s: [\t\n\f\r ].
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r' }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// isWord is RE2's \w: [0-9A-Za-z_].
func isWord(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_'
}

// wordStart reports an RE2 \b before a word character at i.
func wordStart(s string, i int) bool { return i == 0 || !isWord(s[i-1]) }

// hasFoldPrefix reports whether s starts with prefix, ASCII case folded.
// prefix is lower case.
func hasFoldPrefix(s, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != prefix[i] {
			return false
		}
	}
	return true
}
