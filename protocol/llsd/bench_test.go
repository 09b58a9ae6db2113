package llsd

import "testing"

// The benchmarks use the recorded OpenSimulator login response (14.6 kB of
// LLSD XML, 35 members with the inventory skeleton) and the first
// event-queue answer.

func BenchmarkXMLDecode(b *testing.B) {
	for _, name := range []string{"opensim-login-llsd-response.xml", "opensim-eventqueue-first-poll.xml"} {
		data := readCapture(b, name)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := UnmarshalXML(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkXMLEncode(b *testing.B) {
	for _, name := range []string{"opensim-login-llsd-response.xml", "opensim-eventqueue-first-poll.xml"} {
		v, err := UnmarshalXML(readCapture(b, name))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			var buf []byte
			for b.Loop() {
				buf, err = AppendXML(buf[:0], v)
				if err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(int64(len(buf)))
		})
	}
}

func BenchmarkBinaryDecode(b *testing.B) {
	v, err := UnmarshalXML(readCapture(b, "opensim-login-llsd-response.xml"))
	if err != nil {
		b.Fatal(err)
	}
	data, err := MarshalBinary(v)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := UnmarshalBinary(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBinaryEncode(b *testing.B) {
	v, err := UnmarshalXML(readCapture(b, "opensim-login-llsd-response.xml"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var buf []byte
	for b.Loop() {
		if buf, err = AppendBinary(buf[:0], v); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkNotationDecodeHome(b *testing.B) {
	data := []byte(capturedHome)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := UnmarshalNotation(data); err != nil {
			b.Fatal(err)
		}
	}
}

// TestEncodeAllocs guards the encoders' allocations: a reused buffer leaves
// only the walker's own bookkeeping (a handful, whatever the document size).
func TestEncodeAllocs(t *testing.T) {
	v, err := UnmarshalXML(readCapture(t, "opensim-login-llsd-response.xml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []Format{FormatXML, FormatBinary, FormatNotation} {
		buf := make([]byte, 0, 64<<10)
		allocs := testing.AllocsPerRun(20, func() {
			if _, err := appendDoc(buf[:0], f, v, true); err != nil {
				t.Fatal(err)
			}
		})
		if allocs > 16 {
			t.Errorf("%s: encoding the login response allocates %v times, want at most 16", f, allocs)
		}
	}
}
