package ioc

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

// differentialTexts are the texts the differential tests compare the fast
// scanners and the oracle on: every corpus case shipped in testdata, the
// hand-picked edge cases below, and simple mutations of both.
func differentialTexts(t testing.TB) []string {
	var base []string
	for _, f := range []string{"msticpy_iocextract_cases.jsonl", "ioc_extractor_ninoseki_cases.jsonl"} {
		for _, c := range readJSONL(t, "testdata/"+f) {
			base = append(base, c["text"].(string))
		}
	}
	b, err := os.ReadFile("testdata/ioc_extractor_ninoseki_input.txt")
	if err != nil {
		t.Fatal(err)
	}
	base = append(base, string(b))
	base = append(base, extractorSeeds...)
	var out []string
	for _, s := range base {
		out = append(out, s, strings.ToUpper(s), strings.ReplaceAll(s, " ", ""), strings.ReplaceAll(s, " ", "\\"),
			strings.ReplaceAll(s, " ", "/"), strings.ReplaceAll(s, ".", "[.]"), strings.ReplaceAll(s, "\n", " "))
	}
	return out
}

// extractorSeeds are edge cases of the hand-written scanners.
var extractorSeeds = []string{
	"", ".", "..", "a.b", "1.2.3.4", "01.2.3.4", "1.2.3.4.5", "v1.2.3.4", "256.1.1.1", "1.2.3.4:80/x", "-1.2.3.4-",
	"example.com.", ".example.com", "EXAMPLE.COM", "System.Net.WebClient", "x.Com", "foo_bar.com", "a..com", "-a.com",
	"bob.info@corp.com", "a@b@c.com", "a.@b.com", ".a@b.com", "a@b.com.c@d.com", "x@[1.2.3.4]", "u@テスト.jp",
	"/tmp/setup.sh", "http://x.com/a.zip", "see https://en.wikipedia.org/wiki/Foo_(bar)).", "https://a.com:99999/", "https://a.com:/",
	"https://[::1]:8080/p", "https://[::1", "https://user:pw@host.example.com/x?y=1&z=(2)", "xhttps://a.com", "1http://a.com", "x.http://a.com",
	"HTTP://A.COM/B", "ftp://1.2.3.4/x", "http://localhost/", "http://a.b/", "https://evil.com/x',g",
	"hxxp://a[.]com hXXps://b(.)com fxp://c{.}com sfxp://d[dot]com e [dot] com f[at]g.com h (at) i.com j[@]k.com l[:]80 m[/]n [://]",
	"2 . 2 . 2 . 2", "1.1.1[.]1", " [.] ", "[.", "(dot", "xhxxp://a.com",
	"d41d8cd98f00b204e9800998ecf8427e", "D41D8CD98F00B204E9800998ECF8427E", "x" + strings.Repeat("a", 32), strings.Repeat("a", 33),
	strings.Repeat("b", 40) + " " + strings.Repeat("c", 64) + " " + strings.Repeat("d", 128), "0x32Be343B94f860124dC4fEe278FDCBD38C102D88",
	"CVE-2021-44228 cve 2014-1001 CVE2020-1234 CVE-2021-12345678 CVE-2021-123 cve-2021-1234x xCVE-2021-1234",
	"T1059 T1059.001 t1003 TA0001 ta0043 T2000 T1156.0012 T1059.001.5 T1059. T10590 xT1059 T1059x",
	"::1 :: fe80::1 fe80::1%eth0 2001:db8::1g ip6:2001:db8::1 a::b std::string 10:00:00 1:1 ::ffff:192.0.2.128 [2001:db8::1]:80",
	`C:\Windows\System32\cmd.exe /c C:\a.txt D:\b`, `C:\Program Files (x86)\App Dir\run.exe -x "C:\x y\z.exe"`, `c:\a\\\\b\\c`,
	`\\server\share\file.txt \\server \\\\x`, `%APPDATA%\Microsoft\x.exe %a%b%\c %%\x`, `..\..\up.exe .\here.bat x..\no a.\no`,
	`C:\a\`, `C:\`, `(see C:\temp\a.txt).`, `HKLM\Software\Run HKCU:\Software\x HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows NT\CurrentVersion`,
	`hklm\software HKLMX\a xHKLM\a HKLM::\a HKLM\A HKCU\B HKU\.DEFAULT\x`, `Registry::HKEY_USERS\S-1-5-21\Software`,
	"/etc/passwd /c //x/y ~/x.py ./a ../../b and/or x/y /a /a/ /a/b/ file:/etc/hosts =/tmp/x (/var/log) /a b/c",
	"https://a.com/etc/passwd s3://bucket/key", "a\u00a0b.com", "\xff.com a.\xffcom", "ß.de", "münchen.de",
}

func TestRefangMatchesOracle(t *testing.T) {
	for _, s := range differentialTexts(t) {
		if got, want := Refang(s), oracleRefang(s); got != want {
			t.Fatalf("Refang(%q) = %q, oracle %q", s, got, want)
		}
	}
}

func TestExtractMatchesOracle(t *testing.T) {
	for _, s := range differentialTexts(t) {
		checkExtract(t, s)
	}
}

func checkExtract(t *testing.T, s string) {
	t.Helper()
	got, want := Extract(s), oracleExtract(s)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Extract(%q):\n fast   %+v\n oracle %+v", s, got, want)
	}
}

func FuzzExtractMatchesOracle(f *testing.F) {
	for _, s := range extractorSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := Refang(s), oracleRefang(s); got != want {
			t.Fatalf("Refang(%q) = %q, oracle %q", s, got, want)
		}
		checkExtract(t, s)
	})
}
