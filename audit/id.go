package audit

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"sync/atomic"
	"time"
)

// TimestampLayout is the record timestamp format: UTC, millisecond precision
// (truncated, never rounded), literal Z. Go's formatter truncates.
const TimestampLayout = "2006-01-02T15:04:05.000Z"

// FormatTimestamp formats t in UTC with TimestampLayout.
func FormatTimestamp(t time.Time) string { return t.UTC().Format(TimestampLayout) }

// ParseTimestamp parses a timestamp written by FormatTimestamp.
func ParseTimestamp(s string) (time.Time, error) {
	if len(s) != len(TimestampLayout) {
		return time.Time{}, errors.New("audit: timestamp " + quote(s) + " is not of the form YYYY-MM-DDTHH:MM:SS.mmmZ")
	}
	t, err := time.Parse(TimestampLayout, s)
	if err != nil {
		return time.Time{}, errors.New("audit: timestamp " + quote(s) + " is not of the form YYYY-MM-DDTHH:MM:SS.mmmZ")
	}
	return t, nil
}

// uuidState is the process-wide UUIDv7 state: the last id's 48-bit
// millisecond field shifted left 12, plus its 12-bit rand_a counter. It is one
// word so that it can be advanced with compare-and-swap; ids from every
// Emitter in the process share it, which is what makes them strictly
// increasing within a millisecond.
var uuidState atomic.Uint64

// maxCounterLead bounds how far the id clock may run ahead of the wall clock
// after counter overflows before a regression is treated as a real clock jump
// (and the state is re-seeded) rather than an overflow lead.
const maxCounterLead = 1000 // ms

// nextV7State returns the next (ms<<12 | counter) for a wall-clock millisecond.
func nextV7State(nowMS uint64) uint64 {
	for {
		old := uuidState.Load()
		oldMS := old >> 12
		var next uint64
		if nowMS > oldMS || oldMS-nowMS > maxCounterLead {
			// New millisecond (or a real backwards clock jump): re-seed the
			// counter randomly in its lower half, leaving room to count up.
			var b [2]byte
			_, _ = rand.Read(b[:])
			next = nowMS<<12 | uint64(binary.BigEndian.Uint16(b[:])&0x7ff)
		} else {
			// Same millisecond, or ahead of the wall clock after an overflow:
			// count up. Overflow of the 12-bit counter carries into the
			// millisecond field, advancing it by one.
			next = old + 1
		}
		if uuidState.CompareAndSwap(old, next) {
			return next
		}
	}
}

// newV7 writes a UUIDv7 for t into dst and returns the Unix millisecond
// embedded in it (which exceeds t's only after a counter overflow). The 62
// random bits come from rnd, which the caller fills from crypto/rand.
func newV7(dst []byte, t time.Time, rnd *[8]byte) int64 {
	state := nextV7State(uint64(t.UnixMilli()))
	ms := state >> 12
	var u [16]byte
	binary.BigEndian.PutUint64(u[:8], ms<<16|0x7000|state&0xfff)
	copy(u[8:], rnd[:])
	u[8] = u[8]&0x3f | 0x80
	encodeUUID(dst, &u)
	return int64(ms)
}

// hexPairs holds the two lowercase hex digits of every byte value.
const hexPairs = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f" +
	"202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f" +
	"404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f" +
	"606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f" +
	"808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f" +
	"a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf" +
	"c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf" +
	"e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"

// encodeUUID writes the 8-4-4-4-12 form of u into dst[:36].
func encodeUUID(dst []byte, u *[16]byte) {
	_ = dst[35]
	j := 0
	for i, b := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst[j] = '-'
			j++
		}
		dst[j] = hexPairs[2*int(b)]
		dst[j+1] = hexPairs[2*int(b)+1]
		j += 2
	}
}

// NewID returns a new UUIDv7 for the current time.
func NewID() string { return NewIDAt(time.Now()) }

// NewIDAt returns a new UUIDv7 whose millisecond field is t's (or, after more
// than 2048 ids in one millisecond, a few milliseconds later: ids made in one
// process are strictly increasing within a millisecond).
func NewIDAt(t time.Time) string {
	var b [36]byte
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	newV7(b[:], t, &rnd)
	return string(b[:])
}

// ValidUUID reports whether s is a syntactically valid UUID of any version in
// the 8-4-4-4-12 hex form (either case).
func ValidUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// IDTime returns the Unix-millisecond time embedded in a UUIDv7, and false if
// id is not a version-7 UUID.
func IDTime(id string) (time.Time, bool) {
	if !ValidUUID(id) || id[14] != '7' {
		return time.Time{}, false
	}
	var ms int64
	for _, c := range id[:8] + id[9:13] {
		ms = ms<<4 | int64(unhex(byte(c)))
	}
	return time.UnixMilli(ms).UTC(), true
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}
