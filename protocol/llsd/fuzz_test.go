package llsd

import (
	"bytes"
	"errors"
	"math"
	"testing"
	"time"
)

// roughlyEqual is Equal, except that dates may differ by the rounding a
// trip through the binary form's float64 seconds costs.
func roughlyEqual(a, b any) bool {
	switch x := a.(type) {
	case time.Time:
		y, ok := b.(time.Time)
		if !ok {
			return false
		}
		fx, fy := dateToSeconds(x), dateToSeconds(y)
		ulp := math.Nextafter(math.Abs(fx), math.Inf(1)) - math.Abs(fx)
		return math.Abs(fx-fy) <= 1e-6+4*ulp
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !roughlyEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, xv := range x {
			yv, ok := y[k]
			if !ok || !roughlyEqual(xv, yv) {
				return false
			}
		}
		return true
	}
	return Equal(a, b)
}

// checkDecodeError makes sure a decoder failure is a well-formed DecodeError
// whose offset lies within the input.
func checkDecodeError(t *testing.T, err error, n int) {
	t.Helper()
	var de *DecodeError
	if !errors.As(err, &de) {
		t.Fatalf("error %v is not a *DecodeError", err)
	}
	if de.Offset < 0 || de.Offset > n {
		t.Fatalf("error offset %d outside the %d-byte input: %v", de.Offset, n, err)
	}
	if de.Err == nil || de.Msg == "" {
		t.Fatalf("error without sentinel or message: %#v", de)
	}
}

// roundTrip encodes v in form f, decodes it and compares.
func roundTrip(t *testing.T, v any, f Format, exact bool) []byte {
	t.Helper()
	enc, err := Marshal(f, v)
	if err != nil {
		t.Fatalf("%s: cannot encode a decoded value %#v: %v", f, v, err)
	}
	back, err := Options{}.Unmarshal(f, enc)
	if err != nil {
		t.Fatalf("%s: cannot decode our own output %q: %v", f, enc, err)
	}
	if exact && !Equal(back, v) || !roughlyEqual(back, v) {
		t.Fatalf("%s: round trip changed %#v into %#v (via %q)", f, v, back, enc)
	}
	again, err := Marshal(f, back)
	if err != nil {
		t.Fatal(err)
	}
	if exact && !bytes.Equal(again, enc) {
		t.Fatalf("%s: encoding not stable:\n%q\n%q", f, enc, again)
	}
	return enc
}

// addCaptureSeeds seeds with the recorded documents of up to 4 kB in the
// given form (the 14.6 kB login response would slow every execution down
// while adding nothing the smaller ones do not cover).
func addCaptureSeeds(f *testing.F, form Format) {
	for _, name := range captureFiles {
		data := readCapture(f, name)
		if len(data) > 4096 {
			continue
		}
		if form == FormatXML {
			f.Add(data)
			continue
		}
		v, err := UnmarshalXML(data)
		if err != nil {
			f.Fatal(err)
		}
		enc, err := Marshal(form, v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(enc)
	}
	enc, err := Marshal(form, goldenLoginResponse())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(enc)
}

func FuzzXML(f *testing.F) {
	addCaptureSeeds(f, FormatXML)
	for _, s := range []string{
		wrap("<real>-Zero</real>"), wrap("<string>a&#13;&lt;<![CDATA[x]]></string>"),
		wrap("<binary encoding='base16'>00ff</binary>"), wrap("<date>2006-02-01T14:29:53.43Z</date>"),
		wrap("<map><key>a</key><array><undef/><boolean>true</boolean></array></map>"),
		"<?xml version=\"1.0\"?>\n<llsd>\n <uri>http://x/</uri>\n</llsd>\n",
		wrap("<array><uri> http://x/\n</uri><real>Infinity</real><real>NaN</real></array>"),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := UnmarshalXML(data)
		if err != nil {
			checkDecodeError(t, err, len(data))
			return
		}
		roundTrip(t, v, FormatXML, true)
		roundTrip(t, v, FormatNotation, true)
		roundTrip(t, v, FormatBinary, false)
	})
}

func FuzzBinary(f *testing.F) {
	addCaptureSeeds(f, FormatBinary)
	for _, v := range binaryVectors {
		f.Add(unhex(f, v.hex))
	}
	f.Add(unhex(f, "7b 00000001 27 6b27 31 7d"))
	f.Add(unhex(f, "5b ffffffff 21 5d"))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := UnmarshalBinary(data)
		if err != nil {
			checkDecodeError(t, err, len(data))
			return
		}
		roundTrip(t, v, FormatBinary, false)
		roundTrip(t, v, FormatNotation, false)
	})
}

func FuzzNotation(f *testing.F) {
	addCaptureSeeds(f, FormatNotation)
	for _, s := range []string{
		capturedHome, capturedLookAtLLSD, capturedLookAtRPC,
		`{'a':s(3)"x'y",'b':b(2)"` + "\x00\xff" + `",'c':b16"00FF",'d':d"2006-02-01T14:29:53.43Z"}`,
		`['it\'s',"\x41\n",TRUE,F,!,u2e3fc297-1d6f-493e-aa23-d69777db3cbe,l"http://x/"]`,
		NotationHeader + "[i-1,r1e300,rnan]",
		"[rinf,r-inf,rNaN,rInfinity,r-Infinity]",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := UnmarshalNotation(data)
		if err != nil {
			checkDecodeError(t, err, len(data))
			return
		}
		roundTrip(t, v, FormatNotation, true)
		roundTrip(t, v, FormatBinary, false)
	})
}
