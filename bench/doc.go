// Package bench compares the audit Emitter's ring buffer with other
// non-blocking queues a Go service might use, in one 4-producer/1-consumer
// harness. It is a separate module so that the SDK's go.mod carries none of
// the compared libraries.
//
//	cd bench && go test -run '^$' -bench . -benchmem
package bench
