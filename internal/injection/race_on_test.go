//go:build race

package injection

// raceEnabled thins the regex-heavy differential inputs under the race
// detector, which slows RE2 tenfold; the full set runs without it.
const raceEnabled = true
