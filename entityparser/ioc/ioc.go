// Package ioc extracts indicators of compromise from free text: IPv4 and
// IPv6 addresses, domain names (pinned TLD list, internationalised names),
// URLs, e-mail addresses, MD5/SHA-1/SHA-256/SHA-512 hashes, CVE ids, MITRE
// ATT&CK technique and tactic ids, Windows and POSIX file paths and Windows
// registry keys.
//
// Defanged forms are refanged first (hxxp, fxp, [.], (.), {.}, [dot], [at],
// [@], [:], [/], "2 . 2"). Every list is de-duplicated and in order of first
// appearance. Values are reported as written except where a canonical
// spelling exists: domains, e-mail addresses, hashes and IPv6 addresses are
// lower-cased, CVE and ATT&CK ids upper-cased, URL schemes lower-cased.
// File paths and registry keys are byte-for-byte what the text holds.
//
// The extractor is a set of hand-written scanners (each type anchors on a
// cheap byte search) over one refanged copy of the text; the tests keep the
// plain-regex formulation of every rule as an oracle and fuzz the two
// against each other.
package ioc

import (
	"encoding/json"
	"net/netip"
)

// IOCs holds the indicators found in one text. Its JSON form always has all
// thirteen keys, each an array (never null).
type IOCs struct {
	IPv4     []string `json:"ipv4"`
	IPv6     []string `json:"ipv6"`
	Domain   []string `json:"domain"`
	URL      []string `json:"url"`
	Email    []string `json:"email"`
	MD5      []string `json:"md5"`
	SHA1     []string `json:"sha1"`
	SHA256   []string `json:"sha256"`
	SHA512   []string `json:"sha512"`
	CVE      []string `json:"cve"`
	Attack   []string `json:"attack"`
	FilePath []string `json:"file_path"`
	Registry []string `json:"registry"`
}

// Len is the total number of indicators.
func (x IOCs) Len() int {
	n := 0
	for _, l := range x.lists() {
		n += len(*l)
	}
	return n
}

func (x *IOCs) lists() []*[]string {
	return []*[]string{&x.IPv4, &x.IPv6, &x.Domain, &x.URL, &x.Email, &x.MD5, &x.SHA1, &x.SHA256,
		&x.SHA512, &x.CVE, &x.Attack, &x.FilePath, &x.Registry}
}

// MarshalJSON writes every key, with [] for an empty or nil list.
func (x IOCs) MarshalJSON() ([]byte, error) {
	for _, l := range x.lists() {
		if *l == nil {
			*l = []string{}
		}
	}
	type plain IOCs
	return json.Marshal(plain(x))
}

// Extract returns the indicators in text. It never fails and never panics;
// invalid UTF-8 is tolerated (such bytes end a token).
func Extract(text string) IOCs {
	r := Refang(text)
	var x IOCs
	for _, l := range x.lists() {
		*l = []string{}
	}
	scanHosts(r, &x)
	scanURLs(r, &x)
	scanEmails(r, &x)
	scanWords(r, &x)
	scanIPv6(r, &x)
	scanBackslash(r, &x)
	scanPOSIX(r, &x)
	return x
}

// Scope classifies an IP address for triage: the first that applies of
// unspecified, loopback, private (10/8, 172.16/12, 192.168/16, fc00::/7),
// link_local, multicast, shared (100.64/10), documentation (192.0.2/24,
// 198.51.100/24, 203.0.113/24, 2001:db8::/32), else public. IPv4-mapped
// addresses are classified by their IPv4 form. It returns "" for text that
// is not an address (or carries a zone).
func Scope(addr string) string {
	a, err := netip.ParseAddr(addr)
	if err != nil || a.Zone() != "" {
		return ""
	}
	a = a.Unmap()
	switch {
	case a.IsUnspecified():
		return "unspecified"
	case a.IsLoopback():
		return "loopback"
	case a.IsPrivate():
		return "private"
	case a.IsLinkLocalUnicast():
		return "link_local"
	case a.IsMulticast() || a.IsLinkLocalMulticast():
		return "multicast"
	case sharedNet.Contains(a):
		return "shared"
	}
	for _, p := range documentationNets {
		if p.Contains(a) {
			return "documentation"
		}
	}
	return "public"
}

var (
	sharedNet         = netip.MustParsePrefix("100.64.0.0/10")
	documentationNets = []netip.Prefix{
		netip.MustParsePrefix("192.0.2.0/24"),
		netip.MustParsePrefix("198.51.100.0/24"),
		netip.MustParsePrefix("203.0.113.0/24"),
		netip.MustParsePrefix("2001:db8::/32"),
	}
)

// collector de-duplicates one list in order of first appearance.
type collector struct {
	list *[]string
	seen map[string]struct{}
}

func (c *collector) add(v string) {
	if c.seen == nil {
		c.seen = make(map[string]struct{})
	}
	if _, ok := c.seen[v]; ok {
		return
	}
	c.seen[v] = struct{}{}
	*c.list = append(*c.list, v)
}
