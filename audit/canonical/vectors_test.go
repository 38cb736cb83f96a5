package canonical_test

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/socwarden/warden/audit/canonical"
)

// readLines returns the non-empty lines of a testdata file.
func readLines(t testing.TB, name string) [][]byte {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	require.NoError(t, err)
	defer f.Close()
	var lines [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), 1<<20)
	for sc.Scan() {
		if len(sc.Bytes()) > 0 {
			lines = append(lines, append([]byte(nil), sc.Bytes()...))
		}
	}
	require.NoError(t, sc.Err())
	return lines
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Spec item 37: every canonical case reproduces the reference's bytes and hash.
func TestCanonicalCasesVectors(t *testing.T) {
	lines := readLines(t, "canonical-cases.jsonl")
	require.Len(t, lines, 42, "vector file changed size")
	for _, line := range lines {
		var tc struct {
			Name, Input, Canonical, SHA256 string
		}
		require.NoError(t, json.Unmarshal(line, &tc))
		t.Run(tc.Name, func(t *testing.T) {
			out, err := canonical.Canonicalize([]byte(tc.Input))
			require.NoError(t, err)
			require.Equal(t, tc.Canonical, string(out))
			require.Equal(t, tc.SHA256, sha256Hex(out))

			// The canonical form is a fixed point, except that an
			// overflowing float literal is rendered Infinity like the
			// reference does, which Decode then refuses as non-JSON.
			again, err := canonical.Canonicalize(out)
			if strings.Contains(tc.Canonical, "Infinity") {
				require.ErrorIs(t, err, canonical.ErrNonJSONToken)
				return
			}
			require.NoError(t, err)
			require.Equal(t, string(out), string(again))
		})
	}
}

// Spec item 38: FormatFloat equals the reference repr for every vector, and
// the repr read back as a JSON number re-serialises to itself.
func TestFloatReprVectors(t *testing.T) {
	lines := readLines(t, "float-repr.jsonl")
	require.Len(t, lines, 2221, "vector file changed size")
	for i, line := range lines {
		var tc struct{ Bits, Repr string }
		require.NoError(t, json.Unmarshal(line, &tc))
		bits, err := strconv.ParseUint(tc.Bits, 16, 64)
		require.NoError(t, err, "line %d", i+1)
		f := math.Float64frombits(bits)

		require.Equal(t, tc.Repr, canonical.FormatFloat(f), "line %d bits %s", i+1, tc.Bits)
		require.Equal(t, tc.Repr, string(canonical.AppendFloat([]byte("x"), f)[1:]), "line %d", i+1)

		out, err := canonical.Canonicalize([]byte(tc.Repr))
		require.NoError(t, err, "line %d", i+1)
		require.Equal(t, tc.Repr, string(out), "line %d: decode and re-encode", i+1)

		num, err := canonical.AppendNumber(nil, tc.Repr)
		require.NoError(t, err, "line %d", i+1)
		require.Equal(t, tc.Repr, string(num), "line %d: AppendNumber", i+1)

		// Through Marshal as a float64 value and as a literal.
		m, err := canonical.Marshal(f)
		require.NoError(t, err)
		require.Equal(t, tc.Repr, string(m))
		m, err = canonical.Marshal(json.Number(tc.Repr))
		require.NoError(t, err)
		require.Equal(t, tc.Repr, string(m))
	}
}

// Every record of the public chain re-hashes to its stored record_hash once
// decoded with literals preserved, stripped of record_hash and
// re-serialised: byte compatibility with the reference end to end (the
// vector lines are in Python's insertion order with ", " and ": ").
func TestChainPublicRecordHashes(t *testing.T) {
	lines := readLines(t, "chain-public.jsonl")
	require.Len(t, lines, 25, "vector file changed size")
	for i, line := range lines {
		rec, err := canonical.DecodeObject(line)
		require.NoError(t, err, "line %d", i+1)
		stored, ok := rec["record_hash"].(string)
		require.True(t, ok, "line %d has no record_hash", i+1)
		delete(rec, "record_hash")

		out, err := canonical.Marshal(rec)
		require.NoError(t, err, "line %d", i+1)
		require.Equal(t, stored, sha256Hex(out), "line %d (%v seq %v)", i+1, rec["tenant_id"], rec["sequence_number"])
		require.True(t, isASCII(out), "line %d", i+1)

		// Canonicalize of the stripped record's canonical bytes is a fixed
		// point, and Canonicalize of the full line keeps record_hash.
		again, err := canonical.Canonicalize(out)
		require.NoError(t, err)
		require.Equal(t, string(out), string(again))
		full, err := canonical.Canonicalize(line)
		require.NoError(t, err)
		require.Contains(t, string(full), `"record_hash":"`+stored+`"`)
	}
}

// The same chain, with a changed value, no longer matches: the test above
// could fail.
func TestChainPublicTamperDetected(t *testing.T) {
	lines := readLines(t, "chain-public.jsonl")
	rec, err := canonical.DecodeObject(lines[len(lines)-1])
	require.NoError(t, err)
	stored := rec["record_hash"].(string)
	delete(rec, "record_hash")
	rec["actor_id"] = rec["actor_id"].(string) + "x"
	out, err := canonical.Marshal(rec)
	require.NoError(t, err)
	require.NotEqual(t, stored, sha256Hex(out))
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// Generated texts and mutations of them, with what CPython 3.11's json
// module does with each (testdata/python_differential.py). Where Python
// accepts, Canonicalize must produce its bytes exactly or refuse for one of
// the documented, deliberate reasons; where Python refuses, so must we.
func TestPythonDifferential(t *testing.T) {
	lines := readLines(t, "python-differential.jsonl")
	require.Len(t, lines, 1000, "vector file changed size")
	var agreed, refusedByDesign int
	for i, line := range lines {
		var tc struct {
			InputHex    string `json:"input_hex"`
			OK          bool
			Canonical   string
			PythonError string `json:"python_error"`
		}
		require.NoError(t, json.Unmarshal(line, &tc))
		in, err := hex.DecodeString(tc.InputHex)
		require.NoError(t, err)
		out, err := canonical.Canonicalize(in)
		switch {
		case !tc.OK:
			require.Error(t, err, "line %d: Python refused %q (%s), we accepted", i+1, in, tc.PythonError)
			agreed++
		case err == nil:
			require.Equal(t, tc.Canonical, string(out), "line %d: %q", i+1, in)
			agreed++
		default:
			// Python accepts NaN/Infinity, lone surrogates and a UTF-8
			// BOM before bytes; Warden refuses them (spec §3.6).
			var se *canonical.SyntaxError
			require.ErrorAs(t, err, &se)
			byDesign := errors.Is(err, canonical.ErrNonJSONToken) || errors.Is(err, canonical.ErrLoneSurrogate) ||
				(se.Offset == 0 && strings.Contains(se.Msg, "byte order mark"))
			require.True(t, byDesign, "line %d: Python accepted %q, we refused: %v", i+1, in, err)
			refusedByDesign++
		}
	}
	require.Equal(t, 1000, agreed+refusedByDesign)
	require.Greater(t, refusedByDesign, 0, "the file should exercise the deliberate differences")
	t.Logf("%d agreed with Python, %d refused by design", agreed, refusedByDesign)
}
