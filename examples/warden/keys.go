package main

import (
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
)

// Key files hold hex: a private key file the 32-byte Ed25519 seed (or the
// 64-byte private key), a public key file the 32-byte public key. Both are
// what `warden keygen` writes.

func readHexFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	raw, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("%s: not hex: %w", path, err)
	}
	return raw, nil
}

func readPrivateKey(path string) (ed25519.PrivateKey, error) {
	raw, err := readHexFile(path)
	if err != nil {
		return nil, err
	}
	switch len(raw) {
	case ed25519.SeedSize:
		return ed25519.NewKeyFromSeed(raw), nil
	case ed25519.PrivateKeySize:
		return ed25519.PrivateKey(raw), nil
	}
	return nil, fmt.Errorf("%s: %d bytes is not an Ed25519 seed (32) or private key (64)", path, len(raw))
}

func readPublicKey(path string) (ed25519.PublicKey, error) {
	raw, err := readHexFile(path)
	if err != nil {
		return nil, err
	}
	if len(raw) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%s: %d bytes is not an Ed25519 public key (32)", path, len(raw))
	}
	return ed25519.PublicKey(raw), nil
}
