package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/socwarden/warden/audit/chain"
)

func verifyCommand() *command {
	return &command{name: "verify", summary: "verify a JSON-lines stream of chained audit records (and checkpoints)",
		usage: "[-json] [-pubkey key.pub]... [-checkpoints file] [-segment] [-strict] [-q] [file|-]", run: runVerify}
}

// verifyReport is the -json output: the stream report plus the exit code.
type verifyReport struct {
	chain.Report
	ExitCode int `json:"exit_code"`
}

// runVerify streams records through a chain.StreamVerifier: exit 0 when
// valid, 1 when invalid, 2 when the input is unreadable or could not be
// judged (malformed lines, records without chain keys).
func runVerify(ctx context.Context, e *env, args []string) int {
	c := verifyCommand()
	fs := c.flags(e)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	var pubs multiFlag
	fs.Var(&pubs, "pubkey", "trusted Ed25519 public key file (hex) for checkpoint signatures; repeatable")
	cpFile := fs.String("checkpoints", "", "a JSON-lines file of checkpoints kept apart from the records")
	segment := fs.Bool("segment", false, "the input is a segment of each chain: do not require a genesis record first")
	strict := fs.Bool("strict", false, "also check genesis shape, tenant and timestamp order")
	quiet := fs.Bool("q", false, "no progress output")
	if done, code := parse(fs, args); done {
		return code
	}
	opts := []chain.VerifyOption{}
	if !*segment {
		opts = append(opts, chain.VerifyFromGenesis())
	}
	if *strict {
		opts = append(opts, chain.VerifyStrict())
	}
	var keys []ed25519.PublicKey
	for _, p := range pubs {
		k, err := readPublicKey(p)
		if err != nil {
			e.errorf("verify: %v", err)
			return exitUnusable
		}
		keys = append(keys, k)
	}
	opts = append(opts, chain.WithPublicKeys(keys...))
	sv := chain.NewStreamVerifier(opts...)
	if *cpFile != "" {
		if err := loadCheckpoints(sv, *cpFile); err != nil {
			e.errorf("verify: %v", err)
			return exitUnusable
		}
	}
	in, closeIn, err := openInput(e, fs.Args())
	if err != nil {
		e.errorf("verify: %v", err)
		return exitUnusable
	}
	defer closeIn()

	lr := newLineReader(in)
	prog := newProgress(e, "verify", *quiet)
	readErr := error(nil)
	for {
		if ctx.Err() != nil {
			readErr = fmt.Errorf("interrupted at line %d", lr.n)
			break
		}
		line, err := lr.next()
		if err == io.EOF {
			break
		}
		if errors.Is(err, errLineTooLong) {
			sv.SkipLine(err.Error())
			continue
		}
		if err != nil {
			readErr = err
			break
		}
		sv.AddJSON(line)
		prog.tick(sv.Lines(), sv.Records())
	}
	prog.done(sv.Lines(), sv.Records())
	rep := sv.Report()
	code := exitCode(rep.Status)
	if readErr != nil {
		e.errorf("verify: reading input: %v", readErr)
		code = exitUnusable
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(verifyReport{Report: rep, ExitCode: code}); err != nil {
			e.errorf("verify: %v", err)
			return exitUnusable
		}
		return code
	}
	printSummary(e.stdout, rep, len(keys) > 0)
	return code
}

func exitCode(s chain.Status) int {
	switch s {
	case chain.StatusValid:
		return exitOK
	case chain.StatusInvalid:
		return exitFailed
	}
	return exitUnusable
}

func loadCheckpoints(sv *chain.StreamVerifier, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	lr := newLineReader(f)
	for {
		line, err := lr.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s line %d: %w", path, lr.n, err)
		}
		if len(strings.TrimSpace(string(line))) == 0 {
			continue
		}
		cp, err := chain.ParseCheckpoint(line)
		if err != nil {
			return fmt.Errorf("%s line %d: %w", path, lr.n, err)
		}
		sv.AddCheckpoint(cp)
	}
}

// maxListed bounds the malformed lines and gaps printed in the summary.
const maxListed = 20

func printSummary(w io.Writer, rep chain.Report, keys bool) {
	verdict := map[chain.Status]string{chain.StatusValid: "VALID", chain.StatusInvalid: "INVALID",
		chain.StatusCannotVerify: "CANNOT VERIFY"}[rep.Status]
	fmt.Fprintf(w, "%s: %d tenants, %d records, %d checkpoints, %d lines\n", verdict, len(rep.Tenants), rep.Records, rep.Checkpoints, rep.Lines)
	if len(rep.Tenants) > 0 {
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "TENANT\tSTATUS\tRECORDS\tSEQUENCES\tCHECKPOINTS\tFIRST ERROR")
		unauth := false
		for _, t := range rep.Tenants {
			first := ""
			if len(t.Errors) > 0 {
				first = t.Errors[0].Error()
				if n := len(t.Errors) + t.ErrorsOmitted; n > 1 {
					first += fmt.Sprintf(" (+%d more)", n-1)
				}
			}
			seqs := "-"
			if t.Checked > 0 {
				seqs = fmt.Sprintf("%d..%d", t.FirstSequence, t.LastSequence)
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%s\n", t.TenantID, t.Status, t.Checked, seqs, t.CheckpointsChecked, first)
			unauth = unauth || t.CheckpointsUnauthenticated
		}
		tw.Flush()
		if unauth && !keys {
			fmt.Fprintln(w, "\nnote: checkpoint signatures were not checked (no -pubkey given)")
		}
	}
	if rep.MalformedCount > 0 {
		fmt.Fprintf(w, "\nmalformed lines: %d\n", rep.MalformedCount)
		for i, m := range rep.Malformed {
			if i == maxListed {
				fmt.Fprintf(w, "  ...\n")
				break
			}
			tenant := ""
			if m.TenantID != "" {
				tenant = fmt.Sprintf(" (tenant %q?)", m.TenantID)
			}
			fmt.Fprintf(w, "  line %d%s: %s\n", m.Line, tenant, m.Err)
		}
	}
	fmt.Fprintf(w, "\nproducers: %d, with gaps: %d, duplicate producer_seq: %d\n", rep.Producers, len(rep.ProducerGaps), rep.ProducerDuplicates)
	for i, g := range rep.ProducerGaps {
		if i == maxListed {
			fmt.Fprintf(w, "  ...\n")
			break
		}
		ranges := make([]string, 0, min(len(g.Missing), maxListed))
		for j, r := range g.Missing {
			if j == maxListed {
				ranges = append(ranges, "...")
				break
			}
			if r.From == r.To {
				ranges = append(ranges, fmt.Sprint(r.From))
			} else {
				ranges = append(ranges, fmt.Sprintf("%d-%d", r.From, r.To))
			}
		}
		fmt.Fprintf(w, "  %s: %d missing below %d: %s\n", g.ProducerID, g.MissingCount, g.Highest, strings.Join(ranges, ", "))
	}
}
