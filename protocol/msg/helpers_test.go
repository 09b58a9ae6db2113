package msg

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ritual"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.NewReplacer(" ", "", "\n", "", "\t", "").Replace(s))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func uuid(s string) ritual.UUID { return ritual.MustParseUUID(s) }

func f32bytes(vs ...float32) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

type vector struct {
	Description string          `json:"description"`
	Fields      json.RawMessage `json:"fields"`
	Hex         string          `json:"hex"`
	DecodedHex  string          `json:"decoded_hex"`
}

func loadVector(t testing.TB, name string) vector {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "vectors", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var v vector
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return v
}

type datagram struct {
	T    float64 `json:"t"`
	Dir  string  `json:"dir"`
	Hex  string  `json:"hex"`
	file string
	line int
	data []byte
}

// loadCaptures returns every datagram of testdata/captures/*.jsonl.
func loadCaptures(t testing.TB) []datagram {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "captures", "*.jsonl"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no captures in testdata/captures: %v", err)
	}
	var out []datagram
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		line := 0
		for sc.Scan() {
			line++
			if strings.TrimSpace(sc.Text()) == "" {
				continue
			}
			var d datagram
			if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
				t.Fatalf("%s:%d: %v", name, line, err)
			}
			d.file, d.line = filepath.Base(name), line
			d.data = unhex(t, d.Hex)
			out = append(out, d)
		}
		f.Close()
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return out
}
