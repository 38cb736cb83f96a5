package entityparser_test

import (
	"context"
	"fmt"
	"time"

	"github.com/socwarden/warden/entityparser"
)

func Example() {
	// A Splunk ES notable event, as the SIEM emits it.
	raw := []byte(`{"_time":"1707918765","search_name":"Endpoint - Malware Beacon - Rule","urgency":"high",
		"event_id":"notable-1","dest":"10.20.1.7","user":"jdoe",
		"description":"beacon to hxxps://cdn-update[.]example[.]net/gate from 10.20.1.7"}`)
	alert, keep, err := entityparser.Normalize(entityparser.SourceSplunk, raw, time.Now())
	if err != nil || !keep {
		fmt.Println(keep, err)
		return
	}
	msg, _ := alert.MarshalJSON()

	p, _ := entityparser.New()
	res, err := p.Process(context.Background(), msg)
	if err != nil {
		fmt.Println(err)
		return
	}
	e := res.Entities
	fmt.Println(res.Alert.Timestamp, res.Alert.Severity, res.Alert.RuleFamily)
	fmt.Println(e.IPs[0].PrimaryValue, e.Accounts[0].PrimaryValue, e.URLs[0].PrimaryValue, e.URLs[0].Confidence)
	fmt.Println(res.Injection.Risk, string(res.Key))
	// Output:
	// 2024-02-14T13:52:45+00:00 high Endpoint - Malware Beacon - Rule
	// 10.20.1.7 jdoe https://cdn-update.example.net/gate 0.6
	// benign notable-1
}
