package main

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/audit/canonical"
	"github.com/socwarden/warden/audit/chain"
)

func chainCommand() *command {
	return &command{name: "chain", summary: "hash-chain a JSON-lines stream of audit events, per tenant",
		usage: "[-o out.jsonl] [-key key] [-checkpoint-every n] [-dedup n] [-q] [file|-]", run: runChain}
}

// chainTenant is one tenant's state: O(1) plus the dedup window.
type chainTenant struct {
	head      chain.Head
	ids       []string
	pos       int
	seen      map[string]struct{}
	sinceSign int
	signed    int64 // sequence of the last checkpoint, -1 if none
}

func (t *chainTenant) remember(id string, n int) {
	if n == 0 || id == "" {
		return
	}
	if len(t.ids) < n {
		t.ids = append(t.ids, id)
	} else {
		delete(t.seen, t.ids[t.pos])
		t.ids[t.pos] = id
		t.pos = (t.pos + 1) % n
	}
	t.seen[id] = struct{}{}
}

// runChain reads events and writes, per tenant, a genesis record followed
// by the linked records, as canonical JSON lines (and, with -key, signed
// checkpoint lines). Malformed lines are reported with their number and
// skipped: exit 1 if there were any, 2 if the input could not be read.
func runChain(ctx context.Context, e *env, args []string) int {
	c := chainCommand()
	fs := c.flags(e)
	out := fs.String("o", "-", "output file (- for stdout)")
	keyFile := fs.String("key", "", "Ed25519 private key file (hex seed) to sign checkpoints with")
	every := fs.Int("checkpoint-every", chain.DefaultCheckpointEvery, "records per tenant between checkpoints (with -key)")
	dedup := fs.Int("dedup", chain.DefaultDedupWindow, "skip an event whose audit_id is among its tenant's last n records (0: off)")
	quiet := fs.Bool("q", false, "no progress output")
	if done, code := parse(fs, args); done {
		return code
	}
	if *every <= 0 || *dedup < 0 {
		e.errorf("chain: -checkpoint-every must be positive and -dedup not negative")
		return exitUnusable
	}
	var key ed25519.PrivateKey
	if *keyFile != "" {
		var err error
		if key, err = readPrivateKey(*keyFile); err != nil {
			e.errorf("chain: %v", err)
			return exitUnusable
		}
	}
	in, closeIn, err := openInput(e, fs.Args())
	if err != nil {
		e.errorf("chain: %v", err)
		return exitUnusable
	}
	defer closeIn()
	w := e.stdout
	var outFile *os.File
	if *out != "-" {
		if outFile, err = os.Create(*out); err != nil {
			e.errorf("chain: %v", err)
			return exitUnusable
		}
		defer outFile.Close()
		w = outFile
	}
	ch := &chainer{e: e, w: bufio.NewWriterSize(w, 1<<20), key: key, every: *every, dedup: *dedup,
		tenants: map[string]*chainTenant{}}
	code := ch.stream(ctx, in, *quiet)
	if err := ch.w.Flush(); err != nil && code != exitUnusable {
		e.errorf("chain: writing output: %v", err)
		code = exitUnusable
	}
	if outFile != nil {
		if err := outFile.Close(); err != nil && code != exitUnusable {
			e.errorf("chain: closing output: %v", err)
			code = exitUnusable
		}
	}
	return code
}

type chainer struct {
	e       *env
	w       *bufio.Writer
	key     ed25519.PrivateKey
	every   int
	dedup   int
	tenants map[string]*chainTenant
	order   []string // tenants in order of first appearance, for final checkpoints
	linker  chain.Linker

	records, malformed, duplicates int
}

func (c *chainer) stream(ctx context.Context, in io.Reader, quiet bool) int {
	lr := newLineReader(in)
	prog := newProgress(c.e, "chain", quiet)
	for {
		if ctx.Err() != nil {
			c.e.errorf("chain: interrupted at line %d", lr.n)
			return exitUnusable
		}
		line, err := lr.next()
		if err == io.EOF {
			break
		}
		if errors.Is(err, errLineTooLong) {
			c.bad(lr.n, err)
			continue
		}
		if err != nil {
			c.e.errorf("chain: reading input: %v", err)
			return exitUnusable
		}
		if len(line) > 0 {
			if err := c.event(line); err != nil {
				c.bad(lr.n, err)
			}
		}
		prog.tick(lr.n, c.records)
	}
	if c.key != nil {
		for _, tn := range c.order {
			if t := c.tenants[tn]; t.head.Sequence > t.signed {
				if err := c.checkpoint(t); err != nil {
					c.e.errorf("chain: %v", err)
					return exitUnusable
				}
			}
		}
	}
	prog.done(lr.n, c.records)
	if c.duplicates > 0 {
		c.e.errorf("chain: skipped %d duplicate events", c.duplicates)
	}
	if c.malformed > 0 {
		c.e.errorf("chain: skipped %d malformed lines", c.malformed)
		return exitFailed
	}
	return exitOK
}

func (c *chainer) bad(line int, err error) {
	c.malformed++
	c.e.errorf("chain: line %d: %v", line, err)
}

// event chains one event line.
func (c *chainer) event(line []byte) error {
	tenant, auditID, err := c.linker.Prepare(line)
	if err != nil {
		return err
	}
	t := c.tenants[tenant]
	if t == nil {
		t = &chainTenant{seen: map[string]struct{}{}, signed: -1}
		c.tenants[tenant] = t
		c.order = append(c.order, tenant)
	}
	if c.dedup > 0 && auditID != "" {
		if _, dup := t.seen[auditID]; dup {
			c.duplicates++
			return nil
		}
	}
	now := c.e.now()
	if !t.head.Exists() {
		g := chain.Genesis(tenant, audit.NewIDAt(now), now)
		b, err := canonical.Marshal(g)
		if err != nil {
			return err
		}
		c.write(b)
		t.head, _ = chain.HeadOf(g)
		if err := c.counted(t); err != nil {
			return err
		}
	}
	rec, head, err := c.linker.LinkPrepared(t.head, now)
	if err != nil {
		return err
	}
	c.write(rec)
	t.head = head
	t.remember(auditID, c.dedup)
	c.records++
	return c.counted(t)
}

func (c *chainer) write(b []byte) {
	c.w.Write(b)
	c.w.WriteByte('\n')
}

func (c *chainer) counted(t *chainTenant) error {
	if c.key == nil {
		return nil
	}
	if t.sinceSign++; t.sinceSign >= c.every {
		return c.checkpoint(t)
	}
	return nil
}

func (c *chainer) checkpoint(t *chainTenant) error {
	cp, err := chain.SignCheckpoint(c.key, t.head, c.e.now())
	if err != nil {
		return fmt.Errorf("signing a checkpoint: %w", err)
	}
	b, err := cp.MarshalJSON()
	if err != nil {
		return err
	}
	c.write(b)
	t.sinceSign, t.signed = 0, t.head.Sequence
	return nil
}
