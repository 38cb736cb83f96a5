package ioc

import (
	"os"
	"strings"
	"testing"
)

// mixedText is ~1 MB of SOC-like text: the corpus cases in testdata
// (indicators, defanged forms, command lines, paths) interleaved with prose
// that holds none.
func mixedText(b *testing.B) string {
	var sb strings.Builder
	in, err := os.ReadFile("testdata/ioc_extractor_ninoseki_input.txt")
	if err != nil {
		b.Fatal(err)
	}
	var cases []string
	for _, c := range readJSONL(b, "testdata/msticpy_iocextract_cases.jsonl") {
		cases = append(cases, c["text"].(string))
	}
	prose := "The analyst reviewed the process tree and found that the scheduled task was created by an administrator during the maintenance window; no further action is required unless it recurs. "
	for sb.Len() < 1<<20 {
		sb.Write(in)
		for _, c := range cases {
			sb.WriteString(c)
			sb.WriteString("\n")
			sb.WriteString(prose)
		}
		sb.WriteString(`powershell.exe -ExecutionPolicy Bypass -File C:\Users\Public\run.ps1; reg add HKLM\Software\Microsoft\Windows\CurrentVersion\Run /v u /d %APPDATA%\u.exe` + "\n")
		sb.WriteString(strings.Repeat(prose, 4))
	}
	return sb.String()
}

func BenchmarkExtractMixed(b *testing.B) {
	text := mixedText(b)
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		_ = Extract(text)
	}
}

func BenchmarkOracleExtractMixed(b *testing.B) {
	text := mixedText(b)[:1<<17]
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		_ = oracleExtract(text)
	}
}
