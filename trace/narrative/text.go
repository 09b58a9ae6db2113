package narrative

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// maxValue is how many runes of one recorded value the story shows; a
// longer value is cut with an ellipsis so that no event can flood a line.
const maxValue = 160

// clean makes a recorded string safe to place on one line: invalid UTF-8
// and control characters become spaces or replacement characters, and the
// value is cut at maxValue runes.
func clean(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	if utf8.RuneCountInString(s) > maxValue {
		n := 0
		for i := range s {
			if n == maxValue {
				s = s[:i] + "…"
				break
			}
			n++
		}
	}
	return s
}

// code formats a recorded value as a Markdown code span, choosing a fence
// longer than any run of backticks inside it.
func code(s string) string {
	s = clean(s)
	if s == "" {
		return "` `"
	}
	longest, run := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if longest > 0 || s[0] == ' ' && s[len(s)-1] == ' ' {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}

// text escapes a recorded value for Markdown running text.
func text(s string) string {
	s = clean(s)
	var b strings.Builder
	rs := []rune(s)
	for i, r := range rs {
		switch r {
		case '\\', '`', '*', '[', ']', '<', '>', '~':
			b.WriteByte('\\')
		case '_':
			// An underscore inside a word (login_to_simulator) cannot
			// start emphasis; only one at a word's edge is escaped.
			if i == 0 || i == len(rs)-1 || !wordRune(rs[i-1]) || !wordRune(rs[i+1]) {
				b.WriteByte('\\')
			}
		}
		b.WriteRune(r)
	}
	return b.String()
}

func wordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

// dur formats a duration with fixed precision: milliseconds with one
// decimal below a second, seconds with three decimals from there on.
func dur(d time.Duration) string {
	if d < 0 {
		return "-" + dur(max(-d, 0)) // -MinInt64 overflows to itself
	}
	if d < time.Second {
		return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64) + " ms"
	}
	return strconv.FormatFloat(d.Seconds(), 'f', 3, 64) + " s"
}

// offset formats a time offset from the first event, "+12.4 ms".
func offset(d time.Duration) string {
	if d < 0 {
		return dur(d)
	}
	return "+" + dur(d)
}

// size formats a byte count.
func size(n int) string {
	switch {
	case n < 1024:
		return plural(n, "byte", "bytes")
	case n < 1024*1024:
		return strconv.FormatFloat(float64(n)/1024, 'f', 1, 64) + " KiB"
	}
	return strconv.FormatFloat(float64(n)/(1024*1024), 'f', 1, 64) + " MiB"
}

// plural formats "1 packet" or "3 packets".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// pluralKind forms the plural of a recorded kind name ("prim" → "prims").
func pluralKind(n int, kind string) string {
	if n == 1 || strings.HasSuffix(kind, "s") {
		return strconv.Itoa(n) + " " + kind
	}
	return strconv.Itoa(n) + " " + kind + "s"
}

// join lists items as "a, b and c", keeping at most limit of them and
// saying how many more there were.
func join(items []string, limit int) string {
	if limit > 0 && len(items) > limit {
		rest := len(items) - limit
		items = append(items[:limit:limit], fmt.Sprintf("%d more", rest))
	}
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

// sentence ends s with a full stop unless it already ends a sentence.
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	switch {
	case strings.HasSuffix(s, ".”"), strings.HasSuffix(s, "!”"), strings.HasSuffix(s, "?”"):
		return s
	}
	switch s[len(s)-1] {
	case '.', '!', '?', ':':
		return s
	}
	return s + "."
}

// count parses a recorded non-negative count. Values that are not decimal
// integers in [0, maxCount] are ignored.
func count(s string) (int, bool) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 || n > maxCount {
		return 0, false
	}
	return n, true
}

// maxCount bounds any count read from a field, so sums stay far from
// overflow however many events a stream holds.
const maxCount = 1 << 24
