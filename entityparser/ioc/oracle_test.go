package ioc

import (
	"regexp"
	"strings"
)

// The oracle: every scanner of scan.go in its plain-regex formulation.
// Tokens are found with RE2 (leftmost-first, non-overlapping) and handed to
// the same small validators the fast path uses; the differential tests and
// FuzzExtractMatchesOracle check both give the same IOCs.

var oracleRefangRe = regexp.MustCompile(`(?i)\s?(?:\[\.\]|\(\.\)|\{\.\}|\[dot\]|\(dot\)|\{dot\})\s?|\s?(?:\[at\]|\(at\)|\{at\}|\[@\]|\(@\))\s?|\[://\]|\[:\]|\[/\]|\bhxxp|\bfxp|\bsfxp|\d \. \d`)

func oracleRefang(s string) string {
	return oracleRefangRe.ReplaceAllStringFunc(s, func(m string) string {
		l := strings.ToLower(strings.TrimSpace(m))
		switch {
		case l == "[://]":
			return "://"
		case l == "[:]":
			return ":"
		case l == "[/]":
			return "/"
		case l == "hxxp":
			return "http"
		case l == "fxp":
			return "ftp"
		case l == "sfxp":
			return "sftp"
		case strings.HasSuffix(l, "at]") || strings.HasSuffix(l, "at)") || strings.HasSuffix(l, "at}") || strings.Contains(l, "@"):
			return "@"
		case len(m) == 5 && m[1] == ' ' && m[2] == '.':
			return m[:1] + "." + m[4:]
		}
		return "."
	})
}

var (
	oracleHostRe  = regexp.MustCompile(`[\p{L}\p{N}\p{M}0-9A-Za-z_.\-]+`)
	oracleURLRe   = regexp.MustCompile(`(?i)\b(?:https?|ftps?|sftp|wss?|file|telnet|ssh|smb)://[\p{L}\p{N}\p{M}0-9A-Za-z_\-.~:/?#\[\]@!$&()*+;=%]*`)
	oracleEmailRe = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[\p{L}\p{N}\p{M}0-9A-Za-z_.\-]+`)
	oracleHashRe  = regexp.MustCompile(`\b(?:[0-9A-Fa-f]{128}|[0-9A-Fa-f]{64}|[0-9A-Fa-f]{40}|[0-9A-Fa-f]{32})\b`)
	oracleCVERe   = regexp.MustCompile(`(?i)\bcve[- ]?(\d{4})-(\d{4,7})\b`)
	oracleTechRe  = regexp.MustCompile(`\b[Tt]([01]\d{3})(\.\d{3})?\b|\b(?i:ta)(\d{4})\b`)
	oracleV6Re    = regexp.MustCompile(`[0-9A-Fa-f:.]+`)

	oracleWinSeg = `[\p{L}\p{N}\p{M}0-9A-Za-z_!#$%()+\-.=@\[\]^{}~]`
	oracleWinFin = `[\p{L}\p{N}\p{M}0-9A-Za-z_!#$%(+\-=@\[^{~]`
	oracleWinRe  = regexp.MustCompile(`^(?:\\+` + oracleWinSeg + `+(?: ` + oracleWinSeg + `+)*)*\\+(?:` + oracleWinSeg + `*` + oracleWinFin + `)?`)
	oraclePosSeg = `[\p{L}\p{N}\p{M}0-9A-Za-z_.\-+~@%=]`
	oraclePosFin = `[\p{L}\p{N}\p{M}0-9A-Za-z_\-+~@%=]`
	oraclePosRe  = regexp.MustCompile(`^(?:/+` + oraclePosSeg + `+)*/+(?:` + oraclePosSeg + `*` + oraclePosFin + `)?`)

	oracleDriveRe    = regexp.MustCompile(`(?:^|\W)([A-Za-z]:)$`)
	oracleEnvRe      = regexp.MustCompile(`(?:^|\W)(%[\w()]+%)$`)
	oracleDotDotRe   = regexp.MustCompile(`(?:^|[^\w.])(\.\.)$`)
	oracleDotRe      = regexp.MustCompile(`(?:^|[^\w.])(\.)$`)
	oracleUNCBefore  = regexp.MustCompile(`(?:^|[^\w\\:%.])$`)
	oracleHiveRe     = regexp.MustCompile(`(?i)(?:^|\W)((?:hkey_local_machine|hkey_current_user|hkey_classes_root|hkey_users|hkey_current_config|hklm|hkcu|hkcr|hku|hkcc):?)$`)
	oracleHiveStopRe = regexp.MustCompile(`(?i) (?:hkey_local_machine|hkey_current_user|hkey_classes_root|hkey_users|hkey_current_config|hklm|hkcu|hkcr|hku|hkcc)[:\\]`)
	oraclePOSIXRe    = regexp.MustCompile(`(?:^|[\s"'=(<\[,;|>:])(~|\.\.|\.)?$`)
)

func oracleExtract(text string) IOCs {
	s := oracleRefang(text)
	var x IOCs
	for _, l := range x.lists() {
		*l = []string{}
	}
	ip, dom := collector{list: &x.IPv4}, collector{list: &x.Domain}
	for _, m := range oracleHostRe.FindAllStringIndex(s, -1) {
		if strings.Contains(s[m[0]:m[1]], ".") {
			hostAtom(s, m[0], m[1], &ip, &dom)
		}
	}
	urls := collector{list: &x.URL}
	for _, m := range oracleURLRe.FindAllString(s, -1) {
		if u, ok := finishURL(m, strings.Index(m, "://")); ok {
			urls.add(u)
		}
	}
	emails := collector{list: &x.Email}
	for _, m := range oracleEmailRe.FindAllString(s, -1) {
		at := strings.IndexByte(m, '@')
		if e, ok := emailFrom(m[:at], m[at+1:]); ok {
			emails.add(e)
		}
	}
	hashes := map[int]*collector{32: {list: &x.MD5}, 40: {list: &x.SHA1}, 64: {list: &x.SHA256}, 128: {list: &x.SHA512}}
	for _, m := range oracleHashRe.FindAllString(s, -1) {
		hashes[len(m)].add(strings.ToLower(m))
	}
	cves := collector{list: &x.CVE}
	for _, m := range oracleCVERe.FindAllStringSubmatch(s, -1) {
		cves.add("CVE-" + m[1] + "-" + m[2])
	}
	attack := collector{list: &x.Attack}
	for _, m := range oracleTechRe.FindAllStringSubmatchIndex(s, -1) {
		switch {
		case m[6] >= 0:
			attack.add("TA" + s[m[6]:m[7]])
		case m[4] >= 0:
			attack.add("T" + s[m[2]:m[3]] + s[m[4]:m[5]])
		default:
			if e := m[1]; e+1 < len(s) && s[e] == '.' && isDigit(s[e+1]) {
				continue
			}
			attack.add("T" + s[m[2]:m[3]])
		}
	}
	v6 := collector{list: &x.IPv6}
	for _, m := range oracleV6Re.FindAllStringIndex(s, -1) {
		if strings.Contains(s[m[0]:m[1]], ":") {
			if a, ok := ipv6Candidate(s, m[0], m[1]); ok {
				v6.add(a)
			}
		}
	}
	paths := collector{list: &x.FilePath}
	oracleSeparated(s, '\\', oracleWinStart, oracleWinRe, nil, &paths)
	reg := collector{list: &x.Registry}
	oracleSeparated(s, '\\', oracleRegStart, oracleWinRe, oracleHiveStopRe, &reg)
	oracleSeparated(s, '/', oraclePOSIXStart, oraclePosRe, nil, &paths)
	return x
}

type oracleStart func(before, after string) (prefixLen, minSegs int)

// oracleSeparated applies the segment grammar at every separator whose
// preceding text (from the end of the last token) ends in a prefix.
func oracleSeparated(s string, sep byte, startAt oracleStart, grammar, stop *regexp.Regexp, c *collector) {
	lastEnd := 0
	for k := 0; k < len(s); k++ {
		if s[k] != sep || k < lastEnd {
			continue
		}
		n, minSegs := startAt(s[lastEnd:k], s[k:])
		if n < 0 {
			continue
		}
		rest := s[k:]
		if stop != nil {
			if loc := stop.FindStringIndex(rest); loc != nil {
				rest = rest[:loc[0]]
			}
		}
		m := grammar.FindString(rest)
		segs := 0
		for _, part := range strings.FieldsFunc(m, func(r rune) bool { return r == rune(sep) }) {
			if part != "" {
				segs++
			}
		}
		if segs < minSegs {
			continue
		}
		c.add(s[k-n : k+len(m)])
		lastEnd = k + len(m)
		k = lastEnd - 1
	}
}

func oracleWinStart(before, after string) (int, int) {
	for _, re := range []*regexp.Regexp{oracleDriveRe, oracleEnvRe, oracleDotDotRe, oracleDotRe} {
		if m := re.FindStringSubmatch(before); m != nil {
			return len(m[1]), 1
		}
	}
	if strings.HasPrefix(after, `\\`) && oracleUNCBefore.MatchString(before) {
		return 0, 2
	}
	return -1, 0
}

func oracleRegStart(before, _ string) (int, int) {
	if m := oracleHiveRe.FindStringSubmatch(before); m != nil {
		return len(m[1]), 1
	}
	return -1, 0
}

func oraclePOSIXStart(before, after string) (int, int) {
	if strings.HasPrefix(after, "//") {
		return -1, 0
	}
	m := oraclePOSIXRe.FindStringSubmatch(before)
	if m == nil {
		return -1, 0
	}
	if m[1] != "" {
		return len(m[1]), 1
	}
	return 0, 2
}
