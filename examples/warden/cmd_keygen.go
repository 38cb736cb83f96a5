package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"

	"github.com/socwarden/warden/audit/chain"
)

func keygenCommand() *command {
	return &command{name: "keygen", summary: "make an Ed25519 key pair for signed chain checkpoints",
		usage: "-o path (writes path and path.pub)", run: runKeygen}
}

// runKeygen writes the private seed (hex, mode 0600) and the public key
// (hex) and prints the key id checkpoints will carry.
func runKeygen(_ context.Context, e *env, args []string) int {
	fs := keygenCommand().flags(e)
	out := fs.String("o", "", "path of the private key file; the public key goes to <path>.pub")
	if done, code := parse(fs, args); done {
		return code
	}
	if *out == "" || fs.NArg() > 0 {
		fs.Usage()
		return exitUnusable
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		e.errorf("keygen: %v", err)
		return exitUnusable
	}
	if err := writeNew(*out, hex.EncodeToString(priv.Seed())+"\n", 0o600); err != nil {
		e.errorf("keygen: %v", err)
		return exitUnusable
	}
	if err := writeNew(*out+".pub", hex.EncodeToString(pub)+"\n", 0o644); err != nil {
		e.errorf("keygen: %v", err)
		return exitUnusable
	}
	fmt.Fprintf(e.stdout, "wrote %s and %s.pub (key id %s)\n", *out, *out, chain.KeyID(pub))
	return exitOK
}

// writeNew creates path, refusing to overwrite a key.
func writeNew(path, content string, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(content); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
