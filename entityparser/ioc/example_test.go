package ioc_test

import (
	"encoding/json"
	"fmt"

	"github.com/socwarden/warden/entityparser/ioc"
)

func ExampleExtract() {
	x := ioc.Extract(`Beacon to hxxps://update-check[.]example[.]net/gate?id=7 from 10.1.2.3; dropped C:\ProgramData\upd.exe (CVE-2023-23397, T1059.001)`)
	fmt.Println(x.URL, x.Domain, x.IPv4, ioc.Scope(x.IPv4[0]))
	fmt.Println(x.FilePath, x.CVE, x.Attack)
	b, _ := json.Marshal(ioc.Extract("nothing here"))
	fmt.Println(string(b))
	// Output:
	// [https://update-check.example.net/gate?id=7] [update-check.example.net] [10.1.2.3] private
	// [C:\ProgramData\upd.exe] [CVE-2023-23397] [T1059.001]
	// {"ipv4":[],"ipv6":[],"domain":[],"url":[],"email":[],"md5":[],"sha1":[],"sha256":[],"sha512":[],"cve":[],"attack":[],"file_path":[],"registry":[]}
}
