// Package canonical is the JSON serialisation that audit record hashes are
// computed over.
//
// A record's hash is the SHA-256 of its canonical form, and that form must be
// byte-identical to what the reference implementation hashes: Python's
//
//	json.dumps(record, sort_keys=True, separators=(",", ":"))   # ensure_ascii=True
//
// applied to the value its json.loads built. Only then can a Go producer and
// a Python chain (or the other way round) verify each other's records. The
// rules, all pinned by the golden vectors in testdata:
//
//   - no whitespace; object keys sorted by Unicode code point (= byte order
//     of their UTF-8, which is not UTF-16 order and not RFC 8785/JCS);
//   - pure ASCII output: non-ASCII and U+007F as lowercase \uXXXX, code
//     points above U+FFFF as surrogate pairs, controls as \b \f \n \r \t or
//     \u00XX, and / < > & ' unescaped;
//   - integers and floats are different kinds: integers of any size are
//     written exactly (never through float64), floats as Python's repr
//     ("1.0", "1e+16", "1e-05", "0.0001", "Infinity");
//   - a number read from JSON text is a float if its literal has '.', 'e' or
//     'E' (nearest double, overflow to ±Infinity, underflow to 0.0) and an
//     integer otherwise ("-0" is 0).
//
// encoding/json differs on almost every one of these points (HTML escaping,
// raw UTF-8, float format, json.Number literals, silent U+FFFD for lone
// surrogates), so it must never be used to produce or parse hashed bytes.
// Decode is therefore hand-written: it keeps number literals as json.Number,
// and it is strict where the reference is lax in ways that would make a hash
// ambiguous (NaN/Infinity tokens, lone surrogate escapes, invalid UTF-8),
// returning a *SyntaxError with a byte offset, never panicking.
//
// The audit Emitter builds records with the Append primitives (AppendString,
// AppendFloat, AppendNumber, Append) on its hot path; audit/chain hashes
// with Marshal and re-verifies stored records with DecodeObject.
package canonical
