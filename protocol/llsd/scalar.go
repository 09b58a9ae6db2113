package llsd

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
)

// appendReal writes f in the shortest decimal form that reads back exactly:
// plain digits between 1e-6 and 1e21 ("256", "0.9991014"), an exponent
// outside ("1e+21"), and NaN, Infinity and -Infinity for the special values
// (spellings C's strtod, .NET and the LLSD JavaScript library all read).
func appendReal(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, "NaN"...)
	case math.IsInf(f, 1):
		return append(b, "Infinity"...)
	case math.IsInf(f, -1):
		return append(b, "-Infinity"...)
	}
	if a := math.Abs(f); a == 0 || a >= 1e-6 && a < 1e21 {
		return strconv.AppendFloat(b, f, 'f', -1, 64)
	}
	return strconv.AppendFloat(b, f, 'e', -1, 64)
}

// appendNotationReal writes f as appendReal does, but the special values as
// nan, inf and -inf: the only spellings Linden Lab's notation parser reads
// (and what it writes).
func appendNotationReal(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, "nan"...)
	case math.IsInf(f, 1):
		return append(b, "inf"...)
	case math.IsInf(f, -1):
		return append(b, "-inf"...)
	}
	return appendReal(b, f)
}

// parseRealText reads a real as the various LLSD writers spell it: decimal
// or exponent form, and the special values nan / NaN / NaNS / NaNQ /
// -nan(ind), inf / Infinity / +Infinity / -Infinity, +Zero / -Zero. A value
// beyond the float64 range reads as an infinity.
func parseRealText(s string) (float64, bool) {
	if s == "" {
		return 0, false
	}
	body, neg := s, false
	switch body[0] {
	case '-':
		body, neg = body[1:], true
	case '+':
		body = body[1:]
	}
	sign := 1.0
	if neg {
		sign = -1
	}
	switch lower := strings.ToLower(body); {
	case strings.HasPrefix(lower, "nan") && (len(lower) == 3 || lower == "nans" || lower == "nanq" || lower[3] == '('):
		return math.NaN(), true
	case lower == "inf" || lower == "infinity":
		return math.Inf(int(sign)), true
	case lower == "zero":
		return math.Copysign(0, sign), true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && ne.Err == strconv.ErrRange {
			return f, true
		}
		return 0, false
	}
	return f, true
}

// The date range every LLSD form can carry: years 1 through 9999.
const (
	minDateSeconds = -62135596800 // 0001-01-01T00:00:00Z
	maxDateSeconds = 253402300799 // 9999-12-31T23:59:59Z
)

// epoch is LLSD's default date, used for an empty <date/>.
var epoch = time.Unix(0, 0).UTC()

func dateInRange(t time.Time) bool {
	s := t.Unix()
	return s >= minDateSeconds && s <= maxDateSeconds
}

// appendDate writes t as ISO-8601 UTC with the fractional second trimmed:
// 2006-02-01T14:29:53.43Z.
func appendDate(b []byte, t time.Time) []byte {
	return t.UTC().AppendFormat(b, "2006-01-02T15:04:05.999999999Z07:00")
}

var errDateRange = errors.New("date outside years 1 to 9999")

// parseDate reads an ISO-8601 date: full RFC 3339 (fraction optional, any
// offset, converted to UTC), the same without a zone (taken as UTC), or a
// bare date. The empty string is the epoch.
func parseDate(s string) (time.Time, error) {
	if s == "" {
		return epoch, nil
	}
	var t time.Time
	var err error
	for _, layout := range [...]string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02"} {
		if t, err = time.Parse(layout, s); err == nil {
			break
		}
	}
	if err != nil {
		return time.Time{}, err
	}
	t = t.UTC()
	if !dateInRange(t) {
		return time.Time{}, errDateRange
	}
	return t, nil
}

// dateToSeconds gives t as seconds since 1970, the binary form's date.
func dateToSeconds(t time.Time) float64 {
	return float64(t.Unix()) + float64(t.Nanosecond())/1e9
}

// secondsToDate is the inverse of dateToSeconds, to the nearest microsecond:
// a float64 count of seconds since 1970 resolves about a quarter of a
// microsecond today, so finer digits would be noise, and rounding makes a
// date with whole microseconds survive the binary form exactly.
func secondsToDate(f float64) (time.Time, error) {
	if math.IsNaN(f) || f < minDateSeconds || f >= maxDateSeconds+1 {
		return time.Time{}, errDateRange
	}
	sec := math.Floor(f)
	us := math.Round((f - sec) * 1e6)
	if us >= 1e6 {
		sec++
		us -= 1e6
	}
	t := time.Unix(int64(sec), int64(us)*1000).UTC()
	if !dateInRange(t) {
		return time.Time{}, errDateRange
	}
	return t, nil
}
