// Command warden is Warden's command-line tool: one binary, one subcommand
// per task.
//
//	warden -h                               # lists the subcommands
//	warden chain [-o out.jsonl] [file|-]    # hash-chain a JSON-lines stream of audit events
//	warden verify [-json] [file|-]          # verify chained records (exit 0 valid, 1 invalid, 2 unreadable)
//	warden keygen -o warden-key             # an Ed25519 key pair for signed checkpoints
//
//	go run ./examples/quickstart | go run ./examples/warden chain | go run ./examples/warden verify
//
//	warden extract [-jsonl] [file|-]        # indicators of compromise in text
//	warden injection [-jsonl] [file|-]      # prompt-injection verdict for text
//	warden alert -source S [file|-]         # SIEM alerts to canonical alerts with entities
//	warden ctem -source S [-tenant T] [file|-]  # scanner exports to scored exposures
//
// Each subcommand lives in its own cmd_<name>.go file and is listed once in
// allCommands (registry.go).
package main

import (
	"context"
	"os"
	"os/signal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], newEnv(os.Stdin, os.Stdout, os.Stderr))
	stop()
	os.Exit(code)
}
