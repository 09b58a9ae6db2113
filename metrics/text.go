package metrics

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
)

// ContentType is the media type of the text exposition format.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// Metric types a family can have.
const (
	Counter = "counter"
	Gauge   = "gauge"
)

// Label is one name="value" pair of a sample.
type Label struct {
	Name, Value string
}

// L is shorthand for a Label.
func L(name, value string) Label { return Label{name, value} }

// Writer writes families of samples in the text exposition format. The
// first error sticks and is reported by Err; later calls do nothing.
type Writer struct {
	w      *bufio.Writer
	family string
	seen   map[string]bool
	err    error
}

// NewWriter returns a Writer writing to w. Call Flush when done.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: bufio.NewWriter(w), seen: map[string]bool{}}
}

// ErrBadName reports a metric or label name outside [a-zA-Z_:][a-zA-Z0-9_:]*.
var ErrBadName = errors.New("metrics: invalid name")

// ErrFamily reports a sample written outside its family, or a family
// written twice.
var ErrFamily = errors.New("metrics: sample outside its family")

// Family starts the family name of type typ (Counter or Gauge) with its
// help text. Every sample of the family follows before the next Family.
func (w *Writer) Family(name, typ, help string) {
	if w.err != nil {
		return
	}
	if !validName(name, true) {
		w.err = fmt.Errorf("%w: metric %q", ErrBadName, name)
		return
	}
	if typ != Counter && typ != Gauge {
		w.err = fmt.Errorf("metrics: family %s: type %q, want counter or gauge", name, typ)
		return
	}
	if w.seen[name] {
		w.err = fmt.Errorf("%w: family %s written twice", ErrFamily, name)
		return
	}
	w.seen[name] = true
	w.family = name
	w.w.WriteString("# HELP ")
	w.w.WriteString(name)
	w.w.WriteByte(' ')
	w.w.WriteString(escapeHelp(help))
	w.w.WriteString("\n# TYPE ")
	w.w.WriteString(name)
	w.w.WriteByte(' ')
	w.w.WriteString(typ)
	w.w.WriteByte('\n')
}

// Sample writes one sample of the current family.
func (w *Writer) Sample(value float64, labels ...Label) {
	if w.err != nil {
		return
	}
	if w.family == "" {
		w.err = fmt.Errorf("%w: no family started", ErrFamily)
		return
	}
	w.w.WriteString(w.family)
	if len(labels) > 0 {
		w.w.WriteByte('{')
		for i, l := range labels {
			if !validName(l.Name, false) {
				w.err = fmt.Errorf("%w: label %q of %s", ErrBadName, l.Name, w.family)
				return
			}
			if i > 0 {
				w.w.WriteByte(',')
			}
			w.w.WriteString(l.Name)
			w.w.WriteString(`="`)
			w.w.WriteString(escapeLabel(l.Value))
			w.w.WriteByte('"')
		}
		w.w.WriteByte('}')
	}
	w.w.WriteByte(' ')
	w.w.WriteString(formatValue(value))
	w.w.WriteByte('\n')
}

// One writes a family with a single unlabelled sample.
func (w *Writer) One(name, typ, help string, value float64) {
	w.Family(name, typ, help)
	w.Sample(value)
}

// Flush writes what is buffered and returns the first error met.
func (w *Writer) Flush() error {
	if err := w.w.Flush(); err != nil && w.err == nil {
		w.err = err
	}
	return w.err
}

// Err returns the first error met.
func (w *Writer) Err() error { return w.err }

func validName(s string, colon bool) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		case c == ':' && colon:
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

var (
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
)

func escapeHelp(s string) string  { return helpEscaper.Replace(s) }
func escapeLabel(s string) string { return labelEscaper.Replace(s) }

func formatValue(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// Handler serves what collect writes, as the text exposition format, to
// GET and HEAD requests.
func Handler(collect func(*Writer)) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			rw.Header().Set("Allow", "GET, HEAD")
			http.Error(rw, "metrics: use GET", http.StatusMethodNotAllowed)
			return
		}
		var buf bytes.Buffer
		w := NewWriter(&buf)
		collect(w)
		if err := w.Flush(); err != nil {
			http.Error(rw, err.Error(), http.StatusInternalServerError)
			return
		}
		rw.Header().Set("Content-Type", ContentType)
		rw.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
		if r.Method == http.MethodHead {
			return
		}
		rw.Write(buf.Bytes()) //nolint:errcheck // the scraper has gone
	})
}

// Sample is one parsed sample.
type Sample struct {
	Name   string
	Labels []Label // in the order written
	Value  float64
}

// Label returns the value of the named label, or "".
func (s Sample) Label(name string) string {
	for _, l := range s.Labels {
		if l.Name == name {
			return l.Value
		}
	}
	return ""
}

// ErrSyntax reports text that is not in the exposition format.
var ErrSyntax = errors.New("metrics: syntax error")

// MaxLine bounds one line Parse reads.
const MaxLine = 64 << 10

// Parse reads samples in the text exposition format. Comment lines (HELP,
// TYPE and others) and blank lines are skipped; a timestamp after the value
// is accepted and dropped. An error names the line and what was wrong.
func Parse(r io.Reader) ([]Sample, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), MaxLine)
	var out []Sample
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || text[0] == '#' {
			continue
		}
		s, err := parseSample(text)
		if err != nil {
			return out, fmt.Errorf("%w: line %d: %v", ErrSyntax, line, err)
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("metrics: reading line %d: %w", line+1, err)
	}
	return out, nil
}

func parseSample(text string) (Sample, error) {
	var s Sample
	i := 0
	for i < len(text) && text[i] != '{' && text[i] != ' ' && text[i] != '\t' {
		i++
	}
	s.Name = text[:i]
	if !validName(s.Name, true) {
		return s, fmt.Errorf("invalid metric name %q", s.Name)
	}
	rest := text[i:]
	if strings.HasPrefix(rest, "{") {
		var err error
		s.Labels, rest, err = parseLabels(rest[1:])
		if err != nil {
			return s, err
		}
	}
	fields := strings.Fields(rest)
	if len(fields) == 0 || len(fields) > 2 {
		return s, fmt.Errorf("want a value and an optional timestamp after %s, found %q", s.Name, rest)
	}
	v, err := parseValue(fields[0])
	if err != nil {
		return s, err
	}
	s.Value = v
	if len(fields) == 2 {
		if _, err := strconv.ParseInt(fields[1], 10, 64); err != nil {
			return s, fmt.Errorf("timestamp %q is not an integer", fields[1])
		}
	}
	return s, nil
}

func parseValue(f string) (float64, error) {
	switch f {
	case "+Inf", "Inf":
		return math.Inf(1), nil
	case "-Inf":
		return math.Inf(-1), nil
	case "NaN":
		return math.NaN(), nil
	}
	v, err := strconv.ParseFloat(f, 64)
	if err != nil || strings.ContainsAny(f, "nNiI_xXpP") {
		return 0, fmt.Errorf("value %q is not a number", f)
	}
	return v, nil
}

// parseLabels reads name="value" pairs up to the closing brace and returns
// them with what follows it.
func parseLabels(s string) ([]Label, string, error) {
	var labels []Label
	for {
		s = strings.TrimLeft(s, " \t")
		if strings.HasPrefix(s, "}") {
			return labels, s[1:], nil
		}
		eq := strings.IndexByte(s, '=')
		if eq < 0 {
			return nil, "", errors.New("label without '='")
		}
		name := strings.TrimSpace(s[:eq])
		if !validName(name, false) {
			return nil, "", fmt.Errorf("invalid label name %q", name)
		}
		s = strings.TrimLeft(s[eq+1:], " \t")
		if !strings.HasPrefix(s, `"`) {
			return nil, "", fmt.Errorf("label %s: value not quoted", name)
		}
		var val strings.Builder
		i := 1
		closed := false
		for i < len(s) && !closed {
			switch c := s[i]; c {
			case '\\':
				if i+1 >= len(s) {
					return nil, "", fmt.Errorf("label %s: escape at the end of the line", name)
				}
				switch s[i+1] {
				case '\\':
					val.WriteByte('\\')
				case '"':
					val.WriteByte('"')
				case 'n':
					val.WriteByte('\n')
				default:
					return nil, "", fmt.Errorf("label %s: unknown escape \\%c", name, s[i+1])
				}
				i += 2
			case '"':
				closed = true
				i++
			default:
				val.WriteByte(c)
				i++
			}
		}
		if !closed {
			return nil, "", fmt.Errorf("label %s: unterminated value", name)
		}
		labels = append(labels, Label{name, val.String()})
		s = strings.TrimLeft(s[i:], " \t")
		switch {
		case strings.HasPrefix(s, ","):
			s = s[1:]
		case strings.HasPrefix(s, "}"):
		default:
			return nil, "", fmt.Errorf("after label %s: want ',' or '}'", name)
		}
	}
}
