package injection

import (
	"encoding/base64"
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
	var f folder
	f.b.Grow(len(text) + 16)
	f.fold(text)
	mainLen := f.b.Len()
	attempts := 0
	f.appendSegments(text, encodedLevels, &attempts)
	return matchingCopy{text: f.b.String(), mainLen: mainLen, hidden: f.hidden, breaks: f.breaks}
}

// appendSegments appends the decoded base64 runs of s (and, levels
// permitting, the runs inside them), each after a line break.
func (f *folder) appendSegments(s string, levels int, attempts *int) {
	if levels == 0 {
		return
	}
	for i := 0; i < len(s); {
		if !isEncodedByte(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && isEncodedByte(s[j]) {
			j++
		}
		runEnd := j
		for k := 0; k < 2 && j < len(s) && s[j] == '='; k++ {
			j++
		}
		run := s[i:runEnd]
		i = j
		if len(run) < minEncodedRun || j-(runEnd-len(run)) > maxEncodedRun {
			continue
		}
		if len(run)%4 == 1 {
			continue
		}
		if *attempts >= maxDecodeAttempts {
			return
		}
		*attempts++
		decoded, ok := decodeSegment(run)
		if !ok {
			continue
		}
		f.breaks = append(f.breaks, f.b.Len())
		f.b.WriteByte('\n')
		f.fold(decoded)
		f.appendSegments(decoded, levels-1, attempts)
	}
}

func isEncodedByte(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '+' || c == '/' || c == '_' || c == '-'
}

// decodeSegment decodes one unpadded base64 run and keeps it only when it is
// readable text.
func decodeSegment(run string) (string, bool) {
	enc := base64.RawStdEncoding
	if strings.ContainsAny(run, "-_") {
		enc = base64.RawURLEncoding
	}
	raw, err := enc.DecodeString(run)
	if err != nil || len(raw) == 0 || !utf8.Valid(raw) {
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

// folder writes fold(urldecode(s)) into a builder and records where line
// breaks were (the copy maps them to spaces, as the reference does; the
// Warden detectors need them back) and how often folding undid something that
// only makes sense as obfuscation.
type folder struct {
	b      strings.Builder
	breaks []int // offsets in b of runes that were line breaks
	hidden int
}

// Kinds of the last rune written, for the obfuscation count.
const (
	lastOther = iota
	lastASCIILetter
	lastMappedLetter
)

func (f *folder) fold(s string) {
	last := lastOther
	gap := false // a Cf/Mn rune was dropped right after an ASCII letter
	for i := 0; i < len(s); {
		c := s[i]
		if c == '+' {
			f.b.WriteByte(' ')
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
				f.b.WriteByte(v)
				last, gap = lastOther, false
				i += 3
				continue
			}
		}
		if c < utf8.RuneSelf {
			switch c {
			case '\n', '\r', '\v', '\f':
				f.breaks = append(f.breaks, f.b.Len())
				c = ' '
			case '\t':
				c = ' '
			}
			if isASCIILetter(c) {
				if gap {
					f.hidden++
				}
				last = lastASCIILetter
			} else {
				last = lastOther
			}
			f.b.WriteByte(c)
			gap = false
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == utf8.RuneError && size == 1:
			f.b.WriteRune(utf8.RuneError)
			last, gap = lastOther, false
		case unicode.In(r, unicode.Cf, unicode.Mn):
			if last == lastASCIILetter {
				gap = true
			}
		case unicode.IsSpace(r):
			if r == 0x85 || r == 0x2028 || r == 0x2029 {
				f.breaks = append(f.breaks, f.b.Len())
			}
			f.b.WriteByte(' ')
			last, gap = lastOther, false
		default:
			a, mapped := confusables[r]
			if !mapped && r >= 0xFF01 && r <= 0xFF5E {
				a, mapped = r-0xFEE0, true
			}
			if !mapped {
				f.b.WriteRune(r)
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
			f.b.WriteByte(byte(a))
			gap = false
		}
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
