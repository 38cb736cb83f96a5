package main

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/socwarden/warden/response"
)

func TestParseTokens(t *testing.T) {
	sum := sha256.Sum256([]byte("hashed-token-of-bob-0001"))
	tt, err := parseTokens([]byte(`[
	 {"token_sha256": "` + hex.EncodeToString(sum[:]) + `", "subject": "bob", "role": "admin", "tenants": ["*"]},
	 {"token": "plain-token-of-carl-01", "subject": "carl", "role": "analyst", "tenants": ["acme-corp", "globex"]}]`))
	require.NoError(t, err)
	p, ok := tt.authenticate("Bearer hashed-token-of-bob-0001")
	require.True(t, ok)
	assert.Equal(t, principal{Subject: "bob", Role: response.RoleAdmin, tenants: []string{"*"}}, p)
	assert.True(t, p.mayActFor("anyone"))
	p, ok = tt.authenticate("bearer   plain-token-of-carl-01 ")
	require.True(t, ok, "the scheme is case-insensitive and the token trimmed")
	assert.True(t, p.mayActFor("globex"))
	assert.False(t, p.mayActFor("initech"))
	for _, h := range []string{"", "Bearer", "Bearer ", "Basic cGxhaW4=", "Bearer plain-token-of-carl-02",
		"plain-token-of-carl-01", "Bearer hashed-token-of-bob-0001x"} {
		_, ok := tt.authenticate(h)
		assert.False(t, ok, "%q", h)
	}

	for name, file := range map[string]string{
		"not JSON":      `{`,
		"empty":         `[]`,
		"unknown key":   `[{"token":"a-long-enough-token-1","subject":"s","role":"admin","tenants":["*"],"admin":true}]`,
		"short token":   `[{"token":"short","subject":"s","role":"admin","tenants":["*"]}]`,
		"both":          `[{"token":"a-long-enough-token-1","token_sha256":"` + hex.EncodeToString(sum[:]) + `","subject":"s","role":"admin","tenants":["*"]}]`,
		"bad hash":      `[{"token_sha256":"abc","subject":"s","role":"admin","tenants":["*"]}]`,
		"unknown role":  `[{"token":"a-long-enough-token-1","subject":"s","role":"root","tenants":["*"]}]`,
		"no subject":    `[{"token":"a-long-enough-token-1","subject":" ","role":"admin","tenants":["*"]}]`,
		"no tenants":    `[{"token":"a-long-enough-token-1","subject":"s","role":"admin","tenants":[]}]`,
		"duplicate":     `[{"token":"a-long-enough-token-1","subject":"s","role":"admin","tenants":["*"]},{"token":"a-long-enough-token-1","subject":"t","role":"analyst","tenants":["*"]}]`,
		"not an array":  `{"token":"a-long-enough-token-1"}`,
		"trailing data": `[{"token":"a-long-enough-token-1","subject":"s","role":"admin","tenants":["*"]}] [`,
	} {
		_, err := parseTokens([]byte(file))
		assert.ErrorIs(t, err, errTokenFile, name)
	}
}

// The example token file shipped for local tries loads.
func TestExampleTokenFile(t *testing.T) {
	tt, err := loadTokens("tokens.example.json")
	require.NoError(t, err)
	assert.Len(t, tt, 4)
	_, err = loadTokens(filepath.Join(t.TempDir(), "missing.json"))
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func FuzzParseTokens(f *testing.F) {
	f.Add([]byte(`[{"token":"a-long-enough-token-1","subject":"s","role":"admin","tenants":["*"]}]`))
	f.Add([]byte(`[{"token_sha256":"00","subject":"s","role":"analyst","tenants":["t"]}]`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		tt, err := parseTokens(b)
		if err != nil {
			return
		}
		for _, p := range tt {
			if p.Role.Rank() == 0 || p.Subject == "" || len(p.tenants) == 0 {
				t.Fatalf("accepted an invalid principal %+v", p)
			}
		}
	})
}
