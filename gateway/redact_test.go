package gateway_test

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/socwarden/warden/gateway"
)

// Checklist 87.
func TestRedactionMap(t *testing.T) {
	m := gateway.NewRedactionMap()
	assert.Equal(t, "IP_SRC_001", m.GetOrCreate("10.0.0.1", "IP_SRC"))
	assert.Equal(t, "IP_SRC_001", m.GetOrCreate("10.0.0.1", "IP_SRC"))
	assert.Equal(t, "IP_SRC_002", m.GetOrCreate("10.0.0.2", "IP_SRC"))
	assert.Equal(t, "IP_SRC_002", m.GetOrCreate("10.0.0.2", "HOST"), "an existing mapping keeps its prefix")
	assert.Equal(t, "USER_001", m.GetOrCreate("admin@contoso.com", "USER"))
	v, ok := m.Restore("USER_001")
	assert.True(t, ok)
	assert.Equal(t, "admin@contoso.com", v)
	_, ok = m.Restore("USER_999")
	assert.False(t, ok)
	assert.Equal(t, "USER_001", m.Mappings()["admin@contoso.com"])
	assert.Equal(t, "admin@contoso.com", m.ReverseMappings()["USER_001"])
	assert.Equal(t, 2, m.Counter("IP_SRC"))
	m.Mappings()["x"] = "y"
	assert.NotContains(t, m.Mappings(), "x", "copies")
	big := gateway.NewRedactionMap()
	for i := 0; i < 1000; i++ {
		big.GetOrCreate(strings.Repeat("x", i+1), "U")
	}
	_, ok = big.Restore("U_1000")
	assert.True(t, ok, "counters past 999 grow the width")
}

// Checklist 88.
func TestRedactPIIBasics(t *testing.T) {
	out, m := gateway.RedactPII("Connection from 192.168.1.100 detected", nil)
	assert.Equal(t, "Connection from IP_SRC_001 detected", out)
	assert.NotNil(t, m)
	out, _ = gateway.RedactPII("User john@example.com logged in", nil)
	assert.Equal(t, "User USER_001 logged in", out)
	shared := gateway.NewRedactionMap()
	a, _ := gateway.RedactPII("from 10.1.1.1", shared)
	b, _ := gateway.RedactPII("again 10.1.1.1", shared)
	assert.Equal(t, "from IP_SRC_001", a)
	assert.Equal(t, "again IP_SRC_001", b)
	out, _ = gateway.RedactPII("seen on WORKSTATION-42 today", nil, gateway.ExtraValue{Value: "WORKSTATION-42", Prefix: "HOST"})
	assert.Equal(t, "seen on HOST_001 today", out)
	out, m = gateway.RedactPII("Normal text with no PII", nil)
	assert.Equal(t, "Normal text with no PII", out)
	assert.Zero(t, m.Len())
}

// Checklist 89.
func TestRedactRoundTrip(t *testing.T) {
	for _, s := range []string{"Alert from 10.0.0.1 by admin@corp.com", "10.0.0.1 talked to 10.0.0.2"} {
		out, m := gateway.RedactPII(s, nil)
		assert.NotEqual(t, s, out)
		assert.Equal(t, s, gateway.Deanonymise(out, m))
	}
	assert.Equal(t, "IP_SRC_001 stays", gateway.Deanonymise("IP_SRC_001 stays", gateway.NewRedactionMap()))
	assert.Equal(t, "x", gateway.Deanonymise("x", nil))
}

// Checklist 90, 92 and the spec's worked consequences.
func TestHostNames(t *testing.T) {
	for _, keep := range []string{"WEB-SERVER", "DB-ROUTER", "APP-SWITCH", "WEB-SERVER01"} {
		out, _ := gateway.RedactPII("host "+keep+" up", nil)
		assert.Equal(t, "host "+keep+" up", out)
	}
	// Stage 3 sees only "JSMITH-" (the regex's 16-character limit), an
	// all-letter word once the separator is given back; stage 4 then takes
	// the whole user-device name.
	out, m := gateway.RedactPII("JSMITH-WORKSTATION connected to the VPN", nil)
	assert.Equal(t, "HOST_001 connected to the VPN", out)
	assert.Equal(t, "JSMITH-WORKSTATION", m.ReverseMappings()["HOST_001"])
	for in, want := range map[string]string{
		"JSMITH-LAPTOP":       "HOST_001",
		"admin-PC01":          "admin-HOST_001",
		"jdoe-Workstation":    "HOST_001",
		"ADMIN-LAPTOP":        "HOST_001",
		"SRV-DC01.corp.local": "HOST_001",
	} {
		out, m := gateway.RedactPII("on "+in+" now", nil)
		assert.Equal(t, "on "+want+" now", out, in)
		assert.Equal(t, "on "+in+" now", gateway.Deanonymise(out, m))
	}
	shared := gateway.NewRedactionMap()
	a, _ := gateway.RedactPII("JSMITH-LAPTOP first", shared)
	b, _ := gateway.RedactPII("then JSMITH-LAPTOP", shared)
	assert.Equal(t, "HOST_001 first", a)
	assert.Equal(t, "then HOST_001", b)
}

// Checklist 91, 93, 94.
func TestUserNames(t *testing.T) {
	out, _ := gateway.RedactPII("@timestamp=2026-01-01 @version=1 @metadata", nil)
	assert.Equal(t, "@timestamp=2026-01-01 @version=1 @metadata", out)
	out, _ = gateway.RedactPII("ping @jsmith.ops", nil)
	assert.Equal(t, "ping USER_001", out)
	out, _ = gateway.RedactPII(`D:\Users\jsmith\docs\secrets.txt`, nil)
	assert.NotContains(t, out, "jsmith")
	assert.Equal(t, `D:\Users\USER_001\docs\secrets.txt`, out)

	out, _ = gateway.RedactPII("/home/jsmith/Documents/malware.exe", nil)
	assert.NotContains(t, out, "jsmith")
	assert.Contains(t, out, "/home/USER_")
	assert.Contains(t, out, "Documents/malware.exe")
	for _, p := range []string{`C:\Users\jdoe\AppData\x.dll`, "/Users/admin.user/Library"} {
		out, _ = gateway.RedactPII(p, nil)
		assert.Contains(t, out, "USER_001", p)
	}
	out, _ = gateway.RedactPII("/var/log/syslog", nil)
	assert.Equal(t, "/var/log/syslog", out)
	for _, s := range []string{"@jsmith", "@admin.user", "john@example.com"} {
		out, _ := gateway.RedactPII(s, nil)
		assert.Equal(t, "USER_001", out, s)
	}
}

// Checklist 95.
func TestEncryptedRedactionMap(t *testing.T) {
	m := gateway.NewRedactionMap()
	m.GetOrCreate("10.0.0.1", "IP_SRC")
	m.GetOrCreate("10.0.0.2", "IP_SRC")
	m.GetOrCreate("alice@corp.com", "USER")
	key := bytes.Repeat([]byte{7}, 32)
	blob, err := gateway.EncryptRedactionMap(m, key)
	require.NoError(t, err)
	assert.Equal(t, byte(1), blob[0])
	for _, clear := range []string{"alice@corp.com", "USER_001", "10.0.0.1", "IP_SRC"} {
		assert.False(t, bytes.Contains(blob, []byte(clear)), clear)
	}
	got, err := gateway.DecryptRedactionMap(blob, key)
	require.NoError(t, err)
	assert.Equal(t, m.Mappings(), got.Mappings())
	assert.Equal(t, m.ReverseMappings(), got.ReverseMappings())
	v, ok := got.Restore("USER_001")
	assert.True(t, ok)
	assert.Equal(t, "alice@corp.com", v)
	assert.Equal(t, 2, got.Counter("IP_SRC"))
	assert.Equal(t, "IP_SRC_003", got.GetOrCreate("10.0.0.3", "IP_SRC"))

	_, err = gateway.DecryptRedactionMap(blob, bytes.Repeat([]byte{8}, 32))
	require.ErrorIs(t, err, gateway.ErrRedactionMapDecrypt)
	tampered := bytes.Clone(blob)
	tampered[len(tampered)-1] ^= 1
	_, err = gateway.DecryptRedactionMap(tampered, key)
	require.ErrorIs(t, err, gateway.ErrRedactionMapDecrypt)
	for _, bad := range [][]byte{nil, {1}, append([]byte{2}, blob[1:]...)} {
		_, err = gateway.DecryptRedactionMap(bad, key)
		require.ErrorIs(t, err, gateway.ErrRedactionMapDecrypt)
	}
	_, err = gateway.EncryptRedactionMap(m, []byte("short"))
	require.ErrorIs(t, err, gateway.ErrInvalidKey)
	_, err = gateway.DecryptRedactionMap(blob, nil)
	require.ErrorIs(t, err, gateway.ErrInvalidKey)
}

// Checklist 96.
func TestAllTypesAlert(t *testing.T) {
	alert := "User admin@corp.com logged in from 10.0.0.1 on JSMITH-LAPTOP, wrote /home/jsmith/payload.sh, " +
		"pinged @jsmith.admin, then ADMIN-LAPTOP; md5 d41d8cd98f00b204e9800998ecf8427e"
	out, m := gateway.RedactPII(alert, nil)
	for _, gone := range []string{"admin@corp.com", "10.0.0.1", "JSMITH-LAPTOP", "/home/jsmith/", "@jsmith.admin", "ADMIN-LAPTOP"} {
		assert.NotContains(t, out, gone)
	}
	assert.Contains(t, out, "d41d8cd98f00b204e9800998ecf8427e")
	assert.GreaterOrEqual(t, m.Len(), 3)
	back := gateway.Deanonymise(out, m)
	assert.Equal(t, alert, back)
	for _, v := range []string{"admin@corp.com", "10.0.0.1", "ADMIN-LAPTOP"} {
		assert.Contains(t, back, v)
	}
}

// Checklist 97: whole tokens only.
func TestWholeTokensOnly(t *testing.T) {
	for _, s := range []string{"10.0.0.1 and 10.0.0.10", "10.0.0.1 and 110.0.0.1"} {
		out, m := gateway.RedactPII(s, nil)
		assert.Equal(t, "IP_SRC_001 and IP_SRC_002", out, s)
		assert.Equal(t, s, gateway.Deanonymise(out, m))
	}
}

// Checklist 98: a placeholder typed into the input is never issued, so it
// can never be restored to somebody's value.
func TestTypedPlaceholdersNeverRestored(t *testing.T) {
	out, m := gateway.RedactPII("USER_001 said hi, admin@corp.com", nil)
	assert.Equal(t, "USER_001 said hi, USER_002", out)
	assert.Equal(t, "USER_001 said hi, admin@corp.com", gateway.Deanonymise(out, m))
	_, ok := m.Restore("USER_001")
	assert.False(t, ok)
	out, m = gateway.RedactPII("see IP_SRC_0011 and IP_SRC_002 near 10.9.9.9 and 10.9.9.8", nil)
	assert.Equal(t, "see IP_SRC_0011 and IP_SRC_002 near IP_SRC_003 and IP_SRC_004", out, "look-alikes, prefixes of look-alikes skipped")
	assert.Equal(t, "model echoes IP_SRC_0011 and IP_SRC_002", gateway.Deanonymise("model echoes IP_SRC_0011 and IP_SRC_002", m))
}

// Checklist 99 and issue 5: technique ids, severities and ordinary words are
// never host names.
func TestNeverHostNames(t *testing.T) {
	for _, s := range []string{
		"Technique T1059.001 and AML.T0051 observed",
		"AML.T0051.000 TA0002 AML.TA0005 S0002 G0016 M1036 DS0017",
		"Severity CRITICAL HIGH MEDIUM LOW INFORMATIONAL WARNING",
		"POWERSHELL KERBEROS LSASS.EXE POWERSHELL.EXE NTDS.DIT cmd.exe SUCCESS FAILURE",
		"follow-up read-only Sign-in user_name process_name event_type built-in e-mail",
		"CVE-2024-3094 MS17-010 KB5034441 CWE-79 RFC1918 SHA256 MD5 UTF-8 X64 AMD64 NTLMV2",
	} {
		out, m := gateway.RedactPII(s, nil)
		assert.Equal(t, s, out)
		assert.Zero(t, m.Len(), s)
	}
}

// Placeholders inserted by one stage are never rewritten by a later one.
func TestPlaceholdersProtectedAcrossStages(t *testing.T) {
	s := "WS-42.corp.local and WS-42"
	out, m := gateway.RedactPII(s, nil, gateway.ExtraValue{Value: "WS-42", Prefix: "HOST"})
	assert.Equal(t, "HOST_001.corp.local and HOST_001", out)
	assert.Equal(t, s, gateway.Deanonymise(out, m))
	out, m = gateway.RedactPII("x 10.0.0.1", nil, gateway.ExtraValue{Value: "10.0.0", Prefix: "NET"}, gateway.ExtraValue{Value: "NET_0", Prefix: "Z"})
	assert.Equal(t, "x NET_001.1", out)
	assert.Equal(t, "x 10.0.0.1", gateway.Deanonymise(out, m))
	out, _ = gateway.RedactPII("IP_SRC_001 is mine", gateway.NewRedactionMap())
	assert.Equal(t, "IP_SRC_001 is mine", out)
}

func TestDeanonymiseLongestFirstSinglePass(t *testing.T) {
	m := gateway.NewRedactionMap()
	for i := 0; i < 1000; i++ {
		m.GetOrCreate("v"+strings.Repeat("x", i), "IP_SRC")
	}
	r100, _ := m.Restore("IP_SRC_100")
	r1000, _ := m.Restore("IP_SRC_1000")
	assert.Equal(t, r1000+" "+r100, gateway.Deanonymise("IP_SRC_1000 IP_SRC_100", m))
	m2 := gateway.NewRedactionMap()
	m2.GetOrCreate("USER_002", "USER") // a real value that looks like a placeholder
	assert.Equal(t, "USER_002", gateway.Deanonymise("USER_001", m2), "restored values are not re-scanned")
}

func TestRedactionMapConcurrent(t *testing.T) {
	m := gateway.NewRedactionMap()
	var wg sync.WaitGroup
	for g := 0; g < 32; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				s := "10.0." + string(rune('0'+g%10)) + "." + string(rune('0'+i%10))
				out, _ := gateway.RedactPII("from "+s, m)
				assert.Equal(t, "from "+s, gateway.Deanonymise(out, m))
			}
		}(g)
	}
	wg.Wait()
	assert.Equal(t, 100, m.Len())
	assert.Equal(t, 100, m.Counter("IP_SRC"))
}

// FuzzRedactRoundTrip: redaction never panics, every redacted value is
// restored exactly, and no issued placeholder occurred in the input.
func FuzzRedactRoundTrip(f *testing.F) {
	for _, s := range []string{"Alert from 10.0.0.1 by admin@corp.com on JSMITH-LAPTOP", "USER_001 said hi, admin@corp.com",
		"/home/jsmith/x @jsmith.ops jdoe-Workstation", "10.0.0.1 and 10.0.0.10 and 110.0.0.1", "T1059.001 AML.T0051 CRITICAL",
		`C:\Users\jdoe\x SRV-DC01.corp.local admin-PC01`, "HOST_001.x HOST_002-LAPTOP @a@b.cc", ""} {
		f.Add(s, "WS-42")
	}
	f.Fuzz(func(t *testing.T, s, extra string) {
		out, m := gateway.RedactPII(s, nil, gateway.ExtraValue{Value: extra, Prefix: "HOST"})
		if got := gateway.Deanonymise(out, m); got != s {
			t.Fatalf("round trip of %q (extra %q): redacted %q, restored %q", s, extra, out, got)
		}
		for ph := range m.ReverseMappings() {
			if strings.Contains(s, ph) {
				t.Fatalf("placeholder %s issued although the input %q contains it", ph, s)
			}
		}
	})
}

// Warden: Windows paths as they appear in JSON (escaped backslashes) lose
// their user names too, and a SID is kept whole instead of being cut in two.
func TestJSONPathsAndSIDs(t *testing.T) {
	in := `{"image":"C:\\Users\\jdoe\\AppData\\x.exe","sid":"S-1-5-21-3623811015-3361044348-30300820-1013"}`
	out, m := gateway.RedactPII(in, nil)
	assert.Equal(t, `{"image":"C:\\Users\\USER_001\\AppData\\x.exe","sid":"S-1-5-21-3623811015-3361044348-30300820-1013"}`, out)
	assert.Equal(t, in, gateway.Deanonymise(out, m))
}

// Thousands of typed look-alikes cost one pass, and none is ever issued.
func TestManyTypedPlaceholders(t *testing.T) {
	var b strings.Builder
	for i := 1; i <= 20000; i++ {
		b.WriteString(fmt.Sprintf("IP_SRC_%03d ", i))
	}
	b.WriteString("real 10.1.1.1 and 10.1.1.2 and x@y.example")
	in := b.String()
	out, m := gateway.RedactPII(in, nil)
	assert.True(t, strings.HasSuffix(out, "real IP_SRC_20001 and IP_SRC_20002 and USER_001"), out[len(out)-60:])
	assert.Equal(t, in, gateway.Deanonymise(out, m))
}
