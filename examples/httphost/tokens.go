package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/socwarden/warden/response"
)

// A token file names who may call the API. It is a JSON array; each entry
// gives the SHA-256 (hex) of a bearer token — or, for local experiments, the
// token itself — the identity and approver role it stands for, and the
// tenants it may act for ("*" for all):
//
//	[{"token_sha256": "9f86d0…", "subject": "alice@acme-corp.example",
//	  "role": "senior_analyst", "tenants": ["acme-corp"]},
//	 {"token": "dev-siem-connector", "subject": "siem-connector", "role": "analyst", "tenants": ["*"]}]
//
// Identity and role come only from here: a request naming an approver or
// role in a header or body is never believed.
type tokenEntry struct {
	TokenSHA256 string   `json:"token_sha256"`
	Token       string   `json:"token"`
	Subject     string   `json:"subject"`
	Role        string   `json:"role"`
	Tenants     []string `json:"tenants"`
}

// principal is the caller a valid bearer token stands for.
type principal struct {
	Subject string
	Role    response.Role
	tenants []string
}

// mayActFor reports whether p may act for tenant.
func (p principal) mayActFor(tenant string) bool {
	return slices.Contains(p.tenants, "*") || slices.Contains(p.tenants, tenant)
}

// tokenTable maps the SHA-256 of each token to its principal. Looking up a
// hash instead of comparing tokens keeps the stored secrets out of memory
// (for hashed entries) and gives no timing signal about a token's bytes.
type tokenTable map[[sha256.Size]byte]principal

var errTokenFile = errors.New("httphost: invalid token file")

// loadTokens reads and validates a token file.
func loadTokens(path string) (tokenTable, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseTokens(b)
}

func parseTokens(b []byte) (tokenTable, error) {
	var entries []tokenEntry
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&entries); err != nil {
		return nil, fmt.Errorf("%w: %v", errTokenFile, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the token array", errTokenFile)
	}
	t := tokenTable{}
	for i, e := range entries {
		var key [sha256.Size]byte
		switch {
		case e.TokenSHA256 != "" && e.Token != "":
			return nil, fmt.Errorf("%w: entry %d: give token or token_sha256, not both", errTokenFile, i)
		case e.TokenSHA256 != "":
			h, err := hex.DecodeString(strings.ToLower(e.TokenSHA256))
			if err != nil || len(h) != sha256.Size {
				return nil, fmt.Errorf("%w: entry %d: token_sha256 is not 64 hex digits", errTokenFile, i)
			}
			copy(key[:], h)
		case len(e.Token) >= minTokenLen:
			key = sha256.Sum256([]byte(e.Token))
		default:
			return nil, fmt.Errorf("%w: entry %d: token missing or shorter than %d bytes", errTokenFile, i, minTokenLen)
		}
		role := response.Role(e.Role)
		if role.Rank() == 0 {
			return nil, fmt.Errorf("%w: entry %d: unknown role %q", errTokenFile, i, e.Role)
		}
		if strings.TrimSpace(e.Subject) == "" || len(e.Tenants) == 0 {
			return nil, fmt.Errorf("%w: entry %d: subject and tenants are required", errTokenFile, i)
		}
		if _, dup := t[key]; dup {
			return nil, fmt.Errorf("%w: entry %d: duplicate token", errTokenFile, i)
		}
		t[key] = principal{Subject: e.Subject, Role: role, tenants: slices.Clone(e.Tenants)}
	}
	if len(t) == 0 {
		return nil, fmt.Errorf("%w: no tokens", errTokenFile)
	}
	return t, nil
}

// minTokenLen refuses toy plaintext tokens.
const minTokenLen = 16

// authenticate returns the principal of an "Authorization: Bearer <token>"
// header value.
func (t tokenTable) authenticate(header string) (principal, bool) {
	scheme, tok, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return principal{}, false
	}
	tok = strings.TrimSpace(tok)
	if tok == "" {
		return principal{}, false
	}
	p, ok := t[sha256.Sum256([]byte(tok))]
	return p, ok
}
