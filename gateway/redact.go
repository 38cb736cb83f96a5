package gateway

import (
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Placeholder prefixes of the pattern stages.
const (
	PrefixIP   = "IP_SRC"
	PrefixUser = "USER"
	PrefixHost = "HOST"
)

// ExtraValue is a value the caller knows to be personal, pseudonymised with
// its own prefix before the pattern stages run.
type ExtraValue struct {
	Value  string `json:"value"`
	Prefix string `json:"prefix"`
}

// RedactionMap is a reversible real value ↔ placeholder map with one counter
// per prefix. It is safe for concurrent use.
type RedactionMap struct {
	mu       sync.Mutex        // guards every field
	forward  map[string]string // real → placeholder
	reverse  map[string]string // placeholder → real
	counters map[string]int
	// index caches the restoration index; mappings are never removed, so it
	// is current while its size equals len(reverse).
	index *restoreIndex
}

// initialMapCapacity fits the placeholders of a typical alert without
// rehashing.
const initialMapCapacity = 16

// NewRedactionMap returns an empty map.
func NewRedactionMap() *RedactionMap {
	return &RedactionMap{forward: make(map[string]string, initialMapCapacity),
		reverse: make(map[string]string, initialMapCapacity), counters: make(map[string]int, 4)}
}

// GetOrCreate returns real's placeholder, creating <prefix>_<n> (n zero-padded
// to at least 3 digits) from the prefix's next counter value when real has
// none. An existing mapping is returned even if it has another prefix.
func (m *RedactionMap) GetOrCreate(real, prefix string) string {
	return m.getOrCreate(real, prefix, nil)
}

// getOrCreate is GetOrCreate that skips candidate placeholders for which
// avoid is true (the counter moves on).
func (m *RedactionMap) getOrCreate(real, prefix string, avoid func(string) bool) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if p, ok := m.forward[real]; ok {
		return p
	}
	for {
		m.counters[prefix]++
		p := formatPlaceholder(prefix, m.counters[prefix])
		if _, taken := m.reverse[p]; taken || avoid != nil && avoid(p) {
			continue
		}
		m.forward[real] = p
		m.reverse[p] = real
		return p
	}
}

func formatPlaceholder(prefix string, n int) string {
	digits := strconv.Itoa(n)
	if len(digits) < 3 {
		digits = "000"[len(digits):] + digits
	}
	return prefix + "_" + digits
}

// Restore returns the real value of a placeholder.
func (m *RedactionMap) Restore(placeholder string) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.reverse[placeholder]
	return v, ok
}

func (m *RedactionMap) isPlaceholder(s string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.reverse[s]
	return ok
}

// Mappings returns a copy of real → placeholder.
func (m *RedactionMap) Mappings() map[string]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return copyMap(m.forward)
}

// ReverseMappings returns a copy of placeholder → real.
func (m *RedactionMap) ReverseMappings() map[string]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return copyMap(m.reverse)
}

// Counter returns the last counter value issued for prefix (0 if none).
func (m *RedactionMap) Counter(prefix string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.counters[prefix]
}

// Len is the number of mappings.
func (m *RedactionMap) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.forward)
}

func copyMap(src map[string]string) map[string]string {
	out := make(map[string]string, len(src))
	for k, v := range src {
		out[k] = v
	}
	return out
}

// hostExclusions are generic role words: a host-name candidate with one of
// them as a part (WEB-SERVER, DB-ROUTER) names a role, not a person.
var hostExclusions = setOf("SERVER", "ROUTER", "SWITCH", "PRINTER", "BUILD", "TEST", "PROD", "DEV",
	"STAGE", "STAGING", "BACKUP", "PROXY", "GATEWAY", "MONITOR", "ADMIN", "NODE", "WORKER", "MASTER",
	"SLAVE", "PRIMARY", "SECONDARY", "REPLICA", "CLUSTER")

// ecsExclusions are Elastic Common Schema field names that look like chat
// handles.
var ecsExclusions = setOf("@timestamp", "@version", "@metadata", "@message", "@fields", "@source", "@tags", "@type")

// deviceWords (Warden) are the device kinds of "<user>-<device>" names
// (jdoe-Workstation, alice_laptop2). Stage 4 redacts only those, so ordinary
// hyphenated words (follow-up, read-only, Sign-in) and field names
// (user_name, process_name) stay readable.
var deviceWords = setOf("LAPTOP", "WORKSTATION", "DESKTOP", "PC", "MAC", "MACBOOK", "MBP", "WS", "WKS",
	"WKSTN", "NB", "NOTEBOOK", "TABLET", "PHONE", "MOBILE", "IPHONE", "IPAD", "ANDROID", "VM", "VDI",
	"HOST", "BOX", "COMPUTER", "DEVICE", "MACHINE", "WIN", "WINDOWS", "LINUX", "SURFACE", "THINKPAD", "LT", "DT")

// fileExtensions (Warden): NAME.EXT with an all-letter NAME and one of these
// extensions is a file name (LSASS.EXE, NTDS.DIT), not a host.
var fileExtensions = setOf("EXE", "DLL", "SYS", "BAT", "CMD", "PS1", "PSM1", "VBS", "VBE", "JS", "JSE", "WSF",
	"HTA", "MSI", "SCR", "LNK", "JAR", "PY", "SH", "TXT", "LOG", "DAT", "TMP", "INI", "CFG", "XML", "JSON",
	"CSV", "ZIP", "RAR", "7Z", "ISO", "IMG", "DOC", "DOCX", "DOCM", "XLS", "XLSX", "XLSM", "PPT", "PPTX",
	"PDF", "RTF", "EVTX", "ETL", "PF", "DIT", "HIV", "REG", "CPL", "OCX", "DRV", "EML", "MSG", "PST", "OST")

// vocabularyTokens (Warden) are upper-case tokens with digits or separators
// that name algorithms, encodings, protocols or architectures, never hosts.
var vocabularyTokens = setOf("MD4", "MD5", "SHA1", "SHA224", "SHA256", "SHA384", "SHA512", "SHA-1", "SHA-224",
	"SHA-256", "SHA-384", "SHA-512", "SHA3-256", "SHA3-512", "AES128", "AES192", "AES256", "AES-128", "AES-192",
	"AES-256", "RC4", "DES3", "RSA-2048", "RSA-4096", "X86", "X64", "X86_64", "AMD64", "ARM64", "WIN32", "WIN64",
	"UTF-8", "UTF-16", "UTF-16LE", "UTF-32", "IPV4", "IPV6", "HTTP2", "HTTP3", "TLS1", "TLSV1", "SSLV2", "SSLV3",
	"SMB1", "SMB2", "SMB3", "SMBV1", "SMBV2", "SMBV3", "NTLMV1", "NTLMV2", "KRB5", "PKCS7", "PKCS12", "X509",
	"BASE64", "B64", "ROT13", "WPA2", "WPA3", "OAUTH2", "HMAC-SHA256", "ECDSA-P256", "P-256", "P-384")

func setOf(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

// isIdentifierScheme (Warden) reports tokens of identifier schemes that the
// host-name pattern would otherwise catch: CVE/CWE/CAPEC/GHSA ids, Microsoft
// bulletins (MS17-010) and KB articles, RFC numbers, Windows SIDs, and MITRE
// object ids (techniques, tactics, software, groups, mitigations, data
// sources, campaigns; ATT&CK and ATLAS).
func isIdentifierScheme(tok string) bool {
	switch tok[0] {
	case 'A', 'C', 'D', 'G', 'K', 'M', 'R', 'S', 'T':
	default:
		return false
	}
	if isTechniqueID(tok) {
		return true
	}
	for _, p := range [...]string{"CVE-", "CWE-", "CAPEC-", "GHSA-", "KB", "RFC"} {
		if rest, ok := strings.CutPrefix(tok, p); ok && rest != "" && (p == "GHSA-" || allDigitsDash(rest)) {
			return true
		}
	}
	if len(tok) == 8 && strings.HasPrefix(tok, "MS") && isDigit(tok[2]) && isDigit(tok[3]) && tok[4] == '-' && allDigitsDash(tok[5:]) {
		return true
	}
	if rest, ok := strings.CutPrefix(tok, "S-1-"); ok && allDigitsDash(rest) {
		// A Windows security identifier: replacing the part the host-name
		// pattern sees ("S-1-5-21") would leave the unique part in clear.
		return true
	}
	t := strings.TrimPrefix(tok, "AML.")
	for _, p := range [...]string{"TA", "DS", "CS", "T", "S", "G", "M", "C"} {
		if rest, ok := strings.CutPrefix(t, p); ok && isMITRENumber(rest) {
			return true
		}
	}
	return false
}

// placeholderShaped reports tokens shaped like the pattern stages'
// placeholders (USER_001). Such a token in the input is left verbatim: it is
// never issued by this redaction (look-alike avoidance), so it restores to
// itself.
func placeholderShaped(tok string) bool {
	for _, p := range [...]string{PrefixIP, PrefixUser, PrefixHost} {
		if rest, ok := strings.CutPrefix(tok, p+"_"); ok && len(rest) >= 3 && digitRun(rest, 0) == len(rest) {
			return true
		}
	}
	return false
}

func allDigitsDash(s string) bool {
	if s == "" || !isDigit(s[0]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) && s[i] != '-' {
			return false
		}
	}
	return true
}

// isMITRENumber is \d{4}(\.\d{3})?.
func isMITRENumber(s string) bool {
	switch len(s) {
	case 4:
		return digitRun(s, 0) == 4
	case 8:
		return digitRun(s, 0) == 4 && s[4] == '.' && digitRun(s, 5) == 3
	}
	return false
}

func allLetters(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isAlpha(s[i]) {
			return false
		}
	}
	return s != ""
}

func upperASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if 'a' <= s[i] && s[i] <= 'z' {
			return strings.ToUpper(s)
		}
	}
	return s
}

func trimTrailingDigits(s string) string {
	for len(s) > 0 && isDigit(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

// hostCandidate decides a stage-3 match. It returns the span to replace
// (trailing '-'/'_' given back: a host name does not end in a separator, so
// JSMITH-WORKSTATION becomes HOST_001-WORKSTATION) or false when the match
// is kept.
func hostCandidate(text string, sp span) (span, bool) {
	for sp.end > sp.start && (text[sp.end-1] == '-' || text[sp.end-1] == '_') {
		sp.end--
	}
	tok := text[sp.start:sp.end]
	base, ext, dotted := strings.Cut(tok, ".")
	switch {
	case allLetters(tok):
		// (a) An all-letter token is a word (CRITICAL, POWERSHELL,
		// KERBEROS), never a host name. The reference skipped only ≤ 5.
		return sp, false
	case isIdentifierScheme(tok), vocabularyTokens[tok], placeholderShaped(tok):
		return sp, false
	case dotted && allLetters(base) && fileExtensions[upperASCII(ext)]:
		return sp, false
	}
	// (b) A generic role word as a part of the name.
	for part := range strings.FieldsFuncSeq(upperASCII(trimTrailingDigits(base)), isNameSeparator) {
		if hostExclusions[part] {
			return sp, false
		}
	}
	return sp, true
}

func isNameSeparator(r rune) bool { return r == '-' || r == '_' }

// userHostCandidate decides a stage-4 match: the part after the first
// separator (upper-cased, trailing digits removed) must be a device word and
// not a role word.
func userHostCandidate(text string, sp span) (span, bool) {
	tok := text[sp.start:sp.end]
	i := strings.IndexAny(tok, "-_")
	second := upperASCII(trimTrailingDigits(tok[i+1:]))
	return sp, deviceWords[second] && !hostExclusions[second]
}

func handleCandidate(text string, sp span) (span, bool) {
	tok := text[sp.start:sp.end]
	return sp, !ecsExclusions[strings.ToLower(tok)]
}

func always(_ string, sp span) (span, bool) { return sp, true }

// piiStage is one pattern stage of RedactPII.
type piiStage struct {
	name   string
	prefix string
	find   func(s string, dst []span) []span
	accept func(text string, sp span) (span, bool)
}

// piiStages are the pattern stages in order (§3.5.1 stages 1–6).
var piiStages = [...]piiStage{
	{"ipv4", PrefixIP, findIPv4, always},
	{"email", PrefixUser, findEmails, always},
	{"host", PrefixHost, findHosts, hostCandidate},
	{"user_host", PrefixHost, findUserHosts, userHostCandidate},
	{"path_user", PrefixUser, findPathUsers, always},
	{"handle", PrefixUser, findHandles, handleCandidate},
}

// mayMatch are cheap necessary conditions for a stage to find anything.
func stageMayMatch(i int, s string) bool {
	switch i {
	case 0:
		return strings.IndexByte(s, '.') >= 0
	case 1, 5:
		return strings.IndexByte(s, '@') >= 0
	case 4:
		return strings.Contains(s, homePrefix) || strings.Contains(s, usersPrefix) || strings.Contains(s, "Users\\")
	}
	return true
}

// redaction is one RedactPII run: the map, the original text (for
// look-alike avoidance) and the spans of placeholders already inserted
// (later stages never touch them).
type redaction struct {
	m         *RedactionMap
	orig      string
	protected []span
	buf       []span
	// taken[prefix] holds every digit string d (≥ 3 digits) such that
	// prefix_d occurs in orig, so that issuing a placeholder never needs a
	// scan of the text: one pass per prefix builds it.
	taken map[string]map[string]bool
}

// maxPlaceholderDigits bounds the digit strings recorded per look-alike; no
// counter gets that far.
const maxPlaceholderDigits = 19

func (r *redaction) takenFor(prefix string) map[string]bool {
	if t, ok := r.taken[prefix]; ok {
		return t
	}
	var t map[string]bool
	marker := prefix + "_"
	for i := 0; ; {
		j := strings.Index(r.orig[i:], marker)
		if j < 0 {
			break
		}
		d := i + j + len(marker)
		n := min(digitRun(r.orig, d), maxPlaceholderDigits)
		for l := 3; l <= n; l++ {
			if t == nil {
				t = map[string]bool{}
			}
			t[r.orig[d:d+l]] = true
		}
		i = i + j + 1
	}
	if r.taken == nil {
		r.taken = map[string]map[string]bool{}
	}
	r.taken[prefix] = t
	return t
}

func (r *redaction) placeholder(real, prefix string) string {
	t := r.takenFor(prefix)
	if len(t) == 0 {
		return r.m.getOrCreate(real, prefix, nil)
	}
	return r.m.getOrCreate(real, prefix, func(p string) bool { return t[p[len(prefix)+1:]] })
}

// apply replaces the accepted spans of text (sorted, non-overlapping) by
// their placeholders and shifts the protected spans.
func (r *redaction) apply(text string, matches []span, prefix string, accept func(string, span) (span, bool)) string {
	var b strings.Builder
	last, delta, pi, qi := 0, 0, 0, 0
	var prot []span
	for _, sp := range matches {
		if prot == nil {
			prot = make([]span, 0, len(r.protected)+len(matches))
		}
		sp, ok := accept(text, sp)
		if !ok || sp.end <= sp.start {
			continue
		}
		// Matches and protected spans are both sorted: one forward pointer
		// finds the first protected span that could overlap.
		for qi < len(r.protected) && r.protected[qi].end <= sp.start {
			qi++
		}
		if qi < len(r.protected) && r.protected[qi].start < sp.end || r.m.isPlaceholder(text[sp.start:sp.end]) {
			continue
		}
		ph := r.placeholder(text[sp.start:sp.end], prefix)
		if b.Cap() == 0 {
			b.Grow(len(text) + 16*len(matches))
		}
		for ; pi < len(r.protected) && r.protected[pi].start < sp.start; pi++ {
			prot = append(prot, span{r.protected[pi].start + delta, r.protected[pi].end + delta})
		}
		b.WriteString(text[last:sp.start])
		at := b.Len()
		b.WriteString(ph)
		prot = append(prot, span{at, at + len(ph)})
		delta += len(ph) - (sp.end - sp.start)
		last = sp.end
	}
	if b.Cap() == 0 {
		return text
	}
	for ; pi < len(r.protected); pi++ {
		prot = append(prot, span{r.protected[pi].start + delta, r.protected[pi].end + delta})
	}
	b.WriteString(text[last:])
	r.protected = prot
	return b.String()
}

// RedactPII pseudonymises personal data in text with m (a new map when m is
// nil) and returns the text and the map. Stage 0 replaces every occurrence
// of each extra value; stages 1–6 replace IPv4 addresses, e-mail addresses
// and UPNs, host names, user-in-host names, user names in home-directory
// paths and chat handles. Matches are replaced span by span, whole tokens
// only, so 10.0.0.1 never corrupts 10.0.0.10 or 110.0.0.1. Technique ids,
// severities, ordinary words, file names and identifier schemes (CVE, KB,
// MITRE ids) are never taken for host names. A placeholder that already
// occurs in text is never issued, so a look-alike typed by an attacker can
// never be restored to a real value.
func RedactPII(text string, m *RedactionMap, extra ...ExtraValue) (string, *RedactionMap) {
	if m == nil {
		m = NewRedactionMap()
	}
	return redactWith(text, m, extra, &piiStages), m
}

func redactWith(text string, m *RedactionMap, extra []ExtraValue, stages *[len(piiStages)]piiStage) string {
	r := redaction{m: m, orig: text}
	for _, ev := range extra {
		if ev.Value == "" || !strings.Contains(text, ev.Value) {
			continue
		}
		r.buf = findLiteral(text, ev.Value, r.buf[:0])
		text = r.apply(text, r.buf, ev.Prefix, always)
	}
	for i := range stages {
		st := &stages[i]
		if !stageMayMatch(i, text) {
			continue
		}
		r.buf = st.find(text, r.buf[:0])
		if len(r.buf) > 0 {
			text = r.apply(text, r.buf, st.prefix, st.accept)
		}
	}
	return text
}

func findLiteral(s, v string, dst []span) []span {
	for i := 0; ; {
		j := strings.Index(s[i:], v)
		if j < 0 {
			return dst
		}
		dst = append(dst, span{i + j, i + j + len(v)})
		i += j + len(v)
	}
}

// Deanonymise replaces every placeholder of m in text by its real value in a
// single left-to-right pass, trying longer placeholders first at each
// position; restored values are never scanned again.
func Deanonymise(text string, m *RedactionMap) string {
	if m == nil || text == "" {
		return text
	}
	idx := m.restoreIndex()
	if idx == nil {
		return text
	}
	var b strings.Builder
	last := 0
	for i := 0; i < len(text); i++ {
		if !idx.first[text[i]] {
			continue
		}
		for _, p := range idx.byFirst[text[i]] { // longest first
			if strings.HasPrefix(text[i:], p) {
				if b.Cap() == 0 {
					b.Grow(len(text) + 64)
				}
				b.WriteString(text[last:i])
				b.WriteString(idx.real[p])
				last = i + len(p)
				i = last - 1
				break
			}
		}
	}
	if b.Cap() == 0 {
		return text
	}
	b.WriteString(text[last:])
	return b.String()
}

// restoreIndex groups the placeholders by first byte, longest first. It is
// immutable once built.
type restoreIndex struct {
	first   [256]bool
	byFirst [256][]string
	real    map[string]string
}

func (m *RedactionMap) restoreIndex() *restoreIndex {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.reverse) == 0 {
		return nil
	}
	if m.index != nil && len(m.index.real) == len(m.reverse) {
		return m.index
	}
	idx := &restoreIndex{real: copyMap(m.reverse)}
	m.index = idx
	for p := range idx.real {
		if p != "" {
			idx.first[p[0]] = true
			idx.byFirst[p[0]] = append(idx.byFirst[p[0]], p)
		}
	}
	for i := range idx.byFirst {
		if l := idx.byFirst[i]; len(l) > 1 {
			slices.SortFunc(l, func(a, b string) int {
				if len(a) != len(b) {
					return len(b) - len(a)
				}
				return strings.Compare(a, b)
			})
		}
	}
	return idx
}
