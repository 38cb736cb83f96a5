package pipeline

import "embed"

// samples holds the story's inputs, written for this example: SIEM alerts
// in the shapes Sentinel, Elastic, Splunk, CrowdStrike and Defender emit,
// and scanner findings from Wiz, Snyk, garak and ART.
//
//go:embed samples
var samples embed.FS

// SampleAlert returns one of the story's raw alerts by file name (for
// example "01-sentinel-encoded-powershell.json"), for hosts and tests that
// replay it.
func SampleAlert(name string) ([]byte, error) {
	return samples.ReadFile("samples/alerts/" + name)
}
