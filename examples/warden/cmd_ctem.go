package main

import (
	"context"
	"errors"

	"github.com/socwarden/warden/ctem"
)

// ctemCommand is `warden ctem`: normalise and score one scanner export and
// print the exposures as JSON lines.
func ctemCommand() *command {
	c := &command{
		name:    "ctem",
		summary: "normalise and score a Wiz, Snyk, garak or ART export into exposures (JSON lines)",
		usage:   "-source wiz|snyk|garak|art [-tenant T] [file|-]",
	}
	c.run = func(ctx context.Context, e *env, args []string) int {
		fs := c.flags(e)
		source := fs.String("source", "", "scanner: wiz, snyk, garak or art (required)")
		tenant := fs.String("tenant", "", `tenant of records that name none (default "default")`)
		if done, code := parse(fs, args); done {
			return code
		}
		if *source == "" {
			e.errorf("ctem: -source is required (wiz, snyk, garak or art)")
			return exitUnusable
		}
		in, closeIn, err := openInput(e, fs.Args())
		if err != nil {
			e.errorf("ctem: %v", err)
			return exitUnusable
		}
		defer closeIn()
		batch, err := ctem.NormaliseReader(ctx, *source, *tenant, in, []ctem.Option{ctem.WithClock(e.now)})
		if errors.Is(err, ctem.ErrUnsupportedSource) {
			e.errorf("ctem: %v", err)
			return exitUnusable
		}
		if batch == nil {
			e.errorf("ctem: %v", err)
			return exitUnusable
		}
		// Every good exposure is printed before the exit code says that
		// some records failed.
		if werr := batch.WriteJSONLines(e.stdout); werr != nil {
			e.errorf("ctem: writing output: %v", werr)
			return exitUnusable
		}
		_ = batch.WriteErrors(e.stderr)
		if err != nil {
			e.errorf("ctem: %v", err)
			return exitUnusable
		}
		if batch.Failed() {
			return exitFailed
		}
		return exitOK
	}
	return c
}
