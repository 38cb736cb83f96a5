package ioc

import (
	"net/netip"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Each scanner below anchors on a cheap byte search ('.', "://", '@', ':',
// '\\', '/', word runs), parses the token at the anchor by hand and hands it
// to a validator. Its plain-regex counterpart is in oracle_test.go.

// ---- hosts: IPv4 addresses and domain names ----

// isHostRune is the character class of host-like runs: ASCII letters,
// digits, '_', '.', '-', and non-ASCII letters, numbers and marks (IDN).
func isHostRune(r rune) bool {
	if r < utf8.RuneSelf {
		c := byte(r)
		return isWord(c) || c == '.' || c == '-'
	}
	return r != utf8.RuneError && (unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.IsMark(r))
}

// hostRunAround returns the maximal host run containing s[i].
func hostRunAround(s string, i int) (int, int) {
	start := i
	for start > 0 {
		r, size := utf8.DecodeLastRuneInString(s[:start])
		if size == 1 && r == utf8.RuneError || !isHostRune(r) {
			break
		}
		start -= size
	}
	return start, hostRunEnd(s, i)
}

// hostRunEnd returns the end of the host run starting at or containing i.
func hostRunEnd(s string, i int) int {
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if !isHostRune(r) {
			break
		}
		i += size
	}
	return i
}

func scanHosts(s string, x *IOCs) {
	ip := collector{list: &x.IPv4}
	dom := collector{list: &x.Domain}
	for i := 0; i < len(s); {
		j := strings.IndexByte(s[i:], '.')
		if j < 0 {
			return
		}
		start, end := hostRunAround(s, i+j)
		hostAtom(s, start, end, &ip, &dom)
		i = end
		if i == start {
			i++
		}
	}
}

// hostAtom classifies one host run s[start:end].
func hostAtom(s string, start, end int, ip, dom *collector) {
	core := strings.Trim(s[start:end], ".-")
	if core == "" {
		return
	}
	if isDottedQuad(core) {
		if validIPv4(core) {
			ip.add(core)
		}
		return
	}
	if end < len(s) && s[end] == '@' {
		return // the local part of an e-mail address
	}
	tld, ok := domainTLD(core)
	if !ok {
		return
	}
	if fileExtTLDs[tld] && start > 0 && (s[start-1] == '\\' || s[start-1] == '/' && !(start > 1 && s[start-2] == '/')) {
		return // the last element of a file path ("/tmp/setup.sh")
	}
	dom.add(strings.ToLower(core))
}

// fileExtTLDs are TLDs that are also common file extensions; a name with
// one of them right after a path separator is a file, not a domain.
var fileExtTLDs = map[string]bool{
	"zip": true, "py": true, "sh": true, "mov": true, "pl": true, "md": true, "rs": true, "cc": true,
	"cs": true, "so": true, "ps": true, "ms": true, "sc": true, "ml": true, "pm": true, "bz": true,
	"gz": true, "ai": true, "app": true, "bat": true, "tf": true, "rar": true, "doc": true, "pdf": true,
}

// isDottedQuad reports whether s is four dot-separated runs of 1–3 digits.
func isDottedQuad(s string) bool {
	parts, digits := 0, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case isDigit(c):
			digits++
			if digits > 3 {
				return false
			}
		case c == '.':
			if digits == 0 {
				return false
			}
			parts++
			digits = 0
		default:
			return false
		}
	}
	return parts == 3 && digits > 0
}

// validIPv4 accepts what net/netip accepts (no leading zeros, octets ≤ 255).
func validIPv4(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && a.Is4()
}

// domainTLD validates a domain name (already trimmed of leading and trailing
// dots and hyphens) and returns its lower-cased TLD.
func domainTLD(name string) (string, bool) {
	if len(name) > 253 {
		return "", false
	}
	last := strings.LastIndexByte(name, '.')
	if last < 0 {
		return "", false
	}
	for label := range strings.SplitSeq(name, ".") {
		if !validLabel(label) {
			return "", false
		}
	}
	tld := name[last+1:]
	if mixedASCIICase(tld) {
		// "System.Net", "PowerShell.Security": code, not a domain.
		return "", false
	}
	tld = strings.ToLower(tld)
	if !tldSet[tld] {
		return "", false
	}
	return tld, true
}

func validLabel(l string) bool {
	if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for _, r := range l {
		if r < utf8.RuneSelf {
			if !isASCIILetter(byte(r)) && !isDigit(byte(r)) && r != '-' {
				return false
			}
		} else if r == utf8.RuneError || !unicode.IsLetter(r) && !unicode.IsNumber(r) && !unicode.IsMark(r) {
			return false
		}
	}
	return true
}

func mixedASCIICase(s string) bool {
	upper, lower := false, false
	for i := 0; i < len(s); i++ {
		upper = upper || 'A' <= s[i] && s[i] <= 'Z'
		lower = lower || 'a' <= s[i] && s[i] <= 'z'
	}
	return upper && lower
}

var tldSet = func() map[string]bool {
	m := make(map[string]bool, len(tldList))
	for _, t := range tldList {
		m[t] = true
	}
	return m
}()

// validHost accepts a URL host: a domain name, an IPv4 address or a
// bracketed IPv6 address.
func validHost(h string) bool {
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		a, err := netip.ParseAddr(h[1 : len(h)-1])
		return err == nil && a.Is6() && a.Zone() == ""
	}
	if isDottedQuad(h) {
		return validIPv4(h)
	}
	_, ok := domainTLD(h)
	return ok
}

// ---- URLs ----

var urlSchemes = map[string]bool{
	"http": true, "https": true, "ftp": true, "ftps": true, "sftp": true, "ws": true, "wss": true,
	"file": true, "telnet": true, "ssh": true, "smb": true,
}

// isURLRune is the character class of a URL: RFC 3986 characters except
// ',' and '\” (which delimit far more often than they belong), and
// non-ASCII letters, numbers and marks (IRIs).
func isURLRune(r rune) bool {
	if r < utf8.RuneSelf {
		c := byte(r)
		return isWord(c) || strings.IndexByte("-.~:/?#[]@!$&()*+;=%", c) >= 0
	}
	return r != utf8.RuneError && (unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.IsMark(r))
}

func scanURLs(s string, x *IOCs) {
	c := collector{list: &x.URL}
	for i := 0; i < len(s); {
		j := strings.Index(s[i:], "://")
		if j < 0 {
			return
		}
		colon := i + j
		st := colon
		for st > i && isASCIILetter(s[st-1]) {
			st--
		}
		if st == colon || st > 0 && isWord(s[st-1]) || !urlSchemes[strings.ToLower(s[st:colon])] {
			i = colon + 1
			continue
		}
		end := colon + 3
		for end < len(s) {
			r, size := utf8.DecodeRuneInString(s[end:])
			if !isURLRune(r) {
				break
			}
			end += size
		}
		if u, ok := finishURL(s[st:end], colon-st); ok {
			c.add(u)
		}
		i = end
	}
}

func isASCIILetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// finishURL trims trailing punctuation from a URL candidate, validates its
// host and port, and lower-cases its scheme.
func finishURL(u string, schemeLen int) (string, bool) {
	u = trimURLTail(u)
	rest := u[schemeLen+3:]
	auth := rest
	if k := strings.IndexAny(rest, "/?#"); k >= 0 {
		auth = rest[:k]
	}
	if k := strings.LastIndexByte(auth, '@'); k >= 0 {
		auth = auth[k+1:]
	}
	host, port := auth, ""
	if strings.HasPrefix(auth, "[") {
		k := strings.IndexByte(auth, ']')
		if k < 0 {
			return "", false
		}
		host, port = auth[:k+1], auth[k+1:]
		if port != "" && port[0] != ':' {
			return "", false
		}
		port = strings.TrimPrefix(port, ":")
		if port == "" && strings.HasSuffix(auth, ":") {
			return "", false
		}
	} else if k := strings.LastIndexByte(auth, ':'); k >= 0 {
		host, port = auth[:k], auth[k+1:]
		if port == "" {
			return "", false
		}
	}
	if port != "" && !validPort(port) || !validHost(host) {
		return "", false
	}
	return strings.ToLower(u[:schemeLen]) + u[schemeLen:], true
}

func validPort(p string) bool {
	if len(p) > 5 {
		return false
	}
	n := 0
	for i := 0; i < len(p); i++ {
		if !isDigit(p[i]) {
			return false
		}
		n = n*10 + int(p[i]-'0')
	}
	return n <= 65535
}

// trimURLTail drops trailing sentence punctuation and unbalanced closing
// brackets.
func trimURLTail(u string) string {
	for len(u) > 0 {
		switch c := u[len(u)-1]; c {
		case '.', ':', ';', '!', '?':
			u = u[:len(u)-1]
			continue
		case ')':
			if strings.Count(u, "(") < strings.Count(u, ")") {
				u = u[:len(u)-1]
				continue
			}
		case ']':
			if strings.Count(u, "[") < strings.Count(u, "]") {
				u = u[:len(u)-1]
				continue
			}
		}
		return u
	}
	return u
}

// ---- e-mail addresses ----

func isLocalByte(c byte) bool {
	return isWord(c) && c != '_' || c == '.' || c == '_' || c == '%' || c == '+' || c == '-'
}

func scanEmails(s string, x *IOCs) {
	c := collector{list: &x.Email}
	lastEnd := 0
	for i := 0; i < len(s); {
		j := strings.IndexByte(s[i:], '@')
		if j < 0 {
			return
		}
		at := i + j
		ls := at
		for ls > lastEnd && isLocalByte(s[ls-1]) {
			ls--
		}
		de := hostRunEnd(s, at+1)
		if ls == at || de == at+1 {
			i = at + 1
			continue
		}
		lastEnd, i = de, de
		if e, ok := emailFrom(s[ls:at], s[at+1:de]); ok {
			c.add(e)
		}
	}
}

// emailFrom validates the parts of an e-mail candidate: no dot at either
// end of the local part, a valid domain (trailing dots and hyphens dropped).
func emailFrom(local, domain string) (string, bool) {
	domain = strings.Trim(domain, ".-")
	if local[0] == '.' || local[len(local)-1] == '.' {
		return "", false
	}
	if _, ok := domainTLD(domain); !ok {
		return "", false
	}
	return strings.ToLower(local + "@" + domain), true
}

// ---- word runs: hashes, CVE and ATT&CK ids ----

func scanWords(s string, x *IOCs) {
	md5 := collector{list: &x.MD5}
	sha1 := collector{list: &x.SHA1}
	sha256 := collector{list: &x.SHA256}
	sha512 := collector{list: &x.SHA512}
	cve := collector{list: &x.CVE}
	attack := collector{list: &x.Attack}
	for i := 0; i < len(s); {
		if !isWord(s[i]) {
			i++
			continue
		}
		j := i + 1
		for j < len(s) && isWord(s[j]) {
			j++
		}
		run := s[i:j]
		switch len(run) {
		case 32, 40, 64, 128:
			if allHex(run) {
				h := strings.ToLower(run)
				switch len(run) {
				case 32:
					md5.add(h)
				case 40:
					sha1.add(h)
				case 64:
					sha256.add(h)
				default:
					sha512.add(h)
				}
			}
		}
		if id, ok := attackID(s, i, j); ok {
			attack.add(id)
		}
		if id, ok := cveID(s, i); ok {
			cve.add(id)
		}
		i = j
	}
}

func allHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isHex(s[i]) {
			return false
		}
	}
	return true
}

func isHex(c byte) bool { return isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

// attackID recognises the word run s[i:j] as an ATT&CK technique (T0xxx or
// T1xxx, optionally .xxx) or tactic (TAxxxx) id. A sub-technique part of
// other than three digits disqualifies the id.
func attackID(s string, i, j int) (string, bool) {
	run := s[i:j]
	switch {
	case len(run) == 6 && hasFoldPrefix(run, "ta") && allDigits(run[2:]):
		return "TA" + run[2:], true
	case len(run) == 5 && (run[0] == 't' || run[0] == 'T') && (run[1] == '0' || run[1] == '1') && allDigits(run[1:]):
		id := "T" + run[1:]
		if j < len(s) && s[j] == '.' && j+1 < len(s) && isDigit(s[j+1]) {
			if j+4 <= len(s) && allDigits(s[j+1:j+4]) && (j+4 == len(s) || !isWord(s[j+4])) {
				return id + s[j:j+4], true
			}
			return "", false
		}
		return id, true
	}
	return "", false
}

// cveID parses CVE-YYYY-NNNN[NNN] (or "CVE YYYY-…", "CVEYYYY-…") at a word
// start.
func cveID(s string, i int) (string, bool) {
	if !hasFoldPrefix(s[i:], "cve") {
		return "", false
	}
	p := i + 3
	if p < len(s) && (s[p] == '-' || s[p] == ' ') {
		p++
	}
	if p+5 > len(s) || !allDigits(s[p:p+4]) || s[p+4] != '-' {
		return "", false
	}
	year := s[p : p+4]
	q := p + 5
	k := q
	for k < len(s) && isDigit(s[k]) {
		k++
	}
	if n := k - q; n < 4 || n > 7 || k < len(s) && isWord(s[k]) {
		return "", false
	}
	return "CVE-" + year + "-" + s[q:k], true
}

// ---- IPv6 ----

func isV6Byte(c byte) bool { return isHex(c) || c == ':' || c == '.' }

func scanIPv6(s string, x *IOCs) {
	c := collector{list: &x.IPv6}
	for i := 0; i < len(s); {
		j := strings.IndexByte(s[i:], ':')
		if j < 0 {
			return
		}
		start, end := i+j, i+j
		for start > i && isV6Byte(s[start-1]) {
			start--
		}
		for end < len(s) && isV6Byte(s[end]) {
			end++
		}
		if a, ok := ipv6Candidate(s, start, end); ok {
			c.add(a)
		}
		i = end
	}
}

// ipv6Candidate validates the run s[start:end] of hex digits, colons and
// dots. A run glued to a preceding word ("ip6:2001:db8::1") loses its first
// group; one followed by a word character or a zone ('%') is rejected.
func ipv6Candidate(s string, start, end int) (string, bool) {
	if end < len(s) && (isWord(s[end]) || s[end] == '%') {
		return "", false
	}
	run := s[start:end]
	if start > 0 && isWord(s[start-1]) {
		k := strings.IndexByte(run, ':')
		run = run[k+1:]
		if run == "" || run[0] == ':' {
			return "", false
		}
	}
	run = strings.TrimRight(run, ".")
	if strings.Count(run, ":") < 2 || !strings.ContainsAny(run, "0123456789abcdefABCDEF") {
		return "", false
	}
	a, err := netip.ParseAddr(run)
	if err != nil || !a.Is6() {
		return "", false
	}
	return strings.ToLower(run), true
}

// ---- Windows file paths and registry keys ----

// hives are the registry root keys, matched case-insensitively.
var hives = []string{
	"hkey_local_machine", "hkey_current_user", "hkey_classes_root", "hkey_users", "hkey_current_config",
	"hklm", "hkcu", "hkcr", "hku", "hkcc",
}

// isWinSegRune is a character of a Windows path or registry segment.
func isWinSegRune(r rune) bool {
	if r < utf8.RuneSelf {
		c := byte(r)
		return isWord(c) || strings.IndexByte("!#$%()+-.=@[]^{}~", c) >= 0
	}
	return r != utf8.RuneError && (unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.IsMark(r))
}

// isPOSIXSegRune is a character of a POSIX path segment.
func isPOSIXSegRune(r rune) bool {
	if r < utf8.RuneSelf {
		c := byte(r)
		return isWord(c) || strings.IndexByte(".-+~@%=", c) >= 0
	}
	return r != utf8.RuneError && (unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.IsMark(r))
}

func scanBackslash(s string, x *IOCs) {
	paths := collector{list: &x.FilePath}
	reg := collector{list: &x.Registry}
	scanSeparated(s, '\\', winPathStart, isWinSegRune, ".)]}", true, nil, &paths)
	scanSeparated(s, '\\', registryStart, isWinSegRune, ".)]}", true, startsHive, &reg)
}

func scanPOSIX(s string, x *IOCs) {
	paths := collector{list: &x.FilePath}
	scanSeparated(s, '/', posixStart, isPOSIXSegRune, ".", false, nil, &paths)
}

// startFunc inspects the text before the separator at k (not before
// lastEnd) and returns where the token starts and how many segments it
// needs at least, or -1.
type startFunc func(s string, k, lastEnd int) (start, minSegs int)

// scanSeparated finds tokens made of a prefix and sep-separated segments.
// With spaces, all but the last segment may hold single spaces between words
// ("Program Files"); the last holds none. The last segment loses trailing
// characters in trim. A word after a space for which stop reports true
// starts the next token instead ("HKLM\A HKCU\B" is two keys).
func scanSeparated(s string, sep byte, startAt startFunc, segRune func(rune) bool, trim string, spaces bool, stop func(string, int) bool, c *collector) {
	lastEnd := 0
	for i := 0; i < len(s); {
		j := strings.IndexByte(s[i:], sep)
		if j < 0 {
			return
		}
		k := i + j
		start, minSegs := startAt(s, k, lastEnd)
		if start < 0 {
			i = k + 1
			continue
		}
		end, segs := parseSegments(s, k, sep, segRune, trim, spaces, stop)
		if segs < minSegs {
			i = k + 1
			continue
		}
		c.add(s[start:end])
		lastEnd, i = end, end
	}
}

// parseSegments parses (sep+ SEGSP)* sep+ SEGFIN from k, the grammar's
// greedy reading, and returns the end and the number of non-empty segments.
func parseSegments(s string, k int, sep byte, segRune func(rune) bool, trim string, spaces bool, stop func(string, int) bool) (int, int) {
	pos, segs := k, 0
	for {
		for pos < len(s) && s[pos] == sep {
			pos++
		}
		segStart := pos
		firstSpace := -1
		for pos < len(s) {
			r, size := utf8.DecodeRuneInString(s[pos:])
			if segRune(r) {
				pos += size
				continue
			}
			if spaces && r == ' ' && pos > segStart && s[pos-1] != ' ' && pos+1 < len(s) {
				if r2, _ := utf8.DecodeRuneInString(s[pos+1:]); segRune(r2) && (stop == nil || !stop(s, pos+1)) {
					if firstSpace < 0 {
						firstSpace = pos
					}
					pos++
					continue
				}
			}
			break
		}
		if pos > segStart && pos < len(s) && s[pos] == sep {
			segs++
			continue // an intermediate segment
		}
		end := pos
		if firstSpace >= 0 {
			end = firstSpace
		}
		for end > segStart && strings.IndexByte(trim, s[end-1]) >= 0 {
			end--
		}
		if end > segStart {
			segs++
		}
		return end, segs
	}
}

// The start functions treat the end of the previous token (lastEnd) like
// the start of the text: a token may follow another directly.

// winPathStart recognises C:\, \\server, %VAR%\, ..\ and .\ prefixes.
func winPathStart(s string, k, lastEnd int) (int, int) {
	notWordAt := func(i int) bool { return i < lastEnd || !isWord(s[i]) }
	switch {
	case k >= lastEnd+2 && s[k-1] == ':' && isASCIILetter(s[k-2]) && notWordAt(k-3):
		return k - 2, 1
	case k >= lastEnd+1 && s[k-1] == '%':
		p := k - 2
		for p >= lastEnd && (isWord(s[p]) || s[p] == '(' || s[p] == ')') {
			p--
		}
		if p >= lastEnd && p < k-2 && s[p] == '%' && notWordAt(p-1) {
			return p, 1
		}
	case k >= lastEnd+2 && s[k-1] == '.' && s[k-2] == '.' && (k-3 < lastEnd || !isWord(s[k-3]) && s[k-3] != '.'):
		return k - 2, 1
	case k >= lastEnd+1 && s[k-1] == '.' && (k-2 < lastEnd || !isWord(s[k-2]) && s[k-2] != '.'):
		return k - 1, 1
	case k+1 < len(s) && s[k+1] == '\\' && (k == lastEnd || !isWord(s[k-1]) && strings.IndexByte("\\:%.", s[k-1]) < 0):
		return k, 2
	}
	return -1, 0
}

// startsHive reports whether a hive name followed by ':' or '\\' starts at
// s[i].
func startsHive(s string, i int) bool {
	for _, h := range hives {
		if hasFoldPrefix(s[i:], h) && i+len(h) < len(s) && (s[i+len(h)] == '\\' || s[i+len(h)] == ':') {
			return true
		}
	}
	return false
}

// registryStart recognises a hive name (optionally followed by ':') right
// before the backslash.
func registryStart(s string, k, lastEnd int) (int, int) {
	e := k
	if e > lastEnd && s[e-1] == ':' {
		e--
	}
	p := e
	for p > lastEnd && isWord(s[p-1]) {
		p--
	}
	w := s[p:e]
	for _, h := range hives {
		if len(w) == len(h) && hasFoldPrefix(w, h) {
			return p, 1
		}
	}
	return -1, 0
}

// posixStart recognises '/' (at least two segments), '~/', './' and '../'
// (one) after white space, a quote, ':' or '=' or an opening delimiter. A
// "//" start is a URL authority, not a path.
func posixStart(s string, k, lastEnd int) (int, int) {
	if k+1 < len(s) && s[k+1] == '/' {
		return -1, 0
	}
	start, minSegs := k, 2
	switch {
	case k > lastEnd && s[k-1] == '~':
		start, minSegs = k-1, 1
	case k > lastEnd+1 && s[k-1] == '.' && s[k-2] == '.':
		start, minSegs = k-2, 1
	case k > lastEnd && s[k-1] == '.':
		start, minSegs = k-1, 1
	}
	if start > lastEnd && !isPOSIXBoundary(s[start-1]) {
		return -1, 0
	}
	return start, minSegs
}

func isPOSIXBoundary(c byte) bool {
	return isSpace(c) || strings.IndexByte("\"'=(<[,;|>:", c) >= 0
}
