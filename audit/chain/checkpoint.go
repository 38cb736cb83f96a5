package chain

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/audit/canonical"
)

// CheckpointMarker is the value of the "checkpoint" key that identifies a
// checkpoint object (and versions its signed form). It is part of the signed
// bytes, so a signature over a checkpoint can never be mistaken for a
// signature over anything else.
const CheckpointMarker = "warden.chain.checkpoint.v1"

// A Checkpoint is a signed statement "tenant T's chain had record_hash H at
// sequence S at time C". A bare hash chain cannot reveal a cut-off tail or a
// wholesale rewrite (an attacker re-hashes everything); a checkpoint signed
// with a key the attacker does not hold can. Checkpoints travel beside the
// records: in a CheckpointStore, on the Kafka topic audit.checkpoints, or as
// lines of their own in a JSON-lines export.
//
// On the wire a checkpoint is the canonical JSON object
//
//	{"checkpoint":"warden.chain.checkpoint.v1","checkpointed_at":C,
//	 "head_hash":H,"key_id":K,"sequence_number":S,"signature":G,"tenant_id":T}
//
// where G is the hex Ed25519 signature over the canonical form of the same
// object without "signature", and K is KeyID of the signing key. It has no
// record_hash, which is how readers tell it from a record.
type Checkpoint struct {
	TenantID  string `json:"tenant_id"`
	Sequence  int64  `json:"sequence_number"`
	HeadHash  string `json:"head_hash"`
	Timestamp string `json:"checkpointed_at"`
	KeyID     string `json:"key_id"`
	Signature string `json:"signature"`
}

// Checkpoint errors.
var (
	// ErrCheckpointSignature is wrapped by every signature failure.
	ErrCheckpointSignature = errors.New("chain: checkpoint signature invalid")
	// ErrNotCheckpoint reports JSON that is not a checkpoint object.
	ErrNotCheckpoint = errors.New("chain: not a checkpoint")
	// ErrSignerKey reports a signer whose public key is not Ed25519.
	ErrSignerKey = errors.New("chain: checkpoint signer must hold an Ed25519 key")
)

// KeyID names a public key in checkpoints: the first 16 hex digits of the
// SHA-256 of the raw 32-byte key.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// signedObject is the object whose canonical form is signed.
func (c Checkpoint) signedObject() canonical.Object {
	return canonical.Object{
		"checkpoint":      CheckpointMarker,
		"checkpointed_at": c.Timestamp,
		"head_hash":       c.HeadHash,
		"key_id":          c.KeyID,
		KeySequenceNumber: c.Sequence,
		KeyTenantID:       c.TenantID,
	}
}

// SignedBytes returns the bytes the signature covers.
func (c Checkpoint) SignedBytes() ([]byte, error) {
	return canonical.Marshal(c.signedObject())
}

// MarshalJSON returns the checkpoint's canonical wire form.
func (c Checkpoint) MarshalJSON() ([]byte, error) {
	obj := c.signedObject()
	obj["signature"] = c.Signature
	return canonical.Marshal(obj)
}

// Head returns the chain position the checkpoint vouches for.
func (c Checkpoint) Head() Head {
	return Head{TenantID: c.TenantID, Sequence: c.Sequence, Hash: c.HeadHash}
}

// SignCheckpoint signs head with signer (an ed25519.PrivateKey, or any
// crypto.Signer holding an Ed25519 key, such as a KMS or HSM handle) at now.
func SignCheckpoint(signer crypto.Signer, head Head, now time.Time) (Checkpoint, error) {
	if signer == nil {
		return Checkpoint{}, ErrSignerKey
	}
	pub, ok := signer.Public().(ed25519.PublicKey)
	if !ok {
		return Checkpoint{}, ErrSignerKey
	}
	if !head.Exists() {
		return Checkpoint{}, ErrNoHead
	}
	c := Checkpoint{TenantID: head.TenantID, Sequence: head.Sequence, HeadHash: head.Hash,
		Timestamp: audit.FormatTimestamp(now), KeyID: KeyID(pub)}
	msg, err := c.SignedBytes()
	if err != nil {
		return Checkpoint{}, err
	}
	sig, err := signer.Sign(nil, msg, crypto.Hash(0))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("chain: signing checkpoint: %w", err)
	}
	c.Signature = hex.EncodeToString(sig)
	return c, nil
}

// VerifySignature checks the signature with whichever of keys has the
// checkpoint's KeyID. The error wraps ErrCheckpointSignature.
func (c Checkpoint) VerifySignature(keys ...ed25519.PublicKey) error {
	for _, k := range keys {
		if len(k) != ed25519.PublicKeySize || KeyID(k) != c.KeyID {
			continue
		}
		sig, err := hex.DecodeString(c.Signature)
		if err != nil || len(sig) != ed25519.SignatureSize {
			return fmt.Errorf("%w: malformed signature", ErrCheckpointSignature)
		}
		msg, err := c.SignedBytes()
		if err != nil || !ed25519.Verify(k, msg, sig) {
			return fmt.Errorf("%w: signature does not verify under key %s", ErrCheckpointSignature, c.KeyID)
		}
		return nil
	}
	return fmt.Errorf("%w: unknown key %s", ErrCheckpointSignature, strconv.QuoteToASCII(c.KeyID))
}

// IsCheckpoint reports whether obj is a checkpoint object (it has the
// "checkpoint" key and no record_hash).
func IsCheckpoint(obj canonical.Object) bool {
	_, marker := obj["checkpoint"]
	_, rec := obj[KeyRecordHash]
	return marker && !rec
}

// CheckpointFromObject reads a decoded checkpoint object.
func CheckpointFromObject(obj canonical.Object) (Checkpoint, error) {
	if m, _ := obj["checkpoint"].(string); m != CheckpointMarker || !IsCheckpoint(obj) {
		return Checkpoint{}, ErrNotCheckpoint
	}
	var c Checkpoint
	var ok [5]bool
	c.TenantID, ok[0] = obj[KeyTenantID].(string)
	c.HeadHash, ok[1] = obj["head_hash"].(string)
	c.Timestamp, ok[2] = obj["checkpointed_at"].(string)
	c.KeyID, ok[3] = obj["key_id"].(string)
	c.Signature, ok[4] = obj["signature"].(string)
	for i, k := range []string{KeyTenantID, "head_hash", "checkpointed_at", "key_id", "signature"} {
		if !ok[i] {
			return Checkpoint{}, fmt.Errorf("%w: %w", ErrNotCheckpoint, &FieldError{Key: k, Want: "a string"})
		}
	}
	seq, bad := sequenceValue(obj[KeySequenceNumber])
	if bad != "" {
		return Checkpoint{}, fmt.Errorf("%w: %w", ErrNotCheckpoint, &FieldError{Key: KeySequenceNumber, Want: "an integer"})
	}
	c.Sequence = seq
	return c, nil
}

// ParseCheckpoint decodes a checkpoint from JSON.
func ParseCheckpoint(b []byte) (Checkpoint, error) {
	obj, err := canonical.DecodeObject(b)
	if err != nil {
		return Checkpoint{}, err
	}
	return CheckpointFromObject(obj)
}

// UnmarshalJSON decodes a checkpoint (see ParseCheckpoint).
func (c *Checkpoint) UnmarshalJSON(b []byte) error {
	cp, err := ParseCheckpoint(b)
	if err != nil {
		return err
	}
	*c = cp
	return nil
}

var (
	_ json.Marshaler   = Checkpoint{}
	_ json.Unmarshaler = (*Checkpoint)(nil)
)

// CheckpointStore keeps signed checkpoints beside a Store's records.
// MemoryStore and FileStore implement it.
type CheckpointStore interface {
	// AppendCheckpoint stores cp.
	AppendCheckpoint(ctx context.Context, cp Checkpoint) error
	// Checkpoints returns a tenant's checkpoints in ascending sequence.
	Checkpoints(ctx context.Context, tenant string) ([]Checkpoint, error)
}
