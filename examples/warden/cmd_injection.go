package main

import (
	"context"

	"github.com/socwarden/warden/internal/injection"
)

// injectionCommand is `warden injection`: the prompt-injection detector
// shared by entityparser and the gateway, over a text or over every
// {"text": …} record of a JSON-lines stream. Each result is
// {"detected","risk","score","labels"} (injection.Result's JSON form).
func injectionCommand() *command {
	c := &command{
		name:    "injection",
		summary: "scan text for prompt injection: detected, risk, score and labels (JSON)",
		usage:   "[-jsonl] [file|-]",
	}
	c.run = func(ctx context.Context, e *env, args []string) int {
		return runTextCommand(ctx, c, e, args, func(text string) any { return injection.Scan(text) })
	}
	return c
}
