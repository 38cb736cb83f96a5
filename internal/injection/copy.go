package injection

import (
	"encoding/base64"
	"encoding/binary"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of the encoded-segment step of the matching copy.
const (
	// minEncodedRun is the shortest run of base64 alphabet characters that is
	// tried as an encoded segment.
	minEncodedRun = 16
	// maxEncodedRun bounds the work spent on one run; longer runs (binary
	// blobs, embedded files) are skipped, not truncated.
	maxEncodedRun = 65536
	// maxDecodeAttempts bounds decode attempts per text, nested ones included.
	maxDecodeAttempts = 32
	// encodedLevels is how many times a decoded segment is itself searched for
	// further segments (two levels in total catch double encoding).
	encodedLevels = 2
	// minPrintableShare is the share of printable or white-space runes a
	// decoded segment needs to be kept; it rejects hashes and UTF-16 blobs.
	minPrintableShare = 0.9
)

// confusables maps the Cyrillic and Greek letters that render like ASCII
// letters to those letters.
var confusables = map[rune]rune{
	// Cyrillic lower case.
	'а': 'a', 'е': 'e', 'і': 'i', 'ј': 'j', 'о': 'o', 'р': 'p', 'с': 'c', 'у': 'y',
	'х': 'x', 'ѕ': 's', 'ԁ': 'd', 'һ': 'h', 'ӏ': 'l', 'ԛ': 'q', 'ԝ': 'w',
	// Cyrillic upper case.
	'А': 'A', 'В': 'B', 'Е': 'E', 'К': 'K', 'М': 'M', 'Н': 'H', 'О': 'O', 'Р': 'P',
	'С': 'C', 'Т': 'T', 'Х': 'X', 'І': 'I', 'Ј': 'J', 'Ѕ': 'S',
	// Greek lower case.
	'α': 'a', 'ο': 'o', 'ρ': 'p', 'ι': 'i', 'κ': 'k', 'ν': 'v', 'υ': 'u', 'χ': 'x',
	// Greek upper case.
	'Α': 'A', 'Β': 'B', 'Ε': 'E', 'Ζ': 'Z', 'Η': 'H', 'Ι': 'I', 'Κ': 'K', 'Μ': 'M',
	'Ν': 'N', 'Ο': 'O', 'Ρ': 'P', 'Τ': 'T', 'Υ': 'Y', 'Χ': 'X',
}

// matchingCopy is the text the detectors read, plus what the folding step
// noticed about obfuscation.
type matchingCopy struct {
	text string
	// mainLen is the length of the folded original; decoded segments follow.
	mainLen int
	// hidden counts folding events that only make sense as obfuscation:
	// format characters or combining marks between two ASCII letters,
	// homoglyphs or fullwidth letters next to ASCII letters, URL-escaped
	// letters.
	hidden int
	// breaks are the offsets of the characters that were line breaks before
	// folding (and of the separators before decoded segments), ascending.
	breaks []int
}

// MatchingCopy returns the normalised copy of text that the patterns run on:
// fold(urldecode(text)) followed by one "\n"-prefixed folded segment per
// base64 run that decodes to printable text (two levels, at most 32 decode
// attempts). The original text is never modified.
func MatchingCopy(text string) string { return buildCopy(text).text }

func buildCopy(text string) matchingCopy {
	f := folder{b: make([]byte, 0, len(text)+16)}
	f.fold(text)
	mainLen := len(f.b)
	attempts := 0
	f.appendSegments(text, encodedLevels, &attempts)
	return matchingCopy{text: string(f.b), mainLen: mainLen, hidden: f.hidden, breaks: f.breaks}
}

// appendSegments appends the decoded base64 runs of s (and, levels
// permitting, the runs inside them), each after a line break.
func (f *folder) appendSegments(s string, levels int, attempts *int) {
	if levels == 0 {
		return
	}
	// Only maximal runs of at least minEncodedRun encoded bytes matter, and
	// such a run starting at or after i covers i+minEncodedRun-1: probing
	// there skips most text without looking at every byte. Invariant: i is 0
	// or s[i-1] is not an encoded byte, so no run crosses i.
	for i := 0; i+minEncodedRun <= len(s); {
		p := i + minEncodedRun - 1
		if !encodedByte[s[p]] {
			i = p + 1
			continue
		}
		start := p
		for start > i && encodedByte[s[start-1]] {
			start--
		}
		runEnd := p
		for runEnd < len(s) && encodedByte[s[runEnd]] {
			runEnd++
		}
		if runEnd-start < minEncodedRun {
			i = runEnd + 1 // s[runEnd] is not an encoded byte
			continue
		}
		j := runEnd
		for k := 0; k < 2 && j < len(s) && s[j] == '='; k++ {
			j++
		}
		run := s[start:runEnd]
		i = j // s[j-1] is the run's end or '=': not an encoded byte
		if j-start > maxEncodedRun || len(run)%4 == 1 {
			continue
		}
		if *attempts >= maxDecodeAttempts {
			return
		}
		*attempts++
		decoded, ok := f.decodeSegment(run)
		if !ok {
			continue
		}
		if !f.lower {
			f.breaks = append(f.breaks, len(f.b))
		}
		f.seps = append(f.seps, len(f.b))
		f.b = append(f.b, '\n')
		f.fold(decoded)
		f.appendSegments(decoded, levels-1, attempts)
	}
}

func isEncodedByte(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '+' || c == '/' || c == '_' || c == '-'
}

// encodedByte is isEncodedByte as a table, for the per-byte loops.
var encodedByte = func() (t [256]bool) {
	for c := range t {
		t[c] = isEncodedByte(byte(c))
	}
	return t
}()

// decodeSegment decodes one unpadded base64 run and keeps it only when it is
// readable text. Runs that do not decode to text (most: words, hashes,
// identifiers) cost no allocation.
func (f *folder) decodeSegment(run string) (string, bool) {
	enc := base64.RawStdEncoding
	if strings.ContainsAny(run, "-_") {
		enc = base64.RawURLEncoding
	}
	f.dec = slices.Grow(f.dec[:0], enc.DecodedLen(len(run)))[:enc.DecodedLen(len(run))]
	n, err := enc.Decode(f.dec, []byte(run))
	raw := f.dec[:n]
	if err != nil || n == 0 || !utf8.Valid(raw) {
		return "", false
	}
	total, printable := 0, 0
	for _, r := range string(raw) {
		total++
		if unicode.IsPrint(r) || unicode.IsSpace(r) {
			printable++
		}
	}
	if float64(printable) < minPrintableShare*float64(total) {
		return "", false
	}
	return string(raw), true
}

// folder writes fold(urldecode(s)) into b and records where line breaks
// were (the copy maps them to spaces, as the reference does; the Warden
// detectors need them back) and how often folding undid something that only
// makes sense as obfuscation.
//
// With lower set it writes the form the detectors read directly, in the same
// pass: ASCII letters lower-cased and line breaks kept as "\n" (what
// lowerCopy derives from the plain copy); breaks are then not recorded.
type folder struct {
	b      []byte
	lower  bool
	breaks []int  // offsets in b of runes that were line breaks (plain form only)
	seps   []int  // offsets in b of the "\n" before each decoded segment
	dec    []byte // decodeSegment's buffer
	hidden int
	// foldsToASCII: one of the two non-ASCII runes RE2's (?i) folds onto an
	// ASCII letter was written (KELVIN SIGN → k, LATIN SMALL LETTER LONG S →
	// s; TestRE2FoldsOnlyTwoRunesOntoASCII pins that there are no others).
	// Such a copy skips the prefilters.
	foldsToASCII bool
}

// Kinds of the last rune written, for the obfuscation count.
const (
	lastOther = iota
	lastASCIILetter
	lastMappedLetter
)

// foldClass sorts ASCII bytes for fold: plain bytes are copied (lower-cased
// in the lower form) in runs; the others need a look.
var foldClass = func() (t [256]uint8) {
	for c := 0x80; c < 256; c++ {
		t[c] = foldNonASCII
	}
	for _, c := range "+%\n\r\v\f\t" {
		t[c] = foldSpecial
	}
	return t
}()

const (
	foldPlain = iota
	foldSpecial
	foldNonASCII
)

// asciiLowerByte lower-cases an ASCII letter.
func asciiLowerByte(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// breakByte is what a line break becomes.
func (f *folder) breakByte() byte {
	if f.lower {
		return '\n'
	}
	f.breaks = append(f.breaks, len(f.b))
	return ' '
}

func (f *folder) letter(c byte) byte {
	if f.lower {
		return asciiLowerByte(c)
	}
	return c
}

func (f *folder) fold(s string) {
	last := lastOther
	gap := false // a Cf/Mn rune was dropped right after an ASCII letter
	for i := 0; i < len(s); {
		c := s[i]
		if foldClass[c] == foldPlain {
			// A run of bytes copied as they are (lower-cased in the lower
			// form); only its first letter can follow a dropped rune.
			j := i
			for j < len(s) && foldClass[s[j]] == foldPlain {
				j++
			}
			if gap && isASCIILetter(c) {
				f.hidden++
			}
			n := len(f.b)
			f.b = append(f.b, s[i:j]...)
			if f.lower {
				lowerASCII(f.b[n:])
			}
			last, gap = lastOther, false
			if isASCIILetter(s[j-1]) {
				last = lastASCIILetter
			}
			i = j
			continue
		}
		if c == '+' {
			f.b = append(f.b, ' ')
			last, gap = lastOther, false
			i++
			continue
		}
		if c == '%' && i+2 < len(s) {
			if v, ok := unhex2(s[i+1], s[i+2]); ok && v >= 0x20 && v <= 0x7e {
				if isASCIILetter(v) {
					f.hidden++
				}
				// Decoded characters are printable ASCII, which folding leaves
				// alone.
				f.b = append(f.b, f.letter(v))
				last, gap = lastOther, false
				i += 3
				continue
			}
		}
		if c < utf8.RuneSelf {
			switch c {
			case '\n', '\r', '\v', '\f':
				c = f.breakByte()
			case '\t':
				c = ' '
			}
			// '%' not starting an escape is the only letter-less case left.
			last = lastOther
			f.b = append(f.b, c)
			gap = false
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == utf8.RuneError && size == 1:
			f.b = utf8.AppendRune(f.b, utf8.RuneError)
			last, gap = lastOther, false
		case unicode.In(r, unicode.Cf, unicode.Mn):
			if last == lastASCIILetter {
				gap = true
			}
		case unicode.IsSpace(r):
			b := byte(' ')
			if r == 0x85 || r == 0x2028 || r == 0x2029 {
				b = f.breakByte()
			}
			f.b = append(f.b, b)
			last, gap = lastOther, false
		default:
			a, mapped := confusables[r]
			if !mapped && r >= 0xFF01 && r <= 0xFF5E {
				a, mapped = r-0xFEE0, true
			}
			if !mapped {
				if r == '\u212a' || r == '\u017f' {
					f.foldsToASCII = true
				}
				f.b = utf8.AppendRune(f.b, r)
				last, gap = lastOther, false
				continue
			}
			if isASCIILetter(byte(a)) {
				if last == lastASCIILetter || i < len(s) && isASCIILetter(s[i]) {
					f.hidden++
				}
				last = lastMappedLetter
			} else {
				last = lastOther
			}
			f.b = append(f.b, f.letter(byte(a)))
			gap = false
		}
	}
}

// lowerASCII lower-cases the ASCII letters of b in place, eight bytes at a
// time where it can (b holds no byte ≥ 0x80 there: plain runs only).
func lowerASCII(b []byte) {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		// For bytes < 0x80: high bit of (x + 0x3f) set ⇔ byte ≥ 'A';
		// of (x + 0x25) set ⇔ byte ≥ '[' ('Z'+1).
		const ones = 0x0101010101010101
		upper := ((x + ones*(0x80-'A')) &^ (x + ones*(0x80-'Z'-1))) & (ones * 0x80)
		binary.LittleEndian.PutUint64(b[i:], x|upper>>2)
	}
	for ; i < len(b); i++ {
		b[i] = asciiLowerByte(b[i])
	}
}

func isASCIILetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

func unhex2(a, b byte) (byte, bool) {
	hi, ok1 := unhex(a)
	lo, ok2 := unhex(b)
	return hi<<4 | lo, ok1 && ok2
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
