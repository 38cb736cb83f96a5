package gateway

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// redactionMapVersion is the first byte of an encrypted redaction map.
const redactionMapVersion = 0x01

type redactionMapPlain struct {
	Forward  map[string]string `json:"forward"`
	Reverse  map[string]string `json:"reverse"`
	Counters map[string]int    `json:"counters,omitempty"`
}

func newGCM(key []byte) (cipher.AEAD, error) {
	if len(key) != 32 {
		return nil, ErrInvalidKey
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidKey, err)
	}
	return cipher.NewGCM(block)
}

// EncryptRedactionMap seals m with AES-256-GCM under a 32-byte key, for hosts
// that keep maps for audit re-identification. Blob: version byte 0x01 ‖
// 12-byte random nonce ‖ ciphertext and tag. The gateway never persists
// maps itself.
func EncryptRedactionMap(m *RedactionMap, key []byte) ([]byte, error) {
	gcm, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	if m == nil {
		m = NewRedactionMap()
	}
	m.mu.Lock()
	plain, err := json.Marshal(redactionMapPlain{Forward: m.forward, Reverse: m.reverse, Counters: m.counters})
	m.mu.Unlock()
	if err != nil {
		return nil, err
	}
	out := make([]byte, 1+gcm.NonceSize(), 1+gcm.NonceSize()+len(plain)+gcm.Overhead())
	out[0] = redactionMapVersion
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, err
	}
	return gcm.Seal(out, out[1:], plain, nil), nil
}

// DecryptRedactionMap opens a blob of EncryptRedactionMap. Any format or
// authentication failure is ErrRedactionMapDecrypt. Missing counters are
// rebuilt from the placeholders' numeric suffixes.
func DecryptRedactionMap(blob, key []byte) (*RedactionMap, error) {
	gcm, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	if len(blob) < 1+gcm.NonceSize()+gcm.Overhead() || blob[0] != redactionMapVersion {
		return nil, ErrRedactionMapDecrypt
	}
	nonce := blob[1 : 1+gcm.NonceSize()]
	plain, err := gcm.Open(nil, nonce, blob[1+gcm.NonceSize():], nil)
	if err != nil {
		return nil, ErrRedactionMapDecrypt
	}
	var p redactionMapPlain
	if err := json.Unmarshal(plain, &p); err != nil {
		return nil, ErrRedactionMapDecrypt
	}
	m := NewRedactionMap()
	for real, ph := range p.Forward {
		m.forward[real] = ph
		m.reverse[ph] = real
	}
	for ph, real := range p.Reverse {
		if _, ok := m.reverse[ph]; !ok {
			m.reverse[ph] = real
		}
	}
	if p.Counters != nil {
		for k, v := range p.Counters {
			m.counters[k] = v
		}
		return m, nil
	}
	for _, ph := range p.Forward {
		i := strings.LastIndexByte(ph, '_')
		if i < 0 {
			continue
		}
		if n, err := strconv.Atoi(ph[i+1:]); err == nil && n > m.counters[ph[:i]] {
			m.counters[ph[:i]] = n
		}
	}
	return m, nil
}
