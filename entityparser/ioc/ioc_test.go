package ioc

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestJSONHasEveryKeyAndNoNulls(t *testing.T) {
	for _, x := range []IOCs{{}, Extract(""), Extract("1.2.3.4 evil.com")} {
		b, err := json.Marshal(x)
		require.NoError(t, err)
		var m map[string]any
		require.NoError(t, json.Unmarshal(b, &m))
		assert.Len(t, m, 13)
		for _, k := range []string{"ipv4", "ipv6", "domain", "url", "email", "md5", "sha1", "sha256", "sha512", "cve", "attack", "file_path", "registry"} {
			assert.IsType(t, []any{}, m[k], "key %s in %s", k, b)
		}
	}
}

func TestExtractEveryType(t *testing.T) {
	text := strings.Join([]string{
		"C2 at hxxps://evil[.]example[.]com:8443/gate.php?id=1&x=(y) and 203.0.113[.]7, 2001:db8::dead:beef",
		"mail from attacker[at]phish[dot]net; dropper d41d8cd98f00b204e9800998ecf8427e",
		"sha1 da39a3ee5e6b4b0d3255bfef95601890afd80709 sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		"sha512 cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e",
		"exploits CVE-2021-44228 (T1190, TA0001, T1059.001)",
		`dropped C:\Users\Public\Music\upd.exe and /tmp/.x/run.sh, persistence HKCU\Software\Microsoft\Windows\CurrentVersion\Run\upd`,
	}, "\n")
	x := Extract(text)
	assert.Equal(t, []string{"203.0.113.7"}, x.IPv4)
	assert.Equal(t, []string{"2001:db8::dead:beef"}, x.IPv6)
	assert.Equal(t, []string{"evil.example.com", "phish.net"}, x.Domain)
	assert.Equal(t, []string{"https://evil.example.com:8443/gate.php?id=1&x=(y)"}, x.URL)
	assert.Equal(t, []string{"attacker@phish.net"}, x.Email)
	assert.Equal(t, []string{"d41d8cd98f00b204e9800998ecf8427e"}, x.MD5)
	assert.Equal(t, []string{"da39a3ee5e6b4b0d3255bfef95601890afd80709"}, x.SHA1)
	assert.Equal(t, []string{"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}, x.SHA256)
	assert.Len(t, x.SHA512, 1)
	assert.Equal(t, []string{"CVE-2021-44228"}, x.CVE)
	assert.Equal(t, []string{"T1190", "TA0001", "T1059.001"}, x.Attack)
	assert.Equal(t, []string{`C:\Users\Public\Music\upd.exe`, "/tmp/.x/run.sh"}, x.FilePath)
	assert.Equal(t, []string{`HKCU\Software\Microsoft\Windows\CurrentVersion\Run\upd`}, x.Registry)
	assert.Equal(t, 17, x.Len())
}

func TestDedupAndOrderOfFirstAppearance(t *testing.T) {
	x := Extract("b.com 10.0.0.2 a.com B.COM 10.0.0.1 10.0.0.2 a[.]com")
	assert.Equal(t, []string{"b.com", "a.com"}, x.Domain)
	assert.Equal(t, []string{"10.0.0.2", "10.0.0.1"}, x.IPv4)
}

func TestRefangForms(t *testing.T) {
	cases := map[string]string{
		"hxxp://a[.]b":           "http://a.b",
		"hXXps://a(.)b":          "https://a.b",
		"fxp://a{.}b":            "ftp://a.b",
		"a [dot] b (DOT) c":      "a.b.c",
		"u[at]d.com v (@) w":     "u@d.com v@w",
		"h[:]80 a[/]b [://]":     "h:80 a/b ://",
		"1.1.1 . 1":              "1.1.1.1",
		"no change here (a) [b]": "no change here (a) [b]",
		"xhxxp://a":              "xhxxp://a",
	}
	for in, want := range cases {
		assert.Equal(t, want, Refang(in), in)
	}
	s := "plain text"
	assert.Equal(t, s, Refang(s))
}

func TestIPValidation(t *testing.T) {
	x := Extract("256.1.1.1 010.0.0.1 1.2.3.4.5 v1.2.3.4 999.999.999.999 10.0.0.1 ::1 fe80::1%eth0 ::: abc:def 1:1")
	assert.Equal(t, []string{"10.0.0.1"}, x.IPv4)
	assert.Equal(t, []string{"::1"}, x.IPv6)
}

func TestDomainRules(t *testing.T) {
	x := Extract("EXAMPLE.COM münchen.de テスト.jp example.nope System.Net.WebClient /tmp/setup.sh https://a.com/b/c.zip bob.info@corp.com x.example.org.")
	assert.Equal(t, []string{"example.com", "münchen.de", "テスト.jp", "a.com", "corp.com", "x.example.org"}, x.Domain)
	assert.Equal(t, []string{"bob.info@corp.com"}, x.Email)
}

func TestURLTrimming(t *testing.T) {
	x := Extract("see (https://en.wikipedia.org/wiki/Foo_(bar)). and https://a.com/x, https://b.com/y'z https://c.com:99999/ http://localhost/")
	assert.Equal(t, []string{"https://en.wikipedia.org/wiki/Foo_(bar)", "https://a.com/x", "https://b.com/y"}, x.URL)
}

func TestPathsAndRegistry(t *testing.T) {
	x := Extract(`"C:\Program Files (x86)\App\run.exe" -x, \\fs01\share\tools\a.exe, %TEMP%\a.ps1, ..\b\c.dll, ` +
		`reg add "HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon" & HKLM\A HKCU\B, cat /etc/shadow ~/x and/or /c`)
	assert.Equal(t, []string{`C:\Program Files (x86)\App\run.exe`, `\\fs01\share\tools\a.exe`, `%TEMP%\a.ps1`, `..\b\c.dll`, "/etc/shadow", "~/x"}, x.FilePath)
	assert.Equal(t, []string{`HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon`, `HKLM\A`, `HKCU\B`}, x.Registry)
}

func TestScope(t *testing.T) {
	cases := map[string]string{
		"0.0.0.0": "unspecified", "127.0.0.1": "loopback", "10.0.0.1": "private", "172.16.5.4": "private",
		"192.168.1.1": "private", "169.254.1.1": "link_local", "224.0.0.1": "multicast", "100.64.0.1": "shared",
		"192.0.2.1": "documentation", "198.51.100.2": "documentation", "203.0.113.5": "documentation",
		"8.8.8.8": "public", "::1": "loopback", "fc00::1": "private", "fe80::1": "link_local", "ff02::1": "multicast",
		"2001:db8::1": "documentation", "::ffff:10.0.0.1": "private", "2606:4700::1111": "public",
		"fe80::1%eth0": "", "nope": "",
	}
	for in, want := range cases {
		assert.Equal(t, want, Scope(in), in)
	}
}

func TestExtractNeverPanics(t *testing.T) {
	for _, s := range []string{"\xff\xfe\xfd", strings.Repeat("a.", 10000), strings.Repeat("\\", 5000), strings.Repeat(":", 5000), strings.Repeat("@.", 3000)} {
		assert.NotPanics(t, func() { _ = Extract(s) })
	}
}
