package gateway

import "strings"

// Hand-written scanners for the hot paths. Each find function returns
// exactly the spans (leftmost-first, non-overlapping) that the RE2 regex in
// its comment returns with FindAllStringIndex on the same input; the tests
// keep those regexes as the oracle and fuzz the two against each other.
// RE2's \b and \d are ASCII-only, so the scanners work on bytes: any byte
// ≥ 0x80 is a non-word character.

type span struct{ start, end int }

// Byte classes, one bit each, looked up in byteClass.
const (
	clsDigit    = 1 << iota // 0-9
	clsUpper                // A-Z
	clsLower                // a-z
	clsWord                 // RE2 \w: [0-9A-Za-z_]
	clsLocal                // e-mail local part: [a-zA-Z0-9._%+-]
	clsDomain               // [a-zA-Z0-9.-]
	clsHost                 // [A-Z0-9_-]
	clsPathUser             // [a-zA-Z0-9._-]
)

var byteClass = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		digit, upper, lower := '0' <= b && b <= '9', 'A' <= b && b <= 'Z', 'a' <= b && b <= 'z'
		alnum := digit || upper || lower
		set := func(bit uint8, ok bool) {
			if ok {
				t[c] |= bit
			}
		}
		set(clsDigit, digit)
		set(clsUpper, upper)
		set(clsLower, lower)
		set(clsWord, alnum || b == '_')
		set(clsLocal, alnum || strings.IndexByte("._%+-", b) >= 0)
		set(clsDomain, alnum || b == '.' || b == '-')
		set(clsHost, upper || digit || b == '_' || b == '-')
		set(clsPathUser, alnum || b == '.' || b == '_' || b == '-')
	}
	return t
}()

func isDigit(c byte) bool { return byteClass[c]&clsDigit != 0 }
func isUpper(c byte) bool { return byteClass[c]&clsUpper != 0 }
func isAlpha(c byte) bool { return byteClass[c]&(clsUpper|clsLower) != 0 }
func isAlnum(c byte) bool { return byteClass[c]&(clsUpper|clsLower|clsDigit) != 0 }
func isWord(c byte) bool  { return byteClass[c]&clsWord != 0 }

// boundary is RE2's \b at position i of s.
func boundary(s string, i int) bool {
	left := i > 0 && isWord(s[i-1])
	right := i < len(s) && isWord(s[i])
	return left != right
}

// skipWord returns the end of the word-character run starting at i. No \b
// lies inside such a run, so no \b-anchored match can start there.
func skipWord(s string, i int) int {
	for i < len(s) && isWord(s[i]) {
		i++
	}
	return i
}

func digitRun(s string, i int) int {
	j := i
	for j < len(s) && isDigit(s[j]) {
		j++
	}
	return j - i
}

// findIPv4: \b(?:\d{1,3}\.){3}\d{1,3}\b
//
// Every match starts with the digit run in front of its first '.', so the
// scanner visits dots (IndexByte) instead of every byte.
func findIPv4(s string, dst []span) []span {
	for from, last := 0, 0; ; {
		j := strings.IndexByte(s[from:], '.')
		if j < 0 {
			return dst
		}
		d := from + j
		from = d + 1
		p := d
		for p > last && isDigit(s[p-1]) {
			p--
		}
		if p == d || d-p > 3 || p > 0 && isWord(s[p-1]) {
			continue
		}
		if end, ok := matchIPv4(s, p); ok {
			dst = append(dst, span{p, end})
			from, last = end, end
		}
	}
}

// matchIPv4 matches four dot-separated runs of 1–3 digits at p. A longer
// digit run can never match: backtracking to fewer digits leaves a digit
// where the regex needs '.' or \b.
func matchIPv4(s string, p int) (int, bool) {
	for g := 0; g < 4; g++ {
		l := digitRun(s, p)
		if l < 1 || l > 3 {
			return 0, false
		}
		p += l
		if g < 3 {
			if p >= len(s) || s[p] != '.' {
				return 0, false
			}
			p++
		}
	}
	return p, p == len(s) || !isWord(s[p])
}

func isLocalChar(c byte) bool  { return byteClass[c]&clsLocal != 0 }
func isDomainChar(c byte) bool { return byteClass[c]&clsDomain != 0 }

// findEmails: \b[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\.[a-zA-Z]{2,}\b
//
// '@' is not a local-part character, so every match contains exactly one
// '@' and its possible starts are the \b positions of the local-part run in
// front of it.
func findEmails(s string, dst []span) []span {
	from := 0 // no match may start before the end of the previous one
	for a := 0; a < len(s); a++ {
		j := strings.IndexByte(s[a:], '@')
		if j < 0 {
			break
		}
		a += j
		ls := a
		for ls > from && isLocalChar(s[ls-1]) {
			ls--
		}
		start := -1
		for p := ls; p < a; p++ {
			if boundary(s, p) {
				start = p
				break
			}
		}
		if start < 0 {
			continue
		}
		if end, ok := emailDomainEnd(s, a+1); ok {
			dst = append(dst, span{start, end})
			from = end
			a = end - 1
		}
	}
	return dst
}

// emailDomainEnd matches [a-zA-Z0-9.-]+\.[a-zA-Z]{2,}\b at d. The greedy
// first run prefers the rightmost '.' whose following letter run has at
// least two letters and ends at a \b.
func emailDomainEnd(s string, d int) (int, bool) {
	de := d
	for de < len(s) && isDomainChar(s[de]) {
		de++
	}
	for q := de - 1; q > d; q-- {
		if s[q] != '.' {
			continue
		}
		l := q + 1
		for l < len(s) && isAlpha(s[l]) {
			l++
		}
		if l-(q+1) >= 2 && (l == len(s) || !isWord(s[l])) {
			return l, true
		}
	}
	return 0, false
}

func isHostChar(c byte) bool { return byteClass[c]&clsHost != 0 }

// findHosts: \b[A-Z][A-Z0-9_-]{2,15}(?:\.[a-zA-Z0-9.-]+)?\b
func findHosts(s string, dst []span) []span {
	for i := 0; i < len(s); {
		c := s[i]
		if !isWord(c) {
			i++
			continue
		}
		if !isUpper(c) || i > 0 && isWord(s[i-1]) {
			i = skipWord(s, i)
			continue
		}
		if end, ok := matchHost(s, i); ok {
			dst = append(dst, span{i, end})
			i = end
			continue
		}
		i = skipWord(s, i)
	}
	return dst
}

func matchHost(s string, p int) (int, bool) {
	r := p + 1
	for r < len(s) && r-(p+1) < 15 && isHostChar(s[r]) {
		r++
	}
	for k := r - (p + 1); k >= 2; k-- {
		pos := p + 1 + k
		// The class has no '.', so only the longest run can be followed
		// by the optional dotted group.
		if pos < len(s) && s[pos] == '.' {
			re := pos + 1
			for re < len(s) && isDomainChar(s[re]) {
				re++
			}
			for e := re; e >= pos+2; e-- {
				if boundary(s, e) {
					return e, true
				}
			}
		}
		if boundary(s, pos) {
			return pos, true
		}
	}
	return 0, false
}

// findUserHosts: \b[A-Za-z][A-Za-z0-9]{1,19}[-_][A-Za-z]{2,15}(?:\d{1,3})?\b
//
// The first class run can only be followed by the separator, so every
// match is anchored at a '-' or '_': the scanner visits separators and
// looks back for the run in front of each. Each class run is followed by a
// character of another class, so only the full run lengths can satisfy what
// follows.
func findUserHosts(s string, dst []span) []span {
	for from, last := 0, 0; ; {
		j := strings.IndexAny(s[from:], "-_")
		if j < 0 {
			return dst
		}
		q := from + j
		from = q + 1
		p := q
		for p > last && isAlnum(s[p-1]) {
			p--
		}
		if l := q - p; l < 2 || l > 20 || !isAlpha(s[p]) || p > 0 && isWord(s[p-1]) {
			continue
		}
		if end, ok := matchUserHostAfter(s, q); ok {
			dst = append(dst, span{p, end})
			from, last = end, end
		}
	}
}

// matchUserHostAfter matches [A-Za-z]{2,15}(?:\d{1,3})?\b after the
// separator at q.
func matchUserHostAfter(s string, q int) (int, bool) {
	pos := q + 1
	for pos < len(s) && isAlpha(s[pos]) {
		pos++
	}
	if l2 := pos - (q + 1); l2 < 2 || l2 > 15 {
		return 0, false
	}
	d := digitRun(s, pos)
	switch {
	case d == 0:
		return pos, boundary(s, pos)
	case d <= 3:
		return pos + d, boundary(s, pos+d)
	}
	return 0, false
}

// Path prefixes of stage 5.
const (
	homePrefix      = "/home/"
	usersPrefix     = "/Users/"
	winUsersSuffix  = `:\Users\`   // preceded by a drive letter
	jsonUsersSuffix = `:\\Users\\` // the same, JSON-escaped (Warden)
)

// findPathUsers returns the spans of capture group 1 of
// (?:/home/|/Users/|[A-Za-z]:\\Users\\|[A-Za-z]:\\\\Users\\\\)([a-zA-Z][a-zA-Z0-9._-]{1,20}).
// The fourth prefix (Warden) is the Windows one as it appears in JSON text,
// where every backslash is escaped.
func findPathUsers(s string, dst []span) []span {
	next := [4]int{-2, -2, -2, -2} // per prefix: -2 not searched yet, -1 none left
	lens := [4]int{len(homePrefix), len(usersPrefix), 1 + len(winUsersSuffix), 1 + len(jsonUsersSuffix)}
	for i := 0; i < len(s); {
		next[0] = nextIndex(s, homePrefix, i, next[0])
		next[1] = nextIndex(s, usersPrefix, i, next[1])
		next[2] = nextDriveUsers(s, winUsersSuffix, i, next[2])
		next[3] = nextDriveUsers(s, jsonUsersSuffix, i, next[3])
		start, capStart := -1, 0
		for k, at := range next {
			if at >= 0 && (start < 0 || at < start) {
				start, capStart = at, at+lens[k]
			}
		}
		if start < 0 {
			break
		}
		if end := matchPathUser(s, capStart); end > 0 {
			dst = append(dst, span{capStart, end})
			i = end
			continue
		}
		i = start + 1
	}
	return dst
}

// nextIndex returns the first index ≥ from of sub in s, reusing a cached
// answer while it is still ahead of from.
func nextIndex(s, sub string, from, cached int) int {
	if cached == -1 || cached >= from {
		return cached
	}
	if j := indexFrom(s, sub, from); j >= 0 {
		return j
	}
	return -1
}

// nextDriveUsers is nextIndex for a drive letter followed by suffix.
func nextDriveUsers(s, suffix string, from, cached int) int {
	if cached == -1 || cached >= from {
		return cached
	}
	for k := from + 1; ; {
		j := indexFrom(s, suffix, k)
		if j < 0 {
			return -1
		}
		if isAlpha(s[j-1]) {
			return j - 1
		}
		k = j + 1
	}
}

func indexFrom(s, sub string, from int) int {
	if from > len(s) {
		return -1
	}
	if j := indexString(s[from:], sub); j >= 0 {
		return from + j
	}
	return -1
}

func isPathUserChar(c byte) bool { return byteClass[c]&clsPathUser != 0 }

// matchPathUser matches [a-zA-Z][a-zA-Z0-9._-]{1,20} at c (greedy, no \b).
func matchPathUser(s string, c int) int {
	if c >= len(s) || !isAlpha(s[c]) {
		return 0
	}
	e := c + 1
	for e < len(s) && e-(c+1) < 20 && isPathUserChar(s[e]) {
		e++
	}
	if e-(c+1) < 1 {
		return 0
	}
	return e
}

// findHandles: @[a-zA-Z][a-zA-Z0-9._-]{1,20}\b
func findHandles(s string, dst []span) []span {
	for a := 0; a < len(s); a++ {
		j := strings.IndexByte(s[a:], '@')
		if j < 0 {
			break
		}
		a += j
		if a+1 >= len(s) || !isAlpha(s[a+1]) {
			continue
		}
		r := a + 2
		for r < len(s) && r-(a+2) < 20 && isPathUserChar(s[r]) {
			r++
		}
		for e := r; e >= a+3; e-- {
			if boundary(s, e) {
				dst = append(dst, span{a, e})
				a = e - 1
				break
			}
		}
	}
	return dst
}

// findTechniqueIDs: \b(T\d{4}(?:\.\d{3})?|AML\.T\d{4}(?:\.\d{3})?)\b
func findTechniqueIDs(s string, dst []span) []span {
	for i := 0; i < len(s); {
		c := s[i]
		if !isWord(c) {
			i++
			continue
		}
		if i > 0 && isWord(s[i-1]) || (c != 'T' && c != 'A') {
			i = skipWord(s, i)
			continue
		}
		if end, ok := matchTechniqueID(s, i); ok {
			dst = append(dst, span{i, end})
			i = end
			continue
		}
		i = skipWord(s, i)
	}
	return dst
}

func matchTechniqueID(s string, p int) (int, bool) {
	if s[p] == 'A' {
		if !hasPrefixAt(s, p, "AML.T") {
			return 0, false
		}
		p += 4
	}
	if p+5 > len(s) || digitRun(s, p+1) < 4 {
		return 0, false
	}
	base := p + 5
	if base+4 <= len(s) && s[base] == '.' && isDigit(s[base+1]) && isDigit(s[base+2]) && isDigit(s[base+3]) && boundary(s, base+4) {
		return base + 4, true
	}
	return base, boundary(s, base)
}

func hasPrefixAt(s string, p int, prefix string) bool {
	return len(s)-p >= len(prefix) && s[p:p+len(prefix)] == prefix
}

// isTechniqueID reports whether the whole of s is one technique id match.
func isTechniqueID(s string) bool {
	if s == "" || (s[0] != 'T' && s[0] != 'A') {
		return false
	}
	end, ok := matchTechniqueID(s, 0)
	return ok && end == len(s)
}

func indexString(s, sub string) int { return strings.Index(s, sub) }
